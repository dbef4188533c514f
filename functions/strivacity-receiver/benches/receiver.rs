//! Receiver benchmark (`cargo bench -p strivacity-receiver --bench receiver`; needs the local AWS stack).
//!
//! 1. CPU per event of the request path without S3: parse (HEC envelopes / bulk NDJSON), map to ECS records,
//!    encode the gzip NDJSON objects. Single thread, 100-event batches.
//! 2. The standalone host (the real `strivacity-receiver-standalone` binary) landing to the local S3 stand-in:
//!    requests per second and latency percentiles for 100-event batches, per protocol, with a few concurrent
//!    senders. Bounded in requests and time.
//!
//! `STRIVACITY_BENCH_SECONDS` (default 10) bounds each load phase, `STRIVACITY_BENCH_CONCURRENCY` (default 8)
//! sets the senders.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};
use strivacity_receiver::mapping::{Mapper, RequestInfo};
use strivacity_receiver::{bulk, hec, OBJECT_TAG};
use tributary_shared::landing::{Lander, ObjectNaming};
use tributary_testkit::process::ChildServer;

const BATCH: usize = 100;
const TOKEN: &str = "bench-token-0000-0000-000000000000";

fn account_event(batch: usize, i: usize) -> Value {
    json!({
        "eventId": format!("bench-{batch}-{i}"),
        "loginSessionId": format!("ls-{batch}-{i}"),
        "startTimestamp": "2026-11-23T10:15:30.250Z",
        "endTimestamp": "2026-11-23T10:15:31.020Z",
        "labels": ["LOGIN", if i.is_multiple_of(7) { "FAILURE" } else { "SUCCESS" }],
        "type": "login",
        "actor": {
            "accountId": format!("acc-{}", i % 50),
            "userName": format!("user{}@example.com", i % 50),
            "ip": "203.0.113.7",
            "location": {"properties": {"city": "Budapest", "country": "HU", "state": "Budapest"},
                         "geometry": {"coordinates": [47.4979, 19.0402]}}
        },
        "network": {"http": {"user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Safari/605.1.15"}},
        "actorApplication": {"name": "Customer Portal"},
        "subject": {"accountId": format!("acc-{}", i % 50), "userName": format!("user{}@example.com", i % 50)},
        "department": "sales"
    })
}

fn hec_body(batch: usize) -> String {
    (0..BATCH)
        .map(|i| {
            json!({"time": 1795428931, "host": "tenant.strivacity.example", "source": "strivacity",
                   "sourcetype": "json", "event": account_event(batch, i)})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn bulk_body(batch: usize) -> String {
    let mut body = String::new();
    for i in 0..BATCH {
        body.push_str("{\"index\":{\"_index\":\"strivacity-account\"}}\n");
        body.push_str(&account_event(batch, i).to_string());
        body.push('\n');
    }
    body
}

/// Part 1: the pure path, per event.
fn cpu_per_event() {
    let mapper = Mapper::default();
    let lander = Lander::without_storage(strivacity_receiver::FUNCTION, 6);
    let hec_bodies: Vec<String> = (0..50).map(hec_body).collect();
    let bulk_bodies: Vec<String> = (0..50).map(bulk_body).collect();
    let rounds = 20;

    for (name, bodies) in [("hec", &hec_bodies), ("bulk", &bulk_bodies)] {
        let mut parse = Duration::ZERO;
        let mut map = Duration::ZERO;
        let mut encode = Duration::ZERO;
        let mut events = 0usize;
        let mut bytes = 0usize;
        let measure = tributary_testkit::process::Measure::start();
        for _ in 0..rounds {
            for body in bodies.iter() {
                let request = RequestInfo {
                    protocol: name,
                    request_id: "bench",
                    channel: None,
                };
                let now = Utc::now();
                let t0 = Instant::now();
                let records = if name == "hec" {
                    let envelopes = hec::parse_events(body.as_bytes(), 10_000).unwrap();
                    let t1 = Instant::now();
                    parse += t1 - t0;
                    let records: Vec<_> = envelopes
                        .iter()
                        .map(|e| mapper.hec(e.as_ref().unwrap(), request, now))
                        .collect();
                    map += t1.elapsed();
                    records
                } else {
                    let items = bulk::parse_bulk(body.as_bytes(), None, 10_000).unwrap();
                    let t1 = Instant::now();
                    parse += t1 - t0;
                    let records: Vec<_> = items
                        .iter()
                        .map(|i| mapper.bulk(i.as_ref().unwrap(), request, now))
                        .collect();
                    map += t1.elapsed();
                    records
                };
                let t2 = Instant::now();
                let objects =
                    lander.encode_only(&records, &[], ObjectNaming::Content { tag: OBJECT_TAG });
                encode += t2.elapsed();
                events += records.len();
                bytes += objects.iter().map(|(_, b)| b.len()).sum::<usize>();
                std::hint::black_box(objects);
            }
        }
        let figures = measure.finish();
        let per = |d: Duration| d.as_secs_f64() * 1e6 / events as f64;
        println!(
            "cpu/{name}: {events} events in 100-event batches: {:.1} µs CPU per event (wall, one thread: parse {:.1} + map {:.1} + encode {:.1} µs); {:.0} gzip bytes per event",
            per(figures.cpu),
            per(parse),
            per(map),
            per(encode),
            bytes as f64 / events as f64
        );
    }
}

/// Starts the real standalone binary against the local stack, in a process of its own.
fn start_host(bucket: &str, secret_id: &str) -> ChildServer {
    let endpoint = tributary_testkit::endpoint();
    ChildServer::start(
        Command::new(env!("CARGO_BIN_EXE_strivacity-receiver-standalone"))
            .args(["--listen", "127.0.0.1:0"])
            .env("TRIBUTARY_BUCKET", bucket)
            .env("TRIBUTARY_STRIVACITY_SECRET_ID", secret_id)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("TRIBUTARY_LOG_LEVEL", "warn")
            .stderr(Stdio::null()),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Part 2: requests per second and latency on the standalone host, landing to the local S3.
async fn host_throughput() {
    let stack = tributary_testkit::Stack::new("bench-receiver").await;
    let secret = json!({"hec_tokens": [TOKEN], "api_keys": ["bench:key"]}).to_string();
    let secret_id = stack.put_secret("strivacity-receiver", &secret).await;
    let host = start_host(&stack.bucket, &secret_id);
    let seconds: u64 = std::env::var("STRIVACITY_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let concurrency: usize = std::env::var("STRIVACITY_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let max_requests = 2_000usize;
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let api_key = format!("ApiKey {}", STANDARD.encode("bench:key"));

    for (phase, protocol) in ["hec", "bulk"].into_iter().enumerate() {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop_at = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let client = client.clone();
            let base = host.base_url().to_owned();
            let next = next.clone();
            let api_key = api_key.clone();
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= max_requests || Instant::now() >= stop_at {
                        break;
                    }
                    let batch = phase * 1_000_000 + n;
                    let request = if protocol == "hec" {
                        client
                            .post(format!("{base}/services/collector/event"))
                            .header("authorization", format!("Splunk {TOKEN}"))
                            .body(hec_body(batch))
                    } else {
                        client
                            .post(format!("{base}/_bulk"))
                            .header("authorization", &api_key)
                            .header("content-type", "application/x-ndjson")
                            .body(bulk_body(batch))
                    };
                    let t = Instant::now();
                    match request.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            latencies.push(t.elapsed());
                        }
                        _ => failures += 1,
                    }
                }
                (latencies, failures)
            }));
        }
        let mut latencies = Vec::new();
        let mut failures = 0;
        for worker in workers {
            let (l, f) = worker.await.unwrap();
            latencies.extend(l);
            failures += f;
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let ok = latencies.len();
        println!(
            "host/{protocol}: {ok} requests of {BATCH} events ({failures} failed) in {:.1} s with {concurrency} senders: {:.1} requests/s, {:.0} events/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            elapsed.as_secs_f64(),
            ok as f64 / elapsed.as_secs_f64(),
            (ok * BATCH) as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.90).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
    let objects = stack.keys().await.len();
    println!("host: {objects} objects landed in the local S3");
}

fn main() {
    tributary_testkit::process::as_deployed();
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and should not take long.
    let quick = !std::env::args().any(|a| a == "--bench");
    cpu_per_event();
    if quick {
        println!("(load phase skipped: run with `cargo bench` to measure the standalone host)");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(host_throughput());
}
