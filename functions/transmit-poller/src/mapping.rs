//! A `collect` answer → ECS records, and `_unparsed` items for what cannot be mapped.
//!
//! Field mapping (Mosaic event → ECS):
//!
//! | Mosaic | ECS |
//! |---|---|
//! | `timestamp` | `@timestamp` (and the `dt`/`hour` partition) |
//! | `activity` | `event.action`; `event.category`/`type`/`outcome` from the catalogue |
//! | `user_id` | `user.id` |
//! | `actor_id` (when `actor_type` is a user or absent) | `user.id` when there is no `user_id` |
//! | `original_user_id` / `original_actor_id` | `user.email` when it is an address, else `user.name` |
//! | `target_resource_id` (when `target_resource_type` is `user` or `admin`) | `user.target.id` |
//! | `ip` | `source.ip` (`source.address` when it is not an IP) |
//! | `user_agent` | `user_agent.original` |
//! | `app_id` | `service.id` (the Mosaic application the event concerns) |
//! | `tenant_id` | `organization.id` |
//! | `device_id` | `device.id` |
//! | `additional_params.risk_score` (risk) | `event.risk_score` |
//! | `additional_params.recommendation` (risk) | `event.type` `allowed`/`denied`/`info` |
//! | user ids and the IP | `related.user`, `related.ip` |
//! | the whole event, unchanged | `transmit` |
//!
//! `event.id` is a digest of the event's canonical JSON (the vendor sends no id), so the same
//! event collected twice gets the same id.
//!
//! An element that is not an object, has no `activity`, or has no parseable `timestamp` is not
//! an event we can file: it lands under `_unparsed` with the error. So does a whole answer that
//! is not a JSON array.

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::Value;
use tributary_shared::event_id;
use tributary_shared::members::{json_str, Members};
use tributary_shared::record::{Record, Unparsed};
use tributary_shared::time;

use crate::catalogue::{classify_key, normalize, recommendation_type};
use crate::event_type::EventType;

pub const VENDOR: &str = "transmit";

/// Where a batch came from; goes into `tributary.*` and the context of unparsed items.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub event_type: EventType,
    pub stream_id: &'a str,
    /// The invocation that collected it.
    pub run: &'a str,
    /// The batch's number within the run, from 1.
    pub batch: u64,
}

/// A mapped batch.
#[derive(Debug, Default)]
pub struct Mapped {
    pub records: Vec<Record>,
    pub unparsed: Vec<Unparsed>,
    /// Elements in the answer (records + unparsed elements), or 0 when the answer as a whole was
    /// not an array.
    pub elements: usize,
    pub newest: Option<DateTime<Utc>>,
}

impl Mapped {
    /// True when the vendor had nothing more: an empty array (or an empty body).
    pub fn is_drained(&self) -> bool {
        self.records.is_empty() && self.unparsed.is_empty()
    }
}

/// Maps a whole `collect` answer.
pub fn map_body(body: &[u8], origin: &Origin<'_>) -> Mapped {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Mapped::default();
    }
    let elements: Vec<&RawValue> = match serde_json::from_slice(body) {
        Ok(elements) => elements,
        Err(error) => {
            let raw = String::from_utf8_lossy(body).into_owned();
            let item = unparsed(
                raw,
                format!("the collect answer is not a JSON array of events: {error}"),
                origin,
            );
            return Mapped {
                unparsed: vec![item],
                ..Mapped::default()
            };
        }
    };
    let mut mapped = Mapped {
        records: Vec::with_capacity(elements.len()),
        elements: elements.len(),
        ..Mapped::default()
    };
    for (index, raw) in elements.into_iter().enumerate() {
        match map_event(raw, origin) {
            Ok(record) => {
                mapped.newest = mapped.newest.max(Some(record.timestamp));
                mapped.records.push(record);
            }
            Err(error) => mapped.unparsed.push(
                unparsed(raw.get().to_owned(), error, origin).with_context("index", index as u64),
            ),
        }
    }
    mapped
}

/// What is left of an answer whose connection broke: the fragment, so nothing that arrived is
/// thrown away.
pub fn cut_body(partial: &[u8], error: &str, origin: &Origin<'_>) -> Unparsed {
    unparsed(
        String::from_utf8_lossy(partial).into_owned(),
        format!(
            "the collect answer broke off after {} bytes ({error}); Transmit had already handed \
             the batch out, so events beyond this fragment are lost",
            partial.len()
        ),
        origin,
    )
}

fn unparsed(raw: String, error: String, origin: &Origin<'_>) -> Unparsed {
    Unparsed::new(VENDOR, raw, error)
        .with_context("event_type", origin.event_type.as_str())
        .with_context("stream_id", origin.stream_id)
        .with_context("run", origin.run)
        .with_context("batch", origin.batch)
}

/// Maps one element of the array, or says why it cannot be mapped. The element is read as its members, borrowed
/// from the answer's text: only the fields the mapping uses are decoded.
pub fn map_event(raw: &RawValue, origin: &Origin<'_>) -> Result<Record, String> {
    let Ok(event) = Members::parse(raw.get()) else {
        return Err(not_an_event(raw));
    };
    let activity = match event.get("activity") {
        Some(value) => match json_str(value) {
            Some(a) if !a.trim().is_empty() => a,
            _ => {
                return Err(match serde_json::from_str::<Value>(value) {
                    Ok(value) => format!("the event's activity is not a name: {value}"),
                    Err(e) => format!("not JSON: {e}"),
                })
            }
        },
        None => return Err("the event has no activity".to_owned()),
    };
    let timestamp = match event.get("timestamp") {
        Some(ts) => parse_time(ts).map_err(|e| format!("the event's timestamp: {e}"))?,
        None => return Err("the event has no timestamp".to_owned()),
    };
    let key = normalize(&activity);
    let class = classify_key(origin.event_type, &key);
    let mut types = class.types;
    let text = |name: &str| -> Option<Cow<'_, str>> {
        match event.str(name)? {
            Cow::Borrowed(s) => Some(Cow::Borrowed(s.trim())),
            Cow::Owned(s) => Some(Cow::Owned(s.trim().to_owned())),
        }
        .filter(|s| !s.is_empty())
    };
    let mut record = Record::of_members(
        VENDOR,
        origin.event_type.as_str(),
        timestamp,
        event_id::from_members(&event).map_err(|e| format!("not JSON: {e}"))?,
        &event,
    )
    .with_action(activity.as_ref())
    .with_category(class.category)
    .with_outcome(class.outcome);

    if origin.event_type == EventType::Risk || key == "riskrecommendation" {
        let params = event
            .get("additional_params")
            .or_else(|| event.get("additionalParams"))
            .and_then(|raw| serde_json::from_str::<Value>(raw).ok());
        if let Some(params) = params {
            if let Some(verdict) = params.get("recommendation").and_then(Value::as_str) {
                types = match recommendation_type(verdict) {
                    "allowed" => &["allowed"],
                    "denied" => &["denied"],
                    _ => types,
                };
            }
            if let Some(score) = params.get("risk_score").and_then(Value::as_f64) {
                record = record.with_event_field("risk_score", score.into());
            }
        }
    }
    record = record.with_types(types);

    // The user the event is about, or the admin who acted.
    let actor_is_user = text("actor_type").is_none_or(|t| {
        let t = t.to_ascii_lowercase();
        t == "user" || t == "admin"
    });
    let user_id = text("user_id").or_else(|| text("actor_id").filter(|_| actor_is_user));
    let original = text("original_user_id").or_else(|| {
        text("original_actor_id").filter(|_| text("user_id").is_none() && actor_is_user)
    });
    let target_is_user = text("target_resource_type")
        .is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "user" | "admin"));
    let target_user = text("target_resource_id").filter(|_| target_is_user);
    let value = |text: &Option<Cow<'_, str>>| text.as_deref().map(Value::from);
    record = record
        .with_path("user.id", value(&user_id))
        .with_path("user.target.id", value(&target_user));
    if let Some(original) = original {
        let field = if original.contains('@') {
            "user.email"
        } else {
            "user.name"
        };
        record = record.with_path(field, Some(original.as_ref().into()));
    }

    let mut related_ip = None;
    if let Some(ip) = text("ip") {
        match ip.parse::<IpAddr>() {
            Ok(addr) => {
                let ip = addr.to_string();
                record = record.with_path("source.ip", Some(ip.as_str().into()));
                related_ip = Some(ip);
            }
            Err(_) => record = record.with_path("source.address", Some(ip.as_ref().into())),
        }
    }
    record = record
        .with_path("user_agent.original", value(&text("user_agent")))
        .with_path("service.id", value(&text("app_id")))
        .with_path("organization.id", value(&text("tenant_id")))
        .with_path("device.id", value(&text("device_id")));

    let mut users: Vec<&str> = user_id
        .as_deref()
        .into_iter()
        .chain(target_user.as_deref())
        .collect();
    users.dedup();
    if !users.is_empty() {
        record = record.with_path("related.user", Some(users.into()));
    }
    if let Some(ip) = related_ip {
        record = record.with_path("related.ip", Some(vec![ip].into()));
    }

    Ok(record
        .with_operator_provenance("stream_id", origin.stream_id)
        .with_operator_provenance("run", origin.run)
        .with_operator_provenance("batch", origin.batch))
}

/// Why an element that is not an object is no event: parsed whole only on this path.
fn not_an_event(raw: &RawValue) -> String {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(value) => format!(
            "the element is not an event object but a {}",
            json_kind(&value)
        ),
        Err(e) => format!("not JSON: {e}"),
    }
}

/// ISO-8601 with a zone (the documented form, `2022-12-01T01:20:23.000Z`), without one (taken
/// as UTC), or an epoch number (seconds or milliseconds, told apart by magnitude), all read by
/// the shared `time` module.
fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Some(text) = json_str(raw) {
        return time::parse(&text).map_err(|e| e.to_string());
    }
    match serde_json::from_str::<Value>(raw).map_err(|e| e.to_string())? {
        Value::Number(n) => time::epoch_number(&n).map_err(|e| e.to_string()),
        other => Err(format!("{} is not a time", json_kind(&other))),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// For callers that hold a value rather than raw text (tests, tools).
pub fn map_value(value: &Value, origin: &Origin<'_>) -> Result<Record, String> {
    let raw = RawValue::from_string(value.to_string()).map_err(|e| e.to_string())?;
    map_event(&raw, origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tributary_shared::record::LineStamp;

    fn origin(t: EventType) -> Origin<'static> {
        Origin {
            event_type: t,
            stream_id: "tributary",
            run: "run-1",
            batch: 1,
        }
    }

    fn line(record: &Record) -> Value {
        let mut out = Vec::new();
        record.to_line(
            &mut out,
            &LineStamp {
                ingested: "2026-01-01T00:00:00.000Z".into(),
                shape: tributary_shared::record::Shape::Full,
            },
        );
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_user_event_maps_to_ecs_and_keeps_the_original() {
        let event = json!({
            "activity": "user_login", "app_id": "Abt5xRVuE9bA4YFT9pQpC", "ip": "1.1.1.1",
            "timestamp": "2022-12-01T01:20:23.000Z", "user_agent": "Mozilla/5.0",
            "user_id": "8XrdnAMJcMD8RhVMjDipa", "tenant_id": "t1", "device_id": "d1",
            "original_user_id": "someone@example.com"
        });
        let v = line(&map_value(&event, &origin(EventType::Cis)).unwrap());
        assert_eq!(v["@timestamp"], "2022-12-01T01:20:23.000Z");
        assert_eq!(v["event"]["action"], "user_login");
        assert_eq!(v["event"]["category"], json!(["authentication", "session"]));
        assert_eq!(v["event"]["type"], json!(["start"]));
        assert_eq!(v["event"]["outcome"], "success");
        assert_eq!(v["event"]["dataset"], "transmit.cis");
        assert_eq!(v["user"]["id"], "8XrdnAMJcMD8RhVMjDipa");
        assert_eq!(v["user"]["email"], "someone@example.com");
        assert_eq!(v["source"]["ip"], "1.1.1.1");
        assert_eq!(v["user_agent"]["original"], "Mozilla/5.0");
        assert_eq!(v["service"]["id"], "Abt5xRVuE9bA4YFT9pQpC");
        assert_eq!(v["organization"]["id"], "t1");
        assert_eq!(v["device"]["id"], "d1");
        assert_eq!(v["related"]["ip"], json!(["1.1.1.1"]));
        assert_eq!(v["transmit"], event);
        assert_eq!(v["tributary"]["stream_id"], "tributary");
    }

    #[test]
    fn an_admin_event_maps_actor_and_target() {
        let event = json!({
            "activity": "adminUpdateUser", "actor_id": "I9ZH", "actor_type": "user",
            "ip": "2001:db8::1", "target_resource_id": "U42", "target_resource_type": "user",
            "timestamp": "2022-12-01T01:20:23.000Z", "user_agent": "ua",
            "additionalParams": {"birthday": {"prev": null, "current": "1990-01-01"}}
        });
        let v = line(&map_value(&event, &origin(EventType::Admin)).unwrap());
        assert_eq!(v["user"]["id"], "I9ZH");
        assert_eq!(v["user"]["target"]["id"], "U42");
        assert_eq!(v["event"]["category"], json!(["iam"]));
        assert_eq!(v["event"]["type"], json!(["user", "change"]));
        assert_eq!(v["related"]["user"], json!(["I9ZH", "U42"]));
        assert_eq!(v["source"]["ip"], "2001:db8::1");
    }

    #[test]
    fn an_app_actor_is_not_taken_for_a_user() {
        let event = json!({
            "activity": "createApp", "actor_id": "svc", "actor_type": "app",
            "target_resource_id": "A1", "target_resource_type": "app",
            "timestamp": "2022-12-01T01:20:23Z"
        });
        let v = line(&map_value(&event, &origin(EventType::Admin)).unwrap());
        assert!(v.get("user").is_none(), "{v}");
        assert_eq!(v["event"]["type"], json!(["creation"]));
    }

    #[test]
    fn a_risk_recommendation_carries_its_verdict_and_score() {
        let event = json!({
            "activity": "risk_recommendation", "timestamp": "2022-12-01T01:20:23.000Z",
            "user_id": "u", "additional_params": {"recommendation": "DENY", "risk_score": 91}
        });
        let v = line(&map_value(&event, &origin(EventType::Risk)).unwrap());
        assert_eq!(v["event"]["category"], json!(["intrusion_detection"]));
        assert_eq!(v["event"]["type"], json!(["denied"]));
        assert_eq!(v["event"]["risk_score"], 91.0);
    }

    #[test]
    fn an_events_id_is_the_digest_of_its_canonical_json_and_stays_what_earlier_versions_landed() {
        // Escapes, a float, a negative zero and a nested object: the members the id is not copied from as
        // they stand. The pinned id is what earlier versions computed, so a re-collected event keeps its id.
        let text = r#"{"activity":"user_login","timestamp":"2022-12-01T01:20:23.000Z","user_id":"u\u00e9",
            "additional_params":{"b":1.50,"a":[2,1]},"n":-0,"big":12345678901234567890,"ok":true}"#;
        let record = map_event(
            &RawValue::from_string(text.into()).unwrap(),
            &origin(EventType::Cis),
        )
        .unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(record.id, event_id::from_canonical_json(&value));
        assert_eq!(record.id, "a507d9a6076e16c3d5e4420b3ccef24a");
    }

    #[test]
    fn a_mapped_event_is_read_once_unless_a_key_has_escapes() {
        let map = |text: &str| {
            map_event(
                &RawValue::from_string(text.into()).unwrap(),
                &origin(EventType::Cis),
            )
            .unwrap()
        };
        let plain = map(
            r#"{"activity":"user_login","timestamp":"2022-12-01T01:20:23.000Z","ip":"1.1.1.1"}"#,
        );
        assert!(plain.has_original_members());
        let escaped = map(
            r#"{"activity":"user_login","timestamp":"2022-12-01T01:20:23.000Z","\u0069p":"1.1.1.1"}"#,
        );
        assert!(!escaped.has_original_members());
    }

    #[test]
    fn an_event_nested_past_the_parsers_limit_is_refused_for_unparsed_not_a_panic() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let body = format!(
            r#"[{{"activity":"login","timestamp":"2022-12-01T01:20:23.000Z","x":{deep}}},
               {{"activity":"login","timestamp":"2022-12-01T01:20:24.000Z"}}]"#
        );
        let mapped = map_body(body.as_bytes(), &origin(EventType::Cis));
        assert_eq!(mapped.records.len(), 1, "the good event maps");
        assert_eq!(mapped.unparsed.len(), 1);
        assert!(
            mapped.unparsed[0].error.contains("recursion limit"),
            "{}",
            mapped.unparsed[0].error
        );
    }

    #[test]
    fn the_event_id_ignores_key_order_and_differs_between_events() {
        let o = origin(EventType::Cis);
        let a = map_event(
            &RawValue::from_string(
                r#"{"activity":"user_login","timestamp":"2024-01-01T00:00:00Z","user_id":"a"}"#
                    .into(),
            )
            .unwrap(),
            &o,
        )
        .unwrap();
        let b = map_event(
            &RawValue::from_string(
                r#"{"user_id":"a", "timestamp":"2024-01-01T00:00:00Z", "activity":"user_login"}"#
                    .into(),
            )
            .unwrap(),
            &o,
        )
        .unwrap();
        let c = map_value(
            &json!({"activity":"user_login","timestamp":"2024-01-01T00:00:00Z","user_id":"b"}),
            &o,
        )
        .unwrap();
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        // The original is kept byte for byte, key order included.
        assert!(b.original().starts_with(r#"{"user_id":"a""#));
    }

    #[test]
    fn timestamps_in_other_shapes_are_accepted() {
        let o = origin(EventType::Cis);
        for ts in [
            json!("2024-01-01T10:00:00"),
            json!(1704103200),
            json!(1704103200000i64),
            json!("2024-01-01 11:00:00+01:00"),
        ] {
            let r = map_value(&json!({"activity": "x", "timestamp": ts}), &o).unwrap();
            assert_eq!(
                r.timestamp.to_rfc3339(),
                "2024-01-01T10:00:00+00:00",
                "{ts}"
            );
        }
    }

    #[test]
    fn timestamps_outside_the_four_digit_years_are_not_events() {
        let o = origin(EventType::Cis);
        for ts in [json!(1e22), json!("9999-12-31T23:30:00-01:00"), json!(true)] {
            let error = map_value(&json!({"activity": "x", "timestamp": ts}), &o).unwrap_err();
            assert!(error.contains("timestamp"), "{ts}: {error}");
        }
    }

    #[test]
    fn elements_that_are_not_events_become_unparsed_and_the_rest_map() {
        let body = br#"[{"activity":"user_login","timestamp":"2024-01-01T00:00:00.000Z"},
            "just a string", {"activity":"user_login"}, {"activity":"user_login","timestamp":"soon"},
            {"timestamp":"2024-01-01T00:00:00.000Z"}, null,
            {"activity":"create_user","timestamp":"2024-01-01T01:00:00.000Z"}]"#;
        let mapped = map_body(body, &origin(EventType::Cis));
        assert_eq!(mapped.records.len(), 2);
        assert_eq!(mapped.unparsed.len(), 5);
        assert_eq!(mapped.elements, 7);
        let errors: Vec<&str> = mapped.unparsed.iter().map(|u| u.error.as_str()).collect();
        assert!(
            errors[0].contains("not an event object but a string"),
            "{errors:?}"
        );
        assert!(errors[1].contains("no timestamp"));
        assert!(errors[2].contains("\"soon\" is not a date and time"));
        assert!(errors[3].contains("no activity"));
        assert_eq!(mapped.unparsed[1].raw, r#"{"activity":"user_login"}"#);
        assert_eq!(mapped.unparsed[1].context["index"], 2);
        assert_eq!(
            mapped.newest.unwrap().to_rfc3339(),
            "2024-01-01T01:00:00+00:00"
        );
    }

    #[test]
    fn an_answer_that_is_not_an_array_lands_whole_as_one_unparsed_item() {
        let mapped = map_body(
            br#"[{"activity":"user_login","timest"#,
            &origin(EventType::Cis),
        );
        assert!(mapped.records.is_empty());
        assert_eq!(mapped.unparsed.len(), 1);
        assert_eq!(
            mapped.unparsed[0].raw,
            r#"[{"activity":"user_login","timest"#
        );
        assert!(mapped.unparsed[0].error.contains("not a JSON array"));
        let mapped = map_body(br#"{"message":"oops"}"#, &origin(EventType::Cis));
        assert_eq!(mapped.unparsed.len(), 1);
    }

    #[test]
    fn empty_answers_mean_drained() {
        assert!(map_body(b"[]", &origin(EventType::Cis)).is_drained());
        assert!(map_body(b" \n", &origin(EventType::Cis)).is_drained());
        assert!(!map_body(b"[1]", &origin(EventType::Cis)).is_drained());
    }

    #[test]
    fn the_user_id_is_written_once_in_lean_lines_whichever_field_filled_it() {
        use tributary_shared::record::{lean::original_of, Shape};
        let ts = r#""activity":"adminUpdateUser","timestamp":"2022-12-01T01:20:23.000Z""#;
        let cases = [
            // user_id alone moves to user.id.
            (r#""user_id":"U1""#, json!({})),
            // Beside an admin actor: user_id fills user.id and moves; the actor stays.
            (
                r#""user_id":"U1","actor_id":"A1""#,
                json!({"actor_id": "A1"}),
            ),
            // The same value in both: user.id could have come from either, so user_id stays.
            (
                r#""user_id":"U1","actor_id":"U1""#,
                json!({"user_id": "U1", "actor_id": "U1"}),
            ),
            (
                r#""user_id":"U1","\u0061ctor_id":"\u0055\u0031""#,
                json!({"user_id": "U1", "actor_id": "U1"}),
            ),
            // No user_id: user.id is the actor's, and nothing is invented.
            (
                r#""actor_id":"A1","actor_type":"admin""#,
                json!({"actor_id": "A1", "actor_type": "admin"}),
            ),
            // A padded actor is trimmed into user.id: still "the same", so nothing is invented from it.
            (
                r#""user_id":"U1","actor_id":" U1 ""#,
                json!({"user_id": "U1", "actor_id": " U1 "}),
            ),
            (r#""actor_id":" A1 ""#, json!({"actor_id": " A1 "})),
            // The user's address or name and the target move too, with the same care for the admin's.
            (
                r#""original_user_id":"a@b.example","target_resource_id":"T1","target_resource_type":"user""#,
                json!({"target_resource_type": "user"}),
            ),
            (
                r#""actor_id":"A1","original_actor_id":"admin""#,
                json!({"actor_id": "A1", "original_actor_id": "admin"}),
            ),
            (
                r#""user_id":"U1","original_user_id":"jo","original_actor_id":"jo""#,
                json!({"original_user_id": "jo", "original_actor_id": "jo"}),
            ),
            // A user_id that is no string is kept as sent.
            (
                r#""user_id":42,"actor_id":"A1""#,
                json!({"user_id": 42, "actor_id": "A1"}),
            ),
        ];
        for (members, kept) in cases {
            let text = format!("{{{ts},{members}}}");
            let original: Value = serde_json::from_str(&text).unwrap();
            let record = map_value(&original, &origin(EventType::Admin)).unwrap();
            let mut out = Vec::new();
            record.to_line(&mut out, &LineStamp::now(Shape::Lean));
            let lean: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(lean["transmit"], kept, "{text}");
            assert_eq!(original_of(&lean), Some(original.clone()), "{text}");
            assert_eq!(original_of(&line(&record)), Some(original), "{text}");
        }
    }

    /// The members that fill `user.*` in every combination of a few values (the same, padded, escaped, no
    /// string), in random orders: the lean line must give the event back.
    #[test]
    fn random_user_fields_come_back_whole_from_lean_lines() {
        use tributary_shared::record::{lean::original_of, Shape};
        const VALUES: &[&str] = &[
            r#""U1""#,
            r#"" U1 ""#,
            r#""\u0055\u0031""#,
            r#""A1""#,
            "42",
            r#""a@b.example""#,
        ];
        const NAMES: &[&str] = &[
            "user_id",
            "actor_id",
            "original_user_id",
            "original_actor_id",
            "target_resource_id",
        ];
        const TYPES: &[(&str, &[&str])] = &[
            ("actor_type", &[r#""user""#, r#""admin""#, r#""app""#]),
            ("target_resource_type", &[r#""user""#, r#""app""#]),
        ];
        let head = [
            r#""activity":"adminUpdateUser""#,
            r#""timestamp":"2022-12-01T01:20:23.000Z""#,
        ];
        let choices: Vec<(&str, &[&str])> = NAMES
            .iter()
            .map(|name| (*name, VALUES))
            .chain(TYPES.iter().copied())
            .collect();
        for text in tributary_testkit::objects::shuffled_objects(&head, &choices, 2000) {
            let original: Value = serde_json::from_str(&text).unwrap();
            let raw = RawValue::from_string(text.clone()).unwrap();
            let record = map_event(&raw, &origin(EventType::Admin)).unwrap();
            let mut out = Vec::new();
            record.to_line(&mut out, &LineStamp::now(Shape::Lean));
            let lean: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(original_of(&lean), Some(original.clone()), "{text}\n{lean}");
            assert_eq!(original_of(&line(&record)), Some(original), "{text}");
        }
    }
}
