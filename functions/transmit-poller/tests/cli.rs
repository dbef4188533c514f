//! `transmit-poller` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
//! environment.

use tributary_testkit::cli;

const BINARY: &str = env!("CARGO_BIN_EXE_transmit-poller");
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    cli::assert_help(
        BINARY,
        "transmit-poller",
        VERSION,
        &[
            "  transmit-poller [event.json|-]\n",
            "TRIBUTARY_BUCKET (required)",
            "TRIBUTARY_TRANSMIT_SECRET_ID (required)",
            "TRIBUTARY_TRANSMIT_BATCH_SIZE (default 1000)",
            "TRIBUTARY_LEASE_SECONDS (default 45)",
            "TRIBUTARY_HTTP_MAX_ATTEMPTS (default 4)",
            "TRIBUTARY_LOG_LEVEL (default info)",
        ],
    );
}

#[test]
fn version_is_the_name_and_the_version() {
    cli::assert_version(BINARY, "transmit-poller", VERSION);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    cli::assert_refused_in_plain_words(
        BINARY,
        &[
            ("TRIBUTARY_TRANSMIT_BATCH_SIZE", "-5"),
            ("TRIBUTARY_LEASE_SECONDS", "soon"),
        ],
        &[
            "TRIBUTARY_TRANSMIT_BATCH_SIZE=-5 must be a whole number of events from 1 to 1000",
            "TRIBUTARY_LEASE_SECONDS=soon must be a whole number of seconds, 1 or more",
            "TRIBUTARY_BUCKET must be set",
        ],
    );
}

#[test]
fn under_lambda_the_problems_are_one_json_log_line() {
    let output = cli::run(
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
