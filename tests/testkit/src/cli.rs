//! A binary as a user first meets it: run in an empty environment, `--help`, `--version`, and a start with bad
//! settings that must be reported in plain words.

use std::process::{Command, Output};

/// Runs `binary` with nothing in its environment but `vars`: no AWS settings, no credentials.
pub fn run(binary: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(binary)
        .env_clear()
        .envs(vars.iter().copied())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The standard output of a run that succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

/// `--help` (and `-h`) start with `<name> <version>` and contain every one of `lines`.
pub fn assert_help(binary: &str, name: &str, version: &str, lines: &[&str]) -> String {
    let help = stdout(&run(binary, &["--help"], &[]));
    assert!(help.starts_with(&format!("{name} {version}\n")), "{help}");
    for line in lines {
        assert!(help.contains(line), "{line:?} missing from:\n{help}");
    }
    assert_eq!(stdout(&run(binary, &["-h"], &[])), help);
    help
}

/// `--version` and `-V` print `<name> <version>`.
pub fn assert_version(binary: &str, name: &str, version: &str) {
    let expected = format!("{name} {version}\n");
    assert_eq!(stdout(&run(binary, &["--version"], &[])), expected);
    assert_eq!(stdout(&run(binary, &["-V"], &[])), expected);
}

/// A start with bad settings `vars` fails, naming every one of `problems` in plain words on standard error (no
/// Rust `Debug` dump, no parser's message) and writing nothing to standard output.
pub fn assert_refused_in_plain_words(binary: &str, vars: &[(&str, &str)], problems: &[&str]) {
    let output = run(binary, &[], vars);
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for problem in problems {
        assert!(
            stderr.contains(problem),
            "{problem:?} missing from:\n{stderr}"
        );
    }
    for debug in ["Error: ", "Missing {", "Invalid {", "invalid digit"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
    assert!(output.stdout.is_empty(), "{output:?}");
}
