//! Fault switches: the failures the real `get-security-logs` endpoint can show, one struct each.
//! Every switch applies to the next `times` requests (or to all of them when `times` is absent).

use serde::{Deserialize, Serialize};

/// Answer the next requests with this status instead of logs (400, 401, 408, 500, ...).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FailNext {
    pub status: u16,
    #[serde(default)]
    pub times: Option<u32>,
    /// Wait this long before answering, as a server that works before failing would.
    #[serde(default)]
    pub delay_ms: u64,
}

/// The vendor's 55-second limit: requests whose window is wider than `max_window_seconds`
/// (every request when absent) get 408 after `delay_ms`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RequestTimeout {
    #[serde(default)]
    pub max_window_seconds: Option<i64>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub times: Option<u32>,
}

/// How a truncated body ends.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TruncateMode {
    /// The connection breaks (the chunked body never completes).
    #[default]
    Abort,
    /// The body ends cleanly but the JSON is cut mid-page.
    Clean,
}

/// Stop the body after `after_logs` logs, in the middle of a page.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Truncate {
    pub after_logs: usize,
    #[serde(default)]
    pub mode: TruncateMode,
    #[serde(default)]
    pub times: Option<u32>,
}

/// Headers that disagree with the body: `Number-Of-Pages`/`Number-Of-Results` are shifted by
/// these amounts.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CountMismatch {
    #[serde(default)]
    pub pages_delta: i64,
    #[serde(default)]
    pub results_delta: i64,
    #[serde(default)]
    pub times: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Faults {
    pub fail_next: Option<FailNext>,
    pub timeout: Option<RequestTimeout>,
    pub truncate: Option<Truncate>,
    pub mismatch: Option<CountMismatch>,
    /// Added before every answer, to keep a run busy (e.g. to race two runs).
    pub latency_ms: u64,
}

/// Uses up one application of a switch; clears it when its count is spent.
pub(crate) fn take<T: Clone>(
    slot: &mut Option<T>,
    times: impl Fn(&mut T) -> &mut Option<u32>,
) -> Option<T> {
    let current = slot.as_mut()?;
    let snapshot = current.clone();
    match times(current) {
        None => {}
        Some(0) => {
            *slot = None;
            return None;
        }
        Some(1) => *slot = None,
        Some(n) => *n -= 1,
    }
    Some(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_applies_exactly_times_requests() {
        let mut slot = Some(FailNext {
            status: 500,
            times: Some(2),
            delay_ms: 0,
        });
        assert!(take(&mut slot, |f| &mut f.times).is_some());
        assert!(take(&mut slot, |f| &mut f.times).is_some());
        assert!(take(&mut slot, |f| &mut f.times).is_none());
    }

    #[test]
    fn a_switch_without_times_stays_on() {
        let mut slot = Some(FailNext {
            status: 401,
            times: None,
            delay_ms: 0,
        });
        for _ in 0..5 {
            assert!(take(&mut slot, |f| &mut f.times).is_some());
        }
    }
}
