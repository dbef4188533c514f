//! How a run ended: one vocabulary for invocation results, `last_run_outcome` in state, logs and metrics, and
//! `tributary-ctl status`.

use serde::Serialize;

/// How a run of one stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The source had nothing more to give now (an empty batch, the last window, an idle stream).
    Drained,
    /// Stopped because another round might not have finished before the deadline; the next run continues.
    OutOfTime,
    /// Another run holds the stream's lease; this one did nothing.
    Busy,
    /// The lease was taken over mid-run; stopped after the last checkpoint, nothing more advanced.
    LostLease,
    /// Finished, but something was lost, possibly lost or skipped: the report's `losses` say what and how many.
    Degraded,
    /// An error ended the run; it is counted in `Errors` and the invocation fails.
    Failed,
}

impl Outcome {
    /// Every outcome, in the order above (tools and tests list them).
    pub const ALL: [Outcome; 6] = [
        Outcome::Drained,
        Outcome::OutOfTime,
        Outcome::Busy,
        Outcome::LostLease,
        Outcome::Degraded,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Drained => "drained",
            Outcome::OutOfTime => "out_of_time",
            Outcome::Busy => "busy",
            Outcome::LostLease => "lost_lease",
            Outcome::Degraded => "degraded",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether an operator should look at the stream (a health check fails on these).
    pub fn needs_attention(self) -> bool {
        matches!(self, Outcome::Degraded | Outcome::Failed)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a source's own work ended, when it ended without an error. The runner turns it into an [`Outcome`]
/// (`degraded` when losses were reported, `lost_lease` when the lease went).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Drained,
    OutOfTime,
}

/// Something lost, possibly lost or skipped in a run: what, and how many.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loss {
    /// What kind: `possibly_lost_batches`, `skipped_events`, `retention_gap_seconds`, …
    pub kind: &'static str,
    /// How many (of the unit the kind names).
    pub count: u64,
    /// In words, for the operator: where and why.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_names() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                serde_json::Value::from(outcome.as_str())
            );
        }
        assert_eq!(Outcome::parse("ok"), None);
    }
}
