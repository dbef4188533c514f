//! The Lambda (or local one-shot) entry point: build the poller once, hand its handler to the
//! shared runtime.

use transmit_poller::Poller;
use tributary_shared::runtime::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let poller = Poller::from_env().await?;
    let poller = &poller;
    // Boxed: the handler's future is deep enough to exceed the compiler's layout depth inline.
    runtime::run(move |event| Box::pin(poller.handle(event))).await
}
