//! Keeping a short lease alive while the run is: a background task renews it every third of its lifetime, so a run
//! that dies frees its stream within one lifetime, not at the Lambda deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::state::{StateError, StateStore};

/// A running heartbeat. Dropping it stops the renewals.
pub struct Heartbeat {
    lost: Arc<AtomicBool>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Renews `owner`'s lease on `stream` to `ttl` from now, every `ttl / 3`.
    pub fn start(state: StateStore, stream: String, owner: String, ttl: Duration) -> Heartbeat {
        let lost = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let every = (ttl / 3).max(Duration::from_millis(200));
        let task = tokio::spawn({
            let lost = lost.clone();
            let failures = failures.clone();
            async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await; // the first tick is immediate; the lease was just taken
                loop {
                    ticks.tick().await;
                    match state.renew(&stream, &owner, ttl).await {
                        Ok(_) => {}
                        Err(StateError::LostRace { .. }) => {
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // DynamoDB failing: keep trying; if the lease expires meanwhile and another run takes it,
                        // the next renewal (or checkpoint) finds out.
                        Err(error) => failures
                            .lock()
                            .expect("failures lock is never poisoned")
                            .push(error.to_string()),
                    }
                }
            }
        });
        Heartbeat {
            lost,
            failures,
            task,
        }
    }

    /// Whether a renewal found the lease held by another run.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Renewal errors since the last call (other than a lost lease).
    pub fn take_failures(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .failures
                .lock()
                .expect("failures lock is never poisoned"),
        )
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
