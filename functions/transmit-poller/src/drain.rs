//! Collection of one event type, as a [`Source`] of the shared run cycle: make sure collection and the stream
//! exist (once; remembered in state), then collect → land → checkpoint, batch after batch, until Transmit answers
//! `[]` or the time left cannot cover another round. The lease, the deadline, the outcome and the metrics are the
//! run cycle's.
//!
//! `collect` is a destructive read: a batch is gone from Transmit the moment it is answered. So each batch lands
//! in S3 before the next is asked for, and the loop asks only when the time left covers a pessimistic estimate of
//! one more round (1.5× the slowest recent round, at least `TRIBUTARY_TRANSMIT_ROUND_TRIP_FLOOR_MS`). What remains
//! at risk is the batch in flight if the process dies between receiving an answer and landing it (a crash, or S3
//! failing past its retries): at most `batch_size` events, reported in the error when S3 is the cause.
//!
//! A collect that may have reached Transmit without a usable answer (timed out, broke off mid-body) may have cost
//! its batch. The first such collect shrinks the batch size to a tenth for the rest of the run, so a vendor that is
//! slow only with large batches keeps draining at a tenth of the risk; a second one ends the run. A run therefore
//! puts at most one batch and one tenth of a batch at risk, and every one is counted.

use std::time::Instant;

use serde::Serialize;
use tributary_shared::deadline::RoundTrips;
use tributary_shared::landing::ObjectNaming;
use tributary_shared::metrics::names;
use tributary_shared::record::rfc3339;
use tributary_shared::run::events::PossiblyLostBatch;
use tributary_shared::run::{Finish, Run};

use crate::client::{ClientError, Collected, Credentials, Setup};
use crate::error::PollerError;
use crate::event_type::EventType;
use crate::keep;
use crate::mapping::Origin;
use crate::type_run::{self, At, TypeWork, Worked};
use crate::Poller;

/// State bookkeeping: the stream id whose setup (start-collect + stream) is done.
pub const META_SETUP_STREAM: &str = "setup_stream_id";
pub const META_SETUP_AT: &str = "setup_at";

/// What a collection run adds to the shared run report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectDetail {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub stream_id: String,
    /// `done` when this run enabled collection / created the stream, `remembered` when state said it was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<&'static str>,
    /// Answers whose connection broke mid-body (their fragment is under `_unparsed`).
    pub cut_answers: u64,
    /// Batches kept by an earlier run (S3 had refused them) that this run landed first.
    pub parked_landed: u64,
}

/// Collection: drain the type's stream until Transmit answers `[]` or time runs out.
pub struct Collection;

impl TypeWork for Collection {
    type Detail = CollectDetail;

    const CLEARED_AT_FINISH: &'static [&'static str] = &[keep::META_IN_FLIGHT];

    async fn work(&self, at: At<'_, '_>, detail: &mut CollectDetail) -> Worked {
        let (poller, event_type, run) = (at.poller, at.event_type, at.run);
        let config = &poller.config;
        let stream_id = config.stream_id.as_str();
        detail.event_type = event_type.as_str();
        detail.stream_id = stream_id.to_owned();
        let credentials = poller.credentials().await?;
        let deadline = *run.deadline();

        keep::report_crash(run);
        detail.setup = Some(ensure_setup(poller, event_type, run, &credentials, false).await?);
        keep::prove_landing_path(run, event_type).await?;
        detail.parked_landed = keep::land_parked(run, event_type, stream_id).await?;

        let mut round_trips = RoundTrips::new(config.round_trip_floor);
        let mut stream_recreated = false;
        let mut batch_size = BatchSize::new(config.batch_size);
        // Whether state holds the mark of the collect about to be asked (the last checkpoint wrote it).
        let mut marked = false;
        loop {
            let estimate = round_trips.estimate();
            if let Some(finish) = run.stop_before(estimate) {
                tracing::info!(
                    message = "Stopping: another round might not finish before the deadline.",
                    event_type = %event_type,
                    time_left_ms = deadline.remaining().as_millis() as u64,
                    round_trip_estimate_ms = estimate.as_millis() as u64
                );
                return Ok(finish);
            }
            let size = batch_size.current();
            if !marked {
                keep::mark_in_flight(run, size).await?;
            }
            marked = false;
            let round_started = Instant::now();
            let call = type_run::call(run, &credentials);
            let answer = poller
                .client
                .collect(&call, event_type, stream_id, size, config.collect_timeout)
                .await;
            // Attempts that may have reached Transmit without a usable answer: each may have cost a batch.
            for _ in 0..answer.possibly_lost_batches() {
                run.emit(PossiblyLostBatch {
                    stream: run.stream(),
                    events_at_risk: Some(size as u64),
                    reason: &format!(
                        "a collect attempt may have reached Transmit without an answer ({})",
                        answer.attempts_text()
                    ),
                });
            }
            let collected = match answer.outcome {
                Ok(collected) => collected,
                Err(error) => {
                    // Nothing to land; a possible loss is already reported above. The next collect writes a fresh
                    // mark, or the finish clears this one.
                    match error {
                        ClientError::StreamNotFound { .. } if !stream_recreated => {
                            // Someone stopped collection or deleted the stream (portal, another deployment): set it up
                            // again once, and say so, since events in between were not kept.
                            tracing::warn!(
                                message = "The stream is gone on Transmit; enabling collection and creating it again.",
                                event_type = %event_type,
                                stream_id
                            );
                            stream_recreated = true;
                            detail.setup = Some(
                                ensure_setup(poller, event_type, run, &credentials, true).await?,
                            );
                            continue;
                        }
                        ClientError::PossiblyLost { .. } if batch_size.shrink_after_ambiguous() => {
                            tracing::warn!(
                                message = "A collect may have cost its batch; collecting smaller batches for the rest of the run.",
                                event_type = %event_type,
                                error = %error,
                                batch_size = batch_size.current()
                            );
                            continue;
                        }
                        source => return Err(PollerError::Client { event_type, source }),
                    }
                }
            };
            let batch = run.totals().batches + 1;
            let origin = Origin {
                event_type,
                stream_id,
                run: run.owner(),
                batch,
            };
            if let Collected::Cut { partial, error } = &collected {
                detail.cut_answers += 1;
                run.emit(PossiblyLostBatch {
                    stream: run.stream(),
                    events_at_risk: Some(size as u64),
                    reason: &format!(
                        "the collect answer broke off after {} bytes ({error}); the fragment lands under \
                         _unparsed, the events beyond it are lost",
                        partial.len()
                    ),
                });
            }
            let mapped = keep::map(&collected, &origin);
            if mapped.is_drained() {
                // The finish write clears the mark.
                return Ok(Finish::Drained);
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
            run.metrics().count(names::PAGES, 1);
            let landing = run
                .lander()
                .land(
                    &mapped.records,
                    &mapped.unparsed,
                    ObjectNaming::Content { tag: stream_id },
                )
                .await;
            let landed = match landing {
                Ok(landed) => landed,
                Err(source) => {
                    // Transmit has handed these events out: keep them where the function can still write.
                    let landed_before = run.totals().events;
                    return Err(match keep::park(run, &collected, &origin).await {
                        Ok(id) => PollerError::NotLandedKept {
                            event_type,
                            stream_id: stream_id.to_owned(),
                            batch,
                            landed_before,
                            kept: id,
                            source: Box::new(source),
                        },
                        Err(keep_error) => {
                            run.emit(PossiblyLostBatch {
                                stream: run.stream(),
                                events_at_risk: Some(mapped.records.len() as u64),
                                reason:
                                    "S3 refused the batch and the state table could not keep it",
                            });
                            PollerError::NotLanded {
                                event_type,
                                stream_id: stream_id.to_owned(),
                                batch,
                                landed_before,
                                keep_error: keep_error.to_string(),
                                source: Box::new(source),
                            }
                        }
                    });
                }
            };
            let go_on = match &collected {
                Collected::Cut { .. } => batch_size.shrink_after_ambiguous(),
                Collected::Body(_) => true,
            };
            // The landing's checkpoint also marks the next collect in flight (asked right after, unless the run
            // stops; then the finish clears the mark).
            let next = keep::in_flight(batch_size.current());
            run.checkpoint_with(
                &landed,
                None,
                mapped.newest,
                &[(keep::META_IN_FLIGHT, &next)],
            )
            .await?;
            marked = true;
            round_trips.observe(round_started.elapsed());
            if let (false, Collected::Cut { error, .. }) = (go_on, &collected) {
                return Err(PollerError::CutTwice {
                    event_type,
                    error: error.clone(),
                });
            }
        }
    }
}

/// The batch size of one run: the configured one until a collect may have cost its batch, then a tenth of it.
struct BatchSize {
    current: u32,
    shrunk: bool,
}

impl BatchSize {
    fn new(configured: u32) -> Self {
        Self {
            current: configured,
            shrunk: false,
        }
    }

    fn current(&self) -> u32 {
        self.current
    }

    /// After an ambiguous collect: `true` if the run may go on (at a tenth of the size), `false` if this was the
    /// second one and the run must stop.
    fn shrink_after_ambiguous(&mut self) -> bool {
        if self.shrunk {
            return false;
        }
        self.shrunk = true;
        self.current = (self.current / 10).max(1);
        true
    }
}

/// Makes sure collection is on and the stream exists, unless state remembers doing it for this stream id.
/// `force` redoes it (the stream vanished).
async fn ensure_setup(
    poller: &Poller,
    event_type: EventType,
    run: &mut Run<'_>,
    credentials: &Credentials,
    force: bool,
) -> Result<&'static str, PollerError> {
    let config = &poller.config;
    if !force && run.meta(META_SETUP_STREAM) == Some(config.stream_id.as_str()) {
        return Ok("remembered");
    }
    let call = type_run::call(run, credentials);
    let started = poller
        .client
        .start_collect(&call, event_type)
        .await
        .map_err(PollerError::client(event_type))?;
    let created = poller
        .client
        .create_stream(
            &call,
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
    let now = rfc3339(chrono::Utc::now());
    run.set_meta(&[
        (META_SETUP_STREAM, config.stream_id.as_str()),
        (META_SETUP_AT, now.as_str()),
    ])
    .await?;
    Ok("done")
}
