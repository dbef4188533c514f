//! Where the files go: Security Lake's bucket, in each class's custom-source location, partitioned as Security Lake
//! reads custom sources: `<location>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<file>`.
//!
//! Each file carries, as object metadata, the digest of its bytes and the number of rows its whole hour had when it
//! was written: a rebuild that would write the same bytes writes nothing (no new ObjectCreated for the lake's
//! subscribers), and one whose hour has fewer rows than before (landed objects expired or deleted) is refused.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use sha2::{Digest, Sha256};

use crate::config::WriterConfig;
use crate::hour::Hour;
use crate::ocsf::Class;

/// What a file already in the lake says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub sha256: String,
    /// Rows of the whole hour (all classes) when the file was written.
    pub hour_rows: Option<u64>,
}

/// What looking for a file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Absent,
    Present(Existing),
    /// The role may write but not look (some custom-source roles grant only `s3:PutObject`).
    Hidden,
}

#[derive(Clone)]
pub struct Lake {
    bucket: String,
    region: String,
    account_id: String,
    locations: BTreeMap<Class, String>,
    clients: BTreeMap<Class, Client>,
}

impl Lake {
    /// The lake's clients: the function's own credentials, or those of the role Security Lake provisioned for
    /// each custom source (assumed with its external id, refreshed by the SDK before they expire).
    pub async fn new(sdk: &SdkConfig, config: &WriterConfig) -> Lake {
        let mut by_role: BTreeMap<Option<String>, Client> = BTreeMap::new();
        let mut clients = BTreeMap::new();
        for (class, source) in &config.sources {
            if !by_role.contains_key(&source.role_arn) {
                let client = client(
                    sdk,
                    source.role_arn.as_deref(),
                    config.external_id.as_deref(),
                )
                .await;
                by_role.insert(source.role_arn.clone(), client);
            }
            clients.insert(*class, by_role[&source.role_arn].clone());
        }
        Lake {
            bucket: config.lake_bucket.clone(),
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            locations: config
                .sources
                .iter()
                .map(|(class, source)| (*class, source.location.clone()))
                .collect(),
            clients,
        }
    }

    /// The key of `hour`'s file of `class`.
    pub fn key(&self, class: Class, hour: &Hour) -> String {
        format!(
            "{}/region={}/accountId={}/eventDay={}/{}.zstd.parquet",
            self.locations[&class],
            self.region,
            self.account_id,
            hour.day.format("%Y%m%d"),
            hour.file_stem()
        )
    }

    pub async fn find(&self, class: Class, hour: &Hour) -> Result<Found, String> {
        let key = self.key(class, hour);
        match self.clients[&class]
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(head) => {
                let metadata = head.metadata();
                let meta = |name: &str| metadata.and_then(|m| m.get(name)).cloned();
                Ok(Found::Present(Existing {
                    sha256: meta("sha256").unwrap_or_default(),
                    hour_rows: meta("hour-rows").and_then(|r| r.parse().ok()),
                }))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(Found::Absent),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
                Ok(Found::Hidden)
            }
            Err(e) => Err(format!(
                "looking for {key}: {}",
                tributary_shared::aws::error_text(&e)
            )),
        }
    }

    /// Writes `hour`'s file of `class`.
    pub async fn put(
        &self,
        class: Class,
        hour: &Hour,
        body: Vec<u8>,
        hour_rows: usize,
    ) -> Result<(), String> {
        let key = self.key(class, hour);
        self.clients[&class]
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/vnd.apache.parquet")
            .metadata("sha256", digest(&body))
            .metadata("hour-rows", hour_rows.to_string())
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("writing {key}: {}", tributary_shared::aws::error_text(&e)))
    }

    /// Removes `hour`'s file of `class`: a class that no longer has rows for an hour (after a mapping change) must
    /// not keep its old file, or those events would be counted twice.
    pub async fn remove(&self, class: Class, hour: &Hour) -> Result<(), String> {
        let key = self.key(class, hour);
        self.clients[&class]
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("removing {key}: {}", tributary_shared::aws::error_text(&e)))
    }
}

/// The hex SHA-256 of a file's bytes, as its metadata records it.
pub fn digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

async fn client(sdk: &SdkConfig, role: Option<&str>, external_id: Option<&str>) -> Client {
    let Some(role) = role else {
        return tributary_shared::aws::s3_client(sdk);
    };
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("tributary-security-lake-writer")
        .configure(sdk);
    if let Some(external_id) = external_id {
        provider = provider.external_id(external_id);
    }
    let provider = provider.build().await;
    let sdk = sdk
        .to_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(provider))
        .build();
    tributary_shared::aws::s3_client(&sdk)
}
