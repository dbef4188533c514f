//! The lean record shape: the vendor fields that ECS fields carry verbatim are written once, under ECS, and the
//! vendor key keeps the rest. [`original_of`] puts the original back together from either shape.
//!
//! A vendor field moves only when its ECS field holds exactly its JSON text, and only fields whose ECS field is
//! filled from that vendor field alone are listed. So "listed field absent under the vendor key, ECS field
//! present" can only mean "moved", and the original is rebuilt without knowing which shape a line has.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::Record;
use crate::members::{is_json_text_of, Members};

/// Vendor field → the ECS field that carries it in lean records, per vendor. The README's record-shape table
/// is this list in words.
pub const MOVES: &[(&str, &[(&str, &str)])] = &[
    (
        "transmit",
        &[
            ("activity", "event.action"),
            ("timestamp", "@timestamp"),
            ("ip", "source.ip"),
            ("user_agent", "user_agent.original"),
            ("app_id", "service.id"),
            ("tenant_id", "organization.id"),
            ("device_id", "device.id"),
        ],
    ),
    (
        "easysend",
        &[
            ("message", "message"),
            ("url", "url"),
            ("organization", "organization"),
            ("service", "service"),
        ],
    ),
    (
        "lookout",
        &[("id", "event.id"), ("created_time", "event.created")],
    ),
    ("strivacity", &[]),
];

/// The moves of `vendor` (none for a vendor not listed).
pub fn moves(vendor: &str) -> &'static [(&'static str, &'static str)] {
    MOVES
        .iter()
        .find(|(v, _)| *v == vendor)
        .map_or(&[], |(_, moves)| moves)
}

/// True when the record writes exactly the JSON text `raw` at the ECS field `path`. `timestamp` is the
/// record's `@timestamp` as written.
fn carries(record: &Record, path: &str, raw: &str, timestamp: &str) -> bool {
    let is = |text: Option<&str>| text.is_some_and(|text| is_json_text_of(raw, text));
    match path {
        "@timestamp" => is(Some(timestamp)),
        "event.id" => is(Some(&record.id)),
        "event.action" => is(record.action.as_deref()),
        "event.created" => is(record.created.as_deref()),
        _ => match record.ecs.get(path) {
            Some(Value::String(text)) => is_json_text_of(raw, text),
            _ => record.ecs.json_text_at(path).as_deref() == Some(raw),
        },
    }
}

/// Writes the vendor key of a lean record: `original` without the members that moved (`original` as it stands
/// when it is not an object).
pub(super) fn write_vendor_object(
    record: &Record,
    original: &RawValue,
    timestamp: &str,
    out: &mut Vec<u8>,
) {
    let moves = moves(record.vendor);
    let Ok(members) = Members::parse(original.get()) else {
        out.extend_from_slice(original.get().as_bytes());
        return;
    };
    out.push(b'{');
    let mut first = true;
    for (key, value) in members.iter() {
        // A key the vendor gave twice (in any spelling: `ip` and `\u0069p` are one key) stays, both times:
        // readers take its last value, and moving one copy would leave the other to stand for it.
        let moved = moves.iter().any(|(field, path)| {
            *field == key.as_str() && carries(record, path, value.get(), timestamp)
        }) && members
            .iter()
            .filter(|(k, _)| k.as_str() == key.as_str())
            .count()
            == 1;
        if moved {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        key.write_json(out);
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.push(b'}');
}

/// The vendor's event from a landed record line of either shape: the vendor key, with the moved fields taken
/// back from their ECS fields. `None` for a line with no vendor object (an `_unparsed` line).
pub fn original_of(line: &Value) -> Option<Value> {
    let vendor = line.pointer("/event/module")?.as_str()?;
    let mut original: Map<String, Value> = line.get(vendor)?.as_object()?.clone();
    for (field, path) in moves(vendor) {
        if original.contains_key(*field) {
            continue;
        }
        if let Some(value) = line.pointer(&format!("/{}", path.replace('.', "/"))) {
            original.insert((*field).to_owned(), value.clone());
        }
    }
    Some(Value::Object(original))
}
