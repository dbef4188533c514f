//! `lookout-stream` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
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

const BINARY: &str = env!("CARGO_BIN_EXE_lookout-stream");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    let help = stdout(&run(BINARY, &["--help"], &[]));
    assert!(
        help.starts_with(&format!("lookout-stream {}\n", env!("CARGO_PKG_VERSION"))),
        "{help}"
    );
    assert!(help.contains("  lookout-stream [event.json|-]\n"), "{help}");
    assert!(
        help.contains("TRIBUTARY_LOOKOUT_SECRET_ID (required)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_LOOKOUT_TYPES (default THREAT,DEVICE,AUDIT,SMISHING_ALERT)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_LOOKOUT_SESSION_SECONDS (unset: until the deadline)"),
        "{help}"
    );
    assert_eq!(stdout(&run(BINARY, &["-h"], &[])), help);
}

#[test]
fn version_is_the_name_and_the_version() {
    let expected = format!("lookout-stream {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&run(BINARY, &["--version"], &[])), expected);
    assert_eq!(stdout(&run(BINARY, &["-V"], &[])), expected);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    let output = run(
        BINARY,
        &[],
        &[
            ("TRIBUTARY_LOOKOUT_LOOKBACK_HOURS", "300"),
            ("TRIBUTARY_GZIP_LEVEL", "12"),
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "TRIBUTARY_LOOKOUT_LOOKBACK_HOURS=300 must be a whole number of hours from 0 to 240"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("TRIBUTARY_GZIP_LEVEL=12 must be a whole number from 1 to 9"),
        "{stderr}"
    );
    // Plain words, not a Rust Debug dump or a parser's message.
    for debug in ["Error: ", "Missing {", "Invalid {", "invalid digit"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
    assert!(output.stdout.is_empty(), "{output:?}");
}
