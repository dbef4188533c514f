//! `transmit-poller` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
//! environment.

use std::process::{Command, Output};

/// Runs the binary with nothing in its environment but `vars`: no AWS settings, no credentials.
fn run(binary: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(binary)
        .env_clear()
        .envs(vars.iter().copied())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

const BINARY: &str = env!("CARGO_BIN_EXE_transmit-poller");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    let help = stdout(&run(BINARY, &["--help"], &[]));
    assert!(
        help.starts_with(&format!("transmit-poller {}\n", env!("CARGO_PKG_VERSION"))),
        "{help}"
    );
    assert!(
        help.contains("  transmit-poller [event.json|-]\n"),
        "{help}"
    );
    assert!(help.contains("TRIBUTARY_BUCKET (required)"), "{help}");
    assert!(
        help.contains("TRIBUTARY_TRANSMIT_SECRET_ID (required)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_TRANSMIT_BATCH_SIZE (default 1000)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_LEASE_SECONDS (default 45)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_HTTP_MAX_ATTEMPTS (default 4)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_LOG_LEVEL (default info)"),
        "{help}"
    );
    assert_eq!(stdout(&run(BINARY, &["-h"], &[])), help);
}

#[test]
fn version_is_the_name_and_the_version() {
    let expected = format!("transmit-poller {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&run(BINARY, &["--version"], &[])), expected);
    assert_eq!(stdout(&run(BINARY, &["-V"], &[])), expected);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    let output = run(
        BINARY,
        &[],
        &[
            ("TRIBUTARY_TRANSMIT_BATCH_SIZE", "-5"),
            ("TRIBUTARY_LEASE_SECONDS", "soon"),
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "TRIBUTARY_TRANSMIT_BATCH_SIZE=-5 must be a whole number of events from 1 to 1000"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("TRIBUTARY_LEASE_SECONDS=soon must be a whole number of seconds, 1 or more"),
        "{stderr}"
    );
    assert!(stderr.contains("TRIBUTARY_BUCKET must be set"), "{stderr}");
    // Plain words, not a Rust Debug dump or a parser's message.
    for debug in ["Error: ", "Missing {", "Invalid {", "invalid digit"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
    assert!(output.stdout.is_empty(), "{output:?}");
}

#[test]
fn under_lambda_the_problems_are_one_json_log_line() {
    let output = run(
        BINARY,
        &[],
        &[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
            ("TRIBUTARY_TRANSMIT_REGION", "mars"),
            ("TRIBUTARY_HTTP_MAX_ATTEMPTS", "0"),
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON log line");
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["message"], "The configuration is not valid.");
    let error = line["error"].as_str().expect("the problems");
    assert!(
        error.contains("TRIBUTARY_TRANSMIT_REGION=mars must be one of us, eu, ca, au, sandbox"),
        "{error}"
    );
    assert!(
        error.contains(
            "TRIBUTARY_HTTP_MAX_ATTEMPTS=0 must be a whole number of attempts from 1 to 100"
        ),
        "{error}"
    );
}
