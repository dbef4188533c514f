//! Writes a [`Record`] as one JSON line, member by member into the line's buffer: the record is walked once, and
//! nothing is built only to be serialized and freed.

use serde_json::Value;

use super::{lean, rfc3339, rfc3339_into, LineStamp, Record, Shape, ECS_VERSION};
use crate::members::{write_json_str, write_json_str_contents, write_json_value};

/// Top-level names the record writes itself; an ECS field of these names is not written.
const RESERVED: &[&str] = &["event", "ecs", "@timestamp", "tributary"];

pub(super) fn write(r: &Record, stamp: &LineStamp, out: &mut Vec<u8>) {
    let full = stamp.shape == Shape::Full;
    let mut buf = [0; 24];
    let formatted;
    let timestamp = match rfc3339_into(r.timestamp, &mut buf) {
        Some(text) => text,
        None => {
            formatted = rfc3339(r.timestamp);
            &formatted
        }
    };
    out.extend_from_slice(b"{\"@timestamp\":");
    write_json_str(timestamp, out);
    out.extend_from_slice(b",\"ecs\":{\"version\":\"");
    out.extend_from_slice(ECS_VERSION.as_bytes());
    out.extend_from_slice(b"\"},\"event\":{\"id\":");
    write_json_str(&r.id, out);
    out.extend_from_slice(b",\"kind\":");
    write_json_str(r.kind, out);
    out.extend_from_slice(b",\"module\":");
    write_json_str(r.vendor, out);
    out.extend_from_slice(b",\"dataset\":");
    write_dataset(r.vendor, &r.event_type, out);
    if let Some(action) = &r.action {
        out.extend_from_slice(b",\"action\":");
        write_json_str(action, out);
    }
    write_names(b",\"category\":", &r.category, out);
    write_names(b",\"type\":", &r.types, out);
    out.extend_from_slice(b",\"outcome\":\"");
    out.extend_from_slice(r.outcome.as_str().as_bytes());
    out.push(b'"');
    if let Some(created) = &r.created {
        out.extend_from_slice(b",\"created\":");
        write_json_str(created, out);
    }
    for (name, value) in &r.event_extra {
        out.push(b',');
        write_member(name, value, out);
    }
    out.extend_from_slice(b",\"ingested\":");
    write_json_str(&stamp.ingested, out);
    out.extend_from_slice(b"},");

    // `related.*` repeats fields of the record: full records only.
    r.ecs.write_members(out, |name| {
        RESERVED.contains(&name) || (!full && name == "related")
    });

    let text: &str = &r.original;
    let flat;
    let original = if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
        // A pretty-printed original would break the NDJSON line. JSON has line breaks only between tokens,
        // never inside strings, so spaces in their place keep the event's text and meaning.
        flat = text.replace(['\n', '\r'], " ");
        &flat
    } else {
        text
    };
    write_json_str(r.vendor, out);
    out.push(b':');
    if full {
        out.extend_from_slice(original.as_bytes());
    } else {
        lean::write_vendor_object(r, original, timestamp, out);
    }

    let operator: &[(&str, Value)] = if full { &r.operator_provenance } else { &[] };
    if !r.provenance.is_empty() || !operator.is_empty() {
        out.extend_from_slice(b",\"tributary\":{");
        let fields = operator.iter().map(|(name, value)| (*name, value)).chain(
            r.provenance
                .iter()
                .map(|(name, value)| (name.as_str(), value)),
        );
        for (i, (name, value)) in fields.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_member(name, value, out);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

fn write_member(name: &str, value: &Value, out: &mut Vec<u8>) {
    write_json_str(name, out);
    out.push(b':');
    write_json_value(value, out);
}

/// `"<vendor>.<event type>"`, without building the text first (one allocation per line).
fn write_dataset(vendor: &str, event_type: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    write_json_str_contents(vendor, out);
    out.push(b'.');
    write_json_str_contents(event_type, out);
    out.push(b'"');
}

/// `,"name":["a","b"]`, or nothing for no names.
fn write_names(member: &[u8], names: &[&str], out: &mut Vec<u8>) {
    if names.is_empty() {
        return;
    }
    out.extend_from_slice(member);
    out.push(b'[');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(name, out);
    }
    out.push(b']');
}
