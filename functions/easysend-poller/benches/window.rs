//! Pulls one window holding 200,000 logs (20 pages of 10,000; or `TRIBUTARY_BENCH_LOGS`) from the EasySend
//! simulator into the local S3 through the real handler. Prints logs/s, CPU ns/log and peak RSS of this
//! process (the simulator runs in a process of its own, so only the poller is measured; the budget is 64 MiB),
//! then the time gzip alone takes to compress the same NDJSON: the floor under this work.
//!
//! Needs the local stack (`scripts/local-stack.sh start`). Run: `cargo bench -p easysend-poller --bench window`.

mod common;

use std::io::Read;
use std::time::Duration;

use chrono::Utc;
use easysend_poller::config::EasySendConfig;
use easysend_poller::windows::align_down;
use easysend_poller::{handle, Poller};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use tributary_simulators::easysend::DEFAULT_API_KEY;
use tributary_testkit::process::{gzip_time, Measure};
use tributary_testkit::{seed_simulator, Stack};

const MEMORY_BUDGET_MIB: f64 = 64.0;

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
    // One hour-wide window, the last full hour: the run's only window.
    let hour = chrono::Duration::hours(1);
    let end = align_down(Utc::now(), hour);
    let start = end - hour;
    let seeded = seed_simulator(
        base_url,
        &json!({"count": logs, "from": start, "to": end, "product": "mixed"}),
    )
    .await;
    assert_eq!(seeded["seeded"], logs);

    let stack = Stack::new("easysend-bench").await;
    let secret = stack.put_secret("easysend-api-key", DEFAULT_API_KEY).await;
    let mut config = EasySendConfig::with_defaults(base_url, secret);
    config.window = Duration::from_secs(3600);
    config.lookback = Duration::from_secs(3600);
    config.lag = Duration::ZERO;
    config.overlap = Duration::ZERO;
    config.request_timeout = Duration::from_secs(600);
    let poller = Poller::new(stack.services(), config);

    let measure = Measure::start();
    let report = handle(&poller, LambdaEvent::new(json!({}), Context::default()))
        .await
        .expect("the run succeeds");
    let figures = measure.finish();

    let landed = report["events_landed"].as_u64().unwrap_or(0);
    assert_eq!(landed, logs, "every log landed: {report}");
    println!();
    figures.print(
        "easysend window (fetch, parse, map, gzip, land)",
        landed,
        "logs",
    );
    let bytes = report["bytes"].as_u64().unwrap_or(0);
    println!(
        "  landed: {} objects, {:.1} MiB compressed",
        report["objects"],
        bytes as f64 / (1024.0 * 1024.0)
    );

    // The floor: gzip alone over the NDJSON that landed, read back object by object.
    let mut ndjson_bytes = 0usize;
    let mut lines = 0usize;
    let mut gzip = Duration::ZERO;
    for key in stack.keys().await {
        let body = stack.object(&key).await;
        let mut decoder = flate2::read::MultiGzDecoder::new(&body[..]);
        let mut chunk = vec![0u8; 16 << 20];
        loop {
            let mut filled = 0;
            while filled < chunk.len() {
                match decoder
                    .read(&mut chunk[filled..])
                    .expect("objects are gzip")
                {
                    0 => break,
                    n => filled += n,
                }
            }
            if filled == 0 {
                break;
            }
            ndjson_bytes += filled;
            lines += chunk[..filled].iter().filter(|&&b| b == b'\n').count();
            gzip += gzip_time(&chunk[..filled], poller.services.config.gzip_level);
        }
    }
    assert_eq!(lines as u64, logs, "every log is in S3 exactly once");
    println!(
        "gzip alone over the same {:.1} MiB of NDJSON: {:.2} s ({:.0} ns/log, {:.0}% of the run's wall time)",
        ndjson_bytes as f64 / (1024.0 * 1024.0),
        gzip.as_secs_f64(),
        gzip.as_nanos() as f64 / landed.max(1) as f64,
        100.0 * gzip.as_secs_f64() / figures.wall.as_secs_f64()
    );
    let peak_mib = figures.peak_rss_kib as f64 / 1024.0;
    if peak_mib > MEMORY_BUDGET_MIB {
        eprintln!("peak RSS {peak_mib:.1} MiB is over the {MEMORY_BUDGET_MIB} MiB budget");
        std::process::exit(1);
    }
    println!("peak RSS within the {MEMORY_BUDGET_MIB} MiB budget");
}
