//! What the tributary-ctl integration tests share.

use std::process::Output;

use tributary_testkit::Stack;

/// Runs the binary with `vars` (and the local stack's AWS settings) as its whole environment.
pub async fn ctl(stack: &Stack, vars: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = stack.command(env!("CARGO_BIN_EXE_tributary-ctl"));
    command.args(args);
    for (name, value) in vars {
        command.env(name, value);
    }
    // The simulators serve from the test's runtime, so the child is waited for off its threads.
    tokio::task::spawn_blocking(move || command.output().expect("run tributary-ctl"))
        .await
        .expect("the child finished")
}
