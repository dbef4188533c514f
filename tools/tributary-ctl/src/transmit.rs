//! `transmit stop`: takes a Transmit stream down through the transmit-poller library (the same code the
//! function runs for `{"operation": "stop"}`), under the stream's lease so it never races a collection run.

use std::time::Duration;

use transmit_poller::{EventType, Poller, PollerError, RunContext, StopReport, StopScope};

#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("unknown Transmit event type {0:?}; expected cis, admin, risk or verify")]
    UnknownType(String),
    #[error(transparent)]
    Poller(#[from] PollerError),
}

/// Deletes the deployment's stream of `event_type`, and unless `stream_only`, stops collection of the type.
pub async fn stop(
    poller: &Poller,
    event_type: &str,
    stream_only: bool,
    budget: Duration,
) -> Result<StopReport, StopError> {
    let event_type = EventType::parse(event_type)
        .ok_or_else(|| StopError::UnknownType(event_type.to_owned()))?;
    let scope = if stream_only {
        StopScope::Stream
    } else {
        StopScope::Collection
    };
    Ok(poller
        .stop(event_type, scope, &RunContext::with_budget(budget))
        .await?)
}

/// What the operator must do next, or the next scheduled run sets the stream up again.
pub fn schedule_reminder(event_type: &str) -> String {
    let parameter = match event_type.to_ascii_lowercase().as_str() {
        "cis" => "TransmitCisSchedule",
        "admin" => "TransmitAdminSchedule",
        "risk" => "TransmitRiskSchedule",
        _ => "TransmitVerifySchedule",
    };
    format!(
        "The {event_type} schedule still runs and its next run sets collection up again: deploy with \
         {parameter}=off (sam deploy --parameter-overrides {parameter}=off) to keep it stopped."
    )
}
