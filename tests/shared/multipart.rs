//! Multipart landing with small parts (the local stack takes 64 KiB parts; real S3 needs 5 MiB).

use chrono::{TimeZone, Utc};
use serde_json::value::RawValue;
use tributary_shared::landing::streaming::LOCAL_MIN_PART_BYTES;
use tributary_shared::record::Record;
use tributary_testkit::Stack;

use crate::support::landed_ids;

/// Records with a poorly compressible payload, so a few thousand need several 64 KiB parts.
fn noisy(n: u32) -> Record {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let mut rng = fastrand::Rng::with_seed(u64::from(n));
    let noise: String = (0..120).map(|_| rng.alphanumeric()).collect();
    let raw = format!(r#"{{"n":{n},"noise":"{noise}"}}"#);
    Record::new(
        "easysend",
        "player",
        at,
        format!("log-{n:05}"),
        RawValue::from_string(raw).unwrap(),
    )
}

fn expected_ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|n| format!("log-{n:05}")).collect()
}

async fn land(stack: &Stack, range: std::ops::Range<u32>) -> tributary_shared::landing::LandReport {
    let lander = stack.services().lander("easysend-poller");
    let mut landing = lander
        .streaming("w-big")
        .with_part_bytes(LOCAL_MIN_PART_BYTES);
    for n in range {
        landing.push(&noisy(n)).await.unwrap();
    }
    landing.commit().await.unwrap()
}

#[tokio::test]
async fn a_large_object_lands_in_parts_reads_back_whole_and_carries_its_count() {
    let stack = Stack::new("multipart-whole").await;
    let report = land(&stack, 0..4000).await;

    assert_eq!(report.events, 4000);
    let object = &report.objects[0];
    assert!(object.parts >= 3, "{} parts", object.parts);
    assert_eq!(
        stack.all_keys().await,
        std::slice::from_ref(&object.key),
        "no staging left"
    );
    let lines = stack.lines(&object.key).await;
    assert_eq!(lines.len(), 4000);
    assert!(lines[3999].contains("log-03999"));
    let meta = stack.metadata(&object.key).await;
    assert_eq!(meta["lines"], "4000");
    assert_eq!(meta["collector"], "easysend-poller");
}

#[tokio::test]
async fn a_smaller_refetch_of_a_multipart_object_keeps_every_record() {
    let stack = Stack::new("multipart-shrink").await;
    land(&stack, 0..4000).await;
    // Fits one part: written with one PutObject, refused, merged with the 4,000 (which go multipart again).
    let report = land(&stack, 3900..4000).await;
    assert_eq!((report.events, report.kept_from_earlier), (100, 3900));
    assert!(report.objects[0].parts >= 3);
    let mut want = expected_ids(0..4000);
    want.sort();
    assert_eq!(landed_ids(&stack).await, want);
    assert_eq!(
        stack.metadata(&report.objects[0].key).await["lines"],
        "4000"
    );
}

#[tokio::test]
async fn a_multipart_rewrite_keeps_what_only_the_earlier_object_held() {
    let stack = Stack::new("multipart-union").await;
    land(&stack, 0..500).await;
    let report = land(&stack, 100..4100).await;
    assert!(report.objects[0].parts >= 3);
    assert_eq!((report.events, report.kept_from_earlier), (4000, 100));
    let mut want = expected_ids(0..4100);
    want.sort();
    assert_eq!(landed_ids(&stack).await, want);
    assert_eq!(stack.keys().await.len(), 1);
}
