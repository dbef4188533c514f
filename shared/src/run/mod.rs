//! The run cycle, written once: take the lease → let the source fetch and land → advance the cursor → finish →
//! emit the run's metrics. A vendor implements [`Source`] (what to fetch from a cursor, how to name and map a
//! batch, where the cursor goes); [`run`] owns everything else:
//!
//! - the lease: short ([`crate::services::CommonConfig::lease_ttl`]) and renewed by a heartbeat while the run is
//!   alive, so a killed run frees its stream within one lease lifetime; a lease held by another run is a clean
//!   `busy`; a lease taken over mid-run is a clean `lost_lease` that advances nothing more;
//! - land-then-advance: the cursor moves only through [`Run::checkpoint`], which takes the landing it covers;
//! - the first start of a stream without a cursor, persisted before anything is fetched ([`Run::first_start`]);
//! - the outcome ([`Outcome`]), the same words in the invocation's result, in `last_run_outcome`, in logs and in
//!   `tributary-ctl status`; `degraded` whenever the source reported a loss;
//! - the metrics: every run counter is emitted on every run, zeros included.

pub mod context;
pub mod events;
pub mod heartbeat;
pub mod outcome;
pub mod scope;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use crate::metrics::{names, RunMetrics, Unit, RUN_COUNTERS};
use crate::record::rfc3339;
use crate::services::Services;
use crate::state::{LeaseOutcome, RunSummary};

pub use context::RunContext;
pub use events::{RunEvent, Telemetry};
pub use outcome::{Finish, Loss, Outcome};
pub use scope::{CheckpointError, Run, Totals};

use events::{LeaseBusy, RunFailed, RunFinished};
use heartbeat::Heartbeat;

/// Which stream a run collects.
#[derive(Debug, Clone)]
pub struct StreamId {
    /// The function's name: the `Function` metric dimension and the `collector` metadata of landed objects.
    pub function: &'static str,
    pub vendor: &'static str,
    /// The stream's name: the `Stream` metric dimension and the report's `stream`.
    pub name: String,
}

impl StreamId {
    pub fn new(function: &'static str, vendor: &'static str, name: impl Into<String>) -> Self {
        StreamId {
            function,
            vendor,
            name: name.into(),
        }
    }

    /// The stream's item in the state table.
    pub fn state_key(&self) -> String {
        format!("{}#{}", self.vendor, self.name)
    }
}

/// A vendor's part of the run cycle.
#[allow(async_fn_in_trait)]
pub trait Source {
    /// What the vendor adds to the run's report (flattened into it).
    type Detail: Serialize + Default;
    type Error: std::fmt::Display;

    fn id(&self) -> StreamId;

    /// Metrics of this source beyond [`RUN_COUNTERS`], emitted on every run, zeros included.
    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[]
    }

    /// Bookkeeping keys (`meta.<key>`) that mean something only while a run lives, such as a mark of a request in
    /// flight. The finish write clears them, so the source can set them in its checkpoints without an extra write
    /// to clear them when it stops; a run that dies leaves them for the next one to find.
    fn cleared_at_finish(&self) -> &'static [&'static str] {
        &[]
    }

    /// Fetches, lands and checkpoints until drained or out of time. Runs under the lease; every cursor move goes
    /// through [`Run::checkpoint`].
    async fn collect(
        &self,
        run: &mut Run<'_>,
        detail: &mut Self::Detail,
    ) -> Result<Finish, Self::Error>;
}

/// What a run did: the invocation's answer, the same shape for every function.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport<D> {
    pub function: &'static str,
    pub stream: String,
    pub outcome: Outcome,
    pub batches: u64,
    pub events_landed: u64,
    pub unparsed: u64,
    pub objects: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_event_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub time_left_ms: u64,
    /// What was lost, possibly lost or skipped (a `degraded` run says what and how many).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losses: Vec<Loss>,
    /// The lease holder, when the run was `busy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub detail: D,
}

impl<D: Serialize> RunReport<D> {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A run that ended `failed`: the error, with the run's report (already logged, counted and recorded in state).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct RunFailure {
    pub error: String,
    pub report: Value,
}

/// Runs `source` once under its lease. `failed` runs come back as [`RunFailure`]; every other outcome as a report.
pub async fn run<S: Source>(
    services: &Services,
    context: &RunContext,
    source: &S,
) -> Result<RunReport<S::Detail>, RunFailure> {
    let id = source.id();
    let stream = id.name.as_str();
    let telemetry = Telemetry::new(
        RunMetrics::new(id.function, stream)
            .with_zeros(RUN_COUNTERS)
            .with_zeros(source.metrics()),
    );
    let mut report = RunReport {
        function: id.function,
        stream: stream.to_owned(),
        outcome: Outcome::Drained,
        batches: 0,
        events_landed: 0,
        unparsed: 0,
        objects: 0,
        bytes: 0,
        newest_event_time: None,
        cursor: None,
        time_left_ms: 0,
        losses: Vec::new(),
        held_by: None,
        error: None,
        detail: S::Detail::default(),
    };
    let started_at = Utc::now();
    let state = &services.state;
    let ttl = services.config.lease_ttl;
    let key = id.state_key();

    let lease = match state.acquire(&key, &context.owner, ttl).await {
        Ok(LeaseOutcome::Acquired(lease)) => *lease,
        Ok(LeaseOutcome::HeldByOther { owner, until }) => {
            telemetry.emit(LeaseBusy {
                stream,
                held_by: &owner,
                until,
            });
            report.outcome = Outcome::Busy;
            report.held_by = Some(owner);
            return Ok(close(report, &telemetry, context));
        }
        Err(error) => return Err(fail(report, &telemetry, context, error.to_string())),
    };

    let mut run = Run {
        stream,
        owner: &context.owner,
        state,
        lander: services.lander(id.function),
        telemetry: &telemetry,
        deadline: context.deadline,
        heartbeat: Heartbeat::start(state.clone(), key, context.owner.clone(), ttl),
        lease,
        lost: false,
        totals: Totals::default(),
    };
    let result = source.collect(&mut run, &mut report.detail).await;
    let lost = run.lease_lost();
    let Run {
        lease,
        totals,
        heartbeat,
        ..
    } = run;
    drop(heartbeat);
    report.batches = totals.batches;
    report.events_landed = totals.events;
    report.unparsed = totals.unparsed;
    report.objects = totals.objects;
    report.bytes = totals.bytes;
    report.newest_event_time = totals.newest.map(rfc3339);
    report.cursor = lease.cursor().map(str::to_owned);
    report.losses = telemetry.losses();

    let error = match (&result, lost) {
        (_, true) => {
            if let Err(error) = &result {
                tracing::warn!(message = "The run stopped after losing its lease.", stream, error = %error);
            }
            report.outcome = Outcome::LostLease;
            // The other run owns the item now: nothing of this run is written to it.
            return Ok(close(report, &telemetry, context));
        }
        (Ok(finish), false) => {
            report.outcome = match finish {
                _ if !report.losses.is_empty() => Outcome::Degraded,
                Finish::Drained => Outcome::Drained,
                Finish::OutOfTime => Outcome::OutOfTime,
            };
            None
        }
        (Err(error), false) => {
            report.outcome = Outcome::Failed;
            Some(error.to_string())
        }
    };
    let summary = RunSummary {
        cleared_meta: source.cleared_at_finish(),
        started_at,
        outcome: report.outcome.as_str(),
        events: report.events_landed,
        error: error.clone(),
        losses: (!report.losses.is_empty()).then(|| {
            report
                .losses
                .iter()
                .map(|l| format!("{} {}: {}", l.count, l.kind, l.detail))
                .collect::<Vec<_>>()
                .join("; ")
        }),
    };
    let finished = state.finish(lease, &summary).await;
    match (error, finished) {
        (None, Ok(())) => Ok(close(report, &telemetry, context)),
        (Some(error), Ok(())) => Err(fail(report, &telemetry, context, error)),
        (None, Err(also)) => Err(fail(
            report,
            &telemetry,
            context,
            format!("could not record the end of the run: {also}"),
        )),
        (Some(error), Err(also)) => {
            tracing::error!(message = "Could not record the failed run in state.", stream, error = %also);
            Err(fail(report, &telemetry, context, error))
        }
    }
}

/// Sets the closing figures, logs the end and emits the metrics.
fn close<D>(mut report: RunReport<D>, telemetry: &Telemetry, context: &RunContext) -> RunReport<D> {
    report.time_left_ms = context.deadline.remaining().as_millis() as u64;
    telemetry.metrics.set(
        names::TIME_LEFT_MS,
        report.time_left_ms as f64,
        Unit::Milliseconds,
    );
    if report.outcome != Outcome::Busy {
        telemetry.emit(RunFinished {
            stream: &report.stream,
            outcome: report.outcome.as_str(),
            events: report.events_landed,
            unparsed: report.unparsed,
            time_left_ms: report.time_left_ms,
        });
    }
    telemetry.metrics.emit();
    report
}

fn fail<D: Serialize>(
    mut report: RunReport<D>,
    telemetry: &Telemetry,
    context: &RunContext,
    error: String,
) -> RunFailure {
    report.outcome = Outcome::Failed;
    report.error = Some(error.clone());
    telemetry.emit(RunFailed {
        stream: &report.stream,
        error: &error,
    });
    let report = close(report, telemetry, context);
    RunFailure {
        error,
        report: report.to_value(),
    }
}
