//! What both protocols do with a request around their own parsing: read the body within the limits, name the
//! request's content, and log and count the outcome (one EMF line per request).

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tributary_shared::landing::LandReport;
use tributary_shared::metrics::{names, RunMetrics};

use crate::body::{self, BodyError, Encoding, Limits};
use crate::{metric_names, FUNCTION};

/// The query string as a map; a malformed query string reads as empty.
pub(crate) fn query_map(uri: &Uri) -> HashMap<String, String> {
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// What one handled request did, for its log line and metrics.
pub(crate) struct Handled<R> {
    pub response: R,
    pub events: usize,
    pub report: Option<LandReport>,
    pub rejection: Option<Rejection>,
    /// Events filed by their arrival because their own time could not be true.
    pub implausible_times: usize,
}

/// Why a request was not acknowledged: `kind` names the metric bucket (`auth`, `secrets`, `storage`, or a
/// refusal such as `body`, `data`, `channel`), `reason` is logged.
#[derive(Debug)]
pub(crate) struct Rejection {
    kind: &'static str,
    reason: String,
}

impl<R> Handled<R> {
    pub fn rejected(response: R, kind: &'static str, reason: impl Into<String>) -> Self {
        Handled {
            response,
            events: 0,
            report: None,
            rejection: Some(Rejection {
                kind,
                reason: reason.into(),
            }),
            implausible_times: 0,
        }
    }
}

/// Logs and counts one ingest request (HEC event/raw or bulk), whatever its outcome.
pub(crate) fn record_outcome<R>(
    protocol: &'static str,
    status: StatusCode,
    started: Instant,
    handled: &Handled<R>,
) {
    let metrics = RunMetrics::new(FUNCTION, protocol).with_zeros(metric_names::ALL);
    metrics.count(names::REQUESTS, 1);
    let duration_ms = started.elapsed().as_millis() as u64;
    match (&handled.report, &handled.rejection) {
        (Some(report), _) => {
            report.count_in(&metrics);
            metrics.count(
                metric_names::IMPLAUSIBLE_TIMES,
                handled.implausible_times as u64,
            );
            if handled.implausible_times > 0 {
                tracing::warn!(
                    message = "Events with a time that cannot be true were filed by their arrival.",
                    protocol,
                    events = handled.implausible_times
                );
            }
            tracing::info!(
                message = "Request landed.",
                protocol,
                status = status.as_u16(),
                events = report.events,
                objects = report.objects.len(),
                bytes = report.bytes,
                duration_ms
            );
        }
        (None, Some(rejection)) => {
            metrics.count(names::ERRORS, 1);
            match rejection.kind {
                "storage" => metrics.count(metric_names::STORAGE_FAILURES, 1),
                "auth" => metrics.count(metric_names::AUTH_FAILURES, 1),
                "secrets" => metrics.count(metric_names::SECRETS_FAILURES, 1),
                _ => metrics.count(metric_names::REJECTED, 1),
            }
            let level_error = rejection.kind == "storage" || rejection.kind == "secrets";
            if level_error {
                tracing::error!(
                    message = "Request not acknowledged; the sender should retry.",
                    protocol,
                    status = status.as_u16(),
                    kind = rejection.kind,
                    events = handled.events,
                    error = %rejection.reason,
                    duration_ms
                );
            } else {
                tracing::warn!(
                    message = "Request refused.",
                    protocol,
                    status = status.as_u16(),
                    kind = rejection.kind,
                    error = %rejection.reason,
                    duration_ms
                );
            }
        }
        (None, None) => {}
    }
    metrics.emit();
}

/// Reads the body within the wire limit and inflates it within the decompressed limit.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limits: &Limits,
    timeout: std::time::Duration,
) -> Result<Bytes, BodyError> {
    let encoding = Encoding::from_header(
        headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    )?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limits.max_body_bytes) {
        return Err(BodyError::TooLarge {
            limit: limits.max_body_bytes,
        });
    }
    let limited = http_body_util::Limited::new(body, limits.max_body_bytes);
    // A sender that stalls mid-body must not hold the request (and its connection) open for ever.
    let bytes = tokio::time::timeout(timeout, http_body_util::BodyExt::collect(limited))
        .await
        .map_err(|_| BodyError::TimedOut(timeout))?
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                BodyError::TooLarge {
                    limit: limits.max_body_bytes,
                }
            } else {
                BodyError::Unreadable(error.to_string())
            }
        })?
        .to_bytes();
    match body::decode(&bytes, encoding, limits)? {
        std::borrow::Cow::Borrowed(_) => Ok(bytes),
        std::borrow::Cow::Owned(inflated) => Ok(Bytes::from(inflated)),
    }
}

/// A digest of what identifies a request's content: protocol, the metadata outside the body, and the decoded
/// body. The same request sent again gets the same digest (records carry it as `tributary.request`).
pub(crate) fn request_digest(protocol: &str, meta: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(protocol.as_bytes());
    hasher.update([0]);
    hasher.update(meta.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    tributary_shared::event_id::finish_digest_hex(hasher)
}
