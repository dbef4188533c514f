//! Knowing the Lambda deadline: every loop asks whether one more round fits before it starts one, so no run is
//! killed mid-write.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The time by which the invocation must have stopped, minus a safety margin for the final checkpoint,
/// metrics and the runtime's own reply.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    stop_at: Instant,
}

impl Deadline {
    /// From the Lambda context's deadline (milliseconds since the epoch) and a safety margin.
    pub fn from_epoch_millis(deadline_ms: u64, margin: Duration) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Deadline {
            stop_at: Instant::now() + left.saturating_sub(margin),
        }
    }

    /// `budget` from now (tests, local runs).
    pub fn after(budget: Duration) -> Self {
        Deadline {
            stop_at: Instant::now() + budget,
        }
    }

    /// Time left before we must have stopped.
    pub fn remaining(&self) -> Duration {
        self.stop_at.saturating_duration_since(Instant::now())
    }

    /// Whether work expected to take `estimate` still fits.
    pub fn allows(&self, estimate: Duration) -> bool {
        self.remaining() > estimate
    }

    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The earlier of this deadline and `budget` from now.
    pub fn cap(&self, budget: Duration) -> Self {
        Deadline {
            stop_at: self.stop_at.min(Instant::now() + budget),
        }
    }
}

/// A pessimistic estimate of how long one more round (fetch + land) takes: 1.5× the slowest of the last few
/// rounds, and at least `floor`, so one slow round makes the loop careful for a while.
#[derive(Debug, Clone)]
pub struct RoundTrips {
    recent: VecDeque<Duration>,
    floor: Duration,
}

impl RoundTrips {
    const KEEP: usize = 8;

    pub fn new(floor: Duration) -> Self {
        RoundTrips {
            recent: VecDeque::with_capacity(Self::KEEP),
            floor,
        }
    }

    pub fn observe(&mut self, took: Duration) {
        if self.recent.len() == Self::KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(took);
    }

    pub fn estimate(&self) -> Duration {
        let slowest = self.recent.iter().max().copied().unwrap_or_default();
        (slowest * 3 / 2).max(self.floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_has_nothing_left() {
        let d = Deadline::from_epoch_millis(1, Duration::from_secs(1));
        assert!(d.expired());
        assert!(!d.allows(Duration::from_millis(1)));
    }

    #[test]
    fn the_margin_is_taken_off() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = Deadline::from_epoch_millis(now_ms + 60_000, Duration::from_secs(10));
        assert!(d.remaining() <= Duration::from_secs(50));
        assert!(d.remaining() > Duration::from_secs(45));
    }

    #[test]
    fn estimates_follow_the_slowest_recent_round() {
        let mut r = RoundTrips::new(Duration::from_millis(100));
        assert_eq!(r.estimate(), Duration::from_millis(100));
        r.observe(Duration::from_secs(2));
        r.observe(Duration::from_millis(500));
        assert_eq!(r.estimate(), Duration::from_secs(3));
        for _ in 0..8 {
            r.observe(Duration::from_millis(200));
        }
        assert_eq!(r.estimate(), Duration::from_millis(300));
    }
}
