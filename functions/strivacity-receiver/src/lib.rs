//! Strivacity event streaming receiver: a Splunk HTTP Event Collector and an Elasticsearch `_bulk` endpoint in
//! one axum router, so a Strivacity admin can pick either integration and point it at our URL unchanged.
//!
//! Every request is handled whole: authenticate, read and inflate the body within the limits, parse every
//! event, map every event, land everything in S3, and only then answer 2xx. Anything wrong before the write is
//! the protocol's own error and nothing is written; a failed write is the protocol's retryable error (HEC code 9
//! / HTTP 503, `_bulk` 503 or 429) and nothing is acknowledged. Object keys come from the events' ids, so a
//! retried request rewrites the same objects.
//!
//! The router runs in Lambda behind a Function URL (`main.rs`) and on a plain TCP listener
//! (`bin/standalone.rs`): one implementation, two hosts.
//!
//! Rooms: `hec.rs` and `bulk.rs` are the two wire protocols (pure, no I/O); `hec_routes.rs` and
//! `bulk_routes.rs` their endpoints; `ingest.rs` what both do around parsing (body limits, request digest,
//! outcome logs and metrics); `auth.rs` credentials; `body.rs` size limits and gzip; `mapping.rs` Strivacity
//! event to ECS record; `classify.rs` account or audit; `config.rs` the `TRIBUTARY_*` settings.

pub mod auth;
pub mod body;
pub mod bulk;
mod bulk_routes;
pub mod classify;
pub mod config;
pub mod hec;
mod hec_routes;
pub mod host;
mod ingest;
pub mod mapping;
mod progress;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde_json::Value;
use tributary_shared::landing::{LandError, LandReport, Lander, ObjectNaming};
use tributary_shared::record::{Record, Unparsed};
use tributary_shared::secrets::{SecretError, SecretsCache};

use crate::auth::Credentials;
use crate::bulk::{EsError, MediaType};
use crate::bulk_routes::{es_bulk, es_bulk_index, es_error, es_info};
use crate::config::ReceiverConfig;
use crate::hec::{AckIds, HecCode, HecReply};
use crate::hec_routes::{hec_ack, hec_event, hec_health, hec_raw, hec_response};
use crate::mapping::VENDOR;

/// The collector name stamped into every record and metric.
pub const FUNCTION: &str = "strivacity-receiver";

/// The start of every object id: `push-<digest of the request>-<digest of the event ids>`.
pub const OBJECT_TAG: &str = "push";

/// Metric names of the receiver, next to the shared ones.
pub mod metric_names {
    /// Requests refused before anything was written (auth, limits, bad data).
    pub const REJECTED: &str = "RequestsRejected";
    /// Requests whose write to S3 failed or timed out (answered with the retryable error).
    pub const STORAGE_FAILURES: &str = "StorageFailures";
    /// Requests refused for missing or wrong credentials.
    pub const AUTH_FAILURES: &str = "AuthFailures";
    /// Requests answered as retryable because the credentials secret could not be read.
    pub const SECRETS_FAILURES: &str = "SecretsFailures";
    /// Events whose own time could not be true (before 2000, more than a day ahead), filed by their arrival.
    pub const IMPLAUSIBLE_TIMES: &str = "ImplausibleTimes";

    use tributary_shared::metrics::{names, Unit};

    /// Emitted on every request, zeros included, so an alarm never reads "missing data" as healthy.
    pub const ALL: &[(&str, Unit)] = &[
        (names::REQUESTS, Unit::Count),
        (names::EVENTS_LANDED, Unit::Count),
        (names::BYTES_LANDED, Unit::Bytes),
        (names::OBJECTS_LANDED, Unit::Count),
        (names::UNPARSED, Unit::Count),
        (names::ERRORS, Unit::Count),
        (REJECTED, Unit::Count),
        (STORAGE_FAILURES, Unit::Count),
        (AUTH_FAILURES, Unit::Count),
        (SECRETS_FAILURES, Unit::Count),
        (IMPLAUSIBLE_TIMES, Unit::Count),
    ];
}

/// Where the accepted credentials come from.
pub enum CredentialSource {
    /// Secrets Manager, through the shared cache (rotation is picked up after its TTL).
    Secrets {
        cache: Arc<SecretsCache>,
        ids: Vec<String>,
        /// The credentials parsed from the secret values last read, reused until the cache hands out new values
        /// (after its TTL), so a request costs no parsing and no hashing of the configured credentials.
        parsed: std::sync::Mutex<Option<ParsedCredentials>>,
    },
    /// Fixed credentials (benchmarks and tests that do not exercise Secrets Manager).
    Fixed(Arc<Credentials>),
}

/// Credentials parsed from these secret values.
pub struct ParsedCredentials {
    values: Vec<Arc<tributary_shared::secrets::SecretValue>>,
    credentials: Arc<Credentials>,
}

/// Credentials as loaded for one request, and whether some secret could not be read (then a rejected
/// credential may be a valid one we could not see, so the answer must be retryable, not "forbidden").
struct LoadedCredentials {
    credentials: Arc<Credentials>,
    incomplete: bool,
}

/// Everything a request needs, built once per process.
pub struct Receiver {
    config: ReceiverConfig,
    lander: Lander,
    credentials: CredentialSource,
    ack_ids: AckIds,
    landed_chunks: progress::LandedChunks,
    /// Whether the last write to storage failed (for `/health`).
    storage_failed: std::sync::atomic::AtomicBool,
}

impl Receiver {
    pub fn new(config: ReceiverConfig, lander: Lander, credentials: CredentialSource) -> Self {
        Receiver {
            config,
            lander,
            credentials,
            ack_ids: AckIds::default(),
            landed_chunks: progress::LandedChunks::default(),
            storage_failed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// From the environment: `TRIBUTARY_*` settings and the standard AWS configuration chain.
    pub async fn from_env() -> Result<Self, tributary_shared::config::ConfigError> {
        let config = ReceiverConfig::from_env()?;
        let sdk = tributary_shared::aws::load().await;
        Ok(Receiver::from_clients(
            config,
            tributary_shared::aws::s3_client(&sdk),
            tributary_shared::aws::secrets_client(&sdk),
        ))
    }

    /// With S3 and Secrets Manager clients built elsewhere (tests, benchmarks).
    pub fn from_clients(
        config: ReceiverConfig,
        s3: aws_sdk_s3::Client,
        secrets: aws_sdk_secretsmanager::Client,
    ) -> Self {
        let lander = Lander::new(
            s3,
            config.bucket.clone(),
            config.prefix.clone(),
            FUNCTION,
            config.gzip_level,
        )
        .with_shape(config.record_shape)
        .with_concurrency(config.upload_concurrency);
        let credentials = CredentialSource::Secrets {
            cache: Arc::new(SecretsCache::new(secrets, config.secrets_ttl)),
            ids: config.secret_ids.clone(),
            parsed: std::sync::Mutex::new(None),
        };
        Receiver::new(config, lander, credentials)
    }

    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    pub fn lander(&self) -> &Lander {
        &self.lander
    }

    async fn credentials(&self) -> Result<LoadedCredentials, SecretError> {
        match &self.credentials {
            CredentialSource::Fixed(credentials) => Ok(LoadedCredentials {
                credentials: credentials.clone(),
                incomplete: false,
            }),
            CredentialSource::Secrets { cache, ids, parsed } => {
                let mut values = Vec::with_capacity(ids.len());
                let mut last_error = None;
                for id in ids {
                    match cache.get(id).await {
                        Ok(value) => values.push(value),
                        Err(error) => {
                            tracing::error!(message = "Could not read a credentials secret.", error = %error);
                            last_error = Some(error);
                        }
                    }
                }
                if values.is_empty() {
                    if let Some(error) = last_error {
                        return Err(error);
                    }
                }
                let mut parsed = parsed.lock().unwrap_or_else(|e| e.into_inner());
                let same = parsed.as_ref().is_some_and(|p| {
                    p.values.len() == values.len()
                        && p.values.iter().zip(&values).all(|(a, b)| Arc::ptr_eq(a, b))
                });
                if !same {
                    let credentials = Credentials::from_secrets(values.iter().map(|v| v.as_ref()));
                    if credentials.is_empty() {
                        tracing::error!(
                            message = "No HEC token, API key or Basic user is configured; every request is refused.",
                            secrets = ids.len()
                        );
                    }
                    *parsed = Some(ParsedCredentials {
                        values,
                        credentials: Arc::new(credentials),
                    });
                }
                let credentials = parsed
                    .as_ref()
                    .map(|p| p.credentials.clone())
                    .expect("parsed above");
                Ok(LoadedCredentials {
                    credentials,
                    incomplete: last_error.is_some(),
                })
            }
        }
    }

    /// How long the write to S3 may take: the configured timeout, or less when the Lambda deadline is nearer.
    fn land_budget(&self, context: Option<&lambda_http::Context>) -> Duration {
        let mut budget = self.config.land_timeout;
        if let Some(context) = context.filter(|c| c.deadline > 0) {
            let deadline = tributary_shared::runtime::deadline(context, self.config.safety_margin);
            budget = budget.min(deadline.remaining());
        }
        budget
    }

    /// Lands the records; a failure or a timeout is a storage failure, answered as retryable.
    ///
    /// Objects are named by the request's content (`request_id`, a digest of its decoded body) and the ids of
    /// the events in them: two requests share a key only if they carried the same bytes, and a retry of a
    /// request finds the objects an earlier attempt wrote and leaves them, so it only writes what is missing
    /// and gets further than the attempt before it however many hours the request spans. Unparsed items are
    /// filed by the hour they are written in, so those an attempt in the hour before landed are left out
    /// ([`tributary_shared::landing::LandedUnparsed`]).
    async fn land(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        request_id: &str,
        budget: Duration,
    ) -> Result<LandReport, StorageFailure> {
        let tag = format!("{OBJECT_TAG}-{request_id}");
        let naming = ObjectNaming::Once { tag: &tag };
        let landing = async {
            // A retry in the next hour would file the request's unparsed items under that hour a second time.
            let landed_before = match unparsed {
                [] => Default::default(),
                _ => self
                    .lander
                    .unparsed_landed_near(VENDOR, &tag, chrono::Utc::now())
                    .await
                    .map_err(StorageFailure::ReadBack)?,
            };
            let fresh = landed_before.not_landed(unparsed);
            let skipped = LandReport {
                unparsed_landed_before: unparsed.len() - fresh.len(),
                ..LandReport::default()
            };
            let unparsed = &*fresh;
            let Some(chunks) = progress::chunks(records) else {
                let mut report = self.lander.land(records, unparsed, naming).await?;
                report.absorb(skipped);
                return Ok(report);
            };
            // Chunk by chunk, remembering each, so a retry that runs out of time again still gets further.
            let done = self.landed_chunks.landed(request_id);
            let mut report = skipped;
            for (n, chunk) in chunks.iter().enumerate() {
                if done.contains(&n) {
                    continue;
                }
                let unparsed = if n == 0 { unparsed } else { &[] };
                report.absorb(self.lander.land(chunk, unparsed, naming).await?);
                self.landed_chunks.mark(request_id, n);
            }
            self.landed_chunks.forget(request_id);
            Ok(report)
        };
        let result = match tokio::time::timeout(budget, landing).await {
            Ok(result) => result,
            Err(_) => Err(StorageFailure::TimedOut(budget)),
        };
        self.storage_failed
            .store(result.is_err(), std::sync::atomic::Ordering::Relaxed);
        result
    }

    /// Whether the last write to storage failed or ran out of time.
    fn storage_failing(&self) -> bool {
        self.storage_failed
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
enum StorageFailure {
    #[error(transparent)]
    Failed(#[from] LandError),
    #[error("reading the unparsed items an earlier attempt landed: {0}")]
    ReadBack(String),
    #[error("landing did not finish within {0:?}")]
    TimedOut(Duration),
}

/// The router for both protocols. `X-Elastic-Product: Elasticsearch` is added to every response outside the
/// HEC paths, errors and fallbacks included, because official Elasticsearch clients refuse a server without it.
pub fn router(receiver: Arc<Receiver>) -> Router {
    let hec = |route: MethodRouter<Arc<Receiver>>| route.fallback(hec_wrong_method);
    Router::new()
        .route("/services/collector", hec(post(hec_event)))
        .route("/services/collector/event", hec(post(hec_event)))
        .route("/services/collector/event/1.0", hec(post(hec_event)))
        .route("/services/collector/raw", hec(post(hec_raw)))
        .route("/services/collector/raw/1.0", hec(post(hec_raw)))
        .route("/services/collector/ack", hec(post(hec_ack)))
        .route("/services/collector/ack/1.0", hec(post(hec_ack)))
        .route("/services/collector/health", hec(get(hec_health)))
        .route("/services/collector/health/1.0", hec(get(hec_health)))
        .route("/", get(es_info).fallback(es_wrong_method))
        .route(
            "/_bulk",
            post(es_bulk).put(es_bulk).fallback(es_wrong_method),
        )
        .route(
            "/{index}/_bulk",
            post(es_bulk_index)
                .put(es_bulk_index)
                .fallback(es_wrong_method),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(elastic_product_header))
        // Limits are enforced by the handlers, with the protocol's own error body.
        .layer(DefaultBodyLimit::disable())
        .with_state(receiver)
}

fn is_hec_path(path: &str) -> bool {
    path == "/services/collector" || path.starts_with("/services/collector/")
}

async fn elastic_product_header(request: Request, next: Next) -> Response {
    let hec = is_hec_path(request.uri().path());
    let mut response = next.run(request).await;
    if !hec {
        response.headers_mut().insert(
            bulk::PRODUCT_HEADER,
            HeaderValue::from_static(bulk::PRODUCT),
        );
    }
    response
}

async fn not_found(method: Method, uri: Uri) -> Response {
    if is_hec_path(uri.path()) {
        hec_response(&HecReply::new(HecCode::NotFound))
    } else {
        es_error(
            &bulk::no_handler(method.as_str(), uri.path()),
            MediaType::default(),
        )
    }
}

async fn hec_wrong_method() -> Response {
    hec_response(&HecReply::new(HecCode::MethodNotAllowed))
}

async fn es_wrong_method(method: Method, uri: Uri) -> Response {
    let error = EsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "illegal_argument_exception",
        format!(
            "Incorrect HTTP method for uri [{}] and method [{}]",
            uri.path(),
            method
        ),
    );
    es_error(&error, MediaType::default())
}

/// Runs one request through the router and returns the response the way a Function URL reports it
/// (`statusCode`, `headers`, `body`, `isBase64Encoded`), for one-shot local runs of sample payloads.
pub async fn handle_once(
    app: Router,
    request: lambda_http::Request,
) -> Result<Value, lambda_http::Error> {
    use tower::ServiceExt;
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, Body::from(body.to_vec()));
    let response = app.oneshot(request).await?;
    let (parts, body) = response.into_parts();
    let bytes = http_body_util::BodyExt::collect(body).await?.to_bytes();
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Value::String(v.to_str().unwrap_or_default().to_owned()),
            )
        })
        .collect();
    let (body, base64) = match std::str::from_utf8(&bytes) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => {
            use base64::Engine;
            (
                base64::engine::general_purpose::STANDARD.encode(&bytes),
                true,
            )
        }
    };
    Ok(serde_json::json!({
        "statusCode": parts.status.as_u16(),
        "headers": headers,
        "body": body,
        "isBase64Encoded": base64,
    }))
}
