//! The receiver in Lambda, behind a Function URL. Outside Lambda the same binary handles one Function URL
//! request read from a file (`strivacity-receiver events/strivacity-hec-account.json`, `-` for stdin) and prints
//! the response, so the sample payloads can be tried without deploying; the long-running local host is
//! `strivacity-receiver-standalone`.

use std::sync::Arc;

use strivacity_receiver::{router, Receiver};
use tributary_shared::runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let receiver = Arc::new(Receiver::from_env().await?);
    let app = router(receiver);
    if runtime::in_lambda() {
        return lambda_http::run(app).await;
    }
    let text = match std::env::args().nth(1).as_deref() {
        None | Some("-") => std::io::read_to_string(std::io::stdin())?,
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the request file {path}: {e}"))?,
    };
    let request = lambda_http::request::from_str(&text)
        .map_err(|e| format!("the file is not a Function URL request payload: {e}"))?;
    let response = strivacity_receiver::handle_once(app, request).await?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}
