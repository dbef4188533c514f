//! The Security Lake writer against the local S3 (moto): concurrent rebuilds of one hour, a class an hour no longer
//! has, damaged and malformed input, and the partial batch answer Lambda's SQS event source reads.
//!
//! The race is tested by interleaving, not by timing: one writer's listing is taken, another object lands and a
//! second writer rebuilds the hour completely, then the first writer builds from its (now stale) listing. What must
//! hold is what real concurrency could produce in that order.

use std::time::Duration;

use lambda_runtime::LambdaEvent;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use security_lake_writer::config::WriterConfig;
use security_lake_writer::hour::Hour;
use security_lake_writer::lake::Lake;
use security_lake_writer::ocsf::Class;
use security_lake_writer::rebuild::Rebuilder;
use security_lake_writer::{inputs, Writer};
use serde_json::{json, Value};
use tributary_testkit::Stack;

struct Harness {
    stack: Stack,
    config: WriterConfig,
    lake: Lake,
    hour: Hour,
}

impl Harness {
    async fn new(test: &str) -> Harness {
        let stack = Stack::new(test).await;
        let lake_bucket = stack.bucket_beside("lake").await;
        let config = WriterConfig {
            row_group_rows: 1000,
            safety_margin: Duration::from_secs(1),
            ..WriterConfig::new(
                &stack.bucket,
                &stack.prefix,
                lake_bucket,
                "eu-west-1",
                "210987654321",
            )
        };
        let lake = Lake::new(&stack.sdk, &config).await;
        let hour = Hour::of_key(
            &stack.prefix,
            &format!(
                "{}/vendor=transmit/event_type=cis/dt=2026-11-20/hour=07/",
                stack.prefix
            ),
        )
        .expect("a landing partition");
        Harness {
            stack,
            config,
            lake,
            hour,
        }
    }

    fn rebuilder(&self) -> Rebuilder<'_> {
        Rebuilder {
            landing: &self.stack.s3,
            landing_bucket: &self.stack.bucket,
            prefix: &self.stack.prefix,
            lake: &self.lake,
            row_group_rows: 1000,
            deadline: None,
        }
    }

    fn key(&self, name: &str) -> String {
        format!(
            "{}{name}.ndjson.gz",
            self.hour.landing_prefix(&self.stack.prefix)
        )
    }

    async fn land(&self, name: &str, ids: &[&str]) -> String {
        let text: String = ids.iter().map(|id| format!("{}\n", line(id))).collect();
        let key = self.key(name);
        self.stack.put(&key, gzip(text.as_bytes())).await;
        key
    }

    /// `metadata.uid` of every row in the hour's Authentication file.
    async fn authentication_uids(&self) -> Vec<String> {
        let key = self.lake.key(Class::Authentication, &self.hour);
        let body = self
            .stack
            .s3
            .get_object()
            .bucket(&self.config.lake_bucket)
            .key(&key)
            .send()
            .await
            .expect("the hour's file exists")
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let reader = ParquetRecordBatchReaderBuilder::try_new(body)
            .unwrap()
            .build()
            .unwrap();
        let mut uids = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let metadata = batch.column_by_name("metadata").unwrap();
            let metadata = metadata
                .as_any()
                .downcast_ref::<arrow_array::StructArray>()
                .unwrap();
            let uid = metadata.column_by_name("uid").unwrap();
            let uid = uid
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap();
            uids.extend(uid.iter().map(|u| u.unwrap().to_owned()));
        }
        uids.sort();
        uids
    }

    /// The lake file `key` as S3 describes it, if it exists.
    async fn lake_head(
        &self,
        key: &str,
    ) -> Option<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
        self.stack
            .s3
            .head_object()
            .bucket(&self.config.lake_bucket)
            .key(key)
            .send()
            .await
            .ok()
    }

    async fn lake_has(&self, key: &str) -> bool {
        self.lake_head(key).await.is_some()
    }
}

/// A lean Transmit login record, as the poller lands it.
fn line(id: &str) -> String {
    transmit_line(id, "user_login", &["authentication", "session"], &["start"])
}

fn transmit_line(id: &str, action: &str, category: &[&str], types: &[&str]) -> String {
    json!({
        "@timestamp": "2026-11-20T07:15:00.000Z", "ecs": {"version": "8.11.0"},
        "event": {"id": id, "kind": "event", "module": "transmit", "dataset": "transmit.cis", "action": action,
                  "category": category, "type": types, "outcome": "success",
                  "ingested": "2026-11-20T07:20:00.000Z"},
        "user": {"id": format!("user-{id}")}, "source": {"ip": "198.51.100.4"},
        "transmit": {"user_id": format!("user-{id}")}
    })
    .to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    std::io::Write::write_all(&mut encoder, bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_writer_that_built_from_a_stale_listing_builds_again_and_the_hour_ends_complete() {
    let h = Harness::new("lake-race").await;
    h.land("a", &["e1", "e2"]).await;
    let prefix = h.hour.landing_prefix(&h.stack.prefix);
    let stale = inputs::list(&h.stack.s3, &h.stack.bucket, &prefix)
        .await
        .unwrap();
    // Writer B hears of a late object and rebuilds the hour completely.
    h.land("late", &["e3"]).await;
    let b = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!((b.rows, b.builds), (3, 1));
    // Writer A, which listed before the late object, writes now: its first file misses e3, so its check after
    // writing finds another input and it builds again.
    let a = h.rebuilder().rebuild_from(&h.hour, stale).await.unwrap();
    assert_eq!((a.rows, a.builds), (3, 2), "{a:?}");
    assert_eq!(h.authentication_uids().await, ["e1", "e2", "e3"]);
}

#[tokio::test]
async fn an_event_landed_in_two_objects_is_one_row_and_a_rewrite_changes_no_byte() {
    let h = Harness::new("lake-repeat").await;
    h.land("a", &["e1", "e2"]).await;
    h.land("b", &["e2", "e3"]).await;
    let report = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!((report.lines, report.rows, report.repeats), (4, 3, 1));
    assert_eq!(h.authentication_uids().await, ["e1", "e2", "e3"]);
    let key = h.lake.key(Class::Authentication, &h.hour);
    assert!(key.starts_with(
        "ext/tributary-auth/region=eu-west-1/accountId=210987654321/eventDay=20261120/"
    ));
    let first = h.lake_head(&key).await.expect("the file exists");
    let again = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!(
        (again.files_written, again.files_unchanged),
        (0, 1),
        "an unchanged file is not written again"
    );
    let after = h.lake_head(&key).await.expect("the file exists");
    assert_eq!(first.e_tag(), after.e_tag());
    assert_eq!(first.last_modified(), after.last_modified());
}

#[tokio::test]
async fn an_hour_whose_inputs_shrank_keeps_its_files() {
    let h = Harness::new("lake-shrunk").await;
    h.land("a", &["e1", "e2"]).await;
    let expired = h.land("b", &["e3"]).await;
    h.rebuilder().rebuild(&h.hour).await.unwrap();
    // As if the lifecycle rule had expired an object.
    h.stack.delete(&expired).await;
    let refused = h.rebuilder().rebuild(&h.hour).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("hold 2 rows, its files were written from 3"),
        "{refused}"
    );
    assert_eq!(h.authentication_uids().await, ["e1", "e2", "e3"]);
}

#[tokio::test]
async fn a_class_the_hour_no_longer_has_loses_its_old_file() {
    let h = Harness::new("lake-stale").await;
    h.land("a", &["e1"]).await;
    // As if an earlier mapping had filed this hour's events as API Activity.
    let stale = h.lake.key(Class::ApiActivity, &h.hour);
    h.lake
        .put(Class::ApiActivity, &h.hour, b"PAR1 old".to_vec(), 1)
        .await
        .unwrap();
    let report = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!((report.files_written, report.files_removed), (1, 1));
    assert!(!h.lake_has(&stale).await);
    assert!(
        h.lake_has(&h.lake.key(Class::Authentication, &h.hour))
            .await
    );
}

#[tokio::test]
async fn damaged_objects_and_unreadable_lines_are_written_as_far_as_they_read_and_reported() {
    let h = Harness::new("lake-damaged").await;
    let mut damaged = gzip(format!("{}\n{}\n", line("d1"), line("d2")).as_bytes());
    damaged.extend_from_slice(b"\x1f\x8bnot gzip any more");
    let damaged_key = h.key("damaged");
    h.stack.put(&damaged_key, damaged).await;
    h.stack
        .put(
            &h.key("lines"),
            gzip(format!("{}\nnot json at all\n", line("d3")).as_bytes()),
        )
        .await;
    let report = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!(report.damaged_objects, std::slice::from_ref(&damaged_key));
    assert_eq!((report.rows, report.unreadable), (4, 1));
    assert_eq!(h.authentication_uids().await, ["d1", "d2", "d3"]);
    assert!(
        h.lake_has(&h.lake.key(Class::Base, &h.hour)).await,
        "the unreadable line is a Base Event"
    );

    // Through the handler, the damaged object's notification comes back (to reach the dead-letter queue).
    let writer = Writer::new(&h.stack.sdk, h.config.clone()).await;
    let notify = |key: &str| {
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": h.stack.bucket}, "object": {"key": key.replace('=', "%3D")}}}]}).to_string()
    };
    let answer = handle(
        &writer,
        json!({"Records": [
            {"messageId": "damaged", "body": notify(&damaged_key)},
        ]}),
    )
    .await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "damaged"}])
    );
}

#[tokio::test]
async fn the_answer_names_exactly_the_messages_to_retry() {
    let h = Harness::new("lake-answer").await;
    let key = h.land("a", &["e1"]).await;
    let writer = Writer::new(&h.stack.sdk, h.config.clone()).await;
    let s3_event = |key: &str| {
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": h.stack.bucket}, "object": {"key": key}}}]}).to_string()
    };
    let answer = handle(&writer, json!({"Records": [
        {"messageId": "good", "body": s3_event(&key)},
        {"messageId": "again", "body": s3_event(&key)},
        {"messageId": "probe", "body": s3_event(&format!("{}/vendor=transmit/_probe/cis", h.stack.prefix))},
        {"messageId": "other-bucket", "body": json!({"source": "aws.s3", "detail": {"bucket": {"name": "elsewhere"}, "object": {"key": key}}}).to_string()},
        {"messageId": "broken", "body": "{not json"},
    ]}))
    .await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "broken"}])
    );
    let hours = answer["hours"].as_array().unwrap();
    assert_eq!(
        hours.len(),
        1,
        "two notifications of one hour rebuild it once: {hours:?}"
    );
    assert_eq!(hours[0]["rows"], 1);

    // A rebuild request names hours directly; one that names nothing readable is an error.
    let answer = handle(
        &writer,
        json!({"rebuild": [h.hour.landing_prefix(&h.stack.prefix)]}),
    )
    .await;
    assert_eq!(answer["hours"][0]["rows"], 1);
    let event = LambdaEvent::new(
        json!({"rebuild": "not a list"}),
        tributary_shared::runtime::local_context(Duration::from_secs(60)),
    );
    assert!(writer.handle(event).await.is_err());
    let no_hour = format!(
        "{}/vendor=transmit/event_type=cis/dt=2026-11-20/hour=7",
        h.stack.prefix
    );
    let event = LambdaEvent::new(
        json!({ "rebuild": [no_hour] }),
        tributary_shared::runtime::local_context(Duration::from_secs(60)),
    );
    assert!(
        writer.handle(event).await.is_err(),
        "a key that names no hour fails the request"
    );
}

async fn handle(writer: &Writer, payload: Value) -> Value {
    let event = LambdaEvent::new(
        payload,
        tributary_shared::runtime::local_context(Duration::from_secs(120)),
    );
    writer.handle(event).await.expect("the invocation answers")
}

#[tokio::test]
async fn a_lake_that_refuses_writes_gets_the_messages_back_and_the_hour_once_it_recovers() {
    let h = Harness::new("lake-refuses").await;
    let key = h.land("a", &["e1", "e2"]).await;
    let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": h.stack.bucket}, "object": {"key": key}}}]}).to_string();
    let batch = json!({"Records": [{"messageId": "m1", "body": body}]});
    // The lake's bucket is gone (or denies the writer): nothing is written, and the message comes back.
    let missing = WriterConfig {
        lake_bucket: format!("{}-absent", h.config.lake_bucket),
        ..h.config.clone()
    };
    let writer = Writer::new(&h.stack.sdk, missing.clone()).await;
    let answer = handle(&writer, batch.clone()).await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m1"}])
    );
    assert_eq!(answer["failures"].as_array().unwrap().len(), 1);
    // The redelivery, once the bucket is there, writes the hour.
    h.stack
        .s3
        .create_bucket()
        .bucket(&missing.lake_bucket)
        .send()
        .await
        .unwrap();
    let answer = handle(&writer, batch).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(answer["hours"][0]["rows"], 2);
}

#[tokio::test]
async fn an_object_gone_between_listing_and_reading_fails_that_build_and_the_next_one_writes_the_rest(
) {
    let h = Harness::new("lake-vanished").await;
    h.land("a", &["e1"]).await;
    let gone = h.land("b", &["e2"]).await;
    let prefix = h.hour.landing_prefix(&h.stack.prefix);
    let listed = inputs::list(&h.stack.s3, &h.stack.bucket, &prefix)
        .await
        .unwrap();
    h.stack.delete(&gone).await;
    let failed = h
        .rebuilder()
        .rebuild_from(&h.hour, listed)
        .await
        .unwrap_err();
    assert!(failed.to_string().contains(&gone), "{failed}");
    assert!(
        !h.lake_has(&h.lake.key(Class::Authentication, &h.hour))
            .await,
        "nothing half-read is written"
    );
    let report = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!(report.rows, 1);
}

#[tokio::test]
async fn a_writer_killed_between_two_files_is_mended_by_the_redelivery() {
    let h = Harness::new("lake-killed").await;
    // One object with events of two classes: an Authentication login and an Account Change.
    let creation = transmit_line("c1", "create_user", &["iam"], &["user", "creation"]);
    let text = format!("{}\n{creation}\n", line("l1"));
    h.stack.put(&h.key("a"), gzip(text.as_bytes())).await;
    let first = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!(first.files_written, 2);
    // As if the writer had been killed after its first file: the other one never reached the lake.
    let account = h.lake.key(Class::AccountChange, &h.hour);
    h.stack
        .s3
        .delete_object()
        .bucket(&h.config.lake_bucket)
        .key(&account)
        .send()
        .await
        .unwrap();
    let again = h.rebuilder().rebuild(&h.hour).await.unwrap();
    assert_eq!(
        (again.files_written, again.files_unchanged),
        (1, 1),
        "{again:?}"
    );
    assert!(h.lake_has(&account).await);
    assert_eq!(h.authentication_uids().await, ["l1"]);
}
