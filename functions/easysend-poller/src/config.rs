//! `TRIBUTARY_EASYSEND_*` settings (the common `TRIBUTARY_*` ones are read by the shared services).

use std::time::Duration;

use tributary_shared::config::{self, check_range, parse_or, ConfigError};

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
}

impl EasySendConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let secs = |name: &str, default: u64| parse_or::<u64>(name, default);
        let retention_hours = check_range(
            "TRIBUTARY_EASYSEND_RETENTION_HOURS",
            secs("TRIBUTARY_EASYSEND_RETENTION_HOURS", VENDOR_RETENTION_HOURS)?,
            1,
            24 * 365,
        )?;
        let retention = retention_hours * 3600;
        let window = check_range(
            "TRIBUTARY_EASYSEND_WINDOW_SECONDS",
            secs("TRIBUTARY_EASYSEND_WINDOW_SECONDS", 300)?,
            2,
            24 * 3600,
        )?;
        let config = EasySendConfig {
            player_url: config::required("TRIBUTARY_EASYSEND_PLAYER_URL")?
                .trim_end_matches('/')
                .to_owned(),
            api_key_secret: config::required("TRIBUTARY_EASYSEND_API_KEY_SECRET")?,
            end_param: config::optional("TRIBUTARY_EASYSEND_END_PARAM")
                .unwrap_or_else(|| "end_time".to_owned()),
            app_type: config::optional("TRIBUTARY_EASYSEND_APP_TYPE"),
            stream: config::optional("TRIBUTARY_EASYSEND_STREAM")
                .unwrap_or_else(|| "security-logs".to_owned()),
            window: Duration::from_secs(window),
            lag: Duration::from_secs(secs("TRIBUTARY_EASYSEND_LAG_SECONDS", 120)?),
            overlap: Duration::from_secs(secs("TRIBUTARY_EASYSEND_OVERLAP_SECONDS", 600)?),
            lookback: Duration::from_secs(check_range(
                "TRIBUTARY_EASYSEND_LOOKBACK_SECONDS",
                secs("TRIBUTARY_EASYSEND_LOOKBACK_SECONDS", 24 * 3600)?,
                0,
                retention,
            )?),
            min_window: Duration::from_secs(check_range(
                "TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS",
                secs("TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS", 10)?,
                1,
                window,
            )?),
            retention: Duration::from_secs(retention),
            alarm_share: check_range(
                "TRIBUTARY_EASYSEND_RETENTION_ALARM_SHARE",
                parse_or("TRIBUTARY_EASYSEND_RETENTION_ALARM_SHARE", 0.75)?,
                0.01,
                1.0,
            )?,
            request_timeout: Duration::from_secs(check_range(
                "TRIBUTARY_EASYSEND_REQUEST_TIMEOUT_SECONDS",
                secs("TRIBUTARY_EASYSEND_REQUEST_TIMEOUT_SECONDS", 120)?,
                1,
                900,
            )?),
        };
        Ok(config)
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
