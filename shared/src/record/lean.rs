//! The lean record shape: the vendor fields that ECS fields carry verbatim are written once, under ECS, and the
//! vendor key keeps the rest. [`original_of`] puts the original back together from either shape.
//!
//! A vendor field moves only when its ECS field holds exactly its JSON text, and only fields whose ECS field is
//! filled from that vendor field alone are listed. So "listed field absent under the vendor key, ECS field
//! present" can only mean "moved", and the original is rebuilt without knowing which shape a line has.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{rfc3339, Record};

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

/// The JSON text the record writes at the ECS field `path`, if it writes one.
fn ecs_text(record: &Record, path: &str) -> Option<String> {
    let text = |s: &str| serde_json::to_string(s).ok();
    match path {
        "@timestamp" => text(&rfc3339(record.timestamp)),
        "event.id" => text(&record.id),
        "event.action" => record.action.as_deref().and_then(text),
        "event.created" => record.created.as_deref().and_then(text),
        _ => {
            let mut parts = path.split('.');
            let mut value = record.ecs.get(parts.next()?)?;
            for part in parts {
                value = value.get(part)?;
            }
            serde_json::to_string(value).ok()
        }
    }
}

/// The original's members in order, borrowed from its text; `None` when it is not an object.
fn members(original: &RawValue) -> Option<Vec<(String, &RawValue)>> {
    struct Members<'a>(Vec<(String, &'a RawValue)>);
    impl<'de> serde::Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Members<'de>, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                    while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                        out.push((key, value));
                    }
                    Ok(Members(out))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Members>(original.get())
        .ok()
        .map(|m| m.0)
}

/// The vendor key of a lean record: `original` without the members that moved.
pub(super) struct LeanOriginal<'a> {
    pub record: &'a Record,
    pub original: &'a RawValue,
}

impl Serialize for LeanOriginal<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let moves = moves(self.record.vendor);
        let Some(members) = members(self.original) else {
            return self.original.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in &members {
            let moved = moves.iter().any(|(field, path)| {
                field == key && ecs_text(self.record, path).as_deref() == Some(value.get())
            });
            if !moved {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
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
