//! `TRIBUTARY_EASYSEND_*` settings (the common `TRIBUTARY_*` ones are read by the shared services).

use std::time::Duration;

use tributary_shared::config::{self, ConfigError, Reader, Setting};
use tributary_shared::services::CommonConfig;

use crate::windows::Grid;

/// The vendor's documented retention: logs are deleted 48 hours after they are written.
pub const VENDOR_RETENTION_HOURS: u64 = 48;

#[derive(Debug, Clone)]
pub struct EasySendConfig {
    /// `TRIBUTARY_EASYSEND_PLAYER_URL`: the tenant's Player URL (`https://<tenant>...`), no path.
    pub player_url: String,
    /// `TRIBUTARY_EASYSEND_API_KEY_SECRET`: Secrets Manager ARN or name of the API key.
    pub api_key_secret: String,
    /// `TRIBUTARY_EASYSEND_END_PARAM`: the end parameter's name (`end_time` or `end_type`).
    pub end_param: String,
    /// `TRIBUTARY_EASYSEND_APP_TYPE`: sent as `app_type` when set (`player`); unset asks for Player and
    /// Builder logs.
    pub app_type: Option<String>,
    /// `TRIBUTARY_EASYSEND_STREAM`: the stream's name in the state table and in invocations.
    pub stream: String,
    pub window: Duration,
    pub lag: Duration,
    pub overlap: Duration,
    pub lookback: Duration,
    /// The narrowest window a 408 may split down to.
    pub min_window: Duration,
    pub retention: Duration,
    /// Share of the retention after which cursor lag raises the retention alarm.
    pub alarm_share: f64,
    /// Limit of one whole request, body included.
    pub request_timeout: Duration,
    /// `TRIBUTARY_EASYSEND_SWEEP_EVERY_SECONDS`: how often the retrospection sweep re-checks history already
    /// collected for logs written late (0: never).
    pub sweep_every: Duration,
    /// `TRIBUTARY_EASYSEND_SWEEP_REACH_SECONDS`: how far before the cursor the sweep re-checks; later than this,
    /// a late log is missed.
    pub sweep_reach: Duration,
    /// `TRIBUTARY_EASYSEND_SWEEP_WINDOW_SECONDS`: the width of one sweep request (a 408 splits it as usual).
    pub sweep_window: Duration,
}

impl EasySendConfig {
    /// From the environment, with every problem at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut reader = Reader::from_env();
        let config = EasySendConfig::read(&mut reader);
        reader.finish(config)
    }

    /// Reads the `TRIBUTARY_EASYSEND_*` settings into `reader`, which keeps any problem.
    pub fn read(reader: &mut Reader) -> Self {
        let d = EasySendConfig::with_defaults("", "");
        let player_url = reader.required(
            "TRIBUTARY_EASYSEND_PLAYER_URL",
            "your player host (https://<tenant>...), no path",
        );
        let api_key_secret = reader.required(
            "TRIBUTARY_EASYSEND_API_KEY_SECRET",
            "Secrets Manager ARN or name of the secret holding the apiKey",
        );
        let end_param = reader.text(
            "TRIBUTARY_EASYSEND_END_PARAM",
            "end_time",
            "name of the window-end parameter (end_time or end_type)",
        );
        let app_type = reader.optional(
            "TRIBUTARY_EASYSEND_APP_TYPE",
            "Player and Builder logs",
            "player for Player logs only",
        );
        let stream = reader.text(
            "TRIBUTARY_EASYSEND_STREAM",
            "security-logs",
            "the stream's name in the state table, metrics and invocations",
        );
        let seconds = |reader: &mut Reader, name, default: Duration, bounds, about| {
            let secs = reader.whole(name, default.as_secs(), bounds, "seconds", about);
            Duration::from_secs(secs)
        };
        let retention_hours = reader.whole(
            "TRIBUTARY_EASYSEND_RETENTION_HOURS",
            VENDOR_RETENTION_HOURS,
            1..=24 * 365,
            "hours",
            "how long EasySend keeps logs",
        );
        let retention = Duration::from_secs(retention_hours * 3600);
        let window = seconds(
            reader,
            "TRIBUTARY_EASYSEND_WINDOW_SECONDS",
            d.window,
            2..=24 * 3600,
            "width of one window",
        );
        let min_window = seconds(
            reader,
            "TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS",
            d.min_window,
            1..=24 * 3600,
            "the narrowest window a 408 may split down to",
        );
        if window < min_window {
            reader.invalid(
                "TRIBUTARY_EASYSEND_WINDOW_SECONDS",
                &window.as_secs().to_string(),
                format!(
                    "at least TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS={} (the narrowest window a 408 may split \
                     down to); raise the window or lower the minimum",
                    min_window.as_secs()
                ),
            );
        }
        let lookback = seconds(
            reader,
            "TRIBUTARY_EASYSEND_LOOKBACK_SECONDS",
            d.lookback,
            0..=u64::MAX,
            "where a stream without a cursor starts (at most the retention)",
        );
        if lookback > retention {
            reader.invalid(
                "TRIBUTARY_EASYSEND_LOOKBACK_SECONDS",
                &lookback.as_secs().to_string(),
                format!(
                    "at most the retention, TRIBUTARY_EASYSEND_RETENTION_HOURS={retention_hours} ({} seconds): \
                     older logs are gone",
                    retention.as_secs()
                ),
            );
        }
        EasySendConfig {
            player_url: player_url.trim_end_matches('/').to_owned(),
            api_key_secret,
            end_param,
            app_type,
            stream,
            window,
            lag: reader.seconds(
                "TRIBUTARY_EASYSEND_LAG_SECONDS",
                d.lag.as_secs(),
                "a window is fetched only this long after it ends (late logs)",
            ),
            overlap: reader.seconds(
                "TRIBUTARY_EASYSEND_OVERLAP_SECONDS",
                d.overlap.as_secs(),
                "recent windows are fetched again this long back; re-fetches overwrite, never duplicate",
            ),
            lookback,
            min_window,
            retention,
            alarm_share: reader.decimal(
                "TRIBUTARY_EASYSEND_RETENTION_ALARM_SHARE",
                d.alarm_share,
                0.01..=1.0,
                "cursor lag, as a share of the retention, that raises RetentionAlarm",
            ),
            request_timeout: seconds(
                reader,
                "TRIBUTARY_EASYSEND_REQUEST_TIMEOUT_SECONDS",
                d.request_timeout,
                1..=900,
                "limit of one whole request, body included",
            ),
            sweep_every: reader.seconds(
                "TRIBUTARY_EASYSEND_SWEEP_EVERY_SECONDS",
                d.sweep_every.as_secs(),
                "how often the retrospection sweep re-checks collected history for late logs (0: never)",
            ),
            sweep_reach: seconds(
                reader,
                "TRIBUTARY_EASYSEND_SWEEP_REACH_SECONDS",
                d.sweep_reach,
                0..=u64::MAX,
                "how far before the cursor the sweep re-checks; a log later than this is missed",
            ),
            sweep_window: seconds(
                reader,
                "TRIBUTARY_EASYSEND_SWEEP_WINDOW_SECONDS",
                d.sweep_window,
                10..=24 * 3600,
                "width of one sweep request",
            ),
        }
    }

    /// A configuration for `player_url` with every other setting at its default (tests, tools).
    pub fn with_defaults(player_url: impl Into<String>, api_key_secret: impl Into<String>) -> Self {
        EasySendConfig {
            player_url: player_url.into().trim_end_matches('/').to_owned(),
            api_key_secret: api_key_secret.into(),
            end_param: "end_time".to_owned(),
            app_type: None,
            stream: "security-logs".to_owned(),
            window: Duration::from_secs(300),
            lag: Duration::from_secs(120),
            overlap: Duration::from_secs(600),
            lookback: Duration::from_secs(24 * 3600),
            min_window: Duration::from_secs(10),
            retention: Duration::from_secs(VENDOR_RETENTION_HOURS * 3600),
            alarm_share: 0.75,
            request_timeout: Duration::from_secs(120),
            sweep_every: Duration::from_secs(3600),
            sweep_reach: Duration::from_secs(6 * 3600),
            sweep_window: Duration::from_secs(3600),
        }
    }

    pub fn grid(&self) -> Grid {
        let d = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Grid {
            size: d(self.window),
            lag: d(self.lag),
            overlap: d(self.overlap),
            lookback: d(self.lookback.min(self.retention)),
            retention: d(self.retention),
        }
    }

    /// Cursor lag beyond which the retention alarm goes off.
    pub fn alarm_after(&self) -> Duration {
        self.retention.mul_f64(self.alarm_share)
    }
}

/// The common settings and EasySend's, read together so a start-up reports every problem at once.
pub fn load() -> Result<(CommonConfig, EasySendConfig), ConfigError> {
    let mut reader = Reader::from_env();
    let common = CommonConfig::read(&mut reader);
    let easysend = EasySendConfig::read(&mut reader);
    reader.finish((common, easysend))
}

/// Every setting the poller reads, with its default (for `--help`).
pub fn settings() -> Vec<Setting> {
    let mut reader = Reader::from_vars([]);
    CommonConfig::read(&mut reader);
    EasySendConfig::read(&mut reader);
    let mut settings = reader.into_settings();
    settings.extend(config::runtime_settings());
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: [(&str, &str); 2] = [
        ("TRIBUTARY_EASYSEND_PLAYER_URL", "https://tenant.example/"),
        ("TRIBUTARY_EASYSEND_API_KEY_SECRET", "easysend-key"),
    ];

    fn problems(vars: &[(&'static str, &'static str)]) -> Vec<String> {
        let mut reader = Reader::from_vars(REQUIRED.iter().chain(vars).copied());
        EasySendConfig::read(&mut reader);
        match reader.finish(()) {
            Ok(()) => Vec::new(),
            Err(error) => error.to_string().lines().map(str::to_owned).collect(),
        }
    }

    #[test]
    fn a_window_below_the_minimum_names_the_window_variable() {
        assert_eq!(
            problems(&[
                ("TRIBUTARY_EASYSEND_WINDOW_SECONDS", "5"),
                ("TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS", "10"),
            ]),
            ["TRIBUTARY_EASYSEND_WINDOW_SECONDS=5 must be at least TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS=10 \
              (the narrowest window a 408 may split down to); raise the window or lower the minimum"]
        );
        // The default minimum (10 s) applies when only the window is set.
        assert_eq!(
            problems(&[("TRIBUTARY_EASYSEND_WINDOW_SECONDS", "4")]).len(),
            1
        );
        assert!(problems(&[("TRIBUTARY_EASYSEND_WINDOW_SECONDS", "10")]).is_empty());
    }

    #[test]
    fn a_look_back_beyond_the_retention_is_refused_with_both_values() {
        assert_eq!(
            problems(&[
                ("TRIBUTARY_EASYSEND_RETENTION_HOURS", "1"),
                ("TRIBUTARY_EASYSEND_LOOKBACK_SECONDS", "7200"),
            ]),
            [
                "TRIBUTARY_EASYSEND_LOOKBACK_SECONDS=7200 must be at most the retention, \
              TRIBUTARY_EASYSEND_RETENTION_HOURS=1 (3600 seconds): older logs are gone"
            ]
        );
    }

    #[test]
    fn missing_and_malformed_settings_are_all_reported() {
        let mut reader = Reader::from_vars([
            ("TRIBUTARY_EASYSEND_LAG_SECONDS", "-5"),
            ("TRIBUTARY_EASYSEND_RETENTION_ALARM_SHARE", "75%"),
        ]);
        EasySendConfig::read(&mut reader);
        let text = reader.finish(()).unwrap_err().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[0].starts_with("TRIBUTARY_EASYSEND_PLAYER_URL must be set"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("TRIBUTARY_EASYSEND_API_KEY_SECRET must be set"),
            "{text}"
        );
        assert!(lines.contains(
            &"TRIBUTARY_EASYSEND_LAG_SECONDS=-5 must be a whole number of seconds, zero or more"
        ));
        assert!(lines.contains(
            &"TRIBUTARY_EASYSEND_RETENTION_ALARM_SHARE=75% must be a number from 0.01 to 1 (a dot for decimals)"
        ));
    }

    #[test]
    fn defaults_match_with_defaults() {
        let mut reader = Reader::from_vars(REQUIRED);
        let read = EasySendConfig::read(&mut reader);
        let read = reader.finish(read).unwrap();
        let defaults = EasySendConfig::with_defaults("https://tenant.example", "easysend-key");
        assert_eq!(format!("{read:?}"), format!("{defaults:?}"));
    }
}
