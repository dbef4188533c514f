//! `tributary-ctl --help` and `--version` in an empty environment (no AWS settings, no stack), and a command
//! started with bad settings.

use tributary_testkit::cli::{run, stdout};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary-ctl");

#[test]
fn help_lists_the_commands_and_every_functions_settings() {
    let help = stdout(&run(BINARY, &["--help"], &[]));
    for command in ["status", "validate", "transmit", "easysend", "run"] {
        assert!(help.contains(&format!("\n  {command} ")), "{help}");
    }
    for setting in [
        "TRIBUTARY_STATE_TABLE (required)",
        "TRIBUTARY_TRANSMIT_SECRET_ID (required)",
        "TRIBUTARY_EASYSEND_WINDOW_SECONDS (default 300)",
        "TRIBUTARY_LOOKOUT_SECRET_ID (required)",
        "TRIBUTARY_STRIVACITY_SECRET_ID (required)",
    ] {
        assert!(help.contains(setting), "{help}");
    }
    assert_eq!(help.matches("  TRIBUTARY_BUCKET (").count(), 1, "{help}");
    assert_eq!(stdout(&run(BINARY, &["-h"], &[])), help);
}

#[test]
fn every_command_has_its_own_help_without_any_settings() {
    for (command, usage, says) in [
        (
            &["status", "--help"][..],
            "Usage: tributary-ctl status [OPTIONS]",
            "Exit status 3 when any stream is failed, degraded or overdue",
        ),
        (
            &["validate", "--help"][..],
            "Usage: tributary-ctl validate [OPTIONS] <FUNCTION>",
            "the secret's",
        ),
        (
            &["transmit", "stop", "--help"][..],
            "Usage: tributary-ctl transmit stop [OPTIONS] --type <TYPE>",
            "--stream-only",
        ),
        (
            &["easysend", "backfill", "-h"][..],
            "Usage: tributary-ctl easysend backfill [OPTIONS] --from <TIME>",
            "--budget",
        ),
        (
            &["help", "run"][..],
            "Usage: tributary-ctl run [OPTIONS] <FUNCTION>",
            "a receiver event is a Function URL",
        ),
    ] {
        let help = stdout(&run(BINARY, command, &[]));
        assert!(help.contains(usage), "{command:?}: {help}");
        assert!(help.contains(says), "{command:?}: {help}");
        // A command's help is about that command: the functions' settings are the top-level help's.
        assert!(!help.contains("TRIBUTARY_BUCKET"), "{command:?}: {help}");
    }
}

#[test]
fn usage_mistakes_exit_2_and_suggest_the_fix() {
    let output = run(BINARY, &["status", "--jsn"], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--jsn") && stderr.contains("--json"),
        "{stderr}"
    );
    let output = run(BINARY, &["validate", "easysend"], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("easysend-poller"),
        "{output:?}"
    );
}

#[test]
fn version_is_the_name_and_the_version() {
    let expected = format!("tributary-ctl {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(stdout(&run(BINARY, &["--version"], &[])), expected);
    assert_eq!(stdout(&run(BINARY, &["-V"], &[])), expected);
}

#[test]
fn a_backfill_with_bad_settings_names_every_problem_before_touching_aws() {
    let output = run(
        BINARY,
        &["easysend", "backfill", "--from", "1h"],
        &[
            ("TRIBUTARY_EASYSEND_WINDOW_SECONDS", "5"),
            ("TRIBUTARY_HTTP_TIMEOUT_SECONDS", "-30"),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TRIBUTARY_EASYSEND_WINDOW_SECONDS=5 must be at least TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS=10"), "{stderr}");
    assert!(
        stderr.contains(
            "TRIBUTARY_HTTP_TIMEOUT_SECONDS=-30 must be a whole number of seconds, zero or more"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("TRIBUTARY_BUCKET must be set"), "{stderr}");
}
