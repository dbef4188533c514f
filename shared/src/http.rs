//! The outbound HTTP policy every vendor client uses: timeouts on every call, bounded retries with exponential
//! backoff and full jitter, `Retry-After` honoured, never sleeping past the deadline. Other statuses are returned
//! to the caller, who knows what a 401, 404, 408 or 409 means for its vendor.
//!
//! Two retry classes ([`RetryClass`]): an idempotent request is retried after 429, 5xx and transport errors; a
//! request that must not be repeated once the server may have acted on it (a destructive read) only after a
//! connection that was never made or a 429. Every attempt is reported to the caller ([`Attempts`]).

mod attempts;
mod retry_after;
#[cfg(test)]
mod send_tests;

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};

pub use attempts::{Attempt, AttemptOutcome, Attempts, RetryClass};
pub use retry_after::{read_retry_after, RetryAfter};

use crate::deadline::Deadline;
use crate::metrics::{names, RunMetrics};

#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` we are willing to wait before giving up on the call.
    pub max_retry_after: Duration,
    /// Timeout of one whole request, response body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl HttpPolicy {
    /// The policy from `TRIBUTARY_HTTP_*` variables, with the defaults above; problems go to `reader`.
    pub fn from_env(reader: &mut crate::config::Reader) -> Self {
        let d = HttpPolicy::default();
        let ms = |d: Duration| d.as_millis() as u64;
        HttpPolicy {
            max_attempts: reader.whole(
                "TRIBUTARY_HTTP_MAX_ATTEMPTS",
                d.max_attempts.into(),
                1..=100,
                "attempts",
                "tries per vendor call (429, 5xx and connection errors are retried)",
            ) as u32,
            base_backoff: reader.millis(
                "TRIBUTARY_HTTP_BACKOFF_MS",
                ms(d.base_backoff),
                "first retry delay (exponential, with jitter)",
            ),
            max_backoff: reader.millis(
                "TRIBUTARY_HTTP_MAX_BACKOFF_MS",
                ms(d.max_backoff),
                "longest retry delay",
            ),
            max_retry_after: reader.seconds(
                "TRIBUTARY_HTTP_MAX_RETRY_AFTER_SECONDS",
                d.max_retry_after.as_secs(),
                "the longest Retry-After honoured before the call gives up",
            ),
            request_timeout: reader.seconds(
                "TRIBUTARY_HTTP_TIMEOUT_SECONDS",
                d.request_timeout.as_secs(),
                "timeout of one whole request, body included",
            ),
            connect_timeout: reader.seconds(
                "TRIBUTARY_HTTP_CONNECT_TIMEOUT_SECONDS",
                d.connect_timeout.as_secs(),
                "connect timeout",
            ),
        }
    }

    /// A client with this policy's timeouts (rustls, gzip).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
            .timeout(self.request_timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .expect("a rustls client with timeouts always builds")
    }

    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_backoff
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_backoff);
        // Full jitter: spreads retries of many clients over the whole interval.
        Duration::from_millis(fastrand::u64(0..=ceiling.as_millis() as u64))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{what}: gave up after {attempts} attempts; last: {last}")]
    Exhausted {
        what: String,
        attempts: u32,
        last: String,
    },
    #[error("{what}: {last}; not retried because waiting {wait:?} would pass the deadline ({left:?} left)")]
    OutOfTime {
        what: String,
        last: String,
        wait: Duration,
        left: Duration,
    },
    #[error("{what}: {last}; not retried, since the server may have acted on it and it must not be repeated")]
    NotRepeatable { what: String, last: String },
}

/// Whether a status is worth retrying: throttling and server-side failures.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// How a transport error ended an attempt. A connect timeout is a connect failure: nothing was sent.
fn transport_outcome(error: &reqwest::Error) -> AttemptOutcome {
    if error.is_connect() {
        AttemptOutcome::ConnectFailed
    } else if error.is_timeout() {
        AttemptOutcome::TimedOut
    } else {
        AttemptOutcome::Broken
    }
}

/// Sends the request built by `build` (called again for each attempt), retrying idempotently per `policy`.
/// Returns the first response whose status is not retryable — success or not; the caller interprets it.
pub async fn send_with_retry(
    policy: &HttpPolicy,
    deadline: &Deadline,
    metrics: &RunMetrics,
    what: &str,
    build: impl FnMut() -> RequestBuilder,
) -> Result<Response, HttpError> {
    send(
        policy,
        deadline,
        metrics,
        what,
        RetryClass::Idempotent,
        build,
    )
    .await
    .0
}

/// Sends the request built by `build` (called again for each attempt), retrying as `class` allows, with backoff
/// and full jitter, honouring `Retry-After`, never waiting past the deadline. Returns the first response whose
/// status is not retryable, or why it gave up; and, either way, every attempt.
pub async fn send(
    policy: &HttpPolicy,
    deadline: &Deadline,
    metrics: &RunMetrics,
    what: &str,
    class: RetryClass,
    mut build: impl FnMut() -> RequestBuilder,
) -> (Result<Response, HttpError>, Attempts) {
    let mut attempts = Attempts::default();
    let mut waited = Duration::ZERO;
    loop {
        let attempt = attempts.len() as u32 + 1;
        metrics.count(names::REQUESTS, 1);
        // No attempt may wait for an answer past the deadline, whatever timeout its request carries.
        let sent = match tokio::time::timeout(deadline.remaining(), build().send()).await {
            Ok(sent) => sent,
            Err(_) => {
                attempts.push(AttemptOutcome::TimedOut, waited);
                let error = HttpError::OutOfTime {
                    what: what.to_owned(),
                    last: format!("no answer by the deadline (attempt {attempt})"),
                    wait: Duration::ZERO,
                    left: deadline.remaining(),
                };
                return (Err(error), attempts);
            }
        };
        let (outcome, last, hint) = match sent {
            Ok(response) => {
                let status = response.status();
                let outcome = AttemptOutcome::Status(status.as_u16());
                if !is_retryable_status(status) {
                    attempts.push(outcome, waited);
                    return (Ok(response), attempts);
                }
                if status == StatusCode::TOO_MANY_REQUESTS {
                    metrics.count(names::THROTTLES, 1);
                }
                let hint = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| read_retry_after(v, chrono::Utc::now(), policy.max_retry_after));
                (outcome, format!("HTTP {status}"), hint)
            }
            Err(error) => (
                transport_outcome(&error),
                format!("transport error: {}", crate::aws::error_text(&error)),
                None,
            ),
        };
        attempts.push(outcome, waited);
        if class == RetryClass::AtMostOnce && outcome.may_have_taken_effect() {
            let error = HttpError::NotRepeatable {
                what: what.to_owned(),
                last,
            };
            return (Err(error), attempts);
        }
        let wait = match hint {
            Some(RetryAfter::Wait(wait)) => wait,
            Some(RetryAfter::TooLong(asked)) => {
                let error = HttpError::Exhausted {
                    what: what.to_owned(),
                    attempts: attempt,
                    last: format!(
                        "{last} asking to retry after {asked:?} seconds or date, longer than the {:?} we wait",
                        policy.max_retry_after
                    ),
                };
                return (Err(error), attempts);
            }
            Some(RetryAfter::Unreadable) | None => policy.backoff(attempt - 1),
        };
        if attempt >= policy.max_attempts {
            let error = HttpError::Exhausted {
                what: what.to_owned(),
                attempts: attempt,
                last,
            };
            return (Err(error), attempts);
        }
        let left = deadline.remaining();
        if !deadline.allows(wait) {
            let error = HttpError::OutOfTime {
                what: what.to_owned(),
                last,
                wait,
                left,
            };
            return (Err(error), attempts);
        }
        metrics.count(names::RETRIES, 1);
        tracing::warn!(message = "Retrying request.", what, attempt, last = %last, wait_ms = wait.as_millis() as u64);
        tokio::time::sleep(wait).await;
        waited = wait;
    }
}

/// Reads an error body for a message, cut short and on one line (vendor error bodies are not trusted to be small).
pub async fn error_body(response: Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let mut text: String = text.chars().take(300).collect();
    text = text.replace(['\n', '\r'], " ");
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let policy = HttpPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
            ..HttpPolicy::default()
        };
        for retry in 0..20 {
            assert!(policy.backoff(retry) <= Duration::from_millis(250));
        }
        assert!(policy.backoff(0) <= Duration::from_millis(100));
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_client_errors_are_not() {
        assert!(is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!is_retryable_status(StatusCode::UNAUTHORIZED));
        assert!(!is_retryable_status(StatusCode::REQUEST_TIMEOUT));
        assert!(!is_retryable_status(StatusCode::CONFLICT));
    }
}
