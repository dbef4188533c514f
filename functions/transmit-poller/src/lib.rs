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
pub mod keep;
pub mod mapping;
pub mod operations;
pub mod type_run;

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tributary_shared::run::{self, RunFailure, RunReport};
use tributary_shared::runtime::Error;
use tributary_shared::schedule::Invocation;
use tributary_shared::services::Services;
use type_run::TypeRun;

pub use client::{ClientError, Credentials, TransmitClient};
pub use config::TransmitConfig;
pub use drain::{CollectDetail, Collection};
pub use error::PollerError;
pub use event_type::EventType;
pub use operations::{Stop, StopReport, StopScope};
pub use tributary_shared::run::{Outcome, RunContext};

/// The `collector` metadata of every landed object, and the `Function` metric dimension.
pub const COLLECTOR: &str = "transmit-poller";

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
        // Every problem with the settings at once, common and vendor alike.
        let (common, config) = config::load()?;
        let sdk = tributary_shared::aws::load().await;
        Ok(Poller::new(Services::new(&sdk, common), config))
    }

    /// The handler: `{"type": "cis"}` (or a Rule envelope naming it) collects;
    /// `{"operation": "stop" | "delete-stream", "type": …}` takes the stream down.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let run = RunContext::from_lambda(
            COLLECTOR,
            &event.context,
            self.services.config.safety_margin,
        );
        self.invoke(&event.payload, &run).await
    }

    /// The handler's work without the Lambda wrapping (tests, the operator CLI).
    pub async fn invoke(&self, payload: &Value, run: &RunContext) -> Result<Value, Error> {
        let invocation = Invocation::parse(payload);
        let parsed = Operation::parse(invocation.operation.as_deref()).and_then(|operation| {
            let name = invocation.stream_in(&EventType::NAMES)?;
            let event_type =
                EventType::parse(&name).expect("stream_in only returns one of the allowed names");
            Ok((operation, event_type))
        });
        let (operation, event_type) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::error!(message = "Invocation rejected.", error = %error);
                return Err(error.into());
            }
        };
        Ok(match operation {
            Operation::Collect => self.collect(event_type, run).await?.to_value(),
            Operation::Stop(scope) => self.stop(event_type, scope, run).await?.to_value(),
        })
    }

    /// One collection run of `event_type`.
    pub async fn collect(
        &self,
        event_type: EventType,
        run: &RunContext,
    ) -> Result<RunReport<CollectDetail>, RunFailure> {
        let source = TypeRun {
            poller: self,
            event_type,
            work: Collection,
        };
        run::run(&self.services, run, &source).await
    }

    /// Takes `event_type`'s stream down (see [`operations`]).
    pub async fn stop(
        &self,
        event_type: EventType,
        scope: StopScope,
        run: &RunContext,
    ) -> Result<RunReport<StopReport>, RunFailure> {
        let source = TypeRun {
            poller: self,
            event_type,
            work: Stop { scope },
        };
        run::run(&self.services, run, &source).await
    }

    /// Forgets the cached secret and token, so rotated credentials are read afresh next time.
    pub(crate) async fn forget_credentials(&self) {
        self.services.secrets.forget(&self.config.secret_id).await;
        self.client.forget_token().await;
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
}
