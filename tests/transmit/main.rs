//! transmit-poller end to end: the real handler against the Transmit simulator over HTTP and
//! the local AWS stack (S3, DynamoDB, Secrets Manager).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use transmit_poller::{
    CollectDetail, EventType, Outcome, Poller, RunContext, TransmitConfig, COLLECTOR,
};
use tributary_shared::record::lean::original_of;
use tributary_shared::run::{RunFailure, RunReport};
use tributary_shared::schedule::Invocation;
use tributary_simulators::transmit::{self as sim, GenSpec, Target, TransmitSim};
use tributary_testkit::lambda_api::Answer;
use tributary_testkit::{assert_no_duplicates, Stack};

const STREAM: &str = "tributary";

struct Fixture {
    stack: Stack,
    sim: TransmitSim,
    poller: Poller,
}

impl Fixture {
    async fn new(test: &str) -> Fixture {
        Fixture::with(test, |_| {}).await
    }

    async fn with(test: &str, adjust: impl FnOnce(&mut TransmitConfig)) -> Fixture {
        let stack = Stack::new(test).await;
        let sim = sim::spawn(sim::Config::default()).await;
        let config = sim.config();
        let secret = stack
            .put_secret(
                "transmit",
                &json!({"client_id": config.client_id, "client_secret": config.client_secret})
                    .to_string(),
            )
            .await;
        let mut config = TransmitConfig::new(sim.api_url(), secret);
        config.round_trip_floor = Duration::from_millis(50);
        adjust(&mut config);
        let poller = Poller::new(stack.services(), config);
        Fixture { stack, sim, poller }
    }

    /// Another container of the same function: its own clients and token cache.
    fn second_poller(&self) -> Poller {
        Poller::new(self.stack.services(), self.poller.config.clone())
    }

    async fn collect(&self, t: EventType) -> Result<RunReport<CollectDetail>, RunFailure> {
        self.poller
            .collect(
                t,
                &RunContext::with_budget(COLLECTOR, Duration::from_secs(60)),
            )
            .await
    }

    async fn state(&self, t: EventType) -> tributary_shared::state::StreamState {
        self.stack
            .state()
            .load(&t.state_key())
            .await
            .unwrap()
            .expect("the run wrote state")
    }
}

/// A Lambda invocation with `budget` until its deadline.
fn invocation(payload: Value, budget: Duration) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.request_id = format!("req-{}", tributary_testkit::unique_name("invocation"));
    context.deadline = (chrono::Utc::now().timestamp_millis() as u64) + budget.as_millis() as u64;
    LambdaEvent::new(payload, context)
}

fn spec(t: sim::EventType, count: u64, seed: u64) -> GenSpec {
    GenSpec::new(t, count)
        .start("2026-11-20T09:40:00Z".parse().unwrap())
        .interval_ms(5_000)
        .seed(seed)
}

/// The generated events, as the vendor sent them, canonicalized for comparison.
fn expected(spec: &GenSpec) -> BTreeSet<String> {
    (0..spec.count)
        .filter(|i| !spec.is_malformed(*i))
        .map(|i| spec.event(i, false).to_string())
        .collect()
}

fn originals(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| original_of(r).expect("a record line").to_string())
        .collect()
}

/// Batches the run reported as possibly lost (its `degraded` losses).
fn possibly_lost(report: &RunReport<CollectDetail>) -> u64 {
    report
        .losses
        .iter()
        .filter(|l| l.kind == "possibly_lost_batches")
        .map(|l| l.count)
        .sum()
}

#[tokio::test]
async fn full_records_keep_each_original_byte_for_byte_with_its_run_and_batch() {
    let stack = Stack::new("transmit-full-shape").await;
    let sim = sim::spawn(sim::Config::default()).await;
    let secret = stack
        .put_secret(
            "transmit",
            &json!({"client_id": sim.config().client_id, "client_secret": sim.config().client_secret})
                .to_string(),
        )
        .await;
    let mut config = TransmitConfig::new(sim.api_url(), secret);
    config.batch_size = 100;
    let mut services = stack.services();
    services.config.record_shape = tributary_shared::record::Shape::Full;
    let poller = Poller::new(services, config);
    let backlog = spec(sim::EventType::Cis, 250, 21);
    sim.seed(backlog.clone());
    poller
        .collect(
            EventType::Cis,
            &RunContext::with_budget(COLLECTOR, Duration::from_secs(60)),
        )
        .await
        .unwrap();

    let mut texts = Vec::new();
    for key in stack.keys().await {
        assert_eq!(stack.metadata(&key).await["shape"], "full");
        let body = stack.object(&key).await;
        let mut lines = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut lines)
            .unwrap();
        texts.push(lines);
    }
    let landed = texts.concat();
    // Each event as the simulator sent it, byte for byte, under `transmit`.
    for index in 0..250 {
        let mut event = Vec::new();
        backlog.write_event(index, false, &mut event);
        let event = String::from_utf8(event).unwrap();
        assert!(landed.contains(&format!("\"transmit\":{event}")), "{event}");
    }
    let records = stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 250);
    assert_eq!(originals(&records), expected(&backlog));
    for record in &records {
        assert!(record["related"]["user"].is_array() || record["user"].is_null());
        assert!(record["tributary"]["run"].is_string());
        assert!(record["tributary"]["batch"]
            .as_u64()
            .is_some_and(|b| (1..=3).contains(&b)));
    }
}

#[tokio::test]
async fn a_backlog_of_several_batches_lands_every_event_exactly_once() {
    let f = Fixture::with("transmit-backlog", |c| c.batch_size = 500).await;
    let backlog = spec(sim::EventType::Cis, 2_350, 1);
    f.sim.seed(backlog.clone());

    let result = f
        .poller
        .handle(invocation(json!({"type": "cis"}), Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(result["outcome"], "drained");
    assert_eq!(result["setup"], "done");
    assert_eq!(result["batches"], 5);
    assert_eq!(result["events_landed"], 2_350);

    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 2_350);
    assert_eq!(originals(&records), expected(&backlog));
    assert!(f.stack.unparsed().await.is_empty());
    // Each record sits in the partition of its own hour (the backlog spans four hours).
    let keys = f.stack.keys().await;
    let hours: BTreeSet<&str> = keys.iter().map(|k| &k[..k.rfind('/').unwrap()]).collect();
    assert_eq!(hours.len(), 4, "{hours:?}");
    for key in &keys {
        assert!(key.starts_with("tributary/vendor=transmit/event_type=cis/dt=2026-11-20/hour="));
        assert!(key.ends_with(".ndjson.gz") && !key.contains(':'));
        for line in f.stack.lines(key).await {
            let record: Value = serde_json::from_str(&line).unwrap();
            let hour = &record["@timestamp"].as_str().unwrap()[11..13];
            assert!(
                key.contains(&format!("/hour={hour}/")),
                "{key} holds {record}"
            );
        }
    }
    assert_eq!(f.sim.pending(sim::EventType::Cis, STREAM), Some(0));

    let state = f.state(EventType::Cis).await;
    assert_eq!(state.events_landed_total, 2_350);
    assert_eq!(state.last_run_outcome.as_deref(), Some("drained"));
    assert_eq!(state.last_run_events, Some(2_350));
    assert_eq!(
        state.newest_event_time.as_deref(),
        Some("2026-11-20T12:55:45.000Z")
    );
    assert_eq!(
        state.meta.get("setup_stream_id").map(String::as_str),
        Some(STREAM)
    );
    assert!(state.lease_owner.is_none(), "the lease is released");

    // The next run remembers the setup and finds nothing new.
    let again = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(again.detail.setup, Some("remembered"));
    assert_eq!(again.events_landed, 0);
    assert_eq!(f.sim.stats().start_collect_calls, 1);
    assert_eq!(f.stack.keys().await, keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_invocations_for_one_type_collect_once() {
    let f = Fixture::with("transmit-concurrent", |c| c.batch_size = 500).await;
    let backlog = spec(sim::EventType::Risk, 3_000, 2);
    f.sim.seed(backlog.clone());
    // Slow collects keep the first run busy while the second one starts.
    f.sim
        .slow(None, Duration::from_millis(100), Target::Collect);
    let other = f.second_poller();
    let (run_a, run_b) = (
        RunContext::with_budget(COLLECTOR, Duration::from_secs(60)),
        RunContext::with_budget(COLLECTOR, Duration::from_secs(60)),
    );
    // The second run starts while the first is mid-backlog (as an overlapping schedule tick would), not in the
    // same instant: the local stack does not make two simultaneous conditional writes atomic, DynamoDB does.
    let (a, b) = tokio::join!(f.poller.collect(EventType::Risk, &run_a), async {
        while f.sim.stats().collects == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        other.collect(EventType::Risk, &run_b).await
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut statuses = [a.outcome, b.outcome];
    statuses.sort_by_key(|s| s.as_str());
    assert_eq!(statuses, [Outcome::Busy, Outcome::Drained]);
    let (winner, loser) = if a.outcome == Outcome::Drained {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(winner.events_landed, 3_000);
    assert_eq!(loser.events_landed, 0);
    assert!(
        loser.held_by.is_some(),
        "the busy run says who holds the lease"
    );

    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 3_000);
    assert_eq!(originals(&records), expected(&backlog));
}

#[tokio::test]
async fn a_deadline_reached_mid_backlog_stops_cleanly_and_the_next_run_continues() {
    let f = Fixture::with("transmit-deadline", |c| c.batch_size = 500).await;
    let backlog = spec(sim::EventType::Verify, 5_000, 3);
    f.sim.seed(backlog.clone());
    f.sim
        .slow(None, Duration::from_millis(250), Target::Collect);

    let first = f
        .poller
        .collect(
            EventType::Verify,
            &RunContext::with_budget(COLLECTOR, Duration::from_secs(2)),
        )
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::OutOfTime);
    assert!(
        first.events_landed > 0 && first.events_landed < 5_000,
        "{first:?}"
    );
    // Stopping lost nothing: whatever was taken off the stream landed.
    let pending = f.sim.pending(sim::EventType::Verify, STREAM).unwrap();
    assert_eq!(first.events_landed + pending, 5_000);
    let state = f.state(EventType::Verify).await;
    assert_eq!(state.last_run_outcome.as_deref(), Some("out_of_time"));
    // The last checkpoint marked a next collect that was never asked; the finish cleared it, so the next run
    // reports no crash.
    assert_eq!(
        state.meta.get("collect_in_flight").map(String::as_str),
        Some("")
    );

    f.sim.clear_faults();
    let second = f.collect(EventType::Verify).await.unwrap();
    assert_eq!(second.outcome, Outcome::Drained);
    assert_eq!(possibly_lost(&second), 0);
    assert_eq!(second.events_landed, pending);
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 5_000);
    assert_eq!(originals(&records), expected(&backlog));
    assert_eq!(f.state(EventType::Verify).await.events_landed_total, 5_000);
}

#[tokio::test]
async fn throttling_and_a_token_expiring_mid_run_are_survived_without_counting_losses() {
    let f = Fixture::with("transmit-faults", |c| c.batch_size = 500).await;
    let backlog = spec(sim::EventType::Cis, 2_000, 4);
    f.sim.seed(backlog.clone());
    // Within one collect's four attempts: 429, 429, then through.
    f.sim.throttle(2, 1);
    // Setup takes two calls and the first collect a third; the token dies after those.
    f.sim.revoke_tokens_after(3);

    let started = Instant::now();
    let report = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!(report.events_landed, 2_000);
    let stats = f.sim.stats();
    assert_eq!(stats.throttled, 2);
    assert_eq!(stats.unauthorized, 1);
    assert_eq!(stats.tokens_issued, 2, "one token, then one replacement");
    assert_eq!(
        possibly_lost(&report),
        0,
        "Transmit refused the throttled and unauthorized attempts: nothing was handed out"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "each 429 waited its Retry-After of 1 s"
    );
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 2_000);
    assert_eq!(originals(&records), expected(&backlog));
}

#[tokio::test]
async fn token_endpoint_retries_inside_a_collect_are_not_counted_as_lost_batches() {
    let f = Fixture::with("transmit-token-retry", |c| c.batch_size = 500).await;
    // A first run sets the stream up and caches a token.
    assert_eq!(
        f.collect(EventType::Cis).await.unwrap().outcome,
        Outcome::Drained
    );
    let backlog = spec(sim::EventType::Cis, 1_200, 14);
    f.sim.seed(backlog.clone());
    // The next collect is refused with 401, and fetching a new token meets a 503 first.
    f.sim.revoke_tokens_after(0);
    f.sim.set_faults(sim::Faults {
        server_errors: Some(sim::ServerErrors {
            count: 1,
            status: 503,
            target: Target::Token,
        }),
        ..sim::Faults::default()
    });

    let report = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!(report.events_landed, 1_200);
    let stats = f.sim.stats();
    assert_eq!((stats.unauthorized, stats.server_errors), (1, 1));
    assert_eq!(possibly_lost(&report), 0, "{report:?}");
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 1_200);
    assert_eq!(originals(&records), expected(&backlog));
}

#[tokio::test]
async fn a_server_error_on_collect_is_not_retried_and_the_run_goes_on_with_smaller_batches() {
    let f = Fixture::with("transmit-collect-5xx", |c| c.batch_size = 500).await;
    let backlog = spec(sim::EventType::Risk, 1_300, 15);
    f.sim.seed(backlog.clone());
    f.sim.server_errors(1, 503);

    let report = f.collect(EventType::Risk).await.unwrap();
    assert_eq!(report.outcome, Outcome::Degraded, "{report:?}");
    assert_eq!(
        possibly_lost(&report),
        1,
        "the run reports the batch at risk"
    );
    let detail = &report.losses[0].detail;
    assert!(
        detail.contains("up to 500 events") && detail.contains("503"),
        "{detail}"
    );
    let stats = f.sim.stats();
    assert_eq!(stats.server_errors, 1);
    assert_eq!(
        stats.collects, 27,
        "the failed collect was not repeated; the rest came 50 at a time (26 batches and the empty answer)"
    );
    let state = f.state(EventType::Risk).await;
    assert_eq!(state.last_run_outcome.as_deref(), Some("degraded"));
    assert!(state.lease_owner.is_none());

    // This simulator answers 5xx before handing anything out, so nothing was lost after all.
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 1_300);
    assert_eq!(originals(&records), expected(&backlog));
    let next = f.collect(EventType::Risk).await.unwrap();
    assert_eq!(next.outcome, Outcome::Drained);
    assert_eq!(possibly_lost(&next), 0);
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_they_lapse() {
    let f = Fixture::with("transmit-token-life", |c| c.batch_size = 100).await;
    f.sim.set_token_lifetime(Duration::from_secs(1));
    f.sim.seed(spec(sim::EventType::Admin, 600, 5));
    let report = f.collect(EventType::Admin).await.unwrap();
    assert_eq!(report.events_landed, 600);
    assert_eq!(f.sim.stats().unauthorized, 0);
}

#[tokio::test]
async fn a_failing_collect_ends_in_a_loud_failure_after_landing_what_came_before() {
    let f = Fixture::with("transmit-exhausted", |c| c.batch_size = 500).await;
    f.sim.seed(spec(sim::EventType::Cis, 1_500, 6));
    // Collects wait a little before answering, so the switch below is on before the second one
    // is answered: the first batch comes through, every later collect fails.
    f.sim
        .slow(None, Duration::from_millis(300), Target::Collect);
    let flip = async {
        while f.sim.stats().events_served < 500 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        f.sim.server_errors(u32::MAX, 502);
    };
    let run = RunContext::with_budget(COLLECTOR, Duration::from_secs(60));
    let (result, ()) = tokio::join!(f.poller.collect(EventType::Cis, &run), flip);
    let error = result.unwrap_err().to_string();
    // collect is a destructive read: a 502 may follow a batch handed out, so it is not repeated.
    assert!(
        error.contains("502") && error.contains("not retried"),
        "{error}"
    );
    // The first 502 shrinks the batch size, the second ends the run.
    assert_eq!(f.sim.stats().server_errors, 2);
    assert_eq!(f.stack.records().await.len(), 500);
    let state = f.state(EventType::Cis).await;
    assert_eq!(state.last_run_outcome.as_deref(), Some("failed"));
    assert!(state
        .last_run_error
        .unwrap()
        .contains("may have handed out"));
    assert!(
        state.lease_owner.is_none(),
        "a failed run releases its lease"
    );
    assert_eq!(state.events_landed_total, 500);
}

#[tokio::test]
async fn a_malformed_event_lands_in_unparsed_and_the_rest_land_normally() {
    let f = Fixture::with("transmit-malformed-event", |c| c.batch_size = 250).await;
    let backlog = spec(sim::EventType::Cis, 1_000, 7).malformed_every(100);
    f.sim.seed(backlog.clone());

    let report = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(report.events_landed, 991);
    assert_eq!(report.unparsed, 9);
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 991);
    assert_eq!(originals(&records), expected(&backlog));
    let unparsed = f.stack.unparsed().await;
    assert_eq!(unparsed.len(), 9);
    let raws: BTreeSet<String> = unparsed
        .iter()
        .map(|u| u["event"]["original"].as_str().unwrap().to_owned())
        .collect();
    let planted: BTreeSet<String> = (1..10)
        .map(|n| backlog.event(n * 100, false).to_string())
        .collect();
    let reparsed: BTreeSet<String> = raws
        .iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap().to_string())
        .collect();
    assert_eq!(reparsed, planted);
    for u in &unparsed {
        assert!(!u["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(u["tributary"]["event_type"], "cis");
    }
}

#[tokio::test]
async fn a_malformed_or_cut_off_answer_lands_whole_in_unparsed_and_collection_goes_on() {
    let f = Fixture::with("transmit-malformed-body", |c| c.batch_size = 500).await;
    f.sim.seed(spec(sim::EventType::Risk, 1_500, 8));
    f.sim.malformed_bodies(1);
    let report = f.collect(EventType::Risk).await.unwrap();
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!(report.events_landed, 1_000);
    assert_eq!(report.unparsed, 1);
    let unparsed = f.stack.unparsed().await;
    assert!(unparsed[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a JSON array"));
    assert!(unparsed[0]["event"]["original"]
        .as_str()
        .unwrap()
        .starts_with("[{\"activity\":\"risk_recommendation\""));

    f.sim.seed(spec(sim::EventType::Risk, 1_000, 9));
    f.sim.truncated_bodies(1);
    let report = f.collect(EventType::Risk).await.unwrap();
    assert_eq!(report.detail.cut_answers, 1);
    assert_eq!(
        report.outcome,
        Outcome::Degraded,
        "events beyond the fragment are lost"
    );
    assert_eq!(possibly_lost(&report), 1);
    assert_eq!(report.events_landed, 500);
    let unparsed = f.stack.unparsed().await;
    assert_eq!(unparsed.len(), 2);
    assert!(unparsed.iter().any(|u| u["error"]["message"]
        .as_str()
        .unwrap()
        .contains("broke off")));
    // The first run took four collects (one malformed, two batches, the empty answer); the rest of the second
    // came in batches of a tenth after its cut answer.
    assert_eq!(f.sim.stats().collects, 4 + 1 + 10 + 1);

    // A connection that keeps breaking: the second cut answer of a run ends it, both fragments kept and counted.
    f.sim.seed(spec(sim::EventType::Risk, 1_000, 10));
    f.sim.truncated_bodies(2);
    let failure = f.collect(EventType::Risk).await.unwrap_err();
    assert!(
        failure.to_string().contains("second collect answer"),
        "{failure}"
    );
    assert_eq!(
        failure.report["losses"][0]["count"], 2,
        "{}",
        failure.report
    );
    assert_eq!(f.stack.unparsed().await.len(), 4);
    let next = f.collect(EventType::Risk).await.unwrap();
    assert_eq!(next.outcome, Outcome::Drained);
    assert_eq!(next.events_landed, 1_000 - 500 - 50);
}

#[tokio::test]
async fn a_missing_bucket_collects_nothing_so_two_failed_runs_lose_nothing() {
    let f = Fixture::with("transmit-no-bucket", |c| c.batch_size = 400).await;
    let backlog = spec(sim::EventType::Admin, 1_000, 10);
    f.sim.seed(backlog.clone());
    f.stack.break_bucket().await;

    for _ in 0..2 {
        let error = f
            .poller
            .handle(invocation(
                json!({"type": "admin"}),
                Duration::from_secs(60),
            ))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("landing path is broken"), "{error}");
        assert!(error.contains("nothing was lost"), "{error}");
        // The landing path was proven before the destructive read: Transmit still holds every event.
        assert_eq!(f.sim.stats().collects, 0);
        assert_eq!(f.sim.pending(sim::EventType::Admin, STREAM), Some(1_000));
        let state = f.state(EventType::Admin).await;
        assert_eq!(state.last_run_outcome.as_deref(), Some("failed"));
    }

    f.stack.repair_bucket().await;
    let report = f.collect(EventType::Admin).await.unwrap();
    assert_eq!(report.outcome, Outcome::Drained);
    assert_eq!(report.events_landed, 1_000);
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 1_000);
    assert_eq!(originals(&records), expected(&backlog));
}

#[tokio::test]
async fn a_batch_s3_refuses_mid_backlog_is_kept_and_landed_first_by_the_next_run() {
    let f = Fixture::with("transmit-s3-mid", |c| c.batch_size = 500).await;
    let backlog = spec(sim::EventType::Cis, 1_500, 12);
    f.sim.seed(backlog.clone());
    // Slow collects, so S3 can break while the second batch is on its way.
    f.sim
        .slow(None, Duration::from_millis(400), Target::Collect);
    let break_after_first_landing = async {
        while f.stack.keys().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // What landed before S3 broke (the test's way of breaking S3 deletes the bucket with it).
        let before = f.stack.records().await;
        f.stack.break_bucket().await;
        before
    };
    let run = RunContext::with_budget(COLLECTOR, Duration::from_secs(60));
    let (result, landed_before) = tokio::join!(
        f.poller.collect(EventType::Cis, &run),
        break_after_first_landing
    );
    assert_eq!(landed_before.len(), 500);
    let failure = result.unwrap_err();
    assert!(
        failure.error.contains("kept in the state table"),
        "{failure}"
    );
    assert!(
        failure.report["losses"].is_null(),
        "nothing is at risk: {}",
        failure.report
    );
    let state = f.state(EventType::Cis).await;
    assert_eq!(state.last_run_outcome.as_deref(), Some("failed"));
    assert_eq!(
        state.meta["parked_batches"].split(',').count(),
        1,
        "{:?}",
        state.meta
    );
    assert_eq!(
        state.meta.get("collect_in_flight").map(String::as_str),
        Some("")
    );
    assert_eq!(f.sim.pending(sim::EventType::Cis, STREAM), Some(500));

    f.stack.repair_bucket().await;
    f.sim.clear_faults();
    let report = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(report.outcome, Outcome::Drained, "{report:?}");
    assert_eq!(report.detail.parked_landed, 1);
    assert_eq!(report.events_landed, 1_000, "the kept batch, then the rest");
    assert_eq!(f.state(EventType::Cis).await.meta["parked_batches"], "");
    let mut records = landed_before;
    records.extend(f.stack.records().await);
    assert_eq!(assert_no_duplicates(&records), 1_500);
    assert_eq!(originals(&records), expected(&backlog));
}

/// A kept batch's unparsed events are filed under `_unparsed` by the hour they land in. When a landing of it wrote
/// them and the batch was kept anyway (S3 refused another part of it, or the run died before the kept copy was
/// cleared), the next run lands it again: in the next hour that must not leave a second copy.
#[tokio::test]
async fn a_kept_batch_landed_again_in_the_next_hour_keeps_its_unparsed_events_once() {
    let f = Fixture::with("transmit-s3-kept-unparsed", |c| c.batch_size = 500).await;
    // Five malformed elements in the second batch (every hundredth, from 500).
    f.sim
        .seed(spec(sim::EventType::Cis, 1_000, 14).malformed_every(100));
    f.sim
        .slow(None, Duration::from_millis(400), Target::Collect);
    let break_after_first_landing = async {
        while f.stack.keys().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        f.stack.break_bucket().await;
    };
    let run = RunContext::with_budget(COLLECTOR, Duration::from_secs(60));
    let (result, ()) = tokio::join!(
        f.poller.collect(EventType::Cis, &run),
        break_after_first_landing
    );
    assert!(result
        .unwrap_err()
        .error
        .contains("kept in the state table"));
    // The state as the failed run left it, the kept batch in it.
    let kept = f
        .stack
        .dynamodb
        .scan()
        .table_name(&f.stack.table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();

    f.stack.repair_bucket().await;
    f.sim.clear_faults();
    let report = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(report.detail.parked_landed, 1);
    assert_eq!(f.stack.unparsed().await.len(), 5);

    // As if that run had died before clearing the kept copy, an hour ago: the next run lands it again.
    assert_eq!(f.stack.shift_unparsed_hours(-1).await, 1);
    for item in kept {
        f.stack
            .dynamodb
            .put_item()
            .table_name(&f.stack.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let again = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(again.detail.parked_landed, 1, "{again:?}");
    assert_eq!(again.events_landed, 495);
    let unparsed = f.stack.unparsed().await;
    assert_eq!(unparsed.len(), 5, "each once: {unparsed:?}");
    assert_eq!(assert_no_duplicates(&f.stack.records().await), 495);
}

#[tokio::test]
async fn a_vendor_always_slower_than_the_collect_timeout_costs_one_batch_and_a_tenth_and_counts_both(
) {
    let f = Fixture::with("transmit-slow", |c| {
        c.batch_size = 300;
        c.collect_timeout = Duration::from_secs(1);
    })
    .await;
    f.sim.seed(spec(sim::EventType::Risk, 1_200, 13));
    f.sim
        .slow(None, Duration::from_millis(2_500), Target::Collect);

    let failure = f.collect(EventType::Risk).await.unwrap_err();
    // The sim counts a collect once it answers; these were given up on before, and neither was asked again.
    assert_eq!(f.sim.stats().collects, 0);
    assert_eq!(
        f.sim.stats().delayed,
        2,
        "one full collect, one shrunk, then stop"
    );
    let losses = &failure.report["losses"];
    assert_eq!(losses[0]["kind"], "possibly_lost_batches", "{losses}");
    assert_eq!(losses[0]["count"], 2);
    let detail = losses[0]["detail"].as_str().unwrap();
    assert!(detail.contains("up to 300 events"), "{losses}");
    assert!(detail.contains("up to 30 events"), "{losses}");
    // Reported once: the next run does not count the same collects again, and collects full batches again.
    f.sim.clear_faults();
    let next = f.collect(EventType::Risk).await.unwrap();
    assert_eq!(possibly_lost(&next), 0, "{next:?}");
    assert_eq!(next.events_landed, 1_200);
    assert_eq!(
        f.sim.stats().collects,
        5,
        "four batches of 300 and the empty answer"
    );
}

#[tokio::test]
async fn after_one_slow_collect_the_run_goes_on_with_a_tenth_of_the_batch_size() {
    let f = Fixture::with("transmit-shrink", |c| {
        c.batch_size = 300;
        c.collect_timeout = Duration::from_secs(1);
    })
    .await;
    f.sim.seed(spec(sim::EventType::Admin, 600, 19));
    // Only the first collect is slow: the vendor recovers.
    f.sim
        .slow(Some(1), Duration::from_millis(2_500), Target::Collect);

    let report = f.collect(EventType::Admin).await.unwrap();
    assert_eq!(report.outcome, Outcome::Degraded, "{report:?}");
    assert_eq!(possibly_lost(&report), 1);
    assert!(
        report.losses[0].detail.contains("up to 300 events"),
        "{report:?}"
    );
    // The slow collect was never answered (this sim keeps its batch); the rest came 30 at a time.
    assert_eq!(report.events_landed, 600);
    assert_eq!(
        f.sim.stats().collects,
        21,
        "20 batches of 30 and the empty answer"
    );
    assert_eq!(assert_no_duplicates(&f.stack.records().await), 600);
}

#[tokio::test]
async fn tokens_of_ten_seconds_are_fetched_about_every_eight_seconds_not_per_call() {
    let f = Fixture::with("transmit-token-10s", |c| c.batch_size = 25).await;
    f.sim.set_token_lifetime(Duration::from_secs(10));
    f.sim.seed(spec(sim::EventType::Admin, 2_000, 16));
    f.sim
        .slow(None, Duration::from_millis(200), Target::Collect);
    let started = Instant::now();
    let report = f.collect(EventType::Admin).await.unwrap();
    let took = started.elapsed();
    assert_eq!(report.events_landed, 2_000);
    let calls = f.sim.stats().collects;
    let tokens = f.sim.stats().tokens_issued;
    // One token per 8 s of running (the refresh margin is a fifth of the lifetime), not one per call.
    let expected = took.as_secs_f64() / 8.0;
    assert!(
        (tokens as f64) <= expected.ceil() + 1.0 && tokens < calls / 4,
        "{tokens} tokens for {calls} collects in {took:?}"
    );
    assert_eq!(f.sim.stats().unauthorized, 0);
}

#[tokio::test]
async fn a_run_killed_with_a_collect_in_flight_is_reported_by_the_next_run() {
    let f = Fixture::with("transmit-killed", |c| c.batch_size = 200).await;
    f.sim.seed(spec(sim::EventType::Verify, 2_000, 17));
    f.sim
        .slow(None, Duration::from_millis(1_500), Target::Collect);
    let mut child = f
        .stack
        .command(env!("CARGO_BIN_EXE_transmit-poller"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/transmit-verify.json"
        ))
        .env("TRIBUTARY_LEASE_SECONDS", "3")
        .env("TRIBUTARY_TRANSMIT_BASE_URL", f.sim.api_url())
        .env("TRIBUTARY_TRANSMIT_TOKEN_URL", f.sim.token_url())
        .env("TRIBUTARY_TRANSMIT_SECRET_ID", &f.poller.config.secret_id)
        .env("TRIBUTARY_TRANSMIT_BATCH_SIZE", "200")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the poller");
    // Kill it while a collect is in flight: after the first batch landed and the next collect was asked for.
    let waiting = Instant::now();
    loop {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "no collect in flight seen"
        );
        let state = f
            .stack
            .state()
            .load(&EventType::Verify.state_key())
            .await
            .unwrap();
        let in_flight = state
            .as_ref()
            .and_then(|s| s.meta.get("collect_in_flight"))
            .is_some_and(|m| !m.is_empty());
        if in_flight && state.is_some_and(|s| s.events_landed_total > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL the poller");
    child.wait().unwrap();

    tokio::time::sleep(Duration::from_millis(3_500)).await; // the killed run's lease lapses
    f.sim.clear_faults();
    let report = f.collect(EventType::Verify).await.unwrap();
    assert_eq!(report.outcome, Outcome::Degraded, "{report:?}");
    assert_eq!(possibly_lost(&report), 1);
    assert!(
        report.losses[0].detail.contains("up to 200 events")
            && report.losses[0].detail.contains("died"),
        "{:?}",
        report.losses
    );
    let state = f.state(EventType::Verify).await;
    assert_eq!(state.last_run_outcome.as_deref(), Some("degraded"));
    assert!(state
        .last_run_losses
        .unwrap()
        .contains("possibly_lost_batches"));
}

/// The binary as Lambda runs it (its own runtime, one thread, serving invocations from the Runtime API): each
/// invocation is answered, the first lands the backlog, the second (the same warm environment) finds nothing new.
#[tokio::test]
async fn under_the_lambda_runtime_the_binary_answers_each_invocation_and_lands_every_event_once() {
    let f = Fixture::with("transmit-lambda", |c| c.batch_size = 400).await;
    let backlog = spec(sim::EventType::Cis, 1_000, 41);
    f.sim.seed(backlog.clone());
    let mut api = tributary_testkit::lambda_api::LambdaRuntimeApi::start(
        vec![json!({"type": "cis"}), json!({"type": "cis"})],
        Duration::from_secs(60),
    )
    .await;
    let mut child = f
        .stack
        .command(env!("CARGO_BIN_EXE_transmit-poller"))
        .envs(api.environment("transmit-poller"))
        .env("TRIBUTARY_TRANSMIT_BASE_URL", f.sim.api_url())
        .env("TRIBUTARY_TRANSMIT_TOKEN_URL", f.sim.token_url())
        .env("TRIBUTARY_TRANSMIT_SECRET_ID", &f.poller.config.secret_id)
        .env("TRIBUTARY_TRANSMIT_BATCH_SIZE", "400")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the poller");
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(api.next_answer(Duration::from_secs(60)).await);
    }
    child.kill().expect("stop the idle environment");
    child.wait().unwrap();

    let bodies: Vec<(String, Value)> = answers
        .into_iter()
        .map(|answer| match answer {
            Some(Answer::Response { request_id, body }) => (request_id, body),
            other => panic!("expected a response, got {other:?}"),
        })
        .collect();
    assert_eq!(bodies[0].0, "invocation-1");
    assert_eq!(bodies[0].1["outcome"], "drained", "{}", bodies[0].1);
    assert_eq!(bodies[0].1["events_landed"], 1_000);
    assert_eq!(bodies[0].1["batches"], 3);
    assert_eq!(bodies[1].0, "invocation-2");
    assert_eq!(bodies[1].1["events_landed"], 0, "{}", bodies[1].1);
    let records = f.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 1_000);
    assert_eq!(originals(&records), expected(&backlog));
    assert!(
        f.state(EventType::Cis).await.lease_owner.is_none(),
        "the lease is released"
    );
}

#[tokio::test]
async fn stop_deletes_the_stream_and_stops_collection_and_the_next_run_sets_up_again() {
    let f = Fixture::new("transmit-stop").await;
    f.sim.seed(spec(sim::EventType::Cis, 10, 11));
    f.collect(EventType::Cis).await.unwrap();
    assert!(f.sim.is_collecting(sim::EventType::Cis));

    let stream_only = f
        .poller
        .handle(invocation(
            json!({"operation": "delete-stream", "type": "cis"}),
            Duration::from_secs(30),
        ))
        .await
        .unwrap();
    assert_eq!(stream_only["stream_status"], "deleted");
    assert_eq!(stream_only["collection"], "left_on");
    assert!(f.sim.is_collecting(sim::EventType::Cis));
    assert!(f.sim.info(sim::EventType::Cis).streams.is_empty());

    let payload: Value =
        serde_json::from_str(include_str!("../../events/transmit-stop.json")).unwrap();
    let stopped = f
        .poller
        .handle(invocation(payload, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(stopped["stream_status"], "absent");
    assert_eq!(stopped["collection"], "stopped");
    assert!(!f.sim.is_collecting(sim::EventType::Cis));
    let state = f.state(EventType::Cis).await;
    assert_eq!(
        state.meta.get("setup_stream_id").map(String::as_str),
        Some("")
    );
    assert!(state.lease_owner.is_none());

    f.sim.seed(spec(sim::EventType::Cis, 5, 12));
    let again = f.collect(EventType::Cis).await.unwrap();
    assert_eq!(again.detail.setup, Some("done"));
    assert_eq!(again.events_landed, 5);
}

#[tokio::test]
async fn a_stream_removed_behind_the_pollers_back_is_set_up_again() {
    let f = Fixture::new("transmit-vanished").await;
    f.sim.seed(spec(sim::EventType::Verify, 10, 13));
    f.collect(EventType::Verify).await.unwrap();
    // Someone stops collection in the portal; state still says setup is done.
    f.sim.stop_collect(sim::EventType::Verify);
    f.sim.seed(spec(sim::EventType::Verify, 7, 14));
    let report = f.collect(EventType::Verify).await.unwrap();
    assert_eq!(report.detail.setup, Some("done"));
    assert_eq!(report.events_landed, 7);
    assert!(f.sim.is_collecting(sim::EventType::Verify));
}

#[tokio::test]
async fn each_type_lands_ecs_records_in_its_own_partition() {
    let f = Fixture::new("transmit-all-types").await;
    for (t, seed) in sim::EventType::ALL.into_iter().zip(20..) {
        f.sim.seed(spec(t, 120, seed));
    }
    for t in EventType::ALL {
        let report = f.collect(t).await.unwrap();
        assert_eq!(report.events_landed, 120, "{t}");
    }
    for t in EventType::ALL {
        let records = f.stack.records_where(&format!("/event_type={t}/")).await;
        assert_eq!(records.len(), 120, "{t}");
        for r in &records {
            assert_eq!(r["event"]["dataset"], format!("transmit.{t}"));
            assert_eq!(r["event"]["module"], "transmit");
            assert_eq!(r["ecs"]["version"], "8.11.0");
            assert_eq!(r["event"]["action"], original_of(r).unwrap()["activity"]);
            assert!(r["transmit"].get("activity").is_none(), "written once");
            assert!(r["event"]["type"].as_array().is_some_and(|a| !a.is_empty()));
            assert!(r["user_agent"]["original"].is_string());
            assert!(r["source"]["ip"].is_string());
            assert!(r["user"]["id"].is_string() || r["transmit"]["actor_type"] == "app");
            assert!(
                r.get("tributary").is_none(),
                "run and batch are in full records only"
            );
        }
        // Every catalogue activity is classified: no record falls back to a bare guess.
        assert!(records
            .iter()
            .all(|r| r["event"]["category"].is_array() || r["event"]["action"] == "custom_event"));
    }
}

#[tokio::test]
async fn the_sample_events_name_each_type_and_rule_envelopes_work_end_to_end() {
    for t in EventType::ALL {
        let text = std::fs::read_to_string(format!(
            "{}/../../events/transmit-{t}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let payload: Value = serde_json::from_str(&text).unwrap();
        let named = Invocation::parse(&payload)
            .stream_in(&EventType::NAMES)
            .unwrap();
        assert_eq!(named, t.as_str());
    }
    let f = Fixture::new("transmit-envelope").await;
    f.sim.seed(spec(sim::EventType::Verify, 42, 30));
    let payload: Value =
        serde_json::from_str(include_str!("../../events/transmit-verify.json")).unwrap();
    let result = f
        .poller
        .handle(invocation(payload, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(result["type"], "verify");
    assert_eq!(result["events_landed"], 42);
}

#[tokio::test]
async fn refused_credentials_fail_the_run_without_leaking_the_secret() {
    let f = Fixture::new("transmit-bad-credentials").await;
    let secret = f
        .stack
        .put_secret(
            "wrong",
            &json!({"client_id": "tributary-local", "client_secret": "hunter2"}).to_string(),
        )
        .await;
    let mut config = f.poller.config.clone();
    config.secret_id = secret;
    let poller = Poller::new(f.stack.services(), config);
    let error = poller
        .collect(
            EventType::Cis,
            &RunContext::with_budget(COLLECTOR, Duration::from_secs(30)),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("refused the client credentials"), "{error}");
    assert!(!error.contains("hunter2"));
}
