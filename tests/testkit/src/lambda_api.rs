//! A stand-in for the Lambda Runtime API, so a function binary can be run as Lambda runs it: it asks for the next
//! invocation, gets the events queued here one at a time, and posts each answer back. Once the queue is empty a
//! request for the next invocation is left waiting, as Lambda leaves an idle environment, until the test stops the
//! binary.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::mpsc;

/// What the binary posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST /invocation/{id}/response`: the handler's result.
    Response { request_id: String, body: Value },
    /// `POST /invocation/{id}/error`: the handler failed.
    Error { request_id: String, body: Value },
    /// `POST /init/error`: the binary could not start.
    InitError { body: Value },
}

struct Shared {
    queue: Mutex<VecDeque<(String, Value)>>,
    timeout: Duration,
    answers: mpsc::UnboundedSender<Answer>,
}

/// The fake Runtime API, serving on loopback until dropped.
pub struct LambdaRuntimeApi {
    address: String,
    answers: mpsc::UnboundedReceiver<Answer>,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaRuntimeApi {
    /// Starts serving `events`, each as one invocation with a deadline `timeout` after it is handed out.
    pub async fn start(events: Vec<Value>, timeout: Duration) -> LambdaRuntimeApi {
        let (sender, answers) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(n, event)| (format!("invocation-{}", n + 1), event))
                    .collect(),
            ),
            timeout,
            answers: sender,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/{outcome}",
                post(outcome),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("a bound address").to_string();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake Runtime API serves");
        });
        LambdaRuntimeApi {
            address,
            answers,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The environment Lambda gives a function, pointing at this API.
    pub fn environment(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address.as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "local"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    /// The next answer the binary posts, or `None` if none comes within `wait`.
    pub async fn next_answer(&mut self, wait: Duration) -> Option<Answer> {
        tokio::time::timeout(wait, self.answers.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for LambdaRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let invocation = shared.queue.lock().expect("never poisoned").pop_front();
    let Some((request_id, event)) = invocation else {
        // An idle environment: the request waits until the binary is stopped.
        std::future::pending::<()>().await;
        unreachable!("a pending future never completes");
    };
    let deadline = chrono::Utc::now() + shared.timeout;
    let mut headers = HeaderMap::new();
    let mut header = |name: &'static str, value: String| {
        headers.insert(name, value.parse().expect("a valid header value"));
    };
    header("lambda-runtime-aws-request-id", request_id);
    header(
        "lambda-runtime-deadline-ms",
        deadline.timestamp_millis().to_string(),
    );
    header(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:local".to_owned(),
    );
    header(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".to_owned(),
    );
    (headers, event.to_string()).into_response()
}

fn json_or_text(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

/// `POST /invocation/{id}/response` or `/invocation/{id}/error`.
async fn outcome(
    State(shared): State<Arc<Shared>>,
    Path((request_id, outcome)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    let body = json_or_text(&body);
    let answer = match outcome.as_str() {
        "response" => Answer::Response { request_id, body },
        "error" => Answer::Error { request_id, body },
        _ => return StatusCode::NOT_FOUND,
    };
    let _ = shared.answers.send(answer);
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    let _ = shared.answers.send(Answer::InitError {
        body: json_or_text(&body),
    });
    StatusCode::ACCEPTED
}
