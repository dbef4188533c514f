//! The standalone host's connection handling: the router on a TCP listener with the limits a server on an open
//! network needs and Lambda's front end otherwise gives us: a connection must send its request headers within a
//! time (which also closes a kept-alive connection that sits idle that long, since hyper's timer runs while a
//! connection waits for its next request), and at most so many connections are served at once; further ones wait
//! in the listen backlog. The body's own read timeout is the router's (`TRIBUTARY_STRIVACITY_BODY_READ_TIMEOUT_SECONDS`),
//! so it holds in both hosts.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Limits of the standalone host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// `TRIBUTARY_STRIVACITY_HEADER_READ_TIMEOUT_SECONDS` (default 10): the longest a connection may take to send
    /// a request's headers, and to start its next request.
    pub header_read_timeout: Duration,
    /// `TRIBUTARY_STRIVACITY_MAX_CONNECTIONS` (default 512): connections served at once.
    pub max_connections: usize,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the connections in flight to finish (an
/// idle one ends within the header read timeout).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HostLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(message = "Could not accept a connection.", error = %error);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(message = "Connection ended with an error.", peer = %peer, error = %error);
            }
            drop(permit);
        });
    }
    // Every permit back means every connection has ended.
    let _all = permits
        .acquire_many(limits.max_connections as u32)
        .await
        .expect("the semaphore is never closed");
    Ok(())
}
