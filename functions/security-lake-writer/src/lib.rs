//! `security-lake-writer`: the landed NDJSON, rewritten as OCSF Parquet in Amazon Security Lake's custom-source
//! layout. It is fed by the landing bucket's ObjectCreated notifications (through SQS, batched), and rebuilds each
//! event hour a batch names from all of that hour's objects, so each file is a pure function of its inputs: a
//! redelivered notification or an overwritten object rewrites the same file, and no event is written twice.

pub mod config;
pub mod hour;
pub mod inputs;
pub mod lake;
pub mod notification;
pub mod ocsf;
pub mod parquet_file;
pub mod rebuild;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tracing::{error, info, warn};
use tributary_shared::metrics::{RunMetrics, Unit};
use tributary_shared::runtime::{self, Error};

use crate::config::WriterConfig;
use crate::hour::Hour;
use crate::lake::Lake;
use crate::rebuild::Rebuilder;

pub const FUNCTION: &str = "security-lake-writer";

/// Metric names, every one emitted every invocation.
pub mod names {
    pub const HOURS_WRITTEN: &str = "HoursWritten";
    pub const HOURS_FAILED: &str = "HoursFailed";
    pub const ROWS_WRITTEN: &str = "RowsWritten";
    pub const REPEATS_DROPPED: &str = "RepeatedEventsDropped";
    pub const FALLBACK_ROWS: &str = "FallbackRows";
    pub const UNREADABLE_LINES: &str = "UnreadableLines";
    pub const DAMAGED_OBJECTS: &str = "DamagedObjects";
    pub const MALFORMED_NOTIFICATIONS: &str = "MalformedNotifications";
    pub const IGNORED_KEYS: &str = "IgnoredKeys";
    pub const FILES_WRITTEN: &str = "FilesWritten";
    pub const FILES_REMOVED: &str = "FilesRemoved";
    pub const FILES_UNCHANGED: &str = "FilesUnchanged";
    pub const MISFIT_ROWS: &str = "MisfitRows";
    pub const PARQUET_BYTES: &str = "ParquetBytes";
    pub const INPUTS_READ: &str = "InputsRead";
}

const ZEROS: &[(&str, Unit)] = &[
    (names::HOURS_WRITTEN, Unit::Count),
    (names::HOURS_FAILED, Unit::Count),
    (names::ROWS_WRITTEN, Unit::Count),
    (names::REPEATS_DROPPED, Unit::Count),
    (names::FALLBACK_ROWS, Unit::Count),
    (names::UNREADABLE_LINES, Unit::Count),
    (names::DAMAGED_OBJECTS, Unit::Count),
    (names::MALFORMED_NOTIFICATIONS, Unit::Count),
    (names::IGNORED_KEYS, Unit::Count),
    (names::FILES_WRITTEN, Unit::Count),
    (names::FILES_REMOVED, Unit::Count),
    (names::FILES_UNCHANGED, Unit::Count),
    (names::MISFIT_ROWS, Unit::Count),
    (names::PARQUET_BYTES, Unit::Bytes),
    (names::INPUTS_READ, Unit::Count),
];

pub struct Writer {
    config: WriterConfig,
    landing: aws_sdk_s3::Client,
    lake: Lake,
}

impl Writer {
    pub async fn new(sdk: &aws_config::SdkConfig, config: WriterConfig) -> Writer {
        Writer {
            landing: tributary_shared::aws::s3_client(sdk),
            lake: Lake::new(sdk, &config).await,
            config,
        }
    }

    /// One invocation: every hour the batch names, rebuilt once however many of its objects the batch names. The
    /// answer is SQS's partial batch response: messages whose hours failed (or were not reached before the
    /// deadline) come back, the rest are done.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let deadline = runtime::deadline(&event.context, self.config.safety_margin);
        let metrics = RunMetrics::new(FUNCTION, "notifications").with_zeros(ZEROS);
        let messages = notification::messages(&event.payload, &self.config.landing_bucket);
        let mut failed: Vec<String> = Vec::new();
        let mut hours: BTreeMap<Hour, Vec<usize>> = BTreeMap::new();
        for (index, message) in messages.iter().enumerate() {
            match &message.objects {
                Err(problem) => {
                    error!(message = "A notification names nothing the writer can read; it is left to the queue's dead-letter queue.", message_id = ?message.id, error = %problem);
                    metrics.count(names::MALFORMED_NOTIFICATIONS, 1);
                    failed.extend(message.id.clone());
                    if message.id.is_none() {
                        return Err(problem.clone().into());
                    }
                }
                Ok(objects) => {
                    for object in objects {
                        let hour = (object.bucket == self.config.landing_bucket)
                            .then(|| Hour::of_key(&self.config.prefix, &object.key))
                            .flatten();
                        match hour {
                            Some(hour) => hours.entry(hour).or_default().push(index),
                            None => {
                                info!(message = "Not landed data of this writer's bucket and prefix; ignored.", bucket = %object.bucket, key = %object.key);
                                metrics.count(names::IGNORED_KEYS, 1);
                            }
                        }
                    }
                }
            }
        }
        let rebuilder = Rebuilder {
            landing: &self.landing,
            landing_bucket: &self.config.landing_bucket,
            prefix: &self.config.prefix,
            lake: &self.lake,
            row_group_rows: self.config.row_group_rows,
            deadline: Some(deadline),
        };
        let mut slowest = Duration::from_secs(1);
        let mut written = Vec::new();
        let mut failures = Vec::new();
        for (hour, senders) in &hours {
            let outcome = if deadline.allows(slowest * 2) {
                let started = Instant::now();
                let outcome = rebuilder.rebuild(hour).await.map_err(|e| e.to_string());
                slowest = slowest.max(started.elapsed());
                outcome
            } else {
                Err("not reached before the deadline; a redelivery writes it".to_owned())
            };
            match outcome {
                Ok(report) => {
                    metrics.count(names::HOURS_WRITTEN, 1);
                    metrics.count(names::ROWS_WRITTEN, report.rows as u64);
                    metrics.count(names::REPEATS_DROPPED, report.repeats as u64);
                    let fallbacks =
                        report.unreadable + report.unparsed + report.unmapped + report.demoted;
                    metrics.count(names::FALLBACK_ROWS, fallbacks as u64);
                    metrics.count(names::UNREADABLE_LINES, report.unreadable as u64);
                    metrics.count(names::DAMAGED_OBJECTS, report.damaged_objects.len() as u64);
                    metrics.count(names::FILES_WRITTEN, report.files_written as u64);
                    metrics.count(names::FILES_REMOVED, report.files_removed as u64);
                    metrics.count(names::FILES_UNCHANGED, report.files_unchanged as u64);
                    metrics.count(names::MISFIT_ROWS, report.demoted as u64);
                    metrics.add(
                        names::PARQUET_BYTES,
                        report.parquet_bytes as f64,
                        Unit::Bytes,
                    );
                    metrics.count(names::INPUTS_READ, report.inputs as u64);
                    if report.unmapped + report.unreadable > 0 {
                        warn!(message = "Records no OCSF class fits were written as Base Events.", hour = %hour, unmapped = report.unmapped, unreadable = report.unreadable);
                    }
                    info!(message = "Hour written.", hour = %hour, inputs = report.inputs, rows = report.rows, repeats = report.repeats, files = report.files_written, builds = report.builds);
                    // A damaged object is written as far as it reads, and its messages come back so the damage
                    // reaches the dead-letter queue and its alarm instead of passing unseen.
                    if !report.damaged_objects.is_empty() {
                        failed.extend(senders.iter().filter_map(|i| messages[*i].id.clone()));
                    }
                    written.push(json!({
                        "hour": hour.to_string(),
                        "inputs": report.inputs,
                        "rows": report.rows,
                        "repeats": report.repeats,
                        "rows_per_class": report.rows_per_class,
                        "fallback_rows": fallbacks,
                        "damaged_objects": report.damaged_objects,
                        "files_written": report.files_written,
                        "files_removed": report.files_removed,
                        "files_unchanged": report.files_unchanged,
                        "misfit_rows": report.demoted,
                        "parquet_bytes": report.parquet_bytes,
                        "builds": report.builds,
                    }));
                }
                Err(problem) => {
                    error!(message = "An hour could not be written; its messages come back for a retry.", hour = %hour, error = %problem);
                    metrics.count(names::HOURS_FAILED, 1);
                    failed.extend(senders.iter().filter_map(|i| messages[*i].id.clone()));
                    failures.push(json!({"hour": hour.to_string(), "error": problem}));
                }
            }
        }
        metrics.emit();
        failed.sort();
        failed.dedup();
        let mut answer = json!({
            "batchItemFailures": failed.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>(),
        });
        let direct = messages.iter().all(|m| m.id.is_none());
        if direct {
            // A rebuild request is answered by the invocation itself: it fails unless every hour it named was
            // written, and it names one at least.
            if hours.is_empty() {
                return Err(
                    "the rebuild request names no landing partition of this writer's prefix \
                            (<prefix>/vendor=…/event_type=…/dt=…/hour=…/)"
                        .into(),
                );
            }
            if !failures.is_empty() {
                return Err(format!("hours not written: {}", json!(failures)).into());
            }
        }
        if direct || !runtime::in_lambda() {
            // Lambda's SQS event source reads only the partial batch response; anyone else learns what was done.
            answer["hours"] = json!(written);
            answer["failures"] = json!(failures);
        }
        Ok(answer)
    }
}
