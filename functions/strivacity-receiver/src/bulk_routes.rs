//! The Elasticsearch endpoints: `GET|HEAD /` and `POST|PUT /_bulk`, `/{index}/_bulk`, answering as an
//! Elasticsearch 8 node would.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;
use tributary_shared::record::{Record, Unparsed};

use crate::auth::{self, Presented, Verdict};
use crate::body::BodyError;
use crate::bulk::{self, EsError, ItemResult, MediaType};
use crate::config::BulkBusyStatus;
use crate::ingest::{read_body, record_outcome, request_digest, Handled};
use crate::mapping::{time_was_implausible, Mapper, RequestInfo, VENDOR};
use crate::Receiver;

/// A JSON answer in the media type the client asked for (the product header is added by the router).
pub(crate) fn es_json(status: StatusCode, body: String, media: MediaType) -> Response {
    let mut response = (status, body).into_response();
    if let Ok(value) = HeaderValue::from_str(&media.response_content_type()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// The error envelope; a 401 also says which schemes we take, as Elasticsearch does.
pub(crate) fn es_error(error: &EsError, media: MediaType) -> Response {
    let mut response = es_json(error.status, error.body(), media);
    if error.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("ApiKey, Basic realm=\"security\", charset=\"UTF-8\""),
        );
    }
    response
}

/// The media type to answer in: the vendor type when the client asked for it (`Accept` first, then
/// `Content-Type`), plain JSON otherwise.
fn answer_media(headers: &HeaderMap) -> MediaType {
    [header::ACCEPT, header::CONTENT_TYPE]
        .iter()
        .filter_map(|h| headers.get(h).and_then(|v| v.to_str().ok()))
        .filter_map(|v| MediaType::parse(Some(v)).ok())
        .find(|m| m.compatible_with.is_some())
        .unwrap_or_default()
}

/// Authenticates an Elasticsearch request: `ApiKey` or Basic, 401 `security_exception` otherwise, and a
/// retryable 503 when the credentials secret cannot be read.
async fn es_authenticate(
    receiver: &Receiver,
    headers: &HeaderMap,
    path: &str,
) -> Result<(), (EsError, &'static str)> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let presented = match auth::parse_header(header) {
        Ok(p @ (Presented::ApiKey(_) | Presented::Basic { .. })) => p,
        Ok(Presented::Splunk(_)) | Err(_) => {
            return Err((
                EsError::unauthenticated(format!(
                    "missing authentication credentials for REST request [{path}]"
                )),
                "auth",
            ))
        }
    };
    let loaded = receiver.credentials().await.map_err(|error| {
        (
            EsError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "security_exception",
                format!("credentials could not be checked right now, retry: {error}"),
            ),
            "secrets",
        )
    })?;
    match loaded.credentials.check_elasticsearch(&presented) {
        Verdict::Accepted => Ok(()),
        Verdict::Rejected if loaded.incomplete => Err((
            EsError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "security_exception",
                "credentials could not be checked right now, retry",
            ),
            "secrets",
        )),
        Verdict::Rejected => {
            let reason = match &presented {
                Presented::Basic { user, .. } => {
                    format!("unable to authenticate user [{user}] for REST request [{path}]")
                }
                _ => format!(
                    "unable to authenticate with provided credentials for REST request [{path}]"
                ),
            };
            Err((EsError::unauthenticated(reason), "auth"))
        }
    }
}

/// `GET /` and `HEAD /`: the node info clients read, behind the same authentication as Elasticsearch's.
pub(crate) async fn es_info(State(receiver): State<Arc<Receiver>>, headers: HeaderMap) -> Response {
    let media = answer_media(&headers);
    match es_authenticate(&receiver, &headers, "/").await {
        Ok(()) => es_json(
            StatusCode::OK,
            bulk::info_body(&receiver.config.cluster),
            media,
        ),
        Err((error, _)) => es_error(&error, media),
    }
}

pub(crate) async fn es_bulk(
    State(receiver): State<Arc<Receiver>>,
    context: Option<Extension<lambda_http::Context>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    bulk_ingest(&receiver, None, context, &headers, &uri, body).await
}

pub(crate) async fn es_bulk_index(
    State(receiver): State<Arc<Receiver>>,
    Path(index): Path<String>,
    context: Option<Extension<lambda_http::Context>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    bulk_ingest(&receiver, Some(index), context, &headers, &uri, body).await
}

async fn bulk_ingest(
    receiver: &Receiver,
    url_index: Option<String>,
    context: Option<Extension<lambda_http::Context>>,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
) -> Response {
    let started = Instant::now();
    let media = answer_media(headers);
    let handled = match bulk_inner(
        receiver,
        url_index.as_deref(),
        context,
        headers,
        uri,
        body,
        started,
    )
    .await
    {
        Ok(handled) | Err(handled) => handled,
    };
    let status = match &handled.response {
        Ok(_) => StatusCode::OK,
        Err(error) => error.status,
    };
    record_outcome("bulk", status, started, &handled);
    match handled.response {
        Ok(body) => es_json(StatusCode::OK, body, media),
        Err(error) => es_error(&error, media),
    }
}

type BulkHandled = Handled<Result<String, EsError>>;

async fn bulk_inner(
    receiver: &Receiver,
    url_index: Option<&str>,
    context: Option<Extension<lambda_http::Context>>,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
    started: Instant,
) -> Result<BulkHandled, BulkHandled> {
    let reject = |error: EsError, kind: &'static str| {
        let reason = error.to_string();
        Handled::rejected(Err(error), kind, reason)
    };
    es_authenticate(receiver, headers, uri.path())
        .await
        .map_err(|(error, kind)| reject(error, kind))?;
    MediaType::parse(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )
    .map_err(|error| reject(error, "content_type"))?;
    let limits = receiver.config.limits;
    let body = read_body(body, headers, &limits, receiver.config.body_read_timeout)
        .await
        .map_err(|error| {
            let es = match &error {
                BodyError::TooLarge { .. } | BodyError::DecompressedTooLarge { .. } => {
                    EsError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "content_too_long_exception",
                        error.to_string(),
                    )
                }
                BodyError::UnsupportedEncoding(_) => EsError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "illegal_argument_exception",
                    error.to_string(),
                ),
                BodyError::TimedOut(_) => EsError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout_exception",
                    error.to_string(),
                ),
                BodyError::BadGzip(_) | BodyError::Unreadable(_) => EsError::new(
                    StatusCode::BAD_REQUEST,
                    "parse_exception",
                    error.to_string(),
                ),
            };
            reject(es, "body")
        })?;
    let items = bulk::parse_bulk(&body, url_index, limits.max_events)
        .map_err(|error| reject(error, "data"))?;
    let request_id = request_digest("bulk", url_index.unwrap_or_default(), &body);
    let request = RequestInfo {
        protocol: "bulk",
        request_id: &request_id,
        channel: None,
    };
    let now = Utc::now();
    let mapper: &Mapper = &receiver.config.mapper;
    let mut records: Vec<Record> = Vec::with_capacity(items.len());
    let mut unparsed: Vec<Unparsed> = Vec::new();
    for item in &items {
        match item {
            Ok(item) => records.push(mapper.bulk(item, request, now)),
            Err(refused) => unparsed.push(
                Unparsed::new(VENDOR, refused.raw.clone(), refused.error.to_string())
                    .with_context("protocol", "bulk")
                    .with_context("request", request_id.as_str())
                    .with_context("line", refused.line),
            ),
        }
    }
    let budget = receiver.land_budget(context.as_ref().map(|c| &c.0));
    match receiver
        .land(&records, &unparsed, &request_id, budget)
        .await
    {
        Ok(report) => {
            let mut stored = records.iter();
            let results: Vec<ItemResult<'_>> = items
                .iter()
                .map(|item| match item {
                    Ok(item) => {
                        let record = stored.next().expect("one record per stored item");
                        ItemResult {
                            action: item.action.name(),
                            index: &item.index,
                            id: Some(item.id.as_deref().unwrap_or(&record.id)),
                            error: None,
                        }
                    }
                    Err(refused) => ItemResult {
                        action: refused.action,
                        index: &refused.index,
                        id: refused.id.as_deref(),
                        error: Some(&refused.error),
                    },
                })
                .collect();
            let took = started.elapsed().as_millis() as u64;
            Ok(Handled {
                response: Ok(bulk::bulk_response(&results, took)),
                events: records.len(),
                report: Some(report),
                rejection: None,
                implausible_times: records.iter().filter(|r| time_was_implausible(r)).count(),
            })
        }
        Err(failure) => {
            let error = match receiver.config.bulk_busy_status {
                BulkBusyStatus::Unavailable => EsError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable_shards_exception",
                    "storage is unavailable; nothing from this request was stored, retry it",
                ),
                BulkBusyStatus::TooManyRequests => EsError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "es_rejected_execution_exception",
                    "storage is busy; nothing from this request was stored, retry it",
                ),
            };
            Err(Handled {
                events: records.len() + unparsed.len(),
                ..Handled::rejected(Err(error), "storage", failure.to_string())
            })
        }
    }
}
