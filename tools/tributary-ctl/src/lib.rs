//! `tributary-ctl`: the operations tool. It reads the same `TRIBUTARY_*` configuration and the same state table
//! as the functions, and does its work through the functions' own libraries (never a second implementation):
//!
//! - [`status`]: every stream's health, last run, lag, lease holder and events landed ([`table`] prints it,
//!   [`schedule`] says when a stream is overdue);
//! - [`validate`]: a function's configuration checked against AWS and the vendor, without collecting;
//! - [`transmit`]: stop Transmit collection and delete the stream;
//! - [`easysend`]: re-collect EasySend windows inside the 48-hour retention, without duplicates;
//! - [`run`]: run any function's handler once, locally.

pub mod args;
pub mod easysend;
pub mod run;
pub mod schedule;
pub mod status;
pub mod table;
pub mod transmit;
pub mod validate;
