//! Operations besides the scheduled collection: the fourth step of the vendor's guide, stopping
//! collection and deleting streams that are no longer needed.
//!
//! Invoke the function with `{"operation": "delete-stream", "type": "cis"}` to delete this
//! deployment's stream of a type (collection of the type stays on for other streams), or with
//! `{"operation": "stop", "type": "cis"}` to delete it and stop collection of the type, which
//! deletes every stream of that type on Transmit. Events the stream had not handed out are gone
//! with it: run a collection first if they matter. Disable the type's schedule before stopping,
//! or the next scheduled run sets collection up again.
//!
//! A stop runs through the shared run cycle like a collection (the type's lease, so it never races a collection
//! run; its outcome in state and metrics), collecting nothing.

use serde::Serialize;
use tributary_shared::run::Finish;

use crate::client::Setup;
use crate::drain::{META_SETUP_AT, META_SETUP_STREAM};
use crate::error::PollerError;
use crate::type_run::{self, At, TypeWork, Worked};

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

/// What a stop adds to the shared run report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StopReport {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub stream_id: String,
    pub operation: &'static str,
    /// `deleted` or `absent` (it did not exist).
    pub stream_status: &'static str,
    /// `stopped`, `was_off`, or `left_on` (delete-stream).
    pub collection: &'static str,
}

/// Deletes the stream (and, for [`StopScope::Collection`], stops collection of the type). State forgets the
/// setup, so a later collection run sets everything up again.
pub struct Stop {
    pub scope: StopScope,
}

impl TypeWork for Stop {
    type Detail = StopReport;

    async fn work(&self, at: At<'_, '_>, report: &mut StopReport) -> Worked {
        let (poller, event_type, run) = (at.poller, at.event_type, at.run);
        let stream_id = poller.config.stream_id.as_str();
        report.event_type = event_type.as_str();
        report.stream_id = stream_id.to_owned();
        report.operation = match self.scope {
            StopScope::Stream => "delete-stream",
            StopScope::Collection => "stop",
        };
        let credentials = poller.credentials().await?;
        let call = type_run::call(run, &credentials);
        let deleted = poller
            .client
            .delete_stream(&call, event_type, stream_id)
            .await
            .map_err(PollerError::client(event_type))?;
        report.stream_status = if deleted == Setup::Done {
            "deleted"
        } else {
            "absent"
        };
        report.collection = match self.scope {
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
        run.set_meta(&[(META_SETUP_STREAM, ""), (META_SETUP_AT, "")])
            .await?;
        tracing::info!(
            message = "Stream taken down.",
            event_type = %event_type,
            stream_id,
            stream = report.stream_status,
            collection = report.collection
        );
        Ok(Finish::Drained)
    }
}
