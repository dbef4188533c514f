//! What a source sees of its run: the cursor and bookkeeping, the deadline, the lander, and the one way to move the
//! cursor, [`Run::checkpoint`], which takes the landing it covers.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::deadline::Deadline;
use crate::landing::{LandReport, Lander};
use crate::metrics::{names, RunMetrics, Unit};
use crate::record::rfc3339;
use crate::run::events::{
    Checkpointed, FirstStart, Landed, LeaseLost, LeaseRenewalFailed, RunEvent, Telemetry,
};
use crate::run::heartbeat::Heartbeat;
use crate::run::outcome::Finish;
use crate::state::{Lease, Progress, StateError, StateStore};

/// Bookkeeping key of the first start time of a stream that has no cursor yet.
pub const META_FIRST_START: &str = "first_start";

/// Why a checkpoint (or bookkeeping write) did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("the lease was taken over by another run; nothing more was advanced")]
    LeaseLost,
    #[error(transparent)]
    State(StateError),
}

/// Counts over the whole run, for its report.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub batches: u64,
    pub events: u64,
    pub unparsed: u64,
    pub objects: u64,
    pub bytes: u64,
    pub newest: Option<DateTime<Utc>>,
}

/// One run of one stream, under its lease.
pub struct Run<'a> {
    pub(crate) stream: &'a str,
    pub(crate) owner: &'a str,
    pub(crate) state: &'a StateStore,
    pub(crate) lander: Lander,
    pub(crate) telemetry: &'a Telemetry,
    pub(crate) deadline: Deadline,
    pub(crate) lease: Lease,
    pub(crate) heartbeat: Heartbeat,
    pub(crate) lost: bool,
    pub(crate) totals: Totals,
}

impl<'a> Run<'a> {
    /// The stream's name (the `Stream` metric dimension).
    pub fn stream(&self) -> &'a str {
        self.stream
    }

    /// The lease owner, which names this invocation (`tributary.run` of full records).
    pub fn owner(&self) -> &'a str {
        self.owner
    }

    pub fn cursor(&self) -> Option<&str> {
        self.lease.cursor()
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.lease.meta(key).filter(|v| !v.is_empty())
    }

    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    pub fn lander(&self) -> &Lander {
        &self.lander
    }

    pub fn metrics(&self) -> &RunMetrics {
        &self.telemetry.metrics
    }

    pub fn emit(&self, event: impl RunEvent) {
        self.telemetry.emit(event);
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Whether the lease is gone (a heartbeat or a checkpoint found another owner).
    pub fn lease_lost(&mut self) -> bool {
        for error in self.heartbeat.take_failures() {
            self.telemetry.emit(LeaseRenewalFailed {
                stream: self.stream,
                error: &error,
            });
        }
        if !self.lost && self.heartbeat.lost() {
            self.lose_lease("heartbeat");
        }
        self.lost
    }

    /// `Some` when the source must stop before starting work expected to take `estimate`: the deadline does not
    /// leave room for it, or the lease is gone (the runner then reports `lost_lease`).
    pub fn stop_before(&mut self, estimate: Duration) -> Option<Finish> {
        if self.lease_lost() || !self.deadline.allows(estimate) {
            return Some(Finish::OutOfTime);
        }
        None
    }

    /// Where a stream without a cursor starts: chosen once (by `default`) and persisted before anything is
    /// fetched, so a first run that fails does not move the start forward for the next one.
    pub async fn first_start(
        &mut self,
        default: impl FnOnce() -> DateTime<Utc>,
    ) -> Result<DateTime<Utc>, CheckpointError> {
        let remembered = self
            .meta(META_FIRST_START)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let start = match remembered {
            Some(start) => start,
            None => {
                let start = default();
                self.set_meta(&[(META_FIRST_START, &rfc3339(start))])
                    .await?;
                start
            }
        };
        self.emit(FirstStart {
            stream: self.stream,
            start,
            remembered: remembered.is_some(),
        });
        Ok(start)
    }

    /// Sets bookkeeping values under the lease.
    pub async fn set_meta(&mut self, values: &[(&str, &str)]) -> Result<(), CheckpointError> {
        if self.lease_lost() {
            return Err(CheckpointError::LeaseLost);
        }
        let result = self.state.set_meta(&mut self.lease, values).await;
        self.state_result(result, "bookkeeping")
    }

    /// Counts a landing that moves no cursor (a re-fetch of a window already behind the cursor).
    pub fn record_landing(&mut self, landed: &LandReport, newest: Option<DateTime<Utc>>) {
        self.emit(Landed { landed });
        self.totals.batches += 1;
        self.totals.events += landed.events as u64;
        self.totals.unparsed += landed.unparsed as u64;
        self.totals.objects += landed.objects.len() as u64;
        self.totals.bytes += landed.bytes as u64;
        if newest > self.totals.newest {
            self.totals.newest = newest;
            if let Some(newest) = newest {
                let lag = (Utc::now() - newest).num_milliseconds().max(0) as f64 / 1000.0;
                self.metrics()
                    .set(names::CURSOR_LAG_SECONDS, lag, Unit::Seconds);
            }
        }
    }

    /// The only way forward: records the landing `landed` and then moves the cursor to `cursor` (or only records
    /// progress, for a source whose cursor lives at the vendor). Conditional on the state version and the lease,
    /// so a run that lost its lease never moves a cursor.
    pub async fn checkpoint(
        &mut self,
        landed: &LandReport,
        cursor: Option<&str>,
        newest: Option<DateTime<Utc>>,
    ) -> Result<(), CheckpointError> {
        self.checkpoint_with(landed, cursor, newest, &[]).await
    }

    /// [`Run::checkpoint`], writing bookkeeping in the same update (a mark the landing resolves).
    pub async fn checkpoint_with(
        &mut self,
        landed: &LandReport,
        cursor: Option<&str>,
        newest: Option<DateTime<Utc>>,
        meta: &[(&str, &str)],
    ) -> Result<(), CheckpointError> {
        self.record_landing(landed, newest);
        if self.lease_lost() {
            return Err(CheckpointError::LeaseLost);
        }
        let progress = Progress {
            events: landed.events as u64,
            newest_event_time: newest.map(rfc3339),
            meta: meta
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let result = self.state.advance(&mut self.lease, cursor, &progress).await;
        self.state_result(result, "checkpoint")?;
        self.emit(Checkpointed {
            stream: self.stream,
            landed,
            cursor,
        });
        Ok(())
    }

    fn state_result(
        &mut self,
        result: Result<(), StateError>,
        during: &'static str,
    ) -> Result<(), CheckpointError> {
        match result {
            Ok(()) => Ok(()),
            Err(StateError::LostRace { .. }) => {
                self.lose_lease(during);
                Err(CheckpointError::LeaseLost)
            }
            Err(error) => Err(CheckpointError::State(error)),
        }
    }

    fn lose_lease(&mut self, during: &'static str) {
        if !self.lost {
            self.lost = true;
            self.emit(LeaseLost {
                stream: self.stream,
                during,
            });
        }
    }
}
