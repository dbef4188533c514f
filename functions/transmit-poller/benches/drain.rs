//! Drains a backlog of 200,000 events (or `TRIBUTARY_BENCH_EVENTS`) of about 550 bytes, the simulator's mix of
//! `cis` activities, from the Transmit simulator in batches of 1000, landing to the local S3, through the real
//! collection run, in the record shape `TRIBUTARY_RECORD_SHAPE` names (lean by default).
//! Runs on the poller's runtime (or `TRIBUTARY_BENCH_RUNTIME=multi-thread`, to compare).
//! Prints events/s, CPU ns/event and peak RSS of this process (the simulator runs as a process
//! of its own so only the poller is measured), then the time to gzip the same NDJSON alone: the
//! floor for this work; the time to map and encode the same answers alone (what the record code costs, without the
//! fetch, the landing and the state writes); the raw and gzip bytes per event landed, next to the vendor's own
//! bytes gzipped alone;
//! the gzip bytes of each level, and of the landed lines without `event.id` (what the id costs).
//! Last, what the guards of the destructive read cost on their own: the pre-flight write
//! (once per run) and the in-flight mark (one state write per batch), in CPU per event at this batch size.
//!
//! Needs the local stack (`scripts/local-stack.sh start`) and the simulator binary
//! (`cargo build --release -p tributary-simulators`; or point `TRIBUTARY_SIM_BIN` at it).
//! Run: `cargo bench -p transmit-poller --bench drain`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use transmit_poller::mapping::{map_body, Origin};
use transmit_poller::{EventType, Poller, RunContext, TransmitConfig};
use tributary_shared::http::HttpPolicy;
use tributary_shared::landing::{Lander, ObjectNaming};
use tributary_shared::ndjson::{decode_lines, GzipNdjson};
use tributary_simulators::transmit::{self as sim, GenSpec};
use tributary_testkit::process::{ChildServer, Measure};
use tributary_testkit::{seed_simulator, Stack};

const BATCH: u32 = 1000;
const MEMORY_BUDGET_MIB: f64 = 64.0;

fn sim_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRIBUTARY_SIM_BIN") {
        return Some(path.into());
    }
    // This bench runs from <target>/release/deps; the binaries sit one level up.
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    ["tributary-sim", "tributary-simulators"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.exists())
}

/// The simulator, in its own process, stopped when dropped.
fn start_sim(config: &sim::Config) -> ChildServer {
    let Some(binary) = sim_binary() else {
        eprintln!(
            "the simulator binary is missing: build it with \
             `cargo build --release -p tributary-simulators` or set TRIBUTARY_SIM_BIN"
        );
        std::process::exit(2);
    };
    ChildServer::start(
        Command::new(&binary)
            .args([
                "transmit",
                "--port",
                "0",
                "--client-id",
                &config.client_id,
                "--client-secret",
                &config.client_secret,
            ])
            .stderr(Stdio::null()),
    )
}

fn backlog(count: u64) -> GenSpec {
    // 10 ms apart: a batch spans 10 s, so most batches land as one object.
    GenSpec::new(sim::EventType::Cis, count)
        .start("2026-11-20T00:00:00Z".parse().expect("a valid time"))
        .interval_ms(10)
        .seed(1)
}

fn main() {
    tributary_testkit::process::as_deployed();
    let (runtime, flavour) = tributary_testkit::process::poller_bench_runtime();
    runtime.block_on(drain(flavour));
}

async fn drain(flavour: &str) {
    let events: u64 = std::env::var("TRIBUTARY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let sim_config = sim::Config::default();
    let sim = start_sim(&sim_config);
    let spec = backlog(events);
    let seeded = seed_simulator(sim.base_url(), &spec).await;
    assert_eq!(seeded["seeded"], events);

    let stack = Stack::new("transmit-bench").await;
    let secret = stack
        .put_secret(
            "transmit",
            &json!({"client_id": sim_config.client_id, "client_secret": sim_config.client_secret})
                .to_string(),
        )
        .await;
    let mut common = stack.config();
    common.http = HttpPolicy::default();
    let mut shape_reader = tributary_shared::config::Reader::from_env();
    common.record_shape = tributary_shared::config::common::record_shape(&mut shape_reader);
    let services = tributary_shared::services::Services::new(&stack.sdk, common.clone());
    let guards = services.clone();
    let mut config = TransmitConfig::new(format!("{}/activities/v1", sim.base_url()), secret);
    config.batch_size = BATCH;
    let poller = Poller::new(services, config);

    let measure = Measure::start();
    let report = poller
        .collect(
            EventType::Cis,
            &RunContext::with_budget(transmit_poller::COLLECTOR, Duration::from_secs(3600)),
        )
        .await
        .expect("the drain succeeds");
    let figures = measure.finish();
    assert_eq!(report.events_landed, events, "{report:?}");
    println!();
    figures.print(
        &format!(
            "transmit drain ({} records, batches of {BATCH}, {} objects, {flavour} runtime)",
            common.record_shape.as_str(),
            report.objects
        ),
        events,
        "events",
    );
    let peak_mib = figures.peak_rss_kib as f64 / 1024.0;
    println!(
        "  memory budget: {peak_mib:.1} MiB of {MEMORY_BUDGET_MIB} MiB{}",
        if peak_mib > MEMORY_BUDGET_MIB {
            "  OVER BUDGET"
        } else {
            ""
        }
    );
    println!(
        "  landed: {} compressed bytes in {} batches",
        report.bytes, report.batches
    );
    drop(sim);

    // The floor: gzip the same NDJSON, batch by batch, at the same level, timing only the
    // compression (building the lines is not part of the floor).
    let encoder = Lander::without_storage("transmit-poller", common.gzip_level)
        .with_shape(common.record_shape);
    let mut gzip_time = Duration::ZERO;
    let mut gzip_cpu = Duration::ZERO;
    let mut map_time = Duration::ZERO;
    let mut encode_time = Duration::ZERO;
    let mut ndjson_bytes = 0usize;
    let mut vendor_bytes = 0usize;
    let mut vendor_gzip = 0usize;
    // The first 20 batches' lines, for the table of gzip levels.
    let mut sample: Vec<Vec<u8>> = Vec::new();
    let mut body = Vec::with_capacity(1 << 20);
    let mut lines = Vec::with_capacity(2 << 20);
    let mut first = 0;
    while first < events {
        let last = (first + u64::from(BATCH)).min(events);
        body.clear();
        spec.write_batch(first..last, false, &mut body);
        vendor_bytes += body.len();
        let mut vendor =
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(common.gzip_level));
        std::io::Write::write_all(&mut vendor, &body).expect("writing to memory");
        vendor_gzip += vendor.finish().expect("writing to memory").len();
        let origin = Origin {
            event_type: EventType::Cis,
            stream_id: "tributary",
            run: "bench",
            batch: first / u64::from(BATCH) + 1,
        };
        // The lines as they land (grouped within the object), so every figure below is of the landed bytes.
        lines.clear();
        let started = Instant::now();
        let records = map_body(&body, &origin).records;
        map_time += started.elapsed();
        let started = Instant::now();
        let objects = encoder.encode_only(&records, &[], ObjectNaming::Content { tag: "cis" });
        encode_time += started.elapsed();
        for (_, object) in objects {
            for line in decode_lines(&object).expect("a body this bench just encoded") {
                lines.extend_from_slice(line.as_bytes());
                lines.push(b'\n');
            }
        }
        ndjson_bytes += lines.len();
        if sample.len() < 20 {
            sample.push(lines.clone());
        }
        let cpu = tributary_testkit::process::cpu_time();
        let started = Instant::now();
        std::hint::black_box(gzip_bytes(
            std::slice::from_ref(&lines),
            common.gzip_level,
            |line, out| out.extend_from_slice(line),
        ));
        gzip_time += started.elapsed();
        gzip_cpu += tributary_testkit::process::cpu_time().saturating_sub(cpu);
        first = last;
    }
    println!(
        "gzip alone (level {}): {:.0} MiB of NDJSON in {:.2} s = {:.0} events/s, {:.0} ns/event (cpu {:.0} ns/event)",
        common.gzip_level,
        ndjson_bytes as f64 / (1024.0 * 1024.0),
        gzip_time.as_secs_f64(),
        events as f64 / gzip_time.as_secs_f64(),
        gzip_time.as_nanos() as f64 / events as f64,
        gzip_cpu.as_nanos() as f64 / events as f64,
    );
    // Mapping the answers and encoding their objects, without the fetch, the landing and the state writes: the part
    // of the drain's CPU that the record code decides, apart from what HTTP, the SDK and the runtime add.
    let ns_per_event = |time: Duration| time.as_nanos() as f64 / events as f64;
    println!(
        "map + encode alone (wall, one thread): {:.0} ns/event = map {:.0} + encode {:.0} (gzip included)",
        ns_per_event(map_time + encode_time),
        ns_per_event(map_time),
        ns_per_event(encode_time),
    );
    let per_event = |bytes: usize| bytes as f64 / events as f64;
    println!(
        "bytes per event: landed {:.0} raw / {:.1} gzip; the vendor's own {:.0} raw / {:.1} gzip (level {})",
        per_event(ndjson_bytes),
        report.bytes as f64 / events as f64,
        per_event(vendor_bytes),
        per_event(vendor_gzip),
        common.gzip_level,
    );
    println!(
        "drain / gzip floor: {:.1}x wall",
        figures.wall.as_secs_f64() / gzip_time.as_secs_f64()
    );

    gzip_levels(&sample);
    id_share(&sample, common.gzip_level);
    guard_costs(&guards, figures.cpu, events).await;

    // Give the shared local stack its memory back.
    stack.break_bucket().await;
}

/// The guards of the destructive read, each timed alone (`ROUNDS` times, the same requests the run makes), as
/// CPU per event next to the drain's own: the pre-flight write and the first in-flight mark, once per run each;
/// and per batch, what carrying the next mark costs the checkpoint write (one attribute more, no request more).
async fn guard_costs(
    services: &tributary_shared::services::Services,
    drain_cpu: Duration,
    events: u64,
) {
    const ROUNDS: u32 = 200;
    let cpu_of =
        |started: Duration| tributary_testkit::process::cpu_time().saturating_sub(started) / ROUNDS;
    let lander = services.lander(transmit_poller::COLLECTOR);
    let started = tributary_testkit::process::cpu_time();
    for _ in 0..ROUNDS {
        lander
            .probe("transmit", "cis")
            .await
            .expect("the probe lands");
    }
    let probe = cpu_of(started);

    let lease = services
        .state
        .acquire("bench/guards", "bench", Duration::from_secs(600))
        .await
        .expect("the state table answers");
    let tributary_shared::state::LeaseOutcome::Acquired(mut lease) = lease else {
        panic!("the bench stream is free");
    };
    let state = &services.state;
    let mark = || {
        format!(
            "{}|{BATCH}",
            tributary_shared::record::rfc3339(chrono::Utc::now())
        )
    };
    let mut timed = async |keys: &[&str]| {
        let started = tributary_testkit::process::cpu_time();
        for _ in 0..ROUNDS {
            let values: Vec<String> = keys.iter().map(|_| mark()).collect();
            let pairs: Vec<(&str, &str)> = keys
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            state
                .set_meta(&mut lease, &pairs)
                .await
                .expect("the write lands");
        }
        cpu_of(started)
    };
    let own_mark = timed(&["collect_in_flight"]).await;
    let without = timed(&["progress"]).await;
    let with = timed(&["progress", "collect_in_flight"]).await;

    let per_event = drain_cpu.as_nanos() as f64 / events as f64;
    let ns = |d: Duration| d.as_nanos() as f64;
    let per_run = (ns(probe) + ns(own_mark)) / events as f64;
    let per_batch = (ns(with) - ns(without)).max(0.0) / f64::from(BATCH);
    println!(
        "guards: once per run, pre-flight write {:.0} us + first mark {:.0} us cpu ({per_run:.1} ns/event over this \
         drain); per batch, the mark in the checkpoint write {:.0} us cpu ({per_batch:.2} ns/event at batch {BATCH}; \
         the write itself {:.0} us); together {:.2}% of the drain's {per_event:.0} ns/event",
        probe.as_secs_f64() * 1e6,
        own_mark.as_secs_f64() * 1e6,
        (ns(with) - ns(without)).max(0.0) / 1e3,
        without.as_secs_f64() * 1e6,
        100.0 * (per_run + per_batch) / per_event,
    );
}

/// What `event.id` costs in gzip bytes per event: the same landed lines with and without it. Transmit sends no
/// event id, so the id is a digest of the event (128 bits), which no compressor can shorten: the part of the
/// landed bytes beyond the vendor's own that the record shape cannot remove.
fn id_share(batches: &[Vec<u8>], level: u32) {
    // The record writer puts `event.id` first in `event`, and a digest is hex: `"id":"…",` ends at the first quote
    // after the id's opening one, before `"kind"`.
    const EVENT: &[u8] = b"\"event\":{";
    const ID: &[u8] = b"\"id\":\"";
    let without_id = |line: &[u8], out: &mut Vec<u8>| {
        let id_at = memchr::memmem::find(line, EVENT).map(|at| at + EVENT.len());
        let id = id_at
            .filter(|at| line[*at..].starts_with(ID))
            .and_then(|at| {
                let close = line[at + ID.len()..].iter().position(|b| *b == b'"')?;
                Some((at, at + ID.len() + close + 2))
            });
        match id {
            Some((start, end)) => {
                out.extend_from_slice(&line[..start]);
                out.extend_from_slice(&line[end..]);
            }
            None => out.extend_from_slice(line),
        }
    };
    let events = line_count(batches) as f64;
    println!(
        "event.id over {events} landed events (level {level}): {:.1} gzip B/event with it, {:.1} without",
        gzip_bytes(batches, level, |line, out| out.extend_from_slice(line)) as f64 / events,
        gzip_bytes(batches, level, without_id) as f64 / events,
    );
}

fn lines(batch: &[u8]) -> impl Iterator<Item = &[u8]> {
    batch.split(|b| *b == b'\n').filter(|l| !l.is_empty())
}

fn line_count(batches: &[Vec<u8>]) -> usize {
    batches.iter().map(|batch| lines(batch).count()).sum()
}

/// The gzip bytes of `batches` of landed lines, each batch one object at `level`, each line as `write` writes it.
fn gzip_bytes(batches: &[Vec<u8>], level: u32, write: impl Fn(&[u8], &mut Vec<u8>)) -> usize {
    batches
        .iter()
        .map(|batch| {
            let mut gz = GzipNdjson::new(level);
            for line in lines(batch) {
                gz.push_with(|out| write(line, out));
            }
            gz.finish().len()
        })
        .sum()
}

/// Bytes and time per event of each gzip level over the same landed lines: the figures behind the default level.
fn gzip_levels(batches: &[Vec<u8>]) {
    // The fastest of a few rounds on this one thread: a level takes well under a second here, too short for the
    // process CPU clock's ticks, and the fastest round is the one least disturbed by the rest of the machine.
    const ROUNDS: usize = 5;
    let events = line_count(batches) as f64;
    let mut row = Vec::new();
    for level in [1, 3, 4, 5, 6, 7, 9] {
        let mut bytes = 0;
        let mut fastest = Duration::MAX;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            bytes = gzip_bytes(batches, level, |line, out| out.extend_from_slice(line));
            fastest = fastest.min(started.elapsed());
        }
        row.push(format!(
            "{level}: {:.1} B {:.0} ns",
            bytes as f64 / events,
            fastest.as_nanos() as f64 / events
        ));
    }
    println!(
        "gzip levels over {events} landed events (gzip bytes, and time per event on one thread, fastest of \
         {ROUNDS}): {}",
        row.join(" | ")
    );
}
