//! `status`: every stream's state as the functions keep it in the state table, and whether an operator should
//! look at it (its last run failed or was degraded, or no run has finished for longer than its schedule allows).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tributary_shared::run::Outcome;
use tributary_shared::state::{StateError, StateStore, StreamState};

use crate::schedule::Schedules;

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
    /// Seconds since the last run finished.
    pub last_run_age_seconds: Option<i64>,
    /// One of drained, out_of_time, busy, lost_lease, degraded, failed.
    pub last_run_outcome: Option<String>,
    pub last_run_events: Option<u64>,
    pub last_run_error: Option<String>,
    /// What a `degraded` run lost, possibly lost or skipped.
    pub last_run_losses: Option<String>,
    /// Who holds the lease, if it has not expired.
    pub lease_holder: Option<String>,
    pub lease_until: Option<String>,
    pub events_landed_total: u64,
    /// After how long without a finished run the stream is overdue (`None`: not scheduled).
    pub overdue_after_seconds: Option<u64>,
    pub overdue: bool,
    /// Batches S3 refused that wait in the state table to land (Transmit keeps them; the next run lands them).
    pub pending_batches: usize,
    /// Why an operator should look: `failed`, `degraded`, `overdue`, `pending`; empty when the stream is healthy.
    pub attention: Vec<&'static str>,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl StreamStatus {
    pub fn from_state(
        state: &StreamState,
        now: DateTime<Utc>,
        schedules: &Schedules,
    ) -> StreamStatus {
        // The newest landed event says how current the data is; a time cursor (EasySend's window end) says
        // the same when the item has no event time yet.
        let reference = state
            .newest_event_time
            .as_deref()
            .and_then(parse_time)
            .or_else(|| state.cursor.as_deref().and_then(parse_time));
        let live_lease = state.lease_until.filter(|until| *until > now);
        let last_run = state
            .last_run_finished_at
            .as_deref()
            .or(state.last_run_started_at.as_deref())
            .and_then(parse_time);
        let overdue_after = schedules.overdue_after(&state.stream);
        // A run holding the lease is running, not overdue; a stream whose runs never finish is.
        let overdue = match (overdue_after, live_lease, last_run) {
            (None, _, _) | (Some(_), Some(_), _) => false,
            (Some(after), None, Some(at)) => (now - at).to_std().is_ok_and(|age| age > after),
            (Some(_), None, None) => true,
        };
        let mut attention = Vec::new();
        if let Some(outcome) = state.last_run_outcome.as_deref().and_then(Outcome::parse) {
            if outcome.needs_attention() {
                attention.push(outcome.as_str());
            }
        }
        if overdue {
            attention.push("overdue");
        }
        let pending_batches = state
            .meta
            .get(tributary_shared::parked::META_PARKED)
            .map(|ids| ids.split(',').filter(|id| !id.is_empty()).count())
            .unwrap_or(0);
        if pending_batches > 0 {
            attention.push("pending");
        }
        StreamStatus {
            stream: state.stream.clone(),
            cursor: state.cursor.clone(),
            lag_seconds: reference.map(|t| (now - t).num_seconds().max(0)),
            newest_event_time: state.newest_event_time.clone(),
            last_run_finished_at: state.last_run_finished_at.clone(),
            last_run_age_seconds: state
                .last_run_finished_at
                .as_deref()
                .and_then(parse_time)
                .map(|t| (now - t).num_seconds()),
            last_run_outcome: state.last_run_outcome.clone(),
            last_run_events: state.last_run_events,
            last_run_error: state.last_run_error.clone(),
            last_run_losses: state.last_run_losses.clone(),
            lease_holder: live_lease.and(state.lease_owner.clone()),
            lease_until: live_lease.map(tributary_shared::record::rfc3339),
            events_landed_total: state.events_landed_total,
            overdue_after_seconds: overdue_after.map(|d| d.as_secs()),
            overdue,
            pending_batches,
            attention,
        }
    }

    pub fn needs_attention(&self) -> bool {
        !self.attention.is_empty()
    }
}

/// Reads every stream from the table.
pub async fn load(
    state: &StateStore,
    now: DateTime<Utc>,
    schedules: &Schedules,
) -> Result<Vec<StreamStatus>, StateError> {
    Ok(state
        .list()
        .await?
        .iter()
        .map(|s| StreamStatus::from_state(s, now, schedules))
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
        let status = StreamStatus::from_state(&state, now, &Schedules::default());
        assert_eq!(status.lag_seconds, Some(3600));
        assert_eq!(status.lease_holder, None);
        state.newest_event_time = Some("2026-11-23T11:58:00.000Z".into());
        state.lease_until = Some(now + chrono::Duration::seconds(30));
        let status = StreamStatus::from_state(&state, now, &Schedules::default());
        assert_eq!(status.lag_seconds, Some(120));
        assert_eq!(status.lease_holder.as_deref(), Some("run-1"));
        // An opaque cursor (a Lookout event id) with no event time: lag unknown, not zero.
        let opaque = StreamState {
            stream: "lookout#events".into(),
            cursor: Some("0190ec04-a5f0-731e-bb68-a9b89d37669f".into()),
            ..StreamState::default()
        };
        assert_eq!(
            StreamStatus::from_state(&opaque, now, &Schedules::default()).lag_seconds,
            None
        );
    }

    fn finished(outcome: &str, minutes_ago: i64, now: DateTime<Utc>) -> StreamState {
        StreamState {
            stream: "transmit#cis".into(),
            last_run_finished_at: Some(tributary_shared::record::rfc3339(
                now - chrono::Duration::minutes(minutes_ago),
            )),
            last_run_outcome: Some(outcome.into()),
            ..StreamState::default()
        }
    }

    #[test]
    fn failed_degraded_and_overdue_streams_need_attention() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let every_5m = Schedules::default();
        let status = |state: &StreamState| StreamStatus::from_state(state, now, &every_5m);
        assert!(!status(&finished("drained", 3, now)).needs_attention());
        assert!(!status(&finished("out_of_time", 14, now)).needs_attention());
        assert_eq!(status(&finished("failed", 3, now)).attention, ["failed"]);
        assert_eq!(
            status(&finished("degraded", 3, now)).attention,
            ["degraded"]
        );
        // Two missed five-minute ticks plus one run's time: 15 minutes.
        let late = status(&finished("drained", 16, now));
        assert!(late.overdue);
        assert_eq!(late.attention, ["overdue"]);
        assert_eq!(
            status(&finished("failed", 60, now)).attention,
            ["failed", "overdue"]
        );
        // A stream that is not scheduled is never overdue; one with a live lease is running.
        let off = Schedules::parse("transmit#cis=off").unwrap();
        assert!(!StreamStatus::from_state(&finished("drained", 600, now), now, &off).overdue);
        let mut running = finished("drained", 60, now);
        running.lease_owner = Some("run-9".into());
        running.lease_until = Some(now + chrono::Duration::minutes(4));
        assert!(!status(&running).overdue);
    }

    #[test]
    fn durations_read_like_an_operator_says_them() {
        assert_eq!(human_duration(12), "12s");
        assert_eq!(human_duration(250), "4m10s");
        assert_eq!(human_duration(7500), "2h05m");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600 + 59), "3d4h");
    }
}
