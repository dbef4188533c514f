//! What the EasySend benches share: this same binary doubles as the simulator (`--simulator`), so the simulator
//! runs in a process of its own and only the poller is measured.

use std::future::Future;
use std::process::{Command, Stdio};

use tributary_testkit::process::ChildServer;

/// Starts this binary as the simulator, in a process of its own.
pub fn start_sim() -> ChildServer {
    ChildServer::start(
        Command::new(std::env::current_exe().expect("this binary's path"))
            .args(["--simulator", "--port", "0"])
            .stderr(Stdio::inherit()),
    )
}

/// The bench's `main`: with the deployed allocator settings, either the simulator (`--simulator …`) or `bench`, on
/// the poller's runtime (or `TRIBUTARY_BENCH_RUNTIME=multi-thread`).
/// `cargo bench` passes `--bench`; nothing else is expected.
pub fn main<F: Future<Output = ()>>(bench: impl FnOnce() -> F) {
    tributary_testkit::process::as_deployed();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--simulator") {
        tokio::runtime::Runtime::new()
            .expect("a tokio runtime")
            .block_on(tributary_simulators::easysend::cli_main(&args[1..]))
            .expect("the simulator runs");
        return;
    }
    let (runtime, flavour) = tributary_testkit::process::poller_bench_runtime();
    println!("(the poller on a {flavour} runtime)");
    runtime.block_on(bench());
}
