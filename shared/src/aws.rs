//! AWS SDK configuration. The standard chain applies (region, credentials, `AWS_ENDPOINT_URL`), so the same code
//! talks to AWS in Lambda and to the local stack on a laptop.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration from the environment.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client. Path-style addressing is used whenever a custom endpoint is configured, because local S3
/// stand-ins do not resolve virtual-hosted bucket names; `TRIBUTARY_S3_FORCE_PATH_STYLE` overrides.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = config.endpoint_url().is_some();
    let force_path_style = crate::config::bool_or("TRIBUTARY_S3_FORCE_PATH_STYLE", custom_endpoint)
        .unwrap_or(custom_endpoint);
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn secrets_client(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

/// The full text of an SDK error, including its cause chain (the SDK's `Display` alone says only "service error").
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
