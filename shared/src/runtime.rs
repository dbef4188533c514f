//! Running a handler: inside Lambda through `lambda_runtime`, anywhere else as a one-shot local run of the very
//! same handler (`<binary> [event.json|-]`), which is what the demo, the tools and the benchmarks use.

use std::future::Future;
use std::time::Duration;

use lambda_runtime::{service_fn, Context, LambdaEvent};
use serde_json::Value;

use crate::deadline::Deadline;

pub type Error = lambda_runtime::Error;

/// JSON logs to stdout (CloudWatch in Lambda), level from `TRIBUTARY_LOG_LEVEL` or `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = crate::config::optional("TRIBUTARY_LOG_LEVEL")
        .or_else(|| crate::config::optional("RUST_LOG"))
        .unwrap_or_else(|| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether this process runs inside the Lambda runtime.
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// A context for a local run: a fresh request id and a deadline `timeout` from now.
pub fn local_context(timeout: Duration) -> Context {
    let now_ms = chrono::Utc::now().timestamp_millis() as u64;
    let mut context = Context::default();
    context.request_id = format!(
        "local-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    context.deadline = now_ms + timeout.as_millis() as u64;
    context
}

/// A lease owner unique to this invocation: the request id (so logs and state name the same run) plus a random
/// part, because Lambda may deliver one event twice under one request id and both copies must not share a lease.
pub fn lease_owner(collector: &str, context: &Context) -> String {
    let run = if context.request_id.is_empty() {
        collector
    } else {
        context.request_id.as_str()
    };
    format!("{run}#{:016x}", fastrand::u64(..))
}

/// The deadline of an invocation, minus `margin`.
pub fn deadline(context: &Context, margin: Duration) -> Deadline {
    Deadline::from_epoch_millis(context.deadline, margin)
}

/// Runs `handler` under Lambda, or once locally with the event read from the file named by the first argument
/// (`-` for stdin, none for `{}`), a deadline of `TRIBUTARY_LOCAL_TIMEOUT_SECONDS` (default 300) and the result
/// printed as JSON. A local run that fails exits non-zero.
pub async fn run<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    init_tracing();
    if in_lambda() {
        return lambda_runtime::run(service_fn(handler)).await;
    }
    let payload = read_local_event()?;
    let timeout = crate::config::seconds_or("TRIBUTARY_LOCAL_TIMEOUT_SECONDS", 300)?;
    let result = handler(LambdaEvent::new(payload, local_context(timeout))).await;
    match result {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(())
        }
        Err(error) => {
            tracing::error!(message = "Local run failed.", error = %error);
            std::process::exit(1);
        }
    }
}

fn read_local_event() -> Result<Value, Error> {
    let text = match std::env::args().nth(1).as_deref() {
        None => return Ok(Value::Object(Default::default())),
        Some("-") => std::io::read_to_string(std::io::stdin())?,
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read event file {path}: {e}"))?,
    };
    Ok(serde_json::from_str(&text).map_err(|e| format!("the event is not JSON: {e}"))?)
}
