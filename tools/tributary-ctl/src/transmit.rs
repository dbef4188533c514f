//! `transmit stop`: takes a Transmit stream down through the transmit-poller library (the same code the
//! function runs for `{"operation": "stop"}`), under the stream's lease so it never races a collection run.

use std::time::Duration;

use transmit_poller::{EventType, Outcome, Poller, RunContext, StopReport, StopScope, COLLECTOR};
use tributary_shared::run::{RunFailure, RunReport};

#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("unknown Transmit event type {0:?}; expected cis, admin, risk or verify")]
    UnknownType(String),
    #[error(
        "another run ({held_by}) holds the {event_type} stream; try again when it has finished"
    )]
    Busy { event_type: String, held_by: String },
    #[error(
        "the {event_type} stream was taken over by another run before the stop finished; try again"
    )]
    LostLease { event_type: String },
    #[error(transparent)]
    Failed(#[from] RunFailure),
}

/// Deletes the deployment's stream of `event_type`, and unless `stream_only`, stops collection of the type.
pub async fn stop(
    poller: &Poller,
    event_type: &str,
    stream_only: bool,
    budget: Duration,
) -> Result<RunReport<StopReport>, StopError> {
    let event_type = EventType::parse(event_type)
        .ok_or_else(|| StopError::UnknownType(event_type.to_owned()))?;
    let scope = if stream_only {
        StopScope::Stream
    } else {
        StopScope::Collection
    };
    let report = poller
        .stop(
            event_type,
            scope,
            &RunContext::with_budget(COLLECTOR, budget),
        )
        .await?;
    match report.outcome {
        Outcome::Busy => Err(StopError::Busy {
            event_type: event_type.to_string(),
            held_by: report.held_by.unwrap_or_default(),
        }),
        Outcome::LostLease => Err(StopError::LostLease {
            event_type: event_type.to_string(),
        }),
        _ => Ok(report),
    }
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
