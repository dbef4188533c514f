//! `validate`: is a function's configuration one it can run with? Reads the settings the way the function does,
//! then checks the secret's shape, that the bucket and the state table exist and accept writes, and that the
//! vendor's URL answers, without collecting anything, moving a cursor or landing an event.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use tributary_shared::config::ConfigError;
use tributary_shared::secrets::SecretsCache;
use tributary_shared::services::{CommonConfig, Services};

/// One thing checked, and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Every check for one function; `ok` when all passed.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub function: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    fn new(function: &str, checks: Vec<Check>) -> Report {
        Report {
            function: function.to_owned(),
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    /// One line per check, for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("{mark}  {:<8}  {}\n", check.check, check.detail));
        }
        out.push_str(&if self.ok {
            format!("{}: the configuration is good to run with\n", self.function)
        } else {
            let failed = self.checks.iter().filter(|c| !c.ok).count();
            format!("{}: {failed} check(s) failed\n", self.function)
        });
        out
    }
}

/// AWS's own code and message (`ResourceNotFoundException: Requested resource not found`), or the whole chain when
/// the request never got an answer.
fn aws_error<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
    }
}

fn pass(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        ok: true,
        detail: detail.into(),
    }
}

fn fail(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        ok: false,
        detail: detail.into(),
    }
}

fn settings_failed(error: &ConfigError) -> Vec<Check> {
    vec![fail("settings", error.to_string())]
}

/// What a secret must hold for the function that reads it.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Transmit: `{"client_id": "...", "client_secret": "..."}`.
    ClientCredentials,
    /// EasySend, Lookout: one plain-text key.
    PlainKey,
    /// Strivacity: at least one token or key the receiver accepts.
    ReceiverTokens,
}

async fn check_secret(secrets: &SecretsCache, id: &str, shape: Shape) -> Check {
    let value = match secrets.get(id).await {
        Ok(value) => value,
        Err(error) => return fail("secret", error.to_string()),
    };
    match shape {
        Shape::ClientCredentials => match (value.field("client_id"), value.field("client_secret")) {
            (Ok(id_), Ok(secret)) if !id_.expose().is_empty() && !secret.expose().is_empty() => {
                // The template creates the secret with this placeholder for the deployer to replace.
                if id_.expose() == "set-me" {
                    fail(
                        "secret",
                        format!("secret {id} still holds the placeholder client_id \"set-me\": put the Transmit client credentials in"),
                    )
                } else {
                    pass("secret", format!("secret {id} holds client_id and client_secret"))
                }
            }
            _ => fail(
                "secret",
                format!("secret {id} must be JSON {{\"client_id\": \"...\", \"client_secret\": \"...\"}} with both fields non-empty"),
            ),
        },
        Shape::PlainKey => {
            let text = value.whole();
            let text = text.expose().trim();
            if text.is_empty() {
                fail("secret", format!("secret {id} is empty: put the vendor's API key in (plain text)"))
            } else if text.starts_with('{') {
                fail("secret", format!("secret {id} holds JSON; this vendor's key is stored as plain text"))
            } else {
                pass("secret", format!("secret {id} holds a key ({} characters)", text.chars().count()))
            }
        }
        Shape::ReceiverTokens => {
            if strivacity_receiver::auth::Credentials::from_secrets([value.as_ref()]).is_empty() {
                fail("secret", format!("secret {id} holds no token or key: the receiver would refuse every request"))
            } else {
                pass("secret", format!("secret {id} holds at least one token"))
            }
        }
    }
}

/// Writes and deletes a probe object under the vendor's own prefix. Its name does not end in `.ndjson.gz`, so
/// no SIEM queue is notified.
async fn check_bucket(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, vendor: &str) -> Check {
    let key = format!("{prefix}/vendor={vendor}/_tributary-validate");
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(
            b"written by tributary-ctl validate; safe to delete"
                .to_vec()
                .into(),
        )
        .send()
        .await;
    if let Err(error) = put {
        return fail(
            "bucket",
            format!("cannot write s3://{bucket}/{key}: {}", aws_error(&error)),
        );
    }
    match s3.delete_object().bucket(bucket).key(&key).send().await {
        Ok(_) => pass(
            "bucket",
            format!("s3://{bucket}/{prefix}/vendor={vendor}/ accepts writes"),
        ),
        Err(error) => fail(
            "bucket",
            format!(
                "wrote but cannot delete s3://{bucket}/{key}: {}",
                aws_error(&error)
            ),
        ),
    }
}

/// An update whose condition can never hold: DynamoDB authorizes the write and finds the table before it
/// evaluates the condition, so "condition failed" proves both, and nothing is written.
async fn check_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str, vendor: &str) -> Check {
    let result = dynamodb
        .update_item()
        .table_name(table)
        .key(
            tributary_shared::state::PARTITION_KEY,
            AttributeValue::S(format!("{vendor}#_validate")),
        )
        .update_expression("SET probe = :probe")
        .condition_expression("attribute_exists(probe) AND attribute_not_exists(probe)")
        .expression_attribute_values(":probe", AttributeValue::S("validate".into()))
        .send()
        .await;
    match result {
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            pass(
                "table",
                format!("state table {table} accepts writes to {vendor}# items"),
            )
        }
        Ok(_) => fail(
            "table",
            format!("state table {table}: a write that must be refused was accepted"),
        ),
        Err(error) => fail(
            "table",
            format!("cannot write to state table {table}: {}", aws_error(&error)),
        ),
    }
}

/// Any HTTP answer (a 401 or 404 included: nothing is sent that could authenticate) means the URL is right and
/// reachable; only a failure to connect or to get an answer fails.
async fn check_url(http: &reqwest::Client, url: &str) -> Check {
    match http.get(url).send().await {
        Ok(response) => pass(
            "vendor",
            format!("{url} answers (HTTP {})", response.status().as_u16()),
        ),
        Err(error) => fail("vendor", format!("{url} does not answer: {error}")),
    }
}

async fn poller_checks(
    common: &CommonConfig,
    vendor: &str,
    secret_id: &str,
    shape: Shape,
    url: &str,
) -> Vec<Check> {
    let sdk = tributary_shared::aws::load().await;
    let services = Services::new(&sdk, common.clone());
    vec![
        pass("settings", "every setting reads"),
        check_secret(&services.secrets, secret_id, shape).await,
        check_bucket(&services.s3, &common.bucket, &common.prefix, vendor).await,
        check_table(&services.dynamodb, &common.table, vendor).await,
        check_url(&services.http, url).await,
    ]
}

/// Validates `function`'s configuration from the environment.
pub async fn validate(function: &str) -> Report {
    let checks = match function {
        "transmit-poller" => match transmit_poller::config::load() {
            Ok((common, config)) => {
                poller_checks(
                    &common,
                    "transmit",
                    &config.secret_id,
                    Shape::ClientCredentials,
                    &config.token_url,
                )
                .await
            }
            Err(error) => settings_failed(&error),
        },
        "easysend-poller" => match easysend_poller::config::load() {
            Ok((common, config)) => {
                poller_checks(
                    &common,
                    "easysend",
                    &config.api_key_secret,
                    Shape::PlainKey,
                    &config.player_url,
                )
                .await
            }
            Err(error) => settings_failed(&error),
        },
        "lookout-stream" => match lookout_stream::config::load() {
            Ok((common, config)) => {
                poller_checks(
                    &common,
                    "lookout",
                    &config.secret_id,
                    Shape::PlainKey,
                    &config.base_url,
                )
                .await
            }
            Err(error) => settings_failed(&error),
        },
        "strivacity-receiver" => match strivacity_receiver::config::ReceiverConfig::from_env() {
            Ok(config) => {
                let sdk = tributary_shared::aws::load().await;
                let secrets = SecretsCache::new(
                    tributary_shared::aws::secrets_client(&sdk),
                    config.secrets_ttl,
                );
                let mut checks = vec![pass("settings", "every setting reads")];
                for id in &config.secret_ids {
                    checks.push(check_secret(&secrets, id, Shape::ReceiverTokens).await);
                }
                let s3 = tributary_shared::aws::s3_client(&sdk);
                checks.push(check_bucket(&s3, &config.bucket, &config.prefix, "strivacity").await);
                // The receiver keeps no state and calls no vendor: Strivacity calls it.
                checks
            }
            Err(error) => settings_failed(&error),
        },
        other => vec![fail("settings", format!("unknown function {other:?}"))],
    };
    Report::new(function, checks)
}
