//! The clients and settings every function builds once per process and shares across invocations.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

// Named by its full path so that tools tracing which settings a function reads can follow it.
use crate::config::common;
use crate::config::{ConfigError, Reader};
use crate::http::HttpPolicy;
use crate::landing::Lander;
use crate::record::Shape;
use crate::secrets::SecretsCache;
use crate::state::StateStore;

/// Settings common to all functions (`TRIBUTARY_*`, see the README's configuration table).
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// `TRIBUTARY_BUCKET`: where batches land.
    pub bucket: String,
    /// `TRIBUTARY_PREFIX`: key prefix above `vendor=` (default `tributary`).
    pub prefix: String,
    /// `TRIBUTARY_STATE_TABLE`: the DynamoDB state table.
    pub table: String,
    /// `TRIBUTARY_SAFETY_MARGIN_SECONDS`: stop this long before the Lambda deadline (default 10).
    pub safety_margin: Duration,
    /// `TRIBUTARY_LEASE_SECONDS`: how long a stream's lease lasts without a heartbeat (default 45). A run renews it
    /// while it is alive, so a run killed mid-way frees its stream within this time.
    pub lease_ttl: Duration,
    /// `TRIBUTARY_GZIP_LEVEL`: 1 (fast) to 9 (small), default 6.
    pub gzip_level: u32,
    /// `TRIBUTARY_RECORD_SHAPE`: `lean` (default) or `full`.
    pub record_shape: Shape,
    /// `TRIBUTARY_SECRETS_TTL_SECONDS`: how long a secret is cached (default 300).
    pub secrets_ttl: Duration,
    /// `TRIBUTARY_HTTP_*`.
    pub http: HttpPolicy,
}

impl CommonConfig {
    /// From the environment, with every problem at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut reader = Reader::from_env();
        let config = CommonConfig::read(&mut reader);
        reader.finish(config)
    }

    /// Reads the common settings into `reader`, which keeps any problem.
    pub fn read(reader: &mut Reader) -> Self {
        CommonConfig {
            bucket: common::bucket(reader),
            prefix: common::prefix(reader),
            table: reader.required("TRIBUTARY_STATE_TABLE", "the DynamoDB state table"),
            safety_margin: common::safety_margin(reader, 10),
            lease_ttl: Duration::from_secs(reader.whole(
                "TRIBUTARY_LEASE_SECONDS",
                45,
                1..=u64::MAX,
                "seconds",
                "how long a stream's lease lasts without a heartbeat; a killed run frees its stream within this time",
            )),
            gzip_level: common::gzip_level(reader),
            record_shape: common::record_shape(reader),
            secrets_ttl: common::secrets_ttl(reader),
            http: HttpPolicy::from_env(reader),
        }
    }
}

/// Built once in `main`, shared by reference with every invocation.
#[derive(Clone)]
pub struct Services {
    pub config: CommonConfig,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: Arc<SecretsCache>,
    pub state: StateStore,
    pub http: reqwest::Client,
}

impl Services {
    /// From the environment: `TRIBUTARY_*` settings and the standard AWS configuration chain.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = CommonConfig::from_env()?;
        let sdk = crate::aws::load().await;
        Ok(Services::new(&sdk, config))
    }

    pub fn new(sdk: &SdkConfig, config: CommonConfig) -> Self {
        let dynamodb = crate::aws::dynamodb_client(sdk);
        Services {
            s3: crate::aws::s3_client(sdk),
            secrets: Arc::new(SecretsCache::new(
                crate::aws::secrets_client(sdk),
                config.secrets_ttl,
            )),
            state: StateStore::new(dynamodb.clone(), config.table.clone()),
            dynamodb,
            http: config.http.client(),
            config,
        }
    }

    /// A lander for `collector` with the configured bucket, prefix and compression.
    pub fn lander(&self, collector: &'static str) -> Lander {
        Lander::new(
            self.s3.clone(),
            self.config.bucket.clone(),
            self.config.prefix.clone(),
            collector,
            self.config.gzip_level,
        )
        .with_shape(self.config.record_shape)
    }
}
