//! Stable event ids for vendors that send none: a digest of the event's canonical JSON (keys sorted at every
//! level, no insignificant white space), so the same event collected twice gets the same `event.id` whatever key
//! order or spacing the vendor used.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The id of an event without a vendor id: the first 128 bits of SHA-256 over its canonical JSON, in hex.
pub fn from_canonical_json(event: &Value) -> String {
    let mut canonical = Vec::with_capacity(256);
    write_canonical(event, &mut canonical);
    digest_hex(&canonical)
}

/// The first 128 bits of SHA-256 of `bytes`, in hex: short enough for keys, long enough never to collide by chance.
pub fn digest_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

/// The first 128 bits of SHA-256 of `bytes` as a number: for sets of ids held in memory (16 bytes each).
pub fn digest_u128(bytes: &[u8]) -> u128 {
    let digest = Sha256::digest(bytes);
    u128::from_be_bytes(digest[..16].try_into().expect("SHA-256 has 32 bytes"))
}

/// Canonical JSON: object keys sorted bytewise at every level (explicitly, so it does not depend on how
/// `serde_json` stores maps), numbers and strings as `serde_json` writes them.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
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
    fn different_events_get_different_ids() {
        let a: Value = serde_json::from_str(r#"{"a":1}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":2}"#).unwrap();
        assert_ne!(from_canonical_json(&a), from_canonical_json(&b));
    }
}
