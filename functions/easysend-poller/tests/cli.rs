//! `easysend-poller` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
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

const BINARY: &str = env!("CARGO_BIN_EXE_easysend-poller");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    let help = stdout(&run(BINARY, &["--help"], &[]));
    assert!(
        help.starts_with(&format!("easysend-poller {}\n", env!("CARGO_PKG_VERSION"))),
        "{help}"
    );
    assert!(
        help.contains("  easysend-poller [event.json|-]\n"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_EASYSEND_PLAYER_URL (required)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_EASYSEND_WINDOW_SECONDS (default 300)"),
        "{help}"
    );
    assert!(
        help.contains("TRIBUTARY_EASYSEND_APP_TYPE (unset: Player and Builder logs)"),
        "{help}"
    );
    assert!(help.contains("TRIBUTARY_STATE_TABLE (required)"), "{help}");
    assert_eq!(stdout(&run(BINARY, &["-h"], &[])), help);
}

#[test]
fn version_is_the_name_and_the_version() {
    let expected = format!("easysend-poller {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&run(BINARY, &["--version"], &[])), expected);
    assert_eq!(stdout(&run(BINARY, &["-V"], &[])), expected);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    let output = run(
        BINARY,
        &[],
        &[
            ("TRIBUTARY_EASYSEND_WINDOW_SECONDS", "5"),
            ("TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS", "10"),
            ("TRIBUTARY_SAFETY_MARGIN_SECONDS", "-1"),
        ],
    );
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TRIBUTARY_EASYSEND_WINDOW_SECONDS=5 must be at least TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS=10"), "{stderr}");
    assert!(
        stderr.contains(
            "TRIBUTARY_SAFETY_MARGIN_SECONDS=-1 must be a whole number of seconds, zero or more"
        ),
        "{stderr}"
    );
    // Plain words, not a Rust Debug dump or a parser's message.
    for debug in ["Error: ", "Missing {", "Invalid {", "invalid digit"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
    assert!(output.stdout.is_empty(), "{output:?}");
}
