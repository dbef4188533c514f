//! One run of one event type as a [`Source`] of the shared run cycle, whatever the work: a collection
//! ([`crate::drain`]) or a stop ([`crate::operations`]). Both run under the type's lease, so they never race.

use serde::Serialize;
use tributary_shared::metrics::{names, Unit};
use tributary_shared::run::{Finish, Run, Source, StreamId};

use crate::client::{Call, Credentials};
use crate::error::PollerError;
use crate::event_type::EventType;
use crate::mapping::VENDOR;
use crate::{Poller, COLLECTOR};

/// Where a run of one event type works: the poller, the type, and its run under the lease.
pub struct At<'a, 'r> {
    pub poller: &'a Poller,
    pub event_type: EventType,
    pub run: &'a mut Run<'r>,
}

/// What one Transmit call of this run needs: its deadline, its metrics and the credentials.
pub fn call<'a>(run: &'a Run<'_>, credentials: &'a Credentials) -> Call<'a> {
    Call {
        deadline: run.deadline(),
        metrics: run.metrics(),
        credentials,
    }
}

/// How a piece of work ends.
pub type Worked = Result<Finish, PollerError>;

/// What a run of one event type does under its lease.
#[allow(async_fn_in_trait)]
pub trait TypeWork {
    /// What the work adds to the shared run report.
    type Detail: Serialize + Default;

    /// Bookkeeping the run's finish clears (see [`Source::cleared_at_finish`]).
    const CLEARED_AT_FINISH: &'static [&'static str] = &[];

    async fn work(&self, at: At<'_, '_>, detail: &mut Self::Detail) -> Worked;
}

pub struct TypeRun<'p, W> {
    pub poller: &'p Poller,
    pub event_type: EventType,
    pub work: W,
}

impl<W: TypeWork> Source for TypeRun<'_, W> {
    type Detail = W::Detail;
    type Error = PollerError;

    fn id(&self) -> StreamId {
        StreamId::new(COLLECTOR, VENDOR, self.event_type.as_str())
    }

    fn metrics(&self) -> &'static [(&'static str, Unit)] {
        &[(names::PENDING_BATCHES, Unit::Count)]
    }

    fn cleared_at_finish(&self) -> &'static [&'static str] {
        W::CLEARED_AT_FINISH
    }

    async fn collect(
        &self,
        run: &mut Run<'_>,
        detail: &mut W::Detail,
    ) -> Result<Finish, PollerError> {
        let at = At {
            poller: self.poller,
            event_type: self.event_type,
            run: &mut *run,
        };
        let result = self.work.work(at, detail).await;
        // What waits in the state table to land, whatever happened: the alarm on stuck batches reads it.
        run.metrics().set(
            names::PENDING_BATCHES,
            tributary_shared::parked::ids(run).len() as f64,
            Unit::Count,
        );
        // Refused credentials may have been rotated: read the secret afresh next time.
        if let Err(PollerError::Client {
            source: crate::ClientError::Credentials { .. },
            ..
        }) = &result
        {
            self.poller.forget_credentials().await;
        }
        result
    }
}
