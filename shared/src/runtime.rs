//! Running a handler: inside Lambda through `lambda_runtime`, anywhere else as a one-shot local run of the very
//! same handler (`<binary> [event.json|-]`), which is what the demo, the tools and the benchmarks use.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use lambda_runtime::{service_fn, Context, LambdaEvent};
use serde_json::Value;

use crate::config::{ConfigError, Setting};
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

/// The Tokio runtime a poller runs its handler on: one thread.
///
/// A collection run is one sequence of awaits (fetch a page, land it, checkpoint) beside one background task, the
/// lease heartbeat. The heartbeat renews every third of the lease (15 s by default), far longer than the thread is
/// ever busy between two awaits. On a multi-thread runtime the HTTP connections' tasks run on worker threads, so a
/// response read wakes the handler's thread from another one: on the poller benches one thread measured 2–6 MiB
/// less peak memory and the same or up to 4% less CPU (`TRIBUTARY_BENCH_RUNTIME=multi-thread` measures the other).
pub fn poller_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Runs a poller's `main` to its end on [`poller_runtime`].
pub fn block_on_poller(name: &str, main: impl Future<Output = ExitCode>) -> ExitCode {
    match poller_runtime() {
        Ok(runtime) => runtime.block_on(main),
        Err(error) => failed(name, &format!("cannot start the async runtime: {error}")),
    }
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
        Some(option) if option.starts_with('-') && option != "-" => {
            return Err(format!("unknown option {option}; try --help").into())
        }
        Some("-") => std::io::read_to_string(std::io::stdin())?,
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read event file {path}: {e}"))?,
    };
    Ok(serde_json::from_str(&text).map_err(|e| format!("the event is not JSON: {e}"))?)
}

/// What a binary says about itself for `--help` and `--version`.
pub struct Usage {
    pub name: &'static str,
    pub version: &'static str,
    /// What the binary does.
    pub about: &'static str,
    /// How to run it: one form per line, each followed by indented lines that explain it.
    pub usage: &'static str,
    /// The `TRIBUTARY_*` settings it reads, with their defaults.
    pub settings: fn() -> Vec<Setting>,
}

/// The usage of a function binary run by [`run`].
pub const FUNCTION_USAGE: &str = "\
[event.json|-]
      In Lambda (AWS_LAMBDA_RUNTIME_API set) it serves invocations. Anywhere else it runs the handler once with
      the event read from the file (- for stdin, nothing for {}) and prints the answer as JSON; a failed run
      exits non-zero.";

impl Usage {
    /// `<name> <version>`.
    pub fn version_line(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    pub fn help(&self) -> String {
        let mut text = format!("{}\n{}\n\nUsage:\n", self.version_line(), self.about);
        for line in self.usage.lines() {
            if line.starts_with(' ') {
                text.push_str(&format!("{line}\n"));
            } else {
                text.push_str(&format!("  {} {line}\n", self.name));
            }
        }
        text.push_str(&format!("  {} --help | --version\n\n", self.name));
        text.push_str(&settings_help(&(self.settings)()));
        text
    }

    /// What `args` (without the program name) ask of the binary itself: its help or version text, if any.
    pub fn answer(&self, args: &[String]) -> Option<String> {
        args.iter().find_map(|arg| match arg.as_str() {
            "--help" | "-h" => Some(self.help()),
            "--version" | "-V" => Some(self.version_line()),
            _ => None,
        })
    }

    /// Prints the help or version and exits when the command line asks for one; before anything is read from
    /// the environment, so neither needs credentials, the network or any setting.
    pub fn answer_and_exit(&self) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if let Some(text) = self.answer(&args) {
            println!("{}", text.trim_end());
            std::process::exit(0);
        }
    }
}

/// The settings section of a `--help`: each variable with its default, and what it means.
pub fn settings_help(settings: &[Setting]) -> String {
    let mut text = "Settings (environment variables; AWS credentials, region and endpoint come from the standard \
                    AWS variables):\n"
        .to_owned();
    for setting in settings {
        text.push_str(&format!("  {} ({})\n", setting.name, setting.default));
        if !setting.about.is_empty() {
            text.push_str(&format!("      {}\n", setting.about));
        }
    }
    text
}

/// Reports a configuration that cannot be used, every problem on its own line, and gives the exit code to end
/// with: plain text on stderr, or under Lambda one JSON log line (what CloudWatch shows of a failed start).
pub fn config_failed(name: &str, error: &ConfigError) -> ExitCode {
    if in_lambda() {
        init_tracing();
        tracing::error!(message = "The configuration is not valid.", function = name, error = %error);
    } else {
        let problems: String = error
            .to_string()
            .lines()
            .map(|l| format!("\n  {l}"))
            .collect();
        eprintln!(
            "{name}: the configuration is not valid:{problems}\n\
             Run `{name} --help` for every setting and its default."
        );
    }
    ExitCode::FAILURE
}

/// Reports why the binary stopped, in plain words (stderr, or a JSON log line under Lambda), and gives the exit
/// code to end with.
pub fn failed(name: &str, error: &dyn Display) -> ExitCode {
    if in_lambda() {
        init_tracing();
        tracing::error!(message = "Stopped.", function = name, error = %error);
    } else {
        eprintln!("{name}: {error}");
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Reader;

    fn usage() -> Usage {
        Usage {
            name: "demo",
            version: "1.2.3",
            about: "Does a demo.",
            usage: FUNCTION_USAGE,
            settings: || {
                let mut reader = Reader::from_vars([]);
                reader.required("TRIBUTARY_BUCKET", "the landing bucket");
                reader.seconds("TRIBUTARY_WAIT_SECONDS", 5, "how long to wait");
                reader.into_settings()
            },
        }
    }

    #[test]
    fn help_says_how_to_run_and_lists_the_settings_with_defaults() {
        let help = usage().answer(&["-h".to_owned()]).unwrap();
        assert!(help.starts_with("demo 1.2.3\nDoes a demo."), "{help}");
        assert!(help.contains("  demo [event.json|-]\n"), "{help}");
        assert!(
            help.contains("  TRIBUTARY_BUCKET (required)\n      the landing bucket\n"),
            "{help}"
        );
        assert!(
            help.contains("  TRIBUTARY_WAIT_SECONDS (default 5)\n"),
            "{help}"
        );
    }

    #[test]
    fn version_is_name_and_version_and_other_arguments_are_left_alone() {
        let u = usage();
        assert_eq!(
            u.answer(&["--version".to_owned()]).as_deref(),
            Some("demo 1.2.3")
        );
        assert_eq!(u.answer(&["-V".to_owned()]).as_deref(), Some("demo 1.2.3"));
        assert_eq!(u.answer(&["events/x.json".to_owned()]), None);
        assert_eq!(u.answer(&[]), None);
    }
}
