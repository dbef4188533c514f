//! Strivacity event → ECS record.
//!
//! The field names Strivacity uses are only partly documented (`eventId` or `eventID`, `actor.*`,
//! `subject.*`, `labels`, `network.http.user_agent`, `startTimestamp`, ...), so every lookup tries a short list
//! of candidates and takes the first present. Mapping never fails: what cannot be read into ECS is still in the
//! original event, which every record keeps byte for byte under `strivacity`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use tributary_shared::event_id;
use tributary_shared::record::{rfc3339, Outcome, Record};
use tributary_shared::time;

use crate::bulk::BulkItem;
use crate::classify::{EventType, Hints, Rule};
use crate::hec::Envelope;

pub const VENDOR: &str = "strivacity";

pub const DEFAULT_EVENT_ID_PATHS: &[&str] = &["eventId", "eventID"];
pub const DEFAULT_TIMESTAMP_PATHS: &[&str] = &[
    "startTimestamp",
    "timestamp",
    "eventTimestamp",
    "date",
    "createdAt",
    "created",
    "time",
    "@timestamp",
];

/// The `tributary.*` field that names a sender's time that could not be true, when the event was filed by its
/// arrival instead.
pub const IMPLAUSIBLE_TIME: &str = "implausible_time";

/// Whether the event was filed by its arrival because its own time could not be true.
pub fn time_was_implausible(record: &Record) -> bool {
    record.provenance.contains_key(IMPLAUSIBLE_TIME)
}

/// Maps events of one request; built once from the configuration.
#[derive(Debug, Clone)]
pub struct Mapper {
    /// Where the vendor's event id is, first match wins.
    pub event_id_paths: Vec<String>,
    /// Where the event's own time is, first parseable match wins.
    pub timestamp_paths: Vec<String>,
    pub rule: Rule,
}

impl Default for Mapper {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Mapper {
            event_id_paths: list(DEFAULT_EVENT_ID_PATHS),
            timestamp_paths: list(DEFAULT_TIMESTAMP_PATHS),
            rule: Rule::default(),
        }
    }
}

/// Where an event came from, for `tributary.*`.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// `hec` or `bulk`.
    pub protocol: &'static str,
    /// A digest of the request's content, the same for a retried request.
    pub request_id: &'a str,
    pub channel: Option<&'a str>,
}

impl Mapper {
    /// A HEC envelope: its `time` stands in when the event has no time of its own; `source`, `sourcetype` and
    /// `index` help tell account from audit events and are kept under `tributary.hec`.
    pub fn hec(&self, envelope: &Envelope, request: RequestInfo<'_>, now: DateTime<Utc>) -> Record {
        let hints = Hints {
            source: envelope.source.as_deref(),
            sourcetype: envelope.sourcetype.as_deref(),
            index: envelope.index.as_deref(),
        };
        let fallback_time = envelope.time.map(|t| ("hec.time", json!(t)));
        let mut hec = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                hec.insert(key.to_owned(), value);
            }
        };
        put("time", envelope.time.map(|t| json!(t)));
        put("host", envelope.host.clone().map(Value::String));
        put("source", envelope.source.clone().map(Value::String));
        put("sourcetype", envelope.sourcetype.clone().map(Value::String));
        put("index", envelope.index.clone().map(Value::String));
        put("fields", envelope.fields.clone().map(Value::Object));
        put(
            "channel",
            request.channel.map(|c| Value::String(c.to_owned())),
        );
        self.map(
            &envelope.raw,
            &envelope.event,
            hints,
            fallback_time,
            None,
            now,
        )
        .with_operator_provenance("protocol", request.protocol)
        .with_operator_provenance("request", request.request_id)
        .with_provenance("hec", Value::Object(hec))
    }

    /// A bulk document: its index helps tell account from audit events; its `_id` stands in for a missing
    /// event id.
    pub fn bulk(&self, item: &BulkItem, request: RequestInfo<'_>, now: DateTime<Utc>) -> Record {
        let hints = Hints {
            index: Some(&item.index),
            ..Hints::default()
        };
        let mut bulk = Map::new();
        bulk.insert("index".into(), item.index.clone().into());
        bulk.insert("action".into(), item.action.name().into());
        if let Some(id) = &item.id {
            bulk.insert("_id".into(), id.clone().into());
        }
        self.map(
            &item.raw,
            &item.source,
            hints,
            None,
            item.id.as_deref(),
            now,
        )
        .with_operator_provenance("protocol", request.protocol)
        .with_operator_provenance("request", request.request_id)
        .with_provenance("bulk", Value::Object(bulk))
    }

    fn map(
        &self,
        raw: &RawValue,
        event: &Value,
        hints: Hints<'_>,
        fallback_time: Option<(&str, Value)>,
        fallback_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Record {
        let (original, event, message) = normalize(raw, event);
        let event: &Value = &event;
        let fields = event.as_object();
        let event_type = self.rule.classify(fields, hints);
        let id = self
            .event_id_paths
            .iter()
            .find_map(|p| id_at(original.get(), fields, p))
            .or_else(|| fallback_id.map(str::to_owned))
            .unwrap_or_else(|| event_id::from_canonical_json(event));
        // The first time the event names decides, then the envelope's; a time that reads as one but cannot be
        // true (before 2000, more than a day ahead, or a number no unit makes a date of) files the event by its
        // arrival instead, with the sender's value named under `tributary.implausible_time`.
        let own = fields.and_then(|f| {
            self.timestamp_paths.iter().find_map(|p| {
                let value = lookup(f, p)?;
                read_time(value, now).map(|at| (p.as_str(), value, at))
            })
        });
        let fallback = fallback_time
            .as_ref()
            .and_then(|(p, v)| read_time(v, now).map(|at| (*p, v, at)));
        let (timestamp, implausible) = match own.or(fallback) {
            Some((_, _, Ok(at))) => (at, None),
            Some((path, value, Err(()))) => (now, Some(json!({"field": path, "value": value}))),
            None => (now, None),
        };
        let mut record = Record::new(VENDOR, event_type.as_str(), timestamp, id, original)
            .with_path("message", message.map(Value::String));
        if let Some(implausible) = implausible {
            record = record.with_provenance(IMPLAUSIBLE_TIME, implausible);
        }
        if let Some(fields) = fields {
            record = ecs_fields(record, fields, event_type);
        }
        record
    }
}

/// The vendor's id at `path`, as [`exact_text_at`] reads it. A string is taken from the parsed event, which holds
/// the same text: only a number (or another value) needs the raw event read again, and reading it cost about a
/// tenth of the receiver's CPU per event.
fn id_at(raw: &str, fields: Option<&Map<String, Value>>, path: &str) -> Option<String> {
    match lookup(fields?, path)? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        _ => exact_text_at(raw, path),
    }
}

/// The value at `path` (a key, or a dotted path through nested objects, as [`lookup`]) as its exact JSON text:
/// a string's content, any other value as written. Ids are read here rather than from the parsed event because
/// a number goes through `f64` there: `12345678901234567890123` and `…124` would become one id.
fn exact_text_at(raw: &str, path: &str) -> Option<String> {
    let object: std::collections::HashMap<String, &RawValue> = serde_json::from_str(raw).ok()?;
    let exact = |value: &RawValue| -> Option<String> {
        let text = value.get().trim();
        if text == "null" {
            return None;
        }
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).ok()?;
            let s = s.trim();
            return (!s.is_empty()).then(|| s.to_owned());
        }
        Some(text.to_owned())
    };
    if let Some(value) = object.get(path) {
        return exact(value);
    }
    let (head, rest) = path.split_once('.')?;
    let child = object.get(head)?;
    child
        .get()
        .starts_with('{')
        .then(|| exact_text_at(child.get(), rest))
        .flatten()
}

/// The original to keep and the value to read fields from. Strivacity sends objects; a sender that double
/// encodes (an object inside a JSON string) gets its object kept, and plain text is kept as
/// `{"message": text}` so the `strivacity` column always holds an object.
fn normalize<'a>(
    raw: &RawValue,
    event: &'a Value,
) -> (Box<RawValue>, Cow<'a, Value>, Option<String>) {
    match event {
        Value::Object(_) => (raw.to_owned(), Cow::Borrowed(event), None),
        Value::String(text) => {
            let trimmed = text.trim();
            if trimmed.starts_with('{') {
                if let Ok(inner) = serde_json::from_str::<Box<RawValue>>(trimmed) {
                    if let Ok(value @ Value::Object(_)) = serde_json::from_str(inner.get()) {
                        return (inner, Cow::Owned(value), None);
                    }
                }
            }
            let wrapped = json!({ "message": text });
            (to_raw(&wrapped), Cow::Owned(wrapped), Some(text.clone()))
        }
        other => {
            let wrapped = json!({ "value": other });
            (to_raw(&wrapped), Cow::Owned(wrapped), None)
        }
    }
}

fn to_raw(value: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("a JSON value always serializes")
}

/// The ECS fields Strivacity's events carry.
fn ecs_fields(record: Record, f: &Map<String, Value>, event_type: EventType) -> Record {
    let first = |paths: &[&str]| paths.iter().find_map(|p| lookup(f, p).and_then(text));
    let user_id = first(&["actor.accountId", "actor.id", "actorId"]).or_else(|| {
        // Audit entries name the acting admin or API client with a plain string.
        lookup(f, "actor").and_then(|a| a.as_str().map(str::to_owned))
    });
    let user_name = first(&[
        "actor.userName",
        "actor.username",
        "actor.name",
        "actorName",
    ]);
    let user_email = first(&["actor.email", "actor.emailAddress"]);
    let target_id = first(&["subject.accountId", "subject.id"]);
    let target_name = first(&["subject.userName", "subject.username", "subject.name"]);
    let ip = first(&[
        "actor.ip",
        "ipAddress",
        "ip",
        "clientIp",
        "network.ip",
        "network.client.ip",
    ])
    .and_then(|ip| parse_ip(&ip));
    let user_agent = first(&[
        "network.http.user_agent",
        "network.http.userAgent",
        "userAgent",
        "user_agent",
    ]);
    let action = first(&["action", "eventType", "type", "name", "eventName"]);
    let outcome = outcome(f);
    let (category, types): (&[&str], &[&str]) = categorize(event_type, action.as_deref());

    let mut related_users = BTreeSet::new();
    for value in [&user_id, &user_name, &target_id, &target_name]
        .into_iter()
        .flatten()
    {
        related_users.insert(value.clone());
    }

    let mut record = record
        .with_category(category)
        .with_types(types)
        .with_outcome(outcome)
        .with_path("user.id", user_id.map(Value::String))
        .with_path("user.name", user_name.map(Value::String))
        .with_path("user.email", user_email.map(Value::String))
        .with_path("user.target.id", target_id.map(Value::String))
        .with_path("user.target.name", target_name.map(Value::String))
        .with_path("source.ip", ip.clone().map(Value::String))
        .with_path("user_agent.original", user_agent.map(Value::String))
        .with_path(
            "url.original",
            first(&["url", "entityUrl"]).map(Value::String),
        );
    if let Some(action) = action {
        record = record.with_action(action);
    }
    if !related_users.is_empty() {
        record = record.with_path("related.user", Some(json!(related_users)));
    }
    if let Some(ip) = ip {
        record = record.with_path("related.ip", Some(json!([ip])));
    }
    record = geo(record, f);
    if let Some(Value::Array(labels)) = lookup(f, "labels") {
        let tags: Vec<&str> = labels.iter().filter_map(Value::as_str).collect();
        if !tags.is_empty() {
            record = record.with_path("tags", Some(json!(tags)));
        }
    }
    for (path, field) in [("startTimestamp", "start"), ("endTimestamp", "end")] {
        if let Some(at) = lookup(f, path).and_then(parse_time) {
            record = record.with_event_field(field, Value::String(rfc3339(at)));
        }
    }
    record
}

/// `actor.location`: GeoJSON-like, `properties.{city,state,country}` and `geometry.coordinates`.
fn geo(record: Record, f: &Map<String, Value>) -> Record {
    let prop = |name: &str| {
        lookup(f, &format!("actor.location.properties.{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let country = prop("country");
    let (iso, name) = match country {
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            (Some(c.to_ascii_uppercase()), None)
        }
        other => (None, other),
    };
    let mut record = record
        .with_path("source.geo.city_name", prop("city").map(Value::String))
        .with_path("source.geo.region_name", prop("state").map(Value::String))
        .with_path("source.geo.country_iso_code", iso.map(Value::String))
        .with_path("source.geo.country_name", name.map(Value::String));
    if let Some(Value::Array(coords)) = lookup(f, "actor.location.geometry.coordinates") {
        if let [a, b] = coords.as_slice() {
            if let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) {
                // Documented as [lat, lon]; GeoJSON proper is [lon, lat]. A first value that cannot be a
                // latitude settles it.
                let (lat, lon) = if a.abs() > 90.0 && b.abs() <= 90.0 {
                    (b, a)
                } else {
                    (a, b)
                };
                if lat.abs() <= 90.0 && lon.abs() <= 180.0 {
                    record = record
                        .with_path("source.geo.location", Some(json!({"lat": lat, "lon": lon})));
                }
            }
        }
    }
    record
}

/// `event.outcome` from Strivacity's labels (and from an explicit outcome/result/status field if present).
/// A failure word anywhere wins over a success word: a login that "succeeded at MFA" but failed overall is a
/// failure.
fn outcome(f: &Map<String, Value>) -> Outcome {
    let mut words = Vec::new();
    for path in ["labels", "outcome", "result", "status"] {
        if let Some(value) = lookup(f, path) {
            collect_words(value, &mut words);
        }
    }
    if let Some(Value::Bool(success)) = lookup(f, "success") {
        return if *success {
            Outcome::Success
        } else {
            Outcome::Failure
        };
    }
    const FAILURE: &[&str] = &[
        "fail", "error", "denied", "deny", "reject", "invalid", "blocked", "locked",
    ];
    const SUCCESS: &[&str] = &["success", "succeed", "ok", "passed", "approved", "allow"];
    let any = |needles: &[&str]| words.iter().any(|w| needles.iter().any(|n| w.contains(n)));
    if any(FAILURE) {
        Outcome::Failure
    } else if any(SUCCESS) {
        Outcome::Success
    } else {
        Outcome::Unknown
    }
}

fn collect_words(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.to_ascii_lowercase()),
        Value::Array(items) => items.iter().for_each(|i| collect_words(i, out)),
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    // `{"success": true}` style labels.
                    Value::Bool(true) => out.push(key.to_ascii_lowercase()),
                    Value::Bool(false) => {}
                    other => collect_words(other, out),
                }
            }
        }
        _ => {}
    }
}

/// ECS `event.category` and `event.type` for the kind of event and its action.
fn categorize(
    event_type: EventType,
    action: Option<&str>,
) -> (&'static [&'static str], &'static [&'static str]) {
    let action = action.unwrap_or_default().to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| action.contains(w));
    match event_type {
        EventType::Audit => {
            let types: &[&str] = if has(&["create", "add"]) {
                &["creation"]
            } else if has(&["delete", "remove"]) {
                &["deletion"]
            } else if has(&["update", "modify", "change", "edit"]) {
                &["change"]
            } else {
                &["info"]
            };
            (&["configuration"], types)
        }
        EventType::Account => {
            if has(&["logout", "logoff", "signout", "sign_out"]) {
                (&["authentication", "session"], &["end"])
            } else if has(&["login", "logon", "signin", "sign_in", "authenticat"]) {
                (&["authentication", "session"], &["start"])
            } else if has(&["mfa", "otp", "passcode", "factor"]) {
                (&["authentication"], &["info"])
            } else if has(&["register", "registration", "signup", "sign_up", "create"]) {
                (&["iam"], &["user", "creation"])
            } else if has(&["delete", "remove"]) {
                (&["iam"], &["user", "deletion"])
            } else if has(&["password", "update", "change", "profile"]) {
                (&["iam"], &["user", "change"])
            } else {
                (&["iam"], &["user", "info"])
            }
        }
    }
}

/// A field by key, or by dotted path through nested objects. `null` counts as absent.
pub fn lookup<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = map.get(path) {
        return (!value.is_null()).then_some(value);
    }
    let (head, rest) = path.split_once('.')?;
    match map.get(head)? {
        Value::Object(child) => lookup(child, rest),
        _ => None,
    }
}

/// A string or number as text; empty strings count as absent.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_ip(text: &str) -> Option<String> {
    // `X-Forwarded-For` style lists name the client first; some senders add a port.
    let first = text.split(',').next()?.trim();
    first
        .parse::<IpAddr>()
        .or_else(|_| first.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_string())
}

/// The earliest time an event is believed: nothing Strivacity sends predates 2000.
const EARLIEST_PLAUSIBLE_YEAR: i32 = 2000;

/// How far ahead of the receiver's clock a sender's clock is believed.
const LATEST_PLAUSIBLE_AHEAD: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// A field's value as the event's time: `None` when it is not a time at all (text that no format reads),
/// `Some(Err)` when it is one but cannot be true (before 2000, more than a day ahead of `now`, or a number too
/// large for any unit), `Some(Ok)` otherwise.
fn read_time(value: &Value, now: DateTime<Utc>) -> Option<Result<DateTime<Utc>, ()>> {
    use chrono::Datelike;
    let numeric = match value {
        Value::Number(_) => true,
        Value::String(s) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
        _ => false,
    };
    match parse_time(value) {
        Some(at) if at.year() >= EARLIEST_PLAUSIBLE_YEAR && at <= now + LATEST_PLAUSIBLE_AHEAD => {
            Some(Ok(at))
        }
        Some(_) => Some(Err(())),
        None if numeric => Some(Err(())),
        None => None,
    }
}

/// A timestamp as Strivacity or a HEC sender may write it: RFC 3339 (with or without zone, `T` or space), or
/// epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), as number or string. Read
/// by the shared `time` module; what it rejects (years outside 0000–9999 included) is no time.
pub fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => time::epoch_number(n).ok(),
        Value::String(s) => match s.trim().parse::<serde_json::Number>() {
            Ok(n) => time::epoch_number(&n).ok(),
            Err(_) => time::parse(s).ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::Action;
    use chrono::TimeZone;
    use tributary_shared::record::LineStamp;

    const REQUEST: RequestInfo<'static> = RequestInfo {
        protocol: "hec",
        request_id: "r1",
        channel: None,
    };

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    fn envelope(event: &str) -> Envelope {
        let body = format!(
            r#"{{"time":1638316800,"host":"tenant.example","source":"strivacity","sourcetype":"json","event":{event}}}"#
        );
        crate::hec::parse_events(body.as_bytes(), 10)
            .unwrap()
            .remove(0)
            .unwrap()
    }

    fn line(record: &Record) -> Value {
        let mut out = Vec::new();
        record.to_line(
            &mut out,
            &LineStamp {
                ingested: "2026-11-23T12:00:01.000Z".into(),
                shape: tributary_shared::record::Shape::Full,
            },
        );
        serde_json::from_slice(&out).unwrap()
    }

    const LOGIN: &str = r#"{"eventId":"8c1f0b5e-1","loginSessionId":"ls-1","startTimestamp":"2026-11-23T10:15:30.250Z","endTimestamp":"2026-11-23T10:15:31Z","labels":["LOGIN","FAILURE"],"type":"login","actor":{"accountId":"acc-1","userName":"jane@example.com","ip":"203.0.113.7","location":{"properties":{"city":"Budapest","country":"HU","state":"Budapest"},"geometry":{"coordinates":[47.5,19.04]}}},"network":{"http":{"user_agent":"Mozilla/5.0"}},"actorApplication":{"name":"Portal"},"subject":{"accountId":"acc-2","userName":"john@example.com"},"customClaim":"kept"}"#;

    #[test]
    fn an_account_login_maps_to_ecs_and_keeps_the_original_verbatim() {
        let record = Mapper::default().hec(&envelope(LOGIN), REQUEST, now());
        let v = line(&record);
        assert_eq!(v["@timestamp"], "2026-11-23T10:15:30.250Z");
        assert_eq!(v["event"]["id"], "8c1f0b5e-1");
        assert_eq!(v["event"]["dataset"], "strivacity.account");
        assert_eq!(v["event"]["outcome"], "failure");
        assert_eq!(v["event"]["action"], "login");
        assert_eq!(v["event"]["category"], json!(["authentication", "session"]));
        assert_eq!(v["event"]["type"], json!(["start"]));
        assert_eq!(v["event"]["end"], "2026-11-23T10:15:31.000Z");
        assert_eq!(v["user"]["id"], "acc-1");
        assert_eq!(v["user"]["name"], "jane@example.com");
        assert_eq!(v["user"]["target"]["id"], "acc-2");
        assert_eq!(v["source"]["ip"], "203.0.113.7");
        assert_eq!(v["source"]["geo"]["country_iso_code"], "HU");
        assert_eq!(
            v["source"]["geo"]["location"],
            json!({"lat": 47.5, "lon": 19.04})
        );
        assert_eq!(v["user_agent"]["original"], "Mozilla/5.0");
        assert_eq!(v["tags"], json!(["LOGIN", "FAILURE"]));
        assert_eq!(v["related"]["ip"], json!(["203.0.113.7"]));
        assert_eq!(v["tributary"]["hec"]["host"], "tenant.example");
        assert_eq!(v["tributary"]["protocol"], "hec");
        // Native claims and everything else stay in the original, in the sender's key order.
        assert_eq!(v["strivacity"]["customClaim"], "kept");
        let mut out = Vec::new();
        record.to_line(
            &mut out,
            &LineStamp {
                ingested: "x".into(),
                shape: tributary_shared::record::Shape::Full,
            },
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .contains(&format!("\"strivacity\":{LOGIN}")));
    }

    #[test]
    fn event_id_tolerates_both_casings_and_falls_back_to_a_digest() {
        let m = Mapper::default();
        let upper = m.hec(&envelope(r#"{"eventID":"E-9"}"#), REQUEST, now());
        assert_eq!(upper.id, "E-9");
        let a = m.hec(&envelope(r#"{"x":1,"y":2}"#), REQUEST, now());
        let b = m.hec(&envelope(r#"{ "y": 2, "x": 1 }"#), REQUEST, now());
        assert_eq!(a.id, b.id);
        assert_eq!(a.id.len(), 32);
        let custom = Mapper {
            event_id_paths: vec!["meta.uid".into()],
            ..Mapper::default()
        };
        assert_eq!(
            custom
                .hec(
                    &envelope(r#"{"eventId":"no","meta":{"uid":7}}"#),
                    REQUEST,
                    now()
                )
                .id,
            "7"
        );
    }

    #[test]
    fn an_id_that_is_blank_or_null_gives_way_to_the_next_path_and_a_literal_dotted_key_wins() {
        let m = Mapper::default();
        let id = |m: &Mapper, event: &str| m.hec(&envelope(event), REQUEST, now()).id;
        assert_eq!(id(&m, r#"{"eventId":"  ","eventID":"b"}"#), "b");
        assert_eq!(id(&m, r#"{"eventId":null,"eventID":"c"}"#), "c");
        assert_eq!(id(&m, r#"{"eventId":" x\t"}"#), "x");
        assert_eq!(id(&m, r#"{"eventId":"a","eventId":"last"}"#), "last");
        assert_eq!(id(&m, r#"{"eventId":true}"#), "true");
        let nested = Mapper {
            event_id_paths: vec!["meta.uid".into()],
            ..Mapper::default()
        };
        assert_eq!(
            id(&nested, r#"{"meta":{"uid":"deep"},"meta.uid":"literal"}"#),
            "literal"
        );
        assert_eq!(id(&nested, r#"{"meta":{"uid":" deep "}}"#), "deep");
        assert_eq!(id(&nested, r#"{"meta":"flat"}"#).len(), 32);
        // Text sent for a document is kept as `{"message": ...}` and has no id of its own.
        assert_eq!(id(&m, r#""eventId""#).len(), 32);
    }

    #[test]
    fn numeric_ids_keep_every_digit_as_written() {
        let m = Mapper::default();
        let a = m.hec(
            &envelope(r#"{"eventId":12345678901234567890123}"#),
            REQUEST,
            now(),
        );
        let b = m.hec(
            &envelope(r#"{"eventId":12345678901234567890124}"#),
            REQUEST,
            now(),
        );
        assert_eq!(a.id, "12345678901234567890123");
        assert_eq!(b.id, "12345678901234567890124");
        let float = m.hec(&envelope(r#"{"eventID":1.50}"#), REQUEST, now());
        assert_eq!(float.id, "1.50");
        let nested = Mapper {
            event_id_paths: vec!["meta.uid".into()],
            ..Mapper::default()
        };
        let deep = r#"{"meta":{"uid":98765432109876543210.0}}"#;
        assert_eq!(
            nested.hec(&envelope(deep), REQUEST, now()).id,
            "98765432109876543210.0"
        );
        let escaped = m.hec(&envelope(r#"{"eventId":"a\u0062c"}"#), REQUEST, now());
        assert_eq!(escaped.id, "abc");
    }

    #[test]
    fn implausible_times_file_the_event_by_its_arrival_and_name_the_senders_value() {
        let m = Mapper::default();
        for (time, expected) in [
            ("-1", json!(-1.0)),
            ("1e22", json!(1e22)),
            ("946684799", json!(946684799.0)),
            // 2030: more than a day ahead of `now` (2026-11-23).
            ("1900000000", json!(1900000000.0)),
        ] {
            let body = format!(r#"{{"event":{{"eventId":"a"}},"time":{time}}}"#);
            let env = crate::hec::parse_events(body.as_bytes(), 1)
                .unwrap()
                .remove(0)
                .unwrap();
            let r = m.hec(&env, REQUEST, now());
            assert_eq!(r.timestamp, now(), "{time}");
            assert!(time_was_implausible(&r), "{time}");
            assert_eq!(
                r.provenance[IMPLAUSIBLE_TIME],
                json!({"field": "hec.time", "value": expected}),
                "{time}"
            );
        }
        // Milliseconds are read as such and are plausible; an hour ahead is clock skew, not a lie.
        let ahead = now().timestamp_millis() + 3_600_000;
        let body = format!(r#"{{"event":{{"eventId":"a"}},"time":{ahead}}}"#);
        let env = crate::hec::parse_events(body.as_bytes(), 1)
            .unwrap()
            .remove(0)
            .unwrap();
        let r = m.hec(&env, REQUEST, now());
        assert_eq!(r.timestamp.timestamp_millis(), ahead);
        assert!(!time_was_implausible(&r));
        // The event's own field, as a bulk sender writes it, follows the same rule.
        let doc = r#"{"eventId":"b","startTimestamp":"1999-12-31T23:59:59Z"}"#;
        let r = m.hec(&envelope(doc), REQUEST, now());
        assert_eq!(r.timestamp, now());
        assert_eq!(
            r.provenance[IMPLAUSIBLE_TIME],
            json!({"field": "startTimestamp", "value": "1999-12-31T23:59:59Z"})
        );
    }

    #[test]
    fn hec_time_stands_in_for_a_missing_event_time_and_then_now() {
        let m = Mapper::default();
        let r = m.hec(&envelope(r#"{"eventId":"a"}"#), REQUEST, now());
        assert_eq!(
            r.timestamp,
            Utc.with_ymd_and_hms(2021, 12, 1, 0, 0, 0).unwrap()
        );
        let body = br#"{"event":{"eventId":"a"}}"#;
        let env = crate::hec::parse_events(body, 1)
            .unwrap()
            .remove(0)
            .unwrap();
        assert_eq!(m.hec(&env, REQUEST, now()).timestamp, now());
    }

    #[test]
    fn a_hec_time_in_milliseconds_is_read_as_milliseconds() {
        let body = br#"{"event":{"eventId":"a"},"time":1638316800250}"#;
        let env = crate::hec::parse_events(body, 1)
            .unwrap()
            .remove(0)
            .unwrap();
        let r = Mapper::default().hec(&env, REQUEST, now());
        assert_eq!(
            r.timestamp,
            Utc.with_ymd_and_hms(2021, 12, 1, 0, 0, 0).unwrap()
                + chrono::Duration::milliseconds(250)
        );
    }

    #[test]
    fn audit_entries_are_recognised_and_categorised() {
        let m = Mapper::default();
        let audit = r#"{"eventId":"a1","date":1763892000000,"actor":"admin-7","ipAddress":"198.51.100.2","userAgent":"curl/8","action":"update","entity":"Adaptive Access Policy","url":"https://tenant/admin/policies/1","before":{},"after":{}}"#;
        let v = line(&m.hec(&envelope(audit), REQUEST, now()));
        assert_eq!(v["event"]["dataset"], "strivacity.audit");
        assert_eq!(v["event"]["category"], json!(["configuration"]));
        assert_eq!(v["event"]["type"], json!(["change"]));
        assert_eq!(v["user"]["id"], "admin-7");
        assert_eq!(v["source"]["ip"], "198.51.100.2");
        assert_eq!(v["url"]["original"], "https://tenant/admin/policies/1");
        assert_eq!(v["@timestamp"], "2025-11-23T10:00:00.000Z");
        assert_eq!(v["event"]["outcome"], "unknown");
    }

    #[test]
    fn bulk_documents_use_the_index_to_classify_and_the_id_as_fallback() {
        let body = "{\"index\":{\"_index\":\"strivacity-audit\",\"_id\":\"doc-1\"}}\n{\"message\":\"x\"}\n";
        let item = crate::bulk::parse_bulk(body.as_bytes(), None, 10)
            .unwrap()
            .remove(0)
            .unwrap();
        assert_eq!(item.action, Action::Index);
        let request = RequestInfo {
            protocol: "bulk",
            ..REQUEST
        };
        let record = Mapper::default().bulk(&item, request, now());
        assert_eq!(record.event_type, "audit");
        assert_eq!(record.id, "doc-1");
        let v = line(&record);
        assert_eq!(v["tributary"]["bulk"]["index"], "strivacity-audit");
        assert_eq!(v["strivacity"]["message"], "x");
    }

    #[test]
    fn text_events_are_kept_as_objects() {
        let m = Mapper::default();
        let v = line(&m.hec(&envelope(r#""user logged in""#), REQUEST, now()));
        assert_eq!(v["strivacity"], json!({"message": "user logged in"}));
        assert_eq!(v["message"], "user logged in");
        let encoded = m.hec(
            &envelope(r#""{\"eventId\":\"inner\",\"labels\":[\"SUCCESS\"]}""#),
            REQUEST,
            now(),
        );
        assert_eq!(encoded.id, "inner");
        assert_eq!(encoded.outcome, Outcome::Success);
        assert_eq!(
            encoded.original(),
            r#"{"eventId":"inner","labels":["SUCCESS"]}"#
        );
    }

    #[test]
    fn outcomes_come_from_labels() {
        let f = |v: Value| outcome(v.as_object().unwrap());
        assert_eq!(f(json!({"labels": ["LOGIN", "SUCCESS"]})), Outcome::Success);
        assert_eq!(
            f(json!({"labels": ["MFA_SUCCESS", "LOGIN_FAILED"]})),
            Outcome::Failure
        );
        assert_eq!(f(json!({"labels": {"success": true}})), Outcome::Success);
        assert_eq!(f(json!({"labels": "denied"})), Outcome::Failure);
        assert_eq!(f(json!({"labels": ["LOGIN"]})), Outcome::Unknown);
        assert_eq!(
            f(json!({"success": false, "labels": ["x"]})),
            Outcome::Failure
        );
    }

    #[test]
    fn timestamps_in_every_common_shape_parse() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        for v in [
            json!("2026-11-23T10:00:00Z"),
            json!("2026-11-23T11:00:00+01:00"),
            json!("2026-11-23T10:00:00"),
            json!("2026-11-23 10:00:00.000"),
            json!(1795428000),
            json!(1795428000000u64),
            json!("1795428000000"),
            json!(1795428000000000u64),
            json!(1795428000000000000u64),
        ] {
            assert_eq!(parse_time(&v), Some(at), "{v}");
        }
        assert_eq!(parse_time(&json!("soon")), None);
        assert_eq!(parse_time(&json!("inf")), None);
        assert_eq!(parse_time(&json!(1e22)), None);
        assert_eq!(parse_time(&json!("9999-12-31T23:30:00-01:00")), None);
    }

    #[test]
    fn invalid_ips_are_left_out_rather_than_guessed() {
        assert_eq!(
            parse_ip("203.0.113.7, 10.0.0.1").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            parse_ip("[2001:db8::1]:443").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(parse_ip("203.0.113.7:8080").as_deref(), Some("203.0.113.7"));
        assert_eq!(parse_ip("unknown"), None);
    }

    #[test]
    fn lookup_prefers_literal_keys_then_walks_dotted_paths() {
        let m = json!({"a.b": 1, "a": {"b": 2, "c": null}});
        let m = m.as_object().unwrap();
        assert_eq!(lookup(m, "a.b"), Some(&json!(1)));
        assert_eq!(lookup(m, "a.c"), None);
        assert_eq!(lookup(m, "a.x"), None);
    }
}
