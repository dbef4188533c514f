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
        "Transmit {event_type}/{stream_id}: batch {batch}: {source}. The batch is kept in the state table \
         (parked batch {kept}) and the next run lands it first; {landed_before} events of this run landed \
         before it"
    )]
    NotLandedKept {
        event_type: EventType,
        stream_id: String,
        batch: u64,
        landed_before: u64,
        kept: String,
        #[source]
        source: Box<LandError>,
    },
    #[error(
        "Transmit {event_type}/{stream_id}: batch {batch}: {source}. Transmit had already handed \
         these events out and the state table could not keep them either ({keep_error}), so they are lost; \
         {landed_before} events of this run landed before this batch"
    )]
    NotLanded {
        event_type: EventType,
        stream_id: String,
        batch: u64,
        landed_before: u64,
        keep_error: String,
        #[source]
        source: Box<LandError>,
    },
    #[error(
        "Transmit {event_type}: the landing path is broken ({reason}); nothing was collected, so nothing was \
         lost. Fix the bucket, its permissions or its KMS key; the next run collects"
    )]
    LandingPath {
        event_type: EventType,
        reason: String,
    },
    #[error("Transmit {event_type}: parked batch {id} is named in state but its items are gone")]
    ParkedMissing { event_type: EventType, id: String },
    #[error("Transmit {event_type}: parked batch {id} cannot be read back: {reason}")]
    ParkedUnreadable {
        event_type: EventType,
        id: String,
        reason: String,
    },
    #[error(
        "Transmit {event_type}: parked batch {id} still does not land: {source}. It stays kept; nothing new \
         is collected until it lands"
    )]
    ParkedNotLanded {
        event_type: EventType,
        id: String,
        #[source]
        source: Box<LandError>,
    },
    #[error(
        "Transmit {event_type}: parked batch {id} may have landed its unparsed events before, and reading them \
         back failed: {reason}. It stays kept; nothing new is collected until it lands"
    )]
    ParkedReadBack {
        event_type: EventType,
        id: String,
        reason: String,
    },
    #[error(
        "Transmit {event_type}: a second collect answer of this run broke off ({error}); its fragment landed \
         under _unparsed. Stopping, so a connection that keeps breaking costs no more batches"
    )]
    CutTwice {
        event_type: EventType,
        error: String,
    },
}

impl PollerError {
    pub(crate) fn client(event_type: EventType) -> impl FnOnce(ClientError) -> PollerError {
        move |source| PollerError::Client { event_type, source }
    }
}
