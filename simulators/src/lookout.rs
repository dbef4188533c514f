//! Lookout Mobile Risk API v2 event stream (SSE), as documented and as seen in the wild.
//!
//! - `POST /oauth2/token`: the application key as Bearer, `grant_type=client_credentials`;
//!   answers `access_token`, `token_type`, `expires_in` (s), `expires_at` (epoch ms), `scope`;
//!   an unknown key gets 401 `{"error":"invalid_client",...}`.
//! - `GET /mra/stream/v2/events`: `types` (or `type`) filter; resume after `id` (or `last_id`,
//!   or the `Last-Event-ID` header); first connect with `start_time`, at most 10 days back
//!   (400 otherwise); no resume point means "from now on". Events carry time-ordered UUIDv7
//!   ids, and the `id:` of an `events` frame is the id of its last event. An idle stream gets
//!   `event:heartbeat` every 5 s (configurable).
//!
//! Switches ([`Settings`], [`Fault`]) cover what a real server does at will or by accident:
//! every SSE wire variant, `reconnect` with `retry`, `end`, a connection dropped mid-frame,
//! silence without heartbeats, a token expiring mid-stream, malformed frames, failing
//! connects. Tests use the [`LookoutHandle`] of [`spawn`]; the demo uses `/_sim/...`
//! (see [`control`]).

mod auth;
pub mod control;
mod events;
mod state;
mod stream;
mod wire;

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::Router;

use crate::cli;

pub use events::EventType;
pub use state::{
    ConnectRecord, Fault, FaultAction, GenerateOptions, LookoutHandle, LookoutOptions, SeedSummary,
    Settings, SettingsPatch, Stats, DEFAULT_APP_KEY,
};
pub use wire::{LineEnding, Malformed, WireMode, WireStyle};

/// The simulator's routes over `sim`.
pub fn router(sim: LookoutHandle) -> Router {
    Router::new()
        .route("/oauth2/token", post(auth::token))
        .route("/mra/stream/v2/events", get(stream::stream))
        .route("/_sim/seed", post(control::seed))
        .route("/_sim/settings", post(control::settings))
        .route("/_sim/faults", post(control::faults))
        .route("/_sim/corrupt-frame", post(control::corrupt_frame))
        .route("/_sim/expire-tokens", post(control::expire_tokens))
        .route("/_sim/fail-connects", post(control::fail_connects))
        .route("/_sim/fail-tokens", post(control::fail_tokens))
        .route("/_sim/stats", get(control::stats))
        .route("/_sim/event-ids", get(control::event_ids))
        .with_state(sim)
}

/// A simulator serving on a loopback port in this process. Dropping it stops the server and
/// ends its open streams.
pub struct LookoutSim {
    base_url: String,
    handle: LookoutHandle,
    server: tokio::task::JoinHandle<()>,
}

impl LookoutSim {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn handle(&self) -> &LookoutHandle {
        &self.handle
    }
}

impl std::ops::Deref for LookoutSim {
    type Target = LookoutHandle;

    fn deref(&self) -> &LookoutHandle {
        &self.handle
    }
}

impl Drop for LookoutSim {
    fn drop(&mut self) {
        self.handle.shut_down_streams();
        self.server.abort();
    }
}

/// Starts a simulator on `127.0.0.1:0`.
pub async fn spawn(options: LookoutOptions) -> LookoutSim {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind a loopback port for the Lookout simulator");
    let addr = listener
        .local_addr()
        .expect("local address of a bound listener");
    let handle = LookoutHandle::new(options);
    let app = router(handle.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "Lookout simulator stopped");
        }
    });
    LookoutSim {
        base_url: format!("http://{addr}"),
        handle,
        server,
    }
}

/// `tributary-sim lookout [--port N] [--app-key KEY] [--heartbeat-ms N] [--batch-size N]
/// [--token-ttl-s N] [--wire lookout|mixed] [--seed N]`: serves until killed, its base URL the
/// first line on stdout ([`cli::serve`]).
pub async fn cli_main(args: &[String]) -> cli::CliResult {
    let mut options = LookoutOptions::default();
    let mut seed: u64 = 0;
    let port = cli::parse(args, |flag, args| {
        match flag {
            "--app-key" => options.app_keys = vec![args.value(flag)?],
            "--heartbeat-ms" => options.settings.heartbeat_ms = args.parse(flag)?,
            "--batch-size" => options.settings.batch_size = args.parse(flag)?,
            "--token-ttl-s" => options.settings.token_ttl_s = args.parse(flag)?,
            "--wire" => {
                options.settings.wire = match args.value(flag)?.as_str() {
                    "lookout" => WireMode::Lookout,
                    "mixed" => WireMode::Mixed,
                    other => {
                        return Err(format!("--wire {other}: expected lookout or mixed").into())
                    }
                }
            }
            "--seed" => seed = args.parse(flag)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let handle = LookoutHandle::new(options);
    if seed > 0 {
        handle.seed_generated(seed, &GenerateOptions::default())?;
    }
    cli::serve(port, router(handle)).await
}
