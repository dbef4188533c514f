//! The Lambda (or local one-shot) entry point: answer `--help`/`--version`, read the configuration (every
//! problem at once), build the poller once, hand its handler to the shared runtime.

use std::process::ExitCode;

use easysend_poller::{config, handle, Poller};
use tributary_shared::runtime::{self, Usage};
use tributary_shared::services::Services;

const USAGE: Usage = Usage {
    name: "easysend-poller",
    version: env!("CARGO_PKG_VERSION"),
    about: "Collects EasySend security logs window by window (get-security-logs) and lands them in S3 as gzip \
            NDJSON. An invocation may name the stream ({\"stream\": \"security-logs\"}, or a scheduled-event \
            envelope); none means the configured one.",
    usage: runtime::FUNCTION_USAGE,
    settings: config::settings,
};

fn main() -> ExitCode {
    USAGE.answer_and_exit();
    runtime::block_on_poller(USAGE.name, serve())
}

async fn serve() -> ExitCode {
    runtime::init_tracing();
    let (common, easysend) = match config::load() {
        Ok(configs) => configs,
        Err(error) => return runtime::config_failed(USAGE.name, &error),
    };
    let sdk = tributary_shared::aws::load().await;
    let poller = Poller::new(Services::new(&sdk, common), easysend);
    match runtime::run(|event| handle(&poller, event)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => runtime::failed(USAGE.name, &error),
    }
}
