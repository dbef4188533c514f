//! The HEC endpoints: `/services/collector[/event][/1.0]`, `/raw`, `/ack` and `/health`, answering with HEC's
//! exact bodies and codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;
use tributary_shared::record::{Record, Unparsed};

use crate::auth::{self, HeaderError, Presented, Verdict};
use crate::body::BodyError;
use crate::hec::{self, HecCode, HecReply};
use crate::ingest::{query_map, read_body, record_outcome, request_digest, Handled};
use crate::mapping::{time_was_implausible, Mapper, RequestInfo, VENDOR};
use crate::Receiver;

pub(crate) fn hec_response(reply: &HecReply) -> Response {
    (
        reply.status(),
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        reply.body(),
    )
        .into_response()
}

/// Authenticates a HEC request: code 2 without credentials, 3 for a header of the wrong form, 4 for an
/// unknown token, 16 for a `?token=` (query-string authorization is never enabled here), and the retryable
/// code 9 when the credentials secret cannot be read.
async fn hec_authenticate(
    receiver: &Receiver,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(), Handled<HecReply>> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let presented = match auth::parse_header(header) {
        Ok(Presented::ApiKey(_)) | Err(HeaderError::Malformed) => {
            return Err(Handled::rejected(
                HecReply::new(HecCode::InvalidAuthorization),
                "auth",
                "the Authorization header is not `Splunk <token>` or Basic",
            ))
        }
        Err(HeaderError::Missing) if query.contains_key("token") => {
            return Err(Handled::rejected(
                HecReply::new(HecCode::QueryStringAuthDisabled),
                "auth",
                "a token in the query string is not accepted; send `Authorization: Splunk <token>`",
            ))
        }
        Err(HeaderError::Missing) => {
            return Err(Handled::rejected(
                HecReply::new(HecCode::TokenRequired),
                "auth",
                "no Authorization header",
            ))
        }
        Ok(presented) => presented,
    };
    let loaded = receiver.credentials().await.map_err(|error| {
        Handled::rejected(
            HecReply::new(HecCode::ServerBusy),
            "secrets",
            error.to_string(),
        )
    })?;
    match loaded.credentials.check_hec(&presented) {
        Verdict::Accepted => Ok(()),
        Verdict::Rejected if loaded.incomplete => Err(Handled::rejected(
            HecReply::new(HecCode::ServerBusy),
            "secrets",
            "the token is not among the credentials that could be read, and some could not",
        )),
        Verdict::Rejected => Err(Handled::rejected(
            HecReply::new(HecCode::InvalidToken),
            "auth",
            "unknown HEC token",
        )),
    }
}

/// HEC's answer to a body that could not be read within the limits.
fn hec_body_error(error: &BodyError) -> HecReply {
    match error {
        BodyError::TooLarge { .. } | BodyError::DecompressedTooLarge { .. } => {
            HecReply::new(HecCode::TooLarge)
        }
        BodyError::UnsupportedEncoding(_) => HecReply::new(HecCode::UnsupportedEncoding),
        BodyError::TimedOut(_) => HecReply::new(HecCode::RequestTimeout),
        BodyError::BadGzip(_) | BodyError::Unreadable(_) => hec::ParseError::InvalidDataFormat {
            event: 0,
            reason: String::new(),
        }
        .reply(),
    }
}

/// Which of the two ingest formats a POST carries: envelopes or raw lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HecEndpoint {
    Event,
    Raw,
}

pub(crate) async fn hec_event(
    State(receiver): State<Arc<Receiver>>,
    context: Option<Extension<lambda_http::Context>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    hec_ingest(&receiver, HecEndpoint::Event, context, headers, uri, body).await
}

pub(crate) async fn hec_raw(
    State(receiver): State<Arc<Receiver>>,
    context: Option<Extension<lambda_http::Context>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    hec_ingest(&receiver, HecEndpoint::Raw, context, headers, uri, body).await
}

async fn hec_ingest(
    receiver: &Receiver,
    endpoint: HecEndpoint,
    context: Option<Extension<lambda_http::Context>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let started = Instant::now();
    let handled = match hec_ingest_inner(receiver, endpoint, context, &headers, &uri, body).await {
        Ok(handled) | Err(handled) => handled,
    };
    record_outcome("hec", handled.response.status(), started, &handled);
    hec_response(&handled.response)
}

async fn hec_ingest_inner(
    receiver: &Receiver,
    endpoint: HecEndpoint,
    context: Option<Extension<lambda_http::Context>>,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
) -> Result<Handled<HecReply>, Handled<HecReply>> {
    let query = query_map(uri);
    hec_authenticate(receiver, headers, &query).await?;
    let channel = hec::channel(
        headers
            .get("x-splunk-request-channel")
            .map(HeaderValue::as_bytes),
        query.get("channel").map(String::as_str),
    )
    .map_err(|code| {
        Handled::rejected(HecReply::new(code), "channel", "the channel is not a GUID")
    })?;
    if endpoint == HecEndpoint::Raw && channel.is_none() {
        return Err(Handled::rejected(
            HecReply::new(HecCode::ChannelMissing),
            "channel",
            "the raw endpoint needs a channel (X-Splunk-Request-Channel or ?channel=)",
        ));
    }
    let limits = receiver.config.limits;
    let body = read_body(body, headers, &limits, receiver.config.body_read_timeout)
        .await
        .map_err(|error| Handled::rejected(hec_body_error(&error), "body", error.to_string()))?;
    let (envelopes, meta) = match endpoint {
        HecEndpoint::Event => (hec::parse_events(&body, limits.max_events), String::new()),
        HecEndpoint::Raw => {
            let meta = hec::RawMeta::from_query(&query);
            let described = format!("{meta:?}");
            (hec::parse_raw(&body, &meta, limits.max_events), described)
        }
    };
    let events =
        envelopes.map_err(|error| Handled::rejected(error.reply(), "data", error.to_string()))?;
    let request_id = request_digest("hec", &meta, &body);
    let request = RequestInfo {
        protocol: "hec",
        request_id: &request_id,
        channel: channel.as_deref(),
    };
    let now = Utc::now();
    let mapper: &Mapper = &receiver.config.mapper;
    let mut records: Vec<Record> = Vec::with_capacity(events.len());
    let mut unparsed: Vec<Unparsed> = Vec::new();
    let mut first_bad: Option<&hec::ParseError> = None;
    for (n, event) in events.iter().enumerate() {
        match event {
            Ok(envelope) => records.push(mapper.hec(envelope, request, now)),
            Err(bad) => {
                first_bad.get_or_insert(&bad.error);
                let mut item = Unparsed::new(VENDOR, bad.raw.clone(), bad.error.to_string())
                    .with_context("protocol", "hec")
                    .with_context("request", request_id.as_str())
                    .with_context("event", n);
                if let Some(channel) = &channel {
                    item = item.with_context("channel", channel.as_str());
                }
                unparsed.push(item);
            }
        }
    }
    let budget = receiver.land_budget(context.as_ref().map(|c| &c.0));
    let total = records.len() + unparsed.len();
    match receiver
        .land(&records, &unparsed, &request_id, budget)
        .await
    {
        // Splunk's answer for a batch with a bad event: the first bad event's code and number, no ack id. Unlike
        // Splunk, which indexes the events before the bad one and drops the rest, everything the request
        // carried is already in S3 by now: the good events as records, the bad ones under `_unparsed`. A
        // sender that gives up on a 400 loses nothing; one that resends the corrected batch may land its good
        // events twice, under other keys (deduplicate by `event.id`).
        Ok(report) => match first_bad {
            Some(error) => Ok(Handled {
                response: error.reply(),
                events: total,
                report: Some(report),
                rejection: None,
                implausible_times: records.iter().filter(|r| time_was_implausible(r)).count(),
            }),
            None => {
                let ack_id = channel.as_deref().map(|c| receiver.ack_ids.next(c));
                Ok(Handled {
                    response: HecReply::success(ack_id),
                    events: total,
                    report: Some(report),
                    rejection: None,
                    implausible_times: records.iter().filter(|r| time_was_implausible(r)).count(),
                })
            }
        },
        Err(failure) => Err(Handled {
            events: total,
            ..Handled::rejected(
                HecReply::new(HecCode::ServerBusy),
                "storage",
                failure.to_string(),
            )
        }),
    }
}

pub(crate) async fn hec_ack(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let query = query_map(&uri);
    let reply = async {
        hec_authenticate(&receiver, &headers, &query)
            .await
            .map_err(|h| h.response)?;
        let channel = hec::channel(
            headers
                .get("x-splunk-request-channel")
                .map(HeaderValue::as_bytes),
            query.get("channel").map(String::as_str),
        )
        .map_err(HecReply::new)?;
        if channel.is_none() {
            return Err(HecReply::new(HecCode::ChannelMissing));
        }
        let body = read_body(
            body,
            &headers,
            &receiver.config.limits,
            receiver.config.body_read_timeout,
        )
        .await
        .map_err(|e| hec_body_error(&e))?;
        let acks = hec::parse_ack_query(&body).map_err(HecReply::new)?;
        Ok((channel.expect("checked above"), acks))
    }
    .await;
    match reply {
        Ok((channel, acks)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
            hec::ack_status_body(&acks, |id| receiver.ack_ids.issued(&channel, id)),
        )
            .into_response(),
        Err(reply) => hec_response(&reply),
    }
}

/// Splunk's health endpoint ignores the token in practice (whatever its documentation says), and so do we:
/// load balancers probe it without one. It answers code 9 while the last write to storage failed (Splunk's
/// answer when it cannot take data), so a sender that checks health before sending waits instead of sending
/// into an outage. In Lambda each instance knows only its own writes.
pub(crate) async fn hec_health(State(receiver): State<Arc<Receiver>>) -> Response {
    if receiver.storage_failing() {
        hec_response(&HecReply::new(HecCode::Unhealthy))
    } else {
        hec_response(&HecReply::new(HecCode::Healthy))
    }
}
