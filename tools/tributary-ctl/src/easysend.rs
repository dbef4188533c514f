//! `easysend backfill`: re-collects EasySend windows with the poller library's own planning and window
//! collection (`collect::run`), under a stream item of its own so the scheduled stream's cursor never moves.
//!
//! Why this cannot duplicate: EasySend objects are named by their grid window (`<start>-<end>`), and the
//! backfill uses the deployment's window size, so each re-collected window overwrites the object the scheduled
//! run wrote for it, with a superset of its logs. Records carry `event.id` from the log's content, so a SIEM
//! that saw a log before recognises it.
//!
//! How it is bounded: the library plans windows from a stream's cursor (or look-back) up to now minus a lag.
//! A fresh stream item with look-back `now - from` and lag `now - to` makes that plan exactly the grid windows
//! inside `[from, to]`. Running the same backfill again resumes from where a timed-out one stopped.

use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use easysend_poller::collect::WindowDetail;
use easysend_poller::config::EasySendConfig;
use easysend_poller::windows::align_down;
use easysend_poller::{collect_stream, Poller, FUNCTION};
use tributary_shared::run::{RunContext, RunFailure, RunReport};
use tributary_shared::services::Services;
use tributary_shared::state::{PARTITION_KEY, TTL_ATTRIBUTE};

/// How long the backfill's own state item is kept (DynamoDB TTL), so a re-run can resume but the table does
/// not collect them forever.
const ITEM_LIFETIME: Duration = Duration::days(3);

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("--from {from} is not before --to {to}")]
    Empty { from: String, to: String },
    #[error("--to {to} is in the future")]
    Future { to: String },
    #[error(
        "--from {from} is beyond EasySend's retention ({hours} h): logs before {reachable} are deleted at the \
         vendor and cannot be collected again"
    )]
    BeyondRetention {
        from: String,
        hours: i64,
        reachable: String,
    },
    #[error(
        "{from}–{to} holds no window the poller would fetch yet: windows are {seconds} s on a fixed grid, and \
         the newest ones wait for late logs (TRIBUTARY_EASYSEND_LAG_SECONDS)"
    )]
    NoWindow {
        from: String,
        to: String,
        seconds: i64,
    },
    #[error(transparent)]
    Run(#[from] RunFailure),
}

/// What was asked, what the grid made of it, and what the run did.
#[derive(Debug, serde::Serialize)]
pub struct BackfillReport {
    /// The state item the backfill ran under (`easysend#<stream>`).
    pub stream: String,
    pub first_window_start: String,
    pub last_window_end: String,
    pub run: RunReport<WindowDetail>,
}

fn text(at: DateTime<Utc>) -> String {
    easysend_poller::windows::rfc3339(at)
}

/// The backfill's stream name: one per `[from, to]`, so the same request resumes its own cursor.
pub fn stream_name(base: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!(
        "{base}-backfill-{}-{}",
        from.format("%Y%m%dT%H%M%SZ"),
        to.format("%Y%m%dT%H%M%SZ")
    )
}

/// The grid windows covering `[from, to]` for `config`'s window size: from the window holding `from` to the end
/// of the window holding `to`, but no further than the newest window the scheduled run would fetch now (its
/// lag leaves late logs time to arrive). `None` when that leaves no whole window.
pub fn grid_span(
    config: &EasySendConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let size = Duration::from_std(config.window).ok()?;
    let lag = Duration::from_std(config.lag).ok()?;
    let start = align_down(from, size);
    let covering = align_down(to, size)
        + if align_down(to, size) == to {
            Duration::zero()
        } else {
            size
        };
    let end = covering.min(align_down(now - lag, size));
    (end > start).then_some((start, end))
}

/// The configuration whose plan, at `now`, is the windows of `[start, end)`: look-back to `start`, lag back
/// to `end`, no overlap.
pub fn bounded_config(
    base: &EasySendConfig,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> EasySendConfig {
    let mut config = base.clone();
    config.lookback = (now - start).to_std().unwrap_or_default();
    config.lag = (now - end).to_std().unwrap_or_default();
    config.overlap = StdDuration::ZERO;
    config
}

pub async fn backfill(
    services: &Services,
    base: &EasySendConfig,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    budget: StdDuration,
) -> Result<BackfillReport, BackfillError> {
    let now = Utc::now();
    let to = to.unwrap_or(now);
    if from >= to {
        return Err(BackfillError::Empty {
            from: text(from),
            to: text(to),
        });
    }
    if to > now {
        return Err(BackfillError::Future { to: text(to) });
    }
    let retention = Duration::from_std(base.retention).unwrap_or(Duration::hours(48));
    let reachable = now - retention;
    if from < reachable {
        return Err(BackfillError::BeyondRetention {
            from: text(from),
            hours: retention.num_hours(),
            reachable: text(reachable),
        });
    }
    let (start, end) = grid_span(base, from, to, now).ok_or_else(|| BackfillError::NoWindow {
        from: text(from),
        to: text(to),
        seconds: base.window.as_secs() as i64,
    })?;
    let stream = stream_name(&base.stream, start, end);
    let config = bounded_config(base, start, end, now);
    let poller = Poller::new(services.clone(), config);
    let run = collect_stream(&poller, &stream, &RunContext::with_budget(FUNCTION, budget)).await?;
    expire_later(services, &format!("easysend#{stream}"), now).await;
    Ok(BackfillReport {
        stream: format!("easysend#{stream}"),
        first_window_start: text(start),
        last_window_end: text(end),
        run,
    })
}

/// Sets the backfill item's TTL. Best effort: an item that stays is harmless (and `status` shows it).
async fn expire_later(services: &Services, key: &str, now: DateTime<Utc>) {
    let result = services
        .dynamodb
        .update_item()
        .table_name(&services.config.table)
        .key(PARTITION_KEY, AttributeValue::S(key.to_owned()))
        .update_expression("SET #ttl = :at")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
        .expression_attribute_names("#pk", PARTITION_KEY)
        .expression_attribute_values(
            ":at",
            AttributeValue::N((now + ITEM_LIFETIME).timestamp().to_string()),
        )
        .send()
        .await;
    if let Err(error) = result {
        tracing::warn!(
            message = "Could not set the backfill item's expiry; it stays in the table.",
            stream = %key,
            error = %tributary_shared::aws::error_text(&error)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    #[test]
    fn the_bounded_plan_is_exactly_the_grid_windows_covering_from_and_to() {
        let base = EasySendConfig::with_defaults("http://player", "secret");
        let now = at(12, 0);
        let (start, end) = grid_span(&base, at(9, 2), at(10, 31), now).unwrap();
        assert_eq!((start, end), (at(9, 0), at(10, 35)));
        let plan = bounded_config(&base, start, end, now)
            .grid()
            .plan(None, now);
        assert_eq!(plan.windows.first().unwrap().start, at(9, 0));
        assert_eq!(plan.windows.last().unwrap().end, at(10, 35));
        assert_eq!(plan.windows.len(), 19);
        assert_eq!(plan.lost, None);
    }

    #[test]
    fn the_span_stops_where_the_scheduled_run_would_and_may_be_empty() {
        let base = EasySendConfig::with_defaults("http://player", "secret");
        // Default lag 120 s: at 12:01 the newest fetchable window ends at 11:55.
        assert_eq!(
            grid_span(&base, at(11, 50), at(12, 1), at(12, 1)),
            Some((at(11, 50), at(11, 55)))
        );
        assert_eq!(grid_span(&base, at(11, 58), at(12, 1), at(12, 1)), None);
    }
}
