//! The poller's settings: `TRIBUTARY_TRANSMIT_*` environment variables (the common `TRIBUTARY_*`
//! ones are read by the shared services).

use std::time::Duration;

use tributary_shared::config::{self, ConfigError, Reader, Setting};
use tributary_shared::services::CommonConfig;

/// The largest batch the vendor hands out per `collect`.
pub const MAX_BATCH_SIZE: u32 = 1000;

/// Mosaic regions and their Event Streaming API bases. CA and AU are documented under `/risk/v1`.
pub const REGIONS: &[(&str, &str)] = &[
    ("us", "https://api.transmitsecurity.io/activities/v1"),
    ("eu", "https://api.eu.transmitsecurity.io/activities/v1"),
    ("ca", "https://api.ca.transmitsecurity.io/risk/v1"),
    ("au", "https://api.au.transmitsecurity.io/risk/v1"),
    (
        "sandbox",
        "https://api.sbx.transmitsecurity.io/activities/v1",
    ),
];

#[derive(Debug, Clone)]
pub struct TransmitConfig {
    /// The activities API base, version included (`…/activities/v1`); operation paths
    /// (`/activities/collect`, …) are appended to it.
    pub api_base: String,
    /// The OIDC token endpoint.
    pub token_url: String,
    /// Secrets Manager ARN or name of a JSON secret `{"client_id": …, "client_secret": …}`.
    pub secret_id: String,
    /// The stream this deployment reads (one per event type, same id for all four).
    pub stream_id: String,
    /// Events per `collect`, 1..=1000. Smaller batches shrink what an invocation killed between
    /// receiving and landing a batch can lose; larger ones need fewer calls.
    pub batch_size: u32,
    /// `retention` (days) sent when the stream is created; `None` sends none.
    pub retention_days: Option<u32>,
    /// `enrichment=true` when the stream is created (events carry private data).
    pub enrichment: bool,
    /// The least time one more collect-and-land round is assumed to take.
    pub round_trip_floor: Duration,
    /// How long one `collect` may take before it is given up. A timed-out collect may have cost a batch (the
    /// vendor may have handed it out), so this is long enough for a slow but working vendor, not the common
    /// HTTP timeout; it is always cut to the time the run has left.
    pub collect_timeout: Duration,
}

impl TransmitConfig {
    /// A configuration with the defaults below, for a given API base and secret.
    pub fn new(api_base: impl Into<String>, secret_id: impl Into<String>) -> TransmitConfig {
        let api_base = api_base.into().trim_end_matches('/').to_owned();
        TransmitConfig {
            token_url: token_url_for(&api_base),
            api_base,
            secret_id: secret_id.into(),
            stream_id: "tributary".to_owned(),
            batch_size: MAX_BATCH_SIZE,
            retention_days: Some(7),
            enrichment: false,
            round_trip_floor: Duration::from_secs(1),
            collect_timeout: Duration::from_secs(120),
        }
    }

    /// From the environment, with every problem at once (the README's configuration table lists the
    /// variables; `transmit-poller --help` prints them with their defaults).
    pub fn from_env() -> Result<TransmitConfig, ConfigError> {
        let mut reader = Reader::from_env();
        let config = TransmitConfig::read(&mut reader);
        reader.finish(config)
    }

    /// Reads the `TRIBUTARY_TRANSMIT_*` settings into `reader`, which keeps any problem.
    pub fn read(reader: &mut Reader) -> TransmitConfig {
        let secret_id = reader.required(
            "TRIBUTARY_TRANSMIT_SECRET_ID",
            "Secrets Manager secret {\"client_id\": ..., \"client_secret\": ...}",
        );
        let regions: Vec<(&str, &str)> = REGIONS.to_vec();
        let region_base = reader.choice(
            "TRIBUTARY_TRANSMIT_REGION",
            "us",
            &regions,
            "Mosaic region; picks the API base",
        );
        let base = reader.optional(
            "TRIBUTARY_TRANSMIT_BASE_URL",
            "the region's API base",
            "activities API base, version included",
        );
        if let Some(base) = &base {
            if reqwest::Url::parse(base).is_err() {
                reader.invalid(
                    "TRIBUTARY_TRANSMIT_BASE_URL",
                    base,
                    "a URL such as https://api.transmitsecurity.io/activities/v1",
                );
            }
        }
        let mut config =
            TransmitConfig::new(base.unwrap_or_else(|| region_base.to_owned()), secret_id);
        if let Some(url) = reader.optional(
            "TRIBUTARY_TRANSMIT_TOKEN_URL",
            "<scheme://host of the base>/oidc/token",
            "OAuth2 token endpoint",
        ) {
            config.token_url = url;
        }
        let stream_id = reader.text(
            "TRIBUTARY_TRANSMIT_STREAM_ID",
            "tributary",
            "the stream_id created and drained per event type",
        );
        if stream_id.chars().any(char::is_whitespace) {
            // The vendor wants "a continuous string, without spaces".
            reader.invalid(
                "TRIBUTARY_TRANSMIT_STREAM_ID",
                &stream_id,
                "one word, without spaces",
            );
        }
        config.stream_id = stream_id;
        config.batch_size = reader.whole(
            "TRIBUTARY_TRANSMIT_BATCH_SIZE",
            MAX_BATCH_SIZE.into(),
            1..=MAX_BATCH_SIZE.into(),
            "events",
            "events per collect; smaller batches shrink what a killed run can lose",
        ) as u32;
        let retention = reader.whole(
            "TRIBUTARY_TRANSMIT_RETENTION_DAYS",
            7,
            0..=3650,
            "days",
            "retention sent when the stream is created; 0 sends none",
        ) as u32;
        config.retention_days = (retention > 0).then_some(retention);
        config.enrichment = reader.flag(
            "TRIBUTARY_TRANSMIT_ENRICHMENT",
            false,
            "create the stream with enrichment=true (events carry private data)",
        );
        config.round_trip_floor = reader.millis(
            "TRIBUTARY_TRANSMIT_ROUND_TRIP_FLOOR_MS",
            1000,
            "the least time one more collect-and-land round is assumed to take",
        );
        config.collect_timeout = Duration::from_secs(reader.whole(
            "TRIBUTARY_TRANSMIT_COLLECT_TIMEOUT_SECONDS",
            120,
            1..=900,
            "seconds",
            "how long one collect may take; a timed-out collect may have cost a batch, so keep it generous",
        ));
        config
    }
}

/// The common settings and Transmit's, read together so a start-up reports every problem at once.
pub fn load() -> Result<(CommonConfig, TransmitConfig), ConfigError> {
    let mut reader = Reader::from_env();
    let common = CommonConfig::read(&mut reader);
    let transmit = TransmitConfig::read(&mut reader);
    reader.finish((common, transmit))
}

/// Every setting the poller reads, with its default (for `--help`).
pub fn settings() -> Vec<Setting> {
    let mut reader = Reader::from_vars([]);
    CommonConfig::read(&mut reader);
    TransmitConfig::read(&mut reader);
    let mut settings = reader.into_settings();
    settings.extend(config::runtime_settings());
    settings
}

/// The API base of a region name.
pub fn region_base(region: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(region))
        .map(|(_, base)| *base)
}

/// `/oidc/token` on the API base's host (the token endpoint lives at the host root in every
/// region).
pub fn token_url_for(api_base: &str) -> String {
    match reqwest::Url::parse(api_base) {
        Ok(url) => format!("{}/oidc/token", url.origin().ascii_serialization()),
        Err(_) => format!("{}/oidc/token", api_base.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_is_at_the_root_of_the_api_host() {
        assert_eq!(
            token_url_for("https://api.eu.transmitsecurity.io/activities/v1"),
            "https://api.eu.transmitsecurity.io/oidc/token"
        );
        assert_eq!(
            token_url_for("http://127.0.0.1:8080/risk/v1/"),
            "http://127.0.0.1:8080/oidc/token"
        );
    }

    #[test]
    fn regions_name_the_documented_bases() {
        assert_eq!(
            region_base("CA"),
            Some("https://api.ca.transmitsecurity.io/risk/v1")
        );
        assert_eq!(region_base("mars"), None);
    }

    #[test]
    fn every_bad_setting_is_reported_in_plain_words() {
        let mut reader = Reader::from_vars([
            ("TRIBUTARY_TRANSMIT_REGION", "mars"),
            ("TRIBUTARY_TRANSMIT_BATCH_SIZE", "-5"),
            ("TRIBUTARY_TRANSMIT_STREAM_ID", "two words"),
        ]);
        TransmitConfig::read(&mut reader);
        let text = reader.finish(()).unwrap_err().to_string();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "TRIBUTARY_TRANSMIT_SECRET_ID must be set: Secrets Manager secret \
                 {\"client_id\": ..., \"client_secret\": ...}",
                "TRIBUTARY_TRANSMIT_REGION=mars must be one of us, eu, ca, au, sandbox",
                "TRIBUTARY_TRANSMIT_STREAM_ID=\"two words\" must be one word, without spaces",
                "TRIBUTARY_TRANSMIT_BATCH_SIZE=-5 must be a whole number of events from 1 to 1000",
            ]
        );
    }

    #[test]
    fn an_explicit_base_replaces_the_region_and_moves_the_token_endpoint() {
        let mut reader = Reader::from_vars([
            ("TRIBUTARY_TRANSMIT_SECRET_ID", "s"),
            (
                "TRIBUTARY_TRANSMIT_BASE_URL",
                "http://127.0.0.1:9/activities/v1",
            ),
            ("TRIBUTARY_TRANSMIT_RETENTION_DAYS", "0"),
        ]);
        let config = TransmitConfig::read(&mut reader);
        let config = reader.finish(config).unwrap();
        assert_eq!(config.token_url, "http://127.0.0.1:9/oidc/token");
        assert_eq!(config.retention_days, None);
        assert_eq!(config.batch_size, MAX_BATCH_SIZE);
    }
}
