//! `lookout-stream`: a scheduled Lambda that consumes the Lookout Mobile Risk API v2 event stream
//! (SSE) in bounded sessions and lands THREAT, DEVICE, AUDIT and SMISHING_ALERT events in S3.
//!
//! Each invocation takes the stream's lease, resumes from the last landed event id (or, the very
//! first time, from a configured look-back), reads until the deadline, lands and checkpoints as
//! it goes, and releases the lease. See [`session`] for the loop and its guarantees.

pub mod client;
pub mod config;
pub mod mapping;
pub mod recent;
pub mod session;
pub mod sse;

use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use tributary_shared::deadline::Deadline;
use tributary_shared::landing::Lander;
use tributary_shared::metrics::{names, RunMetrics, Unit};
use tributary_shared::runtime::{self, Error};
use tributary_shared::schedule::Invocation;
use tributary_shared::services::Services;
use tributary_shared::state::{LeaseOutcome, RunSummary};

use crate::client::LookoutClient;
use crate::config::LookoutConfig;
use crate::session::{Session, Stop};

/// `tributary.collector` and the `Function` metric dimension.
pub const COLLECTOR: &str = "lookout-stream";

/// The one stream this function reads; scheduled inputs may name it or not.
pub const STREAM: &str = "events";

/// The state item of `stream`.
pub fn state_key(stream: &str) -> String {
    format!("lookout#{stream}")
}

/// Built once per process, shared by every invocation (the token stays cached between them).
pub struct Collector {
    services: Services,
    config: LookoutConfig,
    client: LookoutClient,
    lander: Lander,
}

impl Collector {
    pub fn new(services: Services, config: LookoutConfig) -> Self {
        let client = LookoutClient::new(
            &config,
            services.config.http.clone(),
            services.http.clone(),
            services.secrets.clone(),
        );
        let lander = services.lander(COLLECTOR);
        Collector {
            services,
            config,
            client,
            lander,
        }
    }

    pub async fn from_env() -> Result<Self, Error> {
        let services = Services::from_env().await?;
        let config = LookoutConfig::from_env()?;
        Ok(Collector::new(services, config))
    }

    pub fn config(&self) -> &LookoutConfig {
        &self.config
    }

    /// The handler: one bounded session. Answers what it did; fails when events could not be
    /// landed or the stream could not be read, so the failure shows as a Lambda error.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let stream = Invocation::parse(&event.payload).stream_in(&[STREAM])?;
        let deadline = runtime::deadline(&event.context, self.services.config.safety_margin);
        let metrics = RunMetrics::new(COLLECTOR, &stream);
        let result = self
            .collect(&stream, &event.context, deadline, &metrics)
            .await;
        if result.is_err() {
            metrics.count(names::ERRORS, 1);
        }
        metrics.set(
            names::TIME_LEFT_MS,
            deadline.remaining().as_millis() as f64,
            Unit::Milliseconds,
        );
        metrics.emit();
        result
    }

    async fn collect(
        &self,
        stream: &str,
        context: &Context,
        deadline: Deadline,
        metrics: &RunMetrics,
    ) -> Result<Value, Error> {
        let started_at = chrono::Utc::now();
        let owner = runtime::lease_owner(COLLECTOR, context);
        // The lease lasts exactly as long as this invocation can: a crashed run frees the stream
        // at its deadline, and Lambda never lets it run past that.
        let lease_for = Duration::from_millis(
            context
                .deadline
                .saturating_sub(chrono::Utc::now().timestamp_millis() as u64),
        );
        let key = state_key(stream);
        let lease = match self.services.state.acquire(&key, &owner, lease_for).await? {
            LeaseOutcome::Acquired(lease) => *lease,
            LeaseOutcome::HeldByOther { owner, until } => {
                metrics.count(names::LEASE_BUSY, 1);
                tracing::info!(
                    message = "Another session holds the stream; not starting a second one.",
                    stream = %key,
                    holder = %owner,
                    until = ?until
                );
                return Ok(json!({"stream": stream, "status": "busy", "holder": owner}));
            }
        };
        tracing::info!(
            message = "Session starting.",
            stream = %key,
            checkpoint = lease.cursor().unwrap_or(""),
            time_budget_ms = deadline.remaining().as_millis() as u64
        );
        let session = Session::new(
            &self.config,
            &self.client,
            &self.lander,
            &self.services.state,
            metrics,
            stream,
            deadline,
            lease,
        );
        let (lease, result) = session.run().await;
        let summary = |outcome: &'static str, events: u64, error: Option<String>| RunSummary {
            started_at,
            outcome,
            events,
            error,
        };
        match result {
            Ok(outcome) => {
                let stop = outcome.stop.unwrap_or(Stop::Deadline);
                if stop != Stop::LostLease {
                    if let Err(error) = self
                        .services
                        .state
                        .finish(lease, &summary("ok", outcome.events, None))
                        .await
                    {
                        tracing::warn!(message = "Could not record the end of the session.", error = %error);
                    }
                }
                tracing::info!(
                    message = "Session ended.",
                    stream = %key,
                    stop = stop.as_str(),
                    events = outcome.events,
                    unparsed = outcome.unparsed,
                    checkpoint = outcome.cursor.as_deref().unwrap_or("")
                );
                Ok(json!({
                    "stream": stream,
                    "status": if stop == Stop::LostLease { "lost_lease" } else { "ok" },
                    "stopped": stop.as_str(),
                    "events": outcome.events,
                    "unparsed": outcome.unparsed,
                    "objects": outcome.objects,
                    "flushes": outcome.flushes,
                    "connections": outcome.connections,
                    "duplicates_skipped": outcome.duplicates,
                    "cursor": outcome.cursor,
                }))
            }
            Err(error) => {
                let text = error.to_string();
                tracing::error!(message = "Session failed.", stream = %key, error = %text);
                if let Err(finish_error) = self
                    .services
                    .state
                    .finish(lease, &summary("error", 0, Some(text.clone())))
                    .await
                {
                    tracing::warn!(message = "Could not record the failed session.", error = %finish_error);
                }
                Err(text.into())
            }
        }
    }
}
