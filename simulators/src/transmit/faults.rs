//! Fault switches: the misbehaviour a real Mosaic tenant (or the network in front of it) shows.
//!
//! Each switch is a countdown, so a test can say "the next 3 collects are throttled" and then
//! expect the client to get through. The same structure is accepted as JSON on
//! `POST /_sim/faults`; fields left out keep their current setting.

use serde::{Deserialize, Serialize};

/// Which calls a switch applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// `POST …/activities/collect` only.
    #[default]
    Collect,
    /// The activities endpoints (start-collect, stream, collect, delete, stop-collect).
    Api,
    /// `POST /oidc/token` only.
    Token,
    /// Every vendor endpoint.
    Any,
}

/// Endpoints, as the switches see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    Setup,
    Collect,
}

impl Target {
    pub(crate) fn matches(self, endpoint: Endpoint) -> bool {
        match self {
            Target::Any => true,
            Target::Api => endpoint != Endpoint::Token,
            Target::Collect => endpoint == Endpoint::Collect,
            Target::Token => endpoint == Endpoint::Token,
        }
    }
}

/// Answer 429 with `Retry-After` to the next `count` matching calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    pub count: u32,
    /// The `Retry-After` header, verbatim: delay-seconds (`"1"`) or an HTTP date. `None` sends
    /// no header, as the vendor's edge may.
    #[serde(default = "default_retry_after")]
    pub retry_after: Option<String>,
    #[serde(default)]
    pub target: Target,
}

fn default_retry_after() -> Option<String> {
    Some("1".to_owned())
}

/// Answer `status` (a 5xx) to the next `count` matching calls, before doing anything, so no
/// event is consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerErrors {
    pub count: u32,
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub target: Target,
}

fn default_status() -> u16 {
    503
}

/// Hold matching calls for `delay_ms` before handling them (`count` of them, or all when
/// `count` is absent). A client that gives up meanwhile consumes nothing: the request is
/// dropped before the simulator reads the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slow {
    #[serde(default)]
    pub count: Option<u32>,
    pub delay_ms: u64,
    #[serde(default)]
    pub target: Target,
}

/// The switch set. `None` means "off".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_errors: Option<ServerErrors>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<Slow>,
    /// After this many more authorized API calls every token issued so far stops being
    /// accepted (401), although it has not reached its `expires_in`: a token that expires
    /// mid-run from the client's point of view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_tokens_after: Option<u32>,
    /// The next `n` collects answer 200 with a body that is not valid JSON (the batch's text cut
    /// in half). The batch is consumed, as it would be if a proxy mangled the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_bodies: Option<u32>,
    /// The next `n` collects send half the body and then drop the connection. The batch is
    /// consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_bodies: Option<u32>,
}

impl Faults {
    /// Lays `other`'s switches over these: what `other` sets replaces, what it leaves out stays.
    pub fn merge(&mut self, other: Faults) {
        let Faults {
            throttle,
            server_errors,
            slow,
            revoke_tokens_after,
            malformed_bodies,
            truncated_bodies,
        } = other;
        if throttle.is_some() {
            self.throttle = throttle;
        }
        if server_errors.is_some() {
            self.server_errors = server_errors;
        }
        if slow.is_some() {
            self.slow = slow;
        }
        if revoke_tokens_after.is_some() {
            self.revoke_tokens_after = revoke_tokens_after;
        }
        if malformed_bodies.is_some() {
            self.malformed_bodies = malformed_bodies;
        }
        if truncated_bodies.is_some() {
            self.truncated_bodies = truncated_bodies;
        }
    }

    /// The delay to apply to this call, consuming one use.
    pub(crate) fn take_delay(&mut self, endpoint: Endpoint) -> Option<u64> {
        let slow = self.slow.as_mut().filter(|s| s.target.matches(endpoint))?;
        let delay = slow.delay_ms;
        if let Some(count) = slow.count.as_mut() {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.slow = None;
            }
        }
        Some(delay)
    }

    /// A throttle answer for this call (its `Retry-After`), consuming one use.
    pub(crate) fn take_throttle(&mut self, endpoint: Endpoint) -> Option<Option<String>> {
        let throttle = self
            .throttle
            .as_mut()
            .filter(|t| t.target.matches(endpoint) && t.count > 0)?;
        throttle.count -= 1;
        let retry_after = throttle.retry_after.clone();
        if throttle.count == 0 {
            self.throttle = None;
        }
        Some(retry_after)
    }

    pub(crate) fn take_server_error(&mut self, endpoint: Endpoint) -> Option<u16> {
        let errors = self
            .server_errors
            .as_mut()
            .filter(|e| e.target.matches(endpoint) && e.count > 0)?;
        errors.count -= 1;
        let status = errors.status;
        if errors.count == 0 {
            self.server_errors = None;
        }
        Some(status)
    }

    /// True when this authorized call is the one at which tokens stop being accepted.
    pub(crate) fn take_revocation(&mut self) -> bool {
        match self.revoke_tokens_after.as_mut() {
            Some(0) => {
                self.revoke_tokens_after = None;
                true
            }
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        }
    }

    pub(crate) fn take_malformed_body(&mut self) -> bool {
        take_count(&mut self.malformed_bodies)
    }

    pub(crate) fn take_truncated_body(&mut self) -> bool {
        take_count(&mut self.truncated_bodies)
    }
}

fn take_count(slot: &mut Option<u32>) -> bool {
    match slot {
        Some(n) if *n > 0 => {
            *n -= 1;
            if *n == 0 {
                *slot = None;
            }
            true
        }
        _ => {
            *slot = None;
            false
        }
    }
}
