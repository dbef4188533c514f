//! One session consuming 500,000 events from the Lookout simulator, as fast as it sends them,
//! landing to the local stack. Prints events/s, CPU ns/event and the collector's peak memory
//! (which must stay at or below 32 MiB at the default flush size).
//!
//! The simulator runs in a process of its own (this binary, re-executed with `--simulator`), so
//! the figures are the collector's alone. Needs the local stack: `scripts/local-stack.sh start`. The session runs
//! on the poller's runtime (or `TRIBUTARY_BENCH_RUNTIME=multi-thread`, to compare).
//!
//! `cargo bench -p lookout-stream --bench session [-- --events N]` (500,000 by default);
//! `TRIBUTARY_LOOKOUT_FLUSH_EVENTS` sets the flush size as it does for the function.

use std::process::{Command, Stdio};
use std::time::Duration;

use lambda_runtime::LambdaEvent;
use lookout_stream::config::LookoutConfig;
use lookout_stream::Collector;
use serde_json::json;
use tributary_shared::runtime;
use tributary_testkit::process::{peak_rss_kib, ChildServer, Measure};
use tributary_testkit::Stack;

/// The memory budget of a session at the default flush size, whatever the backlog (25 MiB measured at 500,000
/// events). A flush size set from the environment is measured, not held to it: what is read between two landings
/// is held (compressed) until they land.
const PEAK_RSS_LIMIT_MIB: f64 = 32.0;

fn main() {
    tributary_testkit::process::as_deployed();
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, and
    // then a small run checks that the benchmark still works without taking its time.
    let full = args.iter().any(|a| a == "--bench" || a == "--simulator");
    let events: u64 = args
        .iter()
        .position(|a| a == "--events")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 500_000 } else { 5_000 });
    if args.iter().any(|a| a == "--simulator") {
        tokio::runtime::Runtime::new()
            .expect("a tokio runtime")
            .block_on(serve_simulator(events));
        return;
    }
    let (runtime, flavour) = tributary_testkit::process::poller_bench_runtime();
    println!("(the session on a {flavour} runtime)");
    runtime.block_on(bench(events));
}

/// The simulator side: seed, print the base URL, serve until killed.
async fn serve_simulator(events: u64) {
    let args = vec!["--seed".to_owned(), events.to_string()];
    if let Err(error) = tributary_simulators::lookout::cli_main(&args).await {
        eprintln!("simulator: {error}");
        std::process::exit(1);
    }
}

fn start_simulator(events: u64) -> ChildServer {
    ChildServer::start(
        Command::new(std::env::current_exe().expect("this binary's path"))
            .args(["--simulator", "--events", &events.to_string()])
            .stderr(Stdio::inherit()),
    )
}

async fn bench(events: u64) {
    let stack = Stack::new("lookout-bench").await;
    let simulator = start_simulator(events);
    let secret = stack
        .put_secret(
            "lookout",
            &json!({ "application_key": tributary_simulators::lookout::DEFAULT_APP_KEY })
                .to_string(),
        )
        .await;
    let mut config = LookoutConfig::new(simulator.base_url(), secret);
    // Production defaults, except that the session ends once the stream is drained instead
    // of listening until a 15-minute deadline.
    config.idle_stop = Some(Duration::from_millis(500));
    // The flush size bounds what is held between landings, so memory is measured at other sizes with it.
    if let Ok(events) = std::env::var("TRIBUTARY_LOOKOUT_FLUSH_EVENTS") {
        config.flush_events = events
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .expect("TRIBUTARY_LOOKOUT_FLUSH_EVENTS is a whole number of events, 1 or more");
    }
    let collector = Collector::new(stack.services(), config.clone());
    let rss_before = peak_rss_kib();

    let measure = Measure::start();
    let result = collector
        .handle(LambdaEvent::new(
            json!({}),
            runtime::local_context(Duration::from_secs(900)),
        ))
        .await
        .expect("the session succeeds");
    let figures = measure.finish();

    let landed = result["events_landed"].as_u64().unwrap_or(0);
    println!(
        "lookout-stream session: flush every {} events / {:?}, gzip level {}",
        config.flush_events,
        config.flush_interval,
        stack.config().gzip_level
    );
    figures.print("lookout-stream session", landed, "events");
    println!(
        "  objects: {}, flushes: {}, connections: {}, peak rss before the session: {:.1} MiB",
        result["objects"],
        result["flushes"],
        result["connections"],
        rss_before as f64 / 1024.0
    );
    let peak_mib = figures.peak_rss_kib as f64 / 1024.0;
    assert_eq!(landed, events, "every event landed: {result}");
    if config.flush_events != LookoutConfig::new(String::new(), String::new()).flush_events {
        return;
    }
    assert!(
        peak_mib <= PEAK_RSS_LIMIT_MIB,
        "peak memory {peak_mib:.1} MiB is over the {PEAK_RSS_LIMIT_MIB} MiB budget"
    );
    println!("  peak rss within {PEAK_RSS_LIMIT_MIB} MiB: yes");
}
