//! `strivacity-receiver` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
//! environment.

use tributary_testkit::cli::{run, stdout};

const BINARY: &str = env!("CARGO_BIN_EXE_strivacity-receiver");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    let help = stdout(&run(BINARY, &["--help"], &[]));
    assert!(
        help.starts_with(&format!(
            "strivacity-receiver {}\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{help}"
    );
    assert!(
        help.contains("  strivacity-receiver [request.json|-]\n"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_STRIVACITY_SECRET_ID (required)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS (default 503)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_SAFETY_MARGIN_SECONDS (default 2)"),
        "{help}"
    );
    assert_eq!(stdout(&run(BINARY, &["-h"], &[])), help);
}

#[test]
fn version_is_the_name_and_the_version() {
    let expected = format!("strivacity-receiver {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&run(BINARY, &["--version"], &[])), expected);
    assert_eq!(stdout(&run(BINARY, &["-V"], &[])), expected);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    let output = run(
        BINARY,
        &[],
        &[
            ("TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS", "500"),
            ("TRIBUTARY_STRIVACITY_LAND_TIMEOUT_SECONDS", "-20"),
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TRIBUTARY_STRIVACITY_BULK_BUSY_STATUS=500 must be one of 503, 429"),
        "{stderr}"
    );
    assert!(stderr.contains("TRIBUTARY_STRIVACITY_LAND_TIMEOUT_SECONDS=-20 must be a whole number of seconds, zero or more"), "{stderr}");
    // Plain words, not a Rust Debug dump or a parser's message.
    for debug in ["Error: ", "Missing {", "Invalid {", "invalid digit"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
    assert!(output.stdout.is_empty(), "{output:?}");
}

const STANDALONE: &str = env!("CARGO_BIN_EXE_strivacity-receiver-standalone");

#[test]
fn the_standalone_host_answers_help_and_version_too() {
    let help = stdout(&run(STANDALONE, &["--help"], &[]));
    assert!(
        help.contains("  strivacity-receiver-standalone [--listen HOST:PORT]\n"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_STRIVACITY_LISTEN_ADDR (default 127.0.0.1:8088)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_STRIVACITY_SECRET_ID (required)"),
        "{help}"
    );
    assert_eq!(
        stdout(&run(STANDALONE, &["-V"], &[])),
        format!(
            "strivacity-receiver-standalone {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn the_standalone_host_refuses_bad_settings_before_listening() {
    let output = run(
        STANDALONE,
        &["--listen", "127.0.0.1:0"],
        &[
            ("TRIBUTARY_BUCKET", "b"),
            ("TRIBUTARY_STRIVACITY_MAX_EVENTS", "0"),
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "TRIBUTARY_STRIVACITY_MAX_EVENTS=0 must be a whole number of events from 1 to 1000000"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("TRIBUTARY_STRIVACITY_SECRET_ID must be set"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("listening"),
        "{output:?}"
    );
}
