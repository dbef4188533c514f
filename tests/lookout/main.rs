//! `lookout-stream` against moto (S3, DynamoDB, Secrets Manager) and the Lookout simulator over
//! HTTP: sessions that resume exactly where the last one landed, whatever the stream does.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use lambda_runtime::LambdaEvent;
use lookout_stream::config::LookoutConfig;
use lookout_stream::{state_key, Collector};
use serde_json::{json, Value};
use tributary_shared::record::lean::original_of;
use tributary_shared::runtime;
use tributary_simulators::lookout::{
    self, Fault, FaultAction, GenerateOptions, LookoutOptions, LookoutSim, Malformed, Settings,
    WireMode, DEFAULT_APP_KEY,
};
use tributary_testkit::{assert_no_duplicates, event_ids, Stack};

const HEARTBEAT: Duration = Duration::from_millis(200);

struct Harness {
    stack: Stack,
    sim: LookoutSim,
    config: LookoutConfig,
}

impl Harness {
    async fn new(test: &str) -> Harness {
        let stack = Stack::new(test).await;
        let sim = lookout::spawn(LookoutOptions {
            settings: Settings {
                heartbeat_ms: HEARTBEAT.as_millis() as u64,
                batch_size: 40,
                ..Settings::default()
            },
            ..LookoutOptions::default()
        })
        .await;
        let secret = stack
            .put_secret(
                "lookout",
                &json!({ "application_key": DEFAULT_APP_KEY }).to_string(),
            )
            .await;
        let mut config = LookoutConfig::new(sim.base_url(), secret);
        config.heartbeat = HEARTBEAT;
        config.flush_events = 150;
        config.flush_interval = Duration::from_millis(400);
        config.reconnect_delay = Duration::from_millis(50);
        // Sessions in tests end once the stream has been quiet for a while instead of waiting
        // for their deadline.
        config.idle_stop = Some(Duration::from_millis(1500));
        Harness { stack, sim, config }
    }

    fn collector(&self) -> Collector {
        Collector::new(self.stack.services(), self.config.clone())
    }

    /// One session with `budget` until the (simulated) Lambda deadline, running in the background.
    fn spawn_run(
        &self,
        budget: Duration,
    ) -> tokio::task::JoinHandle<Result<Value, tributary_shared::runtime::Error>> {
        let collector = self.collector();
        tokio::spawn(async move {
            collector
                .handle(LambdaEvent::new(json!({}), runtime::local_context(budget)))
                .await
        })
    }

    /// One session with `budget` until the (simulated) Lambda deadline.
    async fn run(&self, budget: Duration) -> Value {
        self.collector()
            .handle(LambdaEvent::new(json!({}), runtime::local_context(budget)))
            .await
            .expect("the session succeeds")
    }

    fn seed(&self, count: u64) -> Vec<String> {
        self.sim
            .seed_generated(count, &GenerateOptions::default())
            .expect("seed the simulator");
        self.sim.event_ids()
    }

    /// The stream's state item, which must exist.
    async fn state(&self) -> tributary_shared::state::StreamState {
        self.stack
            .state()
            .load(&state_key("events"))
            .await
            .expect("read the state")
            .expect("the stream has state")
    }

    async fn checkpoint(&self) -> Option<String> {
        self.stack
            .state()
            .load(&state_key("events"))
            .await
            .expect("read the state")
            .and_then(|s| s.cursor)
    }

    /// Sets the checkpoint back to `to`, as if the sessions after it had landed and died before checkpointing.
    async fn rewind_checkpoint(&self, to: &str) {
        let progress = tributary_shared::state::Progress::default();
        self.stack
            .record_run(&state_key("events"), "test", to, &progress)
            .await;
    }

    /// Asserts that S3 holds exactly the simulator's events, each once, and returns the records.
    async fn assert_landed_exactly_once(&self, expected: &[String]) -> Vec<Value> {
        let records = self.stack.records().await;
        let count = assert_no_duplicates(&records);
        let landed: BTreeSet<String> = event_ids(&records).into_iter().collect();
        let expected_set: BTreeSet<String> = expected.iter().cloned().collect();
        let missing: Vec<_> = expected_set.difference(&landed).take(5).collect();
        let extra: Vec<_> = landed.difference(&expected_set).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}, unexpected {extra:?}"
        );
        assert_eq!(count, expected.len());
        records
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lands_every_event_once_with_ecs_fields_and_the_original() {
    let h = Harness::new("lookout-basic").await;
    let expected = h.seed(500);
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "drained");
    assert_eq!(result["stopped"], "idle");
    assert_eq!(result["events_landed"], 500);

    let records = h.assert_landed_exactly_once(&expected).await;
    assert_eq!(
        h.checkpoint().await.as_deref(),
        expected.last().map(String::as_str)
    );

    // Keys follow the landing contract, one `event_type` per Lookout type.
    let keys = h.stack.keys().await;
    for t in ["threat", "device", "audit", "smishing_alert"] {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("tributary/vendor=lookout/event_type={t}/dt="))),
            "no {t} objects in {keys:?}"
        );
    }
    assert!(keys
        .iter()
        .all(|k| k.ends_with(".ndjson.gz") && !k.contains(':')));

    // Each record carries Lookout's event (whole again once the fields ECS carries are put back) and the ECS
    // mapping of its type.
    let originals: HashMap<String, Value> = h
        .sim
        .events()
        .into_iter()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e))
        .collect();
    for record in &records {
        let id = record["event"]["id"].as_str().unwrap();
        assert_eq!(original_of(record).unwrap(), originals[id]);
        assert!(
            record["lookout"].get("id").is_none(),
            "the id is written once, as event.id"
        );
        if originals[id].get("created_time").is_some() {
            assert_eq!(record["event"]["created"], originals[id]["created_time"]);
            assert!(
                record["lookout"].get("created_time").is_none(),
                "written once"
            );
        }
        let lookout_type = record["lookout"]["type"].as_str().unwrap();
        assert_eq!(
            record["event"]["dataset"],
            format!("lookout.{}", lookout_type.to_lowercase())
        );
        match lookout_type {
            "THREAT" => {
                assert_eq!(record["event"]["kind"], "alert");
                assert!(record["host"]["id"].is_string(), "{record}");
            }
            "DEVICE" => {
                assert_eq!(record["event"]["category"], json!(["host"]));
                assert_eq!(record["host"]["id"], record["lookout"]["device"]["guid"]);
            }
            "AUDIT" => assert!(
                record["event"]["category"]
                    .to_string()
                    .contains("configuration")
                    || record["event"]["category"]
                        .to_string()
                        .contains("authentication")
            ),
            "SMISHING_ALERT" => assert!(record["url"]["original"].is_string()),
            other => panic!("unexpected type {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_sse_wire_variant_split_anywhere() {
    let h = Harness::new("lookout-wire").await;
    h.sim.update_settings(lookout::SettingsPatch {
        wire: Some(WireMode::Mixed),
        fragment: Some(true),
        bom: Some(true),
        initial_retry_ms: Some(Some(75)),
        batch_size: Some(7),
        ..Default::default()
    });
    let expected = h.seed(400);
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["events_landed"], 400);
    h.assert_landed_exactly_once(&expected).await;
    assert!(h.stack.unparsed().await.is_empty());
    // 400 events in frames of 7 cycle through all 48 wire combinations.
    assert!(h.sim.stats().frames_sent >= 58);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_reconnect_end_drop_and_heartbeat_loss_without_loss_or_duplicates() {
    let h = Harness::new("lookout-faults").await;
    // A server that resends the event it resumes at, so resends must be dropped.
    h.sim.update_settings(lookout::SettingsPatch {
        inclusive_resume: Some(true),
        ..Default::default()
    });
    let expected = h.seed(1000);
    h.sim
        .push_fault(Fault::after(130, FaultAction::Reconnect { retry_ms: 300 }));
    h.sim.push_fault(Fault::after(
        90,
        FaultAction::End {
            retry_ms: Some(200),
        },
    ));
    h.sim
        .push_fault(Fault::after(110, FaultAction::DropMidFrame));
    h.sim
        .push_fault(Fault::after(70, FaultAction::Silence { ms: 3_000 }));
    h.sim
        .push_fault(Fault::after(50, FaultAction::End { retry_ms: None }));

    let result = h.run(Duration::from_secs(40)).await;
    assert_eq!(result["outcome"], "drained");
    h.assert_landed_exactly_once(&expected).await;
    assert_eq!(
        h.checkpoint().await.as_deref(),
        expected.last().map(String::as_str)
    );

    let stats = h.sim.stats();
    assert_eq!(stats.faults_fired.len(), 5, "{:?}", stats.faults_fired);
    assert!(stats.connects.len() >= 6);
    // Every reconnect waited for the server's `retry`.
    assert_eq!(stats.early_reconnects, 0);
    // Reconnects resume from the last frame read, by `id` and `Last-Event-ID`.
    for connect in &stats.connects[1..] {
        assert!(connect.param("id").is_some(), "{connect:?}");
        assert_eq!(connect.param("id"), connect.last_event_id.as_deref());
        assert_eq!(connect.accept.as_deref(), Some("text/event-stream"));
    }
    assert!(
        result["duplicates_skipped"].as_u64().unwrap() >= 4,
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_id_that_could_not_be_sent_back_is_never_checkpointed() {
    let h = Harness::new("lookout-hostile-id").await;
    let expected = h.seed(200);
    // The last frame of the stream, so nothing after it replaces it as the resume point before the final landing.
    h.sim.push_fault(Fault::after(
        200,
        FaultAction::Malformed {
            kind: Malformed::HostileId,
        },
    ));

    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "drained", "{result}");
    assert_eq!(result["events_landed"], 200);
    h.assert_landed_exactly_once(&expected).await;
    let checkpoint = h.checkpoint().await.unwrap();
    assert!(
        tributary_shared::state::check_cursor(&checkpoint).is_ok(),
        "{checkpoint:?}"
    );
    assert_eq!(
        Some(checkpoint.as_str()),
        expected.last().map(String::as_str)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_cost_a_reconnect_and_unmappable_events_land_in_unparsed() {
    let h = Harness::new("lookout-malformed").await;
    let expected = h.seed(300);
    // Two frames a client must reject, each sent once, and one event that cannot be mapped.
    h.sim.push_fault(Fault::after(
        40,
        FaultAction::Malformed {
            kind: Malformed::BadJson,
        },
    ));
    h.sim.push_fault(Fault::after(
        80,
        FaultAction::Malformed {
            kind: Malformed::NotEvents,
        },
    ));
    h.sim.push_fault(Fault::after(
        120,
        FaultAction::Malformed {
            kind: Malformed::EventWithoutId,
        },
    ));

    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "drained", "{result}");
    assert!(result.get("losses").is_none(), "{result}");
    assert_eq!(result["events_landed"], 300);
    assert_eq!(result["unparsed"], 1);
    h.assert_landed_exactly_once(&expected).await;

    // The rejected frames were not sent again, so only the unmappable event is kept as raw text.
    let unparsed = h.stack.unparsed().await;
    assert_eq!(unparsed.len(), 1);
    let original = unparsed[0]["event"]["original"].as_str().unwrap();
    assert!(original.contains("not a time"), "{original}");
    assert_eq!(unparsed[0]["event"]["kind"], "pipeline_error");
    assert!(unparsed[0]["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    // Each rejected frame cost one reconnect, from the last good id.
    let stats = h.sim.stats();
    assert_eq!(stats.faults_fired.len(), 3, "{:?}", stats.faults_fired);
    assert_eq!(stats.connects.len(), 3);
    assert_eq!(stats.connects[1].param("id"), Some(expected[39].as_str()));
    assert_eq!(stats.connects[2].param("id"), Some(expected[119].as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_malformed_once_is_read_again_and_every_event_lands() {
    let h = Harness::new("lookout-malformed-once").await;
    let expected = h.seed(300);
    // Frames carry 40 events: events 80..=119 travel together, and that frame is cut off the first time.
    h.sim.corrupt_frame_with(100, Some(1)).unwrap();

    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "drained", "{result}");
    assert!(result.get("losses").is_none(), "{result}");
    assert_eq!(result["events_landed"], 300);
    assert_eq!(result["unparsed"], 0);
    h.assert_landed_exactly_once(&expected).await;
    assert!(h.stack.unparsed().await.is_empty());
    assert_eq!(
        h.checkpoint().await.as_deref(),
        expected.last().map(String::as_str)
    );

    let stats = h.sim.stats();
    assert_eq!(stats.corrupted_frames_sent, 1);
    // The id of the broken frame was not trusted: the session came back from the last good frame.
    assert_eq!(stats.connects.len(), 2);
    assert_eq!(stats.connects[1].param("id"), Some(expected[79].as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_malformed_every_time_is_skipped_after_the_retries_counted_and_degraded() {
    let mut h = Harness::new("lookout-malformed-always").await;
    h.config.malformed_retries = 3;
    let expected = h.seed(300);
    h.sim.corrupt_frame_with(100, None).unwrap();

    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "degraded", "{result}");
    let losses = result["losses"].as_array().expect("losses reported");
    assert_eq!(losses.len(), 1, "{result}");
    assert_eq!(losses[0]["kind"], "skipped_events");
    assert_eq!(losses[0]["count"], 40, "{result}");
    assert!(
        losses[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&expected[119]) && d.contains("3 times")),
        "{result}"
    );
    assert_eq!(result["events_landed"], 260);
    assert_eq!(result["unparsed"], 1);

    // Every other event landed once; the 40 of the broken frame are kept as its raw text.
    let others: Vec<String> = expected[..80]
        .iter()
        .chain(&expected[120..])
        .cloned()
        .collect();
    h.assert_landed_exactly_once(&others).await;
    let unparsed = h.stack.unparsed().await;
    assert_eq!(unparsed.len(), 1);
    let original = unparsed[0]["event"]["original"].as_str().unwrap();
    assert!(
        original.contains(&expected[80]) && original.contains(&expected[118]),
        "the raw frame holds its events"
    );
    assert_eq!(
        h.checkpoint().await.as_deref(),
        expected.last().map(String::as_str)
    );

    // Three attempts at the same position: the first connection and two reconnects from the last good id.
    let stats = h.sim.stats();
    assert_eq!(stats.corrupted_frames_sent, 3);
    assert_eq!(stats.connects.len(), 3);
    for connect in &stats.connects[1..] {
        assert_eq!(connect.param("id"), Some(expected[79].as_str()));
    }
    let state = h.state().await;
    assert_eq!(state.last_run_outcome.as_deref(), Some("degraded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_lookout_fails_the_run() {
    let mut h = Harness::new("lookout-unreachable").await;
    // A port nothing listens on: every connect is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    h.config.base_url = format!("http://127.0.0.1:{port}");
    h.config.max_failed_reconnects = 2;
    let error = h
        .collector()
        .handle(LambdaEvent::new(
            json!({}),
            runtime::local_context(Duration::from_secs(20)),
        ))
        .await
        .expect_err("an unreachable host is a failed run, not a quiet stream")
        .to_string();
    assert!(error.contains("127.0.0.1"), "{error}");
    assert!(h.stack.keys().await.is_empty());
    let state = h.state().await;
    assert_eq!(state.cursor, None);
    assert_eq!(state.last_run_outcome.as_deref(), Some("failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_before_the_deadline_after_landing_and_checkpointing() {
    let mut h = Harness::new("lookout-deadline").await;
    h.config.idle_stop = None;
    // 2000 events at 10 every 50 ms: far more than fits in the budget.
    h.sim.update_settings(lookout::SettingsPatch {
        batch_size: Some(10),
        batch_interval_ms: Some(50),
        ..Default::default()
    });
    let expected = h.seed(2000);
    let budget = Duration::from_secs(5);
    let started = Instant::now();
    let result = h.run(budget).await;
    let took = started.elapsed();
    assert_eq!(result["stopped"], "deadline");
    // Stopped inside the budget, with the 1 s safety margin left for the last landing.
    assert!(took < budget, "took {took:?}");
    assert!(took > Duration::from_secs(2), "took {took:?}");

    // Everything read was landed, and the checkpoint is the newest landed event.
    let records = h.stack.records().await;
    let landed = assert_no_duplicates(&records) as u64;
    assert_eq!(result["events_landed"], landed);
    assert!(landed > 0 && landed < 2000, "{landed}");
    let newest = expected[landed as usize - 1].clone();
    assert_eq!(event_ids(&records).into_iter().max(), Some(newest.clone()));
    assert_eq!(h.checkpoint().await, Some(newest));
    let state = h.state().await;
    assert_eq!(state.lease_owner, None, "the lease is released");
    assert_eq!(state.last_run_outcome.as_deref(), Some("out_of_time"));

    // The next session picks up exactly there.
    h.sim.update_settings(lookout::SettingsPatch {
        batch_size: Some(100),
        batch_interval_ms: Some(0),
        ..Default::default()
    });
    h.config.idle_stop = Some(Duration::from_millis(1500));
    h.run(Duration::from_secs(30)).await;
    h.assert_landed_exactly_once(&expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_mid_stream_is_refreshed() {
    let h = Harness::new("lookout-token").await;
    let expected = h.seed(600);
    // The token dies mid-stream: the server closes the stream and answers 401 to the reconnect.
    h.sim
        .push_fault(Fault::after(200, FaultAction::ExpireToken));
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["events_landed"], 600);
    h.assert_landed_exactly_once(&expected).await;
    let stats = h.sim.stats();
    assert_eq!(stats.unauthorized_connects, 1);
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(stats.connects.last().map(|c| c.status), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_refreshed_before_it_expires() {
    let h = Harness::new("lookout-token-ttl").await;
    // Tokens live 2 s; the stream ends every 150 events and reconnects after 1 s, so later
    // connects need a new token. The collector refreshes ahead of `expires_at` (its margin is
    // longer than the lifetime), so the server never has to answer 401.
    h.sim.update_settings(lookout::SettingsPatch {
        token_ttl_s: Some(2),
        reconnect_every: Some(Some(150)),
        retry_ms: Some(1_000),
        ..Default::default()
    });
    let expected = h.seed(600);
    h.run(Duration::from_secs(30)).await;
    h.assert_landed_exactly_once(&expected).await;
    let stats = h.sim.stats();
    assert_eq!(stats.unauthorized_connects, 0);
    assert!(stats.tokens_issued >= 3, "{}", stats.tokens_issued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_overlapping_sessions_do_not_both_consume() {
    let mut h = Harness::new("lookout-overlap").await;
    h.config.idle_stop = None;
    h.config.session_limit = Some(Duration::from_secs(3));
    let expected = h.seed(300);
    let running = h.spawn_run(Duration::from_secs(20));
    // Start the second once the first is connected.
    let wait = Instant::now();
    while h.sim.stats().open_streams == 0 {
        assert!(
            wait.elapsed() < Duration::from_secs(10),
            "the first session never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = h.run(Duration::from_secs(20)).await;
    assert_eq!(second["outcome"], "busy");
    let first = running.await.unwrap().unwrap();
    assert_eq!(first["outcome"], "out_of_time");
    assert_eq!(first["events_landed"], 300);

    let stats = h.sim.stats();
    assert_eq!(stats.max_open_streams, 1);
    assert_eq!(stats.connects.len(), 1);
    h.assert_landed_exactly_once(&expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_aborted_mid_stream_is_completed_exactly_once_by_the_next() {
    let mut h = Harness::new("lookout-abort").await;
    h.config.idle_stop = None;
    h.sim.update_settings(lookout::SettingsPatch {
        batch_size: Some(20),
        batch_interval_ms: Some(20),
        ..Default::default()
    });
    let expected = h.seed(2000);
    // The first run is aborted mid-stream; its lease (3 s in tests, renewed while it ran) lapses soon after.
    let running = h.spawn_run(Duration::from_secs(3));
    let wait = Instant::now();
    while h.checkpoint().await.is_none() {
        assert!(
            wait.elapsed() < Duration::from_secs(10),
            "nothing was checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.abort();
    let _ = running.await;
    let partial = h.stack.records().await.len();
    assert!(partial > 0 && partial < 2000, "{partial}");

    tokio::time::sleep(Duration::from_millis(3500)).await;
    h.sim.update_settings(lookout::SettingsPatch {
        batch_interval_ms: Some(0),
        ..Default::default()
    });
    // Different flush boundaries from the crashed run: objects must still be replaced, not added.
    h.config.flush_events = 97;
    h.config.idle_stop = Some(Duration::from_millis(1500));
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "drained");
    h.assert_landed_exactly_once(&expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_rerun_leaves_every_event_exactly_once() {
    let h = Harness::new("lookout-kill").await;
    h.sim.update_settings(lookout::SettingsPatch {
        batch_size: Some(25),
        batch_interval_ms: Some(15),
        ..Default::default()
    });
    let expected = h.seed(3000);
    let mut child = h
        .binary(4, &[("TRIBUTARY_LOOKOUT_FLUSH_EVENTS", "200")])
        .spawn()
        .expect("start the binary");
    h.until_the_binary_checkpoints(&mut child).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    child.kill().expect("kill the process");
    child.wait().unwrap();
    let partial = h.stack.records().await.len();
    assert!(partial > 0 && partial < 3000, "{partial}");

    // The killed run's lease (3 s here) is no longer renewed; once it lapses the next scheduled run goes on.
    tokio::time::sleep(Duration::from_secs(4)).await;
    h.sim.update_settings(lookout::SettingsPatch {
        batch_interval_ms: Some(0),
        ..Default::default()
    });
    let output = h
        .binary(30, &[("TRIBUTARY_LOOKOUT_FLUSH_EVENTS", "333")])
        .output()
        .expect("run the binary");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    h.assert_landed_exactly_once(&expected).await;
    assert_eq!(
        h.checkpoint().await.as_deref(),
        expected.last().map(String::as_str)
    );
}

/// The binary runs its session on the one-thread runtime it ships with, where the lease heartbeat shares the thread
/// with reading, mapping and landing the stream. With a lease of one second (renewed every third of it), a session
/// kept busy for several lifetimes must hold the lease throughout: a second session started after each lifetime is
/// refused, and only one stream is ever open. A heartbeat starved for a lifetime would let the second one in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_its_one_thread_runtime_the_binary_keeps_its_lease_through_a_busy_session() {
    let h = Harness::new("lookout-one-thread-lease").await;
    // About 2,000 events a second for about six seconds.
    h.sim.update_settings(lookout::SettingsPatch {
        batch_size: Some(20),
        batch_interval_ms: Some(10),
        ..Default::default()
    });
    let expected = h.seed(12_000);
    let log = std::env::temp_dir().join(format!(
        "lookout-one-thread-lease-{}.log",
        std::process::id()
    ));
    let mut child = h
        .binary(
            60,
            &[
                ("TRIBUTARY_LEASE_SECONDS", "1"),
                ("TRIBUTARY_LOOKOUT_FLUSH_EVENTS", "200"),
            ],
        )
        .stderr(std::fs::File::create(&log).expect("create the log file"))
        .spawn()
        .expect("start the binary");
    h.until_the_binary_checkpoints(&mut child).await;
    for attempt in 1..=3 {
        // Longer than one lease lifetime since the last attempt.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "the session ended before attempt {attempt}: the test needs a longer stream"
        );
        let second = h.run(Duration::from_secs(10)).await;
        assert_eq!(second["outcome"], "busy", "attempt {attempt}: {second}");
    }
    let status = child.wait().expect("wait for the binary");
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = std::fs::remove_file(&log);
    assert_eq!(h.sim.stats().max_open_streams, 1);
    h.assert_landed_exactly_once(&expected).await;
}

impl Harness {
    /// Waits (up to 20 s) until the binary running as `child` has checkpointed its first flush.
    async fn until_the_binary_checkpoints(&self, child: &mut std::process::Child) {
        let wait = Instant::now();
        while self.checkpoint().await.is_none() {
            assert!(
                wait.elapsed() < Duration::from_secs(20),
                "the process never checkpointed"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "the process ended early"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The real binary, run locally with the sample scheduled event and a deadline `timeout_s` away.
    fn binary(&self, timeout_s: u64, extra: &[(&str, &str)]) -> std::process::Command {
        let mut command = self.stack.command(env!("CARGO_BIN_EXE_lookout-stream"));
        command
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../events/lookout.json"
            ))
            .env("TRIBUTARY_SAFETY_MARGIN_SECONDS", "1")
            .env("TRIBUTARY_LEASE_SECONDS", "3")
            .env("TRIBUTARY_LOCAL_TIMEOUT_SECONDS", timeout_s.to_string())
            .env("TRIBUTARY_LOOKOUT_BASE_URL", self.sim.base_url())
            .env("TRIBUTARY_LOOKOUT_SECRET_ID", &self.config.secret_id)
            .env(
                "TRIBUTARY_LOOKOUT_HEARTBEAT_MS",
                HEARTBEAT.as_millis().to_string(),
            )
            .env("TRIBUTARY_LOOKOUT_FLUSH_INTERVAL_MS", "400")
            .env("TRIBUTARY_LOOKOUT_RECONNECT_DELAY_MS", "50")
            .env("TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS", "2")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (name, value) in extra {
            command.env(name, value);
        }
        command
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_session_starts_from_the_lookback_and_later_ones_resume_by_id() {
    let mut h = Harness::new("lookout-lookback").await;
    h.config.lookback = lookout_stream::config::MAX_LOOKBACK;
    h.config.resume_param = "last_id".to_owned();
    let day_ms = 24 * 3600 * 1000;
    let at = |days_ago: f64| {
        let t =
            chrono::Utc::now() - chrono::Duration::milliseconds((days_ago * day_ms as f64) as i64);
        Some(t.to_rfc3339())
    };
    let too_old = h
        .sim
        .seed_generated(
            5,
            &GenerateOptions {
                start: at(12.0),
                ..Default::default()
            },
        )
        .unwrap();
    let old = h
        .sim
        .seed_generated(
            5,
            &GenerateOptions {
                start: at(9.5),
                ..Default::default()
            },
        )
        .unwrap();
    h.sim
        .seed_generated(20, &GenerateOptions::default())
        .unwrap();
    h.sim
        .push_fault(Fault::after(15, FaultAction::Reconnect { retry_ms: 50 }));

    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["events_landed"], 25);
    let ids: BTreeSet<String> = event_ids(&h.stack.records().await).into_iter().collect();
    assert!(ids.contains(old.first_id.as_ref().unwrap()));
    assert!(!ids.contains(too_old.last_id.as_ref().unwrap()));

    let stats = h.sim.stats();
    let first = &stats.connects[0];
    assert_eq!(first.status, 200);
    assert!(first.param("start_time").is_some());
    assert_eq!(first.param("last_id"), None);
    assert_eq!(
        first.param("types"),
        Some("THREAT,DEVICE,AUDIT,SMISHING_ALERT")
    );
    let second = &stats.connects[1];
    assert!(second.param("last_id").is_some());
    assert_eq!(second.param("start_time"), None);
    assert_eq!(second.param("last_id"), second.last_event_id.as_deref());

    // The simulator, like Lookout, refuses a start more than 10 days back.
    let token: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", h.sim.base_url()))
        .bearer_auth(DEFAULT_APP_KEY)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // It resumes from the standard `Last-Event-ID` header alone too.
    let access_token = token["access_token"].as_str().unwrap();
    let mut response = reqwest::Client::new()
        .get(format!("{}/mra/stream/v2/events", h.sim.base_url()))
        .header("Last-Event-ID", old.last_id.as_ref().unwrap())
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let mut parser = lookout_stream::sse::Parser::default();
    let first_frame = loop {
        parser
            .push(&response.chunk().await.unwrap().unwrap())
            .unwrap();
        if let Some(frame) = parser.next_frame() {
            break frame;
        }
    };
    let first_event: Value = serde_json::from_str(&first_frame.data).unwrap();
    assert!(first_event["events"][0]["type"].is_string());
    assert!(first_event["events"][0]["id"].as_str().unwrap() > old.last_id.as_deref().unwrap());
    drop(response);

    let start = (chrono::Utc::now() - chrono::Duration::days(11)).to_rfc3339();
    let response = reqwest::Client::new()
        .get(format!("{}/mra/stream/v2/events", h.sim.base_url()))
        .query(&[("start_time", start.as_str())])
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_configured_types_are_requested_and_landed() {
    let mut h = Harness::new("lookout-types").await;
    h.config.types = vec!["THREAT".into(), "SMISHING_ALERT".into()];
    let all = h.seed(200);
    let wanted: Vec<String> = h
        .sim
        .events()
        .into_iter()
        .filter(|e| matches!(e["type"].as_str(), Some("THREAT" | "SMISHING_ALERT")))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(wanted.len() < all.len());
    h.run(Duration::from_secs(30)).await;
    h.assert_landed_exactly_once(&wanted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_application_key_fails_the_run_with_a_clear_error() {
    let mut h = Harness::new("lookout-badkey").await;
    h.config.secret_id = h.stack.put_secret("wrong", "not-the-key").await;
    h.seed(10);
    let error = h
        .collector()
        .handle(LambdaEvent::new(
            json!({}),
            runtime::local_context(Duration::from_secs(10)),
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("application key"), "{error}");
    assert!(
        !error.contains("not-the-key"),
        "the key must not leak: {error}"
    );
    assert!(h.stack.keys().await.is_empty());
    let state = h.state().await;
    assert_eq!(state.cursor, None);
    assert_eq!(state.last_run_outcome.as_deref(), Some("failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_landing_does_not_move_the_checkpoint() {
    let h = Harness::new("lookout-s3-down").await;
    let expected = h.seed(200);
    h.stack.break_bucket().await;
    let error = h
        .collector()
        .handle(LambdaEvent::new(
            json!({}),
            runtime::local_context(Duration::from_secs(20)),
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("not landed"), "{error}");
    assert_eq!(h.checkpoint().await, None);

    h.stack.repair_bucket().await;
    h.run(Duration::from_secs(30)).await;
    h.assert_landed_exactly_once(&expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landing_that_fails_mid_session_keeps_the_checkpoint_at_the_last_landed_flush() {
    let mut h = Harness::new("lookout-s3-down-later").await;
    let expected = h.seed(400);
    // The first flush lands 120 events (three frames of 40); then the stream is silent long enough for the
    // bucket to go away, and the next flush fails.
    h.sim
        .push_fault(Fault::after(120, FaultAction::Silence { ms: 10_000 }));
    h.config.flush_events = 100;
    h.config.flush_interval = Duration::from_secs(60);
    h.config.heartbeat = Duration::from_secs(8);
    h.config.idle_stop = Some(Duration::from_secs(12));
    let session = h.spawn_run(Duration::from_secs(40));

    let started = Instant::now();
    let landed_to = loop {
        if let Some(checkpoint) = h.checkpoint().await {
            break checkpoint;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "the first flush never checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        Some(&landed_to),
        expected.get(119),
        "the first flush was the first 120 events"
    );
    h.stack.break_bucket().await;

    let error = session.await.unwrap().unwrap_err().to_string();
    assert!(error.contains("not landed"), "{error}");
    // What was read after the first flush is gone with its failed batch: the checkpoint must not pass it, not even
    // by the landing a session makes on its way out after an error.
    assert_eq!(h.checkpoint().await, Some(landed_to));

    h.stack.repair_bucket().await;
    h.config.idle_stop = Some(Duration::from_millis(1500));
    h.run(Duration::from_secs(30)).await;
    // The bucket went with the first flush's objects; everything after its checkpoint lands, once.
    h.assert_landed_exactly_once(&expected[120..]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_landing_without_a_checkpoint_overwrites_instead_of_duplicating() {
    let mut h = Harness::new("lookout-replay").await;
    h.seed(300);
    h.run(Duration::from_secs(30)).await;
    let before = h
        .checkpoint()
        .await
        .expect("the first session checkpointed");

    // The next session lands everything new in one object per partition...
    let expected = h.seed(600);
    h.config.flush_events = 100_000;
    h.config.flush_interval = Duration::from_secs(60);
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["flushes"], 1);
    let objects_before = h.stack.keys().await.len();

    // ...and then, as if it had died between landing and checkpointing, the checkpoint is
    // still the old one. A rerun with different flush boundaries must replace those objects.
    h.rewind_checkpoint(&before).await;

    h.config.flush_events = 97;
    h.config.flush_interval = Duration::from_millis(400);
    let rerun = h.run(Duration::from_secs(30)).await;
    assert_eq!(rerun["events_landed"], 600);
    assert!(rerun["flushes"].as_u64().unwrap() >= 3, "{rerun}");
    h.assert_landed_exactly_once(&expected).await;
    assert!(h.stack.keys().await.len() > objects_before);
}

/// Events that cannot be mapped land under `_unparsed`, filed by the hour they land in and named after what is in
/// their object. A replay from an older checkpoint reads them again: in the next hour, or with other flush
/// boundaries in the same one, they would land beside the first copy.
async fn unparsed_events_replayed_without_a_checkpoint_land_once(test: &str, later_hour: bool) {
    let mut h = Harness::new(test).await;
    h.seed(50);
    h.run(Duration::from_secs(30)).await;
    let before = h
        .checkpoint()
        .await
        .expect("the first session checkpointed");

    // Two events the mapping rejects (a change type that is not text), 150 events apart.
    h.seed(100);
    let unmappable = |n: u32| json!({"type": "THREAT", "change_type": n});
    h.sim.seed_events(vec![unmappable(7)]).unwrap();
    h.seed(150);
    h.sim.seed_events(vec![unmappable(8)]).unwrap();
    h.seed(100);
    let all = h.sim.event_ids();
    let bad = [all[150].clone(), all[301].clone()];
    let expected: Vec<String> = all.iter().filter(|id| !bad.contains(id)).cloned().collect();

    // One session lands them together in one object...
    h.config.flush_events = 100_000;
    h.config.flush_interval = Duration::from_secs(60);
    let first = h.run(Duration::from_secs(30)).await;
    assert_eq!(first["flushes"], 1, "{first}");
    assert_eq!(first["unparsed"], 2, "{first}");
    assert_eq!(h.stack.unparsed().await.len(), 2);

    // ...and the checkpoint is left where it was, as if the session had died before checkpointing.
    h.rewind_checkpoint(&before).await;
    if later_hour {
        assert_eq!(h.stack.shift_unparsed_hours(-1).await, 1);
    }
    // The replay meets them in separate landings (frames carry 40 events: they flush at 120, 240 and 360).
    h.config.flush_events = 97;
    h.config.flush_interval = Duration::from_millis(400);
    let rerun = h.run(Duration::from_secs(30)).await;
    assert!(rerun["flushes"].as_u64().unwrap() >= 3, "{rerun}");
    let unparsed = h.stack.unparsed().await;
    let originals: BTreeSet<String> = unparsed
        .iter()
        .map(|u| u["event"]["original"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(unparsed.len(), 2, "each once: {originals:?}");
    for id in &bad {
        assert!(
            originals.iter().any(|o| o.contains(id.as_str())),
            "{id} kept"
        );
    }
    assert_eq!(rerun["unparsed"], 0, "{rerun}");
    assert_eq!(rerun["unparsed_landed_before"], 2, "{rerun}");
    h.assert_landed_exactly_once(&expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsed_events_replayed_with_other_flush_boundaries_land_once() {
    unparsed_events_replayed_without_a_checkpoint_land_once("lookout-unparsed-regrouped", false)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsed_events_replayed_in_the_next_hour_land_once() {
    unparsed_events_replayed_without_a_checkpoint_land_once("lookout-unparsed-next-hour", true)
        .await;
}

/// A server may send again the event a stream resumes at. When that event is one the mapping refuses, it comes back
/// in another frame, under another frame id: it is known by its own id, and kept once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmappable_event_the_server_sends_again_after_a_reconnect_lands_once() {
    let h = Harness::new("lookout-unparsed-resent").await;
    h.sim.update_settings(lookout::SettingsPatch {
        inclusive_resume: Some(true),
        ..Default::default()
    });
    // The first connection's frame ends with the refused event, so its id is the resume point, and it is resent.
    h.seed(39);
    h.sim
        .seed_events(vec![json!({"type": "THREAT", "change_type": 7})])
        .unwrap();
    let all = h.seed(60);
    h.sim
        .push_fault(Fault::after(40, FaultAction::Reconnect { retry_ms: 200 }));
    let refused = all[39].clone();

    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["outcome"], "drained", "{result}");
    let stats = h.sim.stats();
    assert_eq!(stats.connects[1].param("id"), Some(refused.as_str()));
    let unparsed = h.stack.unparsed().await;
    assert_eq!(unparsed.len(), 1, "{unparsed:?}");
    let original = unparsed[0]["event"]["original"].as_str().unwrap();
    assert!(original.contains(refused.as_str()), "{original}");
    assert_eq!(unparsed[0]["tributary"]["event_id"], refused.as_str());
    assert_eq!(result["unparsed"], 1, "{result}");
    assert_eq!(result["duplicates_skipped"], 1, "{result}");
    let mapped: Vec<String> = all.iter().filter(|id| **id != refused).cloned().collect();
    h.assert_landed_exactly_once(&mapped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsed_object_that_cannot_be_read_back_fails_the_session_without_moving_the_checkpoint(
) {
    let h = Harness::new("lookout-unparsed-unreadable").await;
    h.seed(50);
    h.run(Duration::from_secs(30)).await;
    let before = h.checkpoint().await;
    h.sim
        .seed_events(vec![json!({"type": "THREAT", "change_type": 7})])
        .unwrap();
    let expected = h.seed(50);
    // A damaged object where the stream's unparsed events are read back from.
    let hour = chrono::Utc::now().format("dt=%Y-%m-%d/hour=%H");
    let damaged = format!(
        "{}/vendor=lookout/event_type=_unparsed/{hour}/events-damaged.ndjson.gz",
        h.stack.prefix
    );
    h.stack.put(&damaged, b"not gzip".to_vec()).await;

    let error = h
        .collector()
        .handle(LambdaEvent::new(
            json!({}),
            runtime::local_context(Duration::from_secs(30)),
        ))
        .await
        .expect_err("the session cannot tell what landed before")
        .to_string();
    assert!(
        error.contains("events-damaged") && error.contains("move a damaged object aside"),
        "{error}"
    );
    assert_eq!(h.checkpoint().await, before, "nothing of the flush landed");

    // Once the object is moved aside, the next session lands everything, once.
    h.stack.delete(&damaged).await;
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["unparsed"], 1, "{result}");
    assert_eq!(h.stack.unparsed().await.len(), 1);
    let mapped: Vec<String> = expected
        .iter()
        .filter(|id| *id != &expected[50])
        .cloned()
        .collect();
    h.assert_landed_exactly_once(&mapped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_failing_requests_are_retried() {
    let h = Harness::new("lookout-throttle").await;
    let expected = h.seed(200);
    h.sim.fail_next_tokens(503, 1);
    // 429 carries `Retry-After: 1`, which is honoured.
    h.sim.fail_next_connects(429, 1);
    h.sim.fail_next_connects(502, 1);
    let started = Instant::now();
    let result = h.run(Duration::from_secs(30)).await;
    assert_eq!(result["events_landed"], 200);
    assert!(started.elapsed() >= Duration::from_secs(1));
    h.assert_landed_exactly_once(&expected).await;
    let statuses: Vec<u16> = h.sim.stats().connects.iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![429, 502, 200]);
}
