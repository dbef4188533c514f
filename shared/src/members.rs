//! A JSON object read as its members, borrowed from its text: each key, and each value as the raw JSON it was.
//!
//! Mapping an event needs a dozen of its fields, its digest and (for lean records) its members in order; none of
//! that needs a `serde_json::Value` tree, whose nodes cost an allocation each to build and again to free. A
//! member's value is parsed only when a mapping asks for it, and a string without escapes is read in place.
//!
//! A value is held as its raw JSON text (`&str`), not as a `&RawValue`: the text was checked once, when the object
//! was parsed, and [`Members::at`] can read the members again from where they lay without checking it a second
//! time, which a `RawValue` (made only by parsing) could not.

mod canonical;
#[cfg(test)]
mod random_json;

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

pub(crate) use canonical::write_canonical_text;
pub use canonical::{Canonical, CanonicalBuilder, CanonicalJson, CanonicalObject, CanonicalValue};

/// A member's key. `Plain` when the key had no escape sequences, so its text between the quotes *is* the key and
/// can be written back as it stands; `Decoded` when it had some.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key<'a> {
    Plain(&'a str),
    Decoded(String),
}

impl<'a> Key<'a> {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Plain(key) => key,
            Key::Decoded(key) => key,
        }
    }

    /// The key, borrowed from its text when it had no escapes.
    pub fn into_cow(self) -> Cow<'a, str> {
        match self {
            Key::Plain(key) => Cow::Borrowed(key),
            Key::Decoded(key) => Cow::Owned(key),
        }
    }

    /// Writes the key as a JSON string, as `serde_json` would.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Key::Plain(key) => {
                out.push(b'"');
                out.extend_from_slice(key.as_bytes());
                out.push(b'"');
            }
            Key::Decoded(key) => write_json_str(key, out),
        }
    }
}

/// A JSON object's members, in the order of its text.
#[derive(Debug)]
pub struct Members<'a> {
    text: &'a str,
    entries: Vec<(Key<'a>, &'a str)>,
}

/// Where the members of an object lay in its text: each key's text between its quotes and each value's raw text, as
/// byte ranges, and the text's length. Taken only from objects whose keys have no escapes (most events), so a key
/// is its range's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spans {
    text_len: usize,
    members: Vec<[u32; 4]>,
}

impl<'a> Members<'a> {
    /// The members of `text`, or an error when it is not one JSON object.
    pub fn parse(text: &'a str) -> Result<Members<'a>, serde_json::Error> {
        let Entries(entries) = serde_json::from_str(text)?;
        Ok(Members { text, entries })
    }

    /// Where these members lay in their text, to read them again with [`Members::at`]; `None` when a key has
    /// escapes (read again by parsing) or the text is longer than 4 GiB.
    pub(crate) fn spans(&self) -> Option<Spans> {
        let base = self.text.as_ptr() as usize;
        let range = |part: &str| -> Option<[u32; 2]> {
            // Every key and value is a slice of `text`; were one not, this gives `None` rather than a wrong range.
            let start = u32::try_from((part.as_ptr() as usize).checked_sub(base)?).ok()?;
            let end = start.checked_add(u32::try_from(part.len()).ok()?)?;
            Some([start, end])
        };
        self.entries
            .iter()
            .map(|(key, value)| match key {
                Key::Plain(key) => {
                    let [key_start, key_end] = range(key)?;
                    let [value_start, value_end] = range(value)?;
                    Some([key_start, key_end, value_start, value_end])
                }
                Key::Decoded(_) => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|members| Spans {
                text_len: self.text.len(),
                members,
            })
    }

    /// The members of `text` read from `spans` that [`Members::spans`] took from this same text (or one with the
    /// same bytes in the same places), without parsing it again. `None` for a text of another length or a range
    /// that ends inside a character, so a caller can parse instead; spans of another text of the same length are
    /// not told apart, which is why a record keeps only spans of its own original.
    pub(crate) fn at(text: &'a str, spans: &Spans) -> Option<Members<'a>> {
        if text.len() != spans.text_len {
            return None;
        }
        let part = |start: u32, end: u32| text.get(start as usize..end as usize);
        let entries = spans
            .members
            .iter()
            .map(|&[key_start, key_end, value_start, value_end]| {
                Some((
                    Key::Plain(part(key_start, key_end)?),
                    part(value_start, value_end)?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Members { text, entries })
    }

    /// The object's whole text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Key<'a>, &'a str)> {
        self.entries.iter()
    }

    /// The raw JSON text of `key`'s value. Of a key given twice the last one counts, as in a parsed
    /// `serde_json::Value`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, value)| *value)
    }

    /// The value of `key` when it is a JSON string, borrowed when it has no escapes.
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(json_str)
    }
}

/// The string a raw JSON value holds, or `None` when it is not a string.
pub fn json_str(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// True when the raw JSON value `raw` is exactly the text `serde_json` writes for the string `s`. Checked without
/// writing `s` when `raw` has no escapes: a valid JSON string without a backslash holds no quote and no control
/// character, so it is equal to the escaped form of `s` exactly when its contents are `s`.
pub fn is_json_text_of(raw: &str, s: &str) -> bool {
    if raw.contains('\\') {
        let mut written = Vec::with_capacity(raw.len());
        write_json_str(s, &mut written);
        written == raw.as_bytes()
    } else {
        raw.len() == s.len() + 2
            && raw.starts_with('"')
            && raw.ends_with('"')
            && &raw[1..raw.len() - 1] == s
    }
}

/// `s` as a JSON string, escaped as `serde_json` escapes it. `serde_json` escapes only the quote, the backslash
/// and bytes below 0x20, so a string with none of them (most of what records hold: names, ids, addresses) is
/// copied between quotes in one go, without the per-byte escape machinery.
pub fn write_json_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    write_json_str_contents(s, out);
    out.push(b'"');
}

/// What [`write_json_str`] writes between the quotes. Escapes are per character, so the contents of two strings
/// written one after the other are the contents of the two joined.
pub fn write_json_str_contents(s: &str, out: &mut Vec<u8>) {
    if !needs_escape(s.as_bytes()) {
        out.extend_from_slice(s.as_bytes());
    } else {
        let quoted = serde_json::to_vec(s).expect("serializing a string cannot fail");
        out.extend_from_slice(&quoted[1..quoted.len() - 1]);
    }
}

/// True when `bytes` hold a byte `serde_json` escapes in a string: the quote, the backslash or one below 0x20.
/// Checked eight bytes at a time with word arithmetic, the short tail padded with spaces (which need no escape):
/// most record strings are shorter than a vector block and hold no such byte, and testing them byte by byte was
/// the larger part of writing them.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether some byte of `word` is below `n` (n ≤ 128). The lowest such byte gets its high bit set, as no borrow
    // reaches it from below; borrows start only at such a byte, so bytes above it can be wrong but never make
    // the answer wrong; and a byte at 0x80 or above is masked out by `!word`.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH != 0;
    let escaped = |word: u64| {
        below(word, 0x20)
            | below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        if escaped(u64::from_le_bytes(word.try_into().expect("8 bytes"))) {
            return true;
        }
    }
    let tail = words.remainder();
    let mut last = [b' '; 8];
    last[..tail.len()].copy_from_slice(tail);
    escaped(u64::from_le_bytes(last))
}

/// `value` as compact JSON, byte for byte what `serde_json` writes, with its strings (keys included) written by
/// [`write_json_str`].
pub fn write_json_value(value: &Value, out: &mut Vec<u8>) {
    write_value(value, false, out);
}

/// [`write_json_value`] with object keys sorted bytewise at every level, whatever order the map holds them in.
pub fn write_json_value_sorted(value: &Value, out: &mut Vec<u8>) {
    write_value(value, true, out);
}

fn write_value(value: &Value, sort_keys: bool, out: &mut Vec<u8>) {
    match value {
        Value::String(s) => write_json_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, sort_keys, out);
            }
            out.push(b']');
        }
        // A `serde_json` map keeps its keys sorted unless a crate in the build turns `preserve_order` on: checked
        // here rather than assumed, and sorted only when they are not.
        Value::Object(map) if sort_keys && !map.keys().is_sorted() => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            write_object(entries.into_iter(), sort_keys, out);
        }
        Value::Object(map) => write_object(map.iter(), sort_keys, out),
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
}

fn write_object<'v>(
    entries: impl Iterator<Item = (&'v String, &'v Value)>,
    sort_keys: bool,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(key, out);
        out.push(b':');
        write_value(item, sort_keys, out);
    }
    out.push(b'}');
}

struct Entries<'a>(Vec<(Key<'a>, &'a str)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((key, value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    out.push((key, value.get()));
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Plain(key))
            }
            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Decoded(key.to_owned()))
            }
            fn visit_string<E>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key::Decoded(key))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every place of strings up to 17 bytes long, among fillers on both sides of each
    /// boundary the word test uses: it finds exactly the bytes a byte-by-byte test finds.
    #[test]
    fn the_escape_test_finds_exactly_the_bytes_serde_json_escapes() {
        let naive = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for filler in [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa0, 0xdc, 0xff] {
            for len in 1..=17 {
                for at in 0..len {
                    for byte in 0..=255u8 {
                        let mut bytes = vec![filler; len];
                        bytes[at] = byte;
                        assert_eq!(needs_escape(&bytes), naive(&bytes), "{bytes:?}");
                    }
                }
            }
        }
        assert!(!needs_escape(&[]));
    }

    #[test]
    fn strings_and_values_are_written_byte_for_byte_as_serde_json_writes_them() {
        // Every byte below 0x80 alone and inside text, the escapes' neighbours, and text beyond ASCII.
        let mut strings: Vec<String> = (0u8..0x80)
            .map(|b| char::from(b).to_string())
            .flat_map(|c| [c.clone(), format!("ab{c}cd"), format!("{c}{c}")])
            .collect();
        strings.extend(["", "é", "日本", "\u{2028}", "😀 x", "a/b", "\u{7f}"].map(String::from));
        for s in &strings {
            let mut ours = Vec::new();
            write_json_str(s, &mut ours);
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
            // Contents written one after the other are the contents of the joined string.
            let mut joined = vec![b'"'];
            write_json_str_contents(s, &mut joined);
            write_json_str_contents("\".\n", &mut joined);
            joined.push(b'"');
            assert_eq!(
                joined,
                serde_json::to_vec(&format!("{s}\".\n")).unwrap(),
                "{s:?}"
            );
        }
        let value = serde_json::json!({
            "b": [1, -2.5, 1e300, null, true, "x\"y"], "a": {"\n": {}, "é": []},
            "n": 12345678901234567890u64, "s": strings,
        });
        let mut ours = Vec::new();
        write_json_value(&value, &mut ours);
        assert_eq!(ours, serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn members_keep_their_order_and_raw_values() {
        let m = Members::parse(r#" {"b": [1, 2], "a\u0041": "x\"y", "c": {"d": null}} "#).unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "aA", "c"]);
        assert!(matches!(m.iter().nth(1).unwrap().0, Key::Decoded(_)));
        assert_eq!(m.get("b").unwrap(), "[1, 2]");
        assert_eq!(m.str("aA").unwrap(), "x\"y");
        assert_eq!(m.str("b"), None);
        assert_eq!(m.get("c").unwrap(), r#"{"d": null}"#);
    }

    #[test]
    fn members_read_again_from_their_spans_are_the_members_parsed() {
        let texts = [
            r#" {"b": [1, 2], "a": "x\"y", "c": {"d": null}} "#,
            r#"{"a":"1","a":"2","é":"日本","":{},"n":-1.5e3}"#,
            "{\n\t\"k\" :\r\n true }",
            "{}",
        ];
        for text in texts {
            let parsed = Members::parse(text).unwrap();
            let spans = parsed.spans().unwrap();
            let copy = text.to_owned();
            let again = Members::at(&copy, &spans).unwrap();
            let pairs = |m: &Members<'_>| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), (*v).to_owned()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(pairs(&again), pairs(&parsed), "{text}");
            assert_eq!(again.text(), text);
        }
    }

    #[test]
    fn members_with_an_escaped_key_have_no_spans_and_spans_that_do_not_fit_read_nothing() {
        assert!(Members::parse(r#"{"a":1,"\u0062":2}"#)
            .unwrap()
            .spans()
            .is_none());
        let spans = Members::parse(r#"{"key":"value"}"#)
            .unwrap()
            .spans()
            .unwrap();
        assert!(Members::at(r#"{"k":1}"#, &spans).is_none());
        assert!(Members::at(r#"{"key":"value","x":1}"#, &spans).is_none());
        // As long, but the key's range ends inside the `é`: refused, not a panic.
        assert_eq!(r#"{"aaé":"vvvv"}"#.len(), r#"{"key":"value"}"#.len());
        assert!(Members::at(r#"{"aaé":"vvvv"}"#, &spans).is_none());
    }

    #[test]
    fn of_a_key_given_twice_the_last_counts() {
        let m = Members::parse(r#"{"a":"1","a":"2"}"#).unwrap();
        assert_eq!(m.str("a").unwrap(), "2");
        assert_eq!(m.iter().count(), 2);
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        for text in ["[1]", "\"s\"", "{", "{\"a\":1} x", ""] {
            assert!(Members::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_raw_string_is_the_json_text_of_its_contents_only() {
        assert!(is_json_text_of(r#""abc""#, "abc"));
        assert!(!is_json_text_of(r#""abc""#, "abd"));
        assert!(!is_json_text_of(r#""abc ""#, "abc"));
        assert!(!is_json_text_of("abc", "abc"));
        assert!(is_json_text_of(r#""a\"b""#, "a\"b"));
        // Escaped where serde_json would not escape: the same string, but not the same text.
        assert!(!is_json_text_of(r#""\u0061""#, "a"));
        assert!(is_json_text_of(r#""é""#, "é"));
    }
}
