//! `status`: every stream's state as the functions keep it in the state table.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tributary_shared::state::{StateError, StateStore, StreamState};

/// One stream, as an operator wants to see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamStatus {
    /// The state item's key, `<vendor>#<stream>`.
    pub stream: String,
    pub cursor: Option<String>,
    /// Seconds between now and the newest landed event (or, for time cursors, the cursor).
    pub lag_seconds: Option<i64>,
    pub newest_event_time: Option<String>,
    pub last_run_finished_at: Option<String>,
    pub last_run_outcome: Option<String>,
    pub last_run_events: Option<u64>,
    pub last_run_error: Option<String>,
    /// What a `degraded` run lost, possibly lost or skipped.
    pub last_run_losses: Option<String>,
    /// Who holds the lease, if it has not expired.
    pub lease_holder: Option<String>,
    pub lease_until: Option<String>,
    pub events_landed_total: u64,
}

impl StreamStatus {
    pub fn from_state(state: &StreamState, now: DateTime<Utc>) -> StreamStatus {
        let parse = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        // The newest landed event says how current the data is; a time cursor (EasySend's window end) says
        // the same when the item has no event time yet.
        let reference = state
            .newest_event_time
            .as_deref()
            .and_then(parse)
            .or_else(|| state.cursor.as_deref().and_then(parse));
        let live_lease = state.lease_until.filter(|until| *until > now);
        StreamStatus {
            stream: state.stream.clone(),
            cursor: state.cursor.clone(),
            lag_seconds: reference.map(|t| (now - t).num_seconds().max(0)),
            newest_event_time: state.newest_event_time.clone(),
            last_run_finished_at: state.last_run_finished_at.clone(),
            last_run_outcome: state.last_run_outcome.clone(),
            last_run_events: state.last_run_events,
            last_run_error: state.last_run_error.clone(),
            last_run_losses: state.last_run_losses.clone(),
            lease_holder: live_lease.and(state.lease_owner.clone()),
            lease_until: live_lease.map(tributary_shared::record::rfc3339),
            events_landed_total: state.events_landed_total,
        }
    }
}

/// Reads every stream from the table.
pub async fn load(state: &StateStore, now: DateTime<Utc>) -> Result<Vec<StreamStatus>, StateError> {
    Ok(state
        .list()
        .await?
        .iter()
        .map(|s| StreamStatus::from_state(s, now))
        .collect())
}

/// `3d4h`, `2h05m`, `4m10s`, `12s`.
pub fn human_duration(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h}h"),
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

/// A fixed-width table, one line per stream, then the last error of any stream whose last run failed.
pub fn render(streams: &[StreamStatus]) -> String {
    if streams.is_empty() {
        return "no streams yet: nothing has run against this state table\n".to_owned();
    }
    let header = [
        "STREAM", "CURSOR", "LAG", "LAST RUN", "OUTCOME", "LEASE", "EVENTS",
    ];
    let rows: Vec<[String; 7]> = streams
        .iter()
        .map(|s| {
            [
                s.stream.clone(),
                shorten(s.cursor.as_deref().unwrap_or("-"), 38),
                s.lag_seconds
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
                s.last_run_finished_at.clone().unwrap_or_else(|| "-".into()),
                match (&s.last_run_outcome, s.last_run_events) {
                    (Some(outcome), Some(events)) => format!("{outcome} ({events})"),
                    (Some(outcome), None) => outcome.clone(),
                    _ => "-".into(),
                },
                s.lease_holder
                    .as_deref()
                    .map(|h| shorten(h, 40))
                    .unwrap_or_else(|| "free".into()),
                s.events_landed_total.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    for s in streams {
        if let Some(error) = &s.last_run_error {
            out.push_str(&format!("\n{}: last run failed: {error}\n", s.stream));
        }
        if let Some(losses) = &s.last_run_losses {
            out.push_str(&format!("\n{}: last run degraded: {losses}\n", s.stream));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lag_comes_from_the_newest_event_or_a_time_cursor_and_expired_leases_are_free() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let mut state = StreamState {
            stream: "easysend#security-logs".into(),
            cursor: Some("2026-11-23T11:00:00Z".into()),
            lease_owner: Some("run-1".into()),
            lease_until: Some(now - chrono::Duration::seconds(1)),
            ..StreamState::default()
        };
        let status = StreamStatus::from_state(&state, now);
        assert_eq!(status.lag_seconds, Some(3600));
        assert_eq!(status.lease_holder, None);
        state.newest_event_time = Some("2026-11-23T11:58:00.000Z".into());
        state.lease_until = Some(now + chrono::Duration::seconds(30));
        let status = StreamStatus::from_state(&state, now);
        assert_eq!(status.lag_seconds, Some(120));
        assert_eq!(status.lease_holder.as_deref(), Some("run-1"));
        // An opaque cursor (a Lookout event id) with no event time: lag unknown, not zero.
        let opaque = StreamState {
            stream: "lookout#events".into(),
            cursor: Some("0190ec04-a5f0-731e-bb68-a9b89d37669f".into()),
            ..StreamState::default()
        };
        assert_eq!(StreamStatus::from_state(&opaque, now).lag_seconds, None);
    }

    #[test]
    fn durations_read_like_an_operator_says_them() {
        assert_eq!(human_duration(12), "12s");
        assert_eq!(human_duration(250), "4m10s");
        assert_eq!(human_duration(7500), "2h05m");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600 + 59), "3d4h");
    }
}
