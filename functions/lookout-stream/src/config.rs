//! `TRIBUTARY_LOOKOUT_*` settings (the common `TRIBUTARY_*` ones live in the shared services).

use std::time::Duration;

use tributary_shared::config::{self, ConfigError, Reader, Setting};
use tributary_shared::services::CommonConfig;

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
    /// `TRIBUTARY_LOOKOUT_FLUSH_EVENTS`: land after this many events (default 2500). Events are
    /// compressed into their objects as they arrive and take about 300 bytes each until they land
    /// (26 MiB more at 100,000 than at 2,500 in the session bench).
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
    /// `TRIBUTARY_LOOKOUT_MALFORMED_RETRIES`: how many times the frame after one resume point may fail to parse
    /// (each time the session reconnects so the server sends it again) before it is skipped, its raw text kept
    /// under `_unparsed` and its events counted as skipped (default 3).
    pub malformed_retries: u32,
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
            malformed_retries: 3,
        }
    }

    /// From the environment, with every problem at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut reader = Reader::from_env();
        let config = LookoutConfig::read(&mut reader);
        reader.finish(config)
    }

    /// Reads the `TRIBUTARY_LOOKOUT_*` settings into `reader`, which keeps any problem.
    pub fn read(reader: &mut Reader) -> Self {
        let secret_id = reader.required(
            "TRIBUTARY_LOOKOUT_SECRET_ID",
            "Secrets Manager secret holding the application key (plain text, or JSON with application_key)",
        );
        let base_url = reader.text(
            "TRIBUTARY_LOOKOUT_BASE_URL",
            "https://api.lookout.com",
            "API host",
        );
        let mut c = LookoutConfig::new(base_url, secret_id);
        c.types = reader
            .list("TRIBUTARY_LOOKOUT_TYPES", ALL_TYPES, "the types filter")
            .into_iter()
            .map(|t| t.to_ascii_uppercase())
            .collect();
        c.resume_param = reader.text(
            "TRIBUTARY_LOOKOUT_RESUME_PARAM",
            "id",
            "query parameter carrying the last landed event id",
        );
        let hours = reader.whole(
            "TRIBUTARY_LOOKOUT_LOOKBACK_HOURS",
            24,
            0..=MAX_LOOKBACK.as_secs() / 3600,
            "hours",
            "where the very first session starts (Lookout keeps 10 days)",
        );
        c.lookback = Duration::from_secs(hours * 3600);
        c.flush_events = reader.whole(
            "TRIBUTARY_LOOKOUT_FLUSH_EVENTS",
            c.flush_events as u64,
            1..=100_000,
            "events",
            "land after this many events (held compressed, about 300 bytes each, until they land)",
        ) as usize;
        c.flush_interval = reader.millis(
            "TRIBUTARY_LOOKOUT_FLUSH_INTERVAL_MS",
            30_000,
            "land at the latest this long after the first unlanded event",
        );
        c.heartbeat = Duration::from_millis(reader.whole(
            "TRIBUTARY_LOOKOUT_HEARTBEAT_MS",
            5_000,
            10..=u64::MAX,
            "milliseconds",
            "the server's heartbeat interval; twice this without a byte means the connection is dead",
        ));
        c.reconnect_delay = reader.millis(
            "TRIBUTARY_LOOKOUT_RECONNECT_DELAY_MS",
            1_000,
            "wait before reconnecting when the server sent no retry",
        );
        c.session_limit = reader.optional_seconds(
            "TRIBUTARY_LOOKOUT_SESSION_SECONDS",
            "until the deadline",
            "end the session after this long",
        );
        c.idle_stop = reader.optional_seconds(
            "TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS",
            "until the deadline",
            "end the session once no event arrived for this long",
        );
        c.token_refresh_before = reader.seconds(
            "TRIBUTARY_LOOKOUT_TOKEN_REFRESH_SECONDS",
            120,
            "refresh the access token this long before it expires",
        );
        c.max_failed_reconnects = reader.whole(
            "TRIBUTARY_LOOKOUT_MAX_RECONNECTS",
            10,
            1..=1000,
            "reconnects",
            "reconnects in a row without an event before the session fails",
        ) as u32;
        c.malformed_retries = reader.whole(
            "TRIBUTARY_LOOKOUT_MALFORMED_RETRIES",
            3,
            1..=100,
            "attempts",
            "times a frame may fail to parse (reconnecting each time) before it is skipped and counted",
        ) as u32;
        c
    }

    /// The look-back actually used for `start_time`: capped just inside Lookout's 10 days.
    pub fn effective_lookback(&self) -> Duration {
        self.lookback.min(MAX_LOOKBACK - LOOKBACK_SLACK)
    }
}

/// The common settings and Lookout's, read together so a start-up reports every problem at once.
pub fn load() -> Result<(CommonConfig, LookoutConfig), ConfigError> {
    let mut reader = Reader::from_env();
    let common = CommonConfig::read(&mut reader);
    let lookout = LookoutConfig::read(&mut reader);
    reader.finish((common, lookout))
}

/// Every setting the collector reads, with its default (for `--help`).
pub fn settings() -> Vec<Setting> {
    let mut reader = Reader::from_vars([]);
    CommonConfig::read(&mut reader);
    LookoutConfig::read(&mut reader);
    let mut settings = reader.into_settings();
    settings.extend(config::runtime_settings());
    settings
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

    #[test]
    fn every_bad_setting_is_reported_at_once() {
        let mut reader = Reader::from_vars([
            ("TRIBUTARY_LOOKOUT_LOOKBACK_HOURS", "300"),
            ("TRIBUTARY_LOOKOUT_SESSION_SECONDS", "-1"),
            ("TRIBUTARY_LOOKOUT_MAX_RECONNECTS", "0"),
        ]);
        LookoutConfig::read(&mut reader);
        let text = reader.finish(()).unwrap_err().to_string();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "TRIBUTARY_LOOKOUT_SECRET_ID must be set: Secrets Manager secret holding the application key \
                 (plain text, or JSON with application_key)",
                "TRIBUTARY_LOOKOUT_LOOKBACK_HOURS=300 must be a whole number of hours from 0 to 240",
                "TRIBUTARY_LOOKOUT_SESSION_SECONDS=-1 must be a whole number of seconds, zero or more",
                "TRIBUTARY_LOOKOUT_MAX_RECONNECTS=0 must be a whole number of reconnects from 1 to 1000",
            ]
        );
    }

    #[test]
    fn unset_settings_read_as_the_defaults_of_new() {
        let mut reader = Reader::from_vars([("TRIBUTARY_LOOKOUT_SECRET_ID", "s")]);
        let read = LookoutConfig::read(&mut reader);
        let read = reader.finish(read).unwrap();
        let defaults = LookoutConfig::new("https://api.lookout.com", "s");
        assert_eq!(format!("{read:?}"), format!("{defaults:?}"));
    }
}
