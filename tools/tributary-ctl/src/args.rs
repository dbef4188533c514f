//! The command line: a handful of subcommands, parsed by hand (no argument crate needed for so few). Every
//! subcommand answers `--help` with its own section of [`USAGE`].

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::schedule::Schedules;

pub const USAGE: &str = "\
tributary-ctl: operate a Tributary deployment with the functions' own configuration and state.

Usage:
  tributary-ctl help | --help | --version | <command> --help
  tributary-ctl status [--wide|--json] [--schedule <intervals>]
      Every stream in the state table: health, last run (how long ago, outcome, events), lag, total
      events landed; --wide adds cursor, newest event, lease and the overdue limit. A stream is
      overdue when no run finished within two schedule intervals plus one run's time (300 s).
      --schedule says the intervals (default 5m): `10m`, `rate(1 hour)`, or per stream, comma-
      separated: `5m,easysend#security-logs=1h,transmit#admin=off`.
      Exit status 3 when any stream is failed, degraded or overdue (a health check), 0 otherwise.
  tributary-ctl validate <transmit-poller|easysend-poller|lookout-stream|strivacity-receiver> [--json]
      Checks the function's configuration without collecting anything: every setting it reads,
      the secret's shape, that the bucket and the state table exist and accept writes, and that
      the vendor URL answers. Exit status 3 when a check fails.
  tributary-ctl transmit stop --type <cis|admin|risk|verify> [--stream-only] [--budget <duration>]
      Deletes this deployment's Transmit stream of the type and stops collection of the type
      (--stream-only: delete the stream, leave collection on). Turn the type's schedule off first.
  tributary-ctl easysend backfill --from <time> [--to <time>] [--budget <duration>]
      Re-collects EasySend's windows between --from and --to (default: now) with the poller's own
      window collection. Objects are keyed by window, so nothing already landed is duplicated.
  tributary-ctl run <transmit-poller|easysend-poller|lookout-stream|strivacity-receiver>
                    [--event <file>|-] [--stream <name>]
      Runs the function's handler once, here, and prints its answer (a receiver event is a
      Function URL request payload, like events/strivacity-*.json).

Times are RFC 3339 (2026-11-23T10:00:00Z) or an age (36h, 90m, 2d). Durations: 300s, 5m, 1h.
Configuration: status reads only TRIBUTARY_STATE_TABLE; the other commands read the settings of the
function they act for, listed below (`<function> --help` lists one function's).";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Version,
    /// One command's section of the usage text.
    CommandHelp(&'static str),
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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("{0}\n\nRun `tributary-ctl help` for usage.")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> ArgsError {
    ArgsError::Invalid(message.into())
}

/// The default time a command may take (the same as a local function run's default deadline).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

pub const FUNCTIONS: &[&str] = &[
    "transmit-poller",
    "easysend-poller",
    "lookout-stream",
    "strivacity-receiver",
];

/// Parses the arguments after the program name; `now` anchors relative times.
pub fn parse(args: &[String], now: DateTime<Utc>) -> Result<Command, ArgsError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["help" | "--help" | "-h", ..] => Ok(Command::Help),
        ["version" | "--version" | "-V", ..] => Ok(Command::Version),
        [command, rest @ ..] if rest.iter().any(|w| matches!(*w, "--help" | "-h")) => {
            section(command).map(Command::CommandHelp)
        }
        ["status", rest @ ..] => {
            let mut options = Options::new(rest, &["--json", "--wide"], &["--schedule"])?;
            let (json, wide) = (options.flag("--json"), options.flag("--wide"));
            if json && wide {
                return Err(invalid("give --wide or --json, not both"));
            }
            let schedules = match options.value("--schedule") {
                Some(text) => Schedules::parse(&text).map_err(invalid)?,
                None => Schedules::default(),
            };
            Ok(Command::Status {
                json,
                wide,
                schedules,
            })
        }
        ["validate", function, rest @ ..] if !function.starts_with('-') => {
            let function = known_function(function)?;
            let mut options = Options::new(rest, &["--json"], &[])?;
            Ok(Command::Validate {
                function,
                json: options.flag("--json"),
            })
        }
        ["validate", ..] => Err(invalid(format!(
            "validate needs a function: {}",
            FUNCTIONS.join(", ")
        ))),
        ["transmit", "stop", rest @ ..] => {
            let mut options = Options::new(rest, &["--stream-only"], &["--type", "--budget"])?;
            let event_type = options
                .value("--type")
                .ok_or_else(|| invalid("transmit stop needs --type <cis|admin|risk|verify>"))?;
            Ok(Command::TransmitStop {
                event_type,
                stream_only: options.flag("--stream-only"),
                budget: options.duration("--budget")?.unwrap_or(DEFAULT_BUDGET),
            })
        }
        ["easysend", "backfill", rest @ ..] => {
            let mut options = Options::new(rest, &[], &["--from", "--to", "--budget"])?;
            let from = options
                .value("--from")
                .ok_or_else(|| invalid("easysend backfill needs --from <time>"))?;
            let from = parse_time(&from, now)?;
            let to = options
                .value("--to")
                .map(|t| parse_time(&t, now))
                .transpose()?;
            Ok(Command::EasySendBackfill {
                from,
                to,
                budget: options.duration("--budget")?.unwrap_or(DEFAULT_BUDGET),
            })
        }
        ["run", function, rest @ ..] if !function.starts_with('-') => {
            let function = known_function(function)?;
            let mut options = Options::new(rest, &[], &["--event", "--stream"])?;
            let event = options.value("--event").map(PathBuf::from);
            let stream = options.value("--stream");
            if event.is_some() && stream.is_some() {
                return Err(invalid("give --event or --stream, not both"));
            }
            Ok(Command::Run {
                function,
                event,
                stream,
            })
        }
        ["run", ..] => Err(invalid(format!(
            "run needs a function: {}",
            FUNCTIONS.join(", ")
        ))),
        [other, ..] => Err(invalid(format!("unknown command {other:?}"))),
    }
}

fn known_function(name: &str) -> Result<String, ArgsError> {
    if FUNCTIONS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(invalid(format!(
            "unknown function {name:?}; expected one of {}",
            FUNCTIONS.join(", ")
        )))
    }
}

/// The lines of [`USAGE`] about one command: its usage line and the indented explanation under it.
fn section(command: &str) -> Result<&'static str, ArgsError> {
    let start = USAGE
        .find(&format!("  tributary-ctl {command} "))
        .filter(|_| !matches!(command, "help" | "--help" | "-h"))
        .ok_or_else(|| invalid(format!("unknown command {command:?}")))?;
    let body = &USAGE[start..];
    // The section ends at the next usage line or the closing paragraph.
    let end = body[1..]
        .find("\n  tributary-ctl ")
        .or_else(|| body.find("\n\n"))
        .map(|at| at + 1)
        .unwrap_or(body.len());
    Ok(&body[..end])
}

/// `--flag` and `--name value` options, each at most once, nothing else.
struct Options {
    flags: Vec<String>,
    values: Vec<(String, String)>,
}

impl Options {
    fn new(words: &[&str], flags: &[&str], valued: &[&str]) -> Result<Options, ArgsError> {
        let mut options = Options {
            flags: Vec::new(),
            values: Vec::new(),
        };
        let mut words = words.iter();
        while let Some(word) = words.next() {
            let (name, inline) = match word.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (*word, None),
            };
            let seen = options.flags.iter().any(|f| f == name)
                || options.values.iter().any(|(n, _)| n == name);
            if seen {
                return Err(invalid(format!("{name} given twice")));
            }
            if flags.contains(&name) && inline.is_none() {
                options.flags.push(name.to_owned());
            } else if valued.contains(&name) {
                let value = match inline {
                    Some(value) => value,
                    None => words
                        .next()
                        .ok_or_else(|| invalid(format!("{name} needs a value")))?,
                };
                options.values.push((name.to_owned(), value.to_owned()));
            } else {
                return Err(invalid(format!("unexpected argument {word:?}")));
            }
        }
        Ok(options)
    }

    fn flag(&mut self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn value(&mut self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn duration(&mut self, name: &str) -> Result<Option<Duration>, ArgsError> {
        self.value(name)
            .map(|text| {
                parse_duration(&text).ok_or_else(|| {
                    invalid(format!(
                        "{name} {text:?} is not a duration (e.g. 300s, 5m, 1h)"
                    ))
                })
            })
            .transpose()
    }
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
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ArgsError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    parse_duration(text)
        .and_then(|age| chrono::Duration::from_std(age).ok())
        .map(|age| now - age)
        .ok_or_else(|| {
            invalid(format!(
                "{text:?} is neither an RFC 3339 time (2026-11-23T10:00:00Z) nor an age (36h)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    #[test]
    fn backfill_takes_rfc3339_times_and_ages() {
        let command = parse(
            &args("easysend backfill --from 36h --to 2026-11-23T11:00:00Z"),
            now(),
        )
        .unwrap();
        assert_eq!(
            command,
            Command::EasySendBackfill {
                from: Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap(),
                to: Some(Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).unwrap()),
                budget: DEFAULT_BUDGET,
            }
        );
    }

    #[test]
    fn transmit_stop_needs_a_type_and_takes_options_in_any_order() {
        assert!(parse(&args("transmit stop"), now()).is_err());
        let command = parse(
            &args("transmit stop --budget=2m --stream-only --type admin"),
            now(),
        )
        .unwrap();
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
    fn run_names_a_known_function() {
        let err = parse(&args("run transmit"), now()).unwrap_err().to_string();
        assert!(err.contains("transmit-poller"), "{err}");
        let command = parse(&args("run transmit-poller --stream cis"), now()).unwrap();
        assert_eq!(
            command,
            Command::Run {
                function: "transmit-poller".into(),
                event: None,
                stream: Some("cis".into()),
            }
        );
    }

    #[test]
    fn help_and_version_are_commands_of_their_own() {
        for line in ["", "help", "--help", "-h"] {
            assert_eq!(parse(&args(line), now()), Ok(Command::Help), "{line:?}");
        }
        for line in ["version", "--version", "-V"] {
            assert_eq!(parse(&args(line), now()), Ok(Command::Version), "{line:?}");
        }
    }

    #[test]
    fn every_command_answers_help_with_its_own_section() {
        for (line, first) in [
            ("status --help", "tributary-ctl status [--wide|--json]"),
            ("validate -h", "tributary-ctl validate <"),
            ("transmit --help", "tributary-ctl transmit stop"),
            (
                "easysend backfill --help",
                "tributary-ctl easysend backfill",
            ),
            ("run --help", "tributary-ctl run <"),
        ] {
            let Ok(Command::CommandHelp(text)) = parse(&args(line), now()) else {
                panic!("{line}: no help");
            };
            assert!(text.trim_start().starts_with(first), "{line}: {text}");
            assert_eq!(text.matches("tributary-ctl ").count(), 1, "{line}: {text}");
        }
    }

    #[test]
    fn status_takes_a_view_and_schedules() {
        let Ok(Command::Status {
            wide, schedules, ..
        }) = parse(
            &args("status --wide --schedule 10m,transmit#admin=off"),
            now(),
        )
        else {
            panic!("status parses");
        };
        assert!(wide);
        assert_eq!(schedules.interval("transmit#admin"), None);
        assert!(parse(&args("status --wide --json"), now()).is_err());
        let err = parse(&args("status --schedule soon"), now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("soon"), "{err}");
        assert!(parse(&args("validate"), now()).is_err());
        assert!(parse(&args("validate transmit"), now()).is_err());
    }

    #[test]
    fn mistakes_are_named() {
        let err = parse(&args("status --jsn"), now()).unwrap_err().to_string();
        assert!(err.contains("--jsn"), "{err}");
        let err = parse(&args("status --json --json"), now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
        assert!(parse(&args("easysend backfill --from yesterday"), now()).is_err());
    }
}
