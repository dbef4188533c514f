//! Hostile partition values: whatever a vendor sends, a key stays valid and nothing is lost or fails.

use chrono::{DateTime, TimeZone, Utc};
use tributary_shared::landing::ObjectNaming;
use tributary_shared::metrics::{names, RunMetrics};
use tributary_testkit::Stack;

use crate::support::record_at;

fn hostile_batch() -> Vec<tributary_shared::record::Record> {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 5, 0).unwrap();
    // A HEC `time` sent in milliseconds, read as seconds.
    let far = DateTime::from_timestamp(1_796_000_000_000, 0).unwrap();
    vec![
        record_at(&"a".repeat(2000), at, "long"),
        record_at("_unparsed", at, "reserved"),
        record_at("../x", at, "traversal"),
        record_at("ctl\u{1}\nx", at, "control"),
        record_at("cis", far, "far-future"),
        record_at("CIS", at, "fine"),
    ]
}

fn assert_keys_are_valid(keys: &[String]) {
    for key in keys {
        assert!(key.len() <= 1024, "{} bytes: {key}", key.len());
        let dt = key.split("/dt=").nth(1).unwrap();
        let (date, _) = dt.split_once('/').unwrap();
        assert!(
            date.len() == 10 && date.bytes().filter(u8::is_ascii_digit).count() == 8,
            "dt={date} in {key}"
        );
        assert!(!key.contains(".."), "{key}");
        assert!(!key.bytes().any(|b| b.is_ascii_control()), "{key:?}");
    }
}

#[tokio::test]
async fn hostile_event_types_and_times_land_under_the_fallback_and_are_counted() {
    let stack = Stack::new("partition-hostile").await;
    let lander = stack.services().lander("strivacity-receiver");
    let report = lander
        .land(&hostile_batch(), &[], ObjectNaming::Content { tag: "hec" })
        .await
        .expect("hostile values never fail a landing");

    assert_eq!(report.events, 6);
    assert_eq!(report.partition_fallbacks, 5);
    let metrics = RunMetrics::new("strivacity-receiver", "hec");
    report.count_in(&metrics);
    assert_eq!(metrics.get(names::PARTITION_FALLBACKS), 5.0);

    let keys = stack.keys().await;
    assert_keys_are_valid(&keys);
    let invalid = stack.records_where("/event_type=_invalid/").await;
    let mut ids: Vec<_> = invalid
        .iter()
        .map(|r| r["event"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["control", "far-future", "long", "reserved", "traversal"]
    );
    assert!(keys
        .iter()
        .any(|k| k.contains("/event_type=_invalid/dt=9999-12-31/hour=23/")));
    assert!(keys
        .iter()
        .any(|k| k.contains("/event_type=_invalid/dt=2026-11-23/hour=10/")));
    assert_eq!(stack.records_where("/event_type=cis/").await.len(), 1);
    // Nothing of the vendor's value is lost: the record keeps it.
    let long = invalid.iter().find(|r| r["event"]["id"] == "long").unwrap();
    assert_eq!(long["transmit"]["type"].as_str().unwrap().len(), 2000);
    assert!(stack.keys().await.iter().all(|k| !k.contains("_unparsed")));
}

#[tokio::test]
async fn the_streaming_path_applies_the_same_fallback_and_bounds_long_object_ids() {
    let stack = Stack::new("partition-stream").await;
    let lander = stack.services().lander("easysend-poller");
    let tag = "w".repeat(2000);
    let mut landing = lander.streaming(tag.as_str());
    for record in hostile_batch() {
        landing.push(&record).await.unwrap();
    }
    let report = landing.commit().await.unwrap();
    assert_eq!((report.events, report.partition_fallbacks), (6, 5));
    let keys = stack.keys().await;
    assert_keys_are_valid(&keys);
    assert_eq!(stack.records_where("").await.len(), 6);

    // Deterministic: the same batch again lands under the same keys.
    let mut again = lander.streaming(tag.as_str());
    for record in hostile_batch() {
        again.push(&record).await.unwrap();
    }
    again.commit().await.unwrap();
    assert_eq!(stack.keys().await, keys);
    assert_eq!(stack.records_where("").await.len(), 6);
}
