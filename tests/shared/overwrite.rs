//! An overwrite never removes a record that has landed: a re-fetch that returns less keeps the union.

use tributary_shared::landing::ObjectNaming;
use tributary_shared::metrics::{names, RunMetrics};
use tributary_shared::record::{Record, Unparsed};
use tributary_testkit::{assert_no_duplicates, Stack};

use crate::support::{counted_lander, landed_ids, record};

fn window(range: std::ops::Range<u32>) -> Vec<Record> {
    range.map(|n| record(10, n)).collect()
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    let mut ids: Vec<String> = range.map(|n| format!("id-10-{n}")).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_refetch_that_returns_less_keeps_what_landed_under_a_fixed_name() {
    let stack = Stack::new("overwrite-fixed").await;
    let lander = stack.services().lander("easysend-poller");
    let naming = ObjectNaming::Fixed { tag: "w-20261123" };
    lander.land(&window(0..30), &[], naming).await.unwrap();

    // The re-fetch at the retention edge: the oldest 20 are gone at the vendor, two new ones arrived.
    let refetch = window(20..32);
    let report = lander.land(&refetch, &[], naming).await.unwrap();

    assert_eq!(report.events, 12, "events counts this batch only");
    assert_eq!(report.kept_from_earlier, 20);
    assert_eq!(report.objects[0].kept_from_earlier, 20);
    assert_eq!(landed_ids(&stack).await, ids(0..32));
    assert_no_duplicates(&stack.records().await);
    let key = &report.objects[0].key;
    assert_eq!(stack.metadata(key).await["lines"], "32");
    let metrics = RunMetrics::new("easysend-poller", "player");
    report.count_in(&metrics);
    assert_eq!(metrics.get(names::RECORDS_KEPT), 20.0);

    // A superset overwrites: nothing to keep, nothing doubled.
    let full = lander.land(&window(0..32), &[], naming).await.unwrap();
    assert_eq!(full.kept_from_earlier, 0);
    assert_eq!(landed_ids(&stack).await, ids(0..32));
}

#[tokio::test]
async fn a_streamed_refetch_that_returns_less_keeps_what_landed() {
    let stack = Stack::new("overwrite-stream").await;
    let lander = stack.services().lander("easysend-poller");
    let mut first = lander.streaming("w-1");
    for record in window(0..30) {
        first.push(&record).await.unwrap();
    }
    first.commit().await.unwrap();

    let mut refetch = lander.streaming("w-1");
    for record in window(25..30) {
        refetch.push(&record).await.unwrap();
    }
    let report = refetch.commit().await.unwrap();
    assert_eq!((report.events, report.kept_from_earlier), (5, 25));
    assert_eq!(landed_ids(&stack).await, ids(0..30));
}

#[tokio::test]
async fn kept_unparsed_items_survive_a_refetch_too() {
    let stack = Stack::new("overwrite-unparsed").await;
    let lander = stack.services().lander("easysend-poller");
    let bad = |n: u32| {
        Unparsed::new("easysend", format!("{{broken {n}"), "expected value")
            .with_context("window", "w-2")
    };
    let mut first = lander.streaming("w-2");
    first.push_unparsed(&bad(1)).await.unwrap();
    first.push_unparsed(&bad(2)).await.unwrap();
    first.commit().await.unwrap();

    let mut refetch = lander.streaming("w-2");
    refetch.push_unparsed(&bad(2)).await.unwrap();
    let report = refetch.commit().await.unwrap();
    assert_eq!((report.unparsed, report.kept_from_earlier), (1, 1));
    assert_eq!(stack.unparsed().await.len(), 2);
}

#[tokio::test]
async fn a_first_write_is_one_request_per_object_and_a_rewrite_three() {
    let stack = Stack::new("overwrite-cost").await;
    let (lander, requests) = counted_lander(&stack, "transmit-poller");
    // Three partitions: three objects.
    let batch: Vec<Record> = (0..3)
        .flat_map(|hour| (0..10).map(move |n| record(hour, n)))
        .collect();
    let naming = ObjectNaming::Content { tag: "cis" };

    let first = lander.land(&batch, &[], naming).await.unwrap();
    assert_eq!(first.objects.len(), 3);
    assert_eq!(requests.take(), ["PUT", "PUT", "PUT"]);

    // A retry of the same batch finds each key taken: the refused write, one read, one conditional write.
    let retry = lander.land(&batch, &[], naming).await.unwrap();
    assert_eq!(retry.kept_from_earlier, 0);
    let sent = requests.take();
    assert_eq!(sent.len(), 9, "{sent:?}");
    assert_eq!(sent.iter().filter(|m| *m == "GET").count(), 3);
    assert_eq!(assert_no_duplicates(&stack.records().await), 30);
}
