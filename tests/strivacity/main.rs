//! The Strivacity receiver against the local AWS stack: both protocols over real HTTP, every endpoint and every
//! error code it answers with, gzip, batching, retries that must not duplicate, credential rotation, and storage
//! failures that must leave nothing acknowledged.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use strivacity_receiver::config::{BulkBusyStatus, ReceiverConfig};
use strivacity_receiver::{router, Receiver};
use tributary_testkit::{assert_no_duplicates, Stack};

const TOKEN: &str = "11111111-2222-3333-4444-555555555555";
const NEXT_TOKEN: &str = "66666666-7777-8888-9999-000000000000";
const API_KEY_ID: &str = "strivacity";
const API_KEY: &str = "s3cr3t-api-key";
const CHANNEL: &str = "0b9f4c9e-0f7c-4d4b-8f7a-1c2d3e4f5a6b";

fn credentials_secret(hec_tokens: &[&str]) -> String {
    json!({
        "hec_tokens": hec_tokens,
        "api_keys": [format!("{API_KEY_ID}:{API_KEY}")],
        "basic_auth": ["elastic:changeme"],
    })
    .to_string()
}

/// One test's receiver, served on a loopback port with its own bucket and secret.
struct Harness {
    stack: Stack,
    base: String,
    http: reqwest::Client,
    secret_id: String,
}

impl Harness {
    async fn start(test: &str) -> Harness {
        Harness::start_with(test, |_| {}).await
    }

    async fn start_with(test: &str, tune: impl FnOnce(&mut ReceiverConfig)) -> Harness {
        let stack = Stack::new(test).await;
        let secret_id = stack
            .put_secret("strivacity-receiver", &credentials_secret(&[TOKEN]))
            .await;
        let mut config = ReceiverConfig::new(stack.bucket.clone(), vec![secret_id.clone()]);
        config.prefix = stack.prefix.clone();
        config.land_timeout = Duration::from_secs(10);
        tune(&mut config);
        let receiver = Receiver::from_clients(
            config,
            stack.s3.clone(),
            aws_sdk_secretsmanager::Client::new(&stack.sdk),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = router(Arc::new(receiver));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Harness {
            stack,
            base,
            http: reqwest::Client::builder().no_gzip().build().unwrap(),
            secret_id,
        }
    }

    fn hec(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("authorization", format!("Splunk {TOKEN}"))
    }

    fn es(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let key = STANDARD.encode(format!("{API_KEY_ID}:{API_KEY}"));
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("ApiKey {key}"))
    }

    fn bulk(&self, path: &str, body: impl Into<String>) -> reqwest::RequestBuilder {
        self.es(reqwest::Method::POST, path)
            .header("content-type", "application/x-ndjson")
            .body(body.into())
    }
}

async fn reply(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body)
}

async fn reply_text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Sends `request` and reads the JSON answer.
async fn sent(request: reqwest::RequestBuilder) -> (u16, Value) {
    reply(request.send().await.unwrap()).await
}

/// Sends `request` and reads the answer as text.
async fn sent_text(request: reqwest::RequestBuilder) -> (u16, String) {
    reply_text(request.send().await.unwrap()).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn account_event(id: &str, outcome: &str) -> Value {
    json!({
        "eventId": id,
        "loginSessionId": format!("session-{id}"),
        "startTimestamp": "2026-11-23T10:15:30.250Z",
        "labels": ["LOGIN", outcome],
        "type": "login",
        "actor": {"accountId": "acc-1", "userName": "jane@example.com", "ip": "203.0.113.7"},
        "network": {"http": {"user_agent": "Mozilla/5.0"}},
        "subject": {"accountId": "acc-1", "userName": "jane@example.com"},
        "nativeClaims": {"department": "sales"},
    })
}

fn audit_event(id: &str) -> Value {
    json!({
        "eventID": id,
        "date": "2026-11-23T11:00:00Z",
        "actor": "admin-7",
        "ipAddress": "198.51.100.2",
        "action": "update",
        "entity": "Adaptive Access Policy",
        "url": "https://tenant.example/admin/policies/1",
    })
}

/// Concatenated HEC envelopes, the way Strivacity's Splunk integration writes them.
fn hec_batch(events: &[Value]) -> String {
    events
        .iter()
        .map(|event| {
            json!({
                "time": 1795428000,
                "host": "tenant.strivacity.example",
                "source": "strivacity",
                "sourcetype": "json",
                "event": event,
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn bulk_body(index: &str, events: &[Value]) -> String {
    let mut body = String::new();
    for event in events {
        body.push_str(&json!({"index": {"_index": index}}).to_string());
        body.push('\n');
        body.push_str(&event.to_string());
        body.push('\n');
    }
    body
}

// -------------------------------------------------------------------------------------------------------------
// HEC: success paths

#[tokio::test]
async fn hec_batch_of_concatenated_envelopes_lands_every_event_before_success() {
    let h = Harness::start("hec-batch").await;
    let body = hec_batch(&[
        account_event("acc-evt-1", "SUCCESS"),
        account_event("acc-evt-2", "FAILURE"),
        audit_event("aud-evt-1"),
    ]);
    let (status, text) = sent_text(h.hec("/services/collector/event").body(body)).await;
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"text":"Success","code":0}"#)
    );

    let keys = h.stack.keys().await;
    assert!(
        keys.iter().any(|k| k.starts_with(
            "tributary/vendor=strivacity/event_type=account/dt=2026-11-23/hour=10/push-"
        )),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k
            .starts_with("tributary/vendor=strivacity/event_type=audit/dt=2026-11-23/hour=11/")),
        "{keys:?}"
    );
    let account = h.stack.records_where("event_type=account/").await;
    assert_eq!(assert_no_duplicates(&account), 2);
    let failed = account
        .iter()
        .find(|r| r["event"]["id"] == "acc-evt-2")
        .unwrap();
    assert_eq!(failed["event"]["outcome"], "failure");
    assert_eq!(failed["event"]["dataset"], "strivacity.account");
    assert_eq!(failed["user"]["name"], "jane@example.com");
    assert_eq!(failed["source"]["ip"], "203.0.113.7");
    assert_eq!(failed["user_agent"]["original"], "Mozilla/5.0");
    assert_eq!(failed["@timestamp"], "2026-11-23T10:15:30.250Z");
    // Native claims travel inside the original event, which is kept whole.
    assert_eq!(failed["strivacity"]["nativeClaims"]["department"], "sales");
    assert_eq!(
        failed["tributary"]["hec"]["host"],
        "tenant.strivacity.example"
    );
    let audit = h.stack.records_where("event_type=audit/").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["event"]["id"], "aud-evt-1");
    assert_eq!(audit[0]["user"]["id"], "admin-7");
}

#[tokio::test]
async fn every_event_endpoint_alias_accepts_envelopes() {
    let h = Harness::start("hec-aliases").await;
    for (n, path) in [
        "/services/collector",
        "/services/collector/event",
        "/services/collector/event/1.0",
    ]
    .iter()
    .enumerate()
    {
        let body = hec_batch(&[account_event(&format!("alias-{n}"), "SUCCESS")]);
        let (status, body) = sent(h.hec(path).body(body)).await;
        assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{path}");
    }
    assert_eq!(h.stack.records().await.len(), 3);
}

#[tokio::test]
async fn gzip_bodies_land_under_the_same_keys_as_plain_ones() {
    let h = Harness::start("hec-gzip").await;
    let body = hec_batch(&[
        account_event("gz-1", "SUCCESS"),
        account_event("gz-2", "SUCCESS"),
    ]);
    let (status, _) = sent(
        h.hec("/services/collector/event")
            .header("content-encoding", "gzip")
            .body(gzip(body.as_bytes())),
    )
    .await;
    assert_eq!(status, 200);
    let after_gzip = h.stack.keys().await;
    assert_eq!(after_gzip.len(), 1);
    let (status, _) = sent(h.hec("/services/collector/event").body(body)).await;
    assert_eq!(status, 200);
    assert_eq!(h.stack.keys().await, after_gzip);
    assert_eq!(assert_no_duplicates(&h.stack.records().await), 2);
}

#[tokio::test]
async fn an_identical_retry_rewrites_the_same_objects_without_duplicates() {
    let h = Harness::start("hec-retry").await;
    let body = hec_batch(&[
        account_event("r-1", "SUCCESS"),
        account_event("r-2", "SUCCESS"),
        audit_event("r-3"),
    ]);
    for _ in 0..2 {
        let (status, _) = sent(h.hec("/services/collector/event").body(body.clone())).await;
        assert_eq!(status, 200);
    }
    let keys = h.stack.keys().await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(assert_no_duplicates(&h.stack.records().await), 3);

    let bulk = bulk_body(
        "strivacity",
        &[
            account_event("b-1", "SUCCESS"),
            account_event("b-2", "SUCCESS"),
        ],
    );
    for _ in 0..2 {
        let (status, body) = sent(h.bulk("/_bulk", bulk.clone())).await;
        assert_eq!((status, &body["errors"]), (200, &json!(false)));
    }
    assert_eq!(h.stack.keys().await.len(), 3);
    assert_eq!(assert_no_duplicates(&h.stack.records().await), 5);
}

#[tokio::test]
async fn events_without_ids_get_stable_digests_so_retries_still_do_not_duplicate() {
    let h = Harness::start("hec-noid").await;
    let body = r#"{"event":{"action":"login","labels":["SUCCESS"]},"time":1795428000}{"event":"plain text line","time":1795428000}"#;
    for _ in 0..2 {
        let (status, _) = sent(h.hec("/services/collector").body(body)).await;
        assert_eq!(status, 200);
    }
    let records = h.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 2);
    let text = records
        .iter()
        .find(|r| r["message"] == "plain text line")
        .unwrap();
    assert_eq!(text["strivacity"], json!({"message": "plain text line"}));
}

// -------------------------------------------------------------------------------------------------------------
// HEC: errors, exactly as Splunk words them, and nothing written

#[tokio::test]
async fn hec_authentication_errors_use_splunk_codes() {
    let h = Harness::start("hec-auth").await;
    let url = format!("{}/services/collector/event", h.base);
    let body = hec_batch(&[account_event("auth-1", "SUCCESS")]);
    let cases: Vec<(Option<String>, &str, u16, &str)> = vec![
        (None, "", 401, r#"{"text":"Token is required","code":2}"#),
        (
            Some(TOKEN.to_owned()),
            "",
            401,
            r#"{"text":"Invalid authorization","code":3}"#,
        ),
        (
            Some(format!("Bearer {TOKEN}")),
            "",
            401,
            r#"{"text":"Invalid authorization","code":3}"#,
        ),
        (
            Some("Splunk not-a-token".to_owned()),
            "",
            403,
            r#"{"text":"Invalid token","code":4}"#,
        ),
        (
            None,
            "?token=x",
            400,
            r#"{"text":"Query string authorization is not enabled","code":16}"#,
        ),
    ];
    for (header, query, status, expected) in cases {
        let mut request = h.http.post(format!("{url}{query}")).body(body.clone());
        if let Some(header) = &header {
            request = request.header("authorization", header);
        }
        let (got_status, text) = sent_text(request).await;
        assert_eq!(
            (got_status, text.as_str()),
            (status, expected),
            "{header:?}{query}"
        );
    }
    assert!(h.stack.keys().await.is_empty());

    // Basic with any user name and the token as password is HEC's other accepted form.
    let basic = STANDARD.encode(format!("anyone:{TOKEN}"));
    let (status, _) = sent(
        h.http
            .post(&url)
            .header("authorization", format!("Basic {basic}"))
            .body(body),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn hec_data_errors_name_the_first_bad_event_and_keep_every_event() {
    let h = Harness::start("hec-data").await;
    let good = json!({"event": account_event("d-1", "SUCCESS")}).to_string();
    let cases: Vec<(String, u16, &str)> = vec![
        (String::new(), 400, r#"{"text":"No data","code":5}"#),
        ("  \n".to_owned(), 400, r#"{"text":"No data","code":5}"#),
        (
            format!("{good}{{\"event\":"),
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        ),
        (
            format!("[{good}]"),
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#,
        ),
        (
            format!("{good}{good}{{\"time\":1}}"),
            400,
            r#"{"text":"Event field is required","code":12,"invalid-event-number":2}"#,
        ),
        (
            format!("{good}{{\"event\":\"\"}}"),
            400,
            r#"{"text":"Event field cannot be blank","code":13,"invalid-event-number":1}"#,
        ),
        (
            format!("{good}{{\"event\":\"x\",\"fields\":{{\"a\":{{\"b\":1}}}}}}"),
            400,
            r#"{"text":"Error in handling indexed fields","code":15,"invalid-event-number":1}"#,
        ),
    ];
    for (body, status, expected) in cases {
        let (got_status, text) =
            sent_text(h.hec("/services/collector/event").body(body.clone())).await;
        assert_eq!((got_status, text.as_str()), (status, expected), "{body:?}");
    }
    // The good events beside each bad one landed (one case sent the good event twice); every bad event is kept
    // under `_unparsed`, one per request that carried one.
    let mut ids = tributary_testkit::event_ids(&h.stack.records().await);
    ids.dedup();
    assert_eq!(ids, ["d-1"]);
    assert_eq!(h.stack.unparsed().await.len(), 5);
}

#[tokio::test]
async fn limits_refuse_whole_requests_with_clear_errors() {
    let h = Harness::start_with("limits", |c| {
        c.limits.max_body_bytes = 64 * 1024;
        c.limits.max_decompressed_bytes = 256 * 1024;
        c.limits.max_events = 5;
    })
    .await;
    let too_big = "x".repeat(65 * 1024);
    let (status, body) = sent(h.hec("/services/collector/event").body(too_big)).await;
    assert_eq!((status, body["code"].as_i64()), (413, Some(413)));

    // A gzip bomb: small on the wire, far over the limit once inflated.
    let bomb = gzip(&vec![b' '; 8 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let (status, _) = sent(
        h.hec("/services/collector/event")
            .header("content-encoding", "gzip")
            .body(bomb.clone()),
    )
    .await;
    assert_eq!(status, 413);
    let (status, body) = sent(
        h.es(reqwest::Method::POST, "/_bulk")
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(bomb),
    )
    .await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (413, Some("content_too_long_exception"))
    );

    let six: Vec<Value> = (0..6)
        .map(|i| account_event(&format!("l-{i}"), "SUCCESS"))
        .collect();
    let (status, body) = sent(h.hec("/services/collector/event").body(hec_batch(&six))).await;
    assert_eq!((status, body["code"].as_i64()), (413, Some(413)));
    let (status, _) = sent(h.bulk("/_bulk", bulk_body("strivacity", &six))).await;
    assert_eq!(status, 413);

    let (status, body) = sent(
        h.hec("/services/collector/event")
            .header("content-encoding", "br")
            .body("x"),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (415, Some(415)));
    let (status, body) = sent(
        h.hec("/services/collector/event")
            .header("content-encoding", "gzip")
            .body("definitely not gzip"),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(6)));
    assert!(h.stack.keys().await.is_empty());

    // Exactly at the limit is fine.
    let (status, _) = sent(
        h.hec("/services/collector/event")
            .body(hec_batch(&six[..5])),
    )
    .await;
    assert_eq!(status, 200);
}

// -------------------------------------------------------------------------------------------------------------
// HEC: channels, acks, raw, health

#[tokio::test]
async fn a_channel_gets_ack_ids_and_every_ack_is_already_true() {
    let h = Harness::start("hec-ack").await;
    let mut ack_ids = Vec::new();
    for (n, via_header) in [(0, true), (1, false)] {
        let body = hec_batch(&[account_event(&format!("ack-{n}"), "SUCCESS")]);
        let request = if via_header {
            h.hec("/services/collector/event")
                .header("x-splunk-request-channel", CHANNEL)
        } else {
            h.hec(&format!("/services/collector/event?channel={CHANNEL}"))
        };
        let (status, body) = sent(request.body(body)).await;
        assert_eq!(status, 200);
        ack_ids.push(body["ackId"].as_u64().unwrap());
    }
    assert_eq!(ack_ids[1], ack_ids[0] + 1);
    let (status, text) = sent_text(
        h.hec("/services/collector/ack")
            .header("x-splunk-request-channel", CHANNEL)
            .body(json!({"acks": ack_ids}).to_string()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"acks": {ack_ids[0].to_string(): true, ack_ids[1].to_string(): true}})
    );

    let (status, text) =
        sent_text(h.hec("/services/collector/ack/1.0").body(r#"{"acks":[0]}"#)).await;
    assert_eq!(
        (status, text.as_str()),
        (400, r#"{"text":"Data channel is missing","code":10}"#)
    );
    let (status, text) = sent_text(
        h.hec("/services/collector/ack")
            .header("x-splunk-request-channel", CHANNEL)
            .body("{\"acks\":\"all\"}"),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (400, r#"{"text":"Invalid data format","code":6}"#)
    );
    let (status, text) = sent_text(
        h.hec("/services/collector/event")
            .header("x-splunk-request-channel", "not-a-guid")
            .body(hec_batch(&[account_event("ack-x", "SUCCESS")])),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (400, r#"{"text":"Invalid data channel","code":11}"#)
    );
}

#[tokio::test]
async fn raw_endpoint_needs_a_channel_and_lands_one_event_per_line() {
    let h = Harness::start("hec-raw").await;
    let lines = format!(
        "{}\n{}\n",
        account_event("raw-1", "SUCCESS"),
        audit_event("raw-2")
    );
    let (status, text) = sent_text(h.hec("/services/collector/raw").body(lines.clone())).await;
    assert_eq!(
        (status, text.as_str()),
        (400, r#"{"text":"Data channel is missing","code":10}"#)
    );
    let (status, body) = sent(
        h.hec(&format!(
            "/services/collector/raw/1.0?channel={CHANNEL}&sourcetype=strivacity%3Aaccount&host=h1"
        ))
        .body(lines),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)));
    let records = h.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 2);
    // The sourcetype says "account", which outranks the audit-looking fields of the second line.
    assert!(records
        .iter()
        .all(|r| r["event"]["dataset"] == "strivacity.account"));
    assert!(records
        .iter()
        .all(|r| r["tributary"]["hec"]["host"] == "h1"));
}

#[tokio::test]
async fn health_answers_without_a_token_and_unknown_paths_are_refused() {
    let h = Harness::start("hec-health").await;
    for path in [
        "/services/collector/health",
        "/services/collector/health/1.0",
    ] {
        let (status, text) = sent_text(h.http.get(format!("{}{path}", h.base))).await;
        assert_eq!(
            (status, text.as_str()),
            (200, r#"{"text":"HEC is healthy","code":17}"#)
        );
    }
    let (status, body) = sent(h.hec("/services/collector/nope")).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(404)));
    let response = h
        .http
        .get(format!("{}/services/collector/event", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(response.headers().get("x-elastic-product").is_none());
}

// -------------------------------------------------------------------------------------------------------------
// Elasticsearch

#[tokio::test]
async fn info_and_ping_look_like_elasticsearch_8_with_the_product_header() {
    let h = Harness::start("es-info").await;
    let response = h.es(reqwest::Method::GET, "/").send().await.unwrap();
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let (status, body) = reply(response).await;
    assert_eq!(status, 200);
    assert!(body["version"]["number"]
        .as_str()
        .unwrap()
        .starts_with("8."));
    assert_eq!(body["tagline"], "You Know, for Search");

    let head = h.es(reqwest::Method::HEAD, "/").send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["x-elastic-product"], "Elasticsearch");

    let anonymous = h.http.get(format!("{}/", h.base)).send().await.unwrap();
    assert_eq!(anonymous.headers()["x-elastic-product"], "Elasticsearch");
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let (status, body) = reply(anonymous).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (401, Some("security_exception"))
    );
}

#[tokio::test]
async fn bulk_lands_every_document_and_answers_per_item_in_order() {
    let h = Harness::start("es-bulk").await;
    let body = format!(
        "{}{}\n{}\n",
        bulk_body("strivacity-account", &[account_event("es-1", "SUCCESS")]),
        json!({"create": {"_index": "strivacity-audit", "_id": "given-id"}}),
        json!({"action": "delete", "entity": "Branding"}),
    );
    let response = h.bulk("/_bulk", body).send().await.unwrap();
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let (status, body) = reply(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"], false);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["index"]["_id"], "es-1");
    assert_eq!(items[0]["index"]["_index"], "strivacity-account");
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[1]["create"]["_id"], "given-id");
    assert_eq!(items[1]["create"]["result"], "created");

    let account = h.stack.records_where("event_type=account/").await;
    assert_eq!(account.len(), 1);
    assert_eq!(
        account[0]["tributary"]["bulk"]["index"],
        "strivacity-account"
    );
    let audit = h.stack.records_where("event_type=audit/").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["event"]["id"], "given-id");
    assert_eq!(audit[0]["event"]["type"], json!(["deletion"]));
}

#[tokio::test]
async fn index_in_the_url_put_and_versioned_content_types_are_accepted() {
    let h = Harness::start("es-url-index").await;
    let body = "{\"index\":{}}\n".to_owned() + &audit_event("u-1").to_string() + "\n";
    let response = h
        .es(reqwest::Method::PUT, "/strivacity-audit/_bulk")
        .header(
            "content-type",
            "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
        )
        .header(
            "accept",
            "application/vnd.elasticsearch+json; compatible-with=9",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.elasticsearch+json;compatible-with=9"
    );
    let (status, body) = reply(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["index"]["_index"], "strivacity-audit");
    assert_eq!(h.stack.records_where("event_type=audit/").await.len(), 1);

    // Basic authentication against the configured users works too.
    let basic = STANDARD.encode("elastic:changeme");
    let (status, _) = sent(
        h.http
            .post(format!("{}/strivacity/_bulk", h.base))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/json")
            .body(bulk_body("strivacity", &[account_event("u-2", "SUCCESS")])),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bulk_errors_use_the_elasticsearch_envelope_and_write_nothing() {
    let h = Harness::start("es-errors").await;
    let good = bulk_body("strivacity", &[account_event("e-1", "SUCCESS")]);
    let cases: Vec<(String, Option<&str>, u16, &str)> = vec![
        (
            String::new(),
            None,
            400,
            "action_request_validation_exception",
        ),
        (
            good.trim_end().to_owned(),
            None,
            400,
            "illegal_argument_exception",
        ),
        (
            good.clone() + "{\"index\":{\"_index\":\"x\"}}\n",
            None,
            400,
            "illegal_argument_exception",
        ),
        (
            "{\"index\":{}}\n{}\n".to_owned(),
            None,
            400,
            "action_request_validation_exception",
        ),
        (
            good.clone() + "not json\n{}\n",
            None,
            400,
            "x_content_parse_exception",
        ),
        (
            good.clone(),
            Some("text/plain"),
            406,
            "media_type_header_exception",
        ),
    ];
    for (body, content_type, status, kind) in cases {
        let response = h
            .es(reqwest::Method::POST, "/_bulk")
            .header(
                "content-type",
                content_type.unwrap_or("application/x-ndjson"),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["x-elastic-product"],
            "Elasticsearch",
            "{body:?}"
        );
        let (got, envelope) = reply(response).await;
        assert_eq!(
            (got, envelope["error"]["type"].as_str()),
            (status, Some(kind)),
            "{body:?}"
        );
        assert_eq!(envelope["status"], status);
        assert_eq!(envelope["error"]["root_cause"][0]["type"], kind);
    }
    let (status, body) = sent(h.bulk("/Upper/_bulk", good.clone())).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("invalid_index_name_exception"))
    );

    // Authentication failures.
    let wrong = STANDARD.encode(format!("{API_KEY_ID}:wrong"));
    for header in [
        None,
        Some(format!("ApiKey {wrong}")),
        Some(format!("Splunk {TOKEN}")),
    ] {
        let mut request = h
            .http
            .post(format!("{}/_bulk", h.base))
            .header("content-type", "application/x-ndjson")
            .body(good.clone());
        if let Some(header) = &header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
        let (status, body) = reply(response).await;
        assert_eq!(
            (status, body["error"]["type"].as_str()),
            (401, Some("security_exception")),
            "{header:?}"
        );
    }
    let (status, body) = sent(h.es(reqwest::Method::GET, "/_cat/indices")).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("illegal_argument_exception"))
    );
    let (status, _) = sent(h.es(reqwest::Method::GET, "/_bulk")).await;
    assert_eq!(status, 405);
    assert!(h.stack.keys().await.is_empty());
}

// -------------------------------------------------------------------------------------------------------------
// Storage failures and credential rotation

#[tokio::test]
async fn storage_failure_is_retryable_and_acknowledges_nothing() {
    let h = Harness::start("s3-failure").await;
    h.stack.break_bucket().await;
    let hec = hec_batch(&[account_event("f-1", "SUCCESS"), audit_event("f-2")]);
    let (status, text) = sent_text(
        h.hec("/services/collector/event")
            .header("x-splunk-request-channel", CHANNEL)
            .body(hec.clone()),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (503, r#"{"text":"Server is busy","code":9}"#)
    );
    let bulk = bulk_body("strivacity", &[account_event("f-3", "SUCCESS")]);
    let response = h.bulk("/_bulk", bulk.clone()).send().await.unwrap();
    assert_eq!(response.headers()["x-elastic-product"], "Elasticsearch");
    let (status, body) = reply(response).await;
    assert_eq!(status, 503);
    assert!(
        body.get("items").is_none(),
        "no item may be reported as stored: {body}"
    );

    // Once storage is back, the sender's retry lands everything exactly once.
    h.stack.repair_bucket().await;
    assert!(h.stack.keys().await.is_empty());
    let (status, _) = sent(h.hec("/services/collector/event").body(hec)).await;
    assert_eq!(status, 200);
    let (status, _) = sent(h.bulk("/_bulk", bulk)).await;
    assert_eq!(status, 200);
    assert_eq!(assert_no_duplicates(&h.stack.records().await), 3);
}

#[tokio::test]
async fn storage_slower_than_the_budget_is_answered_as_retryable() {
    let h = Harness::start_with("s3-slow", |c| c.land_timeout = Duration::from_millis(1)).await;
    let (status, text) = sent_text(
        h.hec("/services/collector/event")
            .body(hec_batch(&[account_event("slow-1", "SUCCESS")])),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (503, r#"{"text":"Server is busy","code":9}"#)
    );
    let (status, _) = sent(h.bulk(
        "/_bulk",
        bulk_body("strivacity", &[account_event("slow-2", "SUCCESS")]),
    ))
    .await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn busy_bulk_status_can_be_429_for_clients_that_only_retry_that() {
    let h = Harness::start_with("s3-failure-429", |c| {
        c.bulk_busy_status = BulkBusyStatus::TooManyRequests
    })
    .await;
    h.stack.break_bucket().await;
    let (status, body) = sent(h.bulk(
        "/_bulk",
        bulk_body("strivacity", &[account_event("t-1", "SUCCESS")]),
    ))
    .await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (429, Some("es_rejected_execution_exception"))
    );
}

#[tokio::test]
async fn rotated_tokens_take_effect_after_the_cache_ttl_without_a_restart() {
    let h = Harness::start_with("rotation", |c| c.secrets_ttl = Duration::from_millis(300)).await;
    let send = |token: &'static str| {
        h.http
            .post(format!("{}/services/collector/event", h.base))
            .header("authorization", format!("Splunk {token}"))
            .body(hec_batch(&[account_event(
                &format!("rot-{token}"),
                "SUCCESS",
            )]))
            .send()
    };
    assert_eq!(send(TOKEN).await.unwrap().status().as_u16(), 200);
    assert_eq!(send(NEXT_TOKEN).await.unwrap().status().as_u16(), 403);
    // Overlap: both tokens valid while senders switch over.
    h.stack
        .rotate_secret(&h.secret_id, &credentials_secret(&[TOKEN, NEXT_TOKEN]))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(send(NEXT_TOKEN).await.unwrap().status().as_u16(), 200);
    assert_eq!(send(TOKEN).await.unwrap().status().as_u16(), 200);
    // The old token retired.
    h.stack
        .rotate_secret(&h.secret_id, &credentials_secret(&[NEXT_TOKEN]))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(send(TOKEN).await.unwrap().status().as_u16(), 403);
    assert_eq!(send(NEXT_TOKEN).await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn unreadable_credentials_answer_retryable_not_forbidden() {
    let h = Harness::start_with("secret-missing", |c| {
        c.secret_ids = vec!["no-such-secret".to_owned()]
    })
    .await;
    let (status, text) = sent_text(
        h.hec("/services/collector/event")
            .body(hec_batch(&[account_event("s-1", "SUCCESS")])),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (503, r#"{"text":"Server is busy","code":9}"#)
    );
    let (status, _) =
        sent(h.bulk("/_bulk", bulk_body("x", &[account_event("s-2", "SUCCESS")]))).await;
    assert_eq!(status, 503);
    assert!(h.stack.keys().await.is_empty());
}

// -------------------------------------------------------------------------------------------------------------
// The Lambda entry: Function URL payloads through the same router

#[tokio::test]
async fn sample_function_url_payloads_run_through_the_router() {
    let h = Harness::start("function-url").await;
    let receiver = Receiver::from_clients(
        {
            let mut c = ReceiverConfig::new(h.stack.bucket.clone(), vec![h.secret_id.clone()]);
            c.prefix = h.stack.prefix.clone();
            c
        },
        h.stack.s3.clone(),
        aws_sdk_secretsmanager::Client::new(&h.stack.sdk),
    );
    let app = router(Arc::new(receiver));
    let events_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut files: Vec<_> = std::fs::read_dir(events_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("strivacity-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // The samples carry a placeholder token; swap in this test's.
        let text = text.replace("00000000-0000-0000-0000-000000000000", TOKEN);
        let text = text.replace(
            &STANDARD.encode("strivacity:replace-me"),
            &STANDARD.encode(format!("{API_KEY_ID}:{API_KEY}")),
        );
        let request = lambda_http::request::from_str(&text).unwrap();
        let response = strivacity_receiver::handle_once(app.clone(), request)
            .await
            .unwrap();
        assert_eq!(
            response["statusCode"],
            200,
            "{}: {response}",
            file.display()
        );
    }
    let records = h.stack.records().await;
    assert!(records
        .iter()
        .any(|r| r["event"]["dataset"] == "strivacity.account"));
    assert!(records
        .iter()
        .any(|r| r["event"]["dataset"] == "strivacity.audit"));
    // The samples send the same four events through both protocols; each lands under its own id.
    let mut ids = tributary_testkit::event_ids(&records);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "{ids:?}");
}

mod budget;
mod exact_ids;
mod fidelity;
mod host;
mod partial;
