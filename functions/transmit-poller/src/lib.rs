//! `transmit-poller`: collects Transmit Security Mosaic activity events into S3.
//!
//! One invocation handles one event type (`cis`, `admin`, `risk`, `verify`), named by the
//! schedule's input (`{"type": "cis"}`, or an EventBridge Rule `Scheduled Event` whose `detail`
//! or rule name carries it). The default operation collects (see [`drain`]); `stop` and
//! `delete-stream` take the stream down (see [`operations`]).
//!
//! The handler is [`Poller::handle`]; `main.rs` builds a [`Poller`] once and hands it to the
//! shared runtime, which runs it under Lambda or once locally.

pub mod catalogue;
pub mod client;
pub mod config;
pub mod drain;
pub mod error;
pub mod event_type;
pub mod mapping;
pub mod operations;

use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use tributary_shared::deadline::Deadline;
use tributary_shared::runtime::{self, Error};
use tributary_shared::schedule::Invocation;
use tributary_shared::services::Services;

pub use client::{ClientError, Credentials, TransmitClient};
pub use config::TransmitConfig;
pub use drain::{RunReport, Status};
pub use error::PollerError;
pub use event_type::EventType;
pub use operations::{StopReport, StopScope};

/// `tributary.collector` of every record, and the `Function` metric dimension.
pub const COLLECTOR: &str = "transmit-poller";

/// How long a lease outlives the invocation's own deadline, so a run that dies without
/// releasing it blocks the next one only briefly.
const LEASE_SLACK: Duration = Duration::from_secs(30);

/// The invocation's identity and time: who holds the lease, until when to work.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The lease owner: the Lambda request id, or a unique local id.
    pub id: String,
    /// When to have stopped (the Lambda deadline minus the safety margin).
    pub deadline: Deadline,
    /// How long to take the lease for: to the Lambda deadline plus a little.
    pub lease_for: Duration,
}

impl RunContext {
    /// From a Lambda context (its deadline in epoch milliseconds and request id).
    pub fn from_lambda(context: &Context, safety_margin: Duration) -> RunContext {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let left = Duration::from_millis(context.deadline.saturating_sub(now_ms));
        RunContext {
            id: runtime::lease_owner(COLLECTOR, context),
            deadline: Deadline::from_epoch_millis(context.deadline, safety_margin),
            lease_for: left + LEASE_SLACK,
        }
    }

    /// A run with `budget` from now (tools, the operator CLI).
    pub fn with_budget(budget: Duration) -> RunContext {
        RunContext {
            id: runtime::lease_owner(COLLECTOR, &Context::default()),
            deadline: Deadline::after(budget),
            lease_for: budget + LEASE_SLACK,
        }
    }
}

/// What an invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Collect,
    Stop(StopScope),
}

impl Operation {
    pub fn parse(operation: Option<&str>) -> Result<Operation, PollerError> {
        match operation.map(str::trim) {
            None | Some("") => Ok(Operation::Collect),
            Some(op) if op.eq_ignore_ascii_case("collect") => Ok(Operation::Collect),
            Some(op) => StopScope::parse(op)
                .map(Operation::Stop)
                .ok_or_else(|| PollerError::UnknownOperation(op.to_owned())),
        }
    }
}

/// Everything an invocation needs, built once per process.
pub struct Poller {
    pub services: Services,
    pub config: TransmitConfig,
    pub client: TransmitClient,
}

impl Poller {
    pub fn new(services: Services, config: TransmitConfig) -> Poller {
        let client = TransmitClient::new(
            services.http.clone(),
            services.config.http.clone(),
            config.api_base.clone(),
            config.token_url.clone(),
        );
        Poller {
            services,
            config,
            client,
        }
    }

    /// From `TRIBUTARY_*` variables and the standard AWS configuration.
    pub async fn from_env() -> Result<Poller, Error> {
        let services = Services::from_env().await?;
        let config = TransmitConfig::from_env()?;
        Ok(Poller::new(services, config))
    }

    /// The handler: `{"type": "cis"}` (or a Rule envelope naming it) collects;
    /// `{"operation": "stop" | "delete-stream", "type": …}` takes the stream down.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let run = RunContext::from_lambda(&event.context, self.services.config.safety_margin);
        let result = self.invoke(&event.payload, &run).await;
        if let Err(error) = &result {
            if matches!(
                error,
                PollerError::Invocation(_) | PollerError::UnknownOperation(_)
            ) {
                tracing::error!(message = "Invocation rejected.", error = %error);
            }
        }
        Ok(result?)
    }

    /// The handler's work without the Lambda wrapping (tests, the operator CLI).
    pub async fn invoke(&self, payload: &Value, run: &RunContext) -> Result<Value, PollerError> {
        let invocation = Invocation::parse(payload);
        let operation = Operation::parse(invocation.operation.as_deref())?;
        let name = invocation.stream_in(&EventType::NAMES)?;
        let event_type =
            EventType::parse(&name).expect("stream_in only returns one of the allowed names");
        let value = match operation {
            Operation::Collect => to_value(&self.collect(event_type, run).await?),
            Operation::Stop(scope) => to_value(&self.stop(event_type, scope, run).await?),
        };
        Ok(value)
    }

    /// One collection run of `event_type`.
    pub async fn collect(
        &self,
        event_type: EventType,
        run: &RunContext,
    ) -> Result<RunReport, PollerError> {
        let result = drain::collect(self, event_type, run).await;
        self.after(&result).await;
        result
    }

    /// Takes `event_type`'s stream down (see [`operations`]).
    pub async fn stop(
        &self,
        event_type: EventType,
        scope: StopScope,
        run: &RunContext,
    ) -> Result<StopReport, PollerError> {
        let result = operations::stop(self, event_type, scope, run).await;
        self.after(&result).await;
        result
    }

    /// Refused credentials may have been rotated: read the secret afresh next time.
    async fn after<T>(&self, result: &Result<T, PollerError>) {
        if let Err(PollerError::Client {
            source: ClientError::Credentials { .. },
            ..
        }) = result
        {
            self.services.secrets.forget(&self.config.secret_id).await;
            self.client.forget_token().await;
        }
    }

    /// The OIDC client id and secret from Secrets Manager (cached by the shared secrets cache).
    pub async fn credentials(&self) -> Result<Credentials, PollerError> {
        let secret = self.services.secrets.get(&self.config.secret_id).await?;
        Ok(Credentials {
            client_id: secret.field("client_id")?.expose().to_owned(),
            client_secret: secret.field("client_secret")?,
        })
    }
}

fn to_value<T: serde::Serialize>(report: &T) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_parse_with_collect_as_the_default() {
        assert_eq!(Operation::parse(None).unwrap(), Operation::Collect);
        assert_eq!(
            Operation::parse(Some("stop")).unwrap(),
            Operation::Stop(StopScope::Collection)
        );
        assert_eq!(
            Operation::parse(Some("delete_stream")).unwrap(),
            Operation::Stop(StopScope::Stream)
        );
        assert!(Operation::parse(Some("explode"))
            .unwrap_err()
            .to_string()
            .contains("explode"));
    }

    #[test]
    fn contexts_without_request_ids_get_distinct_owners() {
        let a = RunContext::from_lambda(&Context::default(), Duration::ZERO);
        let b = RunContext::from_lambda(&Context::default(), Duration::ZERO);
        assert_ne!(a.id, b.id);
    }
}
