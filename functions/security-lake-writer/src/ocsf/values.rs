//! Reading ECS values and building a row by dotted paths. Every value a row takes from a record goes through
//! these: text stays text, numbers are checked, and anything of another kind is left in the record (and so reaches
//! `unmapped`) instead of breaking the row's schema.

use chrono::DateTime;
use serde_json::{Map, Value};

use super::Class;

/// A string, number or boolean as text; empty strings count as absent.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of texts (a single text as a list of one); items that are not text are left out.
pub fn strings(value: Option<Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|i| text(Some(i))).collect(),
        Some(other) => text(Some(&other)).into_iter().collect(),
        None => Vec::new(),
    }
}

pub fn epoch_millis(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.timestamp_millis())
}

pub fn lookup<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let value = map.get(head)?;
    match rest {
        None => Some(value),
        Some(rest) => lookup(value.as_object()?, rest),
    }
}

/// Removes the value at a dotted path, and any object that removal leaves empty.
pub fn take(map: &mut Map<String, Value>, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => map.remove(path),
        Some((head, rest)) => {
            let child = map.get_mut(head)?.as_object_mut()?;
            let taken = take(child, rest);
            if child.is_empty() {
                map.remove(head);
            }
            taken
        }
    }
}

/// The text at a dotted path, removed from `map` only when it is one.
pub fn take_text(map: &mut Map<String, Value>, path: &str) -> Option<String> {
    let value = text(lookup(map, path))?;
    take(map, path);
    Some(value)
}

/// A number removed from `map`; anything else stays where it is.
pub fn take_number(map: &mut Map<String, Value>, key: &str) -> Option<f64> {
    let number = map.get(key).and_then(Value::as_f64)?;
    map.remove(key);
    Some(number)
}

/// The row being built, by dotted paths.
#[derive(Default)]
pub struct Out {
    row: Map<String, Value>,
    pub class: Option<Class>,
}

impl Out {
    pub fn set(&mut self, path: &str, value: Value) {
        if value.is_null() {
            return;
        }
        let mut node = &mut self.row;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                node.insert(part.to_owned(), value);
                return;
            }
            let child = node
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            node = child.as_object_mut().expect("made an object above");
        }
    }

    pub fn has(&self, path: &str) -> bool {
        lookup(&self.row, path).is_some()
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        lookup(&self.row, path).and_then(Value::as_str)
    }

    pub fn into_json(self) -> Vec<u8> {
        let mut json = strip_nulls(Value::Object(self.row))
            .to_string()
            .into_bytes();
        // An hour holds all its rows until they are columns: the string's growth room would be much of its memory.
        json.shrink_to_fit();
        json
    }
}

/// Nulls inside objects built with `json!` (an absent vendor field) are left out, as absent attributes are.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}
