//! The command line, on clap: every command and option with its own `--help`, `--version`, and usage mistakes
//! named with a suggestion. [`parse`] turns the words into a [`Command`], resolving relative times against `now`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::schedule::Schedules;

const ABOUT: &str =
    "Operate a Tributary deployment with the functions' own configuration and state.";

const AFTER_HELP: &str = "\
Times are RFC 3339 (2026-11-23T10:00:00Z) or an age (36h, 90m, 2d). Durations: 300s, 5m, 1h.
Configuration: status reads only TRIBUTARY_STATE_TABLE; the other commands read the settings of the
function they act for (`<function> --help` lists one function's).
Exit status: 0 fine, 1 the command failed, 2 a usage mistake, 3 status or validate found a problem.";

#[derive(Debug, Parser)]
#[command(name = "tributary-ctl", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Words,
}

/// The functions a command can act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Function {
    TransmitPoller,
    EasysendPoller,
    LookoutStream,
    StrivacityReceiver,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::TransmitPoller => "transmit-poller",
            Function::EasysendPoller => "easysend-poller",
            Function::LookoutStream => "lookout-stream",
            Function::StrivacityReceiver => "strivacity-receiver",
        }
    }
}

#[derive(Debug, Subcommand)]
enum Words {
    /// Every stream in the state table: health, last run, lag, events landed; exit 3 if any needs attention.
    #[command(long_about = "\
Every stream in the state table: health, last run (how long ago, outcome, events), lag, total events
landed; --wide adds cursor, newest event, lease and the overdue limit. A stream is overdue when no run
finished within two schedule intervals plus one run's time (300 s).

Exit status 3 when any stream is failed, degraded or overdue (a health check), 0 otherwise.")]
    Status {
        /// Add cursor, newest event, lease and overdue limit columns.
        #[arg(long, conflicts_with = "json")]
        wide: bool,
        /// Print every field as JSON.
        #[arg(long)]
        json: bool,
        /// Schedule intervals, for the overdue flag: `10m`, `rate(1 hour)`, or per stream, comma-separated:
        /// `5m,easysend#security-logs=1h,transmit#admin=off`.
        #[arg(long, value_name = "INTERVALS", value_parser = Schedules::parse, default_value = "5m")]
        schedule: Schedules,
    },
    /// Check a function's configuration without collecting anything; exit 3 if a check fails.
    #[command(long_about = "\
Checks the function's configuration without collecting anything: every setting it reads, the secret's
shape, that the bucket and the state table exist and accept writes, and that the vendor URL answers.
Exit status 3 when a check fails.")]
    Validate {
        #[arg(value_enum)]
        function: Function,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Transmit: stop collecting an event type and delete its stream (stop).
    Transmit {
        #[command(subcommand)]
        command: TransmitWords,
    },
    /// EasySend: re-collect windows still inside the 48-hour retention (backfill).
    Easysend {
        #[command(subcommand)]
        command: EasySendWords,
    },
    /// Run a function's handler once, here, and print its answer.
    #[command(long_about = "\
Runs the function's handler once, here, and prints its answer (a receiver event is a Function URL
request payload, like events/strivacity-*.json).")]
    Run {
        #[arg(value_enum)]
        function: Function,
        /// The event: a file, or - for stdin.
        #[arg(long, value_name = "FILE", conflicts_with = "stream")]
        event: Option<PathBuf>,
        /// Run with {\"stream\": <NAME>}.
        #[arg(long, value_name = "NAME")]
        stream: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TransmitWords {
    /// Delete this deployment's stream of a type and stop collection of the type.
    #[command(long_about = "\
Deletes this deployment's Transmit stream of the type and stops collection of the type
(--stream-only: delete the stream, leave collection on). Turn the type's schedule off first.")]
    Stop {
        /// The event type.
        #[arg(long = "type", value_name = "TYPE", value_parser = ["cis", "admin", "risk", "verify"])]
        event_type: String,
        /// Delete the stream, leave collection on.
        #[arg(long)]
        stream_only: bool,
        /// How long the command may take.
        #[arg(long, value_parser = duration_arg, default_value = "5m")]
        budget: Duration,
    },
}

#[derive(Debug, Subcommand)]
enum EasySendWords {
    /// Re-collect EasySend's windows between --from and --to, without duplicates.
    #[command(long_about = "\
Re-collects EasySend's windows between --from and --to (default: now) with the poller's own window
collection. Objects are keyed by window, so nothing already landed is duplicated.")]
    Backfill {
        /// Start: an RFC 3339 time or an age (36h).
        #[arg(long, value_name = "TIME")]
        from: String,
        /// End: an RFC 3339 time or an age (default: now).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// How long the command may take.
        #[arg(long, value_parser = duration_arg, default_value = "5m")]
        budget: Duration,
    },
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Status {
        json: bool,
        wide: bool,
        schedules: Schedules,
    },
    Validate {
        function: String,
        json: bool,
    },
    TransmitStop {
        event_type: String,
        stream_only: bool,
        budget: Duration,
    },
    EasySendBackfill {
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
        budget: Duration,
    },
    Run {
        function: String,
        event: Option<PathBuf>,
        stream: Option<String>,
    },
}

/// The default time a command may take (the same as a local function run's default deadline).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).ok_or_else(|| format!("{text:?} is not a duration (e.g. 300s, 5m, 1h)"))
}

fn time_arg(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, clap::Error> {
    parse_time(text, now).map_err(|message| {
        <Cli as clap::CommandFactory>::command()
            .error(clap::error::ErrorKind::ValueValidation, message)
    })
}

/// Parses the arguments after the program name; `now` anchors relative times; `settings` (the functions'
/// settings and defaults) closes the top-level help. A help or version request is an `Err` too: clap's
/// [`clap::Error::print`] and [`clap::Error::exit_code`] do the right thing with each.
pub fn parse(args: &[String], now: DateTime<Utc>, settings: &str) -> Result<Command, clap::Error> {
    let command = <Cli as clap::CommandFactory>::command()
        .after_help(format!("{AFTER_HELP}\n\n{}", settings.trim_end()))
        .arg_required_else_help(true);
    let matches = command.try_get_matches_from(
        std::iter::once("tributary-ctl".to_owned()).chain(args.iter().cloned()),
    )?;
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
    Ok(match cli.command {
        Words::Status {
            wide,
            json,
            schedule,
        } => Command::Status {
            json,
            wide,
            schedules: schedule,
        },
        Words::Validate { function, json } => Command::Validate {
            function: function.name().to_owned(),
            json,
        },
        Words::Transmit {
            command:
                TransmitWords::Stop {
                    event_type,
                    stream_only,
                    budget,
                },
        } => Command::TransmitStop {
            event_type,
            stream_only,
            budget,
        },
        Words::Easysend {
            command: EasySendWords::Backfill { from, to, budget },
        } => Command::EasySendBackfill {
            from: time_arg(&from, now)?,
            to: to.map(|t| time_arg(&t, now)).transpose()?,
            budget,
        },
        Words::Run {
            function,
            event,
            stream,
        } => Command::Run {
            function: function.name().to_owned(),
            event,
            stream,
        },
    })
}

/// `90s`, `5m`, `36h`, `2d`, or plain seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// RFC 3339, or an age before `now` (`36h`).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    parse_duration(text)
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .map(|age| now - age)
        .ok_or_else(|| {
            format!("{text:?} is neither an RFC 3339 time (2026-11-23T10:00:00Z) nor an age (36h)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn parse_line(line: &str) -> Result<Command, clap::Error> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&args, now(), "")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    fn kind(line: &str) -> clap::error::ErrorKind {
        parse_line(line).unwrap_err().kind()
    }

    #[test]
    fn the_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn backfill_takes_rfc3339_times_and_ages() {
        let command = parse_line("easysend backfill --from 36h --to 2026-11-23T11:00:00Z").unwrap();
        assert_eq!(
            command,
            Command::EasySendBackfill {
                from: Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap(),
                to: Some(Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).unwrap()),
                budget: DEFAULT_BUDGET,
            }
        );
        let error = parse_line("easysend backfill --from yesterday")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("yesterday") && error.contains("RFC 3339"),
            "{error}"
        );
    }

    #[test]
    fn transmit_stop_needs_a_known_type_and_takes_options_in_any_order() {
        assert_eq!(
            kind("transmit stop"),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            kind("transmit stop --type cys"),
            clap::error::ErrorKind::InvalidValue
        );
        let command = parse_line("transmit stop --budget=2m --stream-only --type admin").unwrap();
        assert_eq!(
            command,
            Command::TransmitStop {
                event_type: "admin".into(),
                stream_only: true,
                budget: Duration::from_secs(120),
            }
        );
    }

    #[test]
    fn run_and_validate_name_a_known_function() {
        let error = parse_line("run transmit").unwrap_err().to_string();
        assert!(error.contains("transmit-poller"), "{error}");
        assert_eq!(
            parse_line("run transmit-poller --stream cis").unwrap(),
            Command::Run {
                function: "transmit-poller".into(),
                event: None,
                stream: Some("cis".into()),
            }
        );
        assert_eq!(
            kind("run easysend-poller --stream a --event b"),
            clap::error::ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse_line("validate lookout-stream --json").unwrap(),
            Command::Validate {
                function: "lookout-stream".into(),
                json: true,
            }
        );
        assert_eq!(
            kind("validate"),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn help_and_version_are_answers_not_commands() {
        for line in [
            "",
            "help",
            "--help",
            "-h",
            "status --help",
            "help validate",
            "easysend backfill -h",
        ] {
            let error = parse_line(line).unwrap_err();
            assert!(
                matches!(
                    error.kind(),
                    clap::error::ErrorKind::DisplayHelp
                        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ),
                "{line:?}: {error:?}"
            );
        }
        for line in ["--version", "-V"] {
            assert_eq!(
                kind(line),
                clap::error::ErrorKind::DisplayVersion,
                "{line:?}"
            );
        }
    }

    #[test]
    fn status_takes_a_view_and_schedules() {
        let Ok(Command::Status {
            wide, schedules, ..
        }) = parse_line("status --wide --schedule 10m,transmit#admin=off")
        else {
            panic!("status parses");
        };
        assert!(wide);
        assert_eq!(schedules.interval("transmit#admin"), None);
        assert_eq!(
            kind("status --wide --json"),
            clap::error::ErrorKind::ArgumentConflict
        );
        let error = parse_line("status --schedule soon")
            .unwrap_err()
            .to_string();
        assert!(error.contains("soon"), "{error}");
    }

    #[test]
    fn mistakes_are_named() {
        let error = parse_line("status --jsn").unwrap_err().to_string();
        assert!(
            error.contains("--jsn") && error.contains("--json"),
            "{error}"
        );
        assert_eq!(
            kind("status --json --json"),
            clap::error::ErrorKind::ArgumentConflict
        );
    }
}
