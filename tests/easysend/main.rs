//! `easysend-poller` against the local AWS stack (moto) and the EasySend simulator over HTTP.
//!
//! Windows are 60 s here (lag 10 s, overlap 120 s) so runs cover minutes of logs in milliseconds.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use easysend_poller::config::EasySendConfig;
use easysend_poller::windows::{align_down, rfc3339};
use easysend_poller::{handle, Poller};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use tributary_shared::state::Progress;
use tributary_simulators::easysend::{
    self, CountMismatch, EasySendSim, FailNext, ProductMix, RequestTimeout, SimConfig, Truncate,
    TruncateMode, DEFAULT_API_KEY,
};
use tributary_testkit::{assert_no_duplicates, Stack};

const STREAM_KEY: &str = "easysend#security-logs";
const MINUTE: chrono::Duration = chrono::Duration::seconds(60);

struct Setup {
    stack: Stack,
    sim: EasySendSim,
    poller: Poller,
}

/// Waits until the current minute is far enough from its edges that the test and the poller agree on
/// which grid windows "now" implies.
async fn settle() {
    loop {
        let second = Utc::now().second();
        if (12..=54).contains(&second) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn setup(test: &str, tweak: impl FnOnce(&mut EasySendConfig)) -> Setup {
    let stack = Stack::new(test).await;
    let sim = easysend::spawn(SimConfig::default()).await;
    let secret = stack.put_secret("easysend-api-key", DEFAULT_API_KEY).await;
    let mut config = EasySendConfig::with_defaults(&sim.base_url, secret);
    config.window = Duration::from_secs(60);
    config.lag = Duration::from_secs(10);
    config.overlap = Duration::from_secs(120);
    config.lookback = Duration::from_secs(300);
    config.min_window = Duration::from_secs(5);
    tweak(&mut config);
    let poller = Poller::new(stack.services(), config);
    Setup { stack, sim, poller }
}

impl Setup {
    async fn run(&self) -> Result<Value, String> {
        self.run_with(Context::default()).await
    }

    async fn run_with(&self, context: Context) -> Result<Value, String> {
        handle(
            &self.poller,
            LambdaEvent::new(json!({"stream": "security-logs"}), context),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Where the first run starts: the grid point a look-back before now.
    fn first_start(&self) -> DateTime<Utc> {
        let lookback = chrono::Duration::from_std(self.poller.config.lookback).unwrap();
        align_down(Utc::now() - lookback, MINUTE)
    }

    async fn cursor(&self) -> Option<String> {
        self.stack
            .state()
            .load(STREAM_KEY)
            .await
            .unwrap()
            .and_then(|s| s.cursor)
    }

    async fn set_cursor(&self, cursor: DateTime<Utc>) {
        self.stack
            .record_run(
                STREAM_KEY,
                "test-setup",
                &rfc3339(cursor),
                &Progress::default(),
            )
            .await;
    }
}

/// A log as EasySend writes it, at `at` (zoneless, microseconds).
fn log_at(at: DateTime<Utc>, action: &str) -> Value {
    json!({
        "message": "Security log",
        "environment": "acme-easysend",
        "product_type": "Player",
        "customer_id": "4711",
        "ecs": {"version": "8.11"},
        "@timestamp": at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "client": {"ip": "198.51.100.7"},
        "event": {"action": action, "timezone": "localhost"},
        "label": {"app_type": "player", "rid": format!("rid-{}", at.timestamp_micros())}
    })
}

/// The window tag (`<start>-<end>`) of a key's object id.
fn window_of(key: &str) -> String {
    key.rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ndjson.gz")
        .to_owned()
}

/// Asserts that `key` is named after one five-minute cell of the fixed grid.
fn assert_is_a_cell(key: &str) {
    let tag = window_of(key);
    let (from, to) = tag.split_once('-').unwrap();
    let parse = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ").unwrap();
    assert_eq!(
        parse(to) - parse(from),
        chrono::Duration::minutes(5),
        "objects are named after a cell: {key}"
    );
    assert_eq!(parse(from).and_utc().timestamp() % 300, 0, "{key}");
}

#[tokio::test]
async fn overlapping_windows_leave_each_log_in_s3_exactly_once() {
    settle().await;
    let s = setup("es-overlap", |_| {}).await;
    let start = s.first_start();
    s.sim.seed(
        200,
        start + chrono::Duration::seconds(5),
        start + chrono::Duration::seconds(235),
        ProductMix::Mixed,
    );
    // Logs exactly on window edges: an end that includes its last second would hand them to both
    // neighbouring windows.
    let edges: Vec<Value> = (1..4)
        .map(|i| log_at(start + MINUTE * i, "OPENED"))
        .collect();
    s.sim.insert_logs(&edges).unwrap();

    let first = s.run().await.unwrap();
    assert_eq!(first["outcome"], "drained");
    let keys_after_first = s.stack.keys().await;
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 203);

    let second = s.run().await.unwrap();
    assert!(second["refetched"].as_u64().unwrap() >= 2, "{second}");
    assert!(
        second["events_landed"].as_u64().unwrap() > 0,
        "the overlap was fetched again: {second}"
    );
    assert_eq!(
        s.stack.keys().await,
        keys_after_first,
        "re-fetches overwrite, never add objects"
    );
    let records = s.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), 203);
    assert!(records
        .iter()
        .any(|r| r["event"]["dataset"] == "easysend.builder"));
    assert!(keys_after_first
        .iter()
        .all(|k| k.contains("/vendor=easysend/event_type=")));
}

#[tokio::test]
async fn lean_records_write_moved_fields_once_and_every_log_comes_back_whole() {
    settle().await;
    let s = setup("es-lean", |_| {}).await;
    let start = s.first_start();
    // Logs with every field a lean record moves, with one that must stay (its ECS copy would differ), and
    // without some of them.
    let logs: Vec<Value> = (1..5)
        .map(|i| {
            let mut log = log_at(start + MINUTE * i, "OPENED");
            log["url"] =
                json!({"full": format!("https://forms.example/p{i}"), "domain": "forms.example"});
            log["organization"] = json!({"id": "org-1"});
            if i % 2 == 0 {
                log["service"] = json!({"name": "player", "version": "7.2"});
                log["geo"] = json!({"country_iso_code": "HU"});
            } else {
                log.as_object_mut().unwrap().remove("message");
            }
            log
        })
        .collect();
    s.sim.insert_logs(&logs).unwrap();
    s.run().await.unwrap();

    let records = s.stack.records().await;
    assert_eq!(assert_no_duplicates(&records), logs.len());
    let rebuilt: BTreeSet<String> = records
        .iter()
        .map(|r| {
            // Written once: under ECS, and not (or as an emptied object) under the vendor key.
            let vendor = &r["easysend"];
            for moved in ["message", "url", "organization", "service", "geo"] {
                assert!(
                    vendor.get(moved).is_none_or(|v| v == &json!({})),
                    "{moved} written twice: {r}"
                );
            }
            assert!(vendor["event"].get("action").is_none(), "{r}");
            assert!(vendor["client"].get("ip").is_none(), "{r}");
            assert!(vendor["label"].as_object().unwrap().is_empty(), "{r}");
            let original = tributary_shared::record::lean::original_of(r).unwrap();
            if let Some(geo) = original.get("geo") {
                assert_eq!(&r["client"]["geo"], geo, "geo is client.geo");
            }
            original.to_string()
        })
        .collect();
    let sent: BTreeSet<String> = logs.iter().map(Value::to_string).collect();
    assert_eq!(rebuilt, sent);
}

#[tokio::test]
async fn the_end_type_spelling_and_an_exclusive_end_lose_nothing() {
    settle().await;
    let s = setup("es-end-type", |c| c.end_param = "end_type".to_owned()).await;
    s.sim.update_config(easysend::ConfigUpdate {
        end_inclusive: Some(false),
        ..Default::default()
    });
    let start = s.first_start();
    let logs: Vec<Value> = (0..5)
        .map(|i| log_at(start + MINUTE * i, "COMPLETED"))
        .collect();
    s.sim.insert_logs(&logs).unwrap();

    s.run().await.unwrap();

    assert_eq!(assert_no_duplicates(&s.stack.records().await), 5);
    assert!(s
        .sim
        .requests()
        .iter()
        .all(|r| r.end_param.as_deref() == Some("end_type")));
}

#[tokio::test]
async fn late_logs_inside_the_lag_and_the_overlap_are_captured() {
    let s = setup("es-late", |c| {
        c.window = Duration::from_secs(2);
        c.lag = Duration::from_secs(3);
        c.overlap = Duration::from_secs(10);
        c.lookback = Duration::from_secs(20);
        c.min_window = Duration::from_secs(1);
    })
    .await;
    let now = Utc::now();
    s.sim.seed(
        20,
        now - chrono::Duration::seconds(15),
        now,
        ProductMix::Player,
    );
    let first = s.run().await.unwrap();
    let cursor = DateTime::parse_from_rfc3339(first["cursor"].as_str().unwrap())
        .unwrap()
        .to_utc();

    // Written after the run, dated inside windows it already landed (within the overlap) and inside
    // the lag it has not reached yet.
    let mut late_in_overlap = log_at(cursor - chrono::Duration::seconds(3), "DATA_SUBMITTED");
    late_in_overlap["label"]["rid"] = json!("late-in-overlap");
    let mut late_in_lag = log_at(Utc::now() - chrono::Duration::seconds(1), "STEP_COMPLETED");
    late_in_lag["label"]["rid"] = json!("late-in-lag");
    s.sim.insert_logs(&[late_in_overlap, late_in_lag]).unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    s.run().await.unwrap();

    let records = s.stack.records().await;
    assert_no_duplicates(&records);
    for rid in ["late-in-overlap", "late-in-lag"] {
        let landed = records.iter().filter(|r| r["labels"]["rid"] == rid).count();
        assert_eq!(landed, 1, "{rid}");
    }
}

#[tokio::test]
async fn a_408_on_a_wide_window_is_recovered_by_splitting() {
    settle().await;
    let s = setup("es-408", |c| c.lookback = Duration::from_secs(180)).await;
    let start = s.first_start();
    s.sim.seed(90, start, start + MINUTE * 3, ProductMix::Mixed);
    s.sim.set_timeout(Some(RequestTimeout {
        max_window_seconds: Some(20),
        delay_ms: 0,
        times: None,
    }));

    let report = s.run().await.unwrap();

    // 60 s → two of 30 s → four of 15 s, for each of three windows.
    assert_eq!(report["splits"], 9, "{report}");
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 90);
    for key in s.stack.keys().await {
        assert_is_a_cell(&key);
    }
    assert!(s.sim.requests().iter().any(|r| r.status == 408));
}

#[tokio::test]
async fn a_window_that_times_out_at_the_minimum_width_fails_loudly() {
    settle().await;
    let s = setup("es-408-min", |c| c.min_window = Duration::from_secs(30)).await;
    let start = s.first_start();
    s.sim.seed(10, start, start + MINUTE, ProductMix::Player);
    s.sim.set_timeout(Some(RequestTimeout {
        max_window_seconds: Some(20),
        delay_ms: 0,
        times: None,
    }));

    let error = s.run().await.unwrap_err();

    assert!(
        error.contains("408") && error.contains("TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS"),
        "{error}"
    );
    assert!(s.stack.keys().await.is_empty());
    // Nothing landed, so no cursor; the first start is kept for the next run, which starts there again.
    assert_eq!(s.cursor().await, None);
    let state = s
        .stack
        .state()
        .load("easysend#security-logs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state.meta.get("first_start"),
        Some(&tributary_shared::record::rfc3339(start))
    );
}

#[tokio::test]
async fn a_truncated_body_is_recovered_on_the_next_run_with_nothing_doubled() {
    for mode in [TruncateMode::Abort, TruncateMode::Clean] {
        settle().await;
        let s = setup("es-truncated", |_| {}).await;
        let start = s.first_start();
        s.sim
            .seed(150, start, start + MINUTE * 5, ProductMix::Player);
        // A burst in the third window makes its body the only one long enough to be cut.
        let burst = start + MINUTE * 2;
        s.sim.seed(100, burst, burst + MINUTE, ProductMix::Builder);
        s.sim.truncate_next(Truncate {
            after_logs: 60,
            mode,
            times: None,
        });

        let error = s.run().await.unwrap_err();
        assert!(
            error.contains("broke off") && error.contains("nothing of it is committed"),
            "{mode:?}: {error}"
        );
        assert_eq!(s.cursor().await, Some(rfc3339(burst)), "{mode:?}");
        assert!(
            s.stack.records_where("event_type=builder").await.is_empty(),
            "{mode:?}: nothing of the burst's window landed"
        );
        assert_eq!(
            s.stack.records().await.len(),
            60,
            "{mode:?}: the two windows before it landed"
        );

        s.sim.clear_faults();
        s.run().await.unwrap();
        assert_eq!(
            assert_no_duplicates(&s.stack.records().await),
            250,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_count_that_disagrees_with_the_headers_commits_nothing_for_that_window() {
    settle().await;
    let s = setup("es-mismatch", |_| {}).await;
    let start = s.first_start();
    s.sim
        .seed(50, start, start + MINUTE * 5, ProductMix::Player);
    s.sim.set_count_mismatch(CountMismatch {
        pages_delta: 0,
        results_delta: 1,
        times: Some(1),
    });

    let error = s.run().await.unwrap_err();
    assert!(error.contains("Number-Of-Results"), "{error}");
    assert!(s.stack.keys().await.is_empty());

    s.run().await.unwrap();
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 50);
}

#[tokio::test]
async fn a_401_is_reported_clearly_without_retrying() {
    let s = setup("es-401", |_| {}).await;
    s.sim.update_config(easysend::ConfigUpdate {
        api_key: Some("a-rotated-key".to_owned()),
        ..Default::default()
    });

    let error = s.run().await.unwrap_err();

    assert!(
        error.contains("401") && error.contains("API key"),
        "{error}"
    );
    assert!(
        error.contains(&s.poller.config.api_key_secret),
        "names the secret to fix: {error}"
    );
    assert!(
        !error.contains(DEFAULT_API_KEY),
        "never prints the key: {error}"
    );
    assert_eq!(s.sim.requests().len(), 1, "no retry storm");
}

#[tokio::test]
async fn a_400_names_the_bad_parameter() {
    let s = setup("es-400", |c| c.app_type = Some("builder".to_owned())).await;

    let error = s.run().await.unwrap_err();

    assert!(
        error.contains("400")
            && error.contains("app_type")
            && error.contains("TRIBUTARY_EASYSEND_APP_TYPE"),
        "{error}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    settle().await;
    let s = setup("es-500", |c| c.lookback = Duration::from_secs(60)).await;
    let start = s.first_start();
    s.sim.seed(10, start, start + MINUTE, ProductMix::Player);
    s.sim.fail_next(FailNext {
        status: 500,
        times: Some(2),
        delay_ms: 0,
    });
    s.run().await.unwrap();
    assert_eq!(s.stack.records().await.len(), 10, "two 500s are ridden out");

    s.sim.fail_next(FailNext {
        status: 500,
        times: None,
        delay_ms: 0,
    });
    let before = s.sim.requests().len();
    let error = s.run().await.unwrap_err();
    assert!(error.contains("gave up after 4 attempts"), "{error}");
    assert_eq!(s.sim.requests().len() - before, 4);
}

#[tokio::test]
async fn falling_behind_past_the_threshold_raises_the_retention_alarm() {
    let s = setup("es-alarm", |c| c.window = Duration::from_secs(3600)).await;
    let cursor = align_down(
        Utc::now() - chrono::Duration::hours(45),
        chrono::Duration::hours(1),
    );
    s.set_cursor(cursor).await;
    // Slow answers and a short invocation: the run gets through a few hours, not forty-five.
    s.sim.set_latency(Duration::from_millis(700));

    let report = s
        .run_with(tributary_shared::runtime::local_context(
            Duration::from_secs(10),
        ))
        .await
        .unwrap();

    assert_eq!(report["outcome"], "out_of_time", "{report}");
    assert_eq!(report["retention_alarm"], true, "{report}");
    assert!(
        report["cursor_lag_seconds"].as_i64().unwrap() > 36 * 3600,
        "{report}"
    );
    assert!(report["windows"].as_u64().unwrap() >= 1, "{report}");
}

#[tokio::test]
async fn logs_expired_before_they_were_fetched_are_reported_as_a_lost_range() {
    let s = setup("es-lost", |c| c.window = Duration::from_secs(3600)).await;
    let cursor = align_down(
        Utc::now() - chrono::Duration::hours(50),
        chrono::Duration::hours(1),
    );
    s.set_cursor(cursor).await;

    let report = s.run().await.unwrap();

    let lost = &report["lost"];
    assert_eq!(lost["start"], rfc3339(cursor), "{report}");
    assert!(
        lost["seconds"].as_i64().unwrap() >= 2 * 3600 - 60,
        "{report}"
    );
    let state = s.stack.state().load(STREAM_KEY).await.unwrap().unwrap();
    assert!(state.meta["last_lost_range"].starts_with(&rfc3339(cursor)));
    assert_eq!(
        report["retention_alarm"], false,
        "caught up within the run: {report}"
    );
}

#[tokio::test]
async fn two_concurrent_runs_do_not_both_advance_the_cursor() {
    settle().await;
    let s = setup("es-concurrent", |_| {}).await;
    let start = s.first_start();
    s.sim
        .seed(100, start, start + MINUTE * 5, ProductMix::Mixed);
    s.sim.set_latency(Duration::from_millis(300));

    let (a, b) = tokio::join!(s.run(), async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        s.run().await
    });
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(a["outcome"], "drained", "{a}");
    assert_eq!(b["outcome"], "busy", "{b}");
    assert_eq!(b["windows"], 0);
    assert_eq!(
        s.sim.requests().len() as u64,
        a["windows"].as_u64().unwrap()
    );
    assert_eq!(s.cursor().await.as_deref(), a["cursor"].as_str());
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 100);
}

#[tokio::test]
async fn hostile_product_types_land_under_the_fallback_and_the_stream_moves_on() {
    settle().await;
    let s = setup("es-hostile-types", |_| {}).await;
    let start = s.first_start();
    let at = |seconds: i64| start + chrono::Duration::seconds(seconds);
    let mut logs = vec![log_at(at(5), "OPENED")];
    for (i, product) in [
        "x".repeat(2_000),
        "_unparsed".to_owned(),
        "../x".to_owned(),
        "a\u{1}b\nc".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        let mut log = log_at(at(10 + i as i64), "SUBMITTED");
        log["product_type"] = json!(product);
        logs.push(log);
    }
    s.sim.insert_logs(&logs).unwrap();

    let report = s.run().await.expect("a hostile value never fails the run");
    assert_eq!(report["outcome"], "drained", "{report}");
    assert_eq!(report["events_landed"], 5, "{report}");
    let keys = s.stack.keys().await;
    for key in &keys {
        assert!(key.len() <= 1024, "{key}");
        let dt = key.split("/dt=").nth(1).unwrap().split('/').next().unwrap();
        assert_eq!(dt.len(), 10, "a four-digit year in {key}");
    }
    let types: BTreeSet<&str> = keys
        .iter()
        .map(|k| {
            k.split("event_type=")
                .nth(1)
                .unwrap()
                .split('/')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(types, BTreeSet::from(["_invalid", "player"]), "{keys:?}");
    let records = s.stack.records().await;
    let fallback: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"]["action"] == "SUBMITTED")
        .collect();
    assert_eq!(fallback.len(), 4);
    assert!(
        fallback
            .iter()
            .any(|r| r["easysend"]["product_type"] == "_unparsed"),
        "the vendor's own value is kept in the record"
    );

    // The cursor moved past the hostile logs; the next run goes on from there.
    let cursor = s.cursor().await.expect("the cursor moved");
    let next = s.run().await.expect("the next run succeeds");
    assert_eq!(next["outcome"], "drained", "{next}");
    assert!(s.cursor().await.unwrap() >= cursor);
}

/// The `start_time` of a request as a time.
fn request_start(request: &easysend::SeenRequest) -> DateTime<Utc> {
    let text = request
        .start_time
        .as_deref()
        .expect("every request has a start");
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S")
        .expect("YYYYMMDDHHMMSS")
        .and_utc()
}

#[tokio::test]
async fn a_first_run_a_whole_retention_back_asks_for_nothing_expired_and_the_next_reports_no_gap() {
    let s = setup("es-first-edge", |c| {
        c.window = Duration::from_secs(3600);
        c.lookback = Duration::from_secs(48 * 3600);
    })
    .await;
    let began = Utc::now();
    let retention = chrono::Duration::hours(48);
    // Logs from the very edge of what EasySend keeps to a few hours later.
    s.sim.seed(
        120,
        began - retention + chrono::Duration::minutes(5),
        began - retention + chrono::Duration::hours(3),
        ProductMix::Player,
    );

    let first = s.run().await.unwrap();
    assert_eq!(first["outcome"], "drained", "{first}");
    assert!(first.get("lost").is_none_or(Value::is_null), "{first}");
    assert!(first.get("losses").is_none(), "{first}");
    assert_eq!(first["events_landed"], 120, "{first}");
    let requests = s.sim.requests();
    let earliest = requests.iter().map(request_start).min().unwrap();
    assert!(
        earliest >= began - retention,
        "asked for {earliest}, before what EasySend keeps ({})",
        began - retention
    );
    let state = s.stack.state().load(STREAM_KEY).await.unwrap().unwrap();
    let first_start = DateTime::parse_from_rfc3339(&state.meta["first_start"]).unwrap();
    assert!(first_start >= began - retention, "{first_start}");

    // The next scheduled run finds no range that was reachable and not fetched.
    let second = s.run().await.unwrap();
    assert_eq!(second["outcome"], "drained", "{second}");
    assert!(second.get("lost").is_none_or(Value::is_null), "{second}");
    assert!(second.get("losses").is_none(), "{second}");
    let state = s.stack.state().load(STREAM_KEY).await.unwrap().unwrap();
    assert!(
        !state.meta.contains_key("last_lost_range"),
        "{:?}",
        state.meta
    );
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 120);
}

#[tokio::test]
async fn losing_the_lease_before_the_first_cursor_write_is_a_clean_lost_lease() {
    settle().await;
    let s = setup("es-first-race", |_| {}).await;
    let start = s.first_start();
    s.sim
        .seed(30, start, start + MINUTE * 4, ProductMix::Player);
    // The first window takes long enough for another run to take the stream over meanwhile.
    s.sim.set_latency(Duration::from_millis(1500));

    let (report, ()) = tokio::join!(s.run(), async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        use aws_sdk_dynamodb::types::AttributeValue;
        s.stack
            .dynamodb
            .update_item()
            .table_name(&s.stack.table)
            .key(
                tributary_shared::state::PARTITION_KEY,
                AttributeValue::S(STREAM_KEY.to_owned()),
            )
            .update_expression("SET lease_owner = :other, version = version + :one")
            .expression_attribute_values(":other", AttributeValue::S("another-run".to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .send()
            .await
            .expect("another run takes the stream over");
    });

    let report = report.expect("a lost race is not an error");
    assert_eq!(report["outcome"], "lost_lease", "{report}");
    let state = s.stack.state().load(STREAM_KEY).await.unwrap().unwrap();
    assert_eq!(
        state.cursor, None,
        "the run that lost the race moved nothing"
    );
    assert_eq!(state.lease_owner.as_deref(), Some("another-run"));
    assert_ne!(state.last_run_outcome.as_deref(), Some("failed"));
}

#[tokio::test]
async fn changing_the_window_size_mid_stream_never_lands_a_log_twice() {
    let s = setup("es-resize", |c| {
        c.window = Duration::from_secs(300);
        c.overlap = Duration::from_secs(900);
        c.lookback = Duration::from_secs(1800);
    })
    .await;
    let now = Utc::now();
    s.sim.seed(
        300,
        now - chrono::Duration::seconds(1800),
        now - chrono::Duration::seconds(700),
        ProductMix::Mixed,
    );
    let first = s.run().await.unwrap();
    assert_eq!(first["outcome"], "drained", "{first}");
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 300);
    let cursor = DateTime::parse_from_rfc3339(first["cursor"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let mut late = log_at(cursor - chrono::Duration::seconds(400), "DATA_SUBMITTED");
    late["label"]["rid"] = json!("late-after-resize");
    s.sim.insert_logs(&[late]).unwrap();

    // 300 → 600 s (the case that doubled 56 of 808 logs), then 120 s, whose windows straddle the cells.
    for window in [600, 120] {
        let mut config = s.poller.config.clone();
        config.window = Duration::from_secs(window);
        let resized = Poller::new(s.stack.services(), config);
        let report = handle(
            &resized,
            LambdaEvent::new(json!({"stream": "security-logs"}), Context::default()),
        )
        .await
        .unwrap();
        assert_eq!(report["outcome"], "drained", "{window}: {report}");
        assert!(
            report["refetched"].as_u64().unwrap() >= 1,
            "{window}: the overlap was fetched again: {report}"
        );
        let records = s.stack.records().await;
        assert_eq!(assert_no_duplicates(&records), 301, "{window} s windows");
        let late = records
            .iter()
            .filter(|r| r["labels"]["rid"] == "late-after-resize")
            .count();
        assert_eq!(late, 1, "{window}");
    }
    for key in s.stack.keys().await {
        assert_is_a_cell(&key);
    }
}

#[tokio::test]
async fn the_sweep_recovers_logs_written_10_and_30_minutes_late_exactly_once() {
    let s = setup("es-sweep", |c| {
        c.lookback = Duration::from_secs(3600);
        c.sweep_every = Duration::from_secs(1);
        c.sweep_reach = Duration::from_secs(45 * 60);
        c.sweep_window = Duration::from_secs(20 * 60);
    })
    .await;
    let now = Utc::now();
    s.sim.seed(
        200,
        now - chrono::Duration::minutes(55),
        now - chrono::Duration::minutes(1),
        ProductMix::Mixed,
    );
    let first = s.run().await.unwrap();
    assert_eq!(first["outcome"], "drained", "{first}");
    assert!(
        first.get("sweep").is_none(),
        "the first collection has just read everything: {first}"
    );
    let cursor = DateTime::parse_from_rfc3339(first["cursor"].as_str().unwrap())
        .unwrap()
        .to_utc();

    // Written now, dated far behind the lag and the overlap (130 s here); the last beyond the sweep's reach.
    let late: Vec<Value> = [(10, "late-10"), (30, "late-30"), (50, "late-50")]
        .into_iter()
        .map(|(minutes, rid)| {
            let mut log = log_at(
                cursor - chrono::Duration::minutes(minutes),
                "DATA_SUBMITTED",
            );
            log["label"]["rid"] = json!(rid);
            log
        })
        .collect();
    s.sim.insert_logs(&late).unwrap();
    let landed =
        |records: &[Value], rid: &str| records.iter().filter(|r| r["labels"]["rid"] == rid).count();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let before = s.sim.requests().len();
    let second = s.run().await.unwrap();
    assert_eq!(second["outcome"], "drained", "{second}");
    let sweep = &second["sweep"];
    assert_eq!(sweep["late_logs_recovered"], 2, "{second}");
    assert_eq!(sweep["complete"], true, "{second}");
    // 45 minutes in requests of 20: three or four requests, whatever the alignment.
    let requests = sweep["requests"].as_u64().unwrap();
    assert!((3..=4).contains(&requests), "{second}");
    assert!(s.sim.requests().len() - before >= requests as usize);
    assert!(sweep["bytes"].as_u64().unwrap() > 10_000, "{second}");
    assert!(sweep["objects_read"].as_u64().unwrap() > 0, "{second}");
    let records = s.stack.records().await;
    assert_eq!(landed(&records, "late-10"), 1);
    assert_eq!(landed(&records, "late-30"), 1);
    assert_eq!(
        landed(&records, "late-50"),
        0,
        "later than the sweep's reach is still missed"
    );
    assert_eq!(assert_no_duplicates(&records), 202);

    // The next sweep finds nothing new and lands nothing twice.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let third = s.run().await.unwrap();
    assert_eq!(third["sweep"]["late_logs_recovered"], 0, "{third}");
    let records = s.stack.records().await;
    assert_eq!(landed(&records, "late-10"), 1);
    assert_eq!(landed(&records, "late-30"), 1);
    assert_eq!(assert_no_duplicates(&records), 202);
}

/// Logs whose own `@timestamp` cannot place them, kept by the vendor among the logs of one minute: each kind
/// lands under `_unparsed` with its text and the reason, the logs around it land as records, and the stream moves
/// on. Fetched again (the next runs' overlap, in the same hour and in another, and a sweep over the same minutes in
/// wider requests), none of them lands twice; two with the same text stay two, and one written later still lands.
#[tokio::test]
async fn logs_their_own_time_cannot_place_land_once_under_unparsed_and_the_stream_moves_on() {
    settle().await;
    let s = setup("es-unplaced", |c| {
        // The next run's overlap reaches back past the minute of the bad logs.
        c.overlap = Duration::from_secs(360);
        c.sweep_every = Duration::from_secs(1);
        c.sweep_reach = Duration::from_secs(45 * 60);
        c.sweep_window = Duration::from_secs(20 * 60);
    })
    .await;
    let start = s.first_start();
    let kept_at = start + chrono::Duration::seconds(90);
    s.sim.seed(40, start, start + MINUTE * 4, ProductMix::Mixed);
    let plain = json!("Security log, as plain text");
    // Each bad log, the reason its error names, and how many of it the vendor keeps.
    let mut bad = vec![
        (
            json!({"message": "Security log", "product_type": "Player"}),
            "no @timestamp",
            1,
        ),
        (
            json!({"@timestamp": "yesterday", "message": "Security log"}),
            "@timestamp",
            1,
        ),
        (
            json!({"@timestamp": 1_732_099_062, "message": "Security log"}),
            "no @timestamp",
            1,
        ),
        (plain.clone(), "not a JSON object", 2),
        (
            json!([{"@timestamp": "2024-11-20T10:37:42.943305"}]),
            "not a JSON object",
            1,
        ),
    ];
    let texts: Vec<Value> = bad
        .iter()
        .flat_map(|(log, _, times)| std::iter::repeat_n(log.clone(), *times))
        .collect();
    s.sim.insert_unplaced(kept_at, &texts);

    let first = s.run().await.expect("bad logs never fail the run");
    assert_eq!(first["outcome"], "drained", "{first}");
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 40);
    let cursor = s
        .cursor()
        .await
        .expect("the cursor moved past the bad logs");

    let check = |unparsed: &[Value], bad: &[(Value, &str, usize)], when: &str| {
        let expected: usize = bad.iter().map(|(_, _, times)| times).sum();
        assert_eq!(unparsed.len(), expected, "{when}: {unparsed:#?}");
        assert_eq!(
            assert_no_duplicates(unparsed),
            expected,
            "{when}: an id each"
        );
        for (log, reason, times) in bad {
            let text = log.to_string();
            let found: Vec<&Value> = unparsed
                .iter()
                .filter(|u| u["event"]["original"] == text.as_str())
                .collect();
            assert_eq!(found.len(), *times, "{when}: {text} in {unparsed:#?}");
            for item in found {
                assert_eq!(item["event"]["kind"], "pipeline_error");
                assert_eq!(item["event"]["dataset"], "easysend._unparsed");
                let error = item["error"]["message"].as_str().unwrap();
                assert!(error.contains(reason), "{when}: {error} names {reason}");
                assert_eq!(item["tributary"]["stream"], "security-logs");
            }
        }
    };
    check(&s.stack.unparsed().await, &bad, "after the first run");

    // One more log with a text that landed, written after the first run fetched its minute. The next run's overlap
    // rewrites that minute's object (in the same hour, as a rule) with it, and its sweep meets all seven again.
    s.sim.insert_unplaced(kept_at, std::slice::from_ref(&plain));
    bad[3].2 += 1;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = s.run().await.unwrap();
    assert_eq!(second["outcome"], "drained", "{second}");
    assert_eq!(second["sweep"]["complete"], true, "{second}");
    check(
        &s.stack.unparsed().await,
        &bad,
        "after the overlap and a sweep",
    );
    assert_eq!(
        second["unparsed_fetched_again"], 13,
        "6 in the overlap, 7 in the sweep: {second}"
    );

    // As if the next run came in the next hour: what landed is filed an hour later. (Only objects of the hour of a
    // window's start or later can hold what its fetches landed; a later hour stands for one the test cannot wait
    // for.)
    assert!(s.stack.shift_unparsed_hours(1).await > 0);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let third = s.run().await.unwrap();
    assert_eq!(third["outcome"], "drained", "{third}");
    assert_eq!(third["sweep"]["complete"], true, "{third}");
    check(
        &s.stack.unparsed().await,
        &bad,
        "after a run in another hour",
    );
    assert_eq!(
        third["unparsed_fetched_again"], 14,
        "7 in the overlap, 7 in the sweep: {third}"
    );
    assert_eq!(assert_no_duplicates(&s.stack.records().await), 40);
    assert!(s.cursor().await.unwrap() >= cursor);
}
