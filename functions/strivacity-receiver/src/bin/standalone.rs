//! The receiver as a long-running HTTP server: the same router as in Lambda, on a TCP listener, for local runs,
//! the demo, benchmarks and anyone who hosts it outside Lambda (put TLS in front of it).
//!
//! `strivacity-receiver-standalone [--listen ADDR]`; the address defaults to `TRIBUTARY_STRIVACITY_LISTEN_ADDR`
//! or `127.0.0.1:8088` (HEC's usual port). Port 0 picks a free port; the bound address is printed on stdout as
//! `listening on http://ADDR` so scripts can read it.

use std::process::ExitCode;
use std::sync::Arc;

use strivacity_receiver::config::{self, ReceiverConfig};
use strivacity_receiver::host::{self, HostLimits};
use strivacity_receiver::{router, Receiver};
use tributary_shared::config::Reader;
use tributary_shared::runtime::{self, Usage};

const USAGE: Usage = Usage {
    name: "strivacity-receiver-standalone",
    version: env!("CARGO_PKG_VERSION"),
    about: "Serves the Strivacity receiver (Splunk HEC and Elasticsearch _bulk, acknowledged once in S3) as a \
            long-running HTTP server: the same router as in Lambda, for local runs, the demo and benchmarks. \
            Put TLS in front of it.",
    usage: "\
[--listen HOST:PORT]
      Listens on HOST:PORT (default TRIBUTARY_STRIVACITY_LISTEN_ADDR); port 0 picks a free port. Prints
      `listening on http://ADDR` on stdout once it accepts requests; stops on Ctrl-C or SIGTERM after the
      requests in flight have landed.",
    settings: config::standalone_settings,
};

#[tokio::main]
async fn main() -> ExitCode {
    USAGE.answer_and_exit();
    runtime::init_tracing();
    let mut listen_arg = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(address) => listen_arg = Some(address),
                None => return usage_error("--listen needs an address"),
            },
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let mut reader = Reader::from_env();
    let receiver_config = ReceiverConfig::read(&mut reader);
    let listen = config::read_listen_addr(&mut reader);
    let limits = config::read_host_limits(&mut reader);
    let (receiver_config, listen, limits) = match reader.finish((receiver_config, listen, limits)) {
        Ok(read) => read,
        Err(error) => return runtime::config_failed(USAGE.name, &error),
    };
    let listen = listen_arg.unwrap_or(listen);
    match serve(receiver_config, &listen, limits).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => runtime::failed(USAGE.name, &error),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("{}: {message}; try --help", USAGE.name);
    ExitCode::from(2)
}

async fn serve(
    config: ReceiverConfig,
    listen: &str,
    limits: HostLimits,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let sdk = tributary_shared::aws::load().await;
    let receiver = Receiver::from_clients(
        config,
        tributary_shared::aws::s3_client(&sdk),
        tributary_shared::aws::secrets_client(&sdk),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(message = "Receiver listening.", address = %address);
    host::serve(listener, router(Arc::new(receiver)), limits, shutdown()).await?;
    Ok(())
}

/// Stops on Ctrl-C or SIGTERM, letting requests in flight finish (and land) first.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
