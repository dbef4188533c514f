//! Collection of one stream, as a [`Source`] of the shared run cycle: plan the windows from the cursor, and for each
//! window fetch → land → checkpoint the cursor at the window's end. Then the retention guard looks at how far
//! behind the cursor is. The lease, the deadline, the outcome and the metrics are the run cycle's.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tributary_shared::deadline::{Deadline, RoundTrips};
use tributary_shared::landing::{LandError, LandReport, Lander};
use tributary_shared::metrics::{names, RunMetrics, Unit};
use tributary_shared::record::Unparsed;
use tributary_shared::run::events::RetentionGap;
use tributary_shared::run::{CheckpointError, Finish, Run, Source, StreamId};
use tributary_shared::secrets::{Secret, SecretError};

use crate::cells::{CellLanding, Recheck};
use crate::client::FetchError;
use crate::mapping::{self, Provenance, VENDOR};
use crate::windows::{rfc3339, Window};
use crate::{Poller, FUNCTION};

/// Metric names of this function beyond the shared ones.
pub mod metric {
    /// 1 when cursor lag is past the alarm share of the vendor's retention, else 0.
    pub const RETENTION_ALARM: &str = "RetentionAlarm";
    /// Windows whose cursor move landed in this run (re-fetches not included).
    pub const WINDOWS_LANDED: &str = "WindowsLanded";
    pub const WINDOWS_REFETCHED: &str = "WindowsRefetched";
    /// Times a window was split in two after a 408.
    pub const WINDOW_SPLITS: &str = "WindowSplits";
    /// Logs the vendor returned outside the asked window (dropped: they belong to another window).
    pub const LOGS_OUTSIDE_WINDOW: &str = "LogsOutsideWindow";

    use tributary_shared::metrics::Unit;

    /// Emitted on every run, zeros included.
    pub const ALL: &[(&str, Unit)] = &[
        (RETENTION_ALARM, Unit::Count),
        (WINDOWS_LANDED, Unit::Count),
        (WINDOWS_REFETCHED, Unit::Count),
        (WINDOW_SPLITS, Unit::Count),
        (LOGS_OUTSIDE_WINDOW, Unit::Count),
        (
            tributary_shared::run::events::LATE_LOGS_RECOVERED,
            Unit::Count,
        ),
        (crate::sweep::metric::SWEEP_REQUESTS, Unit::Count),
        (crate::sweep::metric::SWEEP_BYTES, Unit::Bytes),
        (crate::sweep::metric::SWEEP_OBJECTS_READ, Unit::Count),
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Land(#[from] LandError),
    #[error(
        "EasySend times out (408) even on {window}, {seconds} s wide, the narrowest allowed \
         (TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS); the cursor stays before it until a narrower minimum or a faster \
         answer lets it through"
    )]
    TooDense { window: Window, seconds: i64 },
    #[error("the cursor {cursor:?} of stream {stream} is not an RFC 3339 time; fix or delete the state item")]
    BadCursor { stream: String, cursor: String },
}

/// A range of logs that expired before it was fetched.
#[derive(Debug, Clone, Serialize)]
pub struct LostRange {
    pub start: String,
    pub end: String,
    pub seconds: i64,
}

/// What a run adds to the shared run report.
#[derive(Debug, Clone, Serialize, Default)]
pub struct WindowDetail {
    /// Windows landed past the old cursor.
    pub windows: u64,
    /// Windows fetched again because they lie within the overlap.
    pub refetched: u64,
    pub splits: u64,
    /// Unparsed logs met again in a window fetched again (or by the sweep), which had landed and were not landed
    /// twice.
    pub unparsed_fetched_again: u64,
    pub cursor_lag_seconds: Option<i64>,
    pub retention_alarm: bool,
    pub lost: Option<LostRange>,
    /// The retrospection sweep's part of this run, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::sweep::SweepDetail>,
}

/// Counts over one window.
#[derive(Debug, Default)]
pub(crate) struct WindowStats {
    /// Requests to EasySend (a 408 split makes more than one).
    pub(crate) requests: u64,
    /// Bytes of the logs EasySend returned.
    pub(crate) bytes: u64,
    logs: u64,
    outside: u64,
    beyond_end: u64,
    splits: u64,
    pub(crate) newest: Option<DateTime<Utc>>,
}

/// One configured stream of security logs.
pub struct StreamCollection<'p> {
    pub poller: &'p Poller,
    pub stream: String,
}

impl Source for StreamCollection<'_> {
    type Detail = WindowDetail;
    type Error = RunError;

    fn id(&self) -> StreamId {
        StreamId::new(FUNCTION, VENDOR, &self.stream)
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        metric::ALL
    }

    async fn collect(
        &self,
        run: &mut Run<'_>,
        detail: &mut WindowDetail,
    ) -> Result<Finish, RunError> {
        let result = collect(self.poller, run, detail).await;
        retention_guard(self.poller, run, detail);
        result
    }
}

fn parse_cursor(stream: &str, text: &str) -> Result<DateTime<Utc>, RunError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| RunError::BadCursor {
            stream: stream.to_owned(),
            cursor: text.to_owned(),
        })
}

async fn api_key(poller: &Poller) -> Result<Secret, RunError> {
    let value = poller
        .services
        .secrets
        .get(&poller.config.api_key_secret)
        .await?;
    // A JSON secret names the key `apiKey` (as the header does) or `api_key`; anything else is the key.
    Ok(value
        .field("apiKey")
        .or_else(|_| value.field("api_key"))
        .unwrap_or_else(|_| value.whole()))
}

async fn collect(
    poller: &Poller,
    run: &mut Run<'_>,
    detail: &mut WindowDetail,
) -> Result<Finish, RunError> {
    let stream = run.stream().to_owned();
    let now = Utc::now();
    let grid = poller.config.grid();
    let mut cursor = run.cursor().map(|c| parse_cursor(&stream, c)).transpose()?;
    let plan = match cursor {
        Some(_) => grid.plan(cursor, now),
        None => {
            // The first start is persisted by the run cycle, so a first run that lands nothing does not move it.
            let start = run.first_start(|| grid.first_start(now)).await?;
            grid.plan_from_first_start(start, now)
        }
    };

    if let Some(lost) = plan.lost {
        run.emit(RetentionGap {
            stream: &stream,
            start: lost.start,
            end: lost.end,
        });
        run.set_meta(&[("last_lost_range", &lost.label())]).await?;
        detail.lost = Some(LostRange {
            start: rfc3339(lost.start),
            end: rfc3339(lost.end),
            seconds: lost.width().num_seconds(),
        });
    }
    if plan.windows.is_empty() && !crate::sweep::due(poller, run, Utc::now()) {
        return Ok(Finish::Drained);
    }

    let key = api_key(poller).await?;
    let mut rounds = RoundTrips::new(Duration::from_secs(5));
    for window in plan.windows {
        if let Some(finish) = run.stop_before(rounds.estimate()) {
            tracing::info!(message = "Stopping before the deadline; the next run continues.", stream = %stream, next_window = %window);
            return Ok(finish);
        }
        let deadline = *run.deadline();
        let refetch = cursor.is_some_and(|c| window.end <= c);
        let began = Instant::now();
        let fetch = WindowFetch {
            poller,
            key: &key,
            stream: &stream,
            deadline: &deadline,
            metrics: run.metrics(),
            lander: run.lander(),
        };
        let landed = land_window(
            &fetch,
            window,
            CellLanding::new(fetch.lander, window, &stream),
        )
        .await;
        rounds.observe(began.elapsed());
        let (stats, landing, known) = match landed {
            Ok(done) => done,
            Err(_) if deadline.expired() => {
                tracing::info!(message = "Ran out of time inside a window; it is fetched again next run.", stream = %stream, window = %window);
                return Ok(Finish::OutOfTime);
            }
            Err(error) => {
                if matches!(error, RunError::Fetch(FetchError::Unauthorized { .. })) {
                    // A rotated key is picked up by the next run, not by hammering with this one.
                    poller
                        .services
                        .secrets
                        .forget(&poller.config.api_key_secret)
                        .await;
                }
                tracing::error!(message = "Window failed; nothing of it was committed.", stream = %stream, window = %window, error = %error);
                return Err(error);
            }
        };
        detail.splits += stats.splits;
        detail.unparsed_fetched_again += known.unparsed_again;
        if refetch {
            run.record_landing(&landing, stats.newest);
            detail.refetched += 1;
            run.metrics().count(metric::WINDOWS_REFETCHED, 1);
            continue;
        }
        run.checkpoint(&landing, Some(&rfc3339(window.end)), stats.newest)
            .await?;
        cursor = Some(window.end);
        detail.windows += 1;
        run.metrics().count(metric::WINDOWS_LANDED, 1);
    }
    crate::sweep::sweep(poller, run, &key, detail).await
}

/// What fetching a window needs from the run.
pub(crate) struct WindowFetch<'a> {
    pub(crate) poller: &'a Poller,
    pub(crate) key: &'a Secret,
    pub(crate) stream: &'a str,
    pub(crate) deadline: &'a Deadline,
    pub(crate) metrics: &'a RunMetrics,
    pub(crate) lander: &'a Lander,
}

/// Fetches one window (splitting it on 408) into `landing`, then commits it. Any error aborts the landing, so
/// nothing of a failed window becomes visible.
pub(crate) async fn land_window(
    fetch: &WindowFetch<'_>,
    window: Window,
    mut landing: CellLanding,
) -> Result<(WindowStats, LandReport, Recheck), RunError> {
    let WindowFetch {
        poller,
        stream,
        metrics,
        ..
    } = *fetch;
    match fetch_window(fetch, window, &mut landing).await {
        Ok(stats) => {
            if stats.outside > 0 {
                metrics.count(metric::LOGS_OUTSIDE_WINDOW, stats.outside);
            }
            if stats.beyond_end > 0 {
                tracing::warn!(
                    message = "EasySend returned logs after the end of the window asked for; \
                               it may not know the end parameter's name (TRIBUTARY_EASYSEND_END_PARAM).",
                    window = %window,
                    end_param = %poller.config.end_param,
                    logs = stats.beyond_end
                );
            }
            let (landed, known) = landing.commit().await?;
            if known.unparsed_again > 0 {
                metrics.count(names::UNPARSED_LANDED_BEFORE, known.unparsed_again);
                tracing::info!(message = "Unparsed logs fetched again had landed before; they are not landed twice.", stream = %stream, window = %window, logs = known.unparsed_again);
            }
            tracing::info!(message = "Window landed.", stream = %stream, window = %window, logs = landed.events, objects = landed.objects.len(), splits = stats.splits);
            Ok((stats, landed, known))
        }
        Err(error) => {
            landing.abort().await;
            Err(error)
        }
    }
}

async fn fetch_window(
    fetch: &WindowFetch<'_>,
    window: Window,
    landing: &mut CellLanding,
) -> Result<WindowStats, RunError> {
    let WindowFetch {
        poller,
        key,
        stream,
        deadline,
        metrics,
        ..
    } = *fetch;
    let min = chrono::Duration::from_std(poller.config.min_window)
        .unwrap_or(chrono::Duration::seconds(1));
    let label = window.label();
    let provenance = Provenance {
        stream,
        window: &label,
    };
    let mut stats = WindowStats::default();
    // Oldest range last on the stack, so ranges are fetched in time order.
    let mut ranges = vec![window];
    while let Some(range) = ranges.pop() {
        stats.requests += 1;
        let mut logs = match poller.client.fetch(key, range, deadline, metrics).await {
            Ok(logs) => logs,
            Err(FetchError::TimedOut { .. }) => match range.halves(min) {
                Some((older, newer)) => {
                    tracing::warn!(message = "EasySend rejected the window with 408; splitting it in two.", range = %range);
                    metrics.count(metric::WINDOW_SPLITS, 1);
                    stats.splits += 1;
                    ranges.push(newer);
                    ranges.push(older);
                    continue;
                }
                None => {
                    return Err(RunError::TooDense {
                        window: range,
                        seconds: range.width().num_seconds(),
                    })
                }
            },
            Err(error) => return Err(error.into()),
        };
        let beyond = range.end + chrono::Duration::seconds(1);
        while let Some(raw) = logs.next_log(metrics).await? {
            stats.bytes += raw.len() as u64;
            match mapping::parse(raw) {
                Ok(log) if range.contains(log.timestamp) => {
                    let at = log.timestamp;
                    let record = mapping::to_record(log, &provenance);
                    landing.push(&record).await?;
                    stats.logs += 1;
                    stats.newest = stats.newest.max(Some(at));
                }
                Ok(log) => {
                    // Bounds the guide leaves open (and the padded start) bring neighbours' logs; they
                    // belong to, and are landed with, their own window.
                    stats.outside += 1;
                    if log.timestamp >= beyond {
                        stats.beyond_end += 1;
                    }
                }
                Err(error) => {
                    let item =
                        Unparsed::new(VENDOR, String::from_utf8_lossy(raw), error.to_string())
                            .with_context("stream", stream)
                            .with_context("window", label.as_str());
                    landing.push_unparsed(item).await?;
                }
            }
        }
    }
    Ok(stats)
}

/// Cursor lag as a metric, and the alarm when it passes the configured share of the retention.
fn retention_guard(poller: &Poller, run: &Run<'_>, report: &mut WindowDetail) {
    let metrics = run.metrics();
    let Some(cursor) = run
        .cursor()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
    else {
        return;
    };
    let lag = (Utc::now() - cursor.with_timezone(&Utc))
        .num_seconds()
        .max(0);
    report.cursor_lag_seconds = Some(lag);
    metrics.set(names::CURSOR_LAG_SECONDS, lag as f64, Unit::Seconds);
    let threshold = poller.config.alarm_after().as_secs() as i64;
    let alarm = lag > threshold;
    metrics.set(
        metric::RETENTION_ALARM,
        if alarm { 1.0 } else { 0.0 },
        Unit::Count,
    );
    report.retention_alarm = alarm;
    if alarm {
        tracing::error!(
            message = "EasySend cursor is falling behind the vendor's retention; logs older than the retention are deleted for good.",
            stream = run.stream(),
            cursor = %cursor,
            lag_seconds = lag,
            alarm_after_seconds = threshold,
            retention_seconds = poller.config.retention.as_secs()
        );
    }
}
