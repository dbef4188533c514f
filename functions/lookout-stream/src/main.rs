//! The Lambda entry point; outside Lambda, one local session with the event read from the file
//! named by the first argument (`events/lookout.json`), `-` for stdin.

use lookout_stream::Collector;
use tributary_shared::runtime;

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::init_tracing();
    let collector = Collector::from_env().await?;
    let collector = &collector;
    runtime::run(move |event| collector.handle(event)).await
}
