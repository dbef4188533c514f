//! The Lambda (or local one-shot) entry point: answer `--help`/`--version`, read the configuration (every
//! problem at once), build the poller once, hand its handler to the shared runtime.

use std::process::ExitCode;

use transmit_poller::{config, Poller};
use tributary_shared::runtime::{self, Usage};
use tributary_shared::services::Services;

const USAGE: Usage = Usage {
    name: "transmit-poller",
    version: env!("CARGO_PKG_VERSION"),
    about: "Collects Transmit Security Mosaic activity events (cis, admin, risk, verify) and lands them in S3 as \
            gzip NDJSON. An invocation names the event type: {\"type\": \"cis\"} (or a scheduled-event envelope \
            naming it); {\"operation\": \"stop\" | \"delete-stream\", \"type\": ...} takes the stream down.",
    usage: runtime::FUNCTION_USAGE,
    settings: config::settings,
};

fn main() -> ExitCode {
    USAGE.answer_and_exit();
    runtime::block_on_poller(USAGE.name, serve())
}

async fn serve() -> ExitCode {
    runtime::init_tracing();
    let (common, transmit) = match config::load() {
        Ok(configs) => configs,
        Err(error) => return runtime::config_failed(USAGE.name, &error),
    };
    let sdk = tributary_shared::aws::load().await;
    let poller = Poller::new(Services::new(&sdk, common), transmit);
    let poller = &poller;
    // Boxed: the handler's future is deep enough to exceed the compiler's layout depth inline.
    match runtime::run(move |event| Box::pin(poller.handle(event))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => runtime::failed(USAGE.name, &error),
    }
}
