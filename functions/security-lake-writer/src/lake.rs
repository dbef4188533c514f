//! Where the files go: Security Lake's bucket, in each class's custom-source location, partitioned as Security Lake
//! reads custom sources: `<location>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<file>`.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use crate::config::WriterConfig;
use crate::hour::Hour;
use crate::ocsf::Class;

#[derive(Clone)]
pub struct Lake {
    pub s3: Client,
    pub bucket: String,
    region: String,
    account_id: String,
    sources: BTreeMap<Class, String>,
}

impl Lake {
    /// The lake's client: the function's own credentials, or those of the role Security Lake provisioned for the
    /// custom source (assumed with its external id, refreshed by the SDK before they expire).
    pub async fn new(sdk: &SdkConfig, config: &WriterConfig) -> Lake {
        let sdk = match &config.role_arn {
            None => sdk.clone(),
            Some(role) => {
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("tributary-security-lake-writer")
                    .configure(sdk);
                if let Some(external_id) = &config.external_id {
                    provider = provider.external_id(external_id);
                }
                let provider = provider.build().await;
                sdk.to_builder()
                    .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                        provider,
                    ))
                    .build()
            }
        };
        Lake {
            s3: tributary_shared::aws::s3_client(&sdk),
            bucket: config.lake_bucket.clone(),
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            sources: config.sources.clone(),
        }
    }

    /// The key of `hour`'s file of `class`.
    pub fn key(&self, class: Class, hour: &Hour) -> String {
        format!(
            "{}/region={}/accountId={}/eventDay={}/{}.zstd.parquet",
            self.sources[&class],
            self.region,
            self.account_id,
            hour.day.format("%Y%m%d"),
            hour.file_stem()
        )
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/vnd.apache.parquet")
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("writing {key}: {}", tributary_shared::aws::error_text(&e)))
    }

    /// Removes `key` if it exists: a class that no longer has rows for an hour (after a mapping change) must not
    /// keep its old file, or those events would be counted twice.
    pub async fn remove_if_present(&self, key: &str) -> Result<bool, String> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(false),
            Err(e) => {
                return Err(format!(
                    "looking for {key}: {}",
                    tributary_shared::aws::error_text(&e)
                ))
            }
        }
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| true)
            .map_err(|e| format!("removing {key}: {}", tributary_shared::aws::error_text(&e)))
    }
}
