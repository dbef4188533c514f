//! HEC fidelity beyond ingest: `/ack` knows which ids this channel was handed, and `/health` tells a sender
//! when storage is failing.

use super::*;

const OTHER_CHANNEL: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

async fn ack_query(h: &Harness, channel: &str, ids: &[u64]) -> Value {
    let (status, body) = sent(
        h.hec("/services/collector/ack")
            .header("x-splunk-request-channel", channel)
            .body(json!({ "acks": ids }).to_string()),
    )
    .await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn ack_answers_false_for_ids_the_channel_was_never_handed() {
    let h = Harness::start("ack-unknown").await;
    let (status, body) = sent(
        h.hec("/services/collector/event")
            .header("x-splunk-request-channel", CHANNEL)
            .body(hec_batch(&[account_event("k-1", "SUCCESS")])),
    )
    .await;
    assert_eq!((status, body["ackId"].as_u64()), (200, Some(0)));
    assert_eq!(
        ack_query(&h, CHANNEL, &[0, 1, 99]).await,
        json!({"acks": {"0": true, "1": false, "99": false}})
    );
    assert_eq!(
        ack_query(&h, OTHER_CHANNEL, &[0]).await,
        json!({"acks": {"0": false}})
    );
}

#[tokio::test]
async fn health_answers_code_9_while_storage_is_failing_and_recovers_with_it() {
    let h = Harness::start("health-storage").await;
    let health =
        || async { sent_text(h.http.get(format!("{}/services/collector/health", h.base))).await };
    let send = |id: &'static str| {
        h.hec("/services/collector/event")
            .body(hec_batch(&[account_event(id, "SUCCESS")]))
            .send()
    };
    assert_eq!(health().await.0, 200);
    h.stack.break_bucket().await;
    assert_eq!(send("hl-1").await.unwrap().status().as_u16(), 503);
    assert_eq!(
        health().await,
        (
            503,
            r#"{"text":"HEC is unhealthy, queues are full","code":9}"#.to_owned()
        )
    );
    h.stack.repair_bucket().await;
    assert_eq!(send("hl-2").await.unwrap().status().as_u16(), 200);
    assert_eq!(
        health().await,
        (200, r#"{"text":"HEC is healthy","code":17}"#.to_owned())
    );
}
