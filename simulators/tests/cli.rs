//! `tributary-sim` as a user first meets it: `--help` and `--version` in an empty environment.

use tributary_testkit::cli::{run, stdout};

const BINARY: &str = env!("CARGO_BIN_EXE_tributary-sim");

#[test]
fn help_lists_the_vendors_and_their_options() {
    let help = stdout(&run(BINARY, &["--help"], &[]));
    assert!(
        help.starts_with(&format!("tributary-sim {}\n", env!("CARGO_PKG_VERSION"))),
        "{help}"
    );
    assert!(
        help.contains("tributary-sim <transmit|easysend|lookout> [--port N]"),
        "{help}"
    );
    for option in ["--client-id", "--page-size", "--heartbeat-ms"] {
        assert!(help.contains(option), "{help}");
    }
    // After a vendor name too, and without starting a server.
    assert_eq!(stdout(&run(BINARY, &["lookout", "-h"], &[])), help);
}

#[test]
fn version_is_the_name_and_the_version() {
    tributary_testkit::cli::assert_version(BINARY, "tributary-sim", env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_bad_port_or_vendor_is_named() {
    let output = run(BINARY, &["transmit", "--port", "-5"], &[]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--port \"-5\" must be a port number from 0 to 65535"),
        "{stderr}"
    );
    let output = run(BINARY, &["okta"], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown vendor \"okta\""));
}
