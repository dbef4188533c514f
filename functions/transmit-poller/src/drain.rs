//! One scheduled run for one event type: take the lease, make sure collection and the stream
//! exist (once; remembered in state), then collect → land → record progress, batch after batch,
//! until Transmit answers `[]` or the time left cannot cover another round.
//!
//! `collect` is a destructive read: a batch is gone from Transmit the moment it is answered. So
//! each batch lands in S3 before the next is asked for, and the loop asks only when the time
//! left covers a pessimistic estimate of one more round (1.5× the slowest recent round, at least
//! `TRIBUTARY_TRANSMIT_ROUND_TRIP_FLOOR_MS`). What remains at risk is the batch in flight if the
//! process dies between receiving an answer and landing it (a crash, or S3 failing past its
//! retries): at most `batch_size` events, reported in the error when S3 is the cause.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tributary_shared::deadline::RoundTrips;
use tributary_shared::landing::ObjectNaming;
use tributary_shared::metrics::{names, RunMetrics, Unit};
use tributary_shared::record::rfc3339;
use tributary_shared::state::{Lease, LeaseOutcome, Progress, RunSummary, StateError};

use crate::client::{Call, ClientError, Collected, Setup};
use crate::error::PollerError;
use crate::event_type::EventType;
use crate::mapping::{self, Mapped, Origin};
use crate::{Poller, RunContext, COLLECTOR};

/// State bookkeeping: the stream id whose setup (start-collect + stream) is done.
pub const META_SETUP_STREAM: &str = "setup_stream_id";
pub const META_SETUP_AT: &str = "setup_at";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Transmit answered `[]`: nothing more to collect now.
    Drained,
    /// Stopped asking because another round might not finish before the deadline; the next run
    /// continues where this one stopped.
    OutOfTime,
    /// Another run holds the lease for this type; this one collected nothing.
    Busy,
    /// The lease was taken over mid-run (it had expired); stopped after the last landed batch.
    LostLease,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Drained => "drained",
            Status::OutOfTime => "out_of_time",
            Status::Busy => "busy",
            Status::LostLease => "lost_lease",
        }
    }
}

/// What a collection run did (the invocation's result).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub stream_id: String,
    pub status: Status,
    /// `done` when this run enabled collection / created the stream, `remembered` when state
    /// said it was done already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<&'static str>,
    pub batches: u64,
    pub events_landed: u64,
    pub unparsed: u64,
    pub objects: u64,
    pub bytes: u64,
    /// Answers whose connection broke mid-body (their fragment is under `_unparsed`).
    pub cut_answers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_event_time: Option<String>,
    pub time_left_ms: u64,
    /// collect attempts that may have reached Transmit without a usable answer (5xx, timeout,
    /// broken connection): each may have cost a batch.
    pub possibly_lost_batches: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

impl RunReport {
    fn new(event_type: EventType, stream_id: &str) -> RunReport {
        RunReport {
            event_type: event_type.as_str(),
            stream_id: stream_id.to_owned(),
            status: Status::Drained,
            setup: None,
            batches: 0,
            events_landed: 0,
            unparsed: 0,
            objects: 0,
            bytes: 0,
            cut_answers: 0,
            newest_event_time: None,
            time_left_ms: 0,
            possibly_lost_batches: 0,
            held_by: None,
        }
    }
}

/// Runs one collection of `event_type`. A lease held by another run is a clean `Busy` report;
/// every failure is an error, logged and counted before it is returned.
pub async fn collect(
    poller: &Poller,
    event_type: EventType,
    run: &RunContext,
) -> Result<RunReport, PollerError> {
    let metrics = RunMetrics::new(COLLECTOR, event_type.as_str());
    let state = &poller.services.state;
    let stream_id = poller.config.stream_id.as_str();
    let mut report = RunReport::new(event_type, stream_id);
    let started_at = Utc::now();

    let mut lease = match state
        .acquire(&event_type.state_key(), &run.id, run.lease_for)
        .await
    {
        Ok(LeaseOutcome::Acquired(lease)) => *lease,
        Ok(LeaseOutcome::HeldByOther { owner, until }) => {
            tracing::info!(
                message = "Another run is collecting this type; exiting without collecting.",
                event_type = %event_type,
                held_by = %owner,
                until = until.map(rfc3339).unwrap_or_default()
            );
            metrics.count(names::LEASE_BUSY, 1);
            finish_metrics(&metrics, run, &mut report);
            metrics.emit();
            report.status = Status::Busy;
            report.held_by = Some(owner);
            return Ok(report);
        }
        Err(source) => {
            let error = PollerError::State { event_type, source };
            return Err(fail(&metrics, run, error));
        }
    };

    let outcome = match drain(poller, event_type, run, &metrics, &mut lease, &mut report).await {
        // Wherever the lease was lost (setup bookkeeping included), it is a clean stop, not a failure.
        Err(PollerError::State {
            source: StateError::LostRace { .. },
            ..
        }) => {
            metrics.count(names::LOST_RACES, 1);
            tracing::warn!(
                message = "Lost the lease; stopping without advancing anything.",
                event_type = %event_type
            );
            report.status = Status::LostLease;
            Ok(())
        }
        other => other,
    };
    let summary = RunSummary {
        started_at,
        outcome: match &outcome {
            Ok(()) => report.status.as_str(),
            Err(_) => "failed",
        },
        events: report.events_landed,
        error: outcome.as_ref().err().map(ToString::to_string),
    };
    let finished = match state.finish(lease, &summary).await {
        Ok(()) => Ok(()),
        Err(StateError::LostRace { .. }) if report.status == Status::LostLease => Ok(()),
        Err(source) => Err(PollerError::State { event_type, source }),
    };
    finish_metrics(&metrics, run, &mut report);
    match (outcome, finished) {
        (Err(error), Err(also)) => {
            tracing::error!(message = "Could not record the failed run in state.", error = %also);
            Err(fail(&metrics, run, error))
        }
        (Err(error), Ok(())) | (Ok(()), Err(error)) => Err(fail(&metrics, run, error)),
        (Ok(()), Ok(())) => {
            metrics.emit();
            tracing::info!(
                message = "Run finished.",
                event_type = %event_type,
                status = report.status.as_str(),
                batches = report.batches,
                events_landed = report.events_landed,
                unparsed = report.unparsed,
                time_left_ms = report.time_left_ms
            );
            Ok(report)
        }
    }
}

fn finish_metrics(metrics: &RunMetrics, run: &RunContext, report: &mut RunReport) {
    report.time_left_ms = run.deadline.remaining().as_millis() as u64;
    metrics.set(
        names::TIME_LEFT_MS,
        report.time_left_ms as f64,
        Unit::Milliseconds,
    );
}

/// Logs, counts and emits a failure, and hands it back for the invocation's error result.
fn fail(metrics: &RunMetrics, run: &RunContext, error: PollerError) -> PollerError {
    metrics.count(names::ERRORS, 1);
    metrics.set(
        names::TIME_LEFT_MS,
        run.deadline.remaining().as_millis() as f64,
        Unit::Milliseconds,
    );
    metrics.emit();
    tracing::error!(message = "Run failed.", run = %run.id, error = %error);
    error
}

async fn drain(
    poller: &Poller,
    event_type: EventType,
    run: &RunContext,
    metrics: &RunMetrics,
    lease: &mut Lease,
    report: &mut RunReport,
) -> Result<(), PollerError> {
    let config = &poller.config;
    let state = &poller.services.state;
    let lander = poller.services.lander(COLLECTOR);
    let stream_id = config.stream_id.as_str();
    let credentials = poller.credentials().await?;
    let call = Call {
        deadline: &run.deadline,
        metrics,
        credentials: &credentials,
    };

    report.setup = Some(ensure_setup(poller, event_type, &call, lease, false).await?);

    let mut round_trips = RoundTrips::new(config.round_trip_floor);
    let mut stream_recreated = false;
    loop {
        let estimate = round_trips.estimate();
        if !run.deadline.allows(estimate) {
            tracing::info!(
                message = "Stopping: another round might not finish before the deadline.",
                event_type = %event_type,
                time_left_ms = run.deadline.remaining().as_millis() as u64,
                round_trip_estimate_ms = estimate.as_millis() as u64
            );
            report.status = Status::OutOfTime;
            return Ok(());
        }
        let round_started = Instant::now();
        let answer = poller
            .client
            .collect(&call, event_type, stream_id, config.batch_size)
            .await;
        report.possibly_lost_batches += answer.report_possibly_lost(metrics);
        let collected = match answer.outcome {
            Ok(collected) => collected,
            Err(ClientError::StreamNotFound { .. }) if !stream_recreated => {
                // Someone stopped collection or deleted the stream (portal, another deployment):
                // set it up again once, and say so, since events in between were not kept.
                tracing::warn!(
                    message = "The stream is gone on Transmit; enabling collection and creating it again.",
                    event_type = %event_type,
                    stream_id
                );
                stream_recreated = true;
                report.setup = Some(ensure_setup(poller, event_type, &call, lease, true).await?);
                continue;
            }
            Err(source) => return Err(PollerError::Client { event_type, source }),
        };
        let batch = report.batches + 1;
        let origin = Origin {
            event_type,
            stream_id,
            run: &run.id,
            batch,
        };
        let mapped = match collected {
            Collected::Body(body) => mapping::map_body(&body, &origin),
            Collected::Cut { partial, error } => {
                metrics.count(names::ERRORS, 1);
                report.cut_answers += 1;
                tracing::error!(
                    message = "A collect answer broke off; its fragment lands under _unparsed.",
                    event_type = %event_type,
                    batch,
                    received_bytes = partial.len(),
                    error = %error
                );
                Mapped {
                    unparsed: vec![mapping::cut_body(&partial, &error, &origin)],
                    ..Mapped::default()
                }
            }
        };
        if mapped.is_drained() {
            report.status = Status::Drained;
            return Ok(());
        }
        if !mapped.unparsed.is_empty() {
            tracing::warn!(
                message = "Some of a batch could not be mapped; it lands under _unparsed.",
                event_type = %event_type,
                batch,
                unparsed = mapped.unparsed.len(),
                first_error = %mapped.unparsed[0].error
            );
        }
        metrics.count(names::PAGES, 1);
        let landed = lander
            .land(
                &mapped.records,
                &mapped.unparsed,
                ObjectNaming::Content { tag: stream_id },
            )
            .await
            .map_err(|source| PollerError::NotLanded {
                event_type,
                stream_id: stream_id.to_owned(),
                batch,
                landed_before: report.events_landed,
                source: Box::new(source),
            })?;
        metrics.landed(&landed);
        report.batches = batch;
        report.events_landed += landed.events as u64;
        report.unparsed += landed.unparsed as u64;
        report.objects += landed.objects.len() as u64;
        report.bytes += landed.bytes as u64;
        if let Some(newest) = mapped.newest {
            let newest_so_far = report
                .newest_event_time
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            if newest_so_far.is_none_or(|so_far| newest > so_far) {
                report.newest_event_time = Some(rfc3339(newest));
                let lag = (Utc::now() - newest).num_milliseconds().max(0) as f64 / 1000.0;
                metrics.set(names::CURSOR_LAG_SECONDS, lag, Unit::Seconds);
            }
        }
        let progress = Progress {
            events: landed.events as u64,
            newest_event_time: mapped.newest.map(rfc3339),
        };
        match state.advance(lease, None, &progress).await {
            Ok(()) => {}
            Err(StateError::LostRace { .. }) => {
                tracing::warn!(
                    message = "The lease was taken over; stopping after the batch that landed.",
                    event_type = %event_type,
                    batch
                );
                metrics.count(names::LOST_RACES, 1);
                report.status = Status::LostLease;
                return Ok(());
            }
            Err(source) => return Err(PollerError::State { event_type, source }),
        }
        round_trips.observe(round_started.elapsed());
    }
}

/// Makes sure collection is on and the stream exists, unless state remembers doing it for this
/// stream id. `force` redoes it (the stream vanished).
async fn ensure_setup(
    poller: &Poller,
    event_type: EventType,
    call: &Call<'_>,
    lease: &mut Lease,
    force: bool,
) -> Result<&'static str, PollerError> {
    let config = &poller.config;
    if !force && lease.meta(META_SETUP_STREAM) == Some(config.stream_id.as_str()) {
        return Ok("remembered");
    }
    let started = poller
        .client
        .start_collect(call, event_type)
        .await
        .map_err(PollerError::client(event_type))?;
    let created = poller
        .client
        .create_stream(
            call,
            event_type,
            &config.stream_id,
            config.retention_days,
            config.enrichment,
        )
        .await
        .map_err(PollerError::client(event_type))?;
    tracing::info!(
        message = "Stream set up.",
        event_type = %event_type,
        stream_id = %config.stream_id,
        collection = if started == Setup::Done { "started" } else { "already on" },
        stream = if created == Setup::Done { "created" } else { "already existed" }
    );
    let now = rfc3339(Utc::now());
    poller
        .services
        .state
        .set_meta(
            lease,
            &[
                (META_SETUP_STREAM, config.stream_id.as_str()),
                (META_SETUP_AT, now.as_str()),
            ],
        )
        .await
        .map_err(PollerError::state(event_type))?;
    Ok("done")
}
