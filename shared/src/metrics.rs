//! Run metrics as CloudWatch Embedded Metric Format: one JSON line per run on stdout, which CloudWatch turns into
//! metrics without any API call. Namespace `Tributary` (or `TRIBUTARY_METRICS_NAMESPACE`), dimensions
//! `Function` and `Stream`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

/// Metric names shared by every function, so alarms and dashboards can rely on them.
pub mod names {
    pub const EVENTS_LANDED: &str = "EventsLanded";
    pub const BYTES_LANDED: &str = "BytesLanded";
    pub const OBJECTS_LANDED: &str = "ObjectsLanded";
    pub const UNPARSED: &str = "UnparsedRecords";
    pub const PAGES: &str = "Pages";
    pub const REQUESTS: &str = "Requests";
    pub const THROTTLES: &str = "Throttles";
    pub const RETRIES: &str = "Retries";
    pub const ERRORS: &str = "Errors";
    pub const CURSOR_LAG_SECONDS: &str = "CursorLagSeconds";
    pub const TIME_LEFT_MS: &str = "TimeLeftMs";
    pub const LEASE_BUSY: &str = "LeaseBusy";
    pub const LOST_RACES: &str = "LostRaces";
    pub const LEASE_RENEWAL_FAILURES: &str = "LeaseRenewalFailures";
    /// Destructive reads that may have been answered without the answer reaching us.
    pub const POSSIBLY_LOST_BATCHES: &str = "PossiblyLostBatches";
    /// Events skipped for good (their raw text kept under `_unparsed` where there was any).
    pub const SKIPPED_EVENTS: &str = "SkippedEvents";
    /// Batches kept in the state table because S3 refused them, waiting to land (a gauge).
    pub const PENDING_BATCHES: &str = "PendingBatches";
    /// Seconds of vendor history that expired before it was fetched.
    pub const RETENTION_GAP_SECONDS: &str = "RetentionGapSeconds";
    /// Records landed under the `_invalid` fallback partition (event type or time not a valid partition value).
    pub const PARTITION_FALLBACKS: &str = "PartitionFallbacks";
    /// Records an earlier write of a key held that a rewrite lacked, kept in the object (a re-fetch returned less).
    pub const RECORDS_KEPT: &str = "RecordsKeptOnOverwrite";
    /// Unparsed items met again by a retry or a re-fetch and left out, because they had landed already.
    pub const UNPARSED_LANDED_BEFORE: &str = "UnparsedLandedBefore";
}

/// The counters every collection run emits, zeros included, so an alarm never reads "missing data" as healthy.
pub const RUN_COUNTERS: &[(&str, Unit)] = &[
    (names::EVENTS_LANDED, Unit::Count),
    (names::BYTES_LANDED, Unit::Bytes),
    (names::OBJECTS_LANDED, Unit::Count),
    (names::UNPARSED, Unit::Count),
    (names::PAGES, Unit::Count),
    (names::REQUESTS, Unit::Count),
    (names::THROTTLES, Unit::Count),
    (names::RETRIES, Unit::Count),
    (names::ERRORS, Unit::Count),
    (names::LEASE_BUSY, Unit::Count),
    (names::LOST_RACES, Unit::Count),
    (names::LEASE_RENEWAL_FAILURES, Unit::Count),
    (names::POSSIBLY_LOST_BATCHES, Unit::Count),
    (names::SKIPPED_EVENTS, Unit::Count),
    (names::RETENTION_GAP_SECONDS, Unit::Seconds),
    (names::PARTITION_FALLBACKS, Unit::Count),
    (names::RECORDS_KEPT, Unit::Count),
    (names::UNPARSED_LANDED_BEFORE, Unit::Count),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Seconds,
    Milliseconds,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// The metrics of one run of one stream. Counters add up; gauges keep the last value.
pub struct RunMetrics {
    function: String,
    stream: String,
    values: Mutex<BTreeMap<&'static str, (f64, Unit)>>,
}

impl RunMetrics {
    pub fn new(function: impl Into<String>, stream: impl Into<String>) -> Self {
        RunMetrics {
            function: function.into(),
            stream: stream.into(),
            values: Mutex::new(BTreeMap::new()),
        }
    }

    /// Metrics that start at zero, so they are emitted even when nothing counted them.
    pub fn with_zeros(self, metrics: &[(&'static str, Unit)]) -> Self {
        {
            let mut values = self.values.lock().expect("metrics lock is never poisoned");
            for (name, unit) in metrics {
                values.entry(name).or_insert((0.0, *unit));
            }
        }
        self
    }

    /// Adds to a counter (unit `Count`).
    pub fn count(&self, name: &'static str, by: u64) {
        self.add(name, by as f64, Unit::Count);
    }

    pub fn add(&self, name: &'static str, by: f64, unit: Unit) {
        let mut values = self.values.lock().expect("metrics lock is never poisoned");
        values.entry(name).or_insert((0.0, unit)).0 += by;
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, value: f64, unit: Unit) {
        let mut values = self.values.lock().expect("metrics lock is never poisoned");
        values.insert(name, (value, unit));
    }

    pub fn get(&self, name: &str) -> f64 {
        let values = self.values.lock().expect("metrics lock is never poisoned");
        values.get(name).map(|v| v.0).unwrap_or(0.0)
    }

    /// The EMF document for this run.
    pub fn to_emf(&self) -> Value {
        let namespace = crate::config::optional("TRIBUTARY_METRICS_NAMESPACE")
            .unwrap_or_else(|| "Tributary".to_owned());
        let values = self.values.lock().expect("metrics lock is never poisoned");
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, (_, unit))| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": chrono::Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Function", "Stream"], ["Function"]],
                    "Metrics": definitions,
                }],
            }),
        );
        document.insert("Function".into(), self.function.clone().into());
        document.insert("Stream".into(), self.stream.clone().into());
        for (name, (value, _)) in values.iter() {
            document.insert((*name).into(), json!(value));
        }
        Value::Object(document)
    }

    /// Prints the EMF line. Call once, at the end of the run, whatever its outcome.
    pub fn emit(&self) {
        println!("{}", self.to_emf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_metrics_are_emitted_without_being_counted() {
        let m = RunMetrics::new("easysend-poller", "player").with_zeros(RUN_COUNTERS);
        m.count(names::EVENTS_LANDED, 2);
        let emf = m.to_emf();
        assert_eq!(emf["Errors"], 0.0);
        assert_eq!(emf["EventsLanded"], 2.0);
        let defs = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(defs, RUN_COUNTERS.len());
    }

    #[test]
    fn emf_lists_every_metric_with_its_value() {
        let m = RunMetrics::new("transmit-poller", "cis");
        m.count(names::EVENTS_LANDED, 3);
        m.count(names::EVENTS_LANDED, 2);
        m.set(names::TIME_LEFT_MS, 1500.0, Unit::Milliseconds);
        let emf = m.to_emf();
        assert_eq!(emf["EventsLanded"], 5.0);
        assert_eq!(emf["TimeLeftMs"], 1500.0);
        assert_eq!(emf["Function"], "transmit-poller");
        let defs = &emf["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        assert!(defs
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["Name"] == "EventsLanded" && d["Unit"] == "Count"));
    }
}
