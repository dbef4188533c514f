//! The command line of `tributary-ctl` (see `args`): parses, builds what the command needs from the
//! environment, prints the result (JSON where a program may read it) and exits non-zero on failure.

use std::process::ExitCode;

use tributary_ctl::args::{self, Command};
use tributary_ctl::{easysend, run, status, table, transmit, validate};
use tributary_shared::config::{ConfigError, Setting};
use tributary_shared::runtime::{self, Error};
use tributary_shared::services::Services;
use tributary_shared::state::StateStore;

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = match args::parse(&argv, chrono::Utc::now(), &settings_help()) {
        Ok(command) => command,
        Err(error) => {
            // Help and version go to stdout with status 0; usage mistakes to stderr with status 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    runtime::init_tracing();
    match execute(command).await {
        Ok(Verdict::Fine) => ExitCode::SUCCESS,
        Ok(Verdict::NeedsAttention) => ExitCode::from(NEEDS_ATTENTION),
        Err(error) => match error.downcast_ref::<ConfigError>() {
            Some(config) => runtime::config_failed("tributary-ctl", config),
            None => runtime::failed("tributary-ctl", &error),
        },
    }
}

/// Every setting of the four functions, each once, in the order the functions read them.
fn settings_help() -> String {
    let mut settings: Vec<Setting> = Vec::new();
    for list in [
        transmit_poller::config::settings(),
        easysend_poller::config::settings(),
        lookout_stream::config::settings(),
        strivacity_receiver::config::settings(),
    ] {
        for setting in list {
            if !settings.iter().any(|s| s.name == setting.name) {
                settings.push(setting);
            }
        }
    }
    runtime::settings_help(&settings)
}

/// The exit status of a command that worked but found something wrong (a stream failed, degraded or overdue; a
/// validation check failed): distinct from 1 (the command itself failed) and 2 (usage), so a health check can
/// tell "unhealthy" from "could not look".
const NEEDS_ATTENTION: u8 = 3;

enum Verdict {
    Fine,
    NeedsAttention,
}

impl Verdict {
    fn from_problems(problems: bool) -> Verdict {
        if problems {
            Verdict::NeedsAttention
        } else {
            Verdict::Fine
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Error> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn execute(command: Command) -> Result<Verdict, Error> {
    match command {
        Command::Status {
            json,
            wide,
            schedules,
        } => {
            // Only the table is needed: status works with nothing but TRIBUTARY_STATE_TABLE set.
            let table = tributary_shared::config::required("TRIBUTARY_STATE_TABLE")?;
            let sdk = tributary_shared::aws::load().await;
            let state = StateStore::new(tributary_shared::aws::dynamodb_client(&sdk), table);
            let now = chrono::Utc::now();
            let streams = status::load(&state, now, &schedules).await?;
            if json {
                print_json(&streams)?;
            } else {
                print!("{}", table::render(&streams, now, wide));
            }
            return Ok(Verdict::from_problems(
                streams.iter().any(|s| s.needs_attention()),
            ));
        }
        Command::Validate { function, json } => {
            let report = validate::validate(&function).await;
            if json {
                print_json(&report)?;
            } else {
                print!("{}", report.render());
            }
            return Ok(Verdict::from_problems(!report.ok));
        }
        Command::TransmitStop {
            event_type,
            stream_only,
            budget,
        } => {
            let (common, config) = transmit_poller::config::load()?;
            let sdk = tributary_shared::aws::load().await;
            let poller = transmit_poller::Poller::new(Services::new(&sdk, common), config);
            let report = transmit::stop(&poller, &event_type, stream_only, budget).await?;
            print_json(&report)?;
            eprintln!("{}", transmit::schedule_reminder(&event_type));
        }
        Command::EasySendBackfill { from, to, budget } => {
            let (common, config) = easysend_poller::config::load()?;
            let sdk = tributary_shared::aws::load().await;
            let services = Services::new(&sdk, common);
            let report = easysend::backfill(&services, &config, from, to, budget).await?;
            print_json(&report)?;
        }
        Command::Run {
            function,
            event,
            stream,
        } => {
            let text = run::event(event.as_deref(), stream.as_deref())?;
            let answer = run::run(&function, &text).await?;
            print_json(&answer)?;
        }
    }
    Ok(Verdict::Fine)
}
