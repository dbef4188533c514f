//! The receiver's settings, all from `TRIBUTARY_*` environment variables (the same names in Lambda and on the
//! standalone host).

use std::time::Duration;

use tributary_shared::config::common;
use tributary_shared::config::{self, ConfigError, Reader, Setting};

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
    /// `TRIBUTARY_RECORD_SHAPE`: `lean` (default) or `full`.
    pub record_shape: tributary_shared::record::Shape,
    /// `TRIBUTARY_STRIVACITY_SECRET_ID`: one or more Secrets Manager ids (ARN or name), comma-separated.
    pub secret_ids: Vec<String>,
    /// `TRIBUTARY_SECRETS_TTL_SECONDS` (default 300): how soon a rotated token or key is picked up.
    pub secrets_ttl: Duration,
    /// `TRIBUTARY_STRIVACITY_MAX_BODY_BYTES`, `..._MAX_DECOMPRESSED_BYTES`, `..._MAX_EVENTS`.
    pub limits: Limits,
    /// `TRIBUTARY_STRIVACITY_LAND_TIMEOUT_SECONDS` (default 20): the longest we wait for S3 before answering
    /// with the protocol's retryable error (also bounded by the Lambda deadline).
    pub land_timeout: Duration,
    /// `TRIBUTARY_STRIVACITY_BODY_READ_TIMEOUT_SECONDS` (default 30): the longest a request body may take to
    /// arrive; a sender that stalls mid-body is answered 408 and its connection freed.
    pub body_read_timeout: Duration,
    /// `TRIBUTARY_STRIVACITY_UPLOAD_CONCURRENCY` (default 32): objects of one request written to S3 at once. A
    /// request spanning many hours is one object per hour; S3 takes thousands of writes a second per prefix and a
    /// Lambda's network is idle while it waits, so many small writes in flight is what keeps a request inside
    /// its time budget.
    pub upload_concurrency: usize,
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
            record_shape: tributary_shared::record::Shape::default(),
            secret_ids,
            secrets_ttl: Duration::from_secs(300),
            limits: Limits::default(),
            land_timeout: Duration::from_secs(20),
            upload_concurrency: 32,
            body_read_timeout: Duration::from_secs(30),
            safety_margin: Duration::from_secs(2),
            bulk_busy_status: BulkBusyStatus::Unavailable,
            cluster: ClusterInfo::default(),
            mapper: Mapper::default(),
        }
    }

    /// From the environment, with every problem at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut reader = Reader::from_env();
        let config = ReceiverConfig::read(&mut reader);
        reader.finish(config)
    }

    /// Reads every setting the receiver uses into `reader`, which keeps any problem. The receiver keeps no
    /// state, so of the common settings it reads only those about landing and secrets.
    pub fn read(reader: &mut Reader) -> Self {
        let d = ReceiverConfig::new("", Vec::new());
        let bucket = common::bucket(reader);
        let prefix = common::prefix(reader);
        let gzip_level = common::gzip_level(reader);
        let record_shape = common::record_shape(reader);
        let secrets_ttl = common::secrets_ttl(reader);
        let safety_margin = common::safety_margin(reader, d.safety_margin.as_secs());
        let secret_ids = reader.required_list(
            "TRIBUTARY_STRIVACITY_SECRET_ID",
            "one or more Secrets Manager secrets (comma-separated) with the accepted credentials",
        );
        let bytes = |reader: &mut Reader, name, default: usize, max: u64, about| {
            reader.whole(name, default as u64, 1024..=max, "bytes", about) as usize
        };
        let limits = Limits {
            max_body_bytes: bytes(
                reader,
                "TRIBUTARY_STRIVACITY_MAX_BODY_BYTES",
                d.limits.max_body_bytes,
                6 * 1024 * 1024,
                "largest request body accepted (a Function URL takes at most 6 MB)",
            ),
            max_decompressed_bytes: bytes(
                reader,
                "TRIBUTARY_STRIVACITY_MAX_DECOMPRESSED_BYTES",
                d.limits.max_decompressed_bytes,
                1024 * 1024 * 1024,
                "largest body after gzip is undone",
            ),
            max_events: reader.whole(
                "TRIBUTARY_STRIVACITY_MAX_EVENTS",
                d.limits.max_events as u64,
                1..=1_000_000,
                "events",
                "most events in one request",
            ) as usize,
        };
        let land_timeout = reader.seconds(
            "TRIBUTARY_STRIVACITY_LAND_TIMEOUT_SECONDS",
            d.land_timeout.as_secs(),
            "the longest wait for S3 before answering with the retryable error",
        );
        let body_read_timeout = reader.seconds(
            "TRIBUTARY_STRIVACITY_BODY_READ_TIMEOUT_SECONDS",
            d.body_read_timeout.as_secs(),
            "the longest a request body may take to arrive before the request is answered 408",
        );
        let upload_concurrency = reader.whole(
            "TRIBUTARY_STRIVACITY_UPLOAD_CONCURRENCY",
            d.upload_concurrency as u64,
            1..=256,
            "objects",
            "objects of one request written to S3 at once",
        ) as usize;
        let bulk_busy_status = reader.choice(
            "TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS",
            "503",
            &[
                ("503", BulkBusyStatus::Unavailable),
                ("429", BulkBusyStatus::TooManyRequests),
            ],
            "_bulk status on storage failure",
        );
        let cluster_name = reader.text(
            "TRIBUTARY_STRIVACITY_ES_CLUSTER_NAME",
            "tributary",
            "the cluster name GET / reports",
        );
        let default = reader.choice(
            "TRIBUTARY_STRIVACITY_DEFAULT_EVENT_TYPE",
            "account",
            &[("account", EventType::Account), ("audit", EventType::Audit)],
            "event type when nothing marks an event as account or audit",
        );
        let rule = Rule {
            audit_markers: reader.list(
                "TRIBUTARY_STRIVACITY_AUDIT_MARKERS",
                classify::DEFAULT_AUDIT_MARKERS,
                "values of the type fields, HEC source/sourcetype or index name that mark audit events",
            ),
            account_markers: reader.list(
                "TRIBUTARY_STRIVACITY_ACCOUNT_MARKERS",
                classify::DEFAULT_ACCOUNT_MARKERS,
                "the same for account events",
            ),
            type_fields: reader.list(
                "TRIBUTARY_STRIVACITY_TYPE_FIELDS",
                classify::DEFAULT_TYPE_FIELDS,
                "event fields that may carry a marker",
            ),
            audit_fields: reader.list(
                "TRIBUTARY_STRIVACITY_AUDIT_FIELDS",
                classify::DEFAULT_AUDIT_FIELDS,
                "fields whose presence marks an audit event",
            ),
            account_fields: reader.list(
                "TRIBUTARY_STRIVACITY_ACCOUNT_FIELDS",
                classify::DEFAULT_ACCOUNT_FIELDS,
                "fields whose presence marks an account event",
            ),
            default,
        };
        let mapper = Mapper {
            event_id_paths: reader.list(
                "TRIBUTARY_STRIVACITY_EVENT_ID_PATHS",
                mapping::DEFAULT_EVENT_ID_PATHS,
                "where the event id is (dotted paths)",
            ),
            timestamp_paths: reader.list(
                "TRIBUTARY_STRIVACITY_TIMESTAMP_PATHS",
                mapping::DEFAULT_TIMESTAMP_PATHS,
                "where the event time is (dotted paths)",
            ),
            rule,
        };
        ReceiverConfig {
            bucket,
            prefix,
            gzip_level,
            record_shape,
            secret_ids,
            secrets_ttl,
            limits,
            land_timeout,
            upload_concurrency,
            body_read_timeout,
            safety_margin,
            bulk_busy_status,
            cluster: ClusterInfo {
                node_name: cluster_name.clone(),
                cluster_name,
            },
            mapper,
        }
    }
}

/// `TRIBUTARY_STRIVACITY_LISTEN_ADDR`: where the standalone host listens unless `--listen` says otherwise.
pub fn read_listen_addr(reader: &mut Reader) -> String {
    reader.text(
        "TRIBUTARY_STRIVACITY_LISTEN_ADDR",
        "127.0.0.1:8088",
        "address of the standalone HTTP host (local runs only)",
    )
}

/// The standalone host's connection limits.
pub fn read_host_limits(reader: &mut Reader) -> crate::host::HostLimits {
    let d = crate::host::HostLimits::default();
    crate::host::HostLimits {
        header_read_timeout: reader.seconds(
            "TRIBUTARY_STRIVACITY_HEADER_READ_TIMEOUT_SECONDS",
            d.header_read_timeout.as_secs(),
            "the longest a connection may take to send its request headers or start its next request (standalone host)",
        ),
        max_connections: reader.whole(
            "TRIBUTARY_STRIVACITY_MAX_CONNECTIONS",
            d.max_connections as u64,
            1..=100_000,
            "connections",
            "connections served at once; more wait in the listen backlog (standalone host)",
        ) as usize,
    }
}

/// Every setting the receiver reads in Lambda, with its default (for `--help`).
pub fn settings() -> Vec<Setting> {
    let mut reader = Reader::from_vars([]);
    ReceiverConfig::read(&mut reader);
    let mut settings = reader.into_settings();
    settings.extend(config::runtime_settings());
    settings
}

/// Every setting the standalone host reads: the receiver's and its listen address.
pub fn standalone_settings() -> Vec<Setting> {
    let mut reader = Reader::from_vars([]);
    ReceiverConfig::read(&mut reader);
    read_listen_addr(&mut reader);
    read_host_limits(&mut reader);
    let mut settings = reader.into_settings();
    settings.extend(config::runtime_settings());
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_setting_is_reported_at_once() {
        let mut reader = Reader::from_vars([
            ("TRIBUTARY_GZIP_LEVEL", "0"),
            ("TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS", "500"),
            ("TRIBUTARY_STRIVACITY_DEFAULT_EVENT_TYPE", "session"),
            ("TRIBUTARY_STRIVACITY_SECRET_ID", " , "),
        ]);
        ReceiverConfig::read(&mut reader);
        let text = reader.finish(()).unwrap_err().to_string();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "TRIBUTARY_BUCKET must be set: the landing bucket",
                "TRIBUTARY_GZIP_LEVEL=0 must be a whole number from 1 to 9",
                "TRIBUTARY_STRIVACITY_SECRET_ID must be set: one or more Secrets Manager secrets \
                 (comma-separated) with the accepted credentials",
                "TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS=500 must be one of 503, 429",
                "TRIBUTARY_STRIVACITY_DEFAULT_EVENT_TYPE=session must be one of account, audit",
            ]
        );
    }

    #[test]
    fn unset_settings_read_as_the_defaults_of_new() {
        let mut reader = Reader::from_vars([
            ("TRIBUTARY_BUCKET", "b"),
            ("TRIBUTARY_STRIVACITY_SECRET_ID", "one, two"),
        ]);
        let read = ReceiverConfig::read(&mut reader);
        let read = reader.finish(read).unwrap();
        let defaults = ReceiverConfig::new("b", vec!["one".to_owned(), "two".to_owned()]);
        assert_eq!(format!("{read:?}"), format!("{defaults:?}"));
    }
}
