//! One run of one stream: take the lease, plan the windows from the cursor, and for each window fetch →
//! land → move the cursor to the window's end. Then the retention guard looks at how far behind the
//! cursor is.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tributary_shared::deadline::{Deadline, RoundTrips};
use tributary_shared::landing::streaming::StreamingLanding;
use tributary_shared::landing::{LandError, LandReport};
use tributary_shared::metrics::{names, RunMetrics, Unit};
use tributary_shared::record::Unparsed;
use tributary_shared::secrets::{Secret, SecretError};
use tributary_shared::state::{Lease, LeaseOutcome, Progress, RunSummary, StateError};

use crate::client::FetchError;
use crate::mapping::{self, Provenance, VENDOR};
use crate::windows::{rfc3339, Window};
use crate::Poller;

/// Metric names of this function beyond the shared ones.
pub mod metric {
    /// 1 when cursor lag is past the alarm share of the vendor's retention, else 0.
    pub const RETENTION_ALARM: &str = "RetentionAlarm";
    /// Seconds of logs that expired at the vendor before they were fetched.
    pub const RETENTION_GAP_SECONDS: &str = "RetentionGapSeconds";
    /// Windows whose cursor move landed in this run (re-fetches not included).
    pub const WINDOWS_LANDED: &str = "WindowsLanded";
    pub const WINDOWS_REFETCHED: &str = "WindowsRefetched";
    /// Times a window was split in two after a 408.
    pub const WINDOW_SPLITS: &str = "WindowSplits";
    /// Logs the vendor returned outside the asked window (dropped: they belong to another window).
    pub const LOGS_OUTSIDE_WINDOW: &str = "LogsOutsideWindow";
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    State(#[from] StateError),
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

/// What a run did; the handler's answer.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RunReport {
    pub stream: String,
    /// `ok`, `partial` (out of time), `lease_busy` (another run holds the stream) or `lost_race`.
    pub outcome: &'static str,
    /// Windows landed past the old cursor.
    pub windows: u64,
    /// Windows fetched again because they lie within the overlap.
    pub refetched: u64,
    pub logs: u64,
    pub unparsed: u64,
    pub objects: u64,
    pub bytes: u64,
    pub splits: u64,
    pub cursor: Option<String>,
    pub cursor_lag_seconds: Option<i64>,
    pub retention_alarm: bool,
    pub lost: Option<LostRange>,
}

/// Counts over one window.
#[derive(Debug, Default)]
struct WindowStats {
    logs: u64,
    outside: u64,
    beyond_end: u64,
    splits: u64,
    newest: Option<DateTime<Utc>>,
}

pub async fn run(
    poller: &Poller,
    stream: &str,
    owner: &str,
    deadline: &Deadline,
    metrics: &RunMetrics,
) -> Result<RunReport, RunError> {
    let started_at = Utc::now();
    let state_key = format!("{VENDOR}#{stream}");
    let mut report = RunReport {
        stream: stream.to_owned(),
        outcome: "ok",
        ..RunReport::default()
    };
    // The lease outlives the run's deadline a little, so a crashed run blocks the next one only briefly.
    let lease_for = deadline.remaining() + Duration::from_secs(60);
    let mut lease = match poller
        .services
        .state
        .acquire(&state_key, owner, lease_for)
        .await?
    {
        LeaseOutcome::Acquired(lease) => *lease,
        LeaseOutcome::HeldByOther { owner, until } => {
            metrics.count(names::LEASE_BUSY, 1);
            tracing::info!(
                message = "Another run holds the stream; nothing to do.",
                stream = %state_key,
                holder = %owner,
                until = ?until
            );
            report.outcome = "lease_busy";
            return Ok(report);
        }
    };

    let result = collect(poller, &mut lease, deadline, metrics, &mut report).await;
    retention_guard(poller, &lease, metrics, &mut report);

    let (outcome, error) = match &result {
        Ok(()) => (report.outcome, None),
        Err(error) => ("error", Some(error.to_string())),
    };
    let summary = RunSummary {
        started_at,
        outcome,
        events: report.logs,
        error,
    };
    match poller.services.state.finish(lease, &summary).await {
        Ok(()) => {}
        Err(StateError::LostRace { .. }) => {
            tracing::warn!(message = "The lease expired before the run finished; another run owns the stream now.", stream = %state_key);
        }
        Err(error) if result.is_ok() => return Err(error.into()),
        Err(error) => {
            tracing::error!(message = "Could not record the run's end.", error = %error);
        }
    }
    result.map(|()| report)
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
    lease: &mut Lease,
    deadline: &Deadline,
    metrics: &RunMetrics,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let stream = lease.stream().to_owned();
    let now = Utc::now();
    let mut cursor = lease
        .cursor()
        .map(|c| parse_cursor(&stream, c))
        .transpose()?;
    let plan = poller.config.grid().plan(cursor, now);

    if let Some(lost) = plan.lost {
        let seconds = lost.width().num_seconds();
        metrics.add(metric::RETENTION_GAP_SECONDS, seconds as f64, Unit::Seconds);
        tracing::error!(
            message = "EasySend logs expired before they were fetched; this range is lost.",
            stream = %stream,
            lost_start = %rfc3339(lost.start),
            lost_end = %rfc3339(lost.end),
            seconds
        );
        poller
            .services
            .state
            .set_meta(lease, &[("last_lost_range", &lost.label())])
            .await?;
        report.lost = Some(LostRange {
            start: rfc3339(lost.start),
            end: rfc3339(lost.end),
            seconds,
        });
    }
    if let Some(start) = plan.first_start {
        tracing::warn!(
            message = "No cursor for this stream: first run, starting a look-back ago.",
            stream = %stream,
            start = %rfc3339(start),
            lookback_seconds = poller.config.lookback.as_secs()
        );
        // Stored at once, so the next run continues from here even if this one lands nothing.
        poller
            .services
            .state
            .advance(lease, Some(&rfc3339(start)), &Progress::default())
            .await?;
        cursor = Some(start);
    }
    if plan.windows.is_empty() {
        return Ok(());
    }

    let key = api_key(poller).await?;
    let mut rounds = RoundTrips::new(Duration::from_secs(5));
    for window in plan.windows {
        if !deadline.allows(rounds.estimate()) {
            tracing::info!(message = "Stopping before the deadline; the next run continues.", stream = %stream, next_window = %window);
            report.outcome = "partial";
            break;
        }
        let refetch = cursor.is_some_and(|c| window.end <= c);
        let began = Instant::now();
        let landed = land_window(poller, &key, &stream, window, deadline, metrics).await;
        rounds.observe(began.elapsed());
        let (stats, landing) = match landed {
            Ok(done) => done,
            Err(_) if deadline.expired() => {
                tracing::info!(message = "Ran out of time inside a window; it is fetched again next run.", stream = %stream, window = %window);
                report.outcome = "partial";
                break;
            }
            Err(error) => {
                metrics.count(names::ERRORS, 1);
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
        metrics.landed(&landing);
        report.logs += landing.events as u64;
        report.unparsed += landing.unparsed as u64;
        report.objects += landing.objects.len() as u64;
        report.bytes += landing.bytes as u64;
        report.splits += stats.splits;
        if refetch {
            report.refetched += 1;
            metrics.count(metric::WINDOWS_REFETCHED, 1);
            continue;
        }
        let progress = Progress {
            events: landing.events as u64,
            newest_event_time: stats.newest.map(tributary_shared::record::rfc3339),
        };
        match poller
            .services
            .state
            .advance(lease, Some(&rfc3339(window.end)), &progress)
            .await
        {
            Ok(()) => {}
            Err(error @ StateError::LostRace { .. }) => {
                metrics.count(names::LOST_RACES, 1);
                tracing::warn!(message = "Lost the stream to another run; stopping without moving the cursor.", stream = %stream, error = %error);
                report.outcome = "lost_race";
                break;
            }
            Err(error) => return Err(error.into()),
        }
        cursor = Some(window.end);
        report.windows += 1;
        metrics.count(metric::WINDOWS_LANDED, 1);
    }
    Ok(())
}

/// Fetches one grid window (splitting it on 408) into a streaming landing, then commits it. Any error
/// aborts the landing, so nothing of a failed window becomes visible.
async fn land_window(
    poller: &Poller,
    key: &Secret,
    stream: &str,
    window: Window,
    deadline: &Deadline,
    metrics: &RunMetrics,
) -> Result<(WindowStats, LandReport), RunError> {
    let mut landing = poller.lander.streaming(window.tag());
    match fetch_window(poller, key, stream, window, deadline, metrics, &mut landing).await {
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
            let landed = landing.commit().await?;
            tracing::info!(message = "Window landed.", stream = %stream, window = %window, logs = landed.events, objects = landed.objects.len(), splits = stats.splits);
            Ok((stats, landed))
        }
        Err(error) => {
            landing.abort().await;
            Err(error)
        }
    }
}

async fn fetch_window(
    poller: &Poller,
    key: &Secret,
    stream: &str,
    window: Window,
    deadline: &Deadline,
    metrics: &RunMetrics,
    landing: &mut StreamingLanding,
) -> Result<WindowStats, RunError> {
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
            match mapping::parse(raw) {
                Ok(log) if range.contains(log.timestamp) => {
                    let record = mapping::to_record(raw, &log, &provenance);
                    landing.push(&record).await?;
                    stats.logs += 1;
                    stats.newest = stats.newest.max(Some(log.timestamp));
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
                    landing.push_unparsed(&item).await?;
                }
            }
        }
    }
    Ok(stats)
}

/// Cursor lag as a metric, and the alarm when it passes the configured share of the retention.
fn retention_guard(poller: &Poller, lease: &Lease, metrics: &RunMetrics, report: &mut RunReport) {
    report.cursor = lease.cursor().map(str::to_owned);
    let Some(cursor) = lease
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
            stream = %lease.stream(),
            cursor = %cursor,
            lag_seconds = lag,
            alarm_after_seconds = threshold,
            retention_seconds = poller.config.retention.as_secs()
        );
    }
}
