//! The Splunk HTTP Event Collector wire protocol, as far as a receiver needs it: envelopes (concatenated JSON
//! objects, not an array), raw text, channels, acknowledgement queries and HEC's exact `{"text","code"}` replies.
//!
//! Pure functions over bytes; the HTTP handlers in `lib.rs` call them. Everything here validates the whole
//! request before anything is written, so a bad event anywhere refuses the request whole.

use std::collections::HashMap;
use std::sync::Mutex;

use http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// HEC status codes the receiver answers with (the subset of Splunk's table that applies to us), plus two
/// HTTP-level refusals that Splunk answers without a HEC code of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HecCode {
    Success,
    TokenRequired,
    InvalidAuthorization,
    InvalidToken,
    NoData,
    InvalidDataFormat,
    InternalError,
    ServerBusy,
    ChannelMissing,
    InvalidChannel,
    EventRequired,
    EventBlank,
    IndexedFieldsError,
    QueryStringAuthDisabled,
    Healthy,
    /// `/health` while the last write to storage failed: Splunk's answer when its queues are full.
    Unhealthy,
    /// HTTP 413: the body, its inflated size or its event count is over a limit.
    TooLarge,
    /// HTTP 415: a `Content-Encoding` other than gzip.
    UnsupportedEncoding,
    /// HTTP 408: the body did not arrive within its read timeout.
    RequestTimeout,
    /// HTTP 404: not a HEC endpoint (Splunk puts the HTTP status in `code` here).
    NotFound,
    /// HTTP 405: a HEC endpoint with the wrong method.
    MethodNotAllowed,
}

impl HecCode {
    pub fn number(self) -> u16 {
        match self {
            HecCode::Success => 0,
            HecCode::TokenRequired => 2,
            HecCode::InvalidAuthorization => 3,
            HecCode::InvalidToken => 4,
            HecCode::NoData => 5,
            HecCode::InvalidDataFormat => 6,
            HecCode::InternalError => 8,
            HecCode::ServerBusy => 9,
            HecCode::ChannelMissing => 10,
            HecCode::InvalidChannel => 11,
            HecCode::EventRequired => 12,
            HecCode::EventBlank => 13,
            HecCode::IndexedFieldsError => 15,
            HecCode::QueryStringAuthDisabled => 16,
            HecCode::Healthy => 17,
            HecCode::Unhealthy => 9,
            HecCode::TooLarge => 413,
            HecCode::UnsupportedEncoding => 415,
            HecCode::RequestTimeout => 408,
            HecCode::NotFound => 404,
            HecCode::MethodNotAllowed => 405,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            HecCode::Success | HecCode::Healthy => StatusCode::OK,
            HecCode::TokenRequired | HecCode::InvalidAuthorization => StatusCode::UNAUTHORIZED,
            HecCode::InvalidToken => StatusCode::FORBIDDEN,
            HecCode::NoData
            | HecCode::InvalidDataFormat
            | HecCode::ChannelMissing
            | HecCode::InvalidChannel
            | HecCode::EventRequired
            | HecCode::EventBlank
            | HecCode::IndexedFieldsError
            | HecCode::QueryStringAuthDisabled => StatusCode::BAD_REQUEST,
            HecCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            HecCode::ServerBusy | HecCode::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
            HecCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HecCode::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HecCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            HecCode::NotFound => StatusCode::NOT_FOUND,
            HecCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            HecCode::Success => "Success",
            HecCode::TokenRequired => "Token is required",
            HecCode::InvalidAuthorization => "Invalid authorization",
            HecCode::InvalidToken => "Invalid token",
            HecCode::NoData => "No data",
            HecCode::InvalidDataFormat => "Invalid data format",
            HecCode::InternalError => "Internal server error",
            HecCode::ServerBusy => "Server is busy",
            HecCode::ChannelMissing => "Data channel is missing",
            HecCode::InvalidChannel => "Invalid data channel",
            HecCode::EventRequired => "Event field is required",
            HecCode::EventBlank => "Event field cannot be blank",
            HecCode::IndexedFieldsError => "Error in handling indexed fields",
            HecCode::QueryStringAuthDisabled => "Query string authorization is not enabled",
            HecCode::Healthy => "HEC is healthy",
            HecCode::Unhealthy => "HEC is unhealthy, queues are full",
            HecCode::TooLarge => "Request entity too large",
            HecCode::UnsupportedEncoding => "Unsupported content encoding",
            HecCode::RequestTimeout => "Request timed out",
            HecCode::NotFound => "The requested URL was not found on this server.",
            HecCode::MethodNotAllowed => "Method not allowed",
        }
    }
}

/// One HEC answer. Serializes field by field in Splunk's order: `text`, `code`, then the optional extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HecReply {
    #[serde(skip)]
    kind: HecCode,
    text: &'static str,
    code: u16,
    #[serde(
        rename = "invalid-event-number",
        skip_serializing_if = "Option::is_none"
    )]
    invalid_event_number: Option<usize>,
    #[serde(rename = "ackId", skip_serializing_if = "Option::is_none")]
    ack_id: Option<u64>,
}

impl HecReply {
    pub fn new(code: HecCode) -> Self {
        HecReply {
            kind: code,
            text: code.text(),
            code: code.number(),
            invalid_event_number: None,
            ack_id: None,
        }
    }

    pub fn success(ack_id: Option<u64>) -> Self {
        HecReply {
            ack_id,
            ..HecReply::new(HecCode::Success)
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a HEC reply always serializes")
    }
}

/// Why a request body was refused; carries the 0-based number of the first bad event where HEC reports one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the request has no events")]
    NoData,
    #[error("event {event} is not a valid HEC envelope: {reason}")]
    InvalidDataFormat { event: usize, reason: String },
    #[error("event {event} has no `event` field")]
    EventRequired { event: usize },
    #[error("event {event} has a blank `event` field")]
    EventBlank { event: usize },
    #[error("event {event} has `fields` that are not a flat object: {reason}")]
    IndexedFields { event: usize, reason: String },
    #[error("the request has more than {limit} events")]
    TooManyEvents { limit: usize },
}

impl ParseError {
    pub fn reply(&self) -> HecReply {
        let (code, event) = match self {
            ParseError::NoData => (HecCode::NoData, None),
            ParseError::InvalidDataFormat { event, .. } => {
                (HecCode::InvalidDataFormat, Some(*event))
            }
            ParseError::EventRequired { event } => (HecCode::EventRequired, Some(*event)),
            ParseError::EventBlank { event } => (HecCode::EventBlank, Some(*event)),
            ParseError::IndexedFields { event, .. } => (HecCode::IndexedFieldsError, Some(*event)),
            ParseError::TooManyEvents { .. } => (HecCode::TooLarge, None),
        };
        HecReply {
            invalid_event_number: event,
            ..HecReply::new(code)
        }
    }
}

/// One HEC event with its metadata.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The sender's `event`, parsed.
    pub event: Value,
    /// The sender's `event` exactly as it was written, kept as the original.
    pub raw: Box<RawValue>,
    /// Epoch seconds, possibly fractional (a sender's milliseconds or finer are recognised by magnitude).
    pub time: Option<f64>,
    pub host: Option<String>,
    pub source: Option<String>,
    pub sourcetype: Option<String>,
    pub index: Option<String>,
    pub fields: Option<Map<String, Value>>,
}

/// The envelope's keys as written. `event` is captured raw (and `null` kept as a value, not as absent), so the
/// original event is kept byte for byte.
#[derive(serde::Deserialize)]
struct WireEnvelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    event: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "present")]
    time: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    host: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    source: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    sourcetype: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    index: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    fields: Option<Value>,
}

/// `Some` whenever the key is present, even when its value is `null`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// An event of the request that cannot be read: answered as Splunk does (its number and code), and kept under
/// `_unparsed` with that error so that nothing the sender sent is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEvent {
    pub error: ParseError,
    /// The event as sent; after a JSON syntax error, everything from that event to the end of the body, since
    /// no boundary can be trusted past it.
    pub raw: String,
}

/// One event of a request: readable, or bad with its own error.
pub type Parsed = Result<Envelope, BadEvent>;

/// Parses a `/services/collector[/event]` body: JSON envelopes one after another (whitespace between them is
/// optional). An array is not HEC's format and is a bad event, as Splunk says. Only an empty body or one with too
/// many events is refused whole; every other problem is one event's.
pub fn parse_events(body: &[u8], max_events: usize) -> Result<Vec<Parsed>, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::NoData);
    }
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<&RawValue>();
    loop {
        let start = stream.byte_offset();
        let Some(item) = stream.next() else { break };
        let n = out.len();
        if n >= max_events {
            return Err(ParseError::TooManyEvents { limit: max_events });
        }
        match item {
            Ok(item) => out.push(envelope(n, item).map_err(|error| BadEvent {
                error,
                raw: item.get().to_owned(),
            })),
            Err(e) => {
                out.push(Err(BadEvent {
                    error: ParseError::InvalidDataFormat {
                        event: n,
                        reason: e.to_string(),
                    },
                    raw: String::from_utf8_lossy(&body[start..]).trim().to_owned(),
                }));
                break;
            }
        }
    }
    Ok(out)
}

fn envelope(n: usize, item: &RawValue) -> Result<Envelope, ParseError> {
    let invalid = |reason: &str| ParseError::InvalidDataFormat {
        event: n,
        reason: reason.to_owned(),
    };
    if !item.get().starts_with('{') {
        return Err(invalid("an envelope must be a JSON object"));
    }
    let wire: WireEnvelope<'_> =
        serde_json::from_str(item.get()).map_err(|e| invalid(&e.to_string()))?;
    let raw = wire.event.ok_or(ParseError::EventRequired { event: n })?;
    let event: Value = serde_json::from_str(raw.get()).map_err(|e| invalid(&e.to_string()))?;
    let blank = match &event {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if blank {
        return Err(ParseError::EventBlank { event: n });
    }
    let time = match wire.time {
        None | Some(Value::Null) => None,
        Some(Value::Number(t)) => Some(
            t.as_f64()
                .ok_or_else(|| invalid("`time` is not a number"))?,
        ),
        Some(Value::String(t)) => Some(
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .ok_or_else(|| invalid("`time` is not epoch seconds"))?,
        ),
        Some(_) => return Err(invalid("`time` must be a number or a numeric string")),
    };
    // A number that is no plausible time (negative, far future) is the sender's value all the same: the event
    // is kept and filed by when it arrived (see the mapping), rather than refused.
    let text = |key: &str, value: Option<Value>| -> Result<Option<String>, ParseError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(&format!("`{key}` must be a string"))),
        }
    };
    let host = text("host", wire.host)?;
    let source = text("source", wire.source)?;
    let sourcetype = text("sourcetype", wire.sourcetype)?;
    let index = text("index", wire.index)?;
    let fields = match wire.fields {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => {
            check_indexed_fields(&fields)
                .map_err(|reason| ParseError::IndexedFields { event: n, reason })?;
            Some(fields)
        }
        Some(_) => {
            return Err(ParseError::IndexedFields {
                event: n,
                reason: "`fields` must be an object".to_owned(),
            })
        }
    };
    Ok(Envelope {
        event,
        raw: raw.to_owned(),
        time,
        host,
        source,
        sourcetype,
        index,
        fields,
    })
}

/// Indexed fields are flat: each value a string, number or boolean, or an array of those.
fn check_indexed_fields(fields: &Map<String, Value>) -> Result<(), String> {
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    for (key, value) in fields {
        let ok = match value {
            Value::Array(items) => items.iter().all(scalar),
            other => scalar(other),
        };
        if !ok {
            return Err(format!("field {key:?} is nested"));
        }
    }
    Ok(())
}

/// Metadata a raw request carries in its query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawMeta {
    pub host: Option<String>,
    pub source: Option<String>,
    pub sourcetype: Option<String>,
    pub index: Option<String>,
}

impl RawMeta {
    pub fn from_query(query: &HashMap<String, String>) -> Self {
        let get = |k: &str| query.get(k).filter(|v| !v.is_empty()).cloned();
        RawMeta {
            host: get("host"),
            source: get("source"),
            sourcetype: get("sourcetype"),
            index: get("index"),
        }
    }
}

/// Parses a `/services/collector/raw` body: one event per non-blank line (Splunk's default line breaking), each
/// kept as text with the query string's metadata.
pub fn parse_raw(
    body: &[u8],
    meta: &RawMeta,
    max_events: usize,
) -> Result<Vec<Parsed>, ParseError> {
    let mut out = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let n = out.len();
        if n >= max_events {
            return Err(ParseError::TooManyEvents { limit: max_events });
        }
        let Ok(text) = std::str::from_utf8(line) else {
            out.push(Err(BadEvent {
                error: ParseError::InvalidDataFormat {
                    event: n,
                    reason: "line is not UTF-8 (kept with the invalid bytes replaced)".to_owned(),
                },
                raw: String::from_utf8_lossy(line).into_owned(),
            }));
            continue;
        };
        let event = Value::String(text.to_owned());
        out.push(Ok(Envelope {
            raw: serde_json::value::to_raw_value(&event).expect("a string always serializes"),
            event,
            time: None,
            host: meta.host.clone(),
            source: meta.source.clone(),
            sourcetype: meta.sourcetype.clone(),
            index: meta.index.clone(),
            fields: None,
        }));
    }
    if out.is_empty() {
        return Err(ParseError::NoData);
    }
    Ok(out)
}

/// The request's data channel, from the `X-Splunk-Request-Channel` header or the `channel` query parameter
/// (the header wins). A channel must be a GUID.
pub fn channel(header: Option<&[u8]>, query: Option<&str>) -> Result<Option<String>, HecCode> {
    let value = match (header, query) {
        (Some(h), _) => std::str::from_utf8(h).map_err(|_| HecCode::InvalidChannel)?,
        (None, Some(q)) => q,
        (None, None) => return Ok(None),
    };
    let value = value.trim();
    if is_guid(value) {
        Ok(Some(value.to_ascii_lowercase()))
    } else {
        Err(HecCode::InvalidChannel)
    }
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Reads an acknowledgement query body `{"acks":[0,1,2]}`.
pub fn parse_ack_query(body: &[u8]) -> Result<Vec<u64>, HecCode> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(HecCode::NoData);
    }
    #[derive(serde::Deserialize)]
    struct Query {
        acks: Vec<u64>,
    }
    serde_json::from_slice::<Query>(body)
        .map(|q| q.acks)
        .map_err(|_| HecCode::InvalidDataFormat)
}

/// The answer to an acknowledgement query: `true` for the ids this channel was handed (each only after its batch
/// was in S3, so each is durable), `false` for any other.
pub fn ack_status_body(acks: &[u64], issued: impl Fn(u64) -> bool) -> String {
    let statuses: Map<String, Value> = acks
        .iter()
        .map(|id| (id.to_string(), Value::Bool(issued(*id))))
        .collect();
    serde_json::json!({ "acks": statuses }).to_string()
}

/// Ack ids, counted per channel as Splunk does, so the ids a channel was handed are exactly those below its
/// counter: a bounded record of what was issued. Kept in memory: a Lambda instance knows only its own answers, so
/// an ack query that reaches another instance hears `false` and the sender resends the batch, which lands under
/// the same keys (no duplicate) — the same as Splunk behind a load balancer without sticky channels.
pub struct AckIds {
    next: Mutex<HashMap<String, u64>>,
    max_channels: usize,
}

impl Default for AckIds {
    fn default() -> Self {
        AckIds::new(10_000)
    }
}

impl AckIds {
    pub fn new(max_channels: usize) -> Self {
        AckIds {
            next: Mutex::new(HashMap::new()),
            max_channels,
        }
    }

    /// The next ack id on `channel`.
    pub fn next(&self, channel: &str) -> u64 {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded memory: a flood of one-off channels resets the numbering instead of growing without end.
        if next.len() >= self.max_channels && !next.contains_key(channel) {
            next.clear();
        }
        let counter = next.entry(channel.to_owned()).or_insert(0);
        let id = *counter;
        *counter += 1;
        id
    }

    /// Whether `id` was handed out on `channel` (and not forgotten since, see [`AckIds::next`]).
    pub fn issued(&self, channel: &str, id: u64) -> bool {
        let next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        next.get(channel).is_some_and(|counter| id < *counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_match_splunk_byte_for_byte() {
        assert_eq!(
            HecReply::success(None).body(),
            r#"{"text":"Success","code":0}"#
        );
        assert_eq!(
            HecReply::success(Some(7)).body(),
            r#"{"text":"Success","code":0,"ackId":7}"#
        );
        let bad = ParseError::InvalidDataFormat {
            event: 2,
            reason: String::new(),
        };
        assert_eq!(
            bad.reply().body(),
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#
        );
        assert_eq!(bad.reply().status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            HecReply::new(HecCode::ServerBusy).body(),
            r#"{"text":"Server is busy","code":9}"#
        );
        assert_eq!(
            HecReply::new(HecCode::ServerBusy).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            HecReply::new(HecCode::Healthy).body(),
            r#"{"text":"HEC is healthy","code":17}"#
        );
    }

    #[test]
    fn statuses_follow_the_hec_table() {
        let table = [
            (HecCode::TokenRequired, 401, 2),
            (HecCode::InvalidAuthorization, 401, 3),
            (HecCode::InvalidToken, 403, 4),
            (HecCode::NoData, 400, 5),
            (HecCode::InvalidDataFormat, 400, 6),
            (HecCode::InternalError, 500, 8),
            (HecCode::ServerBusy, 503, 9),
            (HecCode::ChannelMissing, 400, 10),
            (HecCode::InvalidChannel, 400, 11),
            (HecCode::EventRequired, 400, 12),
            (HecCode::EventBlank, 400, 13),
            (HecCode::IndexedFieldsError, 400, 15),
            (HecCode::QueryStringAuthDisabled, 400, 16),
            (HecCode::Healthy, 200, 17),
        ];
        for (code, status, number) in table {
            let reply = HecReply::new(code);
            assert_eq!(reply.status().as_u16(), status, "{code:?}");
            assert_eq!(reply.code(), number, "{code:?}");
        }
    }

    #[test]
    fn concatenated_envelopes_are_separate_events() {
        let body = br#"{"event":"a","sourcetype":"manual"}{"event":{"eventId":"e2"},"time":"1638316800.5"}
            {"event":"c","time":1638316800,"host":"h","source":"strivacity","index":"main","fields":{"k":["v",1]}}"#;
        let events = good(parse_events(body, 10).unwrap());
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].event, json!("a"));
        assert_eq!(events[0].sourcetype.as_deref(), Some("manual"));
        assert_eq!(events[1].event, json!({"eventId":"e2"}));
        assert_eq!(events[1].time, Some(1638316800.5));
        assert_eq!(events[2].time, Some(1638316800.0));
        assert_eq!(events[2].source.as_deref(), Some("strivacity"));
        assert_eq!(events[2].index.as_deref(), Some("main"));
    }

    fn good(events: Vec<Parsed>) -> Vec<Envelope> {
        events
            .into_iter()
            .map(|e| e.expect("a good event"))
            .collect()
    }

    fn first_bad(body: &[u8]) -> ParseError {
        parse_events(body, 10)
            .unwrap()
            .into_iter()
            .find_map(Result::err)
            .expect("a bad event")
            .error
    }

    #[test]
    fn bad_events_are_kept_beside_the_good_ones() {
        let body = br#"{"event":"a"}{"time":1}{"event":"c"}{"event":"d","host":7}{"event":"e"} {"event": oops {"event":"f"}"#;
        let events = parse_events(body, 10).unwrap();
        let summary: Vec<Result<Value, (ParseError, &str)>> = events
            .iter()
            .map(|e| match e {
                Ok(envelope) => Ok(envelope.event.clone()),
                Err(bad) => Err((bad.error.clone(), bad.raw.as_str())),
            })
            .collect();
        assert_eq!(summary.len(), 6);
        assert_eq!(summary[0], Ok(json!("a")));
        assert_eq!(
            summary[1],
            Err((ParseError::EventRequired { event: 1 }, r#"{"time":1}"#))
        );
        assert_eq!(summary[2], Ok(json!("c")));
        assert!(matches!(
            &summary[3],
            Err((
                ParseError::InvalidDataFormat { event: 3, .. },
                r#"{"event":"d","host":7}"#
            ))
        ));
        assert_eq!(summary[4], Ok(json!("e")));
        // Past a syntax error no boundary can be trusted: the rest of the body is one bad event.
        assert!(matches!(
            &summary[5],
            Err((
                ParseError::InvalidDataFormat { event: 5, .. },
                r#"{"event": oops {"event":"f"}"#
            ))
        ));
    }

    #[test]
    fn implausible_numeric_times_are_the_mappings_to_judge() {
        for time in ["-1", "1e22", "\"1e300\"", "1.8e12"] {
            let body = format!(r#"{{"event":"a","time":{time}}}"#);
            assert_eq!(
                good(parse_events(body.as_bytes(), 1).unwrap()).len(),
                1,
                "{time}"
            );
        }
    }

    #[test]
    fn an_array_is_not_the_hec_format() {
        let err = first_bad(br#"[{"event":"a"}]"#);
        assert!(matches!(
            err,
            ParseError::InvalidDataFormat { event: 0, .. }
        ));
    }

    #[test]
    fn the_first_bad_event_is_numbered_from_zero() {
        let err = first_bad(br#"{"event":"a"}{"event":"b"}{"event":"c""#);
        assert!(matches!(
            err,
            ParseError::InvalidDataFormat { event: 2, .. }
        ));
        let err = first_bad(br#"{"event":"a"}{"time":1}"#);
        assert_eq!(err, ParseError::EventRequired { event: 1 });
        assert_eq!(
            err.reply().body(),
            r#"{"text":"Event field is required","code":12,"invalid-event-number":1}"#
        );
        for blank in [r#"{"event":""}"#, r#"{"event":null}"#, r#"{"event":{}}"#] {
            let body = format!(r#"{{"event":"a"}}{blank}"#);
            assert_eq!(
                first_bad(body.as_bytes()),
                ParseError::EventBlank { event: 1 },
                "{blank}"
            );
        }
    }

    #[test]
    fn bad_metadata_is_invalid_data() {
        for body in [
            r#"{"event":"a","time":"yesterday"}"#,
            r#"{"event":"a","time":"NaN"}"#,
            r#"{"event":"a","time":[1]}"#,
            r#"{"event":"a","host":7}"#,
            r#"{"event":"a","source":{}}"#,
        ] {
            assert!(
                matches!(
                    first_bad(body.as_bytes()),
                    ParseError::InvalidDataFormat { event: 0, .. }
                ),
                "{body}"
            );
        }
        let err = first_bad(br#"{"event":"a","fields":{"k":{"x":1}}}"#);
        assert_eq!(err.reply().code(), 15);
        let err = first_bad(br#"{"event":"a","fields":"x"}"#);
        assert_eq!(err.reply().code(), 15);
    }

    #[test]
    fn empty_bodies_are_no_data() {
        assert_eq!(parse_events(b"", 10).unwrap_err(), ParseError::NoData);
        assert_eq!(parse_events(b" \n\t", 10).unwrap_err(), ParseError::NoData);
        assert_eq!(
            parse_raw(b"\n\n", &RawMeta::default(), 10).unwrap_err(),
            ParseError::NoData
        );
        assert_eq!(
            ParseError::NoData.reply().body(),
            r#"{"text":"No data","code":5}"#
        );
    }

    #[test]
    fn event_count_is_limited() {
        let body = r#"{"event":"x"}"#.repeat(4);
        assert_eq!(good(parse_events(body.as_bytes(), 4).unwrap()).len(), 4);
        let err = parse_events(body.as_bytes(), 3).unwrap_err();
        assert_eq!(err, ParseError::TooManyEvents { limit: 3 });
        assert_eq!(err.reply().status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(parse_raw(b"a\nb\nc\nd\n", &RawMeta::default(), 3).is_err());
    }

    #[test]
    fn raw_lines_become_text_events_with_query_metadata() {
        let meta = RawMeta {
            source: Some("strivacity".into()),
            sourcetype: Some("audit".into()),
            ..RawMeta::default()
        };
        let events = good(parse_raw(b"first line\r\n\n{\"eventId\":\"x\"}\n", &meta, 10).unwrap());
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event, json!("first line"));
        assert_eq!(events[1].event, json!("{\"eventId\":\"x\"}"));
        assert_eq!(events[1].sourcetype.as_deref(), Some("audit"));
    }

    #[test]
    fn channels_must_be_guids_and_the_header_wins() {
        let guid = "0B9F4C9E-0F7C-4D4B-8F7A-1C2D3E4F5A6B";
        assert_eq!(channel(None, None), Ok(None));
        assert_eq!(
            channel(Some(guid.as_bytes()), Some("not-a-guid")).unwrap(),
            Some(guid.to_ascii_lowercase())
        );
        assert_eq!(
            channel(None, Some(guid)).unwrap(),
            Some(guid.to_ascii_lowercase())
        );
        assert_eq!(
            channel(Some(b"not-a-guid"), None),
            Err(HecCode::InvalidChannel)
        );
    }

    #[test]
    fn ack_queries_answer_true_only_for_issued_ids() {
        assert_eq!(parse_ack_query(br#"{"acks":[0,1,2]}"#).unwrap(), [0, 1, 2]);
        assert_eq!(
            parse_ack_query(br#"{"acks":"x"}"#),
            Err(HecCode::InvalidDataFormat)
        );
        assert_eq!(parse_ack_query(b""), Err(HecCode::NoData));
        let ids = AckIds::new(10);
        ids.next("a");
        ids.next("a");
        assert_eq!(
            ack_status_body(&[0, 1, 2], |id| ids.issued("a", id)),
            r#"{"acks":{"0":true,"1":true,"2":false}}"#
        );
        assert!(!ids.issued("b", 0));
    }

    #[test]
    fn ack_ids_count_up_per_channel() {
        let ids = AckIds::new(2);
        assert_eq!(ids.next("a"), 0);
        assert_eq!(ids.next("a"), 1);
        assert_eq!(ids.next("b"), 0);
        assert_eq!(ids.next("a"), 2);
        // A third channel past the bound starts the numbering afresh rather than growing the map.
        assert_eq!(ids.next("c"), 0);
        assert_eq!(ids.next("a"), 0);
    }
}
