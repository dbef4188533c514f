//! The Mosaic wire protocol: the client-credentials token and the Event Streaming calls. What to
//! call when, and what to do with the answers, is the caller's business.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use tributary_shared::deadline::Deadline;
use tributary_shared::http::{
    self, error_body, send_with_retry, Attempts, HttpError, HttpPolicy, RetryClass,
};
use tributary_shared::metrics::RunMetrics;
use tributary_shared::oauth::{AccessToken, TokenCache, TokenResponse};
use tributary_shared::secrets::Secret;

use crate::event_type::EventType;

/// Tokens are documented to live one hour; used when the answer has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh a token this long before it expires, so no call goes out with one about to lapse.
const REFRESH_BEFORE: Duration = Duration::from_secs(30);

/// The OIDC client of the Mosaic application, from Secrets Manager.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(
        "the token endpoint {url} refused the client credentials ({detail}); check client_id and \
         client_secret in the secret"
    )]
    Credentials { url: String, detail: String },
    #[error("the token endpoint {url} answered {detail}")]
    Token { url: String, detail: String },
    #[error(
        "{what} was refused with 401 even with a freshly issued token ({detail}); the application \
         may lack permission for activities"
    )]
    Unauthorized { what: String, detail: String },
    #[error("{what} answered {detail}")]
    Status {
        what: String,
        status: u16,
        detail: String,
    },
    #[error(
        "{what}: {last}; not retried, since Transmit may have handed out a batch with it: up to \
         {batch_size} events may be lost"
    )]
    PossiblyLost {
        what: String,
        last: String,
        batch_size: String,
    },
    #[error("Transmit has no {event_type} stream {stream_id:?} (404); it was deleted or collection was stopped")]
    StreamNotFound {
        event_type: EventType,
        stream_id: String,
    },
}

/// Whether a setup call changed something or found it already so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Done,
    AlreadySo,
}

/// A `collect` answer: the whole body, or what arrived before the connection broke. The vendor
/// has handed the batch out either way.
#[derive(Debug)]
pub enum Collected {
    Body(Vec<u8>),
    Cut { partial: Vec<u8>, error: String },
}

/// A `collect` call: what it got, and every attempt of the collect request (token requests are
/// not among them).
#[derive(Debug)]
pub struct CollectAnswer {
    pub outcome: Result<Collected, ClientError>,
    pub attempts: Attempts,
    what: String,
}

impl CollectAnswer {
    /// Attempts that may have reached Transmit and gave no usable answer (a 5xx, a timeout, a
    /// connection broken after sending): Transmit may have handed a batch out to each, and
    /// nothing can recover it. 429 and 401 refusals and connections never made are not counted.
    pub fn possibly_lost_batches(&self) -> u64 {
        self.attempts.possibly_applied_unanswered()
    }

    /// The collect request's attempts in words, for the report of a possible loss.
    pub fn attempts_text(&self) -> String {
        let outcomes: Vec<String> = self
            .attempts
            .iter()
            .map(|a| a.outcome.to_string())
            .collect();
        format!("{}: {}", self.what, outcomes.join(", "))
    }
}

/// What one call needs besides the client: the time left, where to count, and who we are.
pub struct Call<'a> {
    pub deadline: &'a Deadline,
    pub metrics: &'a RunMetrics,
    pub credentials: &'a Credentials,
}

/// Built once per process: the HTTP client and the token cache outlive invocations, so a warm
/// function reuses its token for the hour it is valid.
pub struct TransmitClient {
    http: reqwest::Client,
    policy: HttpPolicy,
    api_base: String,
    token_url: String,
    tokens: TokenCache,
}

impl TransmitClient {
    pub fn new(
        http: reqwest::Client,
        policy: HttpPolicy,
        api_base: impl Into<String>,
        token_url: impl Into<String>,
    ) -> TransmitClient {
        TransmitClient {
            http,
            policy,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            token_url: token_url.into(),
            tokens: TokenCache::new(REFRESH_BEFORE),
        }
    }

    /// The policy's request timeout, cut to the time left: a call that hangs must not carry the
    /// run past its deadline (the floor keeps a nearly spent deadline from failing every call).
    fn timeout(&self, call: &Call<'_>) -> Duration {
        self.policy
            .request_timeout
            .min(call.deadline.remaining())
            .max(Duration::from_millis(100))
    }

    /// Drops the cached token (e.g. after the credentials were rotated).
    pub async fn forget_token(&self) {
        self.tokens.invalidate().await;
    }

    async fn token(&self, call: &Call<'_>) -> Result<Secret, ClientError> {
        self.tokens
            .get(|| async {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", call.credentials.client_id.as_str()),
                    ("client_secret", call.credentials.client_secret.expose()),
                ];
                let response = send_with_retry(
                    &self.policy,
                    call.deadline,
                    call.metrics,
                    "Transmit token request",
                    || {
                        self.http
                            .post(&self.token_url)
                            .form(&form)
                            .timeout(self.timeout(call))
                    },
                )
                .await?;
                let status = response.status();
                if status.is_success() {
                    let token: TokenResponse =
                        response.json().await.map_err(|e| ClientError::Token {
                            url: self.token_url.clone(),
                            detail: format!("HTTP {status} with a body that is not a token: {e}"),
                        })?;
                    return Ok::<AccessToken, ClientError>(
                        token.into_token(DEFAULT_TOKEN_LIFETIME),
                    );
                }
                let detail = error_body(response).await;
                if matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED) {
                    Err(ClientError::Credentials {
                        url: self.token_url.clone(),
                        detail,
                    })
                } else {
                    Err(ClientError::Token {
                        url: self.token_url.clone(),
                        detail,
                    })
                }
            })
            .await
    }

    /// One idempotent activities call (setup, delete, stop).
    async fn send(
        &self,
        call: &Call<'_>,
        method: Method,
        operation: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Response, ClientError> {
        let retry = (RetryClass::Idempotent, self.timeout(call));
        self.send_as(call, method, operation, query, what, retry)
            .await
            .0
    }

    /// One activities call retried as `class` allows; a 401 drops the token and tries once more
    /// with a fresh one (a token can lapse or be revoked before its `expires_in`; a 401 is a
    /// refusal, so even a destructive read may be repeated after it). The attempts are those of
    /// the activities request alone, never the token requests. Each attempt times out after the
    /// given timeout.
    async fn send_as(
        &self,
        call: &Call<'_>,
        method: Method,
        operation: &str,
        query: &[(&str, &str)],
        what: &str,
        (class, timeout): (RetryClass, Duration),
    ) -> (Result<Response, ClientError>, Attempts) {
        let url = format!("{}/activities/{operation}", self.api_base);
        let mut attempts = Attempts::default();
        let mut refreshed = false;
        loop {
            let token = match self.token(call).await {
                Ok(token) => token,
                Err(error) => return (Err(error), attempts),
            };
            let (sent, these) = http::send(
                &self.policy,
                call.deadline,
                call.metrics,
                what,
                class,
                || {
                    self.http
                        .request(method.clone(), &url)
                        .query(query)
                        .bearer_auth(token.expose())
                        .timeout(timeout)
                },
            )
            .await;
            attempts.append(these);
            let response = match sent {
                Ok(response) => response,
                Err(error) => return (Err(error.into()), attempts),
            };
            if response.status() != StatusCode::UNAUTHORIZED {
                return (Ok(response), attempts);
            }
            self.tokens.invalidate().await;
            if refreshed {
                let error = ClientError::Unauthorized {
                    what: what.to_owned(),
                    detail: error_body(response).await,
                };
                return (Err(error), attempts);
            }
            tracing::warn!(
                message = "Token refused; fetching a fresh one and retrying once.",
                what
            );
            refreshed = true;
        }
    }

    async fn unexpected(what: String, response: Response) -> ClientError {
        let status = response.status().as_u16();
        ClientError::Status {
            what,
            status,
            detail: error_body(response).await,
        }
    }

    /// `PUT /activities/start-collect?type=`; 409 means collection is already on.
    pub async fn start_collect(&self, call: &Call<'_>, t: EventType) -> Result<Setup, ClientError> {
        let what = format!("Transmit start-collect {t}");
        let response = self
            .send(
                call,
                Method::PUT,
                "start-collect",
                &[("type", t.as_str())],
                &what,
            )
            .await?;
        match response.status() {
            s if s.is_success() => Ok(Setup::Done),
            StatusCode::CONFLICT => Ok(Setup::AlreadySo),
            _ => Err(Self::unexpected(what, response).await),
        }
    }

    /// `PUT /activities/stream?type=&stream_id=[&retention=][&enrichment=true]`; a 409 means the
    /// stream exists.
    pub async fn create_stream(
        &self,
        call: &Call<'_>,
        t: EventType,
        stream_id: &str,
        retention_days: Option<u32>,
        enrichment: bool,
    ) -> Result<Setup, ClientError> {
        let what = format!("Transmit create stream {t}/{stream_id}");
        let retention = retention_days.map(|d| d.to_string());
        let mut query = vec![("type", t.as_str()), ("stream_id", stream_id)];
        if let Some(days) = retention.as_deref() {
            query.push(("retention", days));
        }
        if enrichment {
            query.push(("enrichment", "true"));
        }
        let response = self
            .send(call, Method::PUT, "stream", &query, &what)
            .await?;
        match response.status() {
            s if s.is_success() => Ok(Setup::Done),
            StatusCode::CONFLICT => Ok(Setup::AlreadySo),
            _ => Err(Self::unexpected(what, response).await),
        }
    }

    /// `POST /activities/collect?type=&stream_id=&batch_size=`: the next batch, which the vendor
    /// forgets as it hands it out. So it is retried only when Transmit provably did not act on it
    /// (no connection made, 429, 401); the answer carries its attempts either way.
    /// `timeout` bounds the one request (cut to the time left): a timed-out collect may have cost a batch, so
    /// it is longer than the common HTTP timeout.
    pub async fn collect(
        &self,
        call: &Call<'_>,
        t: EventType,
        stream_id: &str,
        batch_size: u32,
        timeout: Duration,
    ) -> CollectAnswer {
        let what = format!("Transmit collect {t}/{stream_id}");
        let batch_size = batch_size.to_string();
        let query = [
            ("type", t.as_str()),
            ("stream_id", stream_id),
            ("batch_size", batch_size.as_str()),
        ];
        let (sent, attempts) = self
            .send_as(
                call,
                Method::POST,
                "collect",
                &query,
                &what,
                (
                    RetryClass::AtMostOnce,
                    timeout
                        .min(call.deadline.remaining())
                        .max(Duration::from_millis(100)),
                ),
            )
            .await;
        let outcome = match sent {
            Ok(response) => Self::read_batch(response, what.clone(), t, stream_id).await,
            Err(ClientError::Http(HttpError::NotRepeatable { last, .. })) => {
                Err(ClientError::PossiblyLost {
                    what: what.clone(),
                    last,
                    batch_size,
                })
            }
            Err(error) => Err(error),
        };
        CollectAnswer {
            outcome,
            attempts,
            what,
        }
    }

    async fn read_batch(
        mut response: Response,
        what: String,
        t: EventType,
        stream_id: &str,
    ) -> Result<Collected, ClientError> {
        match response.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => {
                return Err(ClientError::StreamNotFound {
                    event_type: t,
                    stream_id: stream_id.to_owned(),
                })
            }
            _ => return Err(Self::unexpected(what, response).await),
        }
        let mut body =
            Vec::with_capacity(response.content_length().unwrap_or(0).min(8 << 20) as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => return Ok(Collected::Body(body)),
                Err(error) => {
                    return Ok(Collected::Cut {
                        partial: body,
                        error: tributary_shared::aws::error_text(&error),
                    })
                }
            }
        }
    }

    /// `DELETE /activities/stream?type=&stream_id=`; a 404 means it was already gone.
    pub async fn delete_stream(
        &self,
        call: &Call<'_>,
        t: EventType,
        stream_id: &str,
    ) -> Result<Setup, ClientError> {
        let what = format!("Transmit delete stream {t}/{stream_id}");
        let query = [("type", t.as_str()), ("stream_id", stream_id)];
        let response = self
            .send(call, Method::DELETE, "stream", &query, &what)
            .await?;
        match response.status() {
            s if s.is_success() => Ok(Setup::Done),
            StatusCode::NOT_FOUND => Ok(Setup::AlreadySo),
            _ => Err(Self::unexpected(what, response).await),
        }
    }

    /// `DELETE /activities/stop-collect?type=`: stops collection and deletes every stream of the
    /// type, with whatever they had not handed out.
    pub async fn stop_collect(&self, call: &Call<'_>, t: EventType) -> Result<Setup, ClientError> {
        let what = format!("Transmit stop-collect {t}");
        let response = self
            .send(
                call,
                Method::DELETE,
                "stop-collect",
                &[("type", t.as_str())],
                &what,
            )
            .await?;
        match response.status() {
            s if s.is_success() => Ok(Setup::Done),
            StatusCode::NOT_FOUND => Ok(Setup::AlreadySo),
            _ => Err(Self::unexpected(what, response).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tributary_shared::http::AttemptOutcome;

    fn answer(
        outcomes: &[AttemptOutcome],
        outcome: Result<Collected, ClientError>,
    ) -> CollectAnswer {
        let mut attempts = Attempts::default();
        for o in outcomes {
            attempts.push(*o, Duration::ZERO);
        }
        CollectAnswer {
            outcome,
            attempts,
            what: "Transmit collect cis/s".to_owned(),
        }
    }

    #[test]
    fn only_attempts_transmit_may_have_acted_on_count_as_possibly_lost() {
        use AttemptOutcome::*;
        let refused_then_answered = answer(
            &[ConnectFailed, Status(429), Status(401), Status(200)],
            Ok(Collected::Body(b"[]".to_vec())),
        );
        assert_eq!(refused_then_answered.possibly_lost_batches(), 0);
        let failed = answer(
            &[Status(429), Status(503)],
            Err(ClientError::PossiblyLost {
                what: "w".into(),
                last: "HTTP 503".into(),
                batch_size: "500".into(),
            }),
        );
        assert_eq!(failed.possibly_lost_batches(), 1);
        assert_eq!(
            answer(&[TimedOut], Ok(Collected::Body(vec![]))).possibly_lost_batches(),
            1
        );
    }
}
