//! Reading `TRIBUTARY_*` environment variables: the same names locally and in Lambda.
//!
//! A configuration is read with one [`Reader`]: every setting is read even after one was wrong, each problem is
//! kept, and [`Reader::finish`] reports all of them at once, in plain words, each naming the variable and what
//! would be valid. The reader also records every setting it was asked for (name, default, meaning), so a binary's
//! `--help` lists exactly what its configuration reads: reading an empty environment describes it.

pub mod common;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Everything wrong with a configuration; `Display` prints one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// This error's problems followed by `other`'s.
    pub fn and(mut self, other: ConfigError) -> ConfigError {
        self.problems.extend(other.problems);
        self
    }
}

impl From<Problem> for ConfigError {
    fn from(problem: Problem) -> Self {
        ConfigError {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// One thing wrong with one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A required variable is unset or empty; `about` says what it names.
    Missing { name: String, about: String },
    /// A variable is set to something it cannot be; `expected` says what would be valid.
    Invalid {
        name: String,
        value: String,
        expected: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { name, about } if about.is_empty() => write!(f, "{name} must be set"),
            Problem::Missing { name, about } => write!(f, "{name} must be set: {about}"),
            Problem::Invalid {
                name,
                value,
                expected,
            } => write!(f, "{name}={} must be {expected}", shown(value)),
        }
    }
}

/// A value as the user typed it, quoted only when it would otherwise be hard to see (blank, spaces, controls).
fn shown(value: &str) -> Cow<'_, str> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Cow::Owned(format!("{value:?}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// What a setting falls back to when it is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// There is no fallback: the variable must be set.
    Required,
    /// This value.
    Value(Cow<'static, str>),
    /// Nothing; the text says what being unset means.
    Unset(Cow<'static, str>),
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::Required => f.write_str("required"),
            Fallback::Value(value) => write!(f, "default {value}"),
            Fallback::Unset(meaning) => write!(f, "unset: {meaning}"),
        }
    }
}

/// A variable a configuration reads, as `--help` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub default: Fallback,
    pub about: &'static str,
}

/// Settings the shared runtime reads outside any configuration struct (logging, metrics, the S3 client, the
/// local runner), listed here so every binary's `--help` shows them.
pub fn runtime_settings() -> Vec<Setting> {
    let setting = |name, default: &'static str, about| Setting {
        name,
        default: Fallback::Value(Cow::Borrowed(default)),
        about,
    };
    vec![
        setting(
            "TRIBUTARY_LOG_LEVEL",
            "info",
            "log filter (tracing EnvFilter syntax); RUST_LOG is read when this is unset",
        ),
        setting(
            "TRIBUTARY_METRICS_NAMESPACE",
            "Tributary",
            "CloudWatch namespace of the Embedded Metric Format lines",
        ),
        Setting {
            name: "TRIBUTARY_S3_FORCE_PATH_STYLE",
            default: Fallback::Unset(Cow::Borrowed("true with a custom AWS endpoint, else false")),
            about: "path-style S3 addressing, for local S3 stand-ins",
        },
        setting(
            "TRIBUTARY_LOCAL_TIMEOUT_SECONDS",
            "300",
            "the deadline of a local (non-Lambda) run",
        ),
    ]
}

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads settings, keeping every problem until [`Reader::finish`]. A setting that is wrong yields its default
/// (or an empty value) so reading can go on and find the next problem; `finish` then refuses the result.
pub struct Reader {
    lookup: Lookup,
    problems: Vec<Problem>,
    settings: Vec<Setting>,
}

impl Reader {
    /// Reads the process environment.
    pub fn from_env() -> Reader {
        Reader::with_lookup(|name| std::env::var(name).ok())
    }

    /// Reads only `vars` (tests; an empty list describes a configuration for `--help`).
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Reader {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Reader::with_lookup(move |name| vars.get(name).cloned())
    }

    fn with_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Reader {
        Reader {
            lookup: Box::new(lookup),
            problems: Vec::new(),
            settings: Vec::new(),
        }
    }

    /// `value` when nothing was wrong, otherwise every problem found.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }

    /// The settings read so far, in reading order, each once.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    pub fn into_settings(self) -> Vec<Setting> {
        self.settings
    }

    /// Records a problem the reader could not see by itself (a setting that contradicts another).
    pub fn invalid(&mut self, name: &str, value: &str, expected: impl Into<String>) {
        self.problems.push(Problem::Invalid {
            name: name.to_owned(),
            value: value.to_owned(),
            expected: expected.into(),
        });
    }

    /// Records that a variable holds nothing usable although it is required (a list of blanks, say).
    pub fn missing(&mut self, name: &str, about: &str) {
        self.problems.push(Problem::Missing {
            name: name.to_owned(),
            about: about.to_owned(),
        });
    }

    /// Records the setting and returns its value, trimmed; an empty value counts as unset.
    fn raw(
        &mut self,
        name: &'static str,
        default: Fallback,
        about: &'static str,
    ) -> Option<String> {
        if !self.settings.iter().any(|s| s.name == name) {
            self.settings.push(Setting {
                name,
                default,
                about,
            });
        }
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A variable that must be set; empty (and a problem) when it is not.
    pub fn required(&mut self, name: &'static str, about: &'static str) -> String {
        match self.raw(name, Fallback::Required, about) {
            Some(value) => value,
            None => {
                self.missing(name, about);
                String::new()
            }
        }
    }

    /// A text with a default.
    pub fn text(
        &mut self,
        name: &'static str,
        default: &'static str,
        about: &'static str,
    ) -> String {
        self.raw(name, Fallback::Value(Cow::Borrowed(default)), about)
            .unwrap_or_else(|| default.to_owned())
    }

    /// A text that may stay unset; `unset` says what that means (for `--help`).
    pub fn optional(
        &mut self,
        name: &'static str,
        unset: &'static str,
        about: &'static str,
    ) -> Option<String> {
        self.raw(name, Fallback::Unset(Cow::Borrowed(unset)), about)
    }

    /// A comma-separated list (blank items dropped); unset gives `default`.
    pub fn list(
        &mut self,
        name: &'static str,
        default: &[&str],
        about: &'static str,
    ) -> Vec<String> {
        let shown = Fallback::Value(Cow::Owned(default.join(",")));
        match self.raw(name, shown, about) {
            None => default.iter().map(|s| (*s).to_owned()).collect(),
            Some(value) => split_list(&value),
        }
    }

    /// A comma-separated list that must name at least one item.
    pub fn required_list(&mut self, name: &'static str, about: &'static str) -> Vec<String> {
        let items = split_list(
            &self
                .raw(name, Fallback::Required, about)
                .unwrap_or_default(),
        );
        if items.is_empty() {
            self.missing(name, about);
        }
        items
    }

    /// `true/false/1/0/yes/no`, any case.
    pub fn flag(&mut self, name: &'static str, default: bool, about: &'static str) -> bool {
        let value = self.raw(
            name,
            Fallback::Value(Cow::Owned(default.to_string())),
            about,
        );
        match value {
            None => default,
            Some(value) => match parse_flag(&value) {
                Some(flag) => flag,
                None => {
                    self.invalid(name, &value, "true or false (also 1/0, yes/no)");
                    default
                }
            },
        }
    }

    /// One of `choices` by name (any case); `default` is the name used when unset.
    pub fn choice<T: Copy>(
        &mut self,
        name: &'static str,
        default: &'static str,
        choices: &[(&str, T)],
        about: &'static str,
    ) -> T {
        let value = self.text(name, default, about);
        let find = |v: &str| {
            choices
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(v))
                .map(|(_, t)| *t)
        };
        find(&value).unwrap_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            self.invalid(name, &value, format!("one of {}", names.join(", ")));
            find(default).expect("the default is one of the choices")
        })
    }

    /// A whole number within `bounds`; `unit` (plural, e.g. `seconds`, or empty) words the message.
    pub fn whole(
        &mut self,
        name: &'static str,
        default: u64,
        bounds: RangeInclusive<u64>,
        unit: &str,
        about: &'static str,
    ) -> u64 {
        let value = self.raw(
            name,
            Fallback::Value(Cow::Owned(default.to_string())),
            about,
        );
        let Some(value) = value else { return default };
        match value.parse::<u64>() {
            Ok(number) if bounds.contains(&number) => number,
            _ => {
                self.invalid(name, &value, whole_expected(unit, &bounds));
                default
            }
        }
    }

    /// A duration in whole seconds, zero or more.
    pub fn seconds(&mut self, name: &'static str, default: u64, about: &'static str) -> Duration {
        Duration::from_secs(self.whole(name, default, 0..=u64::MAX, "seconds", about))
    }

    /// A duration in whole milliseconds, zero or more.
    pub fn millis(&mut self, name: &'static str, default: u64, about: &'static str) -> Duration {
        Duration::from_millis(self.whole(name, default, 0..=u64::MAX, "milliseconds", about))
    }

    /// A duration in whole seconds that may stay unset; `unset` says what that means.
    pub fn optional_seconds(
        &mut self,
        name: &'static str,
        unset: &'static str,
        about: &'static str,
    ) -> Option<Duration> {
        let value = self.optional(name, unset, about)?;
        match value.parse::<u64>() {
            Ok(seconds) => Some(Duration::from_secs(seconds)),
            Err(_) => {
                self.invalid(name, &value, whole_expected("seconds", &(0..=u64::MAX)));
                None
            }
        }
    }

    /// A decimal number within `bounds`.
    pub fn decimal(
        &mut self,
        name: &'static str,
        default: f64,
        bounds: RangeInclusive<f64>,
        about: &'static str,
    ) -> f64 {
        let value = self.raw(
            name,
            Fallback::Value(Cow::Owned(default.to_string())),
            about,
        );
        let Some(value) = value else { return default };
        match value.parse::<f64>() {
            Ok(number) if bounds.contains(&number) => number,
            _ => {
                let expected = format!(
                    "a number from {} to {} (a dot for decimals)",
                    bounds.start(),
                    bounds.end()
                );
                self.invalid(name, &value, expected);
                default
            }
        }
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// "a whole number of seconds, zero or more", "a whole number from 1 to 9", ...
fn whole_expected(unit: &str, bounds: &RangeInclusive<u64>) -> String {
    let what = if unit.is_empty() {
        "a whole number".to_owned()
    } else {
        format!("a whole number of {unit}")
    };
    match (*bounds.start(), *bounds.end()) {
        (0, u64::MAX) => format!("{what}, zero or more"),
        (min, u64::MAX) => format!("{what}, {min} or more"),
        (min, max) => format!("{what} from {min} to {max}"),
    }
}

/// A variable that may be absent; an empty value counts as absent. For the few settings read outside a
/// configuration (see [`runtime_settings`]).
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// One required variable, outside a configuration struct.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    let mut reader = Reader::from_env();
    let value = reader.required(name, "");
    reader.finish(value)
}

/// One duration in whole seconds, outside a configuration struct.
pub fn seconds_or(name: &'static str, default_seconds: u64) -> Result<Duration, ConfigError> {
    let mut reader = Reader::from_env();
    let value = reader.seconds(name, default_seconds, "");
    reader.finish(value)
}

/// One duration in whole milliseconds, outside a configuration struct.
pub fn millis_or(name: &'static str, default_millis: u64) -> Result<Duration, ConfigError> {
    let mut reader = Reader::from_env();
    let value = reader.millis(name, default_millis, "");
    reader.finish(value)
}

/// One boolean, outside a configuration struct.
pub fn bool_or(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    let mut reader = Reader::from_env();
    let value = reader.flag(name, default, "");
    reader.finish(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(error: &ConfigError) -> Vec<String> {
        error.to_string().lines().map(str::to_owned).collect()
    }

    #[test]
    fn every_problem_is_reported_at_once_one_per_line() {
        let mut r =
            Reader::from_vars([("TRIBUTARY_A_SECONDS", "soon"), ("TRIBUTARY_C_LEVEL", "12")]);
        r.seconds("TRIBUTARY_A_SECONDS", 5, "a");
        r.required("TRIBUTARY_B", "the landing bucket");
        r.whole("TRIBUTARY_C_LEVEL", 6, 1..=9, "", "c");
        let error = r.finish(()).unwrap_err();
        assert_eq!(
            lines(&error),
            [
                "TRIBUTARY_A_SECONDS=soon must be a whole number of seconds, zero or more",
                "TRIBUTARY_B must be set: the landing bucket",
                "TRIBUTARY_C_LEVEL=12 must be a whole number from 1 to 9",
            ]
        );
    }

    #[test]
    fn a_negative_number_is_called_out_as_such() {
        let mut r = Reader::from_vars([("TRIBUTARY_X", "-5")]);
        r.seconds("TRIBUTARY_X", 10, "x");
        let text = r.finish(()).unwrap_err().to_string();
        assert_eq!(
            text,
            "TRIBUTARY_X=-5 must be a whole number of seconds, zero or more"
        );
        assert!(!text.contains("invalid digit"), "{text}");
    }

    #[test]
    fn messages_are_plain_words_not_debug() {
        let error = required("TRIBUTARY_SURELY_NOT_SET_ANYWHERE").unwrap_err();
        let text = error.to_string();
        assert_eq!(text, "TRIBUTARY_SURELY_NOT_SET_ANYWHERE must be set");
        assert!(!format!("{error}").contains('{'));
    }

    #[test]
    fn unset_and_empty_values_give_the_defaults() {
        let mut r = Reader::from_vars([("TRIBUTARY_P", "  ")]);
        assert_eq!(r.text("TRIBUTARY_P", "tributary", "p"), "tributary");
        assert_eq!(r.seconds("TRIBUTARY_S", 7, "s"), Duration::from_secs(7));
        assert!(r.flag("TRIBUTARY_F", true, "f"));
        assert_eq!(r.list("TRIBUTARY_L", &["a", "b"], "l"), ["a", "b"]);
        assert_eq!(r.optional("TRIBUTARY_O", "nothing", "o"), None);
        assert_eq!(r.finish(()), Ok(()));
    }

    #[test]
    fn values_are_parsed_and_checked() {
        let mut r = Reader::from_vars([
            ("TRIBUTARY_F", "YES"),
            ("TRIBUTARY_L", " x, ,y "),
            ("TRIBUTARY_C", "EU"),
            ("TRIBUTARY_D", "1.5"),
            ("TRIBUTARY_Q", "maybe"),
        ]);
        assert!(r.flag("TRIBUTARY_F", false, "f"));
        assert_eq!(r.list("TRIBUTARY_L", &[], "l"), ["x", "y"]);
        assert_eq!(
            r.choice("TRIBUTARY_C", "us", &[("us", 1), ("eu", 2)], "c"),
            2
        );
        assert_eq!(r.decimal("TRIBUTARY_D", 0.5, 0.01..=1.0, "d"), 0.5);
        r.flag("TRIBUTARY_Q", false, "q");
        assert_eq!(
            lines(&r.finish(()).unwrap_err()),
            [
                "TRIBUTARY_D=1.5 must be a number from 0.01 to 1 (a dot for decimals)",
                "TRIBUTARY_Q=maybe must be true or false (also 1/0, yes/no)",
            ]
        );
    }

    #[test]
    fn a_bad_choice_lists_the_valid_ones() {
        let mut r = Reader::from_vars([("TRIBUTARY_REGION", "mars")]);
        let picked = r.choice("TRIBUTARY_REGION", "us", &[("us", 1), ("eu", 2)], "r");
        assert_eq!(picked, 1);
        assert_eq!(
            r.finish(()).unwrap_err().to_string(),
            "TRIBUTARY_REGION=mars must be one of us, eu"
        );
    }

    #[test]
    fn the_reader_records_what_it_read_for_help() {
        let mut r = Reader::from_vars([]);
        r.required("TRIBUTARY_BUCKET", "the landing bucket");
        r.seconds("TRIBUTARY_TTL_SECONDS", 300, "cache time");
        r.seconds("TRIBUTARY_TTL_SECONDS", 300, "cache time");
        r.optional("TRIBUTARY_LIMIT", "no limit", "limit");
        let shown: Vec<String> = r
            .settings()
            .iter()
            .map(|s| format!("{} ({})", s.name, s.default))
            .collect();
        assert_eq!(
            shown,
            [
                "TRIBUTARY_BUCKET (required)",
                "TRIBUTARY_TTL_SECONDS (default 300)",
                "TRIBUTARY_LIMIT (unset: no limit)",
            ]
        );
    }

    #[test]
    fn values_hard_to_see_are_quoted() {
        let mut r = Reader::from_vars([("TRIBUTARY_N", "1 0")]);
        r.whole("TRIBUTARY_N", 1, 1..=u64::MAX, "events", "n");
        assert_eq!(
            r.finish(()).unwrap_err().to_string(),
            "TRIBUTARY_N=\"1 0\" must be a whole number of events, 1 or more"
        );
    }
}
