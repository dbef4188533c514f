//! `lookout-stream` as a user first meets it: `--help`, `--version` and a start with bad settings, in an empty
//! environment.

use tributary_testkit::cli;

const BINARY: &str = env!("CARGO_BIN_EXE_lookout-stream");
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn help_says_what_it_does_how_to_run_it_and_every_setting() {
    cli::assert_help(
        BINARY,
        "lookout-stream",
        VERSION,
        &[
            "  lookout-stream [event.json|-]\n",
            "TRIBUTARY_LOOKOUT_SECRET_ID (required)",
            "TRIBUTARY_LOOKOUT_TYPES (default THREAT,DEVICE,AUDIT,SMISHING_ALERT)",
            "TRIBUTARY_LOOKOUT_SESSION_SECONDS (unset: until the deadline)",
        ],
    );
}

#[test]
fn version_is_the_name_and_the_version() {
    cli::assert_version(BINARY, "lookout-stream", VERSION);
}

#[test]
fn a_start_with_two_bad_settings_names_both_in_plain_words_and_fails() {
    cli::assert_refused_in_plain_words(
        BINARY,
        &[
            ("TRIBUTARY_LOOKOUT_LOOKBACK_HOURS", "300"),
            ("TRIBUTARY_GZIP_LEVEL", "12"),
        ],
        &[
            "TRIBUTARY_LOOKOUT_LOOKBACK_HOURS=300 must be a whole number of hours from 0 to 240",
            "TRIBUTARY_GZIP_LEVEL=12 must be a whole number from 1 to 9",
        ],
    );
}
