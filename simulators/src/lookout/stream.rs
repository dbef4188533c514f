//! `GET /mra/stream/v2/events`: the SSE stream, one task per connection.
//!
//! The task writes into a small bounded channel that feeds the response body, so it produces
//! exactly as fast as the client reads and notices when the client goes away.

use std::io;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::mpsc;

use super::auth::{bearer, oauth_error};
use super::events::{self, EventType, TypeSet};
use super::state::{ConnectRecord, Fault, FaultAction, LookoutHandle};
use super::wire::FrameWriter;

type Chunk = Result<Bytes, io::Error>;

/// Flush what is buffered once it is this large.
const CHUNK_TARGET: usize = 64 * 1024;

/// The v1 error schema, the only one Lookout documents for non-OAuth errors.
fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "type": "Error",
            "statusCode": status.as_u16(),
            "errorCode": code,
            "message": message,
            "requestId": format!("{:016x}", fastrand::u64(..)),
        })),
    )
        .into_response()
}

pub(crate) async fn stream(
    State(sim): State<LookoutHandle>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let header_str = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut record = ConnectRecord {
        query: query.clone(),
        last_event_id: header_str("last-event-id"),
        accept: header_str("accept"),
        status: 200,
    };
    let response = open(&sim, &headers, &query, &record);
    record.status = response.status().as_u16();
    let mut c = sim.control();
    if record.status == 401 {
        c.stats.unauthorized_connects += 1;
    }
    c.stats.connects.push(record);
    response
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

fn open(
    sim: &LookoutHandle,
    headers: &HeaderMap,
    query: &[(String, String)],
    record: &ConnectRecord,
) -> Response {
    if let Some(status) = sim.control().fail_connects.pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut response = api_error(status, "SIMULATED_FAILURE", "simulated failure");
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        return response;
    }

    let Some(token) = bearer(headers).map(str::to_string) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "missing bearer token",
        );
    };
    let expires = sim.tokens().get(&token).map(|info| info.expires);
    match expires {
        None => {
            return unauthorized("The access token is not valid");
        }
        Some(at) if at <= Instant::now() => {
            return unauthorized("The access token expired");
        }
        Some(_) => {}
    }

    // Lookout's client sends `types`; another consumer sends `type`.
    let types = match param(query, "types").or_else(|| param(query, "type")) {
        None => TypeSet::ALL,
        Some(list) => {
            let mut parsed = Vec::new();
            for name in list.split(',').filter(|n| !n.trim().is_empty()) {
                match EventType::parse(name) {
                    Some(t) => parsed.push(t),
                    None => {
                        return api_error(
                            StatusCode::BAD_REQUEST,
                            "INVALID_PARAMETER",
                            &format!("unknown event type {name:?} in types"),
                        );
                    }
                }
            }
            TypeSet::from_types(parsed)
        }
    };

    // Resume point: `id` (Lookout's client), `last_id` (another consumer), the standard
    // `Last-Event-ID` header; otherwise `start_time`; otherwise from now on.
    let resume = param(query, "id")
        .or_else(|| param(query, "last_id"))
        .map(str::to_string)
        .or_else(|| {
            record
                .last_event_id
                .clone()
                .filter(|v| !v.trim().is_empty())
        });
    let cursor = if let Some(id) = resume {
        let after = events::parse_id(&id);
        if sim.control().settings.inclusive_resume {
            after.saturating_sub(1)
        } else {
            after
        }
    } else if let Some(start) = param(query, "start_time") {
        let Ok(start) = chrono::DateTime::parse_from_rfc3339(start) else {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_START_TIME",
                &format!("start_time {start:?} is not an ISO-8601 timestamp"),
            );
        };
        let max_lookback_s = sim.control().settings.max_lookback_s;
        let oldest = chrono::Utc::now().timestamp_millis() - max_lookback_s * 1000;
        if start.timestamp_millis() < oldest {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_START_TIME",
                "start_time can be at most 10 days in the past",
            );
        }
        events::id_floor_for_ms(start.timestamp_millis()).saturating_sub(1)
    } else {
        events::id_floor_for_ms(chrono::Utc::now().timestamp_millis()).saturating_sub(1)
    };

    let fault = {
        let mut c = sim.control();
        if let Some(not_before) = c.reconnect_not_before.take() {
            if Instant::now() < not_before {
                c.stats.early_reconnects += 1;
            }
        }
        c.stats.open_streams += 1;
        c.stats.max_open_streams = c.stats.max_open_streams.max(c.stats.open_streams);
        c.faults.pop_front()
    };

    let (tx, mut rx) = mpsc::channel::<Chunk>(8);
    let connection = Connection {
        sim: sim.clone(),
        token,
        types,
        cursor,
        fault,
        tx,
        buf: String::new(),
    };
    tokio::spawn(connection.run());
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn unauthorized(description: &str) -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", description);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

struct Connection {
    sim: LookoutHandle,
    token: String,
    types: TypeSet,
    /// Events after this id are still to be sent.
    cursor: u128,
    fault: Option<Fault>,
    tx: mpsc::Sender<Chunk>,
    buf: String,
}

/// Why a connection's loop stopped early.
struct Gone;

/// Decrements the open-stream count however the task ends.
struct OpenGuard(LookoutHandle);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.control().stats.open_streams -= 1;
    }
}

/// A batch read from the log.
struct Batch {
    json: String,
    spans: Vec<(usize, usize)>,
    first_id: u128,
    last_id: u128,
}

impl Batch {
    fn events(&self) -> Vec<&str> {
        self.spans.iter().map(|&(a, b)| &self.json[a..b]).collect()
    }
}

impl Connection {
    async fn run(mut self) {
        let _open = OpenGuard(self.sim.clone());
        let _ = self.serve().await;
    }

    async fn serve(&mut self) -> Result<(), Gone> {
        let mut appended = self.sim.0.appended.subscribe();
        let mut sent_on_connection: u64 = 0;
        let mut last_frame = Instant::now();
        let settings = self.sim.settings();
        if settings.bom {
            self.buf.push('\u{feff}');
        }
        if let Some(retry) = settings.initial_retry_ms {
            self.buf.push_str(&format!("retry:{retry}\n\n"));
        }
        loop {
            let settings = self.sim.settings();
            if self.sim.shut_down() || self.token_expired() {
                // The server ends the stream; the client's next connect gets a 401.
                return self.flush(settings.fragment).await;
            }

            if let Some(fault) = self.fault.filter(|f| sent_on_connection >= f.after_events) {
                self.fault = None;
                self.sim.control().stats.faults_fired.push(fault.action);
                match fault.action {
                    FaultAction::Reconnect { retry_ms } => {
                        return self
                            .close_with(Some(retry_ms), true, settings.fragment)
                            .await;
                    }
                    FaultAction::End { retry_ms } => {
                        return self.close_with(retry_ms, false, settings.fragment).await;
                    }
                    FaultAction::DropMidFrame => {
                        self.flush(settings.fragment).await?;
                        let batch = self.read_batch(settings.batch_size.max(2));
                        let mut frame = String::new();
                        let mut writer = FrameWriter::new(
                            &mut frame,
                            settings.wire.style_for_frame(self.frame_no()),
                        );
                        match &batch {
                            Some(b) => writer.events(&events::format_id(b.last_id), &b.events()),
                            None => writer.heartbeat(),
                        }
                        let cut = (frame.len() / 2).max(1);
                        let half = Bytes::copy_from_slice(&frame.as_bytes()[..cut]);
                        self.tx.send(Ok(half)).await.map_err(|_| Gone)?;
                        // An error item makes the server abort the connection without the
                        // closing chunk, as a dropped TCP connection looks to the client.
                        let _ = self
                            .tx
                            .send(Err(io::Error::new(
                                io::ErrorKind::ConnectionReset,
                                "simulated drop",
                            )))
                            .await;
                        return Ok(());
                    }
                    FaultAction::Silence { ms } => {
                        self.flush(settings.fragment).await?;
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                            _ = self.tx.closed() => return Err(Gone),
                        }
                        last_frame = Instant::now();
                        self.fault = self.sim.control().faults.pop_front();
                        continue;
                    }
                    FaultAction::ExpireToken => {
                        self.sim.expire_token(&self.token);
                        return self.flush(settings.fragment).await;
                    }
                    FaultAction::Malformed { kind } => {
                        let last = (sent_on_connection > 0).then(|| events::format_id(self.cursor));
                        let style = settings.wire.style_for_frame(self.frame_no());
                        FrameWriter::new(&mut self.buf, style).malformed(kind, last.as_deref());
                        self.count_frame(0);
                        // A client that survives the frame takes the next queued fault on this connection; one that
                        // must reject it reconnects, and the next connection takes it.
                        if kind.survivable() {
                            self.fault = self.sim.control().faults.pop_front();
                        }
                        continue;
                    }
                }
            }
            if let Some(every) = settings.reconnect_every {
                if sent_on_connection >= every {
                    return self
                        .close_with(Some(settings.retry_ms), true, settings.fragment)
                        .await;
                }
            }

            // Stop a batch exactly where a fault or a rotation is due.
            let mut limit = settings.batch_size.max(1) as u64;
            if let Some(fault) = self.fault {
                limit = limit.min(fault.after_events - sent_on_connection);
            }
            if let Some(every) = settings.reconnect_every {
                limit = limit.min(every - sent_on_connection);
            }

            appended.borrow_and_update();
            if let Some(batch) = self.read_batch(limit as usize) {
                let style = settings.wire.style_for_frame(self.frame_no());
                let mut writer = FrameWriter::new(&mut self.buf, style);
                if self.sim.take_corruption(batch.first_id, batch.last_id) {
                    writer.corrupt_events(&events::format_id(batch.last_id), &batch.events());
                } else {
                    writer.events(&events::format_id(batch.last_id), &batch.events());
                }
                let n = batch.spans.len() as u64;
                self.cursor = batch.last_id;
                sent_on_connection += n;
                self.count_frame(n);
                last_frame = Instant::now();
                if self.buf.len() >= CHUNK_TARGET || settings.batch_interval_ms > 0 {
                    self.flush(settings.fragment).await?;
                }
                if settings.batch_interval_ms > 0 {
                    let until = Instant::now() + Duration::from_millis(settings.batch_interval_ms);
                    while Instant::now() < until {
                        let heartbeat_due =
                            last_frame + Duration::from_millis(settings.heartbeat_ms);
                        tokio::select! {
                            _ = tokio::time::sleep_until(until.min(heartbeat_due).into()) => {}
                            _ = self.tx.closed() => return Err(Gone),
                        }
                        if Instant::now() >= heartbeat_due {
                            self.heartbeat(&settings).await?;
                            last_frame = Instant::now();
                        }
                    }
                }
                continue;
            }

            // Caught up: wait for new events, a heartbeat, or the token's expiry.
            self.flush(settings.fragment).await?;
            let heartbeat_due = last_frame + Duration::from_millis(settings.heartbeat_ms);
            let token_expiry = self.token_expiry().unwrap_or_else(Instant::now);
            tokio::select! {
                _ = appended.changed() => {}
                _ = tokio::time::sleep_until(heartbeat_due.into()) => {
                    self.heartbeat(&settings).await?;
                    last_frame = Instant::now();
                }
                _ = tokio::time::sleep_until(token_expiry.into()) => {}
                _ = self.tx.closed() => return Err(Gone),
            }
        }
    }

    fn frame_no(&self) -> u64 {
        self.sim.control().stats.frames_sent
    }

    fn count_frame(&self, events: u64) {
        let mut c = self.sim.control();
        c.stats.frames_sent += 1;
        c.stats.events_sent += events;
    }

    async fn heartbeat(&mut self, settings: &super::state::Settings) -> Result<(), Gone> {
        let style = settings.wire.style_for_frame(self.frame_no());
        FrameWriter::new(&mut self.buf, style).heartbeat();
        {
            let mut c = self.sim.control();
            c.stats.frames_sent += 1;
            c.stats.heartbeats_sent += 1;
        }
        self.flush(settings.fragment).await
    }

    async fn close_with(
        &mut self,
        retry_ms: Option<u64>,
        reconnect: bool,
        fragment: bool,
    ) -> Result<(), Gone> {
        let style = self.sim.settings().wire.style_for_frame(self.frame_no());
        let mut writer = FrameWriter::new(&mut self.buf, style);
        if reconnect {
            writer.reconnect(retry_ms.unwrap_or(0));
        } else {
            writer.end(retry_ms);
        }
        self.count_frame(0);
        if let Some(retry) = retry_ms {
            self.sim.control().reconnect_not_before =
                Some(Instant::now() + Duration::from_millis(retry));
        }
        self.flush(fragment).await
    }

    fn token_expiry(&self) -> Option<Instant> {
        self.sim.tokens().get(&self.token).map(|t| t.expires)
    }

    fn token_expired(&self) -> bool {
        self.token_expiry().is_none_or(|at| at <= Instant::now())
    }

    /// Up to `limit` events after the cursor that pass the type filter, rendered.
    fn read_batch(&self, limit: usize) -> Option<Batch> {
        let log = self.sim.log();
        let entries = &log.entries;
        let start = entries.partition_point(|e| e.id <= self.cursor);
        let mut batch = Batch {
            json: String::new(),
            spans: Vec::with_capacity(limit.min(1024)),
            first_id: self.cursor,
            last_id: self.cursor,
        };
        for entry in entries[start..]
            .iter()
            .filter(|e| self.types.contains(e.event_type))
        {
            if batch.spans.len() >= limit {
                break;
            }
            let a = batch.json.len();
            entry.render(self.sim.enterprise_guid(), &mut batch.json);
            if batch.spans.is_empty() {
                batch.first_id = entry.id;
            }
            batch.spans.push((a, batch.json.len()));
            batch.last_id = entry.id;
        }
        (!batch.spans.is_empty()).then_some(batch)
    }

    async fn flush(&mut self, fragment: bool) -> Result<(), Gone> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let bytes = Bytes::from(std::mem::take(&mut self.buf).into_bytes());
        if fragment {
            // Small random pieces, cut anywhere (inside a line, a CRLF pair or a UTF-8
            // sequence), so a client's parser meets every boundary.
            let mut at = 0;
            while at < bytes.len() {
                let end = (at + fastrand::usize(1..=97)).min(bytes.len());
                self.tx
                    .send(Ok(bytes.slice(at..end)))
                    .await
                    .map_err(|_| Gone)?;
                at = end;
            }
            Ok(())
        } else {
            self.tx.send(Ok(bytes)).await.map_err(|_| Gone)
        }
    }
}
