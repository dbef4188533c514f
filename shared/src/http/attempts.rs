//! What became of each attempt of one call. A caller whose request must not be repeated (a destructive read)
//! needs to know which attempts the server may have acted on without giving it an answer it could use; it reads
//! that here instead of inferring it from run-wide counters.

use std::time::Duration;

/// How a request may be repeated after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Repeating it does no harm (reads by cursor or window, token requests, setup calls that answer 409 when
    /// already done): retried after 429, 5xx and any transport error.
    Idempotent,
    /// It must not be repeated once the server may have acted on it (a destructive read): retried only when it
    /// provably was not acted on, i.e. the connection was never made (refused, DNS failure, connect timeout) or
    /// the server refused it with 429. A 5xx, a timeout or a connection broken after sending ends the call.
    AtMostOnce,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The server answered with this status (the body is the caller's to read).
    Status(u16),
    /// No connection was made: refused, name not resolved, connect timeout or TLS handshake failure.
    ConnectFailed,
    /// Sent, but no answer came in time (the request's timeout or the run's deadline).
    TimedOut,
    /// Sent, and the connection failed before the answer's head arrived.
    Broken,
}

impl AttemptOutcome {
    /// Whether the server may have acted on the request. Only a connection never made, or a 4xx (a client
    /// error: the server refused the request rather than performing it), rules that out.
    pub fn may_have_taken_effect(self) -> bool {
        match self {
            AttemptOutcome::ConnectFailed => false,
            AttemptOutcome::Status(status) => !(400..500).contains(&status),
            AttemptOutcome::TimedOut | AttemptOutcome::Broken => true,
        }
    }

    /// A 2xx: an answer the caller can use.
    pub fn is_success(self) -> bool {
        matches!(self, AttemptOutcome::Status(status) if (200..300).contains(&status))
    }
}

impl std::fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptOutcome::Status(status) => write!(f, "HTTP {status}"),
            AttemptOutcome::ConnectFailed => f.write_str("connection failed"),
            AttemptOutcome::TimedOut => f.write_str("timed out"),
            AttemptOutcome::Broken => f.write_str("connection broken"),
        }
    }
}

/// One attempt of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// From 1, in the order they were sent.
    pub number: u32,
    pub outcome: AttemptOutcome,
    /// See [`AttemptOutcome::may_have_taken_effect`].
    pub may_have_taken_effect: bool,
    /// How long the call waited (backoff or `Retry-After`) before sending this attempt.
    pub waited: Duration,
}

/// Every attempt of a call, returned with its result whether it succeeded or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempts(Vec<Attempt>);

impl Attempts {
    /// Records the next attempt.
    pub fn push(&mut self, outcome: AttemptOutcome, waited: Duration) {
        self.0.push(Attempt {
            number: self.0.len() as u32 + 1,
            outcome,
            may_have_taken_effect: outcome.may_have_taken_effect(),
            waited,
        });
    }

    /// Adds the attempts of a later round of the same call (e.g. after a token refresh), numbered on.
    pub fn append(&mut self, later: Attempts) {
        for attempt in later.0 {
            self.push(attempt.outcome, attempt.waited);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Attempt> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn last(&self) -> Option<&Attempt> {
        self.0.last()
    }

    /// Attempts the server may have acted on that gave no usable (2xx) answer: a 5xx, a timeout, a connection
    /// broken after sending. For a destructive read, each is a batch that may have been handed out and lost.
    pub fn possibly_applied_unanswered(&self) -> u64 {
        self.0
            .iter()
            .filter(|a| a.may_have_taken_effect && !a.outcome.is_success())
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptOutcome::*;

    #[test]
    fn only_unmade_connections_and_client_errors_rule_out_an_effect() {
        assert!(!ConnectFailed.may_have_taken_effect());
        assert!(!Status(429).may_have_taken_effect());
        assert!(!Status(401).may_have_taken_effect());
        assert!(Status(200).may_have_taken_effect());
        assert!(Status(503).may_have_taken_effect());
        assert!(TimedOut.may_have_taken_effect());
        assert!(Broken.may_have_taken_effect());
    }

    #[test]
    fn attempts_are_numbered_across_rounds_and_unanswered_effects_counted() {
        let mut first = Attempts::default();
        first.push(ConnectFailed, Duration::ZERO);
        first.push(Status(429), Duration::from_millis(5));
        first.push(Status(401), Duration::from_secs(1));
        let mut second = Attempts::default();
        second.push(Status(502), Duration::ZERO);
        first.append(second);
        let numbers: Vec<u32> = first.iter().map(|a| a.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        assert_eq!(first.possibly_applied_unanswered(), 1);
        assert_eq!(first.last().unwrap().outcome, Status(502));

        let mut answered = Attempts::default();
        answered.push(Status(429), Duration::ZERO);
        answered.push(Status(200), Duration::from_secs(1));
        assert_eq!(answered.possibly_applied_unanswered(), 0);
        assert_eq!(
            answered.iter().map(|a| a.waited).sum::<Duration>(),
            Duration::from_secs(1)
        );
    }
}
