//! Event ids are the sender's exact JSON text: two numbers that a float would merge stay two events.

use super::*;

#[tokio::test]
async fn large_numeric_event_ids_stay_two_events_in_two_objects() {
    let h = Harness::start("exact-ids").await;
    for id in ["12345678901234567890123", "12345678901234567890124"] {
        let body = format!(r#"{{"time":1795428000,"event":{{"eventId":{id},"type":"login"}}}}"#);
        let (status, reply) = sent(h.hec("/services/collector/event").body(body)).await;
        assert_eq!((status, reply["code"].as_u64()), (200, Some(0)));
    }
    let records = h.stack.records().await;
    let mut ids: Vec<&str> = records
        .iter()
        .map(|r| r["event"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["12345678901234567890123", "12345678901234567890124"]);
    assert_eq!(
        h.stack.keys().await.len(),
        2,
        "the second request overwrote the first"
    );
}
