//! A JSON object parsed into `serde_json` values and read as its members in the same pass.
//!
//! A mapping that needs the values (to digest them, to move them into ECS) and a lean record that needs the members
//! (to write them where they lie) would otherwise scan the text twice: once to parse it, once to find the members.
//! Here the parse keeps each key as a slice of the text when it has no escapes, and a value lies between its key's
//! colon and the comma before the next key (or the closing brace): only the few bytes of white space and
//! punctuation between them are read again.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Key, Members};

/// An object's fields, parsed, and its members when every key of it was written without escapes.
#[derive(Debug)]
pub struct ParsedObject<'a> {
    pub fields: Map<String, Value>,
    /// `None` when a key has escapes: its place in the text is not known, so [`Members::parse`] reads them.
    pub members: Option<Members<'a>>,
}

impl<'a> Members<'a> {
    /// `text` parsed as one JSON value: `Ok(None)` when it is JSON but not an object. Each member's value is parsed
    /// as `serde_json::from_str` parses it, and the fields hold them as a parsed object does (of a key given twice,
    /// the last value), while the members keep both, in the order of the text, as [`Members::parse`] does.
    pub fn parse_object(text: &'a str) -> Result<Option<ParsedObject<'a>>, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = Seed.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(parsed.map(|(fields, keys)| ParsedObject {
            fields,
            members: keys.and_then(|keys| members_at_keys(text, &keys)),
        }))
    }
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

/// An object's fields and its keys as slices of the text (`None` once a key has escapes); `None` for another value.
type Parsed<'de> = Option<(Map<String, Value>, Option<Vec<&'de str>>)>;

struct Seed;

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Parsed<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed<'de>, D::Error> {
        deserializer.deserialize_any(Seed)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Parsed<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let mut fields = Map::new();
        let mut keys = Some(Vec::with_capacity(16));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: Value = map.next_value()?;
            let name = match key {
                Key::Plain(name) => {
                    if let Some(keys) = &mut keys {
                        keys.push(name);
                    }
                    name.to_owned()
                }
                Key::Decoded(name) => {
                    keys = None;
                    name
                }
            };
            fields.insert(name, value);
        }
        Ok(Some((fields, keys)))
    }

    // Any other value is read through (so that broken JSON is an error wherever it breaks) and is not an object.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Parsed<'de>, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Parsed<'de>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Parsed<'de>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Parsed<'de>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Parsed<'de>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Parsed<'de>, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(members: &Members<'_>) -> Vec<(String, String)> {
        members
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), (*v).to_owned()))
            .collect()
    }

    /// What `parse_object` gives must be what the two passes it replaces give: `serde_json`'s parse and
    /// [`Members::parse`].
    fn check(text: &str) {
        let parsed = Members::parse_object(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap_or_else(|| panic!("{text}: not an object"));
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(Some(&parsed.fields), value.as_object(), "{text}");
        let members = parsed
            .members
            .unwrap_or_else(|| panic!("{text}: no members"));
        assert_eq!(
            pairs(&members),
            pairs(&Members::parse(text).unwrap()),
            "{text}"
        );
        assert_eq!(members.text(), text);
    }

    #[test]
    fn the_members_found_with_the_values_are_the_members_a_second_pass_finds() {
        for text in [
            "{}",
            " { } ",
            r#"{"a":1}"#,
            " {\n\t\"b\" :\r\n [1, 2] ,\"a\": \"x\\\"y\", \"c\" : {\"d\": null}\n}\n",
            r#"{"a":"1","a":"2","é":"日本","":{},"n":-1.5e3}"#,
            r#"{"s":"\",\"b\":\"","t":"}, {","u":"\\"}"#,
            r#"{"deep":{"a":[{"b":{"c":[]}}]},"last":"}"}"#,
            r#"{"k":true,"l":false,"m":null,"n":0,"o":12345678901234567890123}"#,
        ] {
            check(text);
        }
    }

    /// Objects of every shape: random keys (some repeated), values of every kind with strings that hold quotes,
    /// commas, braces and escapes, nested to four levels, and random white space between every pair of tokens.
    #[test]
    fn random_objects_with_random_white_space_keep_their_members() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        fn space(next: &mut impl FnMut(u64) -> u64) -> String {
            (0..next(3))
                .map(|_| [" ", "\t", "\n", "\r"][next(4) as usize])
                .collect()
        }
        fn value(next: &mut impl FnMut(u64) -> u64, depth: u32) -> String {
            const STRINGS: &[&str] = &[
                r#""""#,
                r#""plain""#,
                r#""a\"b""#,
                r#"", ""#,
                r#""}""#,
                r#""\\""#,
                r#""\u00e9 \n""#,
                r#""{\"k\": 1}""#,
            ];
            let kinds = if depth >= 4 { 5 } else { 7 };
            match next(kinds) {
                0 => STRINGS[next(STRINGS.len() as u64) as usize].to_owned(),
                1 => ["0", "-12", "3.25", "1e300", "98765432109876543210"][next(5) as usize]
                    .to_owned(),
                2 => ["true", "false"][next(2) as usize].to_owned(),
                3 => "null".to_owned(),
                4 => STRINGS[1].to_owned(),
                5 => {
                    let items: Vec<String> = (0..next(4))
                        .map(|_| {
                            format!("{}{}{}", space(next), value(next, depth + 1), space(next))
                        })
                        .collect();
                    format!("[{}{}]", items.join(","), space(next))
                }
                _ => object(next, depth + 1),
            }
        }
        fn object(next: &mut impl FnMut(u64) -> u64, depth: u32) -> String {
            const KEYS: &[&str] = &["a", "b", "", "é", "@timestamp", "key with spaces", "k,"];
            let members: Vec<String> = (0..next(6))
                .map(|_| {
                    let key = KEYS[next(KEYS.len() as u64) as usize];
                    let (s1, s2, s3, s4) = (space(next), space(next), space(next), space(next));
                    format!("{s1}\"{key}\"{s2}:{s3}{}{s4}", value(next, depth))
                })
                .collect();
            format!("{{{}{}}}", members.join(","), space(next))
        }
        for _ in 0..3_000 {
            let text = format!(
                "{}{}{}",
                space(&mut next),
                object(&mut next, 0),
                space(&mut next)
            );
            check(&text);
        }
    }

    #[test]
    fn an_object_with_an_escaped_key_is_parsed_but_has_no_members() {
        let parsed = Members::parse_object(r#"{"a":1,"\u0062":{"c":2}}"#)
            .unwrap()
            .unwrap();
        assert!(parsed.members.is_none());
        assert_eq!(
            Value::Object(parsed.fields),
            serde_json::json!({"a": 1, "b": {"c": 2}})
        );
    }

    #[test]
    fn other_json_is_not_an_object_and_broken_json_is_an_error() {
        for text in [
            "[1, {\"a\": 2}]",
            "\"s\"",
            "1",
            "-2.5",
            "null",
            "true",
            " [] ",
        ] {
            assert!(Members::parse_object(text).unwrap().is_none(), "{text}");
        }
        for text in [
            "{",
            "{\"a\":1} x",
            "",
            "[1",
            "[1] 2",
            "{\"a\":}",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "{'a':1}",
        ] {
            assert!(Members::parse_object(text).is_err(), "{text}");
        }
    }

    /// `serde_json` reads an object whose first key is its private raw-value marker as the text that key holds;
    /// what the vendor wrote is an object, and it is kept as one.
    #[test]
    fn the_fields_are_what_the_text_holds_whatever_the_keys_are_called() {
        let text = r#"{"$serde_json::private::RawValue":"[1]"}"#;
        let parsed = Members::parse_object(text).unwrap().unwrap();
        assert_eq!(parsed.fields["$serde_json::private::RawValue"], "[1]");
        assert_eq!(
            pairs(&parsed.members.unwrap()),
            pairs(&Members::parse(text).unwrap())
        );
    }
}
