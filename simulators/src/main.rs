//! `tributary-sim <vendor> [options]`: runs one vendor simulator on loopback until it is killed, for the demo,
//! manual exploration and benchmarks that need the simulator in a process of its own.

use std::process::ExitCode;

use tributary_simulators::cli::CliResult;

const NAME: &str = "tributary-sim";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The options each vendor module's `cli_main` accepts (kept next to the dispatch below).
const HELP: &str = "\
Runs one vendor API simulator (Transmit, EasySend or Lookout) on 127.0.0.1 until it is killed, for the demo,
manual exploration and benchmarks. Once it accepts connections it prints its base URL (http://127.0.0.1:<port>)
as the first line on stdout. It reads no TRIBUTARY_* variables and needs no AWS credentials.

Usage:
  tributary-sim <transmit|easysend|lookout> [--port N] [vendor options]
      --port N                   the port to listen on; 0 (the default) picks a free one
  tributary-sim --help | --version

Vendor options:
  transmit  --client-id ID --client-secret SECRET --token-lifetime-secs N
  easysend  --api-key KEY --page-size N --end-exclusive --seed N --seed-minutes N
  lookout   --app-key KEY --heartbeat-ms N --batch-size N --token-ttl-s N --wire <lookout|mixed> --seed N
  (--seed N generates N events up front, EasySend's over the last --seed-minutes, default 60; without it
  the simulator starts empty.)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for arg in &args {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{NAME} {VERSION}\n{HELP}");
                return ExitCode::SUCCESS;
            }
            "--version" | "-V" => {
                println!("{NAME} {VERSION}");
                return ExitCode::SUCCESS;
            }
            _ => {}
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let vendor = args.first().cloned().unwrap_or_default();
    let rest = args.get(1..).unwrap_or_default();
    // Each vendor module offers `cli_main(args)`: parses its own options (and `--port N`, through `cli`) and
    // serves.
    let result: CliResult = match vendor.as_str() {
        "lookout" => tributary_simulators::lookout::cli_main(rest).await,
        "transmit" => tributary_simulators::transmit::cli_main(rest).await,
        "easysend" => tributary_simulators::easysend::cli_main(rest).await,
        "" => {
            eprintln!("{NAME}: name a vendor: transmit, easysend or lookout; try --help");
            return ExitCode::from(2);
        }
        other => {
            eprintln!("{NAME}: unknown vendor {other:?}: expected transmit, easysend or lookout; try --help");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{NAME} {vendor}: {error}");
            ExitCode::FAILURE
        }
    }
}
