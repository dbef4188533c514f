//! Reading `TRIBUTARY_*` environment variables: the same names locally and in Lambda.

use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: String },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

/// A variable that must be set and non-empty.
pub fn required(name: &str) -> Result<String, ConfigError> {
    optional(name).ok_or_else(|| ConfigError::Missing {
        name: name.to_owned(),
    })
}

/// A variable that may be absent; an empty value counts as absent.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A parsed variable with a default when absent.
pub fn parse_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(value) => value.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name: name.to_owned(),
            reason: e.to_string(),
            value,
        }),
    }
}

/// A duration given in whole seconds.
pub fn seconds_or(name: &str, default_seconds: u64) -> Result<Duration, ConfigError> {
    parse_or(name, default_seconds).map(Duration::from_secs)
}

/// A duration given in milliseconds.
pub fn millis_or(name: &str, default_millis: u64) -> Result<Duration, ConfigError> {
    parse_or(name, default_millis).map(Duration::from_millis)
}

/// A boolean: `true/false/1/0/yes/no`.
pub fn bool_or(name: &str, default: bool) -> Result<bool, ConfigError> {
    match optional(name) {
        None => Ok(default),
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::Invalid {
                name: name.to_owned(),
                value,
                reason: "expected true or false".to_owned(),
            }),
        },
    }
}

/// A comma-separated list; absent gives the default.
pub fn list_or(name: &str, default: &[&str]) -> Vec<String> {
    match optional(name) {
        None => default.iter().map(|s| (*s).to_owned()).collect(),
        Some(value) => value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// Fails when a value is outside `[min, max]`, naming the variable.
pub fn check_range<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::Invalid {
            name: name.to_owned(),
            value: value.to_string(),
            reason: format!("must be between {min} and {max}"),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_check_names_the_variable() {
        let err = check_range("TRIBUTARY_X", 2000, 1, 1000).unwrap_err();
        assert!(err.to_string().contains("TRIBUTARY_X"));
        assert_eq!(check_range("TRIBUTARY_X", 10, 1, 1000).unwrap(), 10);
    }
}
