//! Stable event ids for vendors that send none: a digest of the event's canonical JSON (keys sorted at every
//! level, no insignificant white space), so the same event collected twice gets the same `event.id` whatever key
//! order or spacing the vendor used.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::members::{write_canonical_text, write_json_value_sorted, Members};

/// The id of an event without a vendor id: the first 128 bits of SHA-256 over its canonical JSON, in hex.
pub fn from_canonical_json(event: &Value) -> String {
    let mut canonical = Vec::with_capacity(256);
    write_canonical(event, &mut canonical);
    digest_hex(&canonical)
}

/// The same id as [`from_canonical_json`] of the parsed object, written from its members: a member whose raw text
/// is already canonical (a string without escapes, `true`, `false`, `null`, a plain integer) is copied as it
/// stands, and only the others are parsed, straight into canonical JSON. An object that gives a key twice is
/// parsed whole, so the last value counts as it does in a `Value`. An error when a member cannot be parsed:
/// reading raw members does not apply the parser's nesting limit, parsing them does.
pub fn from_members(members: &Members<'_>) -> Result<String, serde_json::Error> {
    let mut order: Vec<_> = members.iter().collect();
    order.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    if order.windows(2).any(|w| w[0].0.as_str() == w[1].0.as_str()) {
        if let Some(object) = Members::parse_canonical(members.text())? {
            return Ok(digest_hex(object.text().as_bytes()));
        }
    }
    let mut canonical = Vec::with_capacity(members.text().len());
    canonical.push(b'{');
    for (i, (key, value)) in order.into_iter().enumerate() {
        if i > 0 {
            canonical.push(b',');
        }
        key.write_json(&mut canonical);
        canonical.push(b':');
        let raw = *value;
        if is_canonical_token(raw) {
            canonical.extend_from_slice(raw.as_bytes());
        } else {
            write_canonical_text(raw, &mut canonical)?;
        }
    }
    canonical.push(b'}');
    Ok(digest_hex(&canonical))
}

/// True when `serde_json` would write the value of `raw` back as exactly `raw`.
fn is_canonical_token(raw: &str) -> bool {
    match raw.as_bytes() {
        [b'"', .., b'"'] => !raw.contains('\\'),
        b"true" | b"false" | b"null" => true,
        // Integers that fit an i64 and have no sign on zero; others (floats, exponents, huge numbers) are
        // rewritten by the parser.
        [b'-', b'1'..=b'9', rest @ ..] | [b'1'..=b'9', rest @ ..] => {
            rest.len() < 18 && rest.iter().all(u8::is_ascii_digit)
        }
        b"0" => true,
        _ => false,
    }
}

/// The first 128 bits of SHA-256 of `bytes`, in hex: short enough for keys, long enough never to collide by chance.
pub fn digest_hex(bytes: &[u8]) -> String {
    finish_digest_hex(Sha256::new_with_prefix(bytes))
}

/// [`digest_hex`] of bytes fed piece by piece into `hasher`.
pub fn finish_digest_hex(hasher: Sha256) -> String {
    let mut text = [0; 32];
    hex::encode_to_slice(&hasher.finalize()[..16], &mut text).expect("16 bytes are 32 hex digits");
    std::str::from_utf8(&text)
        .expect("hex digits are ASCII")
        .to_owned()
}

/// The first 128 bits of SHA-256 of `bytes` as a number: for sets of ids held in memory (16 bytes each).
pub fn digest_u128(bytes: &[u8]) -> u128 {
    let digest = Sha256::digest(bytes);
    u128::from_be_bytes(digest[..16].try_into().expect("SHA-256 has 32 bytes"))
}

/// Canonical JSON: object keys sorted bytewise at every level (explicitly, so it does not depend on how
/// `serde_json` stores maps), numbers and strings as `serde_json` writes them.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    write_json_value_sorted(value, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_spacing_do_not_change_the_id() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "a" : { "x":"s", "y":[1, 2] }, "b":1 }"#).unwrap();
        assert_eq!(from_canonical_json(&a), from_canonical_json(&b));
        assert_eq!(from_canonical_json(&a).len(), 32);
    }

    #[test]
    fn the_id_from_members_is_the_id_from_the_parsed_value() {
        let events = [
            r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#,
            r#"{ "z" : "plain", "a\u0062" : "esc\"aped", "m": "\u00e9", "n": "é" }"#,
            r#"{"i":0,"j":-7,"k":123456789012345678,"l":12345678901234567890,"f":1.50,"e":1e3,"mz":-0}"#,
            r#"{"t":true,"f":false,"n":null,"arr":[{"b":2,"a":1},"x",3.0],"o":{}}"#,
            r#"{"dup":"first","x":1,"dup":"second"}"#,
            r#"{}"#,
            r#"{"ctl":"tab\there","slash":"a\/b","big":-9223372036854775808}"#,
        ];
        // Nested deep, within the parser's limit.
        let deep_objects = format!(
            r#"{{"z":1,{}"x":1,"x":"\u0032"{}}}"#,
            r#""a":{"#.repeat(60),
            "}".repeat(60)
        );
        let deep_arrays = format!(
            r#"{{"z":1,"a":{}{{"b":1.0,"a":2}}{}}}"#,
            "[".repeat(60),
            "]".repeat(60)
        );
        for text in events
            .into_iter()
            .chain([deep_objects.as_str(), deep_arrays.as_str()])
        {
            let value: Value = serde_json::from_str(text).unwrap();
            let members = Members::parse(text).unwrap();
            assert_eq!(
                from_members(&members).unwrap(),
                from_canonical_json(&value),
                "{text}"
            );
        }
    }

    /// Random nested objects with keys given twice (in two spellings) in nested objects, escaped and plain strings,
    /// numbers the parser rewrites and spacing around keys, values and elements: the id from members is the id
    /// from the parsed value. Top-level keys are distinct, so the members are read one by one rather than parsed
    /// whole, as an event with a key given twice is.
    #[test]
    fn random_nested_events_get_the_id_of_their_parsed_value() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut text = String::new();
            random_object(&mut next, 4, true, &mut text);
            let value: Value = serde_json::from_str(&text).unwrap();
            let members = Members::parse(&text).unwrap();
            assert_eq!(
                from_members(&members).unwrap(),
                from_canonical_json(&value),
                "{text}"
            );
        }
    }

    fn random_object(next: &mut impl FnMut() -> u64, depth: usize, top: bool, out: &mut String) {
        const KEYS: &[&str] = &[
            r#""a""#,
            r#""b""#,
            r#""\u0061""#,
            r#""ab""#,
            r#""a b""#,
            r#""é""#,
            r#""\u00e9""#,
            r#""""#,
        ];
        const SPACES: &[&str] = &["", "", " ", "\n  "];
        out.push('{');
        for i in 0..next() % 6 {
            if i > 0 {
                out.push(',');
            }
            out.push_str(SPACES[next() as usize % SPACES.len()]);
            if top {
                out.push_str(&format!(r#""k{i}""#));
            } else {
                out.push_str(KEYS[next() as usize % KEYS.len()]);
            }
            out.push_str(SPACES[next() as usize % SPACES.len()]);
            out.push(':');
            out.push_str(SPACES[next() as usize % SPACES.len()]);
            random_value(next, depth, out);
            out.push_str(SPACES[next() as usize % SPACES.len()]);
        }
        out.push('}');
    }

    fn random_value(next: &mut impl FnMut() -> u64, depth: usize, out: &mut String) {
        const SCALARS: &[&str] = &[
            r#""plain""#,
            r#""esc\"aped""#,
            r#""\u00e9""#,
            r#""é""#,
            r#""tab\there""#,
            r#""a\/b""#,
            r#""""#,
            "0",
            "-7",
            "1.50",
            "1e3",
            "-0",
            "0.1e-2",
            "12345678901234567890",
            "-9223372036854775808",
            "123456789012345678",
            "true",
            "false",
            "null",
        ];
        let nests = if depth == 0 { 0 } else { 2 };
        match next() % (4 + nests) {
            4 => random_object(next, depth - 1, false, out),
            5 => {
                out.push('[');
                for i in 0..next() % 4 {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    random_value(next, depth - 1, out);
                }
                out.push(']');
            }
            _ => out.push_str(SCALARS[next() as usize % SCALARS.len()]),
        }
    }

    #[test]
    fn a_member_nested_past_the_parsers_limit_is_an_error_not_a_panic() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for text in [
            format!(r#"{{"a":"x","deep":{deep}}}"#),
            format!(r#"{{"a":"x","a":"y","deep":{deep}}}"#),
        ] {
            let members = Members::parse(&text).unwrap();
            assert!(from_members(&members).is_err(), "{text}");
        }
    }

    #[test]
    fn different_events_get_different_ids() {
        let a: Value = serde_json::from_str(r#"{"a":1}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":2}"#).unwrap();
        assert_ne!(from_canonical_json(&a), from_canonical_json(&b));
    }
}
