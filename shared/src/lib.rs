//! What every Tributary function shares: landing batches in S3, stream state in DynamoDB, the outbound HTTP
//! policy, OAuth token caching, secrets, the ECS record, run metrics and the Lambda/local runtime.
//!
//! The contracts these modules implement are fixed in the project's design notes: the S3 key layout and record
//! format (`landing`, `record`), the state item (`state`) and the delivery rules (fetch, land, then advance).

pub mod allocator;
pub mod aws;
pub mod config;
pub mod deadline;
pub mod event_id;
pub mod http;
pub mod keys;
pub mod landing;
pub mod members;
pub mod metrics;
pub mod ndjson;
pub mod oauth;
pub mod parked;
pub mod record;
pub mod run;
pub mod runtime;
pub mod schedule;
pub mod secrets;
pub mod services;
pub mod state;
pub mod time;

/// The version every landed object names in its metadata (`x-amz-meta-version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
