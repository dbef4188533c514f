//! The Lambda entry point; outside Lambda, one local invocation with the event read from the file named by the
//! first argument (an SQS batch of landing notifications, or `{"rebuild": [...]}`), `-` for stdin.

use std::process::ExitCode;

use security_lake_writer::{config, Writer};
use tributary_shared::runtime::{self, Usage};

const USAGE: Usage = Usage {
    name: "security-lake-writer",
    version: env!("CARGO_PKG_VERSION"),
    about: "Rewrites each event hour that landing notifications name as OCSF Parquet files in Amazon Security \
            Lake's custom-source layout, one file per OCSF class and hour, built from all of the hour's objects.",
    usage: runtime::FUNCTION_USAGE,
    settings: config::settings,
};

#[tokio::main]
async fn main() -> ExitCode {
    USAGE.answer_and_exit();
    runtime::init_tracing();
    let config = match config::load() {
        Ok(config) => config,
        Err(error) => return runtime::config_failed(USAGE.name, &error),
    };
    let sdk = tributary_shared::aws::load().await;
    let writer = Writer::new(&sdk, config).await;
    let writer = &writer;
    // Boxed: the handler's future (SQS batch → hours → objects read in parallel → S3 calls) is deep enough to
    // exceed the compiler's layout depth inline.
    match runtime::run(move |event| Box::pin(writer.handle(event))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => runtime::failed(USAGE.name, &error),
    }
}
