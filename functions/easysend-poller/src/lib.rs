//! `easysend-poller`: collects EasySend security logs into S3.
//!
//! Each scheduled run takes the stream's lease, fetches `get-security-logs` in fixed, grid-aligned
//! windows from the cursor (re-fetching the last `overlap` for late logs) up to now minus `lag`, lands
//! each log under keys named after its five-minute cell, and moves the cursor to the window's end. See
//! [`cells`] for why overlap never doubles a log in S3, whatever the window size, [`pages`] for the streaming
//! parse, and [`mapping`] for the record shape.

pub mod cells;
pub mod client;
pub mod collect;
pub mod config;
pub mod mapping;
pub mod pages;
pub mod sweep;
pub mod unparsed_again;
pub mod windows;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tributary_shared::run::{self, RunContext, RunFailure, RunReport};
use tributary_shared::runtime::Error;
use tributary_shared::schedule::Invocation;
use tributary_shared::services::Services;

use crate::client::EasySendClient;
use crate::collect::{StreamCollection, WindowDetail};
use crate::config::EasySendConfig;

/// The function's name in metrics, logs and the `collector` metadata of landed objects.
pub const FUNCTION: &str = "easysend-poller";

/// Everything built once per process and shared by every invocation.
pub struct Poller {
    pub services: Services,
    pub config: EasySendConfig,
    client: EasySendClient,
}

impl Poller {
    pub fn new(services: Services, config: EasySendConfig) -> Self {
        let client = EasySendClient::new(
            services.http.clone(),
            services.config.http.clone(),
            &config.player_url,
            config.end_param.clone(),
            config.app_type.clone(),
            config.api_key_secret.clone(),
            config.request_timeout,
        );
        Poller {
            services,
            config,
            client,
        }
    }

    /// From `TRIBUTARY_*` variables and the standard AWS configuration chain.
    pub async fn from_env() -> Result<Self, Error> {
        // Every problem with the settings at once, common and vendor alike.
        let (common, config) = config::load()?;
        let sdk = tributary_shared::aws::load().await;
        Ok(Poller::new(Services::new(&sdk, common), config))
    }
}

/// The Lambda handler: a scheduled event (Scheduler input or Rule envelope) naming the stream, or none.
/// Answers with the run's report; a failed run is an error.
pub async fn handle(poller: &Poller, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    let stream = Invocation::parse(&payload).stream_in(&[poller.config.stream.as_str()])?;
    let run = RunContext::from_lambda(FUNCTION, &context, poller.services.config.safety_margin);
    Ok(collect_stream(poller, &stream, &run).await?.to_value())
}

/// One run of `stream` (the handler's work; the operator CLI's backfill runs a stream of its own).
pub async fn collect_stream(
    poller: &Poller,
    stream: &str,
    run: &RunContext,
) -> Result<RunReport<WindowDetail>, RunFailure> {
    let source = StreamCollection {
        poller,
        stream: stream.to_owned(),
    };
    run::run(&poller.services, run, &source).await
}
