//! The Mobile Risk API v2 wire protocol: the OAuth token exchange and opening the event stream.
//! What to do with the stream is the session's business.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::StatusCode;
use tributary_shared::deadline::Deadline;
use tributary_shared::http::{error_body, send_with_retry, HttpError, HttpPolicy};
use tributary_shared::metrics::RunMetrics;
use tributary_shared::oauth::{AccessToken, TokenCache, TokenResponse};
use tributary_shared::secrets::{Secret, SecretError, SecretsCache};

use crate::config::LookoutConfig;

/// Used when the token response carries neither `expires_in` nor `expires_at` (Lookout's
/// tokens live about two hours; assume less).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("Lookout rejected the application key from secret {secret_id} ({detail}); generate a new key in the console and store it in the secret")]
    BadApplicationKey { secret_id: String, detail: String },
    #[error("Lookout's token endpoint answered {detail}")]
    Token { detail: String },
    #[error("Lookout answered 401 to the stream request: {detail}")]
    Unauthorized { detail: String },
    #[error("Lookout refused the stream request {url}: {detail}")]
    Refused { url: String, detail: String },
    #[error("opening the stream at {url} took longer than {timeout:?}")]
    ConnectTimeout { url: String, timeout: Duration },
}

/// Where a connection starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// After this event id (the last landed one).
    After(String),
    /// The very first connection: events since this time.
    Since(DateTime<Utc>),
}

pub struct LookoutClient {
    base_url: String,
    secret_id: String,
    types: String,
    resume_param: String,
    policy: HttpPolicy,
    /// Calls that end: the token request, with the policy's whole-request timeout.
    http: reqwest::Client,
    /// The stream: no whole-request timeout (the session watches for silence instead).
    streaming: reqwest::Client,
    secrets: Arc<SecretsCache>,
    tokens: TokenCache,
}

impl LookoutClient {
    pub fn new(
        config: &LookoutConfig,
        policy: HttpPolicy,
        http: reqwest::Client,
        secrets: Arc<SecretsCache>,
    ) -> Self {
        let streaming = reqwest::Client::builder()
            .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(policy.connect_timeout)
            .build()
            .expect("a rustls client without a total timeout always builds");
        LookoutClient {
            base_url: config.base_url.clone(),
            secret_id: config.secret_id.clone(),
            types: config.types.join(","),
            resume_param: config.resume_param.clone(),
            policy,
            http,
            streaming,
            secrets,
            tokens: TokenCache::new(config.token_refresh_before),
        }
    }

    /// A valid access token: the cached one unless it is about to expire.
    pub async fn token(
        &self,
        deadline: &Deadline,
        metrics: &RunMetrics,
    ) -> Result<Secret, ClientError> {
        self.tokens
            .get(|| self.fetch_token(deadline, metrics))
            .await
    }

    /// Forgets the cached token after the stream answered 401 with it.
    pub async fn invalidate_token(&self) {
        self.tokens.invalidate().await;
    }

    async fn fetch_token(
        &self,
        deadline: &Deadline,
        metrics: &RunMetrics,
    ) -> Result<AccessToken, ClientError> {
        match self.request_token(deadline, metrics).await {
            // The key may have been rotated since it was cached: read the secret again once.
            Err(ClientError::BadApplicationKey { .. }) => {
                self.secrets.forget(&self.secret_id).await;
                self.request_token(deadline, metrics).await
            }
            other => other,
        }
    }

    async fn request_token(
        &self,
        deadline: &Deadline,
        metrics: &RunMetrics,
    ) -> Result<AccessToken, ClientError> {
        let key = application_key(&*self.secrets.get(&self.secret_id).await?)?;
        let url = format!("{}/oauth2/token", self.base_url);
        let response = send_with_retry(
            &self.policy,
            deadline,
            metrics,
            "Lookout token request",
            || {
                self.http
                    .post(&url)
                    .header(AUTHORIZATION, format!("Bearer {}", key.expose()))
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(ACCEPT, "application/json")
                    .body("grant_type=client_credentials")
            },
        )
        .await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ClientError::BadApplicationKey {
                secret_id: self.secret_id.clone(),
                detail: error_body(response).await,
            });
        }
        if !status.is_success() {
            return Err(ClientError::Token {
                detail: error_body(response).await,
            });
        }
        let body: TokenResponse = response.json().await.map_err(|e| ClientError::Token {
            detail: format!("HTTP {status} with a body that is not a token response: {e}"),
        })?;
        Ok(body.into_token(DEFAULT_TOKEN_LIFETIME))
    }

    /// The stream URL for a connection starting at `resume`.
    pub fn stream_url(&self, resume: &Resume) -> String {
        let mut url = format!(
            "{}/mra/stream/v2/events?types={}",
            self.base_url,
            encode(&self.types)
        );
        match resume {
            Resume::After(id) => {
                url.push_str(&format!("&{}={}", encode(&self.resume_param), encode(id)));
            }
            Resume::Since(at) => {
                url.push_str("&start_time=");
                url.push_str(&encode(&at.to_rfc3339_opts(SecondsFormat::Secs, true)));
            }
        }
        url
    }

    /// Opens the stream. 429/5xx and transport errors are retried per the HTTP policy; a 401 is
    /// returned as [`ClientError::Unauthorized`] for the caller to refresh the token once.
    pub async fn connect(
        &self,
        resume: &Resume,
        token: &Secret,
        deadline: &Deadline,
        metrics: &RunMetrics,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.stream_url(resume);
        let last_event_id = match resume {
            Resume::After(id) => Some(id.as_str()),
            Resume::Since(_) => None,
        };
        // The whole-request timeout cannot apply to a stream, so only the wait for the response
        // head is bounded.
        let timeout = self.policy.request_timeout.min(deadline.remaining());
        let send = send_with_retry(
            &self.policy,
            deadline,
            metrics,
            "Lookout stream request",
            || {
                let request = self
                    .streaming
                    .get(&url)
                    .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
                    .header(ACCEPT, "text/event-stream")
                    .header(CACHE_CONTROL, "no-cache");
                match last_event_id {
                    Some(id) => request.header("Last-Event-ID", id),
                    None => request,
                }
            },
        );
        let response = tokio::time::timeout(timeout * self.policy.max_attempts, send)
            .await
            .map_err(|_| ClientError::ConnectTimeout {
                url: url.clone(),
                timeout: timeout * self.policy.max_attempts,
            })??;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::Unauthorized {
                detail: error_body(response).await,
            });
        }
        if !status.is_success() {
            return Err(ClientError::Refused {
                url,
                detail: error_body(response).await,
            });
        }
        Ok(response)
    }
}

/// The application key in the secret: plain text, or a JSON object's `application_key`
/// (`app_key` and `api_key` are accepted too).
fn application_key(value: &tributary_shared::secrets::SecretValue) -> Result<Secret, SecretError> {
    let whole = value.whole();
    if !whole.expose().trim_start().starts_with('{') {
        return Ok(Secret::new(whole.expose().trim()));
    }
    value
        .field("application_key")
        .or_else(|_| value.field("app_key"))
        .or_else(|_| value.field("api_key"))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_shared::secrets::SecretValue;

    #[test]
    fn application_keys_come_from_plain_or_json_secrets() {
        assert_eq!(
            application_key(&SecretValue::new("s", " k1\n"))
                .unwrap()
                .expose(),
            "k1"
        );
        assert_eq!(
            application_key(&SecretValue::new("s", r#"{"application_key":"k2"}"#))
                .unwrap()
                .expose(),
            "k2"
        );
        assert!(application_key(&SecretValue::new("s", r#"{"other":"k"}"#)).is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("THREAT,DEVICE"), "THREAT%2CDEVICE");
        assert_eq!(encode("2025-05-05T08:00:00Z"), "2025-05-05T08%3A00%3A00Z");
    }
}
