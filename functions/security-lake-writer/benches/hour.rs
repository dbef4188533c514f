//! Rewrites one event hour of 200,000 Transmit `cis` events (or `TRIBUTARY_BENCH_EVENTS`), landed as the poller
//! lands them (its own mapping, 1000-event objects, gzip NDJSON in the record shape `TRIBUTARY_RECORD_SHAPE` names,
//! lean by default), as OCSF Parquet into a Security Lake bucket on the local S3, through the writer's real rebuild:
//! list, read, map, de-duplicate, sort, encode, write, list again.
//! Prints the writer's CPU µs per event, events/s and the process's peak RSS, then the Parquet bytes per event next
//! to the NDJSON gzip bytes per event of the same hour, and the CPU of the Parquet encoding alone.
//!
//! Needs the local stack (`scripts/local-stack.sh start`). Run: `cargo bench -p security-lake-writer --bench hour`.

use std::time::Instant;

use security_lake_writer::config::WriterConfig;
use security_lake_writer::hour::Hour;
use security_lake_writer::lake::Lake;
use security_lake_writer::ocsf::{map, Class};
use security_lake_writer::parquet_file;
use security_lake_writer::rebuild::Rebuilder;
use transmit_poller::mapping::{map_body, Origin};
use transmit_poller::EventType;
use tributary_shared::ndjson::GzipNdjson;
use tributary_shared::record::LineStamp;
use tributary_simulators::transmit::{self as sim, GenSpec};
use tributary_testkit::process::Measure;
use tributary_testkit::Stack;

const BATCH: u64 = 1000;

#[tokio::main]
async fn main() {
    tributary_testkit::process::as_deployed();
    let events: u64 = std::env::var("TRIBUTARY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut reader = tributary_shared::config::Reader::from_env();
    let shape = tributary_shared::config::common::record_shape(&mut reader);
    // The whole backlog inside one hour.
    let spacing_ms = (3_600_000 / events).max(1);
    let spec = GenSpec::new(sim::EventType::Cis, events)
        .start("2026-11-20T00:00:00Z".parse().expect("a valid time"))
        .interval_ms(spacing_ms)
        .seed(1);

    let stack = Stack::new("lake-bench").await;
    let lake_bucket = stack.bucket_beside("lake").await;
    let hour = Hour::of_key(
        &stack.prefix,
        &format!(
            "{}/vendor=transmit/event_type=cis/dt=2026-11-20/hour=00/",
            stack.prefix
        ),
    )
    .expect("a landing partition");

    // Land the hour as the poller would: its mapping, one gzip NDJSON object per batch.
    let stamp = LineStamp::now(shape);
    let (mut ndjson_gzip, mut ndjson_raw, mut vendor_bytes) = (0usize, 0usize, 0usize);
    let mut body = Vec::with_capacity(1 << 20);
    let mut first = 0;
    while first < events {
        let last = (first + BATCH).min(events);
        body.clear();
        spec.write_batch(first..last, false, &mut body);
        vendor_bytes += body.len();
        let origin = Origin {
            event_type: EventType::Cis,
            stream_id: "tributary",
            run: "bench",
            batch: first / BATCH + 1,
        };
        let mut gz = GzipNdjson::new(6);
        for record in map_body(&body, &origin).records {
            gz.push_with(|out| record.to_line(out, &stamp));
        }
        ndjson_raw += gz.uncompressed_bytes();
        let object = gz.finish();
        ndjson_gzip += object.len();
        stack
            .put(
                &format!(
                    "{}batch-{:06}.ndjson.gz",
                    hour.landing_prefix(&stack.prefix),
                    first / BATCH
                ),
                object,
            )
            .await;
        first = last;
    }

    let config = WriterConfig::new(
        &stack.bucket,
        &stack.prefix,
        lake_bucket,
        "us-east-1",
        "123456789012",
    );
    let lake = Lake::new(&stack.sdk, &config).await;
    let rebuilder = Rebuilder {
        landing: &stack.s3,
        landing_bucket: &stack.bucket,
        prefix: &stack.prefix,
        lake: &lake,
        row_group_rows: config.row_group_rows,
        deadline: None,
    };
    let measure = Measure::start();
    let report = rebuilder.rebuild(&hour).await.expect("the hour is written");
    let figures = measure.finish();
    assert_eq!(report.rows as u64, events, "{report:?}");
    println!();
    figures.print(
        &format!(
            "security lake writer ({} records in, {} objects, {} files out)",
            shape.as_str(),
            report.inputs,
            report.files_written
        ),
        events,
        "events",
    );
    println!("  rows per class: {:?}", report.rows_per_class);
    let per = |bytes: usize| bytes as f64 / events as f64;
    println!(
        "  parquet: {} bytes = {:.1} bytes/event (ZSTD, {} row groups of at most {})",
        report.parquet_bytes,
        per(report.parquet_bytes),
        events.div_ceil(config.row_group_rows as u64),
        config.row_group_rows
    );
    println!(
        "  the same hour as landed NDJSON: {:.1} gzip bytes/event ({:.0} raw); the vendor's own JSON: {:.0} raw bytes/event",
        per(ndjson_gzip),
        per(ndjson_raw),
        per(vendor_bytes)
    );

    // The encoding alone, on the rows the rebuild made (mapped again here, outside the measurement).
    let prefix = hour.landing_prefix(&stack.prefix);
    let inputs = security_lake_writer::inputs::list(&stack.s3, &stack.bucket, &prefix)
        .await
        .expect("list");
    let mut landed = Vec::new();
    for input in &inputs {
        let object = security_lake_writer::inputs::read_one(&stack.s3, &stack.bucket, input);
        landed.push(object.await.expect("read"));
    }
    let map_started = tributary_testkit::process::cpu_time();
    let mut rows: Vec<_> = landed
        .iter()
        .flat_map(|o| o.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()))
        .map(|line| map::row(line, hour.start_millis()))
        .collect();
    let map_cpu = tributary_testkit::process::cpu_time().saturating_sub(map_started);
    let row_bytes: usize = rows.iter().map(|r| r.json.len() + r.uid.len()).sum();
    println!(
        "  rows as JSON, as an hour holds them until they are columns: {:.0} bytes/event ({:.0} MiB; process RSS now {:.0} MiB)",
        row_bytes as f64 / events as f64,
        row_bytes as f64 / (1024.0 * 1024.0),
        tributary_testkit::process::rss_kib() as f64 / 1024.0
    );
    rows.sort_by(|a, b| (a.class, a.time, &a.uid).cmp(&(b.class, b.time, &b.uid)));
    let started = Instant::now();
    let cpu = tributary_testkit::process::cpu_time();
    let mut bytes = 0;
    for class in Class::ALL {
        let of_class: Vec<_> = rows.iter().filter(|r| r.class == *class).collect();
        if !of_class.is_empty() {
            bytes += parquet_file::write(*class, &of_class, config.row_group_rows)
                .expect("encode")
                .len();
        }
    }
    let encode_cpu = tributary_testkit::process::cpu_time().saturating_sub(cpu);
    assert_eq!(
        bytes, report.parquet_bytes,
        "the same rows encode to the same bytes"
    );
    println!(
        "  of which: parse + map {:.1} µs/event, Arrow + Parquet encoding {:.1} µs/event ({:.2} s wall)",
        map_cpu.as_secs_f64() * 1e6 / events as f64,
        encode_cpu.as_secs_f64() * 1e6 / events as f64,
        started.elapsed().as_secs_f64()
    );
}
