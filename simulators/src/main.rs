//! `tributary-sim <vendor> [options]`: runs one vendor simulator on loopback until it is killed, for the demo,
//! manual exploration and benchmarks that need the simulator in a process of its own.

use tributary_simulators::cli::CliResult;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let vendor = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    // Each vendor module offers `cli_main(args)`: parses its own options (and `--port N`, through `cli`) and
    // serves.
    let result: CliResult = match vendor.as_str() {
        "lookout" => tributary_simulators::lookout::cli_main(&rest).await,
        "transmit" => tributary_simulators::transmit::cli_main(&rest).await,
        "easysend" => tributary_simulators::easysend::cli_main(&rest).await,
        _ => {
            eprintln!(
                "usage: tributary-sim <transmit|easysend|lookout> [--port N] [vendor options]"
            );
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("tributary-sim {vendor}: {error}");
        std::process::exit(1);
    }
}
