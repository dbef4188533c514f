//! The receiver as a long-running HTTP server: the same router as in Lambda, on a TCP listener, for local runs,
//! the demo, benchmarks and anyone who hosts it outside Lambda (put TLS in front of it).
//!
//! `strivacity-receiver-standalone [--listen ADDR]`; the address defaults to `TRIBUTARY_STRIVACITY_LISTEN_ADDR`
//! or `127.0.0.1:8088` (HEC's usual port). Port 0 picks a free port; the bound address is printed on stdout as
//! `listening on http://ADDR` so scripts can read it.

use std::sync::Arc;

use strivacity_receiver::{router, Receiver};
use tributary_shared::runtime;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    runtime::init_tracing();
    let mut args = std::env::args().skip(1);
    let mut listen = tributary_shared::config::optional("TRIBUTARY_STRIVACITY_LISTEN_ADDR")
        .unwrap_or_else(|| "127.0.0.1:8088".to_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--help" | "-h" => {
                println!("usage: strivacity-receiver-standalone [--listen HOST:PORT]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}; try --help").into()),
        }
    }
    let receiver = Arc::new(Receiver::from_env().await?);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(message = "Receiver listening.", address = %address);
    axum::serve(listener, router(receiver))
        .with_graceful_shutdown(shutdown())
        .await?;
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
