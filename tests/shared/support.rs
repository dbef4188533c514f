//! What the shared tests have in common: building records, counting S3 requests.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::value::RawValue;
use tributary_shared::landing::Lander;
use tributary_shared::record::Record;
use tributary_testkit::Stack;

/// A Transmit `cis` record in the given hour of 2026-11-23, id `id-<hour>-<n>`.
pub fn record(hour: u32, n: u32) -> Record {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, hour, 5, n % 60).unwrap();
    record_at("cis", at, &format!("id-{hour}-{n}"))
}

pub fn record_at(event_type: &str, at: DateTime<Utc>, id: &str) -> Record {
    let raw = serde_json::json!({"id": id, "type": event_type}).to_string();
    Record::new(
        "transmit",
        event_type.to_owned(),
        at,
        id,
        RawValue::from_string(raw).unwrap(),
    )
}

/// Every `event.id` in the bucket, sorted, duplicates kept.
pub async fn landed_ids(stack: &Stack) -> Vec<String> {
    let mut ids: Vec<String> = stack
        .records_where("")
        .await
        .iter()
        .map(|r| r["event"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The HTTP method of every request a client sends (SDK retries included).
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<Vec<String>>>);

impl Requests {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .lock()
            .unwrap()
            .push(context.request().method().to_owned());
        Ok(())
    }
}

/// A lander on the test's bucket whose S3 requests are recorded.
pub fn counted_lander(stack: &Stack, collector: &'static str) -> (Lander, Requests) {
    let requests = Requests::default();
    let config = stack
        .s3
        .config()
        .to_builder()
        .interceptor(requests.clone())
        .build();
    let lander = Lander::new(
        aws_sdk_s3::Client::from_conf(config),
        stack.bucket.clone(),
        stack.prefix.clone(),
        collector,
        6,
    );
    (lander, requests)
}
