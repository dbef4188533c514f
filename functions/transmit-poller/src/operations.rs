//! Operations besides the scheduled collection: the fourth step of the vendor's guide, stopping
//! collection and deleting streams that are no longer needed.
//!
//! Invoke the function with `{"operation": "delete-stream", "type": "cis"}` to delete this
//! deployment's stream of a type (collection of the type stays on for other streams), or with
//! `{"operation": "stop", "type": "cis"}` to delete it and stop collection of the type, which
//! deletes every stream of that type on Transmit. Events the stream had not handed out are gone
//! with it: run a collection first if they matter. Disable the type's schedule before stopping,
//! or the next scheduled run sets collection up again.

use serde::Serialize;
use tributary_shared::metrics::{names, RunMetrics};
use tributary_shared::record::rfc3339;
use tributary_shared::state::{LeaseOutcome, RunSummary};

use crate::client::{Call, Setup};
use crate::drain::{META_SETUP_AT, META_SETUP_STREAM};
use crate::error::PollerError;
use crate::event_type::EventType;
use crate::{Poller, RunContext, COLLECTOR};

/// How much to take down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopScope {
    /// `DELETE /activities/stream` for this deployment's stream only.
    Stream,
    /// The stream, then `DELETE /activities/stop-collect` for the whole type.
    Collection,
}

impl StopScope {
    /// The invocation's `operation`: `stop` or `delete-stream` (`delete_stream` too).
    pub fn parse(operation: &str) -> Option<StopScope> {
        match operation.to_ascii_lowercase().replace('_', "-").as_str() {
            "stop" | "stop-collect" => Some(StopScope::Collection),
            "delete-stream" => Some(StopScope::Stream),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub stream_id: String,
    pub operation: &'static str,
    /// `deleted` or `absent` (it did not exist).
    pub stream: &'static str,
    /// `stopped`, `was_off`, or `left_on` (delete-stream).
    pub collection: &'static str,
}

/// Deletes the stream (and, for [`StopScope::Collection`], stops collection of the type), under
/// the type's lease so it never races a collection run. State forgets the setup, so a later
/// collection run sets everything up again.
pub async fn stop(
    poller: &Poller,
    event_type: EventType,
    scope: StopScope,
    run: &RunContext,
) -> Result<StopReport, PollerError> {
    let metrics = RunMetrics::new(COLLECTOR, event_type.as_str());
    let result = stop_under_lease(poller, event_type, scope, run, &metrics).await;
    if let Err(error) = &result {
        metrics.count(names::ERRORS, 1);
        tracing::error!(message = "Stop failed.", event_type = %event_type, error = %error);
    }
    metrics.emit();
    result
}

async fn stop_under_lease(
    poller: &Poller,
    event_type: EventType,
    scope: StopScope,
    run: &RunContext,
    metrics: &RunMetrics,
) -> Result<StopReport, PollerError> {
    let state = &poller.services.state;
    let stream_id = poller.config.stream_id.as_str();
    let started_at = chrono::Utc::now();
    let mut lease = match state
        .acquire(&event_type.state_key(), &run.id, run.lease_for)
        .await
        .map_err(PollerError::state(event_type))?
    {
        LeaseOutcome::Acquired(lease) => *lease,
        LeaseOutcome::HeldByOther { owner, until } => {
            return Err(PollerError::Busy {
                event_type,
                owner,
                until: until
                    .map(|u| format!(" until {}", rfc3339(u)))
                    .unwrap_or_default(),
            })
        }
    };
    let work = async {
        let credentials = poller.credentials().await?;
        let call = Call {
            deadline: &run.deadline,
            metrics,
            credentials: &credentials,
        };
        let deleted = poller
            .client
            .delete_stream(&call, event_type, stream_id)
            .await
            .map_err(PollerError::client(event_type))?;
        let collection = match scope {
            StopScope::Stream => "left_on",
            StopScope::Collection => match poller
                .client
                .stop_collect(&call, event_type)
                .await
                .map_err(PollerError::client(event_type))?
            {
                Setup::Done => "stopped",
                Setup::AlreadySo => "was_off",
            },
        };
        state
            .set_meta(&mut lease, &[(META_SETUP_STREAM, ""), (META_SETUP_AT, "")])
            .await
            .map_err(PollerError::state(event_type))?;
        Ok::<_, PollerError>(StopReport {
            event_type: event_type.as_str(),
            stream_id: stream_id.to_owned(),
            operation: match scope {
                StopScope::Stream => "delete-stream",
                StopScope::Collection => "stop",
            },
            stream: if deleted == Setup::Done {
                "deleted"
            } else {
                "absent"
            },
            collection,
        })
    };
    let result = work.await;
    let summary = RunSummary {
        started_at,
        outcome: if result.is_ok() { "stopped" } else { "failed" },
        events: 0,
        error: result.as_ref().err().map(ToString::to_string),
    };
    let finished = state.finish(lease, &summary).await;
    let report = result?;
    finished.map_err(PollerError::state(event_type))?;
    tracing::info!(
        message = "Stream taken down.",
        event_type = %event_type,
        stream_id,
        stream = report.stream,
        collection = report.collection
    );
    Ok(report)
}
