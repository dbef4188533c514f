//! Partial acceptance as the protocols define it: the good events of a request land, each bad one gets its own
//! error and is kept under `_unparsed` with it, so a sender that does not retry a 4xx loses nothing. And times
//! that cannot be true file the event by its arrival, with the sender's value kept.

use super::*;

#[tokio::test]
async fn bulk_with_one_bad_document_stores_the_four_good_and_reports_the_bad_item() {
    let h = Harness::start("bulk-partial").await;
    let mut body = String::new();
    for i in 0..5 {
        body.push_str(&json!({"index": {"_index": "strivacity-account"}}).to_string());
        body.push('\n');
        if i == 2 {
            body.push_str("{\"eventId\": \"p-2\", broken\n");
        } else {
            body.push_str(&account_event(&format!("p-{i}"), "SUCCESS").to_string());
            body.push('\n');
        }
    }
    let (status, reply) = sent(h.bulk("/_bulk", body)).await;
    assert_eq!(status, 200);
    assert_eq!(reply["errors"], true);
    let items = reply["items"].as_array().unwrap();
    let statuses: Vec<u64> = items
        .iter()
        .map(|i| i["index"]["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 400, 201, 201]);
    assert_eq!(
        items[2]["index"]["error"]["type"],
        "document_parsing_exception"
    );
    let mut landed = tributary_testkit::event_ids(&h.stack.records().await);
    landed.sort();
    assert_eq!(landed, ["p-0", "p-1", "p-3", "p-4"]);
    let unparsed = h.stack.unparsed().await;
    assert_eq!(unparsed.len(), 1, "{unparsed:?}");
    let kept = serde_json::to_string(&unparsed[0]).unwrap();
    assert!(
        kept.contains("broken"),
        "the bad document's text is kept: {kept}"
    );
    assert!(kept.contains("document_parsing_exception"), "{kept}");
}

#[tokio::test]
async fn hec_batch_with_a_bad_event_lands_the_good_ones_before_answering_splunks_error() {
    let h = Harness::start("hec-partial").await;
    let good =
        |id: &str| json!({"time": 1795428000, "event": account_event(id, "SUCCESS")}).to_string();
    let body = format!(
        "{}{}{{\"time\":1795428000}}{}",
        good("h-0"),
        good("h-1"),
        good("h-3")
    );
    let (status, text) = sent_text(
        h.hec("/services/collector/event")
            .header("x-splunk-request-channel", CHANNEL)
            .body(body),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"text":"Event field is required","code":12,"invalid-event-number":2}"#
        )
    );
    let mut landed = tributary_testkit::event_ids(&h.stack.records().await);
    landed.sort();
    assert_eq!(landed, ["h-0", "h-1", "h-3"]);
    let unparsed = h.stack.unparsed().await;
    assert_eq!(unparsed.len(), 1);
    let kept = serde_json::to_string(&unparsed[0]).unwrap();
    assert!(kept.contains(r#"{\"time\":1795428000}"#), "{kept}");
    assert!(kept.contains("no `event` field"), "{kept}");

    // A syntax error: everything from there on is kept as one bad event.
    let body = format!("{}{{\"event\": oops {}", good("s-0"), good("s-1"));
    let (status, text) = sent_text(h.hec("/services/collector/event").body(body)).await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#
        )
    );
    assert!(tributary_testkit::event_ids(&h.stack.records().await).contains(&"s-0".to_owned()));
    let unparsed = serde_json::to_string(&h.stack.unparsed().await).unwrap();
    assert!(
        unparsed.contains("oops") && unparsed.contains("s-1"),
        "{unparsed}"
    );
}

/// A bad event is filed under `_unparsed` by the hour it arrives in. A sender that retries the same request in the
/// next hour (its answer was lost) must not leave a second copy of it there.
#[tokio::test]
async fn a_retry_in_the_next_hour_keeps_each_bad_event_once() {
    let h = Harness::start("retry-unparsed").await;
    let mut bulk = String::new();
    for doc in [
        account_event("n-0", "SUCCESS").to_string(),
        "{\"eventId\": \"n-1\", broken".to_owned(),
    ] {
        bulk.push_str(&json!({"index": {"_index": "strivacity-account"}}).to_string());
        bulk.push('\n');
        bulk.push_str(&doc);
        bulk.push('\n');
    }
    let hec = format!(
        "{}{{\"time\":1795428000}}",
        json!({"time": 1795428000, "event": account_event("n-2", "SUCCESS")})
    );
    let send = || async {
        let (status, reply) = sent(h.bulk("/_bulk", bulk.clone())).await;
        assert_eq!((status, &reply["errors"]), (200, &json!(true)));
        let (status, _) = sent_text(
            h.hec("/services/collector/event")
                .header("x-splunk-request-channel", CHANNEL)
                .body(hec.clone()),
        )
        .await;
        assert_eq!(status, 400);
    };
    send().await;
    assert_eq!(h.stack.unparsed().await.len(), 2);

    // As if the retries came an hour later: what landed is filed an hour earlier.
    assert_eq!(h.stack.shift_unparsed_hours(-1).await, 2);
    send().await;
    let unparsed = h.stack.unparsed().await;
    assert_eq!(unparsed.len(), 2, "{unparsed:?}");
    let kept = serde_json::to_string(&unparsed).unwrap();
    assert!(
        kept.contains("broken") && kept.contains("1795428000"),
        "{kept}"
    );
    assert_eq!(assert_no_duplicates(&h.stack.records().await), 2);
}

#[tokio::test]
async fn implausible_times_land_by_arrival_with_the_senders_value() {
    let h = Harness::start("implausible-times").await;
    let today = chrono::Utc::now().format("dt=%Y-%m-%d").to_string();
    // HEC `time` in milliseconds is read as such; 1.8e15 ms is the year 59,000-something: implausible.
    let body = concat!(
        r#"{"time":1795428000250,"event":{"eventId":"ms"}}"#,
        r#"{"time":1.8e15,"event":{"eventId":"far"}}"#,
        r#"{"time":-5,"event":{"eventId":"neg"}}"#,
    );
    let (status, reply) = sent(h.hec("/services/collector/event").body(body)).await;
    assert_eq!((status, reply["code"].as_u64()), (200, Some(0)));
    let bulk = "{\"index\":{\"_index\":\"strivacity\"}}\n{\"eventId\":\"old\",\"date\":\"1970-01-02T00:00:00Z\"}\n";
    let (status, _) = sent_text(h.bulk("/_bulk", bulk)).await;
    assert_eq!(status, 200);
    let keys = h.stack.keys().await;
    assert!(
        keys.iter().any(|k| k.contains("dt=2026-11-23/hour=10/")),
        "{keys:?}"
    );
    let records = h.stack.records().await;
    for (id, field, value) in [
        ("far", "hec.time", json!(1.8e15)),
        ("neg", "hec.time", json!(-5.0)),
        ("old", "date", json!("1970-01-02T00:00:00Z")),
    ] {
        let record = records.iter().find(|r| r["event"]["id"] == id).unwrap();
        assert!(
            record["@timestamp"]
                .as_str()
                .unwrap()
                .starts_with(&today[3..]),
            "{record}"
        );
        assert_eq!(
            record["tributary"]["implausible_time"],
            json!({"field": field, "value": value}),
            "{id}"
        );
    }
    assert!(keys.iter().all(|k| !k.contains("_invalid")), "{keys:?}");
}
