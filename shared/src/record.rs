//! The ECS-shaped record every function lands, one per NDJSON line (the record format in the design notes):
//! `@timestamp`, `ecs.version`, `event.*`, whatever ECS fields the vendor has (`user`, `source`, `host`, ...),
//! the vendor's event under its vendor key, and `tributary.*` provenance that differs per record.
//!
//! Two shapes ([`Shape`], `TRIBUTARY_RECORD_SHAPE`):
//! - **lean** (the default): the vendor fields that ECS fields carry verbatim are written once, under ECS; the
//!   vendor key keeps the rest, so nothing the vendor sent is lost ([`lean::original_of`] rebuilds it); no
//!   `related.*` (it repeats fields of the record) and no operator provenance (run, batch, stream).
//! - **full**: the original byte for byte under the vendor key, `related.*`, and the operator provenance.
//!
//! What is the same for every line of an object (collector, version, shape) is S3 object metadata, not a field.

mod fields;
pub mod lean;
mod line;

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::members::{Canonical, Members, Spans};

pub use fields::{EcsFields, Field};

pub const ECS_VERSION: &str = "8.11.0";

/// Which record shape lines are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    #[default]
    Lean,
    Full,
}

impl Shape {
    pub const CHOICES: &'static [(&'static str, Shape)] =
        &[("lean", Shape::Lean), ("full", Shape::Full)];

    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Lean => "lean",
            Shape::Full => "full",
        }
    }
}

/// `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One event, mapped. Built with [`Record::new`] and the `with_*` setters; serialized by [`Record::to_line`].
#[derive(Debug, Clone)]
pub struct Record {
    /// `@timestamp`: when the event happened, in UTC. Also decides the `dt`/`hour` partition.
    pub timestamp: DateTime<Utc>,
    /// `vendor` partition and `event.module`, e.g. `transmit`.
    pub vendor: &'static str,
    /// `event_type` partition, lower case, e.g. `cis`.
    pub event_type: Cow<'static, str>,
    /// `event.id`: the vendor's id, or [`crate::event_id::from_canonical_json`].
    pub id: String,
    /// `event.kind` (`event`, `alert`, `state`, ...).
    pub kind: &'static str,
    pub action: Option<String>,
    pub category: Vec<&'static str>,
    pub types: Vec<&'static str>,
    pub outcome: Outcome,
    /// `event.created`, when the vendor recorded it, if it says.
    pub created: Option<String>,
    /// Further `event.*` fields (e.g. `severity`, `reason`), in name order.
    pub event_extra: Vec<(&'static str, Value)>,
    /// Top-level ECS fields other than `event`: `user`, `source`, `user_agent`, `host`, `threat`, ...
    pub ecs: EcsFields,
    /// The vendor's event exactly as received, valid JSON: set once, by [`Record::new`] or [`Record::of_members`],
    /// so the spans below stay its own.
    original: Box<str>,
    /// Where the members of `original` lie in it, when the mapping read them already: the lean writer reads them
    /// from here instead of parsing the event a second time.
    original_members: Option<Spans>,
    /// `tributary.*` in both shapes: what differs per record and matters to whoever reads it (a stream cursor,
    /// the sender's routing metadata).
    pub provenance: Map<String, Value>,
    /// `tributary.*` in full records only: where an operator traces a record to (run, batch, stream), in name
    /// order.
    pub operator_provenance: Vec<(&'static str, Value)>,
}

impl Record {
    pub fn new(
        vendor: &'static str,
        event_type: impl Into<Cow<'static, str>>,
        timestamp: DateTime<Utc>,
        id: impl Into<String>,
        original: Box<RawValue>,
    ) -> Self {
        Record::with_original(
            vendor,
            event_type.into(),
            timestamp,
            id.into(),
            original.into(),
        )
    }

    /// A record whose original is the object `members` were read from, copied. Reading the members checked that
    /// text as JSON, so it is not checked again; and the lean writer reads the members from where they lie
    /// instead of parsing the original a second time (unless a key has escapes).
    pub fn of_members(
        vendor: &'static str,
        event_type: impl Into<Cow<'static, str>>,
        timestamp: DateTime<Utc>,
        id: impl Into<String>,
        members: &Members<'_>,
    ) -> Self {
        let mut record = Record::with_original(
            vendor,
            event_type.into(),
            timestamp,
            id.into(),
            members.text().into(),
        );
        record.original_members = members.spans();
        record
    }

    /// `original` must be valid JSON: both constructors take it from text that was checked.
    fn with_original(
        vendor: &'static str,
        event_type: Cow<'static, str>,
        timestamp: DateTime<Utc>,
        id: String,
        original: Box<str>,
    ) -> Self {
        Record {
            timestamp,
            vendor,
            event_type,
            id,
            kind: "event",
            action: None,
            category: Vec::new(),
            types: Vec::new(),
            outcome: Outcome::Unknown,
            created: None,
            event_extra: Vec::new(),
            ecs: EcsFields::with_capacity(8),
            original,
            original_members: None,
            provenance: Map::new(),
            operator_provenance: Vec::new(),
        }
    }

    /// The vendor's event exactly as received, as JSON text.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// True when the lean writer will read the original's members from where the mapping found them.
    pub fn has_original_members(&self) -> bool {
        self.original_members.is_some()
    }

    pub fn with_action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn with_category(mut self, category: &[&'static str]) -> Self {
        self.category = category.to_vec();
        self
    }

    pub fn with_types(mut self, types: &[&'static str]) -> Self {
        self.types = types.to_vec();
        self
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_created(mut self, created: impl Into<String>) -> Self {
        self.created = Some(created.into());
        self
    }

    /// Sets a top-level ECS field (`user`, `source`, ...); a dotted name is a path, as in [`Record::with_path`].
    /// Null values are skipped so records stay lean.
    pub fn with_field(mut self, name: &'static str, value: Value) -> Self {
        if !value.is_null() {
            self.ecs.set(name, value);
        }
        self
    }

    /// Sets an ECS field (a dotted name is a path) to a canonical JSON value taken from the vendor's event,
    /// written as it stands. Null values are skipped, as [`Record::with_field`] skips them.
    pub fn with_canonical_field(mut self, name: &'static str, json: impl Into<Canonical>) -> Self {
        let json = json.into();
        if !json.as_json().is_null() {
            self.ecs.set_canonical(name, json);
        }
        self
    }

    /// Sets a nested ECS field by dotted path, creating objects on the way: `with_path("user.id", ...)`.
    /// Absent (`None`) values are skipped.
    pub fn with_path(mut self, path: &'static str, value: Option<Value>) -> Self {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            self.ecs.set(path, value);
        }
        self
    }

    /// Sets an `event.*` field beyond the fixed ones.
    pub fn with_event_field(mut self, name: &'static str, value: Value) -> Self {
        if !value.is_null() {
            set_sorted(&mut self.event_extra, name, value);
        }
        self
    }

    /// Sets a `tributary.*` provenance field written in both shapes (`cursor`, the sender's metadata, ...).
    pub fn with_provenance(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.provenance.insert(name.to_owned(), value.into());
        self
    }

    /// Sets a `tributary.*` provenance field written in full records only (`run`, `batch`, `stream`, ...).
    pub fn with_operator_provenance(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        set_sorted(&mut self.operator_provenance, name, value.into());
        self
    }

    /// The record as one JSON line (without the trailing newline).
    pub fn to_line(&self, out: &mut Vec<u8>, stamp: &LineStamp) {
        line::write(self, stamp, out);
    }
}

/// Sets `name` in a list kept in name order, as a map would hold it.
fn set_sorted(list: &mut Vec<(&'static str, Value)>, name: &'static str, value: Value) {
    match list.binary_search_by(|(n, _)| (*n).cmp(name)) {
        Ok(at) => list[at].1 = value,
        Err(at) => list.insert(at, (name, value)),
    }
}

/// What the landing step decides for every line it writes: the ingestion time (when the line is written) and the
/// record shape.
#[derive(Debug, Clone)]
pub struct LineStamp {
    pub ingested: String,
    pub shape: Shape,
}

impl LineStamp {
    pub fn now(shape: Shape) -> Self {
        LineStamp {
            ingested: rfc3339(Utc::now()),
            shape,
        }
    }
}

/// `2026-11-23T10:00:00.123Z`: millisecond precision, `Z`, as ECS and Athena expect.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// [`rfc3339`] written into `buf` digit by digit, for the one timestamp of every line; `None` for what the fixed
/// form cannot hold (years outside 0–9999, a leap second), which [`rfc3339`] writes instead.
fn rfc3339_into(at: DateTime<Utc>, buf: &mut [u8; 24]) -> Option<&str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut value = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    put(20, nanos / 1_000_000, 3);
    for (at, byte) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        buf[at] = byte;
    }
    std::str::from_utf8(buf).ok()
}

/// Something that could not be parsed or mapped. It is never dropped: it lands under `event_type=_unparsed`,
/// partitioned by ingestion time, with the raw text and the error.
#[derive(Debug, Clone)]
pub struct Unparsed {
    pub vendor: &'static str,
    /// The raw text as received (a frame, a page fragment, an event).
    pub raw: String,
    /// What was wrong with it.
    pub error: String,
    /// Where it came from (stream, cursor, request), for whoever investigates.
    pub context: Map<String, Value>,
}

impl Unparsed {
    pub fn new(vendor: &'static str, raw: impl Into<String>, error: impl Into<String>) -> Self {
        Unparsed {
            vendor,
            raw: raw.into(),
            error: error.into(),
            context: Map::new(),
        }
    }

    pub fn with_context(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.context.insert(name.to_owned(), value.into());
        self
    }

    /// The id of this occurrence: a digest of the raw text *and* of where it came from (its context), so the
    /// same bad input met again at the same place (a retry) gets the same id, while the same text from another
    /// stream position, window or request gets another one and is kept beside it.
    pub fn id(&self) -> String {
        let mut canonical = Vec::with_capacity(self.raw.len() + 128);
        crate::event_id::write_canonical(
            &serde_json::json!({"raw": self.raw, "context": self.context}),
            &mut canonical,
        );
        crate::event_id::digest_hex(&canonical)
    }

    pub fn to_line(&self, out: &mut Vec<u8>, stamp: &LineStamp) {
        let line = serde_json::json!({
            "@timestamp": stamp.ingested,
            "ecs": {"version": ECS_VERSION},
            "event": {
                "id": self.id(),
                "kind": "pipeline_error",
                "module": self.vendor,
                "dataset": format!("{}.{}", self.vendor, crate::keys::UNPARSED),
                "original": self.raw,
                "ingested": stamp.ingested,
            },
            "error": {"message": self.error},
            "tributary": self.context,
        });
        serde_json::to_writer(&mut *out, &line).expect("serializing JSON values is infallible");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn a_record_line_is_ecs_shaped_and_keeps_the_original_verbatim() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let record = Record::new("transmit", "cis", at, "abc", raw(r#"{"z":1,"a":"x"}"#))
            .with_action("user_login")
            .with_category(&["authentication"])
            .with_types(&["start"])
            .with_outcome(Outcome::Success)
            .with_path("user.id", Some("u1".into()))
            .with_path("user.name", None)
            .with_path("source.ip", Some("1.1.1.1".into()))
            .with_operator_provenance("stream", "cis");
        let mut out = Vec::new();
        let stamp = LineStamp {
            ingested: "2026-11-23T11:00:00.000Z".into(),
            shape: Shape::Full,
        };
        record.to_line(&mut out, &stamp);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""transmit":{"z":1,"a":"x"}"#), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["@timestamp"], "2026-11-23T10:00:00.000Z");
        assert_eq!(v["ecs"]["version"], "8.11.0");
        assert_eq!(v["event"]["dataset"], "transmit.cis");
        assert_eq!(v["event"]["outcome"], "success");
        assert_eq!(v["event"]["category"][0], "authentication");
        assert_eq!(v["event"]["ingested"], "2026-11-23T11:00:00.000Z");
        assert_eq!(v["user"], serde_json::json!({"id": "u1"}));
        assert_eq!(v["source"]["ip"], "1.1.1.1");
        assert_eq!(v["tributary"], serde_json::json!({"stream": "cis"}));
    }

    fn lean_line(record: &Record) -> Value {
        let mut out = Vec::new();
        record.to_line(&mut out, &LineStamp::now(Shape::Lean));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_lean_record_writes_moved_fields_once_and_the_original_comes_back() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let text = r#"{"activity":"login","timestamp":"2026-11-23T10:00:00.000Z","ip":" 10.0.0.1","app_id":"a1","x":[1,2]}"#;
        let original: Value = serde_json::from_str(text).unwrap();
        let record = Record::new("transmit", "cis", at, "id1", raw(text))
            .with_action("login")
            .with_path("source.ip", Some("10.0.0.1".into()))
            .with_path("service.id", Some("a1".into()))
            .with_path("related.ip", Some(vec!["10.0.0.1"].into()))
            .with_operator_provenance("run", "r1")
            .with_provenance("cursor", "c1");
        let v = lean_line(&record);
        // Moved: written once, under ECS. Kept: what ECS does not carry verbatim (the padded ip) and the rest.
        assert_eq!(
            v["transmit"],
            serde_json::json!({"ip": " 10.0.0.1", "x": [1, 2]})
        );
        assert_eq!(v["event"]["action"], "login");
        assert_eq!(v["service"]["id"], "a1");
        assert!(v.get("related").is_none());
        assert_eq!(v["tributary"], serde_json::json!({"cursor": "c1"}));
        assert_eq!(lean::original_of(&v).unwrap(), original);

        // The full line rebuilds to the same original.
        let mut out = Vec::new();
        record.to_line(
            &mut out,
            &LineStamp {
                ingested: "2026-11-23T11:00:00.000Z".into(),
                shape: Shape::Full,
            },
        );
        let full: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(lean::original_of(&full).unwrap(), original);
        assert_eq!(full["tributary"]["run"], "r1");
    }

    #[test]
    fn a_key_the_vendor_gave_twice_is_not_moved_and_reads_back_as_it_would_from_the_original() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        // The same key twice, the second time spelled with an escape.
        let text = r#"{"activity":"login","timestamp":"2026-11-23T10:00:00.000Z","ip":"1.1.1.1","\u0069p":"2.2.2.2","app_id":"a1"}"#;
        // A mapping reads the last copy, as any JSON reader does.
        let record = Record::new("transmit", "cis", at, "id1", raw(text))
            .with_action("login")
            .with_path("source.ip", Some("2.2.2.2".into()))
            .with_path("service.id", Some("a1".into()));
        let mut out = Vec::new();
        record.to_line(&mut out, &LineStamp::now(Shape::Lean));
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.contains(r#""transmit":{"ip":"1.1.1.1","ip":"2.2.2.2"}"#),
            "{line}"
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            lean::original_of(&v).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn a_field_absent_from_the_original_is_not_invented() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        // A timestamp in another form than @timestamp stays; no app_id means no service.id and nothing added back.
        let text = r#"{"activity":"login","timestamp":"2026-11-23T10:00:00Z"}"#;
        let record = Record::new("transmit", "cis", at, "id1", raw(text)).with_action("login");
        let v = lean_line(&record);
        assert_eq!(
            v["transmit"],
            serde_json::json!({"timestamp": "2026-11-23T10:00:00Z"})
        );
        assert_eq!(
            lean::original_of(&v).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn the_fixed_timestamp_form_is_the_formatted_one() {
        let times = [
            "2026-11-23T10:00:00Z",
            "2026-01-05T03:04:05.000999999Z",
            "0001-02-03T04:05:06.789Z",
            "9999-12-31T23:59:59.999Z",
            "1970-01-01T00:00:00.5Z",
        ];
        for text in times {
            let at: DateTime<Utc> = text.parse().unwrap();
            let mut buf = [0; 24];
            assert_eq!(
                rfc3339_into(at, &mut buf),
                Some(rfc3339(at).as_str()),
                "{text}"
            );
        }
        let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(rfc3339_into(far, &mut [0; 24]), None);
    }

    fn lean_bytes(record: &Record) -> String {
        let mut out = Vec::new();
        let stamp = LineStamp {
            ingested: "2026-11-23T11:00:00.000Z".into(),
            shape: Shape::Lean,
        };
        record.to_line(&mut out, &stamp);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_lean_line_is_the_same_whether_the_record_was_made_of_members_or_not() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let texts = [
            // Plain keys: the members are kept.
            (
                r#"{"activity":"login","timestamp":"2026-11-23T10:00:00.000Z","ip":"1.1.1.1","app_id":"a1","x":[1,{"é":"日本"}]}"#,
                true,
            ),
            // Line breaks between tokens: the writer reads the kept members from the text with spaces in their place.
            (
                "{\n \"activity\": \"login\",\r\n \"ip\" : \"1.1.1.1\",\n \"app_id\":\"a1\"}",
                true,
            ),
            // A key given twice, plainly both times.
            (r#"{"ip":"1.1.1.1","app_id":"a1","ip":"2.2.2.2"}"#, true),
            // A key with an escape: nothing is kept, the writer parses.
            (
                r#"{"activity":"login","\u0069p":"2.2.2.2","app_id":"a1"}"#,
                false,
            ),
        ];
        let filled = |record: Record| {
            record
                .with_action("login")
                .with_path("source.ip", Some("2.2.2.2".into()))
                .with_path("service.id", Some("a1".into()))
        };
        let full = |record: &Record| {
            let mut out = Vec::new();
            record.to_line(&mut out, &LineStamp::now(Shape::Full));
            serde_json::from_slice::<Value>(&out).unwrap()["transmit"].clone()
        };
        for (text, kept) in texts {
            let parsed = filled(Record::new("transmit", "cis", at, "id1", raw(text)));
            let members = Members::parse(text).unwrap();
            let of_members = filled(Record::of_members("transmit", "cis", at, "id1", &members));
            assert_eq!(of_members.original(), text);
            assert_eq!(of_members.has_original_members(), kept, "{text}");
            assert!(!parsed.has_original_members());
            assert_eq!(lean_bytes(&of_members), lean_bytes(&parsed), "{text}");
            assert_eq!(full(&of_members), full(&parsed), "{text}");
        }
    }

    #[test]
    fn the_lean_writer_reads_the_kept_members_instead_of_parsing_the_original() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let text = r#"{"a":"b","c":2,"d":3}"#;
        // As long as `text`, laid out as its start without its last member.
        let other = r#"{"a":"b","c":2}      "#;
        assert_eq!(other.len(), text.len());
        let record = Record::new("transmit", "cis", at, "id1", raw(text));
        assert!(lean_bytes(&record).contains(r#""transmit":{"a":"b","c":2,"d":3}"#));
        // Spans of another text forced onto the record are read as they stand, and `d` is lost: so the writer
        // reads kept members rather than parsing, which is why only `of_members` keeps them, from its own text.
        let mut misled = record;
        misled.original_members = Members::parse(other).unwrap().spans();
        assert!(lean_bytes(&misled).contains(r#""transmit":{"a":"b","c":2}"#));
    }

    #[test]
    fn a_pretty_printed_original_stays_on_one_line() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let record = Record::new(
            "strivacity",
            "account",
            at,
            "e1",
            raw("{\n  \"eventId\": \"e1\",\r\n  \"n\": \"a b\"\n}"),
        );
        let mut out = Vec::new();
        let stamp = LineStamp::now(Shape::Full);
        record.to_line(&mut out, &stamp);
        assert!(!out.contains(&b'\n') && !out.contains(&b'\r'));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["strivacity"],
            serde_json::json!({"eventId": "e1", "n": "a b"})
        );
    }

    #[test]
    fn an_unparsed_line_carries_the_raw_text_and_the_error() {
        let stamp = LineStamp {
            ingested: "2026-11-23T11:00:00.000Z".into(),
            shape: Shape::Lean,
        };
        let mut out = Vec::new();
        Unparsed::new("lookout", "data:{oops", "expected value at line 1")
            .with_context("stream", "lookout")
            .to_line(&mut out, &stamp);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["event"]["original"], "data:{oops");
        assert_eq!(v["event"]["dataset"], "lookout._unparsed");
        assert_eq!(v["error"]["message"], "expected value at line 1");
        assert_eq!(v["tributary"]["stream"], "lookout");
    }

    #[test]
    fn the_same_bad_text_from_another_position_is_another_occurrence() {
        let at = |cursor: &str| {
            Unparsed::new("lookout", "data:{oops", "bad").with_context("cursor", cursor)
        };
        assert_eq!(at("41").id(), at("41").id(), "a retry keeps its id");
        assert_ne!(at("41").id(), at("42").id());
        assert_ne!(
            at("41").id(),
            Unparsed::new("lookout", "data:{oops", "bad").id()
        );
    }
}
