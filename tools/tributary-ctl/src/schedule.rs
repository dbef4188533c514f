//! How often each stream is expected to run, for `status`'s overdue flag. The state table does not know the
//! schedules (they live in EventBridge Scheduler), so the operator says them: one interval for every stream,
//! with exceptions per stream, in the template's own spelling (`rate(5 minutes)`) or short (`5m`).

use std::time::Duration;

use crate::args::parse_duration;

/// A run may take its function's whole timeout (300 s) before it reports, on top of the schedule's interval.
pub const RUN_ALLOWANCE: Duration = Duration::from_secs(300);

/// The template's recommended schedule.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// The expected interval per stream; `None` means not scheduled (never overdue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedules {
    default: Option<Duration>,
    streams: Vec<(String, Option<Duration>)>,
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules {
            default: Some(DEFAULT_INTERVAL),
            streams: Vec::new(),
        }
    }
}

impl Schedules {
    /// `5m`, `rate(1 hour)`, `off`, each optionally prefixed by `<stream>=`, comma-separated:
    /// `10m,easysend#security-logs=1h,transmit#admin=off`.
    pub fn parse(text: &str) -> Result<Schedules, String> {
        let mut schedules = Schedules::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((stream, interval)) => {
                    if !stream.contains('#') {
                        return Err(format!(
                            "{stream:?} is not a stream (streams are <vendor>#<name>, as status lists them)"
                        ));
                    }
                    schedules
                        .streams
                        .push((stream.to_owned(), parse_interval(interval)?));
                }
                None => schedules.default = parse_interval(part)?,
            }
        }
        Ok(schedules)
    }

    pub fn interval(&self, stream: &str) -> Option<Duration> {
        self.streams
            .iter()
            .find(|(s, _)| s == stream)
            .map(|(_, interval)| *interval)
            .unwrap_or(self.default)
    }

    /// How long after its last run a stream counts as overdue: two missed ticks plus one run's time.
    pub fn overdue_after(&self, stream: &str) -> Option<Duration> {
        self.interval(stream).map(|i| i * 2 + RUN_ALLOWANCE)
    }
}

/// `off`, `rate(5 minutes)` (EventBridge spelling), or a short duration (`5m`, `300s`, `300`).
fn parse_interval(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "off" {
        return Ok(None);
    }
    let parsed = match text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')')) {
        Some(rate) => parse_rate(rate),
        None => parse_duration(text),
    };
    match parsed {
        Some(d) if !d.is_zero() => Ok(Some(d)),
        _ => Err(format!(
            "{text:?} is not a schedule interval (e.g. 5m, rate(5 minutes) or off)"
        )),
    }
}

/// The inside of `rate(5 minutes)`.
fn parse_rate(rate: &str) -> Option<Duration> {
    let (number, unit) = rate.trim().split_once(' ')?;
    let number: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(number.checked_mul(seconds)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_interval_for_all_with_exceptions_per_stream() {
        let s = Schedules::parse("rate(10 minutes), easysend#security-logs=1h,transmit#admin=off")
            .unwrap();
        assert_eq!(s.interval("transmit#cis"), Some(Duration::from_secs(600)));
        assert_eq!(
            s.interval("easysend#security-logs"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(s.interval("transmit#admin"), None);
        assert_eq!(s.overdue_after("transmit#admin"), None);
        assert_eq!(
            s.overdue_after("transmit#cis"),
            Some(Duration::from_secs(1500))
        );
    }

    #[test]
    fn the_default_is_the_templates_five_minutes() {
        let s = Schedules::default();
        assert_eq!(
            s.overdue_after("lookout#events"),
            Some(Duration::from_secs(900))
        );
    }

    #[test]
    fn bad_intervals_and_streams_are_named() {
        for bad in ["rate(5 fortnights)", "0", "soon", "cis=5m"] {
            let error = Schedules::parse(bad).unwrap_err();
            assert!(error.contains(bad.split('=').next().unwrap()), "{error}");
        }
    }
}
