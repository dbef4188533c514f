use easysend_poller::{handle, Poller};
use tributary_shared::runtime::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let poller = Poller::from_env().await?;
    runtime::run(|event| handle(&poller, event)).await
}
