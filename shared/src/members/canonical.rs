//! Canonical JSON: keys sorted bytewise at every level, the last value of a key given twice, no white space,
//! strings and numbers as `serde_json` writes them. It is the text [`crate::event_id::from_canonical_json`]
//! digests, and [`Members::parse_canonical`] makes it from a vendor's text without a `serde_json::Value` tree.
//!
//! A mapping that moves the vendor's objects into ECS takes them as canonical values ([`CanonicalJson`]): a
//! canonical value is the text `serde_json` would write for the same value parsed, so a record writes it as it
//! stands, and the lean writer compares it with the vendor's text without serializing anything. A canonical object
//! knows where its members lie when whatever wrote it did ([`CanonicalBuilder`], the parse), so reading them is
//! slicing.

mod parse;

use std::borrow::Cow;

use super::{json_str, write_json_str, Key, Members};

pub(crate) use parse::write_canonical_text;
pub use parse::CanonicalObject;

/// Where the members of a canonical object lie in its text, in key order. The parse that writes an object knows
/// them, and keeping them spares reading the object again each time a mapping or the lean writer looks into it.
type Directory = [Place];

/// Where one member lies in its object's text: its key's text between the quotes and its value, as byte ranges.
#[derive(Debug, Clone, Copy)]
struct Place {
    key: [u32; 2],
    value: [u32; 2],
    /// The key was written with escapes, so its text is not the key.
    key_escaped: bool,
}

/// The canonical JSON text of one value, with where its members lie when that is known.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalJson<'a> {
    text: &'a str,
    members: Option<&'a Directory>,
}

impl PartialEq for CanonicalJson<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<'a> CanonicalJson<'a> {
    fn of(text: &'a str) -> Self {
        CanonicalJson {
            text,
            members: None,
        }
    }

    pub fn as_str(self) -> &'a str {
        self.text
    }

    pub fn is_null(self) -> bool {
        self.text == "null"
    }

    pub fn is_object(self) -> bool {
        self.text.starts_with('{')
    }

    pub fn is_string(self) -> bool {
        self.text.starts_with('"')
    }

    /// The string this value is, or `None` when it is not a string.
    pub fn str(self) -> Option<Cow<'a, str>> {
        json_str(self.text)
    }

    /// The value of member `key`, when this value is an object that has it.
    pub fn get(self, key: &str) -> Option<CanonicalJson<'a>> {
        let members = self.members();
        // Members come in key order.
        let at = members
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()?;
        Some(members[at].1)
    }

    /// The members of this value, in key order, when it is an object; none otherwise. Read without a parser:
    /// canonical text has no white space and was checked when it was made, so a member is a key string, a colon
    /// and a value that ends at the first comma or closing brace outside strings and nested values. Reading them
    /// with `serde_json` again cost more than the parse that made the text.
    pub fn members(self) -> Vec<(Key<'a>, CanonicalJson<'a>)> {
        let text = self.text;
        if let Some(directory) = self.members {
            return directory
                .iter()
                .map(|place| {
                    let [key_start, key_end] = place.key.map(|at| at as usize);
                    let [value_start, value_end] = place.value.map(|at| at as usize);
                    let key = if place.key_escaped {
                        decoded_key(&text[key_start - 1..key_end + 1])
                    } else {
                        Key::Plain(&text[key_start..key_end])
                    };
                    (key, CanonicalJson::of(&text[value_start..value_end]))
                })
                .collect();
        }
        let bytes = text.as_bytes();
        // Room for a member per 16 bytes (about what a short key and value take), up to 64: growing the list one
        // step at a time cost more than reading the members, and one long string is one member.
        let mut members = Vec::with_capacity((text.len() / 16 + 1).min(64));
        if bytes.first() != Some(&b'{') {
            return members;
        }
        let mut at = 1;
        while bytes.get(at) == Some(&b'"') {
            let (key_end, key_escaped) = string_end(bytes, at);
            let value_start = key_end + 2;
            let value_end = value_end(bytes, value_start);
            let (Some(key), Some(value)) =
                (text.get(at + 1..key_end), text.get(value_start..value_end))
            else {
                break;
            };
            let key = if key_escaped {
                decoded_key(&text[at..=key_end])
            } else {
                Key::Plain(key)
            };
            members.push((key, CanonicalJson::of(value)));
            if bytes.get(value_end) != Some(&b',') {
                break;
            }
            at = value_end + 1;
        }
        members
    }

    /// A JSON string holding this value's text (what `Value::String(value.to_string())` writes).
    pub fn quoted(self) -> Canonical {
        let mut out = Vec::with_capacity(self.text.len() + 2);
        write_json_str(self.text, &mut out);
        Canonical::from_json_text(out)
    }
}

/// A key written with escapes, as a string: canonical text was written by `serde_json`, so it reads back.
fn decoded_key(quoted: &str) -> Key<'static> {
    Key::Decoded(serde_json::from_str(quoted).unwrap_or_default())
}

/// Canonical JSON text of one value, owned: a value taken from a [`CanonicalObject`] or built by a
/// [`CanonicalBuilder`].
#[derive(Debug, Clone)]
pub struct Canonical {
    text: Box<str>,
    members: Option<Box<Directory>>,
}

impl Canonical {
    /// Text the caller wrote as canonical JSON.
    pub(crate) fn from_json_text(out: Vec<u8>) -> Canonical {
        Canonical {
            text: String::from_utf8(out)
                .expect("canonical JSON is written from strings")
                .into_boxed_str(),
            members: None,
        }
    }

    pub fn as_json(&self) -> CanonicalJson<'_> {
        CanonicalJson {
            text: &self.text,
            members: self.members.as_deref(),
        }
    }

    pub fn into_boxed_str(self) -> Box<str> {
        self.text
    }
}

impl From<CanonicalJson<'_>> for Canonical {
    fn from(json: CanonicalJson<'_>) -> Canonical {
        Canonical {
            text: json.text.into(),
            members: json.members.map(Box::from),
        }
    }
}

/// A canonical object put together from canonical values: members set, replaced and added, then written in key
/// order.
#[derive(Debug, Default)]
pub struct CanonicalBuilder<'a> {
    members: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> CanonicalBuilder<'a> {
    /// The members of `object` (none when it is absent or not an object).
    pub fn from_object(object: Option<CanonicalJson<'a>>) -> Self {
        let members = object
            .map(CanonicalJson::members)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key.into_cow(), Cow::Borrowed(value.text)))
            .collect();
        CanonicalBuilder { members }
    }

    /// The value of member `key`.
    pub fn get(&self, key: &str) -> Option<CanonicalJson<'_>> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| CanonicalJson::of(value))
    }

    /// Sets member `key` to `value`, replacing what it held.
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<CanonicalValue<'a>>) {
        let key = key.into();
        let value = value.into().0;
        match self.members.iter_mut().find(|(k, _)| *k == key) {
            Some(member) => member.1 = value,
            None => self.members.push((key, value)),
        }
    }

    /// Adds member `key` without looking for it first (as when copying another object's members, each once); of a
    /// key pushed twice, [`CanonicalBuilder::build`] keeps the last.
    pub fn push_new(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<CanonicalValue<'a>>) {
        self.members.push((key.into(), value.into().0));
    }

    /// The object, in key order. Of a key pushed twice the last value counts, as in a parsed object.
    pub fn build(mut self) -> Canonical {
        // Stable, so the copies of a key stay in the order they came; the last of each run is kept.
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(self.members.len());
        for member in self.members {
            match kept.last_mut() {
                Some(last) if last.0 == member.0 => *last = member,
                _ => kept.push(member),
            }
        }
        self.members = kept;
        let mut out = Vec::with_capacity(
            2 + self
                .members
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>(),
        );
        let mut directory = Vec::with_capacity(self.members.len());
        out.push(b'{');
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key_start = out.len() + 1;
            write_json_str(key, &mut out);
            let key_end = out.len() - 1;
            out.push(b':');
            let value_start = out.len();
            out.extend_from_slice(value.as_bytes());
            let key_escaped = key_end - key_start != key.len();
            directory.push(place(
                key_start,
                key_end,
                value_start,
                out.len(),
                key_escaped,
            ));
        }
        out.push(b'}');
        let mut built = Canonical::from_json_text(out);
        // A text past 4 GiB has no directory: its members are read when asked for.
        built.members = directory.into_iter().collect::<Option<Box<Directory>>>();
        built
    }
}

/// Where the string that opens at `open` closes: the index of its closing quote (the text's length if none), and
/// whether it holds an escape.
fn string_end(bytes: &[u8], open: usize) -> (usize, bool) {
    let mut at = open + 1;
    let mut escaped = false;
    while let Some(found) = bytes
        .get(at..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        if bytes[at + found] == b'"' {
            return (at + found, escaped);
        }
        // A backslash and the character it escapes.
        escaped = true;
        at += found + 2;
    }
    (bytes.len(), escaped)
}

/// Where the canonical value that starts at `start` ends: the index just past it.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        Some(b'"') => string_end(bytes, start).0 + 1,
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = start;
            while let Some(&byte) = bytes.get(at) {
                match byte {
                    b'"' => at = string_end(bytes, at).0,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            bytes.len()
        }
        // A number or a literal: up to the comma or bracket after it.
        _ => bytes
            .get(start..)
            .and_then(|rest| memchr::memchr3(b',', b'}', b']', rest))
            .map_or(bytes.len(), |found| start + found),
    }
}

/// A canonical value a [`CanonicalBuilder`] takes: borrowed or owned.
pub struct CanonicalValue<'a>(Cow<'a, str>);

impl<'a> From<CanonicalJson<'a>> for CanonicalValue<'a> {
    fn from(json: CanonicalJson<'a>) -> Self {
        CanonicalValue(Cow::Borrowed(json.text))
    }
}

impl From<Canonical> for CanonicalValue<'_> {
    fn from(json: Canonical) -> Self {
        CanonicalValue(Cow::Owned(json.text.into_string()))
    }
}

/// A member's place from positions relative to the start of its object's text; `None` past 4 GiB.
fn place(
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
    key_escaped: bool,
) -> Option<Place> {
    let at = |at: usize| u32::try_from(at).ok();
    Some(Place {
        key: [at(key_start)?, at(key_end)?],
        value: [at(value_start)?, at(value_end)?],
        key_escaped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_object_holds_each_key_once_in_key_order() {
        let object = Members::parse_canonical(r#"{"o":{"b":1,"a":{"y":2}},"s":"x\"y","n":null}"#)
            .unwrap()
            .unwrap();
        let mut built = CanonicalBuilder::from_object(object.get("o"));
        built.set("c", object.get("s").unwrap());
        built.set("b", object.get("n").unwrap());
        built.set("d", object.get("o").unwrap().get("a").unwrap());
        built.push_new("\"", object.get("n").unwrap());
        built.push_new("\"", object.get("s").unwrap().quoted());
        let built = built.build();
        let text = r#"{"\"":"\"x\\\"y\"","a":{"y":2},"b":null,"c":"x\"y","d":{"y":2}}"#;
        assert_eq!(built.as_json().as_str(), text);
        // Its members, from where the build put them, are the members its text holds.
        let pairs = |members: Vec<(Key<'_>, CanonicalJson<'_>)>| -> Vec<(String, String)> {
            members
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
                .collect()
        };
        let parsed: Vec<(String, String)> = Members::parse(text)
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs(built.as_json().members()), parsed);
        assert_eq!(
            pairs(Canonical::from(built.as_json()).as_json().members()),
            parsed
        );
        // What is no object builds from nothing.
        let from_string = CanonicalBuilder::from_object(object.get("s")).build();
        assert_eq!(from_string.as_json().as_str(), "{}");
        assert_eq!(object.get("s").unwrap().str().as_deref(), Some("x\"y"));
        assert_eq!(object.get("missing"), None);
    }
}
