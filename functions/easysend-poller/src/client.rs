//! The `get-security-logs` wire protocol: request, status handling, and the streamed array of pages
//! checked against its `Number-Of-Pages` / `Number-Of-Results` headers.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use chrono::Duration as TimeDelta;
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use tributary_shared::deadline::Deadline;
use tributary_shared::http::{self, HttpError, HttpPolicy};
use tributary_shared::metrics::{names, RunMetrics};
use tributary_shared::secrets::Secret;

use crate::pages::{Event, PageError, PageParser, PageSummary};
use crate::windows::{param, Window};

pub const LOGS_PATH: &str = "/player/api/get-security-logs";

/// The start is asked for one second early: the guide does not say whether `start_time` is inclusive,
/// and logs outside the window are dropped on arrival anyway.
const START_PADDING: TimeDelta = TimeDelta::seconds(1);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "EasySend refused the API key for {window} (HTTP 401): check the value of secret {secret}; \
         not retried ({detail})"
    )]
    Unauthorized {
        window: Window,
        secret: String,
        detail: String,
    },
    #[error("EasySend rejected the request for {window} as bad (HTTP 400): {problem}; sent {sent} ({detail})")]
    BadRequest {
        window: Window,
        /// Which parameter, as far as the answer tells.
        problem: String,
        sent: String,
        detail: String,
    },
    #[error("EasySend timed out the window {window} (HTTP 408: its 55-second limit)")]
    TimedOut { window: Window },
    #[error("EasySend answered {window} with {detail}")]
    Status { window: Window, detail: String },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the response for {window} broke off after {logs} logs: {reason}; nothing of it is committed")]
    Truncated {
        window: Window,
        logs: u64,
        reason: String,
    },
    #[error("the response for {window} is not an array of pages: {source}")]
    Malformed { window: Window, source: PageError },
    #[error("the response for {window} does not add up: {detail}; nothing of it is committed")]
    CountMismatch { window: Window, detail: String },
}

/// Talks to one tenant's Player.
#[derive(Clone)]
pub struct EasySendClient {
    http: reqwest::Client,
    policy: HttpPolicy,
    url: String,
    end_param: String,
    app_type: Option<String>,
    secret_id: String,
    request_timeout: Duration,
}

impl EasySendClient {
    pub fn new(
        http: reqwest::Client,
        policy: HttpPolicy,
        player_url: &str,
        end_param: impl Into<String>,
        app_type: Option<String>,
        secret_id: impl Into<String>,
        request_timeout: Duration,
    ) -> Self {
        EasySendClient {
            http,
            policy,
            url: format!("{}{LOGS_PATH}", player_url.trim_end_matches('/')),
            end_param: end_param.into(),
            app_type,
            secret_id: secret_id.into(),
            request_timeout,
        }
    }

    fn query(&self, window: Window) -> Vec<(&str, String)> {
        let mut query = vec![
            ("start_time", param(window.start - START_PADDING)),
            (self.end_param.as_str(), param(window.end)),
        ];
        if let Some(app_type) = &self.app_type {
            query.push(("app_type", app_type.clone()));
        }
        query
    }

    /// Asks for the logs of `window` and returns the streaming body once the status is 200. 429, 5xx
    /// and transport failures are retried per the shared policy; anything else is a [`FetchError`].
    pub async fn fetch(
        &self,
        api_key: &Secret,
        window: Window,
        deadline: &Deadline,
        metrics: &RunMetrics,
    ) -> Result<LogStream, FetchError> {
        let query = self.query(window);
        let what = format!("EasySend get-security-logs {window}");
        let response = http::send_with_retry(&self.policy, deadline, metrics, &what, || {
            // Per attempt: a retry gets only the time that is left, body included.
            let timeout = self
                .request_timeout
                .min(deadline.remaining())
                .max(Duration::from_millis(1));
            self.http
                .get(&self.url)
                .header("apiKey", api_key.expose())
                .query(&query)
                .timeout(timeout)
        })
        .await?;
        let status = response.status();
        match status {
            StatusCode::OK => Ok(LogStream::new(window, response)),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(FetchError::Unauthorized {
                window,
                secret: self.secret_id.clone(),
                detail: http::error_body(response).await,
            }),
            StatusCode::BAD_REQUEST => {
                let detail = http::error_body(response).await;
                Err(FetchError::BadRequest {
                    window,
                    problem: self.name_bad_parameter(&detail),
                    sent: query
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&"),
                    detail,
                })
            }
            StatusCode::REQUEST_TIMEOUT => Err(FetchError::TimedOut { window }),
            _ => Err(FetchError::Status {
                window,
                detail: http::error_body(response).await,
            }),
        }
    }

    /// Which of our parameters a 400 is about, and which setting controls it.
    fn name_bad_parameter(&self, detail: &str) -> String {
        let lower = detail.to_ascii_lowercase();
        if lower.contains("app_type") {
            return format!(
                "the server objects to app_type {:?} (TRIBUTARY_EASYSEND_APP_TYPE; the only documented value is \
                 'player', unset asks for Player and Builder logs)",
                self.app_type.as_deref().unwrap_or("")
            );
        }
        if lower.contains(&self.end_param.to_ascii_lowercase()) || lower.contains("end_t") {
            return format!(
                "the server objects to the end parameter {:?} (TRIBUTARY_EASYSEND_END_PARAM: end_time or end_type)",
                self.end_param
            );
        }
        if lower.contains("start_time") {
            return "the server objects to start_time (sent in YYYYMMDDHHMMSS, UTC)".to_owned();
        }
        format!(
            "the answer names no parameter; check app_type (TRIBUTARY_EASYSEND_APP_TYPE) and the end parameter's \
             name {:?} (TRIBUTARY_EASYSEND_END_PARAM)",
            self.end_param
        )
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The logs of one 200 response, one at a time.
pub struct LogStream {
    window: Window,
    body: ByteStream,
    parser: PageParser,
    declared_pages: Option<u64>,
    declared_results: Option<u64>,
    finished: bool,
}

fn header_number(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl LogStream {
    fn new(window: Window, response: reqwest::Response) -> Self {
        LogStream {
            window,
            declared_pages: header_number(&response, "Number-Of-Pages"),
            declared_results: header_number(&response, "Number-Of-Results"),
            body: Box::pin(response.bytes_stream()),
            parser: PageParser::new(),
            finished: false,
        }
    }

    /// What the headers announce: (pages, results).
    pub fn declared(&self) -> (Option<u64>, Option<u64>) {
        (self.declared_pages, self.declared_results)
    }

    /// The next log's raw JSON text; `None` once the body is complete and its counts check out.
    pub async fn next_log(&mut self, metrics: &RunMetrics) -> Result<Option<&[u8]>, FetchError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            let event = self
                .parser
                .next_event()
                .map_err(|source| self.malformed(source))?;
            match event {
                Some(Event::Log) => return Ok(Some(self.parser.log())),
                Some(Event::PageEnd(page)) => {
                    metrics.count(names::PAGES, 1);
                    self.check_page(&page)?;
                }
                None => match self.body.next().await {
                    Some(Ok(chunk)) => self.parser.push(chunk),
                    Some(Err(error)) => {
                        return Err(FetchError::Truncated {
                            window: self.window,
                            logs: self.parser.totals().logs,
                            reason: tributary_shared::aws::error_text(&error),
                        })
                    }
                    None => {
                        self.finish()?;
                        return Ok(None);
                    }
                },
            }
        }
    }

    fn malformed(&self, source: PageError) -> FetchError {
        FetchError::Malformed {
            window: self.window,
            source,
        }
    }

    fn check_page(&self, page: &PageSummary) -> Result<(), FetchError> {
        match page.declared_results {
            Some(declared) if declared != page.counted as i64 => Err(FetchError::CountMismatch {
                window: self.window,
                detail: format!(
                    "page {} says results={declared} but holds {} logs",
                    page.page_number.unwrap_or(page.position as i64),
                    page.counted
                ),
            }),
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), FetchError> {
        self.finished = true;
        let totals = match self.parser.finish() {
            Ok(totals) => totals,
            Err(PageError::Truncated {
                offset,
                context,
                logs,
            }) => {
                return Err(FetchError::Truncated {
                    window: self.window,
                    logs,
                    reason: format!(
                        "the body ended after {offset} bytes, in the middle of {context}"
                    ),
                })
            }
            Err(other) => return Err(self.malformed(other)),
        };
        let mut problems = Vec::new();
        // An empty answer may come as `[]` or as one empty page; either is fine when nothing is missing.
        let empty_either_way = totals.logs == 0 && self.declared_pages.is_some_and(|p| p <= 1);
        if let Some(pages) = self
            .declared_pages
            .filter(|p| *p != totals.pages && !empty_either_way)
        {
            problems.push(format!(
                "Number-Of-Pages says {pages}, the body has {}",
                totals.pages
            ));
        }
        if let Some(results) = self.declared_results.filter(|r| *r != totals.logs) {
            problems.push(format!(
                "Number-Of-Results says {results}, the body has {}",
                totals.logs
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FetchError::CountMismatch {
                window: self.window,
                detail: problems.join("; "),
            })
        }
    }
}
