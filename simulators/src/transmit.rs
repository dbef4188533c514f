//! Transmit Security Mosaic: the OIDC token endpoint and the Event Streaming (activities) API.
//!
//! Served paths (the activities paths under every documented base: `/activities/v1`,
//! `/activities/v2`, and `/risk/v1` as the CA and AU regions list it):
//!
//! | call | answer |
//! |---|---|
//! | `POST /oidc/token` (form: `grant_type=client_credentials`, `client_id`, `client_secret`) | `{"access_token","token_type":"Bearer","expires_in"}`; 401 `invalid_client` |
//! | `PUT …/activities/start-collect?type=` | 200; 409 when collection is already on |
//! | `PUT …/activities/stream?type=&stream_id=[&retention=<days>][&enrichment=true]` | 200; 409 if the stream exists; 400 if collection is off. `enrichment` also as JSON body |
//! | `POST …/activities/collect?type=&stream_id=&batch_size=` (1..=1000) | 200 top-level JSON array, oldest first, `[]` when drained; the events are gone from the stream; 404 unknown stream |
//! | `DELETE …/activities/stream?type=&stream_id=` | 200; 404 unknown stream |
//! | `DELETE …/activities/stop-collect?type=` | 200; deletes every stream of the type |
//! | `GET …/activities/user`, `GET …/activities/admin` | 410 (removed by the vendor) |
//!
//! Every activities call needs `Authorization: Bearer <token>` (401 otherwise). Errors are JSON
//! `{"message": …, "error_code": …}`, the shape the vendor uses elsewhere.
//!
//! Test controls: [`TransmitHandle`] in process, or over HTTP `POST /_sim/seed`,
//! `POST|DELETE /_sim/faults`, `GET /_sim/state`, `POST /_sim/reset`.

pub mod events;
pub mod faults;
mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::cli;

pub use events::{EventType, GenSpec, MalformedKind};
pub use faults::{Faults, ServerErrors, Slow, Target, Throttle};
pub use store::{StreamInfo, TypeInfo};

use faults::Endpoint;
use store::{CreateError, Payload, Store};

/// The largest `batch_size` the vendor accepts.
pub const MAX_BATCH_SIZE: u64 = 1000;

/// Credentials and token lifetime of the simulated tenant.
#[derive(Debug, Clone)]
pub struct Config {
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens (the vendor's are valid one hour).
    pub token_lifetime: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            client_id: "tributary-local".to_owned(),
            client_secret: "tributary-local-secret".to_owned(),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// Counters of what the simulator answered, so tests can tell a fault was really hit.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub tokens_issued: u64,
    pub token_rejections: u64,
    pub unauthorized: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub delayed: u64,
    pub start_collect_calls: u64,
    pub conflicts: u64,
    pub streams_created: u64,
    pub streams_deleted: u64,
    pub collects: u64,
    pub events_served: u64,
    pub empty_collects: u64,
    pub malformed_bodies: u64,
    pub truncated_bodies: u64,
    pub gone: u64,
}

struct Inner {
    config: Config,
    store: Store,
    faults: Faults,
    tokens: HashMap<String, Instant>,
    stats: Stats,
    token_counter: u64,
}

/// Shared control of a running simulator: seed events, flip fault switches, read what happened.
#[derive(Clone)]
pub struct TransmitHandle {
    inner: Arc<Mutex<Inner>>,
}

impl TransmitHandle {
    pub fn new(config: Config) -> TransmitHandle {
        TransmitHandle {
            inner: Arc::new(Mutex::new(Inner {
                config,
                store: Store::default(),
                faults: Faults::default(),
                tokens: HashMap::new(),
                stats: Stats::default(),
                token_counter: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler cannot leave the state half-updated in a way that matters to a
        // simulator; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> Config {
        self.lock().config.clone()
    }

    /// Records a lazily generated backlog; returns how many events it adds.
    pub fn seed(&self, spec: GenSpec) -> u64 {
        let spec = spec.resolved(Utc::now());
        let (t, n) = (spec.event_type, spec.count);
        self.lock()
            .store
            .record(t, Payload::Generated(Arc::new(spec)), n);
        n
    }

    /// Records explicit elements, verbatim (any JSON value, so a test can plant an element that
    /// is not an event).
    pub fn seed_events(&self, event_type: EventType, events: Vec<Value>) -> u64 {
        let texts: Vec<String> = events.iter().map(Value::to_string).collect();
        let n = texts.len() as u64;
        self.lock()
            .store
            .record(event_type, Payload::Explicit(Arc::new(texts)), n);
        n
    }

    /// Lays switches over the current ones (see [`Faults::merge`]).
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults.merge(faults);
    }

    pub fn clear_faults(&self) {
        self.lock().faults = Faults::default();
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// The next `count` collects answer 429 with `Retry-After: <retry_after_secs>`.
    pub fn throttle(&self, count: u32, retry_after_secs: u64) {
        self.set_faults(Faults {
            throttle: Some(Throttle {
                count,
                retry_after: Some(retry_after_secs.to_string()),
                target: Target::Collect,
            }),
            ..Faults::default()
        });
    }

    /// The next `count` collects answer `status`.
    pub fn server_errors(&self, count: u32, status: u16) {
        self.set_faults(Faults {
            server_errors: Some(ServerErrors {
                count,
                status,
                target: Target::Collect,
            }),
            ..Faults::default()
        });
    }

    /// The next `count` calls matching `target` (all of them when `count` is `None`) wait
    /// `delay` first.
    pub fn slow(&self, count: Option<u32>, delay: Duration, target: Target) {
        self.set_faults(Faults {
            slow: Some(Slow {
                count,
                delay_ms: delay.as_millis() as u64,
                target,
            }),
            ..Faults::default()
        });
    }

    /// After `calls` more authorized API calls, every token issued so far is refused.
    pub fn revoke_tokens_after(&self, calls: u32) {
        self.set_faults(Faults {
            revoke_tokens_after: Some(calls),
            ..Faults::default()
        });
    }

    pub fn malformed_bodies(&self, count: u32) {
        self.set_faults(Faults {
            malformed_bodies: Some(count),
            ..Faults::default()
        });
    }

    pub fn truncated_bodies(&self, count: u32) {
        self.set_faults(Faults {
            truncated_bodies: Some(count),
            ..Faults::default()
        });
    }

    /// `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().config.token_lifetime = lifetime;
    }

    /// Stops collection of a type as if someone did it in the portal (drops its streams).
    pub fn stop_collect(&self, event_type: EventType) {
        self.lock().store.stop_collect(event_type);
    }

    pub fn info(&self, event_type: EventType) -> TypeInfo {
        self.lock().store.info(event_type)
    }

    /// Events not yet collected by a stream; `None` when the stream does not exist.
    pub fn pending(&self, event_type: EventType, stream_id: &str) -> Option<u64> {
        self.info(event_type)
            .streams
            .into_iter()
            .find(|s| s.stream_id == stream_id)
            .map(|s| s.pending)
    }

    pub fn is_collecting(&self, event_type: EventType) -> bool {
        self.lock().store.is_collecting(event_type)
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Forgets every event, stream, token, switch and counter.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.store = Store::default();
        inner.faults = Faults::default();
        inner.tokens.clear();
        inner.stats = Stats::default();
    }
}

/// A simulator serving on a loopback port, for tests. Stops when dropped.
pub struct TransmitSim {
    /// `http://127.0.0.1:<port>`; the token endpoint is `<base_url>/oidc/token`.
    pub base_url: String,
    pub addr: SocketAddr,
    pub handle: TransmitHandle,
    task: JoinHandle<()>,
}

impl TransmitSim {
    /// The activities API base, as configured in a client (`<base_url>/activities/v1`).
    pub fn api_url(&self) -> String {
        format!("{}/activities/v1", self.base_url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oidc/token", self.base_url)
    }
}

impl Deref for TransmitSim {
    type Target = TransmitHandle;
    fn deref(&self) -> &TransmitHandle {
        &self.handle
    }
}

impl Drop for TransmitSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a simulator on `127.0.0.1:0` in this process.
pub async fn spawn(config: Config) -> TransmitSim {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port for the Transmit simulator");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let handle = TransmitHandle::new(config);
    let app = router(handle.clone());
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(message = "Transmit simulator stopped.", %error);
        }
    });
    TransmitSim {
        base_url: format!("http://{addr}"),
        addr,
        handle,
        task,
    }
}

/// `tributary-sim transmit [--port N] [--client-id ID] [--client-secret SECRET]
/// [--token-lifetime-secs S]`: serves until killed, its base URL the first line on stdout
/// ([`cli::serve`]).
pub async fn cli_main(args: &[String]) -> cli::CliResult {
    let mut config = Config::default();
    let port = cli::parse(args, |flag, args| {
        match flag {
            "--client-id" => config.client_id = args.value(flag)?,
            "--client-secret" => config.client_secret = args.value(flag)?,
            "--token-lifetime-secs" => {
                config.token_lifetime = Duration::from_secs(args.parse(flag)?)
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    cli::serve(port, router(TransmitHandle::new(config))).await
}

/// The simulator's routes over `handle`'s state.
pub fn router(handle: TransmitHandle) -> Router {
    Router::new()
        .route("/oidc/token", post(token))
        .route(
            "/{api}/{version}/activities/start-collect",
            put(start_collect),
        )
        .route(
            "/{api}/{version}/activities/stream",
            put(create_stream).delete(delete_stream),
        )
        .route("/{api}/{version}/activities/collect", post(collect))
        .route(
            "/{api}/{version}/activities/stop-collect",
            axum::routing::delete(stop_collect),
        )
        .route("/{api}/{version}/activities/user", get(removed))
        .route("/{api}/{version}/activities/admin", get(removed))
        .route("/_sim/seed", post(sim_seed))
        .route("/_sim/faults", post(sim_faults).delete(sim_clear_faults))
        .route("/_sim/state", get(sim_state))
        .route("/_sim/reset", post(sim_reset))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(handle)
}

fn error(status: StatusCode, message: &str) -> Response {
    ApiError::new(status, message).into_response()
}

/// An error answer in the vendor's shape, `{"message", "error_code"}`, plus the headers some
/// of them carry.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    header: Option<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    fn new(status: StatusCode, message: &str) -> ApiError {
        ApiError {
            status,
            message: message.to_owned(),
            header: None,
        }
    }

    fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> ApiError {
        self.header = Some((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"message": self.message, "error_code": self.status.as_u16()}));
        let mut response = (self.status, body).into_response();
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

fn message(text: String) -> Response {
    (StatusCode::OK, Json(json!({ "message": text }))).into_response()
}

/// The documented API bases: `/activities/v1` (and `/v2` in the newer portal), `/risk/v1` for
/// the CA and AU regions.
fn known_base(api: &str, version: &str) -> bool {
    matches!((api, version), ("activities", "v1" | "v2") | ("risk", "v1"))
}

impl TransmitHandle {
    /// The switches every vendor call goes through first: delay, 429, 5xx.
    async fn gate(&self, endpoint: Endpoint) -> Result<(), ApiError> {
        let delay = self.lock().faults.take_delay(endpoint);
        if let Some(ms) = delay {
            self.lock().stats.delayed += 1;
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let mut inner = self.lock();
        if let Some(retry_after) = inner.faults.take_throttle(endpoint) {
            inner.stats.throttled += 1;
            let mut answer = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                answer = answer.with_header(header::RETRY_AFTER, value);
            }
            return Err(answer);
        }
        if let Some(status) = inner.faults.take_server_error(endpoint) {
            inner.stats.server_errors += 1;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return Err(ApiError::new(
                status,
                status.canonical_reason().unwrap_or("Server Error"),
            ));
        }
        Ok(())
    }

    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        let now = Instant::now();
        let valid = token
            .as_deref()
            .and_then(|t| inner.tokens.get(t))
            .is_some_and(|expires| *expires > now);
        if valid && inner.faults.take_revocation() {
            inner.tokens.clear();
        } else if valid {
            return Ok(());
        }
        inner.stats.unauthorized += 1;
        Err(
            ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized").with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            ),
        )
    }

    /// Everything an activities call checks before doing its work.
    async fn admit(
        &self,
        endpoint: Endpoint,
        base: &(String, String),
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Result<EventType, ApiError> {
        if !known_base(&base.0, &base.1) {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "Not Found"));
        }
        self.gate(endpoint).await?;
        self.authorize(headers)?;
        let t = query.get("type").ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "Missing required query parameter: type",
            )
        })?;
        EventType::parse(t).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "type must be one of: cis, admin, risk, verify",
            )
        })
    }
}

fn stream_id(query: &HashMap<String, String>) -> Result<String, ApiError> {
    match query.get("stream_id") {
        Some(id) if !id.is_empty() && !id.chars().any(char::is_whitespace) => Ok(id.clone()),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "stream_id must be a continuous string without spaces",
        )),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Missing required query parameter: stream_id",
        )),
    }
}

/// A JWT-shaped opaque token: clients must not look inside, but it should look like the real
/// thing in logs and headers.
fn mint_token(inner: &mut Inner) -> String {
    inner.token_counter += 1;
    let payload = format!(
        "{{\"client_id\":\"{}\",\"jti\":\"{}\",\"iat\":{}}}",
        inner.config.client_id,
        inner.token_counter,
        Utc::now().timestamp()
    );
    format!(
        "{}.{}.{}",
        base64url(br#"{"alg":"RS256","typ":"JWT"}"#),
        base64url(payload.as_bytes()),
        base64url(format!("sig-{}-{}", inner.token_counter, fastrand::u64(..)).as_bytes())
    )
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn token(
    State(sim): State<TransmitHandle>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Err(answer) = sim.gate(Endpoint::Token).await {
        return answer.into_response();
    }
    let oauth_error = |status: StatusCode, code: &str, description: &str| {
        (
            status,
            Json(json!({"error": code, "error_description": description})),
        )
            .into_response()
    };
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected an application/x-www-form-urlencoded body",
        );
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let mut inner = sim.lock();
    let id_ok = form.get("client_id") == Some(&inner.config.client_id);
    let secret_ok = form.get("client_secret") == Some(&inner.config.client_secret);
    if !(id_ok && secret_ok) {
        inner.stats.token_rejections += 1;
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let lifetime = inner.config.token_lifetime;
    let access_token = mint_token(&mut inner);
    inner
        .tokens
        .insert(access_token.clone(), Instant::now() + lifetime);
    inner.stats.tokens_issued += 1;
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "scope": "",
    }))
    .into_response()
}

async fn start_collect(
    State(sim): State<TransmitHandle>,
    Path(base): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match sim.admit(Endpoint::Setup, &base, &headers, &query).await {
        Ok(t) => t,
        Err(answer) => return answer.into_response(),
    };
    let mut inner = sim.lock();
    inner.stats.start_collect_calls += 1;
    if inner.store.start_collect(t) {
        message(format!("Start collecting {t} events."))
    } else {
        inner.stats.conflicts += 1;
        error(
            StatusCode::CONFLICT,
            "Resource already exists in the project",
        )
    }
}

#[derive(Deserialize, Default)]
struct StreamBody {
    enrichment: Option<bool>,
}

async fn create_stream(
    State(sim): State<TransmitHandle>,
    Path(base): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let t = match sim.admit(Endpoint::Setup, &base, &headers, &query).await {
        Ok(t) => t,
        Err(answer) => return answer.into_response(),
    };
    let id = match stream_id(&query) {
        Ok(id) => id,
        Err(answer) => return answer.into_response(),
    };
    let retention = match query.get("retention").map(|r| r.parse::<u64>()) {
        None => None,
        Some(Ok(days)) if days > 0 => Some(Duration::from_secs(days * 86_400)),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "retention must be a positive number of days",
            )
        }
    };
    // One version of the reference puts `enrichment` in the query, another in a JSON body.
    let body_enrichment = if body.iter().all(u8::is_ascii_whitespace) {
        StreamBody::default()
    } else {
        match serde_json::from_slice::<StreamBody>(&body) {
            Ok(parsed) => parsed,
            Err(_) => return error(StatusCode::BAD_REQUEST, "body must be a JSON object"),
        }
    };
    let enrichment = match query.get("enrichment").map(String::as_str) {
        Some("true") => true,
        Some("false") | None => body_enrichment.enrichment.unwrap_or(false),
        Some(_) => return error(StatusCode::BAD_REQUEST, "enrichment must be true or false"),
    };
    let mut inner = sim.lock();
    match inner.store.create_stream(t, &id, retention, enrichment) {
        Ok(()) => {
            inner.stats.streams_created += 1;
            message(format!(
                "Events stream: {id}, with {t} events, was created successfully."
            ))
        }
        Err(CreateError::Exists) => {
            inner.stats.conflicts += 1;
            error(
                StatusCode::CONFLICT,
                "Resource already exists in the project",
            )
        }
        Err(CreateError::NotCollecting) => error(
            StatusCode::BAD_REQUEST,
            &format!("Collection of {t} events is not enabled; call start-collect first"),
        ),
    }
}

async fn delete_stream(
    State(sim): State<TransmitHandle>,
    Path(base): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match sim.admit(Endpoint::Setup, &base, &headers, &query).await {
        Ok(t) => t,
        Err(answer) => return answer.into_response(),
    };
    let id = match stream_id(&query) {
        Ok(id) => id,
        Err(answer) => return answer.into_response(),
    };
    let mut inner = sim.lock();
    if inner.store.delete_stream(t, &id) {
        inner.stats.streams_deleted += 1;
        message(format!("Events stream: {id} was deleted."))
    } else {
        error(StatusCode::NOT_FOUND, "Stream not found")
    }
}

async fn stop_collect(
    State(sim): State<TransmitHandle>,
    Path(base): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match sim.admit(Endpoint::Setup, &base, &headers, &query).await {
        Ok(t) => t,
        Err(answer) => return answer.into_response(),
    };
    sim.lock().store.stop_collect(t);
    message(format!(
        "Stopped collecting {t} events and deleted all event streams."
    ))
}

async fn collect(
    State(sim): State<TransmitHandle>,
    Path(base): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let t = match sim.admit(Endpoint::Collect, &base, &headers, &query).await {
        Ok(t) => t,
        Err(answer) => return answer.into_response(),
    };
    let id = match stream_id(&query) {
        Ok(id) => id,
        Err(answer) => return answer.into_response(),
    };
    let batch_size = match query.get("batch_size").map(|b| b.parse::<u64>()) {
        Some(Ok(n)) if (1..=MAX_BATCH_SIZE).contains(&n) => n,
        None => 100,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "batch_size must be between 1 and 1000",
            )
        }
    };
    let (batch, malformed, truncated) = {
        let mut inner = sim.lock();
        let Some(batch) = inner.store.collect(t, &id, batch_size) else {
            return error(StatusCode::NOT_FOUND, "Stream not found");
        };
        let n = batch.len();
        inner.stats.collects += 1;
        inner.stats.events_served += n;
        if n == 0 {
            inner.stats.empty_collects += 1;
        }
        let malformed = inner.faults.take_malformed_body();
        let truncated = !malformed && inner.faults.take_truncated_body();
        inner.stats.malformed_bodies += u64::from(malformed);
        inner.stats.truncated_bodies += u64::from(truncated);
        (batch, malformed, truncated)
    };
    // Rendering a batch of 1000 generated events takes a while; do it outside the lock.
    let mut body = batch.render();
    let json_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    if malformed {
        body.truncate(body.len() / 2);
        return (json_type, body).into_response();
    }
    if truncated {
        let full = body.len();
        let half = Bytes::copy_from_slice(&body[..full / 2]);
        // The pause lets the head and the first half reach the client before the connection
        // drops; dropping at once would lose the whole answer before its status line.
        let head = futures_util::stream::iter([Ok::<_, std::io::Error>(half)]);
        let drop = futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "simulated truncation",
            ))
        });
        let mut response = (json_type, Body::from_stream(head.chain(drop))).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
        return response;
    }
    (json_type, body).into_response()
}

async fn removed(State(sim): State<TransmitHandle>) -> Response {
    sim.lock().stats.gone += 1;
    (
        StatusCode::GONE,
        Json(json!({"message": "This endpoint has been removed. Please update your integration."})),
    )
        .into_response()
}

/// `POST /_sim/seed`: a generated backlog (`{"type","count","start"?,"interval_ms"?,"seed"?,
/// "malformed_every"?}`) or explicit elements (`{"type","events":[…]}`).
#[derive(Deserialize)]
#[serde(untagged)]
enum SeedRequest {
    Events {
        #[serde(rename = "type")]
        event_type: EventType,
        events: Vec<Value>,
    },
    Generated(GenSpec),
}

async fn sim_seed(State(sim): State<TransmitHandle>, Json(request): Json<SeedRequest>) -> Response {
    let (t, seeded) = match request {
        SeedRequest::Events { event_type, events } => {
            (event_type, sim.seed_events(event_type, events))
        }
        SeedRequest::Generated(spec) => (spec.event_type, sim.seed(spec)),
    };
    let info = sim.info(t);
    Json(json!({"type": t, "seeded": seeded, "recorded": info.recorded})).into_response()
}

/// `POST /_sim/faults`: [`Faults`] as JSON, plus `token_lifetime_secs`.
#[derive(Deserialize)]
struct FaultsRequest {
    #[serde(flatten)]
    faults: Faults,
    token_lifetime_secs: Option<u64>,
}

async fn sim_faults(
    State(sim): State<TransmitHandle>,
    Json(request): Json<FaultsRequest>,
) -> Response {
    sim.set_faults(request.faults);
    if let Some(secs) = request.token_lifetime_secs {
        sim.set_token_lifetime(Duration::from_secs(secs));
    }
    Json(sim.faults()).into_response()
}

async fn sim_clear_faults(State(sim): State<TransmitHandle>) -> Response {
    sim.clear_faults();
    Json(sim.faults()).into_response()
}

async fn sim_state(State(sim): State<TransmitHandle>) -> Response {
    let types: Vec<TypeInfo> = EventType::ALL.into_iter().map(|t| sim.info(t)).collect();
    Json(json!({
        "types": types,
        "stats": sim.stats(),
        "faults": sim.faults(),
        "token_lifetime_secs": sim.config().token_lifetime.as_secs(),
    }))
    .into_response()
}

async fn sim_reset(State(sim): State<TransmitHandle>) -> Response {
    sim.reset();
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_the_rfc_examples() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
    }
}
