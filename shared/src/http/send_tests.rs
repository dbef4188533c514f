//! `send` against a scripted server on loopback: which failures each retry class repeats, and what the
//! attempts say.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// What the server does with one request.
#[derive(Clone, Copy)]
enum Act {
    Answer(u16, Option<&'static str>),
    /// Reads the request and never answers.
    Hang,
    /// Reads the request and closes the connection.
    Close,
}

struct Server {
    url: String,
    requests: Arc<AtomicU32>,
}

/// Serves `script` in order, one request per connection; the last act repeats.
async fn serve(script: Vec<Act>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/call", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicU32::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
            let act = script[n.min(script.len() - 1)];
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match act {
                    Act::Answer(status, retry_after) => {
                        let extra = retry_after
                            .map(|v| format!("retry-after: {v}\r\n"))
                            .unwrap_or_default();
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n{extra}\r\nok"
                        );
                        let _ = socket.write_all(reply.as_bytes()).await;
                    }
                    Act::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                    Act::Close => drop(socket),
                }
            });
        }
    });
    Server { url, requests }
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(2),
        request_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
    }
}

async fn call(url: &str, class: RetryClass) -> (Result<Response, HttpError>, Attempts) {
    let policy = policy();
    let client = policy.client();
    let metrics = RunMetrics::new("test", "s");
    let deadline = Deadline::after(Duration::from_secs(10));
    send(&policy, &deadline, &metrics, "test call", class, || {
        client.post(url)
    })
    .await
}

fn outcomes(attempts: &Attempts) -> Vec<AttemptOutcome> {
    attempts.iter().map(|a| a.outcome).collect()
}

#[tokio::test]
async fn idempotent_calls_retry_server_errors_and_report_every_attempt() {
    let server = serve(vec![
        Act::Answer(503, None),
        Act::Answer(429, Some("0")),
        Act::Answer(200, None),
    ])
    .await;
    let (result, attempts) = call(&server.url, RetryClass::Idempotent).await;
    assert_eq!(result.unwrap().status(), 200);
    use AttemptOutcome::Status;
    assert_eq!(outcomes(&attempts), [Status(503), Status(429), Status(200)]);
    assert_eq!(attempts.possibly_applied_unanswered(), 1, "the 503");
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_at_most_once_call_is_not_repeated_after_a_server_error() {
    let server = serve(vec![Act::Answer(502, None), Act::Answer(200, None)]).await;
    let (result, attempts) = call(&server.url, RetryClass::AtMostOnce).await;
    let error = result.unwrap_err();
    assert!(matches!(error, HttpError::NotRepeatable { .. }), "{error}");
    assert!(error.to_string().contains("502"), "{error}");
    assert_eq!(outcomes(&attempts), [AttemptOutcome::Status(502)]);
    assert!(attempts.last().unwrap().may_have_taken_effect);
    assert_eq!(attempts.possibly_applied_unanswered(), 1);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_at_most_once_call_is_not_repeated_after_a_timeout_or_a_broken_connection() {
    for (act, expected) in [
        (Act::Hang, AttemptOutcome::TimedOut),
        (Act::Close, AttemptOutcome::Broken),
    ] {
        let server = serve(vec![act, Act::Answer(200, None)]).await;
        let (result, attempts) = call(&server.url, RetryClass::AtMostOnce).await;
        assert!(matches!(result, Err(HttpError::NotRepeatable { .. })));
        assert_eq!(outcomes(&attempts), [expected]);
        assert_eq!(attempts.possibly_applied_unanswered(), 1);
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn an_at_most_once_call_is_retried_after_429_with_its_retry_after() {
    let server = serve(vec![Act::Answer(429, Some("0.2")), Act::Answer(200, None)]).await;
    let (result, attempts) = call(&server.url, RetryClass::AtMostOnce).await;
    assert_eq!(result.unwrap().status(), 200);
    let waited: Vec<Duration> = attempts.iter().map(|a| a.waited).collect();
    assert_eq!(waited, [Duration::ZERO, Duration::from_millis(200)]);
    assert_eq!(attempts.possibly_applied_unanswered(), 0);
}

#[tokio::test]
async fn an_at_most_once_call_is_retried_when_no_connection_was_made() {
    // A port that was just free: connecting is refused.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/call", listener.local_addr().unwrap())
    };
    let (result, attempts) = call(&url, RetryClass::AtMostOnce).await;
    assert!(matches!(
        result,
        Err(HttpError::Exhausted { attempts: 4, .. })
    ));
    assert_eq!(outcomes(&attempts), [AttemptOutcome::ConnectFailed; 4]);
    assert!(attempts.iter().all(|a| !a.may_have_taken_effect));
    assert_eq!(attempts.possibly_applied_unanswered(), 0);
}

#[tokio::test]
async fn a_retry_after_beyond_the_maximum_gives_up_at_once() {
    for value in ["1e20", "3", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let server = serve(vec![Act::Answer(429, Some(value)), Act::Answer(200, None)]).await;
        let (result, attempts) = call(&server.url, RetryClass::Idempotent).await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("longer than"), "{value}: {error}");
        assert_eq!(attempts.len(), 1, "{value}");
    }
    // An unreadable value is ignored: the usual backoff applies.
    let server = serve(vec![Act::Answer(503, Some("NaN")), Act::Answer(200, None)]).await;
    let (result, attempts) = call(&server.url, RetryClass::Idempotent).await;
    assert_eq!(result.unwrap().status(), 200);
    assert!(attempts.last().unwrap().waited <= Duration::from_millis(5));
}
