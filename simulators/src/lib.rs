//! Simulators of the vendor APIs Tributary reads, faithful to what is known of each (and tolerant of every
//! variant of what is not), with switches for the faults real APIs have. Each runs in-process for tests
//! (`spawn`) or as `tributary-sim <vendor>` for the demo and benchmarks.

pub mod cli;
pub mod easysend;
pub mod lookout;
pub mod transmit;
