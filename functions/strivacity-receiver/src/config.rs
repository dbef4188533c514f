//! The receiver's settings, all from `TRIBUTARY_*` environment variables (the same names in Lambda and on the
//! standalone host).

use std::time::Duration;

use tributary_shared::config::{self, ConfigError};

use crate::body::Limits;
use crate::bulk::ClusterInfo;
use crate::classify::{self, EventType, Rule};
use crate::mapping::{self, Mapper};

/// Which status a `_bulk` request gets when storage fails. Both make official clients retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkBusyStatus {
    /// 503 (the default): the cluster cannot take writes right now.
    Unavailable,
    /// 429 `es_rejected_execution_exception`: what a busy Elasticsearch answers; the Python bulk helper retries
    /// only this one on its own.
    TooManyRequests,
}

#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// `TRIBUTARY_BUCKET`.
    pub bucket: String,
    /// `TRIBUTARY_PREFIX` (default `tributary`).
    pub prefix: String,
    /// `TRIBUTARY_GZIP_LEVEL` (1–9, default 6).
    pub gzip_level: u32,
    /// `TRIBUTARY_STRIVACITY_SECRET_ID`: one or more Secrets Manager ids (ARN or name), comma-separated.
    pub secret_ids: Vec<String>,
    /// `TRIBUTARY_SECRETS_TTL_SECONDS` (default 300): how soon a rotated token or key is picked up.
    pub secrets_ttl: Duration,
    /// `TRIBUTARY_STRIVACITY_MAX_BODY_BYTES`, `..._MAX_DECOMPRESSED_BYTES`, `..._MAX_EVENTS`.
    pub limits: Limits,
    /// `TRIBUTARY_STRIVACITY_LAND_TIMEOUT_SECONDS` (default 20): the longest we wait for S3 before answering
    /// with the protocol's retryable error (also bounded by the Lambda deadline).
    pub land_timeout: Duration,
    /// `TRIBUTARY_SAFETY_MARGIN_SECONDS` (default 2 here): answer this long before the Lambda deadline.
    pub safety_margin: Duration,
    /// `TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS` (`503` or `429`, default `503`).
    pub bulk_busy_status: BulkBusyStatus,
    /// `TRIBUTARY_STRIVACITY_ES_CLUSTER_NAME` (default `tributary`): what `GET /` shows.
    pub cluster: ClusterInfo,
    /// Event ids, timestamps, account/audit rule.
    pub mapper: Mapper,
}

impl ReceiverConfig {
    /// The defaults, for `bucket` and credentials in `secret_ids` (what tests and benchmarks start from).
    pub fn new(bucket: impl Into<String>, secret_ids: Vec<String>) -> Self {
        ReceiverConfig {
            bucket: bucket.into(),
            prefix: "tributary".to_owned(),
            gzip_level: 6,
            secret_ids,
            secrets_ttl: Duration::from_secs(300),
            limits: Limits::default(),
            land_timeout: Duration::from_secs(20),
            safety_margin: Duration::from_secs(2),
            bulk_busy_status: BulkBusyStatus::Unavailable,
            cluster: ClusterInfo::default(),
            mapper: Mapper::default(),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let limits = Limits::default();
        let limits = Limits {
            max_body_bytes: config::check_range(
                "TRIBUTARY_STRIVACITY_MAX_BODY_BYTES",
                config::parse_or("TRIBUTARY_STRIVACITY_MAX_BODY_BYTES", limits.max_body_bytes)?,
                1024,
                6 * 1024 * 1024,
            )?,
            max_decompressed_bytes: config::check_range(
                "TRIBUTARY_STRIVACITY_MAX_DECOMPRESSED_BYTES",
                config::parse_or(
                    "TRIBUTARY_STRIVACITY_MAX_DECOMPRESSED_BYTES",
                    limits.max_decompressed_bytes,
                )?,
                1024,
                1024 * 1024 * 1024,
            )?,
            max_events: config::check_range(
                "TRIBUTARY_STRIVACITY_MAX_EVENTS",
                config::parse_or("TRIBUTARY_STRIVACITY_MAX_EVENTS", limits.max_events)?,
                1,
                1_000_000,
            )?,
        };
        let secret_ids = config::list_or("TRIBUTARY_STRIVACITY_SECRET_ID", &[]);
        if secret_ids.is_empty() {
            return Err(ConfigError::Missing {
                name: "TRIBUTARY_STRIVACITY_SECRET_ID".to_owned(),
            });
        }
        let bulk_busy_status =
            match config::optional("TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS").as_deref() {
                None | Some("503") => BulkBusyStatus::Unavailable,
                Some("429") => BulkBusyStatus::TooManyRequests,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS".to_owned(),
                        value: other.to_owned(),
                        reason: "expected 503 or 429".to_owned(),
                    })
                }
            };
        let default_type = config::optional("TRIBUTARY_STRIVACITY_DEFAULT_EVENT_TYPE");
        let default = match default_type.as_deref() {
            None => EventType::Account,
            Some(value) => EventType::parse(value).ok_or_else(|| ConfigError::Invalid {
                name: "TRIBUTARY_STRIVACITY_DEFAULT_EVENT_TYPE".to_owned(),
                value: value.to_owned(),
                reason: "expected account or audit".to_owned(),
            })?,
        };
        let rule = Rule {
            audit_markers: config::list_or(
                "TRIBUTARY_STRIVACITY_AUDIT_MARKERS",
                classify::DEFAULT_AUDIT_MARKERS,
            ),
            account_markers: config::list_or(
                "TRIBUTARY_STRIVACITY_ACCOUNT_MARKERS",
                classify::DEFAULT_ACCOUNT_MARKERS,
            ),
            type_fields: config::list_or(
                "TRIBUTARY_STRIVACITY_TYPE_FIELDS",
                classify::DEFAULT_TYPE_FIELDS,
            ),
            audit_fields: config::list_or(
                "TRIBUTARY_STRIVACITY_AUDIT_FIELDS",
                classify::DEFAULT_AUDIT_FIELDS,
            ),
            account_fields: config::list_or(
                "TRIBUTARY_STRIVACITY_ACCOUNT_FIELDS",
                classify::DEFAULT_ACCOUNT_FIELDS,
            ),
            default,
        };
        let cluster_name = config::optional("TRIBUTARY_STRIVACITY_ES_CLUSTER_NAME")
            .unwrap_or_else(|| "tributary".to_owned());
        Ok(ReceiverConfig {
            bucket: config::required("TRIBUTARY_BUCKET")?,
            prefix: config::optional("TRIBUTARY_PREFIX").unwrap_or_else(|| "tributary".to_owned()),
            gzip_level: config::check_range(
                "TRIBUTARY_GZIP_LEVEL",
                config::parse_or("TRIBUTARY_GZIP_LEVEL", 6)?,
                1,
                9,
            )?,
            secret_ids,
            secrets_ttl: config::seconds_or("TRIBUTARY_SECRETS_TTL_SECONDS", 300)?,
            limits,
            land_timeout: config::seconds_or("TRIBUTARY_STRIVACITY_LAND_TIMEOUT_SECONDS", 20)?,
            safety_margin: config::seconds_or("TRIBUTARY_SAFETY_MARGIN_SECONDS", 2)?,
            bulk_busy_status,
            cluster: ClusterInfo {
                node_name: cluster_name.clone(),
                cluster_name,
            },
            mapper: Mapper {
                event_id_paths: config::list_or(
                    "TRIBUTARY_STRIVACITY_EVENT_ID_PATHS",
                    mapping::DEFAULT_EVENT_ID_PATHS,
                ),
                timestamp_paths: config::list_or(
                    "TRIBUTARY_STRIVACITY_TIMESTAMP_PATHS",
                    mapping::DEFAULT_TIMESTAMP_PATHS,
                ),
                rule,
            },
        })
    }
}
