//! Why an invocation failed. Each message says what failed, for which stream, and what it means
//! for the events.

use tributary_shared::landing::LandError;
use tributary_shared::run::CheckpointError;
use tributary_shared::schedule::InvocationError;
use tributary_shared::secrets::SecretError;

use crate::client::ClientError;
use crate::event_type::EventType;

#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    #[error(transparent)]
    Invocation(#[from] InvocationError),
    #[error("unknown operation {0:?}; expected \"collect\" (the default), \"stop\" or \"delete-stream\"")]
    UnknownOperation(String),
    #[error("Transmit credentials: {0}")]
    Secret(#[from] SecretError),
    #[error("Transmit {event_type}: {source}")]
    Client {
        event_type: EventType,
        #[source]
        source: ClientError,
    },
    #[error("Transmit: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error(
        "Transmit {event_type}/{stream_id}: batch {batch}: {source}. Transmit had already handed \
         these events out, so they cannot be collected again; {landed_before} events of this run \
         landed before this batch"
    )]
    NotLanded {
        event_type: EventType,
        stream_id: String,
        batch: u64,
        landed_before: u64,
        #[source]
        source: Box<LandError>,
    },
}

impl PollerError {
    pub(crate) fn client(event_type: EventType) -> impl FnOnce(ClientError) -> PollerError {
        move |source| PollerError::Client { event_type, source }
    }
}
