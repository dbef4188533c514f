//! `easysend-poller` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
//! environment.

use tributary_testkit::cli;

const BINARY: &str = env!("CARGO_BIN_EXE_easysend-poller");
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    cli::assert_help(
        BINARY,
        "easysend-poller",
        VERSION,
        &[
            "  easysend-poller [event.json|-]\n",
            "TRIBUTARY_EASYSEND_PLAYER_URL (required)",
            "TRIBUTARY_EASYSEND_WINDOW_SECONDS (default 300)",
            "TRIBUTARY_EASYSEND_APP_TYPE (unset: Player and Builder logs)",
            "TRIBUTARY_STATE_TABLE (required)",
        ],
    );
}

#[test]
fn version_is_the_name_and_the_version() {
    cli::assert_version(BINARY, "easysend-poller", VERSION);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    cli::assert_refused_in_plain_words(
        BINARY,
        &[
            ("TRIBUTARY_EASYSEND_WINDOW_SECONDS", "5"),
            ("TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS", "10"),
            ("TRIBUTARY_SAFETY_MARGIN_SECONDS", "-1"),
        ],
        &[
            "TRIBUTARY_EASYSEND_WINDOW_SECONDS=5 must be at least TRIBUTARY_EASYSEND_MIN_WINDOW_SECONDS=10",
            "TRIBUTARY_SAFETY_MARGIN_SECONDS=-1 must be a whole number of seconds, zero or more",
        ],
    );
}
