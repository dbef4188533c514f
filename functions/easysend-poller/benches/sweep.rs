//! One retrospection sweep over 6 hours holding 200,000 logs (or `TRIBUTARY_BENCH_LOGS`): a first run collects
//! them, then a run whose only work is the sweep re-reads the 6 hours, compares every log with what landed and
//! lands the few written late. Prints the sweep's requests, bytes, S3 reads, CPU and peak RSS of this process (the
//! simulator runs in a process of its own).
//!
//! Needs the local stack (`scripts/local-stack.sh start`). Run: `cargo bench -p easysend-poller --bench sweep`.

mod common;

use std::time::Duration;

use chrono::Utc;
use easysend_poller::config::EasySendConfig;
use easysend_poller::windows::align_down;
use easysend_poller::{handle, Poller};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use tributary_simulators::easysend::DEFAULT_API_KEY;
use tributary_testkit::process::Measure;
use tributary_testkit::{seed_simulator, Stack};

/// Logs written late, inside the sweep's reach.
const LATE: u64 = 20;

fn main() {
    common::main(bench);
}

async fn bench() {
    let logs: u64 = std::env::var("TRIBUTARY_BENCH_LOGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let sim = common::start_sim();
    let base_url = sim.base_url();
    let hour = chrono::Duration::hours(1);
    let end = align_down(Utc::now(), hour);
    let start = end - hour * 6;
    seed_simulator(
        base_url,
        &json!({"count": logs, "from": start, "to": end, "product": "mixed"}),
    )
    .await;

    let stack = Stack::new("easysend-sweep-bench").await;
    let secret = stack.put_secret("easysend-api-key", DEFAULT_API_KEY).await;
    let mut config = EasySendConfig::with_defaults(base_url, secret);
    config.window = Duration::from_secs(3600);
    config.lookback = Duration::from_secs(6 * 3600);
    config.lag = Duration::ZERO;
    config.overlap = Duration::ZERO;
    config.request_timeout = Duration::from_secs(600);
    config.sweep_every = Duration::from_secs(1);
    config.sweep_reach = Duration::from_secs(6 * 3600);
    config.sweep_window = Duration::from_secs(3600);
    let poller = Poller::new(stack.services(), config);
    let run = || handle(&poller, LambdaEvent::new(json!({}), Context::default()));
    let first = run().await.expect("the first run succeeds");
    assert_eq!(first["events_landed"].as_u64(), Some(logs), "{first}");

    // A few logs written now, dated across the six hours.
    seed_simulator(
        base_url,
        &json!({"count": LATE, "from": start, "to": end, "product": "mixed"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let measure = Measure::start();
    let report = run().await.expect("the sweep run succeeds");
    let figures = measure.finish();
    let sweep = &report["sweep"];
    assert_eq!(sweep["complete"], true, "{report}");
    assert_eq!(
        sweep["late_logs_recovered"].as_u64(),
        Some(LATE),
        "{report}"
    );
    println!();
    figures.print(
        "easysend sweep (re-read, compare, land the late)",
        logs,
        "logs",
    );
    println!(
        "  sweep: {} requests, {:.1} MiB of logs re-read, {} objects read back, {} late logs landed",
        sweep["requests"],
        sweep["bytes"].as_u64().unwrap_or(0) as f64 / (1024.0 * 1024.0),
        sweep["objects_read"],
        sweep["late_logs_recovered"]
    );
}
