//! A record's top-level ECS fields (`user.id`, `source.ip`, ...), kept as a flat list of dotted paths until the
//! line is written. A record has a handful of them; a map of maps would cost a node per object to build and to
//! free, for every event, only to be walked once in key order.
//!
//! A field holds a parsed value or canonical JSON text (a vendor object moved into ECS as it was read, never
//! parsed into a tree): both write as `serde_json` would write the value, so a reader cannot tell them apart.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::members::{
    write_json_str, write_json_value, write_json_value_sorted, Canonical, CanonicalBuilder,
    CanonicalJson,
};

/// Dotted path → value. Behaves like nested JSON objects: setting a path replaces what was at it (and under it),
/// sets inside an object value on its way, and replaces a non-object on its way.
#[derive(Debug, Clone, Default)]
pub struct EcsFields(Vec<(&'static str, Held)>);

#[derive(Debug, Clone)]
enum Held {
    Value(Value),
    Canonical(Canonical),
}

/// What a field holds, as [`EcsFields::get`] finds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    Value(&'a Value),
    Canonical(CanonicalJson<'a>),
}

impl<'a> Field<'a> {
    /// The string the field holds, or `None` when it holds another value.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Value(value) => value.as_str().map(Cow::Borrowed),
            Field::Canonical(json) => json.str(),
        }
    }

    /// The JSON text a line writes for the field.
    pub fn json_text(self) -> Cow<'a, str> {
        match self {
            Field::Value(value) => Cow::Owned(value.to_string()),
            Field::Canonical(json) => Cow::Borrowed(json.as_str()),
        }
    }
}

impl Held {
    fn field(&self) -> Field<'_> {
        match self {
            Held::Value(value) => Field::Value(value),
            Held::Canonical(json) => Field::Canonical(json.as_json()),
        }
    }

    fn to_canonical(&self) -> Canonical {
        match self {
            Held::Value(value) => canonical_of(value),
            Held::Canonical(json) => json.clone(),
        }
    }
}

impl EcsFields {
    /// Room for `fields` paths: a record sets a handful, and growing the list one step at a time costs a
    /// reallocation per step.
    pub fn with_capacity(fields: usize) -> Self {
        EcsFields(Vec::with_capacity(fields))
    }

    pub fn set(&mut self, path: &'static str, value: Value) {
        self.put(path, Held::Value(value));
    }

    /// Sets `path` to a canonical JSON value, written as it stands.
    pub fn set_canonical(&mut self, path: &'static str, json: Canonical) {
        self.put(path, Held::Canonical(json));
    }

    fn put(&mut self, path: &'static str, held: Held) {
        if let Some(at) = self.0.iter().position(|(p, _)| *p == path) {
            self.0[at].1 = held;
            return;
        }
        if let Some(at) = self.0.iter().position(|(p, _)| is_under(path, p)) {
            let (ancestor, existing) = &mut self.0[at];
            let below = &path[ancestor.len() + 1..];
            let is_object = match existing {
                Held::Value(value) => value.is_object(),
                Held::Canonical(json) => json.as_json().is_object(),
            };
            if is_object {
                match (existing, held) {
                    (Held::Value(Value::Object(object)), Held::Value(value)) => {
                        insert_path(object, below, value)
                    }
                    // Text set into an object, or anything into text: the object is turned into canonical text and
                    // the value set in it there, so a parsed value and text combine without parsing the text (whose
                    // depth a parse could refuse).
                    (existing, held) => {
                        let object = existing.to_canonical();
                        *existing = Held::Canonical(set_in(
                            Some(object.as_json()),
                            below,
                            held.to_canonical(),
                        ));
                    }
                }
                return;
            }
            self.0.remove(at);
        }
        self.0.retain(|(p, _)| !is_under(p, path));
        self.0.push((path, held));
    }

    /// The value at `path`, when one entry holds it (the entry itself or an object above it).
    pub fn get(&self, path: &str) -> Option<Field<'_>> {
        self.0.iter().find_map(|(p, held)| {
            if *p == path {
                return Some(held.field());
            }
            if !is_under(path, p) {
                return None;
            }
            let mut parts = path[p.len() + 1..].split('.');
            match held {
                Held::Value(value) => parts
                    .try_fold(value, |value, part| value.get(part))
                    .map(Field::Value),
                Held::Canonical(json) => parts
                    .try_fold(json.as_json(), |json, part| json.get(part))
                    .map(Field::Canonical),
            }
        })
    }

    /// The JSON text `write_members` writes at `path`, if it writes anything there.
    pub fn json_text_at(&self, path: &str) -> Option<String> {
        if let Some(field) = self.get(path) {
            return Some(field.json_text().into_owned());
        }
        // Only deeper paths are set: the object they make, its keys in order as a parsed map writes them.
        let mut object: Option<Canonical> = None;
        for (p, held) in &self.0 {
            if is_under(p, path) {
                object = Some(set_in(
                    object.as_ref().map(Canonical::as_json),
                    &p[path.len() + 1..],
                    held.to_canonical(),
                ));
            }
        }
        object.map(|object| object.into_boxed_str().into_string())
    }

    /// Writes the fields as members of the enclosing object (`"k":v,` each, nested objects in key order, as a
    /// map of maps would), leaving out the top-level names `skip` refuses.
    pub fn write_members(&self, out: &mut Vec<u8>, skip: impl Fn(&str) -> bool) {
        let mut sorted: Vec<(&str, &Held)> = self
            .0
            .iter()
            .filter(|(p, _)| !skip(p.split('.').next().unwrap_or(p)))
            .map(|(p, v)| (*p, v))
            .collect();
        sorted.sort_unstable_by(|a, b| path_order(a.0, b.0));
        let mut open: Vec<&str> = Vec::new();
        for (path, held) in sorted {
            let (parents, leaf) = match path.rsplit_once('.') {
                Some((parents, leaf)) => (Some(parents), leaf),
                None => (None, path),
            };
            let mut parents = parents.into_iter().flat_map(|p| p.split('.')).peekable();
            let mut shared = 0;
            while shared < open.len() && parents.peek() == Some(&open[shared]) {
                parents.next();
                shared += 1;
            }
            for _ in shared..open.len() {
                close(out);
            }
            open.truncate(shared);
            for part in parents {
                write_json_str(part, out);
                out.extend_from_slice(b":{");
                open.push(part);
            }
            write_json_str(leaf, out);
            out.push(b':');
            match held {
                Held::Value(value) => write_json_value(value, out),
                Held::Canonical(json) => out.extend_from_slice(json.as_json().as_str().as_bytes()),
            }
            out.push(b',');
        }
        for _ in 0..open.len() {
            close(out);
        }
    }
}

/// `value` as canonical JSON: the text a parsed map writes for it, keys in order.
fn canonical_of(value: &Value) -> Canonical {
    let mut out = Vec::new();
    write_json_value_sorted(value, &mut out);
    Canonical::from_json_text(out)
}

/// `object` (an empty one when `None`) with `value` set at the dotted `path`, objects made on the way and a
/// non-object on the way replaced by one, as [`insert_path`] does to a map.
fn set_in(object: Option<CanonicalJson<'_>>, path: &str, value: Canonical) -> Canonical {
    let mut builder = CanonicalBuilder::from_object(object);
    match path.split_once('.') {
        None => builder.set(path, value),
        Some((head, rest)) => {
            let child = set_in(builder.get(head), rest, value);
            builder.set(head, child);
        }
    }
    builder.build()
}

/// The order of two dotted paths part by part, as nested maps hold their keys (`a.b` before `a-b`): their bytes
/// compared with the dot below every other byte, which is the same order without splitting either path.
fn path_order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |byte: &u8| {
        if *byte == b'.' {
            0
        } else {
            u16::from(*byte) + 1
        }
    };
    a.as_bytes()
        .iter()
        .map(rank)
        .cmp(b.as_bytes().iter().map(rank))
}

/// Ends an object whose last member left a trailing comma.
fn close(out: &mut Vec<u8>) {
    if out.last() == Some(&b',') {
        out.pop();
    }
    out.extend_from_slice(b"},");
}

/// True when `path` lies strictly under `ancestor` (`user.id` under `user`).
fn is_under(path: &str, ancestor: &str) -> bool {
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && path.as_bytes()[ancestor.len()] == b'.'
}

fn insert_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the fields write, as the object they would be alone.
    fn written(fields: &EcsFields) -> Value {
        let mut out = vec![b'{'];
        fields.write_members(&mut out, |_| false);
        if out.last() == Some(&b',') {
            out.pop();
        }
        out.push(b'}');
        serde_json::from_slice(&out).unwrap()
    }

    /// The same sets applied to a map of maps, the behaviour this list keeps.
    fn nested(sets: &[(&'static str, Value)]) -> Value {
        let mut map = Map::new();
        for (path, value) in sets {
            insert_path(&mut map, path, value.clone());
        }
        Value::Object(map)
    }

    #[test]
    fn paths_write_as_the_nested_objects_a_map_of_maps_would_hold() {
        let cases: Vec<Vec<(&'static str, Value)>> = vec![
            vec![
                ("user.id", json!("u")),
                ("source.ip", json!("1.1.1.1")),
                ("user.target.id", json!("t")),
                ("user.email", json!("e")),
                ("a", json!(1)),
            ],
            // A whole object, then a path into it: merged.
            vec![("url", json!({"full": "x"})), ("url.path", json!("/p"))],
            // A path, then its parent replaced; a scalar on the way replaced by an object.
            vec![
                ("host.os.name", json!("n")),
                ("host", json!({"id": "h"})),
                ("device", json!("d")),
                ("device.id", json!("i")),
            ],
            // The same path twice: the last value.
            vec![("user.id", json!("1")), ("user.id", json!("2"))],
            // Keys that sort differently as paths and as text (`a.b` against `a-b`).
            vec![("a-b", json!(1)), ("a.b", json!(2)), ("a.a", json!(3))],
        ];
        for sets in cases {
            let mut fields = EcsFields::default();
            for (path, value) in &sets {
                fields.set(path, value.clone());
            }
            let expected = nested(&sets);
            assert_eq!(written(&fields), expected, "{sets:?}");
            // Written in key order at every level, as the map's own serialization.
            let mut out = vec![b'{'];
            fields.write_members(&mut out, |_| false);
            out.pop();
            out.push(b'}');
            assert_eq!(String::from_utf8(out).unwrap(), expected.to_string());
            // The same values held as canonical text, alone or among parsed ones, write the same.
            for canonical_from in 0..=sets.len() {
                let mut mixed = EcsFields::default();
                for (at, (path, value)) in sets.iter().enumerate() {
                    if at >= canonical_from {
                        mixed.set_canonical(path, canonical_of(value));
                    } else {
                        mixed.set(path, value.clone());
                    }
                }
                assert_eq!(written(&mixed), expected, "{sets:?} from {canonical_from}");
                for (path, _) in &sets {
                    assert_eq!(
                        mixed.json_text_at(path),
                        fields.json_text_at(path),
                        "{sets:?}: {path}"
                    );
                }
            }
        }
    }

    #[test]
    fn paths_order_part_by_part_as_splitting_them_would() {
        // Every path of up to four bytes from an alphabet with the dot and a byte on either side of it.
        let alphabet = ["a", "b", ".", "-", "/"];
        let mut paths = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = paths
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            paths.extend(longer);
        }
        paths.sort();
        paths.dedup();
        for a in &paths {
            for b in &paths {
                assert_eq!(
                    path_order(a, b),
                    a.split('.').cmp(b.split('.')),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn a_path_is_read_back_through_objects_and_from_deeper_paths() {
        let mut fields = EcsFields::default();
        fields.set("url", json!({"full": "x"}));
        fields.set("user.id", json!("u"));
        assert_eq!(fields.get("url.full"), Some(Field::Value(&json!("x"))));
        assert_eq!(fields.get("user.id"), Some(Field::Value(&json!("u"))));
        assert_eq!(fields.get("user"), None);
        assert_eq!(fields.json_text_at("user").unwrap(), r#"{"id":"u"}"#);
        assert_eq!(fields.json_text_at("nothing"), None);
    }

    #[test]
    fn a_path_is_read_back_through_canonical_text() {
        let mut fields = EcsFields::default();
        let object = crate::members::Members::parse_canonical(r#"{"url":{"full":"x","port":8}}"#)
            .unwrap()
            .unwrap();
        fields.set_canonical("url", object.get("url").unwrap().into());
        assert_eq!(
            fields.get("url.full").and_then(Field::as_str).as_deref(),
            Some("x")
        );
        assert_eq!(
            fields.get("url.port").map(Field::json_text).as_deref(),
            Some("8")
        );
        assert_eq!(fields.get("url.nothing"), None);
        fields.set("url.path", json!("/p"));
        assert_eq!(
            fields.json_text_at("url").unwrap(),
            r#"{"full":"x","path":"/p","port":8}"#
        );
    }

    #[test]
    fn skipped_names_are_left_out() {
        let mut fields = EcsFields::default();
        fields.set("related.ip", json!(["1"]));
        fields.set("user.id", json!("u"));
        let mut out = vec![b'{'];
        fields.write_members(&mut out, |name| name == "related");
        out.pop();
        out.push(b'}');
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"user":{"id":"u"}}"#);
    }
}
