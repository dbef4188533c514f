//! The shared run cycle as an operator meets it, through the real binary (`tributary-ctl run <function>`, the very
//! handler Lambda runs) against the local AWS stack and the vendor simulators: one outcome vocabulary for every
//! polling function, every run metric present with zeros, a lease held elsewhere is `busy`, an unreachable vendor
//! is `failed`, and a run killed with SIGKILL frees its stream within one lease lifetime.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tributary_shared::metrics::RUN_COUNTERS;
use tributary_shared::run::Outcome;
use tributary_shared::state::LeaseOutcome;
use tributary_simulators::easysend::{self, ProductMix, SimConfig, DEFAULT_API_KEY};
use tributary_simulators::lookout::{self, LookoutOptions, Settings, DEFAULT_APP_KEY};
use tributary_simulators::transmit::{self, GenSpec, Target};
use tributary_testkit::Stack;

/// A closed port on loopback: nothing answers there.
const UNREACHABLE: &str = "http://127.0.0.1:9";

fn command(stack: &Stack, vars: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = stack.command(env!("CARGO_BIN_EXE_tributary-ctl"));
    command
        .env("TRIBUTARY_HTTP_MAX_ATTEMPTS", "2")
        .env("TRIBUTARY_HTTP_BACKOFF_MS", "20")
        .env("TRIBUTARY_LOCAL_TIMEOUT_SECONDS", "20")
        .env("TRIBUTARY_SAFETY_MARGIN_SECONDS", "1")
        .args(args);
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

async fn run(stack: &Stack, vars: &[(&str, String)], function: &Function) -> Output {
    let mut command = command(
        stack,
        vars,
        &["run", function.name, "--stream", function.stream],
    );
    // The simulators serve from this test's runtime, so the child is waited for off its threads.
    tokio::task::spawn_blocking(move || command.output().expect("run tributary-ctl"))
        .await
        .expect("the child finished")
}

/// Every JSON document on stdout: the run's EMF metrics line, then (for a run that did not fail) its answer.
fn documents(output: &Output) -> Vec<Value> {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|doc| doc.unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text}")))
        .collect()
}

fn metrics(output: &Output) -> Value {
    documents(output)
        .into_iter()
        .find(|d| d.get("_aws").is_some())
        .unwrap_or_else(|| {
            panic!(
                "no metrics line: {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
}

fn answer(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "the run failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    documents(output)
        .into_iter()
        .rfind(|d| d.get("_aws").is_none())
        .expect("an answer on stdout")
}

/// Every run counter is in the metrics line, with a value, whether or not anything counted it.
fn assert_every_counter(metrics: &Value) {
    let defined: Vec<&str> = metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    for (name, _) in RUN_COUNTERS {
        assert!(metrics[name].is_number(), "{name} missing: {metrics}");
        assert!(defined.contains(name), "{name} not declared: {metrics}");
    }
}

/// One polling function wired to its simulator: how to run it, and how to break its vendor URL.
struct Function {
    name: &'static str,
    stream: &'static str,
    state_key: &'static str,
    vars: Vec<(&'static str, String)>,
    url_var: &'static str,
}

async fn transmit_function(stack: &Stack, sim: &transmit::TransmitSim) -> Function {
    let config = sim.config();
    let secret = stack
        .put_secret(
            "transmit",
            &json!({"client_id": config.client_id, "client_secret": config.client_secret})
                .to_string(),
        )
        .await;
    Function {
        name: "transmit-poller",
        stream: "cis",
        state_key: "transmit#cis",
        vars: vec![
            ("TRIBUTARY_TRANSMIT_BASE_URL", sim.api_url()),
            ("TRIBUTARY_TRANSMIT_TOKEN_URL", sim.token_url()),
            ("TRIBUTARY_TRANSMIT_SECRET_ID", secret),
            ("TRIBUTARY_TRANSMIT_BATCH_SIZE", "100".to_owned()),
        ],
        url_var: "TRIBUTARY_TRANSMIT_TOKEN_URL",
    }
}

async fn easysend_function(stack: &Stack, sim: &easysend::EasySendSim) -> Function {
    let secret = stack.put_secret("easysend", DEFAULT_API_KEY).await;
    Function {
        name: "easysend-poller",
        stream: "security-logs",
        state_key: "easysend#security-logs",
        vars: vec![
            ("TRIBUTARY_EASYSEND_PLAYER_URL", sim.base_url.clone()),
            ("TRIBUTARY_EASYSEND_API_KEY_SECRET", secret),
            ("TRIBUTARY_EASYSEND_LOOKBACK_SECONDS", "3600".to_owned()),
        ],
        url_var: "TRIBUTARY_EASYSEND_PLAYER_URL",
    }
}

async fn lookout_function(stack: &Stack, sim: &lookout::LookoutSim) -> Function {
    let secret = stack
        .put_secret(
            "lookout",
            &json!({ "application_key": DEFAULT_APP_KEY }).to_string(),
        )
        .await;
    Function {
        name: "lookout-stream",
        stream: "events",
        state_key: "lookout#events",
        vars: vec![
            ("TRIBUTARY_LOOKOUT_BASE_URL", sim.base_url().to_owned()),
            ("TRIBUTARY_LOOKOUT_SECRET_ID", secret),
            ("TRIBUTARY_LOOKOUT_HEARTBEAT_MS", "200".to_owned()),
            ("TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS", "2".to_owned()),
            ("TRIBUTARY_LOOKOUT_SESSION_SECONDS", "8".to_owned()),
            ("TRIBUTARY_LOOKOUT_RECONNECT_DELAY_MS", "50".to_owned()),
            ("TRIBUTARY_LOOKOUT_FLUSH_INTERVAL_MS", "300".to_owned()),
        ],
        url_var: "TRIBUTARY_LOOKOUT_BASE_URL",
    }
}

/// A normal run, a run while another holds the lease, and a run against an unreachable vendor: the outcome in
/// the answer, in state and in the metrics speak the same words for every function.
async fn check_outcomes(stack: &Stack, function: &Function) -> Vec<String> {
    let state = stack.state();
    let mut seen = Vec::new();

    let output = run(stack, &function.vars, function).await;
    let report = answer(&output);
    let outcome = report["outcome"].as_str().unwrap().to_owned();
    assert!(
        matches!(outcome.as_str(), "drained" | "out_of_time"),
        "{}: {report}",
        function.name
    );
    assert!(report["events_landed"].as_u64().unwrap() > 0, "{report}");
    let item = state.load(function.state_key).await.unwrap().unwrap();
    assert_eq!(item.last_run_outcome.as_deref(), Some(outcome.as_str()));
    assert_eq!(item.lease_owner, None, "the lease is given back");
    let emitted = metrics(&output);
    assert_every_counter(&emitted);
    assert_eq!(emitted["Errors"], 0.0, "{emitted}");
    assert_eq!(emitted["Function"], function.name);
    seen.push(outcome);

    let LeaseOutcome::Acquired(_) = state
        .acquire(function.state_key, "someone-else", Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("the lease was free");
    };
    let output = run(stack, &function.vars, function).await;
    let report = answer(&output);
    assert_eq!(report["outcome"], "busy", "{report}");
    assert_eq!(report["held_by"], "someone-else");
    let emitted = metrics(&output);
    assert_every_counter(&emitted);
    assert_eq!(emitted["LeaseBusy"], 1.0);
    seen.push("busy".to_owned());
    let held = state.load(function.state_key).await.unwrap().unwrap();
    let mut lease = tributary_shared::state::Lease {
        owner: "someone-else".to_owned(),
        until: held.lease_until.unwrap(),
        state: held,
    };
    lease.state.stream = function.state_key.to_owned();
    state.release(lease).await.unwrap();

    let mut broken = function.vars.clone();
    broken.retain(|(name, _)| *name != function.url_var);
    broken.push((function.url_var, UNREACHABLE.to_owned()));
    let output = run(stack, &broken, function).await;
    assert!(
        !output.status.success(),
        "{}: a run that cannot reach its vendor must fail: {}",
        function.name,
        String::from_utf8_lossy(&output.stdout)
    );
    let emitted = metrics(&output);
    assert_every_counter(&emitted);
    assert!(emitted["Errors"].as_f64().unwrap() >= 1.0, "{emitted}");
    let item = state.load(function.state_key).await.unwrap().unwrap();
    assert_eq!(
        item.last_run_outcome.as_deref(),
        Some("failed"),
        "{}",
        function.name
    );
    assert!(item.last_run_error.is_some());
    seen.push("failed".to_owned());
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_polling_function_speaks_the_same_outcomes_and_emits_every_counter() {
    let stack = Stack::new("run-cycle-outcomes").await;
    let transmit_sim = transmit::spawn(transmit::Config::default()).await;
    transmit_sim
        .seed(serde_json::from_value::<GenSpec>(json!({"type": "cis", "count": 250})).unwrap());
    let easysend_sim = easysend::spawn(SimConfig::default()).await;
    let now = chrono::Utc::now();
    easysend_sim.seed(
        40,
        now - chrono::Duration::minutes(50),
        now - chrono::Duration::minutes(10),
        ProductMix::Player,
    );
    let lookout_sim = lookout::spawn(LookoutOptions {
        settings: Settings {
            heartbeat_ms: 200,
            ..Settings::default()
        },
        ..LookoutOptions::default()
    })
    .await;
    lookout_sim
        .seed_generated(60, &Default::default())
        .expect("seed Lookout");

    let functions = [
        transmit_function(&stack, &transmit_sim).await,
        easysend_function(&stack, &easysend_sim).await,
        lookout_function(&stack, &lookout_sim).await,
    ];
    for function in &functions {
        for outcome in check_outcomes(&stack, function).await {
            assert!(
                Outcome::parse(&outcome).is_some(),
                "{}: {outcome:?} is not in the vocabulary",
                function.name
            );
        }
    }
}

fn spawn(stack: &Stack, function: &Function) -> Child {
    command(
        stack,
        &function.vars,
        &["run", function.name, "--stream", function.stream],
    )
    .env("TRIBUTARY_LOCAL_TIMEOUT_SECONDS", "600")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start tributary-ctl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_backlog_frees_its_stream_within_one_lease_lifetime() {
    let stack = Stack::new("run-cycle-sigkill").await;
    let sim = transmit::spawn(transmit::Config::default()).await;
    sim.seed(serde_json::from_value::<GenSpec>(json!({"type": "cis", "count": 5000})).unwrap());
    // Slow collects: the run is mid-backlog for minutes, far longer than a lease lifetime.
    sim.slow(None, Duration::from_millis(400), Target::Collect);
    let function = transmit_function(&stack, &sim).await;
    let state = stack.state();

    let mut child = spawn(&stack, &function);
    let waiting = Instant::now();
    while sim.stats().collects < 2 {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the run never collected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held = state.load(function.state_key).await.unwrap().unwrap();
    assert!(held.lease_owner.is_some(), "the run holds the lease");
    child.kill().expect("SIGKILL the run");
    child.wait().unwrap();
    let killed_at = Instant::now();

    // Right after the kill the lease still stands, so an overlapping run is busy...
    let output = run(&stack, &function.vars, &function).await;
    assert_eq!(answer(&output)["outcome"], "busy");
    // ...but no heartbeat renews it any more: it lapses within one default lifetime (45 s) of the kill, however
    // long the runs themselves take on a loaded machine, and the first run after that collects.
    let lease_until = state
        .load(function.state_key)
        .await
        .unwrap()
        .unwrap()
        .lease_until
        .expect("the killed run's lease");
    let lapses_in = (lease_until - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    let lapses_after_kill = killed_at.elapsed() + lapses_in;
    assert!(
        lapses_after_kill <= Duration::from_secs(46),
        "the lease lapses {lapses_after_kill:?} after the kill"
    );
    tokio::time::sleep(lapses_in + Duration::from_millis(200)).await;
    sim.clear_faults();
    let collected = answer(&run(&stack, &function.vars, &function).await);
    eprintln!(
        "killed run's lease lapsed {lapses_after_kill:?} after the kill; next run collected {:?} after it",
        killed_at.elapsed()
    );
    // It collects, and says the killed run may have cost the batch it had in flight.
    assert_eq!(collected["outcome"], "degraded", "{collected}");
    assert_eq!(collected["losses"][0]["kind"], "possibly_lost_batches");
    assert_eq!(collected["losses"][0]["count"], 1);
    assert!(collected["events_landed"].as_u64().unwrap() > 0);
}
