//! Retrospection: EasySend sometimes writes a log well after its `@timestamp`, later than the lag and the overlap
//! allow for, and such a log is never in a window fetched again. So every `TRIBUTARY_EASYSEND_SWEEP_EVERY_SECONDS`
//! a run ends by re-reading the last `TRIBUTARY_EASYSEND_SWEEP_REACH_SECONDS` before the cursor in wide requests
//! (`TRIBUTARY_EASYSEND_SWEEP_WINDOW_SECONDS`), compares each log with what landed in its cell's object, and lands
//! only the ones missing (`LateLogsRecovered`). A sweep that finds nothing writes nothing. Its cost is bounded by its
//! reach: `reach / sweep window` requests (more after a 408 split), the bytes of the logs in the reach, and one
//! S3 read per cell object; it is reported per run (`SweepRequests`, `SweepBytes`, `SweepObjectsRead`).
//!
//! A sweep is resumable: where it got to is kept in state, so a run out of time leaves the rest to the next run.
//! A log written later than the reach after its time is still missed.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tributary_shared::deadline::RoundTrips;
use tributary_shared::run::events::LateLogsRecovered;
use tributary_shared::run::{Finish, Run};
use tributary_shared::secrets::Secret;

use crate::cells::{CellLanding, Landed};
use crate::collect::{land_window, RunError, WindowFetch};
use crate::windows::{rfc3339, span};
use crate::Poller;

/// When the sweep in progress (or the last one) started.
pub const META_SWEEP_AT: &str = "sweep_at";
/// Where the sweep in progress goes on; empty when none is.
pub const META_SWEEP_NEXT: &str = "sweep_next";

/// Metric names.
pub mod metric {
    pub const SWEEP_REQUESTS: &str = "SweepRequests";
    pub const SWEEP_BYTES: &str = "SweepBytes";
    pub const SWEEP_OBJECTS_READ: &str = "SweepObjectsRead";
}

/// What the sweep did in this run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SweepDetail {
    /// The range re-checked in this run.
    pub start: String,
    pub end: String,
    /// Requests to EasySend and bytes of logs they returned.
    pub requests: u64,
    pub bytes: u64,
    /// Objects read back from S3 to compare.
    pub objects_read: u64,
    /// Logs found missing and landed.
    pub late_logs_recovered: u64,
    /// Whether the sweep reached the cursor (otherwise the next run goes on from where it stopped).
    pub complete: bool,
}

fn parse(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether this run should sweep: one is unfinished, or the last one started `every` ago or more. A stream's first
/// sweep is due `every` after its first collection (which has just read everything the sweep would).
pub fn due(poller: &Poller, run: &Run<'_>, now: DateTime<Utc>) -> bool {
    let every = poller.config.sweep_every;
    if every.is_zero() || poller.config.sweep_reach.is_zero() || run.cursor().is_none() {
        return false;
    }
    if run.meta(META_SWEEP_NEXT).is_some() {
        return true;
    }
    parse(run.meta(META_SWEEP_AT))
        .is_some_and(|at| (now - at).to_std().unwrap_or_default() >= every)
}

/// Runs the sweep if it is due, after the run's windows.
pub async fn sweep(
    poller: &Poller,
    run: &mut Run<'_>,
    key: &Secret,
    detail: &mut crate::collect::WindowDetail,
) -> Result<Finish, RunError> {
    let now = Utc::now();
    let enabled = !poller.config.sweep_every.is_zero() && !poller.config.sweep_reach.is_zero();
    if enabled && run.cursor().is_some() && run.meta(META_SWEEP_AT).is_none() {
        // The stream's first collection: the clock of its sweeps starts now.
        run.set_meta(&[(META_SWEEP_AT, &rfc3339(now))]).await?;
        return Ok(Finish::Drained);
    }
    if !due(poller, run, now) {
        return Ok(Finish::Drained);
    }
    let Some(cursor) = parse(run.cursor()) else {
        return Ok(Finish::Drained);
    };
    let reachable = poller.config.grid().reachable(now);
    let reach =
        chrono::Duration::from_std(poller.config.sweep_reach).unwrap_or(chrono::Duration::MAX);
    let from = match parse(run.meta(META_SWEEP_NEXT)) {
        Some(next) => next,
        None => {
            run.set_meta(&[(META_SWEEP_AT, &rfc3339(now))]).await?;
            cursor.checked_sub_signed(reach).unwrap_or(reachable)
        }
    }
    .max(reachable);
    let size = chrono::Duration::from_std(poller.config.sweep_window)
        .unwrap_or(chrono::Duration::hours(1));
    let stream = run.stream().to_owned();
    let mut report = SweepDetail {
        start: rfc3339(from),
        end: rfc3339(from),
        ..SweepDetail::default()
    };
    let mut rounds = RoundTrips::new(Duration::from_secs(5));
    let mut finish = Finish::Drained;
    for window in span(from, cursor, size) {
        if let Some(stop) = run.stop_before(rounds.estimate()) {
            tracing::info!(message = "Stopping the sweep before the deadline; the next run goes on from here.", stream = %stream, next = %window);
            finish = stop;
            break;
        }
        let deadline = *run.deadline();
        let fetch = WindowFetch {
            poller,
            key,
            stream: &stream,
            deadline: &deadline,
            metrics: run.metrics(),
            lander: run.lander(),
        };
        let landing =
            CellLanding::only_new(run.lander(), window, &stream, Landed::new(&poller.services));
        let began = Instant::now();
        let result = land_window(&fetch, window, landing).await;
        rounds.observe(began.elapsed());
        let (stats, landed, known) = match result {
            Ok(done) => done,
            Err(_) if deadline.expired() => {
                finish = Finish::OutOfTime;
                break;
            }
            Err(error) => {
                emit(run, &report, from);
                detail.sweep = Some(report);
                return Err(error);
            }
        };
        report.requests += stats.requests;
        report.bytes += stats.bytes;
        report.objects_read += known.reads;
        report.late_logs_recovered += known.new;
        detail.unparsed_fetched_again += known.unparsed_again;
        report.end = rfc3339(window.end);
        if landed.events + landed.unparsed > 0 {
            run.record_landing(&landed, stats.newest);
        }
        run.set_meta(&[(META_SWEEP_NEXT, &rfc3339(window.end))])
            .await?;
    }
    if finish == Finish::Drained {
        report.complete = true;
        run.set_meta(&[(META_SWEEP_NEXT, "")]).await?;
    }
    emit(run, &report, from);
    detail.sweep = Some(report);
    Ok(finish)
}

fn emit(run: &Run<'_>, report: &SweepDetail, from: DateTime<Utc>) {
    let metrics = run.metrics();
    metrics.count(metric::SWEEP_REQUESTS, report.requests);
    metrics.count(metric::SWEEP_BYTES, report.bytes);
    metrics.count(metric::SWEEP_OBJECTS_READ, report.objects_read);
    run.emit(LateLogsRecovered {
        stream: run.stream(),
        count: report.late_logs_recovered,
        start: from,
        end: parse(Some(&report.end)).unwrap_or(from),
    });
}
