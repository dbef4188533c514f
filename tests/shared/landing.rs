//! Landing batches: partition split, retries, unparsed input, storage failures, the count in object metadata.

use tributary_shared::landing::ObjectNaming;
use tributary_shared::record::{Record, Unparsed};
use tributary_testkit::{assert_no_duplicates, Stack};

use crate::support::record;

#[tokio::test]
async fn batches_split_by_event_hour_and_a_retry_rewrites_the_same_keys() {
    let stack = Stack::new("landing-split").await;
    let lander = stack.services().lander("transmit-poller");
    let batch: Vec<Record> = (0..5)
        .map(|n| record(10, n))
        .chain((0..3).map(|n| record(11, n)))
        .collect();

    let first = lander
        .land(&batch, &[], ObjectNaming::Content { tag: "cis" })
        .await
        .unwrap();
    let keys_after_first = stack.keys().await;
    let second = lander
        .land(&batch, &[], ObjectNaming::Content { tag: "cis" })
        .await
        .unwrap();

    assert_eq!(first.events, 8);
    assert_eq!(second.events, 8);
    assert_eq!(
        keys_after_first,
        stack.keys().await,
        "a retry must overwrite, not add"
    );
    assert_eq!(keys_after_first.len(), 2);
    assert!(keys_after_first[0]
        .starts_with("tributary/vendor=transmit/event_type=cis/dt=2026-11-23/hour=10/cis-"));
    assert!(keys_after_first[1].contains("/hour=11/"));
    let records = stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 8);
    // What every line of an object would repeat is the object's metadata instead.
    for key in &keys_after_first {
        let metadata = stack.metadata(key).await;
        assert_eq!(metadata["collector"], "transmit-poller");
        assert_eq!(metadata["version"], tributary_shared::VERSION);
        assert_eq!(metadata["shape"], "lean");
    }
    assert!(records.iter().all(|r| r.get("tributary").is_none()));
}

#[tokio::test]
async fn unparsed_input_lands_beside_the_good_records_with_its_error() {
    let stack = Stack::new("landing-unparsed").await;
    let lander = stack.services().lander("transmit-poller");
    let bad = Unparsed::new("transmit", "{not json", "expected ident at line 1 column 2");
    let report = lander
        .land(
            &[record(9, 1)],
            &[bad],
            ObjectNaming::Content { tag: "cis" },
        )
        .await
        .unwrap();
    assert_eq!((report.events, report.unparsed), (1, 1));
    let unparsed = stack.unparsed().await;
    assert_eq!(unparsed.len(), 1);
    assert_eq!(unparsed[0]["event"]["original"], "{not json");
    assert_eq!(
        unparsed[0]["error"]["message"],
        "expected ident at line 1 column 2"
    );
    assert_eq!(stack.records().await.len(), 1);
}

#[tokio::test]
async fn a_storage_failure_says_how_many_events_did_not_land() {
    let stack = Stack::new("landing-failure").await;
    let lander = stack.services().lander("transmit-poller");
    stack.break_bucket().await;
    let batch: Vec<Record> = (0..4).map(|n| record(10, n)).collect();
    let error = lander
        .land(&batch, &[], ObjectNaming::Content { tag: "cis" })
        .await
        .unwrap_err();
    assert_eq!(error.not_landed, 4);
    assert!(
        error
            .to_string()
            .contains("4 of 4 collected events were not landed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_plain_object_carries_its_record_count_and_collector_in_metadata() {
    let stack = Stack::new("landing-metadata").await;
    let lander = stack.services().lander("transmit-poller");
    let batch: Vec<_> = (0..7).map(|n| record(10, n)).collect();
    let report = lander
        .land(&batch, &[], ObjectNaming::Content { tag: "cis" })
        .await
        .unwrap();
    assert_eq!(report.objects.len(), 1);
    assert_eq!(report.objects[0].parts, 0, "a small batch is one PutObject");
    let meta = stack.metadata(&report.objects[0].key).await;
    assert_eq!(meta.get("lines").map(String::as_str), Some("7"));
    assert_eq!(
        meta.get("collector").map(String::as_str),
        Some("transmit-poller")
    );
}
