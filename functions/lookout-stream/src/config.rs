//! `TRIBUTARY_LOOKOUT_*` settings (the common `TRIBUTARY_*` ones live in the shared services).

use std::time::Duration;

use tributary_shared::config::{self, ConfigError};

/// How far back the stream can be replayed: Lookout keeps 10 days.
pub const MAX_LOOKBACK: Duration = Duration::from_secs(10 * 24 * 3600);

/// Taken off a look-back of the full 10 days, so `start_time` is still inside the window when the
/// request reaches Lookout (the server rejects anything older).
pub const LOOKBACK_SLACK: Duration = Duration::from_secs(5 * 60);

pub const ALL_TYPES: &[&str] = &["THREAT", "DEVICE", "AUDIT", "SMISHING_ALERT"];

#[derive(Debug, Clone)]
pub struct LookoutConfig {
    /// `TRIBUTARY_LOOKOUT_BASE_URL`: the API host (default `https://api.lookout.com`).
    pub base_url: String,
    /// `TRIBUTARY_LOOKOUT_SECRET_ID`: the Secrets Manager secret holding the application key, as
    /// plain text or as a JSON object with `application_key`.
    pub secret_id: String,
    /// `TRIBUTARY_LOOKOUT_TYPES`: the `types` filter (default all four).
    pub types: Vec<String>,
    /// `TRIBUTARY_LOOKOUT_RESUME_PARAM`: the query parameter carrying the last landed id (default `id`).
    pub resume_param: String,
    /// `TRIBUTARY_LOOKOUT_LOOKBACK_HOURS`: how far back the very first session starts (default
    /// 24, at most 240 = 10 days).
    pub lookback: Duration,
    /// `TRIBUTARY_LOOKOUT_FLUSH_EVENTS`: land after this many events (default 2500). Mapped records
    /// take about 8 KiB each until they land, so this bounds the memory a session needs.
    pub flush_events: usize,
    /// `TRIBUTARY_LOOKOUT_FLUSH_INTERVAL_MS`: land at the latest this long after the first unlanded
    /// event arrived (default 30000).
    pub flush_interval: Duration,
    /// `TRIBUTARY_LOOKOUT_HEARTBEAT_MS`: the server's heartbeat interval (default 5000); twice
    /// this without a byte means the connection is dead.
    pub heartbeat: Duration,
    /// `TRIBUTARY_LOOKOUT_RECONNECT_DELAY_MS`: wait before reconnecting when the server gave no
    /// `retry` (default 1000).
    pub reconnect_delay: Duration,
    /// `TRIBUTARY_LOOKOUT_SESSION_SECONDS`: end the session after this long even if the Lambda
    /// deadline is further away (default: run until the deadline).
    pub session_limit: Option<Duration>,
    /// `TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS`: end the session once no event arrived for this long
    /// (default: keep listening until the deadline).
    pub idle_stop: Option<Duration>,
    /// `TRIBUTARY_LOOKOUT_TOKEN_REFRESH_SECONDS`: refresh the access token this long before it
    /// expires (default 120).
    pub token_refresh_before: Duration,
    /// `TRIBUTARY_LOOKOUT_MAX_RECONNECTS`: reconnects in a row without receiving an event before
    /// the session gives up with an error (default 10).
    pub max_failed_reconnects: u32,
}

impl LookoutConfig {
    /// Defaults for everything but where to connect and which secret to use.
    pub fn new(base_url: impl Into<String>, secret_id: impl Into<String>) -> Self {
        LookoutConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            secret_id: secret_id.into(),
            types: ALL_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            resume_param: "id".to_owned(),
            lookback: Duration::from_secs(24 * 3600),
            flush_events: 2500,
            flush_interval: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            reconnect_delay: Duration::from_secs(1),
            session_limit: None,
            idle_stop: None,
            token_refresh_before: Duration::from_secs(120),
            max_failed_reconnects: 10,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let base_url = config::optional("TRIBUTARY_LOOKOUT_BASE_URL")
            .unwrap_or_else(|| "https://api.lookout.com".to_owned());
        let mut c = LookoutConfig::new(base_url, config::required("TRIBUTARY_LOOKOUT_SECRET_ID")?);
        c.types = config::list_or("TRIBUTARY_LOOKOUT_TYPES", ALL_TYPES)
            .into_iter()
            .map(|t| t.to_ascii_uppercase())
            .collect();
        c.resume_param =
            config::optional("TRIBUTARY_LOOKOUT_RESUME_PARAM").unwrap_or_else(|| "id".to_owned());
        let hours = config::check_range(
            "TRIBUTARY_LOOKOUT_LOOKBACK_HOURS",
            config::parse_or("TRIBUTARY_LOOKOUT_LOOKBACK_HOURS", 24u64)?,
            0,
            MAX_LOOKBACK.as_secs() / 3600,
        )?;
        c.lookback = Duration::from_secs(hours * 3600);
        c.flush_events = config::check_range(
            "TRIBUTARY_LOOKOUT_FLUSH_EVENTS",
            config::parse_or("TRIBUTARY_LOOKOUT_FLUSH_EVENTS", c.flush_events)?,
            1,
            100_000,
        )?;
        c.flush_interval = config::millis_or("TRIBUTARY_LOOKOUT_FLUSH_INTERVAL_MS", 30_000)?;
        c.heartbeat = config::millis_or("TRIBUTARY_LOOKOUT_HEARTBEAT_MS", 5_000)?
            .max(Duration::from_millis(10));
        c.reconnect_delay = config::millis_or("TRIBUTARY_LOOKOUT_RECONNECT_DELAY_MS", 1_000)?;
        c.session_limit = config::optional("TRIBUTARY_LOOKOUT_SESSION_SECONDS")
            .map(|_| config::seconds_or("TRIBUTARY_LOOKOUT_SESSION_SECONDS", 0))
            .transpose()?;
        c.idle_stop = config::optional("TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS")
            .map(|_| config::seconds_or("TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS", 0))
            .transpose()?;
        c.token_refresh_before =
            config::seconds_or("TRIBUTARY_LOOKOUT_TOKEN_REFRESH_SECONDS", 120)?;
        c.max_failed_reconnects =
            config::parse_or("TRIBUTARY_LOOKOUT_MAX_RECONNECTS", 10u32)?.max(1);
        Ok(c)
    }

    /// The look-back actually used for `start_time`: capped just inside Lookout's 10 days.
    pub fn effective_lookback(&self) -> Duration {
        self.lookback.min(MAX_LOOKBACK - LOOKBACK_SLACK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ten_day_lookback_stays_inside_the_window() {
        let mut c = LookoutConfig::new("http://x/", "s");
        assert_eq!(c.base_url, "http://x");
        c.lookback = MAX_LOOKBACK;
        assert!(c.effective_lookback() < MAX_LOOKBACK);
        c.lookback = Duration::from_secs(3600);
        assert_eq!(c.effective_lookback(), Duration::from_secs(3600));
    }
}
