//! `run`: one invocation of a function's handler, here, with the function's own configuration: the same
//! library code Lambda runs, called the way `main.rs` calls it, so an operator can try a change of settings or
//! replay a sample event without deploying.

use std::path::Path;
use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tributary_shared::runtime::{self, Error};

/// The event to run with: a file (`-` for stdin), `{"stream": <name>}`, or `{}`.
pub fn event(path: Option<&Path>, stream: Option<&str>) -> Result<String, Error> {
    match (path, stream) {
        (Some(path), _) if path == Path::new("-") => Ok(std::io::read_to_string(std::io::stdin())?),
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the event file {}: {e}", path.display()).into()),
        (None, Some(stream)) => Ok(json!({ "stream": stream }).to_string()),
        (None, None) => Ok("{}".to_owned()),
    }
}

/// Runs `function`'s handler once with `event_text` and returns its answer.
pub async fn run(function: &str, event_text: &str) -> Result<Value, Error> {
    if function == "strivacity-receiver" {
        // The receiver is an HTTP function: its event is a Function URL request payload.
        let request = lambda_http::request::from_str(event_text)
            .map_err(|e| format!("the event is not a Function URL request payload: {e}"))?;
        let receiver = Arc::new(strivacity_receiver::Receiver::from_env().await?);
        return strivacity_receiver::handle_once(strivacity_receiver::router(receiver), request)
            .await;
    }
    let payload: Value =
        serde_json::from_str(event_text).map_err(|e| format!("the event is not JSON: {e}"))?;
    let timeout = tributary_shared::config::seconds_or("TRIBUTARY_LOCAL_TIMEOUT_SECONDS", 300)?;
    let event = LambdaEvent::new(payload, runtime::local_context(timeout));
    match function {
        "transmit-poller" => {
            let poller = transmit_poller::Poller::from_env().await?;
            Box::pin(poller.handle(event)).await
        }
        "easysend-poller" => {
            let poller = easysend_poller::Poller::from_env().await?;
            easysend_poller::handle(&poller, event).await
        }
        "lookout-stream" => {
            let collector = lookout_stream::Collector::from_env().await?;
            collector.handle(event).await
        }
        other => Err(format!("unknown function {other:?}").into()),
    }
}
