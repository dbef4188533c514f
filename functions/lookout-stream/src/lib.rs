//! `lookout-stream`: a scheduled Lambda that consumes the Lookout Mobile Risk API v2 event stream
//! (SSE) in bounded sessions and lands THREAT, DEVICE, AUDIT and SMISHING_ALERT events in S3.
//!
//! Each invocation takes the stream's lease, resumes from the last landed event id (or, the very
//! first time, from a configured look-back), reads until the deadline, lands and checkpoints as
//! it goes, and releases the lease. See [`session`] for the loop and its guarantees.

pub mod client;
pub mod config;
pub mod malformed;
pub mod mapping;
pub mod recent;
pub mod session;
pub mod sse;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tributary_shared::metrics::Unit;
use tributary_shared::run::{
    self, Finish, Run, RunContext, RunFailure, RunReport, Source, StreamId,
};
use tributary_shared::runtime::Error;
use tributary_shared::schedule::Invocation;
use tributary_shared::services::Services;

use crate::client::LookoutClient;
use crate::config::LookoutConfig;
use crate::session::{Session, SessionError, Stop};

/// The `collector` metadata of landed objects and the `Function` metric dimension.
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
}

impl Collector {
    pub fn new(services: Services, config: LookoutConfig) -> Self {
        let client = LookoutClient::new(
            &config,
            services.config.http.clone(),
            services.http.clone(),
            services.secrets.clone(),
        );
        Collector {
            services,
            config,
            client,
        }
    }

    pub async fn from_env() -> Result<Self, Error> {
        // Every problem with the settings at once, common and vendor alike.
        let (common, config) = config::load()?;
        let sdk = tributary_shared::aws::load().await;
        Ok(Collector::new(Services::new(&sdk, common), config))
    }

    pub fn config(&self) -> &LookoutConfig {
        &self.config
    }

    /// The handler: one bounded session. Answers what it did; fails when events could not be landed or the
    /// stream could not be read, so the failure shows as a Lambda error.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let stream = Invocation::parse(&event.payload).stream_in(&[STREAM])?;
        let run = RunContext::from_lambda(
            COLLECTOR,
            &event.context,
            self.services.config.safety_margin,
        );
        Ok(self.collect(&stream, &run).await?.to_value())
    }

    /// One bounded session on `stream`.
    pub async fn collect(
        &self,
        stream: &str,
        run: &RunContext,
    ) -> Result<RunReport<SessionDetail>, RunFailure> {
        let source = StreamSession {
            collector: self,
            stream,
        };
        run::run(&self.services, run, &source).await
    }
}

/// What a session adds to the shared run report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionDetail {
    /// Why reading stopped: `deadline`, `idle` or `lost_lease`.
    pub stopped: &'static str,
    pub flushes: u64,
    pub connections: u64,
    pub duplicates_skipped: u64,
    /// Unparsed events read again that an earlier session had landed: left out, not landed twice.
    pub unparsed_landed_before: u64,
}

/// The event stream, as a [`Source`] of the shared run cycle.
struct StreamSession<'c> {
    collector: &'c Collector,
    stream: &'c str,
}

impl Source for StreamSession<'_> {
    type Detail = SessionDetail;
    type Error = SessionError;

    fn id(&self) -> StreamId {
        StreamId::new(COLLECTOR, mapping::VENDOR, self.stream)
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        session::metric::ALL
    }

    async fn collect(
        &self,
        run: &mut Run<'_>,
        detail: &mut SessionDetail,
    ) -> Result<Finish, SessionError> {
        tracing::info!(
            message = "Session starting.",
            stream = self.stream,
            checkpoint = run.cursor().unwrap_or(""),
            time_budget_ms = run.deadline().remaining().as_millis() as u64
        );
        let config = &self.collector.config;
        let outcome = Session::new(config, &self.collector.client, run, self.stream)
            .run()
            .await?;
        let stop = outcome.stop.unwrap_or(Stop::Deadline);
        detail.stopped = stop.as_str();
        detail.flushes = outcome.flushes;
        detail.connections = outcome.connections;
        detail.duplicates_skipped = outcome.duplicates;
        detail.unparsed_landed_before = outcome.unparsed_landed_before;
        Ok(match stop {
            Stop::Idle => Finish::Drained,
            // A lost lease is the run cycle's to report; it knows already.
            Stop::Deadline | Stop::LostLease => Finish::OutOfTime,
        })
    }
}
