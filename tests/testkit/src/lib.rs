//! Test support for integration tests and benchmarks: the local AWS stack (moto in server mode, started by
//! `scripts/local-stack.sh`), a bucket, table and secrets of each test's own, and reading landed objects back.

pub mod cli;
pub mod lambda_api;
pub mod objects;
pub mod process;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use tributary_shared::http::HttpPolicy;
use tributary_shared::services::{CommonConfig, Services};
use tributary_shared::state::{LeaseOutcome, Progress, RunSummary, StateStore};

/// The local stack's endpoint: `TRIBUTARY_TEST_AWS_ENDPOINT`, else moto's default port on loopback.
pub fn endpoint() -> String {
    std::env::var("TRIBUTARY_TEST_AWS_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

/// SDK configuration for the local stack, with test credentials.
pub async fn sdk_config() -> SdkConfig {
    let credentials =
        aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tributary-tests");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(credentials)
        .load()
        .await
}

/// A fast retry policy so fault tests do not sleep for long (Retry-After is still honoured).
pub fn test_http_policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    }
}

/// A unique, S3- and DynamoDB-safe name for one test's resources.
pub fn unique_name(test: &str) -> String {
    let clean: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(30)
        .collect();
    format!("t-{}-{:08x}", clean.trim_matches('-'), fastrand::u32(..))
}

/// One test's slice of the local stack.
pub struct Stack {
    pub sdk: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub bucket: String,
    pub table: String,
    pub prefix: String,
}

impl Stack {
    /// Creates a bucket and a state table for `test`. Panics with instructions when the stack is not running.
    pub async fn new(test: &str) -> Stack {
        let sdk = sdk_config().await;
        let s3 = tributary_shared::aws::s3_client(&sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let name = unique_name(test);
        if let Err(e) = s3.create_bucket().bucket(&name).send().await {
            panic!(
                "cannot reach the local AWS stack at {} ({}). Start it with `scripts/local-stack.sh start` \
                 or run the whole suite with `scripts/test.sh`.",
                endpoint(),
                tributary_shared::aws::error_text(&e)
            );
        }
        StateStore::new(dynamodb.clone(), &name)
            .create_table()
            .await
            .expect("create the state table");
        Stack {
            sdk,
            s3,
            dynamodb,
            secrets,
            bucket: name.clone(),
            table: name,
            prefix: "tributary".to_owned(),
        }
    }

    pub fn config(&self) -> CommonConfig {
        CommonConfig {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            table: self.table.clone(),
            safety_margin: Duration::from_secs(1),
            // Short, so a test that aborts a run sees its stream freed quickly; heartbeats renew it meanwhile.
            lease_ttl: Duration::from_secs(3),
            gzip_level: 6,
            record_shape: Default::default(),
            secrets_ttl: Duration::from_secs(300),
            http: test_http_policy(),
        }
    }

    /// `binary` as an operator runs it against this stack: an environment holding only `PATH`, the local stack's
    /// AWS settings and this test's bucket, table and prefix.
    pub fn command(&self, binary: &str) -> std::process::Command {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("TRIBUTARY_BUCKET", &self.bucket)
            .env("TRIBUTARY_STATE_TABLE", &self.table)
            .env("TRIBUTARY_PREFIX", &self.prefix)
            .env("TRIBUTARY_LOG_LEVEL", "warn");
        command
    }

    pub fn services(&self) -> Services {
        Services::new(&self.sdk, self.config())
    }

    pub fn state(&self) -> StateStore {
        StateStore::new(self.dynamodb.clone(), &self.table)
    }

    /// Records a finished run of `stream` in the state table, as a function would: takes the lease as `holder`,
    /// moves the cursor to `cursor` with `progress`, and ends the run `ok` (to set up a test).
    pub async fn record_run(&self, stream: &str, holder: &str, cursor: &str, progress: &Progress) {
        let state = self.state();
        let LeaseOutcome::Acquired(mut lease) = state
            .acquire(stream, holder, Duration::from_secs(60))
            .await
            .expect("take the lease")
        else {
            panic!("{stream} is free before the test runs");
        };
        state
            .advance(&mut lease, Some(cursor), progress)
            .await
            .expect("move the cursor");
        let summary = RunSummary {
            cleared_meta: &[],
            started_at: chrono::Utc::now(),
            outcome: "drained",
            events: progress.events,
            error: None,
            losses: None,
        };
        state
            .finish(*lease, &summary)
            .await
            .expect("finish the run");
    }

    /// Another bucket of this test's, named `<bucket>-<suffix>`.
    pub async fn bucket_beside(&self, suffix: &str) -> String {
        let name = format!("{}-{suffix}", self.bucket);
        self.s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create a second bucket");
        name
    }

    /// Stores a secret (plain text or JSON) under a name unique to this test; returns the name to configure.
    pub async fn put_secret(&self, name: &str, value: &str) -> String {
        let id = format!("{}/{}", self.bucket, name);
        self.secrets
            .create_secret()
            .name(&id)
            .secret_string(value)
            .send()
            .await
            .expect("create secret");
        id
    }

    /// Replaces a secret's value (rotation).
    pub async fn rotate_secret(&self, id: &str, value: &str) {
        self.secrets
            .put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .send()
            .await
            .expect("rotate secret");
    }

    /// Every key in the bucket, sorted.
    /// Every landed object's key (`.ndjson.gz`), sorted; not the landing-path probes a poller writes.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys = self.all_keys().await;
        keys.retain(|k| k.ends_with(".ndjson.gz"));
        keys
    }

    /// Every key in the bucket, sorted: landed objects, probes, anything left behind.
    pub async fn all_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(token)
                .send()
                .await
                .expect("list objects");
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        keys
    }

    /// The user metadata of one object (`lines`, `collector`, `version`, `shape`).
    pub async fn metadata(&self, key: &str) -> std::collections::HashMap<String, String> {
        self.s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .expect("head object")
            .metadata
            .unwrap_or_default()
    }

    /// The stored (gzip) body of one object.
    pub async fn object(&self, key: &str) -> bytes::Bytes {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .expect("get object");
        object
            .body
            .collect()
            .await
            .expect("read object")
            .into_bytes()
    }

    /// The lines of one object, decompressed.
    pub async fn lines(&self, key: &str) -> Vec<String> {
        let body = self.object(key).await;
        tributary_shared::ndjson::decode_lines(&body).expect("objects are gzip NDJSON")
    }

    /// Every record in every object whose key contains `part` (e.g. `event_type=cis/` or `_unparsed`).
    pub async fn records_where(&self, part: &str) -> Vec<Value> {
        let mut records = Vec::new();
        for key in self.keys().await.into_iter().filter(|k| k.contains(part)) {
            for line in self.lines(&key).await {
                records.push(serde_json::from_str(&line).expect("every line is JSON"));
            }
        }
        records
    }

    /// Every mapped record (everything except `_unparsed`).
    pub async fn records(&self) -> Vec<Value> {
        self.records_where("")
            .await
            .into_iter()
            .filter(|r| r["event"]["kind"] != "pipeline_error")
            .collect()
    }

    /// Every `_unparsed` record.
    pub async fn unparsed(&self) -> Vec<Value> {
        self.records_where("/event_type=_unparsed/").await
    }

    /// Writes an object directly (to set up a test).
    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("put object");
    }

    /// Deletes an object (as a lifecycle rule or an operator would).
    pub async fn delete(&self, key: &str) {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .expect("delete object");
    }

    /// Moves every `_unparsed` object `hours` hours along (negative: earlier), as if it had landed then: unparsed
    /// items are filed by the hour they land in, and a test cannot wait for the next one. Returns how many moved.
    pub async fn shift_unparsed_hours(&self, hours: i64) -> usize {
        let keys: Vec<String> = self
            .keys()
            .await
            .into_iter()
            .filter(|k| k.contains("/event_type=_unparsed/"))
            .collect();
        for key in &keys {
            let (head, rest) = key.split_once("/dt=").expect("a partitioned key");
            let (hour, name) = rest.split_at("YYYY-MM-DD/hour=HH".len());
            let shifted =
                chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00"), "%Y-%m-%d/hour=%H:%M")
                    .expect("an hour partition")
                    + chrono::Duration::hours(hours);
            let moved = format!("{head}/dt={}{name}", shifted.format("%Y-%m-%d/hour=%H"));
            let body = self.object(key).await.to_vec();
            self.put(&moved, body).await;
            self.delete(key).await;
        }
        keys.len()
    }

    /// Empties and deletes the bucket, so that landing fails (storage-failure tests).
    pub async fn break_bucket(&self) {
        for key in self.all_keys().await {
            self.delete(&key).await;
        }
        self.s3
            .delete_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("delete bucket");
    }

    /// Re-creates the bucket after `break_bucket`.
    pub async fn repair_bucket(&self) {
        self.s3
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("create bucket");
    }
}

/// Seeds a simulator running in another process (`POST <base>/_sim/seed`) and returns its answer.
pub async fn seed_simulator(base_url: &str, spec: &impl serde::Serialize) -> Value {
    reqwest::Client::new()
        .post(format!("{base_url}/_sim/seed"))
        .json(spec)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("seed the simulator")
        .json()
        .await
        .expect("seed answer")
}

/// Event ids of records, for exactly-once assertions.
pub fn event_ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            r["event"]["id"]
                .as_str()
                .expect("every record has event.id")
                .to_owned()
        })
        .collect()
}

/// Asserts that no event id appears twice, and returns how many there are.
pub fn assert_no_duplicates(records: &[Value]) -> usize {
    let ids = event_ids(records);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "{} duplicate event ids landed",
        ids.len() - unique.len()
    );
    ids.len()
}
