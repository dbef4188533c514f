//! The shared landing and state code against the local stack (moto in server mode).

use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::value::RawValue;
use tributary_shared::landing::ObjectNaming;
use tributary_shared::record::{Record, Unparsed};
use tributary_shared::state::{LeaseOutcome, Progress, RunSummary, StateError};
use tributary_testkit::{assert_no_duplicates, Stack};

fn record(hour: u32, n: u32) -> Record {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, hour, 5, n).unwrap();
    let raw = RawValue::from_string(format!(r#"{{"n":{n},"hour":{hour}}}"#)).unwrap();
    Record::new("transmit", "cis", at, format!("id-{hour}-{n}"), raw)
}

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
    assert!(records
        .iter()
        .all(|r| r["tributary"]["collector"] == "transmit-poller"));
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
async fn a_held_lease_keeps_a_second_run_out_until_it_expires() {
    let stack = Stack::new("lease").await;
    let state = stack.state();
    let LeaseOutcome::Acquired(first) = state
        .acquire("transmit#cis", "run-1", Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("a free stream must be acquired");
    };
    match state
        .acquire("transmit#cis", "run-2", Duration::from_secs(60))
        .await
        .unwrap()
    {
        LeaseOutcome::HeldByOther { owner, .. } => assert_eq!(owner, "run-1"),
        LeaseOutcome::Acquired(_) => panic!("two runs must never hold one stream"),
    }
    state
        .finish(
            *first,
            &RunSummary {
                started_at: Utc::now(),
                outcome: "ok",
                events: 0,
                error: None,
                losses: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        state
            .acquire("transmit#cis", "run-2", Duration::from_secs(60))
            .await
            .unwrap(),
        LeaseOutcome::Acquired(_)
    ));
}

#[tokio::test]
async fn a_run_whose_lease_was_taken_over_cannot_move_the_cursor() {
    let stack = Stack::new("lease-race").await;
    let state = stack.state();
    let LeaseOutcome::Acquired(mut slow) = state
        .acquire("lookout", "slow", Duration::from_millis(1))
        .await
        .unwrap()
    else {
        panic!("free stream");
    };
    state
        .advance(
            &mut slow,
            Some("c1"),
            &Progress {
                events: 3,
                newest_event_time: None,
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let LeaseOutcome::Acquired(mut fast) = state
        .acquire("lookout", "fast", Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("an expired lease must be taken over");
    };
    assert_eq!(fast.cursor(), Some("c1"));

    let lost = state
        .advance(&mut slow, Some("stale"), &Progress::default())
        .await
        .unwrap_err();
    assert!(matches!(lost, StateError::LostRace { .. }), "{lost}");
    state
        .advance(
            &mut fast,
            Some("c2"),
            &Progress {
                events: 2,
                newest_event_time: Some("2026-11-23T10:00:00.000Z".into()),
            },
        )
        .await
        .unwrap();
    let stored = state.load("lookout").await.unwrap().unwrap();
    assert_eq!(stored.cursor.as_deref(), Some("c2"));
    assert_eq!(stored.events_landed_total, 5);
    assert_eq!(stored.version, 2);
    state
        .set_meta(&mut fast, &[("setup_done", "true")])
        .await
        .unwrap();
    assert_eq!(
        state.load("lookout").await.unwrap().unwrap().meta["setup_done"],
        "true"
    );
}
