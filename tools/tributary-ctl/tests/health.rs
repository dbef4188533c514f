//! `tributary-ctl status` and `validate` as a health check runs them: the real binary against the local AWS stack
//! (moto) and a vendor simulator, judged by its exit status and what it prints.

mod common;

use std::process::Output;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use common::ctl;
use serde_json::Value;
use tributary_shared::record::rfc3339;
use tributary_shared::state::{LeaseOutcome, Progress, RunSummary};
use tributary_simulators::easysend::{self, SimConfig, DEFAULT_API_KEY};
use tributary_testkit::Stack;

/// `status` and `validate` exit with this when they find something wrong.
const NEEDS_ATTENTION: i32 = 3;

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn line_of<'a>(table: &'a str, stream: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(stream))
        .unwrap_or_else(|| panic!("no line for {stream}:\n{table}"))
}

/// Ends a run of `stream` the way the run cycle does, with `outcome`, an error or losses.
async fn finish_run(
    stack: &Stack,
    stream: &str,
    outcome: &'static str,
    error: Option<&str>,
    losses: Option<&str>,
) {
    let state = stack.state();
    let LeaseOutcome::Acquired(lease) = state
        .acquire(stream, "run-x", Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("{stream} is free");
    };
    let summary = RunSummary {
        cleared_meta: &[],
        started_at: chrono::Utc::now(),
        outcome,
        events: 0,
        error: error.map(str::to_owned),
        losses: losses.map(str::to_owned),
    };
    state.finish(*lease, &summary).await.unwrap();
}

/// Moves a stream's last finished run back in time, as if no run had finished since.
async fn age_last_run(stack: &Stack, stream: &str, age: chrono::Duration) {
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(stream.into()))
        .update_expression("SET last_run_finished_at = :at, last_run_started_at = :at")
        .expression_attribute_values(":at", AttributeValue::S(rfc3339(chrono::Utc::now() - age)))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_non_zero_when_a_stream_is_failed_degraded_or_overdue() {
    let stack = Stack::new("ctl-health").await;
    let progress = Progress {
        events: 7,
        newest_event_time: Some(rfc3339(chrono::Utc::now() - chrono::Duration::minutes(2))),
        ..Progress::default()
    };
    stack
        .record_run("transmit#cis", "run-1", "c-1", &progress)
        .await;

    let healthy = ctl(&stack, &[], &["status"]).await;
    assert_eq!(healthy.status.code(), Some(0), "{healthy:?}");
    let table = text(&healthy);
    let cis = line_of(&table, "transmit#cis");
    assert!(
        cis.contains(" ok ") && cis.contains("s ago") && cis.contains("drained (7)"),
        "{cis}"
    );
    assert!(table.contains("1 streams, all healthy"), "{table}");
    // The default table stays narrow; --wide adds the cursor.
    assert!(!cis.contains("c-1"), "{cis}");
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    let wide = text(&ctl(&stack, &[], &["status", "--wide"]).await);
    assert!(line_of(&wide, "transmit#cis").contains("c-1"), "{wide}");

    finish_run(
        &stack,
        "easysend#security-logs",
        "degraded",
        None,
        Some("skipped_events: 3 (page 2 unreadable)"),
    )
    .await;
    let degraded = ctl(&stack, &[], &["status"]).await;
    assert_eq!(
        degraded.status.code(),
        Some(NEEDS_ATTENTION),
        "{degraded:?}"
    );
    let table = text(&degraded);
    assert!(
        line_of(&table, "easysend#security-logs").contains("degraded"),
        "{table}"
    );
    assert!(
        table.contains("easysend#security-logs: last run degraded: skipped_events: 3"),
        "{table}"
    );
    assert!(table.contains("2 streams, 1 needs attention"), "{table}");

    finish_run(
        &stack,
        "easysend#security-logs",
        "failed",
        Some("EasySend answered 401"),
        None,
    )
    .await;
    let failed = ctl(&stack, &[], &["status", "--json"]).await;
    assert_eq!(failed.status.code(), Some(NEEDS_ATTENTION), "{failed:?}");
    let streams: Value = serde_json::from_slice(&failed.stdout).unwrap();
    let easysend = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == "easysend#security-logs")
        .unwrap();
    assert_eq!(easysend["attention"], serde_json::json!(["failed"]));
    assert_eq!(easysend["last_run_error"], "EasySend answered 401");

    // A clean run again, then nothing for an hour: overdue on a five-minute schedule, fine on a daily one.
    finish_run(&stack, "easysend#security-logs", "drained", None, None).await;
    assert_eq!(ctl(&stack, &[], &["status"]).await.status.code(), Some(0));
    age_last_run(&stack, "transmit#cis", chrono::Duration::hours(1)).await;
    let overdue = ctl(&stack, &[], &["status"]).await;
    assert_eq!(overdue.status.code(), Some(NEEDS_ATTENTION), "{overdue:?}");
    let table = text(&overdue);
    assert!(
        line_of(&table, "transmit#cis").contains("overdue") && table.contains("60 min ago"),
        "{table}"
    );
    assert!(
        table.contains("transmit#cis: overdue: the last run finished 60 min ago"),
        "{table}"
    );
    let daily = ctl(
        &stack,
        &[],
        &["status", "--schedule", "5m,transmit#cis=rate(1 day)"],
    )
    .await;
    assert_eq!(daily.status.code(), Some(0), "{}", text(&daily));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_a_readable_table_fails_as_a_command_not_as_unhealthy() {
    let stack = Stack::new("ctl-health-missing").await;
    let output = ctl(
        &stack,
        &[("TRIBUTARY_STATE_TABLE", "no-such-table".into())],
        &["status"],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

fn checks(output: &Output) -> Vec<(String, bool, String)> {
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)));
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["ok"].as_bool().unwrap(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_passes_a_good_configuration_and_names_each_broken_part() {
    let stack = Stack::new("ctl-validate").await;
    let sim = easysend::spawn(SimConfig::default()).await;
    let secret = stack.put_secret("easysend", DEFAULT_API_KEY).await;
    let good = [
        ("TRIBUTARY_EASYSEND_PLAYER_URL", sim.base_url.clone()),
        ("TRIBUTARY_EASYSEND_API_KEY_SECRET", secret.clone()),
    ];
    let output = ctl(&stack, &good, &["validate", "easysend-poller", "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let found = checks(&output);
    let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["settings", "secret", "bucket", "table", "vendor"]);
    assert!(found.iter().all(|(_, ok, _)| *ok), "{found:?}");
    // Nothing was collected or left behind: no object, no state item.
    assert!(stack.keys().await.is_empty(), "{:?}", stack.keys().await);
    assert!(stack.state().list().await.unwrap().is_empty());

    // Broken: a JSON secret where a plain key belongs, a vendor URL nothing answers, a table that does not exist.
    let json_secret = stack
        .put_secret("easysend-json", r#"{"apiKey": "k"}"#)
        .await;
    let broken = [
        (
            "TRIBUTARY_EASYSEND_PLAYER_URL",
            "http://127.0.0.1:9".to_owned(),
        ),
        ("TRIBUTARY_EASYSEND_API_KEY_SECRET", json_secret),
        ("TRIBUTARY_STATE_TABLE", "no-such-table".to_owned()),
    ];
    let output = ctl(&stack, &broken, &["validate", "easysend-poller"]).await;
    assert_eq!(output.status.code(), Some(NEEDS_ATTENTION), "{output:?}");
    let report = text(&output);
    let line = |check: &str| {
        report
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no {check} line:\n{report}"))
            .to_owned()
    };
    assert!(
        line("secret").starts_with("FAIL") && line("secret").contains("plain text"),
        "{report}"
    );
    assert!(
        line("table").starts_with("FAIL") && line("table").contains("no-such-table"),
        "{report}"
    );
    assert!(
        line("vendor").starts_with("FAIL") && line("vendor").contains("127.0.0.1:9"),
        "{report}"
    );
    assert!(line("bucket").starts_with("ok"), "{report}");
    assert!(
        report.contains("easysend-poller: 3 check(s) failed"),
        "{report}"
    );

    // A bucket that does not exist, and a setting the function cannot read: named, nothing else tried.
    let output = ctl(
        &stack,
        &[
            ("TRIBUTARY_BUCKET", "no-such-bucket-tributary".into()),
            ("TRIBUTARY_EASYSEND_API_KEY_SECRET", secret.clone()),
            ("TRIBUTARY_EASYSEND_PLAYER_URL", sim.base_url.clone()),
        ],
        &["validate", "easysend-poller", "--json"],
    )
    .await;
    assert_eq!(output.status.code(), Some(NEEDS_ATTENTION));
    let bucket = checks(&output)
        .into_iter()
        .find(|(n, _, _)| n == "bucket")
        .unwrap();
    assert!(
        !bucket.1 && bucket.2.contains("no-such-bucket-tributary"),
        "{bucket:?}"
    );
    let output = ctl(
        &stack,
        &[("TRIBUTARY_EASYSEND_API_KEY_SECRET", secret)],
        &["validate", "easysend-poller", "--json"],
    )
    .await;
    assert_eq!(output.status.code(), Some(NEEDS_ATTENTION));
    let found = checks(&output);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].2.contains("TRIBUTARY_EASYSEND_PLAYER_URL"),
        "{found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_refuses_the_templates_placeholder_transmit_secret() {
    let stack = Stack::new("ctl-validate-transmit").await;
    let placeholder = stack
        .put_secret(
            "transmit",
            r#"{"client_id": "set-me", "client_secret": "x1"}"#,
        )
        .await;
    let output = ctl(
        &stack,
        &[
            ("TRIBUTARY_TRANSMIT_SECRET_ID", placeholder),
            (
                "TRIBUTARY_TRANSMIT_BASE_URL",
                "http://127.0.0.1:9/activities/v2".into(),
            ),
        ],
        &["validate", "transmit-poller", "--json"],
    )
    .await;
    assert_eq!(output.status.code(), Some(NEEDS_ATTENTION));
    let secret = checks(&output)
        .into_iter()
        .find(|(n, _, _)| n == "secret")
        .unwrap();
    assert!(!secret.1 && secret.2.contains("placeholder"), "{secret:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_flags_transmit_batches_waiting_in_the_state_table() {
    let stack = Stack::new("ctl-pending").await;
    // What a Transmit run leaves when S3 refused a batch it had collected: the batch parked under the stream.
    let progress = Progress {
        events: 500,
        newest_event_time: Some(rfc3339(chrono::Utc::now())),
        meta: vec![("parked_batches".to_owned(), "5f3a9c0e1d2b4a67".to_owned())],
    };
    stack
        .record_run("transmit#risk", "run-1", "c-1", &progress)
        .await;
    let status = ctl(&stack, &[], &["status"]).await;
    assert_eq!(status.status.code(), Some(NEEDS_ATTENTION), "{status:?}");
    let table = text(&status);
    assert!(
        line_of(&table, "transmit#risk").contains("pending"),
        "{table}"
    );
    assert!(
        table.contains("transmit#risk: 1 batch(es) S3 refused wait in the state table"),
        "{table}"
    );
    let json: Value =
        serde_json::from_slice(&ctl(&stack, &[], &["status", "--json"]).await.stdout).unwrap();
    assert_eq!(json[0]["pending_batches"], 1, "{json}");
}
