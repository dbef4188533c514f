//! `/_sim/...`: the same switches as [`LookoutHandle`], over HTTP, for the demo and benchmarks.
//!
//! - `POST /_sim/seed` `{"count":N,"types":[..],"start":"RFC 3339","spacing_ms":1}` or `{"events":[..]}`
//! - `POST /_sim/settings` a partial `Settings` (`heartbeat_ms`, `batch_size`, `wire`, ...)
//! - `POST /_sim/faults` one fault or a list, e.g. `{"after_events":100,"action":"reconnect","retry_ms":500}`
//! - `POST /_sim/corrupt-frame` `{"index":N,"times":1}`: the frame carrying the N-th event is sent corrupted that many
//!   times (`"times":null`: every time)
//! - `POST /_sim/expire-tokens`, `POST /_sim/fail-connects` / `fail-tokens` `{"status":503,"count":2}`
//! - `GET /_sim/stats`, `GET /_sim/event-ids`

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{Fault, GenerateOptions, LookoutHandle, SettingsPatch};

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum SeedRequest {
    Events {
        events: Vec<Value>,
    },
    Generate {
        count: u64,
        #[serde(flatten)]
        options: GenerateOptions,
    },
}

pub(crate) async fn seed(
    State(sim): State<LookoutHandle>,
    Json(request): Json<SeedRequest>,
) -> Response {
    let result = match request {
        SeedRequest::Events { events } => sim.seed_events(events),
        SeedRequest::Generate { count, options } => sim.seed_generated(count, &options),
    };
    match result {
        Ok(summary) => Json(summary).into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response(),
    }
}

pub(crate) async fn settings(
    State(sim): State<LookoutHandle>,
    Json(patch): Json<SettingsPatch>,
) -> Response {
    Json(sim.update_settings(patch)).into_response()
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum FaultRequest {
    One(Fault),
    Many(Vec<Fault>),
}

pub(crate) async fn faults(
    State(sim): State<LookoutHandle>,
    Json(request): Json<FaultRequest>,
) -> Response {
    let faults = match request {
        FaultRequest::One(f) => vec![f],
        FaultRequest::Many(fs) => fs,
    };
    let queued = faults.len();
    for fault in faults {
        sim.push_fault(fault);
    }
    Json(json!({ "queued": queued })).into_response()
}

#[derive(Deserialize)]
pub(crate) struct CorruptRequest {
    index: usize,
    times: Option<u32>,
}

pub(crate) async fn corrupt_frame(
    State(sim): State<LookoutHandle>,
    Json(request): Json<CorruptRequest>,
) -> Response {
    match sim.corrupt_frame_with(request.index, request.times) {
        Some(id) => Json(json!({ "event_id": id })).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": format!("no event at index {}", request.index) })),
        )
            .into_response(),
    }
}

pub(crate) async fn expire_tokens(State(sim): State<LookoutHandle>) -> Response {
    sim.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
pub(crate) struct FailRequest {
    status: u16,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

pub(crate) async fn fail_connects(
    State(sim): State<LookoutHandle>,
    Json(r): Json<FailRequest>,
) -> Response {
    sim.fail_next_connects(r.status, r.count);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn fail_tokens(
    State(sim): State<LookoutHandle>,
    Json(r): Json<FailRequest>,
) -> Response {
    sim.fail_next_tokens(r.status, r.count);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn stats(State(sim): State<LookoutHandle>) -> Response {
    Json(sim.stats()).into_response()
}

pub(crate) async fn event_ids(State(sim): State<LookoutHandle>) -> Response {
    Json(sim.event_ids()).into_response()
}
