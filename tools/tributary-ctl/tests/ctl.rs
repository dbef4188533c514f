//! `tributary-ctl` as an operator runs it: the real binary, configured only by environment variables, against
//! the local AWS stack (moto) and the vendor simulators.

mod common;

use std::collections::HashMap;
use std::process::Output;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::ctl;
use serde_json::{json, Value};
use tributary_shared::record::rfc3339;
use tributary_shared::state::{LeaseOutcome, Progress};
use tributary_simulators::easysend::{self, ProductMix, SimConfig, DEFAULT_API_KEY};
use tributary_simulators::transmit::{self, EventType, GenSpec};
use tributary_testkit::Stack;

/// The command's answer: the last JSON document on stdout (a function run prints its metrics line first, as it
/// does in Lambda).
fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "tributary-ctl failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|doc| doc.unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text}")))
        .last()
        .expect("a JSON answer on stdout")
}

/// event.id -> how many lines carry it, over every landed object.
fn id_counts(records: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for record in records {
        *counts
            .entry(
                record["event"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_cursor_lag_last_run_lease_holder_and_events_landed() {
    let stack = Stack::new("ctl-status").await;
    let state = stack.state();
    let newest = Utc::now() - chrono::Duration::minutes(10);

    let progress = Progress {
        events: 42,
        newest_event_time: Some(rfc3339(newest)),
        ..Progress::default()
    };
    stack
        .record_run("transmit#cis", "run-1", "cursor-7", &progress)
        .await;
    // A run in progress: its lease is live.
    let LeaseOutcome::Acquired(_running) = state
        .acquire("lookout#events", "run-2", Duration::from_secs(600))
        .await
        .unwrap()
    else {
        panic!("a fresh stream is free");
    };

    let output = ctl(&stack, &[], &["status", "--json"]).await;
    let streams = stdout_json(&output);
    let by_stream: HashMap<&str, &Value> = streams
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stream"].as_str().unwrap(), s))
        .collect();
    let cis = by_stream["transmit#cis"];
    assert_eq!(cis["cursor"], "cursor-7");
    assert_eq!(cis["events_landed_total"], 42);
    assert_eq!(cis["last_run_outcome"], "drained");
    assert_eq!(
        cis["lease_holder"],
        Value::Null,
        "a finished run released its lease"
    );
    let lag = cis["lag_seconds"].as_i64().unwrap();
    assert!((600..700).contains(&lag), "lag {lag}");
    let lookout = by_stream["lookout#events"];
    assert_eq!(lookout["lease_holder"], "run-2");
    assert_eq!(lookout["events_landed_total"], 0);

    let table = ctl(&stack, &[], &["status", "--wide"]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("STREAM"), "{text}");
    let cis_line = text
        .lines()
        .find(|l| l.starts_with("transmit#cis"))
        .unwrap();
    assert!(
        cis_line.contains("cursor-7")
            && cis_line.contains("drained (42)")
            && cis_line.contains("free"),
        "{cis_line}"
    );
    let lookout_line = text
        .lines()
        .find(|l| l.starts_with("lookout#events"))
        .unwrap();
    assert!(
        lookout_line.contains("running") && lookout_line.contains("run-2 until in "),
        "{lookout_line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transmit_stop_deletes_the_stream_and_stops_collection_of_the_type() {
    let stack = Stack::new("ctl-transmit-stop").await;
    let sim = transmit::spawn(transmit::Config::default()).await;
    let config = sim.config();
    let secret = stack
        .put_secret(
            "transmit",
            &json!({"client_id": config.client_id, "client_secret": config.client_secret})
                .to_string(),
        )
        .await;
    let vars = [
        ("TRIBUTARY_TRANSMIT_BASE_URL", sim.api_url()),
        ("TRIBUTARY_TRANSMIT_TOKEN_URL", sim.token_url()),
        ("TRIBUTARY_TRANSMIT_SECRET_ID", secret),
    ];
    let spec: GenSpec = serde_json::from_value(json!({"type": "cis", "count": 5})).unwrap();
    sim.seed(spec);

    // A scheduled collection run sets the stream up (and drains it).
    let collected = stdout_json(
        &ctl(
            &stack,
            &vars,
            &["run", "transmit-poller", "--stream", "cis"],
        )
        .await,
    );
    assert!(sim.is_collecting(EventType::Cis), "{collected}");
    assert!(sim.pending(EventType::Cis, "tributary").is_some());

    let output = ctl(&stack, &vars, &["transmit", "stop", "--type", "cis"]).await;
    let report = stdout_json(&output);
    assert_eq!(report["stream_status"], "deleted");
    assert_eq!(report["collection"], "stopped");
    assert!(!sim.is_collecting(EventType::Cis));
    assert_eq!(sim.pending(EventType::Cis, "tributary"), None);
    let reminder = String::from_utf8_lossy(&output.stderr);
    assert!(reminder.contains("TransmitCisSchedule=off"), "{reminder}");

    let status = stdout_json(&ctl(&stack, &[], &["status", "--json"]).await);
    let cis = &status.as_array().unwrap()[0];
    assert_eq!(cis["stream"], "transmit#cis");
    assert_eq!(cis["last_run_outcome"], "drained");
    assert_eq!(cis["last_run_events"], 0, "the stop collected nothing");
}

/// A log as EasySend writes it (zoneless time with microseconds).
fn easysend_log(at: DateTime<Utc>, rid: &str) -> Value {
    json!({
        "message": "Security log",
        "environment": "acme-easysend",
        "product_type": "Player",
        "customer_id": "4711",
        "ecs": {"version": "8.11"},
        "@timestamp": at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "client": {"ip": "198.51.100.7"},
        "event": {"action": "OPENED", "timezone": "localhost"},
        "label": {"app_type": "player", "rid": rid}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn easysend_backfill_recollects_a_late_log_without_duplicating_or_moving_the_cursor() {
    let stack = Stack::new("ctl-easysend-backfill").await;
    let sim = easysend::spawn(SimConfig::default()).await;
    let secret = stack.put_secret("easysend", DEFAULT_API_KEY).await;
    let vars = [
        ("TRIBUTARY_EASYSEND_PLAYER_URL", sim.base_url.clone()),
        ("TRIBUTARY_EASYSEND_API_KEY_SECRET", secret),
        ("TRIBUTARY_EASYSEND_LOOKBACK_SECONDS", "14400".to_owned()),
    ];
    let now = Utc::now();
    sim.seed(
        60,
        now - chrono::Duration::hours(3),
        now - chrono::Duration::hours(1),
        ProductMix::Player,
    );

    // The scheduled collection: four hours of windows up to now minus the lag.
    let first = stdout_json(
        &ctl(
            &stack,
            &vars,
            &["run", "easysend-poller", "--stream", "security-logs"],
        )
        .await,
    );
    assert_eq!(first["outcome"], "drained", "{first}");
    assert_eq!(first["events_landed"], 60);

    // A log EasySend wrote late, dated two and a half hours ago: far behind the scheduled run's overlap.
    let late_at = now - chrono::Duration::minutes(150) + chrono::Duration::seconds(17);
    sim.insert_logs(&[easysend_log(late_at, "late-1")]).unwrap();
    let again = stdout_json(
        &ctl(
            &stack,
            &vars,
            &["run", "easysend-poller", "--stream", "security-logs"],
        )
        .await,
    );
    assert_eq!(again["outcome"], "drained");
    let landed_late = |records: &[Value]| {
        records
            .iter()
            .filter(|r| r["labels"]["rid"] == "late-1")
            .count()
    };
    assert_eq!(
        landed_late(&stack.records().await),
        0,
        "the schedule alone never sees it"
    );
    let keys_before = stack.keys().await;
    let state_before = stack
        .state()
        .load("easysend#security-logs")
        .await
        .unwrap()
        .unwrap();

    let output = ctl(
        &stack,
        &vars,
        &["easysend", "backfill", "--from", "160m", "--to", "140m"],
    )
    .await;
    let report = stdout_json(&output);
    assert_eq!(report["run"]["outcome"], "drained", "{report}");
    // 20 minutes on a 5-minute grid: five windows, four if both ends fall exactly on grid points.
    let windows = report["run"]["windows"].as_u64().unwrap();
    assert!((4..=5).contains(&windows), "{report}");

    let records = stack.records().await;
    assert_eq!(landed_late(&records), 1);
    let counts = id_counts(&records);
    assert_eq!(counts.len(), 61);
    assert!(counts.values().all(|n| *n == 1), "no event landed twice");
    assert_eq!(
        stack.keys().await,
        keys_before,
        "backfilled windows overwrote their objects"
    );

    let state_after = stack
        .state()
        .load("easysend#security-logs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (state_after.cursor, state_after.version),
        (state_before.cursor, state_before.version),
        "the scheduled stream's cursor is not touched"
    );
    let backfill_item = report["stream"].as_str().unwrap();
    assert!(backfill_item.starts_with("easysend#security-logs-backfill-"));
    let item = stack.state().load(backfill_item).await.unwrap().unwrap();
    assert_eq!(item.cursor.as_deref(), report["last_window_end"].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_refuses_windows_beyond_the_retention() {
    let stack = Stack::new("ctl-easysend-retention").await;
    let vars = [
        (
            "TRIBUTARY_EASYSEND_PLAYER_URL",
            "http://127.0.0.1:9".to_owned(),
        ),
        ("TRIBUTARY_EASYSEND_API_KEY_SECRET", "unused".to_owned()),
    ];
    let output = ctl(
        &stack,
        &vars,
        &["easysend", "backfill", "--from", "50h", "--to", "47h"],
    )
    .await;
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("beyond EasySend's retention (48 h)"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_replays_a_sample_receiver_request_through_the_handler() {
    let stack = Stack::new("ctl-run-receiver").await;
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/strivacity-hec-account.json"
    );
    let payload: Value = serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    let token = payload["headers"]["authorization"]
        .as_str()
        .unwrap()
        .trim_start_matches("Splunk ")
        .to_owned();
    let secret = stack.put_secret("strivacity", &token).await;
    let vars = [("TRIBUTARY_STRIVACITY_SECRET_ID", secret)];

    let answer = stdout_json(
        &ctl(
            &stack,
            &vars,
            &["run", "strivacity-receiver", "--event", sample],
        )
        .await,
    );
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"text": "Success", "code": 0}));
    let keys = stack.keys().await;
    assert!(!keys.is_empty());
    assert!(
        keys.iter()
            .all(|k| k.starts_with("tributary/vendor=strivacity/")),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_exit_with_usage_errors_before_touching_anything() {
    let stack = Stack::new("ctl-usage").await;
    let output = ctl(&stack, &[], &["transmit", "stop"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--type"));
    let help = ctl(&stack, &[], &["help"]).await;
    assert!(String::from_utf8_lossy(&help.stdout)
        .contains("re-collect windows still inside the 48-hour retention (backfill)"));
}
