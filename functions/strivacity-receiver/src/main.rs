//! The receiver in Lambda, behind a Function URL. Outside Lambda the same binary handles one Function URL
//! request read from a file (`strivacity-receiver events/strivacity-hec-account.json`, `-` for stdin) and prints
//! the response, so the sample payloads can be tried without deploying; the long-running local host is
//! `strivacity-receiver-standalone`.

use std::process::ExitCode;
use std::sync::Arc;

use strivacity_receiver::config::{self, ReceiverConfig};
use strivacity_receiver::{router, Receiver};
use tributary_shared::runtime::{self, Usage};

const USAGE: Usage = Usage {
    name: "strivacity-receiver",
    version: env!("CARGO_PKG_VERSION"),
    about: "Receives Strivacity event streaming over the Splunk HEC and Elasticsearch _bulk protocols behind a \
            Lambda Function URL, and acknowledges each batch only once it is in S3.",
    usage: "\
[request.json|-]
      In Lambda (AWS_LAMBDA_RUNTIME_API set) it serves the Function URL. Anywhere else it handles one Function
      URL request payload read from the file (- for stdin, like events/strivacity-hec-account.json) and prints
      the response; strivacity-receiver-standalone is the long-running local host.",
    settings: config::settings,
};

#[tokio::main]
async fn main() -> ExitCode {
    USAGE.answer_and_exit();
    runtime::init_tracing();
    let config = match ReceiverConfig::from_env() {
        Ok(config) => config,
        Err(error) => return runtime::config_failed(USAGE.name, &error),
    };
    let sdk = tributary_shared::aws::load().await;
    let receiver = Receiver::from_clients(
        config,
        tributary_shared::aws::s3_client(&sdk),
        tributary_shared::aws::secrets_client(&sdk),
    );
    match serve(router(Arc::new(receiver))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => runtime::failed(USAGE.name, &error),
    }
}

async fn serve(app: axum::Router) -> Result<(), lambda_http::Error> {
    if runtime::in_lambda() {
        return lambda_http::run(app).await;
    }
    let text = match std::env::args().nth(1).as_deref() {
        None | Some("-") => std::io::read_to_string(std::io::stdin())?,
        Some(option) if option.starts_with('-') => {
            return Err(format!("unknown option {option}; try --help").into())
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the request file {path}: {e}"))?,
    };
    let request = lambda_http::request::from_str(&text)
        .map_err(|e| format!("the file is not a Function URL request payload: {e}"))?;
    let response = strivacity_receiver::handle_once(app, request).await?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}
