//! The standalone host's limits: a client that trickles its headers or stalls mid-body is cut off, and no more
//! than the configured number of connections is served at once.

use std::time::Instant;

use strivacity_receiver::host::{self, HostLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

async fn start_host(limits: HostLimits) -> (Stack, String) {
    let stack = Stack::new("host-limits").await;
    let secret_id = stack
        .put_secret("strivacity-receiver", &credentials_secret(&[TOKEN]))
        .await;
    let mut config = ReceiverConfig::new(stack.bucket.clone(), vec![secret_id]);
    config.prefix = stack.prefix.clone();
    config.body_read_timeout = Duration::from_secs(1);
    let receiver = Receiver::from_clients(
        config,
        stack.s3.clone(),
        aws_sdk_secretsmanager::Client::new(&stack.sdk),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let app = router(Arc::new(receiver));
    tokio::spawn(host::serve(
        listener,
        app,
        limits,
        std::future::pending::<()>(),
    ));
    (stack, address)
}

/// Reads until the server closes the connection (or 10 s pass); returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

const LIMITS: HostLimits = HostLimits {
    header_read_timeout: Duration::from_secs(1),
    max_connections: 1,
};

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected() {
    let (_stack, address) = start_host(LIMITS).await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /services/collector/event HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header line every half second would keep a server without a header timeout waiting for ever.
    let trickle = async {
        for n in 0..20 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if stream
                .write_all(format!("X-Slow-{n}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    trickle.await;
    let rest = read_to_close(&mut stream).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(9),
        "still connected after {took:?}: {rest:?}"
    );
    assert!(!rest.contains("200 OK"), "{rest}");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_nothing_lands() {
    let (stack, address) = start_host(HostLimits {
        header_read_timeout: Duration::from_secs(5),
        ..LIMITS
    })
    .await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let started = Instant::now();
    let head = format!(
        "POST /services/collector/event HTTP/1.1\r\nHost: x\r\nAuthorization: Splunk {TOKEN}\r\nContent-Length: 1000\r\n\r\n{{\"event\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {:?}: {answer:?}",
        started.elapsed()
    );
    assert!(answer.contains(r#""code":408"#), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stack.keys().await.is_empty());
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_one() {
    let (_stack, address) = start_host(LIMITS).await;
    // The one allowed connection, held by a client that never sends its headers.
    let mut hog = TcpStream::connect(&address).await.unwrap();
    hog.write_all(b"GET /services/collector/health HTTP/1.1\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut next = TcpStream::connect(&address).await.unwrap();
    next.write_all(
        b"GET /services/collector/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let answer = read_to_close(&mut next).await;
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // Served only once the hog was cut off by the header timeout (1 s).
    assert!(
        waited >= Duration::from_millis(700),
        "served after {waited:?}, beside the held connection"
    );
    drop(hog);
}
