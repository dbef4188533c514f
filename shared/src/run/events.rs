//! What a run reports, as types: each thing worth reporting is one struct whose one `emit` writes the log line and
//! counts the metric (and, for losses, records the loss for the run's outcome), so log text, metric and outcome
//! never disagree.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::landing::LandReport;
use crate::metrics::{names, RunMetrics, Unit};
use crate::record::rfc3339;
use crate::run::outcome::Loss;

/// Where a run's events go: its metrics and its losses.
pub struct Telemetry {
    pub metrics: RunMetrics,
    losses: Mutex<Vec<Loss>>,
}

impl Telemetry {
    pub fn new(metrics: RunMetrics) -> Self {
        Telemetry {
            metrics,
            losses: Mutex::new(Vec::new()),
        }
    }

    pub fn emit(&self, event: impl RunEvent) {
        event.emit(self);
    }

    /// What was lost, possibly lost or skipped so far, merged by kind.
    pub fn losses(&self) -> Vec<Loss> {
        self.losses
            .lock()
            .expect("losses lock is never poisoned")
            .clone()
    }

    fn lose(&self, kind: &'static str, count: u64, detail: String) {
        let mut losses = self.losses.lock().expect("losses lock is never poisoned");
        match losses.iter_mut().find(|l| l.kind == kind) {
            Some(loss) => {
                loss.count += count;
                loss.detail = format!("{}; {detail}", loss.detail);
            }
            None => losses.push(Loss {
                kind,
                count,
                detail,
            }),
        }
    }
}

/// One thing a run reports.
pub trait RunEvent {
    fn emit(self, to: &Telemetry);
}

/// Another run holds the stream; this one does nothing.
pub struct LeaseBusy<'a> {
    pub stream: &'a str,
    pub held_by: &'a str,
    pub until: Option<DateTime<Utc>>,
}

impl RunEvent for LeaseBusy<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(names::LEASE_BUSY, 1);
        tracing::info!(
            message = "Another run holds the stream; exiting without collecting.",
            stream = self.stream,
            held_by = self.held_by,
            until = self.until.map(rfc3339).unwrap_or_default()
        );
    }
}

/// The lease was taken over (it had expired) or could not be kept; nothing more is advanced.
pub struct LeaseLost<'a> {
    pub stream: &'a str,
    /// What the run was doing when it noticed.
    pub during: &'static str,
}

impl RunEvent for LeaseLost<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(names::LOST_RACES, 1);
        tracing::warn!(
            message = "Lost the lease to another run; stopping without advancing anything.",
            stream = self.stream,
            during = self.during
        );
    }
}

/// A heartbeat could not renew the lease (DynamoDB failing); the run goes on, and stops if the lease is lost.
pub struct LeaseRenewalFailed<'a> {
    pub stream: &'a str,
    pub error: &'a str,
}

impl RunEvent for LeaseRenewalFailed<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(names::LEASE_RENEWAL_FAILURES, 1);
        tracing::warn!(
            message = "Could not renew the lease; retrying at the next heartbeat.",
            stream = self.stream,
            error = self.error
        );
    }
}

/// A stream without a cursor starts here (persisted, so a failed first run does not move it forward).
pub struct FirstStart<'a> {
    pub stream: &'a str,
    pub start: DateTime<Utc>,
    /// Whether an earlier run had already chosen it.
    pub remembered: bool,
}

impl RunEvent for FirstStart<'_> {
    fn emit(self, to: &Telemetry) {
        let _ = to;
        tracing::warn!(
            message = if self.remembered {
                "No cursor yet: starting where the first run chose to start."
            } else {
                "No cursor for this stream: first run, starting from the configured look-back."
            },
            stream = self.stream,
            start = %rfc3339(self.start)
        );
    }
}

/// A batch landed and the cursor moved past it.
pub struct Checkpointed<'a> {
    pub stream: &'a str,
    pub landed: &'a LandReport,
    pub cursor: Option<&'a str>,
}

impl RunEvent for Checkpointed<'_> {
    fn emit(self, to: &Telemetry) {
        tracing::info!(
            message = "Landed and checkpointed.",
            stream = self.stream,
            events = self.landed.events,
            unparsed = self.landed.unparsed,
            objects = self.landed.objects.len(),
            cursor = self.cursor.unwrap_or("")
        );
        let _ = to;
    }
}

/// A batch landed (counted whether or not a cursor moves with it).
pub struct Landed<'a> {
    pub landed: &'a LandReport,
}

impl RunEvent for Landed<'_> {
    fn emit(self, to: &Telemetry) {
        self.landed.count_in(&to.metrics);
    }
}

/// A destructive read that may have been answered without the answer reaching us: its events may be lost.
pub struct PossiblyLostBatch<'a> {
    pub stream: &'a str,
    /// How many events the batch could have held, when known.
    pub events_at_risk: Option<u64>,
    pub reason: &'a str,
}

impl RunEvent for PossiblyLostBatch<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(names::POSSIBLY_LOST_BATCHES, 1);
        let at_risk = self
            .events_at_risk
            .map(|n| format!("up to {n} events"))
            .unwrap_or_else(|| "an unknown number of events".to_owned());
        tracing::error!(
            message = "A batch may be lost: the vendor may have handed it out without the answer reaching us.",
            stream = self.stream,
            events_at_risk = self.events_at_risk,
            reason = self.reason
        );
        to.lose(
            "possibly_lost_batches",
            1,
            format!("{at_risk} ({})", self.reason),
        );
    }
}

/// Events that were skipped for good (their raw text is kept under `_unparsed` where there is any).
pub struct SkippedEvents<'a> {
    pub stream: &'a str,
    pub count: u64,
    pub reason: &'a str,
}

impl RunEvent for SkippedEvents<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(names::SKIPPED_EVENTS, self.count);
        tracing::error!(
            message = "Events were skipped.",
            stream = self.stream,
            count = self.count,
            reason = self.reason
        );
        to.lose("skipped_events", self.count, self.reason.to_owned());
    }
}

/// A range of the vendor's history that expired before it was fetched.
pub struct RetentionGap<'a> {
    pub stream: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl RunEvent for RetentionGap<'_> {
    fn emit(self, to: &Telemetry) {
        let seconds = (self.end - self.start).num_seconds().max(0) as u64;
        to.metrics
            .add(names::RETENTION_GAP_SECONDS, seconds as f64, Unit::Seconds);
        tracing::error!(
            message = "Vendor history expired before it was fetched; this range is lost.",
            stream = self.stream,
            lost_start = %rfc3339(self.start),
            lost_end = %rfc3339(self.end),
            seconds
        );
        to.lose(
            "retention_gap_seconds",
            seconds,
            format!("{} to {}", rfc3339(self.start), rfc3339(self.end)),
        );
    }
}

/// Metric of [`LateLogsRecovered`] (a source that re-checks its history lists it among its metrics, so it is
/// emitted on every run, zeros included).
pub const LATE_LOGS_RECOVERED: &str = "LateLogsRecovered";

/// A re-check of history already collected found events the vendor wrote after their time had been collected, and
/// landed them. Not a loss: they would have been one without the re-check.
pub struct LateLogsRecovered<'a> {
    pub stream: &'a str,
    pub count: u64,
    /// The range that was re-checked.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl RunEvent for LateLogsRecovered<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(LATE_LOGS_RECOVERED, self.count);
        if self.count > 0 {
            tracing::warn!(
                message = "Recovered events that the vendor wrote after their time had been collected.",
                stream = self.stream,
                count = self.count,
                start = %rfc3339(self.start),
                end = %rfc3339(self.end)
            );
        } else {
            tracing::info!(
                message = "Re-checked history; no late events.",
                stream = self.stream,
                start = %rfc3339(self.start),
                end = %rfc3339(self.end)
            );
        }
    }
}

/// The run failed.
pub struct RunFailed<'a> {
    pub stream: &'a str,
    pub error: &'a str,
}

impl RunEvent for RunFailed<'_> {
    fn emit(self, to: &Telemetry) {
        to.metrics.count(names::ERRORS, 1);
        tracing::error!(
            message = "Run failed.",
            stream = self.stream,
            error = self.error
        );
    }
}

/// The run ended (any outcome but busy).
pub struct RunFinished<'a> {
    pub stream: &'a str,
    pub outcome: &'a str,
    pub events: u64,
    pub unparsed: u64,
    pub time_left_ms: u64,
}

impl RunEvent for RunFinished<'_> {
    fn emit(self, to: &Telemetry) {
        let _ = to;
        tracing::info!(
            message = "Run finished.",
            stream = self.stream,
            outcome = self.outcome,
            events_landed = self.events,
            unparsed = self.unparsed,
            time_left_ms = self.time_left_ms
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_count_in_the_metric_and_in_the_outcome_alike() {
        let t = Telemetry::new(RunMetrics::new("f", "s"));
        t.emit(PossiblyLostBatch {
            stream: "s",
            events_at_risk: Some(1000),
            reason: "timed out",
        });
        t.emit(PossiblyLostBatch {
            stream: "s",
            events_at_risk: None,
            reason: "broke",
        });
        t.emit(SkippedEvents {
            stream: "s",
            count: 7,
            reason: "malformed frame",
        });
        assert_eq!(t.metrics.get(names::POSSIBLY_LOST_BATCHES), 2.0);
        assert_eq!(t.metrics.get(names::SKIPPED_EVENTS), 7.0);
        let losses = t.losses();
        assert_eq!(losses.len(), 2);
        assert_eq!(losses[0].count, 2);
        assert!(losses[0].detail.contains("up to 1000 events"));
        assert_eq!(losses[1].count, 7);
    }
}
