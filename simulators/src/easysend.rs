//! EasySend "Security Logs Services" simulator: `GET /player/api/get-security-logs`.
//!
//! Faithful to the vendor guide: `apiKey` header (401 without it), `start_time` required in
//! `YYYYMMDDHHMMSS` UTC (400 when missing or malformed), the end given as `end_type` (the guide's
//! spelling) or `end_time` (both accepted, default "now"), `app_type` absent (Player and Builder
//! logs) or `player` (400 otherwise). A 200 streams one JSON array of pages
//! `{"pageNumber","results","securityLogs":[...]}` of at most 10,000 logs each, with
//! `Number-Of-Pages` and `Number-Of-Results` headers; logs older than 48 hours are gone.
//!
//! Bounds: `start_time` is inclusive. The guide does not say whether the end is; by default the
//! whole end second is included (`@timestamp < end + 1 s`), and `end_inclusive: false` switches to
//! an exclusive end, so a client can be tested against both readings.
//!
//! Tests drive it in-process through [`EasySendSim`]; the demo and the benchmark use `POST /_sim/...`.

mod body;
mod faults;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cli;

pub use faults::{CountMismatch, FailNext, Faults, RequestTimeout, Truncate, TruncateMode};
pub use store::{parse_timestamp, ProductMix};

/// The path the Player serves security logs on.
pub const LOGS_PATH: &str = "/player/api/get-security-logs";
/// The API key the simulator expects unless told otherwise.
pub const DEFAULT_API_KEY: &str = "easysend-local-api-key";
/// The vendor's page size.
pub const PAGE_SIZE: usize = 10_000;
/// The vendor's retention.
pub const RETENTION_SECONDS: i64 = 48 * 3600;

/// Settings a test or the demo may change at any time (`POST /_sim/config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimConfig {
    pub api_key: String,
    pub page_size: usize,
    pub retention_seconds: i64,
    /// Whether logs in the end second itself are returned (see the module docs).
    pub end_inclusive: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_string(),
            page_size: PAGE_SIZE,
            retention_seconds: RETENTION_SECONDS,
            end_inclusive: true,
        }
    }
}

/// A partial [`SimConfig`] update.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigUpdate {
    pub api_key: Option<String>,
    pub page_size: Option<usize>,
    pub retention_seconds: Option<i64>,
    pub end_inclusive: Option<bool>,
}

/// One request as the simulator saw it, for tests that check what a client asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeenRequest {
    pub start_time: Option<String>,
    /// `end_type` or `end_time`, whichever the client sent.
    pub end_param: Option<String>,
    pub end: Option<String>,
    pub app_type: Option<String>,
    pub status: u16,
    /// Logs in the body (before any truncation).
    pub results: usize,
}

struct Inner {
    config: SimConfig,
    store: store::LogStore,
    faults: Faults,
    requests: Vec<SeenRequest>,
}

/// Shared state behind the router and the in-process handle.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Mutex<Inner>>,
}

impl SimState {
    pub fn new(config: SimConfig) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                config,
                store: store::LogStore::default(),
                faults: Faults::default(),
                requests: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the log table half-written in a way that
        // matters to a simulator, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `count` generated logs spread evenly over `[from, to)`.
    pub fn seed(&self, count: u64, from: DateTime<Utc>, to: DateTime<Utc>, mix: ProductMix) {
        self.lock().store.seed(count, from, to, mix);
    }

    /// Inserts logs given verbatim; each needs an `@timestamp`. This is how a late arrival (a log
    /// whose timestamp is older than logs already served) is simulated.
    pub fn insert_logs(&self, logs: &[Value]) -> Result<(), String> {
        let now = Utc::now();
        let entries = logs
            .iter()
            .map(|log| store::custom_entry(log, now))
            .collect::<Result<Vec<_>, _>>()?;
        let mut inner = self.lock();
        for entry in entries {
            inner.store.insert(entry);
        }
        Ok(())
    }

    /// Inserts logs whose own `@timestamp` cannot place them (missing, unreadable, or not an object at all), kept
    /// at `at`: the bad data a real table could hold, served with the logs around `at`.
    pub fn insert_unplaced(&self, at: DateTime<Utc>, logs: &[Value]) {
        let now = Utc::now();
        let mut inner = self.lock();
        for log in logs {
            inner.store.insert(store::unplaced_entry(log, at, now));
        }
    }

    pub fn log_count(&self) -> usize {
        self.lock().store.len()
    }

    pub fn update_config(&self, update: ConfigUpdate) {
        let mut inner = self.lock();
        let config = &mut inner.config;
        if let Some(key) = update.api_key {
            config.api_key = key;
        }
        if let Some(size) = update.page_size {
            config.page_size = size.max(1);
        }
        if let Some(secs) = update.retention_seconds {
            config.retention_seconds = secs;
        }
        if let Some(inclusive) = update.end_inclusive {
            config.end_inclusive = inclusive;
        }
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    pub fn fail_next(&self, fail: FailNext) {
        self.lock().faults.fail_next = Some(fail);
    }

    pub fn set_timeout(&self, timeout: Option<RequestTimeout>) {
        self.lock().faults.timeout = timeout;
    }

    pub fn truncate_next(&self, truncate: Truncate) {
        self.lock().faults.truncate = Some(truncate);
    }

    pub fn set_count_mismatch(&self, mismatch: CountMismatch) {
        self.lock().faults.mismatch = Some(mismatch);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.lock().faults.latency_ms = latency.as_millis() as u64;
    }

    pub fn clear_faults(&self) {
        self.lock().faults = Faults::default();
    }

    /// Forgets logs, faults and seen requests; keeps the config.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.store.clear();
        inner.faults = Faults::default();
        inner.requests.clear();
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.lock().requests.clone()
    }
}

/// A simulator running in this process on 127.0.0.1, stopped when dropped.
pub struct EasySendSim {
    /// `http://127.0.0.1:<port>`: the `<PLAYER_URL>` to give a client.
    pub base_url: String,
    pub state: SimState,
    server: tokio::task::JoinHandle<()>,
}

impl std::ops::Deref for EasySendSim {
    type Target = SimState;
    fn deref(&self) -> &SimState {
        &self.state
    }
}

impl Drop for EasySendSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts a simulator on an ephemeral loopback port.
pub async fn spawn(config: SimConfig) -> EasySendSim {
    let state = SimState::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral loopback port");
    let addr = listener.local_addr().expect("local address");
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(message = "EasySend simulator stopped", %error);
        }
    });
    EasySendSim {
        base_url: format!("http://{addr}"),
        state,
        server,
    }
}

/// The simulator's routes: the vendor endpoint plus `/_sim/...` controls.
pub fn router(state: SimState) -> Router {
    Router::new()
        .route(LOGS_PATH, get(get_security_logs))
        .route("/_sim/reset", post(sim_reset))
        .route("/_sim/config", post(sim_config).get(sim_get_config))
        .route("/_sim/seed", post(sim_seed))
        .route("/_sim/logs", post(sim_logs))
        .route("/_sim/fail", post(sim_fail))
        .route("/_sim/timeout", post(sim_timeout))
        .route("/_sim/truncate", post(sim_truncate))
        .route("/_sim/mismatch", post(sim_mismatch))
        .route("/_sim/latency", post(sim_latency))
        .route("/_sim/faults/clear", post(sim_clear_faults))
        .route("/_sim/requests", get(sim_requests))
        .route("/_sim/stats", get(sim_stats))
        .with_state(state)
}

/// `tributary-sim easysend [--port N] [--api-key KEY] [--page-size N] [--end-exclusive]
/// [--seed N [--seed-minutes M]]`: serves until killed, its base URL the first line on stdout ([`cli::serve`]).
/// `--seed` adds N logs spread over the last M minutes (default 60).
pub async fn cli_main(args: &[String]) -> cli::CliResult {
    let mut config = SimConfig::default();
    let mut seed: u64 = 0;
    let mut seed_minutes: i64 = 60;
    let port = cli::parse(args, |flag, args| {
        match flag {
            "--api-key" => config.api_key = args.value(flag)?,
            "--page-size" => config.page_size = args.parse::<usize>(flag)?.max(1),
            "--end-exclusive" => config.end_inclusive = false,
            "--seed" => seed = args.parse(flag)?,
            "--seed-minutes" => seed_minutes = args.parse(flag)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let state = SimState::new(config);
    if seed > 0 {
        let now = Utc::now();
        state.seed(
            seed,
            now - chrono::Duration::minutes(seed_minutes),
            now,
            ProductMix::Mixed,
        );
    }
    cli::serve(port, router(state)).await
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let body = json!({
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    });
    (status, Json(body)).into_response()
}

fn parse_param_time(name: &str, value: &str) -> Result<DateTime<Utc>, String> {
    let well_formed = value.len() == 14 && value.bytes().all(|b| b.is_ascii_digit());
    well_formed
        .then(|| NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M%S").ok())
        .flatten()
        .map(|naive| naive.and_utc())
        .ok_or_else(|| format!("{name} must be a UTC time in YYYYMMDDHHMMSS format, got '{value}'"))
}

async fn get_security_logs(
    State(state): State<SimState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (end_param, end_value) = match (params.get("end_time"), params.get("end_type")) {
        (Some(v), _) => (Some("end_time"), Some(v.clone())),
        (None, Some(v)) => (Some("end_type"), Some(v.clone())),
        (None, None) => (None, None),
    };
    let mut seen = SeenRequest {
        start_time: params.get("start_time").cloned(),
        end_param: end_param.map(str::to_string),
        end: end_value.clone(),
        app_type: params.get("app_type").cloned(),
        status: 200,
        results: 0,
    };
    let (response, delay) = answer(&state, &headers, &params, end_value.as_deref(), &mut seen);
    state.lock().requests.push(seen);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Decides the answer under the lock; the caller sleeps (for latency / 408 delays) after
/// releasing it.
fn answer(
    state: &SimState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    end_value: Option<&str>,
    seen: &mut SeenRequest,
) -> (Response, Duration) {
    let mut inner = state.lock();
    let latency = Duration::from_millis(inner.faults.latency_ms);
    let reply = |seen: &mut SeenRequest, response: Response, extra: Duration| {
        seen.status = response.status().as_u16();
        (response, latency + extra)
    };

    let key_ok = headers
        .get("apiKey")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == inner.config.api_key);
    if !key_ok {
        let response = error(StatusCode::UNAUTHORIZED, "missing or wrong apiKey header");
        return reply(seen, response, Duration::ZERO);
    }

    if let Some(fail) = faults::take(&mut inner.faults.fail_next, |f| &mut f.times) {
        let status = StatusCode::from_u16(fail.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let response = error(status, format!("simulated {}", status.as_u16()));
        return reply(seen, response, Duration::from_millis(fail.delay_ms));
    }

    let Some(start_text) = params.get("start_time") else {
        let response = error(StatusCode::BAD_REQUEST, "start_time is required");
        return reply(seen, response, Duration::ZERO);
    };
    let start = match parse_param_time("start_time", start_text) {
        Ok(t) => t,
        Err(message) => {
            return reply(
                seen,
                error(StatusCode::BAD_REQUEST, message),
                Duration::ZERO,
            )
        }
    };
    let now = Utc::now();
    let end = match end_value {
        Some(text) => match parse_param_time(seen.end_param.as_deref().unwrap_or("end"), text) {
            Ok(t) => t,
            Err(message) => {
                return reply(
                    seen,
                    error(StatusCode::BAD_REQUEST, message),
                    Duration::ZERO,
                )
            }
        },
        None => now,
    };
    let product = match params.get("app_type").map(String::as_str) {
        None => None,
        Some("player") => Some(store::Product::Player),
        Some(other) => {
            let response = error(
                StatusCode::BAD_REQUEST,
                format!("invalid app_type '{other}': the only value is 'player'"),
            );
            return reply(seen, response, Duration::ZERO);
        }
    };
    if end < start {
        let response = error(StatusCode::BAD_REQUEST, "end is before start_time");
        return reply(seen, response, Duration::ZERO);
    }

    let width = (end - start).num_seconds();
    let times_out = inner
        .faults
        .timeout
        .as_ref()
        .is_some_and(|t| t.max_window_seconds.is_none_or(|max| width > max));
    if times_out {
        if let Some(rule) = faults::take(&mut inner.faults.timeout, |t| &mut t.times) {
            let response = error(
                StatusCode::REQUEST_TIMEOUT,
                "request exceeded the 55 second limit; divide the window with start_time and end_time",
            );
            return reply(seen, response, Duration::from_millis(rule.delay_ms));
        }
    }

    let retention = inner.config.retention_seconds;
    inner.store.expire(now, retention);
    let end_exclusive = if end_value.is_some() && inner.config.end_inclusive {
        end.timestamp_micros() + 1_000_000
    } else {
        end.timestamp_micros()
    };
    let logs = inner
        .store
        .range(start.timestamp_micros(), end_exclusive, product);
    let page_size = inner.config.page_size;
    let mut pages = body::page_count(logs.len(), page_size) as i64;
    let mut results = logs.len() as i64;
    if let Some(mismatch) = faults::take(&mut inner.faults.mismatch, |m| &mut m.times) {
        pages += mismatch.pages_delta;
        results += mismatch.results_delta;
    }
    let truncate = faults::take(&mut inner.faults.truncate, |t| &mut t.times);
    seen.results = logs.len();
    drop(inner);

    let mut response =
        Body::from_stream(body::page_stream(logs, page_size, truncate)).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("Number-Of-Pages", HeaderValue::from(pages));
    headers.insert("Number-Of-Results", HeaderValue::from(results));
    reply(seen, response, Duration::ZERO)
}

async fn sim_reset(State(state): State<SimState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

async fn sim_config(
    State(state): State<SimState>,
    Json(update): Json<ConfigUpdate>,
) -> Json<SimConfig> {
    state.update_config(update);
    Json(state.config())
}

async fn sim_get_config(State(state): State<SimState>) -> Json<SimConfig> {
    Json(state.config())
}

#[derive(Deserialize)]
struct SeedRequest {
    count: u64,
    /// RFC 3339; default: `to` minus one hour.
    from: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    to: Option<DateTime<Utc>>,
    #[serde(default)]
    product: ProductMix,
}

async fn sim_seed(State(state): State<SimState>, Json(request): Json<SeedRequest>) -> Response {
    let to = request.to.unwrap_or_else(Utc::now);
    let from = request.from.unwrap_or(to - chrono::Duration::hours(1));
    if to <= from {
        return error(StatusCode::BAD_REQUEST, "seed needs from < to");
    }
    state.seed(request.count, from, to, request.product);
    Json(json!({"seeded": request.count, "logs": state.log_count()})).into_response()
}

#[derive(Deserialize)]
struct InsertRequest {
    logs: Vec<Value>,
    /// Where the table keeps logs that their own `@timestamp` cannot place; given, every log is kept there as
    /// it is, whatever it holds.
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

async fn sim_logs(State(state): State<SimState>, Json(request): Json<InsertRequest>) -> Response {
    let inserted = match request.at {
        Some(at) => {
            state.insert_unplaced(at, &request.logs);
            Ok(())
        }
        None => state.insert_logs(&request.logs),
    };
    match inserted {
        Ok(()) => {
            Json(json!({"inserted": request.logs.len(), "logs": state.log_count()})).into_response()
        }
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

async fn sim_fail(State(state): State<SimState>, Json(fail): Json<FailNext>) -> StatusCode {
    state.fail_next(fail);
    StatusCode::NO_CONTENT
}

async fn sim_timeout(
    State(state): State<SimState>,
    Json(timeout): Json<RequestTimeout>,
) -> StatusCode {
    state.set_timeout(Some(timeout));
    StatusCode::NO_CONTENT
}

async fn sim_truncate(State(state): State<SimState>, Json(truncate): Json<Truncate>) -> StatusCode {
    state.truncate_next(truncate);
    StatusCode::NO_CONTENT
}

async fn sim_mismatch(
    State(state): State<SimState>,
    Json(mismatch): Json<CountMismatch>,
) -> StatusCode {
    state.set_count_mismatch(mismatch);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct LatencyRequest {
    latency_ms: u64,
}

async fn sim_latency(
    State(state): State<SimState>,
    Json(request): Json<LatencyRequest>,
) -> StatusCode {
    state.set_latency(Duration::from_millis(request.latency_ms));
    StatusCode::NO_CONTENT
}

async fn sim_clear_faults(State(state): State<SimState>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn sim_requests(State(state): State<SimState>) -> Json<Vec<SeenRequest>> {
    Json(state.requests())
}

async fn sim_stats(State(state): State<SimState>) -> Json<Value> {
    let inner = state.lock();
    Json(json!({
        "logs": inner.store.len(),
        "requests": inner.requests.len(),
        "faults": inner.faults,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(sim: &EasySendSim, key: Option<&str>, query: &str) -> (u16, HeaderMap, String) {
        // A bare HTTP/1.1 client keeps the simulator crate free of an HTTP client dependency.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = sim.base_url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let key_header = key.map(|k| format!("apiKey: {k}\r\n")).unwrap_or_default();
        let request = format!(
            "GET {LOGS_PATH}?{query} HTTP/1.1\r\nHost: {addr}\r\n{key_header}Connection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(": ").unwrap();
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let body = if headers
            .get("transfer-encoding")
            .is_some_and(|v| v == "chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, headers, body)
    }

    fn dechunk(mut body: &str) -> String {
        let mut out = String::new();
        while let Some((size, rest)) = body.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < size {
                break;
            }
            out.push_str(&rest[..size]);
            body = rest[size..].trim_start_matches("\r\n");
        }
        out
    }

    fn hour_ago() -> DateTime<Utc> {
        let now = Utc::now();
        now - chrono::Duration::hours(1)
    }

    fn fmt(t: DateTime<Utc>) -> String {
        t.format("%Y%m%d%H%M%S").to_string()
    }

    #[tokio::test]
    async fn answers_401_without_the_api_key() {
        let sim = spawn(SimConfig::default()).await;
        let (status, _, _) = get(&sim, None, "start_time=20261121000000").await;
        assert_eq!(status, 401);
        let (status, _, _) = get(&sim, Some("wrong"), "start_time=20261121000000").await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn answers_400_for_missing_or_malformed_parameters() {
        let sim = spawn(SimConfig::default()).await;
        let key = Some(DEFAULT_API_KEY);
        for query in [
            "",
            "start_time=2026-11-21",
            "start_time=20261321000000",
            "start_time=20261121000000&end_time=bad",
            "start_time=20261121000000&app_type=builder",
        ] {
            let (status, _, body) = get(&sim, key, query).await;
            assert_eq!(status, 400, "{query}: {body}");
        }
    }

    #[tokio::test]
    async fn accepts_both_end_parameter_spellings_and_pages_the_body() {
        let sim = spawn(SimConfig::default()).await;
        sim.update_config(ConfigUpdate {
            page_size: Some(4),
            ..Default::default()
        });
        let from = hour_ago();
        sim.seed(
            10,
            from,
            from + chrono::Duration::seconds(10),
            ProductMix::Player,
        );
        for end_param in ["end_time", "end_type"] {
            let query = format!(
                "start_time={}&{end_param}={}",
                fmt(from),
                fmt(from + chrono::Duration::seconds(4))
            );
            let (status, headers, body) = get(&sim, Some(DEFAULT_API_KEY), &query).await;
            assert_eq!(status, 200);
            // Inclusive end second: 00..04 is five logs at one per second.
            assert_eq!(headers["number-of-results"], "5");
            assert_eq!(headers["number-of-pages"], "2");
            let pages: Vec<Value> = serde_json::from_str(&body).unwrap();
            assert_eq!(pages.len(), 2);
            assert_eq!(pages[1]["securityLogs"].as_array().unwrap().len(), 1);
        }
        let seen = sim.requests();
        assert_eq!(seen[1].end_param.as_deref(), Some("end_type"));
    }

    #[tokio::test]
    async fn app_type_player_leaves_out_builder_logs() {
        let sim = spawn(SimConfig::default()).await;
        let from = hour_ago();
        sim.seed(
            40,
            from,
            from + chrono::Duration::seconds(40),
            ProductMix::Mixed,
        );
        let query = format!("start_time={}", fmt(from));
        let (_, all, _) = get(&sim, Some(DEFAULT_API_KEY), &query).await;
        let (_, players, body) = get(
            &sim,
            Some(DEFAULT_API_KEY),
            &format!("{query}&app_type=player"),
        )
        .await;
        assert_eq!(all["number-of-results"], "40");
        let players: usize = players["number-of-results"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(players < 40);
        assert!(!body.contains("\"Builder\""));
    }

    #[tokio::test]
    async fn logs_older_than_the_retention_are_gone() {
        let sim = spawn(SimConfig::default()).await;
        // Ten logs 12 minutes apart, the oldest 49.5 hours old: only the last two are younger
        // than 48 hours.
        let from = Utc::now() - chrono::Duration::minutes(49 * 60 + 30);
        sim.seed(
            10,
            from,
            from + chrono::Duration::hours(2),
            ProductMix::Player,
        );
        let query = format!("start_time={}", fmt(from));
        let (_, headers, _) = get(&sim, Some(DEFAULT_API_KEY), &query).await;
        assert_eq!(headers["number-of-results"], "2");
    }

    #[tokio::test]
    async fn wide_windows_time_out_with_408() {
        let sim = spawn(SimConfig::default()).await;
        sim.set_timeout(Some(RequestTimeout {
            max_window_seconds: Some(60),
            delay_ms: 0,
            times: None,
        }));
        let from = hour_ago();
        let wide = format!(
            "start_time={}&end_time={}",
            fmt(from),
            fmt(from + chrono::Duration::seconds(61))
        );
        let narrow = format!(
            "start_time={}&end_time={}",
            fmt(from),
            fmt(from + chrono::Duration::seconds(60))
        );
        assert_eq!(get(&sim, Some(DEFAULT_API_KEY), &wide).await.0, 408);
        assert_eq!(get(&sim, Some(DEFAULT_API_KEY), &narrow).await.0, 200);
    }

    #[tokio::test]
    async fn header_counts_can_be_made_to_disagree_with_the_body() {
        let sim = spawn(SimConfig::default()).await;
        let from = hour_ago();
        sim.seed(
            3,
            from,
            from + chrono::Duration::seconds(3),
            ProductMix::Player,
        );
        sim.set_count_mismatch(CountMismatch {
            pages_delta: 0,
            results_delta: 1,
            times: Some(1),
        });
        let query = format!("start_time={}", fmt(from));
        let (_, headers, body) = get(&sim, Some(DEFAULT_API_KEY), &query).await;
        assert_eq!(headers["number-of-results"], "4");
        assert_eq!(
            serde_json::from_str::<Vec<Value>>(&body).unwrap()[0]["results"],
            3
        );
        let (_, headers, _) = get(&sim, Some(DEFAULT_API_KEY), &query).await;
        assert_eq!(headers["number-of-results"], "3");
    }

    #[tokio::test]
    async fn a_late_log_appears_in_a_window_already_served() {
        let sim = spawn(SimConfig::default()).await;
        let from = hour_ago();
        let query = format!(
            "start_time={}&end_time={}",
            fmt(from),
            fmt(from + chrono::Duration::seconds(59))
        );
        assert_eq!(
            get(&sim, Some(DEFAULT_API_KEY), &query).await.1["number-of-results"],
            "0"
        );
        let late = json!({"@timestamp": (from + chrono::Duration::seconds(30)).format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                          "product_type": "Player", "event": {"action": "OPENED"}});
        sim.insert_logs(&[late]).unwrap();
        assert_eq!(
            get(&sim, Some(DEFAULT_API_KEY), &query).await.1["number-of-results"],
            "1"
        );
    }
}
