//! The poller's settings: `TRIBUTARY_TRANSMIT_*` environment variables (the common `TRIBUTARY_*`
//! ones are read by the shared services).

use std::time::Duration;

use tributary_shared::config::{self, ConfigError};

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
        }
    }

    /// From the environment:
    ///
    /// | variable | default |
    /// |---|---|
    /// | `TRIBUTARY_TRANSMIT_SECRET_ID` | required |
    /// | `TRIBUTARY_TRANSMIT_REGION` | `us` (`us`, `eu`, `ca`, `au`, `sandbox`) |
    /// | `TRIBUTARY_TRANSMIT_BASE_URL` | the region's API base |
    /// | `TRIBUTARY_TRANSMIT_TOKEN_URL` | `<scheme://host of the base>/oidc/token` |
    /// | `TRIBUTARY_TRANSMIT_STREAM_ID` | `tributary` |
    /// | `TRIBUTARY_TRANSMIT_BATCH_SIZE` | `1000` |
    /// | `TRIBUTARY_TRANSMIT_RETENTION_DAYS` | `7` (`0`: send none) |
    /// | `TRIBUTARY_TRANSMIT_ENRICHMENT` | `false` |
    /// | `TRIBUTARY_TRANSMIT_ROUND_TRIP_FLOOR_MS` | `1000` |
    pub fn from_env() -> Result<TransmitConfig, ConfigError> {
        let region = config::optional("TRIBUTARY_TRANSMIT_REGION")
            .unwrap_or_else(|| "us".to_owned())
            .to_ascii_lowercase();
        let api_base = match config::optional("TRIBUTARY_TRANSMIT_BASE_URL") {
            Some(base) => base,
            None => region_base(&region)
                .ok_or_else(|| ConfigError::Invalid {
                    name: "TRIBUTARY_TRANSMIT_REGION".to_owned(),
                    value: region.clone(),
                    reason: "expected one of us, eu, ca, au, sandbox".to_owned(),
                })?
                .to_owned(),
        };
        if reqwest::Url::parse(&api_base).is_err() {
            return Err(ConfigError::Invalid {
                name: "TRIBUTARY_TRANSMIT_BASE_URL".to_owned(),
                value: api_base,
                reason: "not a URL".to_owned(),
            });
        }
        let mut config =
            TransmitConfig::new(api_base, config::required("TRIBUTARY_TRANSMIT_SECRET_ID")?);
        if let Some(url) = config::optional("TRIBUTARY_TRANSMIT_TOKEN_URL") {
            config.token_url = url;
        }
        if let Some(id) = config::optional("TRIBUTARY_TRANSMIT_STREAM_ID") {
            config.stream_id = check_stream_id(id)?;
        }
        config.batch_size = config::check_range(
            "TRIBUTARY_TRANSMIT_BATCH_SIZE",
            config::parse_or("TRIBUTARY_TRANSMIT_BATCH_SIZE", MAX_BATCH_SIZE)?,
            1,
            MAX_BATCH_SIZE,
        )?;
        let retention: u32 = config::parse_or("TRIBUTARY_TRANSMIT_RETENTION_DAYS", 7)?;
        config.retention_days = (retention > 0).then_some(retention);
        config.enrichment = config::bool_or("TRIBUTARY_TRANSMIT_ENRICHMENT", false)?;
        config.round_trip_floor =
            config::millis_or("TRIBUTARY_TRANSMIT_ROUND_TRIP_FLOOR_MS", 1000)?;
        Ok(config)
    }
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

/// The vendor wants "a continuous string, without spaces".
fn check_stream_id(id: String) -> Result<String, ConfigError> {
    if id.chars().any(char::is_whitespace) {
        return Err(ConfigError::Invalid {
            name: "TRIBUTARY_TRANSMIT_STREAM_ID".to_owned(),
            value: id,
            reason: "a stream id must be one word, without spaces".to_owned(),
        });
    }
    Ok(id)
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
}
