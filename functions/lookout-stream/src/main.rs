//! The Lambda entry point; outside Lambda, one local session with the event read from the file
//! named by the first argument (`events/lookout.json`), `-` for stdin.

use std::process::ExitCode;

use lookout_stream::{config, Collector};
use tributary_shared::runtime::{self, Usage};
use tributary_shared::services::Services;

const USAGE: Usage = Usage {
    name: "lookout-stream",
    version: env!("CARGO_PKG_VERSION"),
    about: "Reads the Lookout Mobile Risk API v2 event stream (SSE) in one bounded session per invocation, \
            resuming after the last landed event, and lands the events in S3 as gzip NDJSON.",
    usage: runtime::FUNCTION_USAGE,
    settings: config::settings,
};

fn main() -> ExitCode {
    USAGE.answer_and_exit();
    runtime::block_on_poller(USAGE.name, serve())
}

async fn serve() -> ExitCode {
    runtime::init_tracing();
    let (common, lookout) = match config::load() {
        Ok(configs) => configs,
        Err(error) => return runtime::config_failed(USAGE.name, &error),
    };
    let sdk = tributary_shared::aws::load().await;
    let collector = Collector::new(Services::new(&sdk, common), lookout);
    let collector = &collector;
    match runtime::run(move |event| collector.handle(event)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => runtime::failed(USAGE.name, &error),
    }
}
