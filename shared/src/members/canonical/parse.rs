//! A JSON object parsed straight into its canonical JSON: the parse writes each value as it reads it, and an
//! object's members are moved into key order only when the vendor did not send them so. The same pass finds the
//! vendor's members where they lie (a key is a slice of the text) and, for each object among them, where its
//! members lie in the canonical text, so neither is read twice.

use std::ops::Range;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{place, CanonicalJson, Key, Members, Place};
use crate::members::write_json_str;

/// An object's canonical JSON, with its members as the vendor sent them.
#[derive(Debug)]
pub struct CanonicalObject<'a> {
    canonical: String,
    /// Each key once, in key order, with where its value lies in `canonical` and, for an object, where its own
    /// members lie in it.
    fields: Vec<Written<'a>>,
    members: Members<'a>,
}

impl<'a> Members<'a> {
    /// `text` parsed as one JSON value into its canonical JSON: `Ok(None)` when it is JSON but not an object. The
    /// members are read in the same pass when no key of the object has escapes (most events), and by a second
    /// one otherwise.
    pub fn parse_canonical(
        text: &'a str,
    ) -> Result<Option<CanonicalObject<'a>>, serde_json::Error> {
        let mut out = Vec::with_capacity(text.len());
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = TopLevel { out: &mut out }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        let Some((fields, keys)) = parsed else {
            return Ok(None);
        };
        let members = match keys.and_then(|keys| members_at_keys(text, &keys)) {
            Some(members) => members,
            None => Members::parse(text)?,
        };
        let canonical = String::from_utf8(out).expect("canonical JSON is written from strings");
        Ok(Some(CanonicalObject {
            canonical,
            fields,
            members,
        }))
    }
}

impl<'a> CanonicalObject<'a> {
    /// The canonical JSON of the whole object.
    pub fn text(&self) -> &str {
        &self.canonical
    }

    /// The members as the vendor's text holds them, in its order.
    pub fn members(&self) -> &Members<'a> {
        &self.members
    }

    /// The canonical JSON of `key`'s value (of a key given twice, the last).
    pub fn get(&self, key: &str) -> Option<CanonicalJson<'_>> {
        let at = self
            .fields
            .binary_search_by(|field| field.key.as_str().cmp(key))
            .ok()?;
        let field = &self.fields[at];
        Some(CanonicalJson {
            text: &self.canonical[field.value.clone()],
            members: field.members.as_deref(),
        })
    }
}

/// Writes the JSON value `raw` as canonical JSON at the end of `out`, or gives the parser's error when it is not
/// one JSON value.
pub(crate) fn write_canonical_text(raw: &str, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    WriteCanonical { out }.deserialize(&mut deserializer)?;
    deserializer.end()
}

/// The members of the object `text` whose keys (their text between the quotes, in order) are `keys`; `None` if the
/// bytes around a key are not what a JSON object has there, which a parse by `serde_json` does not give.
fn members_at_keys<'a>(text: &'a str, keys: &[&'a str]) -> Option<Members<'a>> {
    let bytes = text.as_bytes();
    let base = text.as_ptr() as usize;
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    // The first byte at or after `at` that is not white space.
    let forward = |mut at: usize| {
        while bytes.get(at).copied().is_some_and(is_space) {
            at += 1;
        }
        at
    };
    // The end of what precedes the white space before `at`, no further back than `floor`.
    let back = |mut at: usize, floor: usize| {
        while at > floor && is_space(bytes[at - 1]) {
            at -= 1;
        }
        at
    };
    let start_of = |key: &str| (key.as_ptr() as usize).checked_sub(base);
    let mut entries = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let key_start = start_of(key)?;
        let key_end = key_start + key.len();
        if key_start == 0
            || bytes.get(key_start - 1) != Some(&b'"')
            || bytes.get(key_end) != Some(&b'"')
        {
            return None;
        }
        let colon = forward(key_end + 1);
        if bytes.get(colon) != Some(&b':') {
            return None;
        }
        let value_start = forward(colon + 1);
        // Back from the next key's opening quote (which its own turn checks) over `, `, or from the end over `}`.
        let (end, closing) = match keys.get(i + 1) {
            Some(next) => (start_of(next)?.checked_sub(1)?, b','),
            None => (text.len(), b'}'),
        };
        let punctuation = back(end, value_start);
        if punctuation <= value_start || bytes[punctuation - 1] != closing {
            return None;
        }
        let value = text
            .get(value_start..back(punctuation - 1, value_start))
            .filter(|v| !v.is_empty())?;
        entries.push((Key::Plain(key), value));
    }
    Some(Members { text, entries })
}

/// One member written into the output: its key, where it starts (at its key's opening quote) and where its value
/// lies; and, for an object kept with its directory, where its members lie in it.
#[derive(Debug)]
struct Written<'de> {
    key: Key<'de>,
    start: usize,
    value: Range<usize>,
    members: Option<Vec<Place>>,
}

/// Writes the object `map` reads as canonical JSON at the end of `out`. Gives each key once, in key order, with
/// where its value lies in `out` (and, with `directories`, where the members of an object value lie in it);
/// pushes the object's keys in the order of the text into `keys` while none has escapes, and makes it `None` at
/// the first that has.
fn write_object<'de, A: MapAccess<'de>>(
    mut map: A,
    out: &mut Vec<u8>,
    keys: &mut Option<Vec<&'de str>>,
    directories: bool,
) -> Result<Vec<Written<'de>>, A::Error> {
    let start = out.len();
    out.push(b'{');
    let mut written: Vec<Written<'de>> = Vec::with_capacity(map.size_hint().unwrap_or(8));
    while let Some(key) = map.next_key::<Key<'de>>()? {
        match (&key, &mut *keys) {
            (Key::Plain(key), Some(keys)) => keys.push(key),
            (Key::Decoded(_), _) => *keys = None,
            _ => {}
        }
        if !written.is_empty() {
            out.push(b',');
        }
        let member_start = out.len();
        key.write_json(out);
        out.push(b':');
        let value_start = out.len();
        let inner = map.next_value_seed(WriteCanonical { out: &mut *out })?;
        let members = inner.filter(|_| directories).and_then(|inner| {
            inner
                .iter()
                .map(|m| {
                    place(
                        m.start + 1 - value_start,
                        m.value.start - 2 - value_start,
                        m.value.start - value_start,
                        m.value.end - value_start,
                        // Escaped in the text when the text is longer than the key.
                        m.value.start - 3 - m.start != m.key.as_str().len(),
                    )
                })
                .collect()
        });
        written.push(Written {
            key,
            start: member_start,
            value: value_start..out.len(),
            members,
        });
    }
    let in_order = written
        .windows(2)
        .all(|w| w[0].key.as_str() < w[1].key.as_str());
    if !in_order {
        written = reorder(written, start, out);
    }
    out.push(b'}');
    Ok(written)
}

/// Rewrites the members at `out[start + 1..]` (after the object's `{`) in key order, each key once (its last
/// value, as a parsed map keeps it).
fn reorder<'de>(
    mut written: Vec<Written<'de>>,
    start: usize,
    out: &mut Vec<u8>,
) -> Vec<Written<'de>> {
    // A stable sort keeps a repeated key's copies in the order of the text, so the last of each run is the one
    // that counts.
    written.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let mut kept: Vec<Written<'de>> = Vec::with_capacity(written.len());
    for member in written {
        match kept.last_mut() {
            Some(last) if last.key.as_str() == member.key.as_str() => *last = member,
            _ => kept.push(member),
        }
    }
    let body = out.split_off(start + 1);
    for (i, member) in kept.iter_mut().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let (from, to) = (member.start - start - 1, member.value.end - start - 1);
        let value_offset = member.value.start - member.start;
        member.start = out.len();
        member.value = member.start + value_offset..member.start + (to - from);
        out.extend_from_slice(&body[from..to]);
    }
    kept
}

/// Writes the value it is given as canonical JSON at the end of `out`; gives the members of an object, as
/// [`write_object`] does.
struct WriteCanonical<'o> {
    out: &'o mut Vec<u8>,
}

type Inner<'de> = Option<Vec<Written<'de>>>;

impl<'de> DeserializeSeed<'de> for WriteCanonical<'_> {
    type Value = Inner<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Inner<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WriteCanonical<'_> {
    type Value = Inner<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Inner<'de>, A::Error> {
        write_object(map, self.out, &mut None, false).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inner<'de>, A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let at = self.out.len();
            if !first {
                self.out.push(b',');
            }
            if seq
                .next_element_seed(WriteCanonical {
                    out: &mut *self.out,
                })?
                .is_none()
            {
                self.out.truncate(at);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(None)
    }

    fn visit_str<E>(self, s: &str) -> Result<Inner<'de>, E> {
        write_json_str(s, self.out);
        Ok(None)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Inner<'de>, E> {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
        Ok(None)
    }

    // Numbers as a parsed `Value` holds and writes them: what the parser makes of the text, not the text.
    fn visit_i64<E>(self, n: i64) -> Result<Inner<'de>, E> {
        write_scalar(&n, self.out);
        Ok(None)
    }

    fn visit_u64<E>(self, n: u64) -> Result<Inner<'de>, E> {
        write_scalar(&n, self.out);
        Ok(None)
    }

    fn visit_f64<E>(self, n: f64) -> Result<Inner<'de>, E> {
        write_scalar(&serde_json::Number::from_f64(n), self.out);
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Inner<'de>, E> {
        self.out.extend_from_slice(b"null");
        Ok(None)
    }
}

fn write_scalar(scalar: &impl serde::Serialize, out: &mut Vec<u8>) {
    serde_json::to_writer(out, scalar).expect("writing to a Vec cannot fail");
}

/// The whole text's value: an object is written as canonical JSON and gives its members; any other value is read
/// through (so that broken JSON is an error wherever it breaks) and gives `None`.
struct TopLevel<'o> {
    out: &'o mut Vec<u8>,
}

type Top<'de> = Option<(Vec<Written<'de>>, Option<Vec<&'de str>>)>;

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Top<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Top<'de>, A::Error> {
        let mut keys = Some(Vec::with_capacity(16));
        let written = write_object(map, self.out, &mut keys, true)?;
        Ok(Some((written, keys)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Top<'de>, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Top<'de>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Top<'de>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Top<'de>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Top<'de>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Top<'de>, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::members::random_json::random_objects;
    use crate::members::write_json_value_sorted;

    /// What a parsed `Value` writes with its keys sorted: the text the event ids have always digested.
    fn sorted_text(value: &Value) -> String {
        let mut out = Vec::new();
        write_json_value_sorted(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The canonical object of `text` must be what a parsed `Value` gives: the same text, each member's value
    /// the same text, and the members as [`Members::parse`] reads them.
    fn check(text: &str) {
        let object = Members::parse_canonical(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap_or_else(|| panic!("{text}: not an object"));
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(object.text(), sorted_text(&value), "{text}");
        for (key, member) in value.as_object().unwrap() {
            let json = object.get(key).unwrap_or_else(|| panic!("{text}: {key}"));
            assert_eq!(json.as_str(), sorted_text(member), "{text}: {key}");
            if member.is_object() {
                let read: Vec<(String, String)> = json
                    .members()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
                    .collect();
                let parsed: Vec<(String, String)> = Members::parse(json.as_str())
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), (*v).to_owned()))
                    .collect();
                assert_eq!(read, parsed, "{text}: {key}");
            }
            for (inner_key, inner) in member.as_object().into_iter().flatten() {
                assert_eq!(
                    json.get(inner_key).map(CanonicalJson::as_str),
                    Some(sorted_text(inner).as_str()),
                    "{text}: {key}.{inner_key}"
                );
            }
        }
        let pairs = |members: &Members<'_>| -> Vec<(String, String)> {
            members
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            pairs(object.members()),
            pairs(&Members::parse(text).unwrap()),
            "{text}"
        );
    }

    #[test]
    fn the_canonical_text_is_what_the_parsed_value_writes_with_sorted_keys() {
        for text in [
            "{}",
            r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#,
            r#"{ "z" : "plain", "a\u0062" : "esc\"aped", "m": "\u00e9", "n": "é" }"#,
            r#"{"i":0,"j":-7,"k":123456789012345678,"l":12345678901234567890,"f":1.50,"e":1e3,"mz":-0}"#,
            r#"{"t":true,"f":false,"n":null,"arr":[{"b":2,"a":1},"x",3.0,[]],"o":{}}"#,
            r#"{"dup":"first","x":1,"dup":"second"}"#,
            r#"{"x":{"d":1,"c":2,"d":3},"\u0078":{"a":1}}"#,
            r#"{"ctl":"tab\there","slash":"a\/b","big":-9223372036854775808,"tiny":1e-400}"#,
            r#"{"B":1,"\u0041":2,"é":3,"z":4,"日本":5,"":6}"#,
            r#"{"q\"k":1,"q":2,"q#":3}"#,
            // White space anywhere, and strings that hold what separates members.
            " { } ",
            " {\n\t\"b\" :\r\n [1, 2] ,\"a\": \"x\\\"y\", \"c\" : {\"d\": null}\n}\n",
            r#"{"s":"\",\"b\":\"","t":"}, {","u":"\\"}"#,
            r#"{"deep":{"a":[{"b":{"c":[]}}]},"last":"}"}"#,
        ] {
            check(text);
        }
        // Keys as they are, whose members the parse finds; and keys with escapes, whose members a second pass reads.
        for escaped_keys in [false, true] {
            for text in random_objects(3_000, escaped_keys) {
                check(&text);
            }
        }
    }

    #[test]
    fn other_json_is_not_an_object_and_broken_json_is_an_error() {
        for text in ["[1, {\"a\": 2}]", "\"s\"", "1", "null", " [] "] {
            assert!(Members::parse_canonical(text).unwrap().is_none(), "{text}");
        }
        for text in [
            "{",
            "{\"a\":1} x",
            "",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1e400}",
        ] {
            assert!(Members::parse_canonical(text).is_err(), "{text}");
        }
        // Past the parser's nesting limit: an error, as a parse into a `Value` gives, not a stack overflow.
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
        assert!(Members::parse_canonical(&deep).is_err());
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }

    /// `serde_json` reads an object whose only key is its private raw-value marker as the value its string holds;
    /// the canonical text keeps what the vendor wrote, an object.
    #[test]
    fn an_object_keyed_by_the_parsers_private_marker_stays_an_object() {
        let text = r#"{"a":{"$serde_json::private::RawValue":"[1]"}}"#;
        let object = Members::parse_canonical(text).unwrap().unwrap();
        assert_eq!(object.text(), text);
    }
}
