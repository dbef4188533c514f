//! Stream state in DynamoDB: leases and conditional cursor updates.

use std::time::Duration;

use chrono::Utc;
use tributary_shared::state::{LeaseOutcome, Progress, RunSummary, StateError};
use tributary_testkit::Stack;

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
                cleared_meta: &[],
                started_at: Utc::now(),
                outcome: "drained",
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
                ..Progress::default()
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
                ..Progress::default()
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
