//! The S3 key layout users build SIEM inputs on:
//! `<prefix>/vendor=<vendor>/event_type=<type>/dt=<YYYY-MM-DD>/hour=<HH>/<object-id>.ndjson.gz`.
//!
//! Every partition value is checked here, in one place, so that nothing a vendor sends can break a key:
//!
//! - A vendor's event type is lower-cased and must then match `[a-z0-9][a-z0-9_]{0,63}` ([`EventType`]). Names
//!   starting with `_` are reserved for Tributary (`_unparsed`, `_invalid`), so no vendor value can produce one.
//! - An event time outside the years 0000–9999 is clamped into range (before year 0: `0000-01-01` hour `00`;
//!   after 9999: `9999-12-31` hour `23`), so `dt=` is always exactly `YYYY-MM-DD`.
//! - A record whose event type or time does not fit lands under the fallback event type **`_invalid`**, with its
//!   hour clamped as above. The record itself is unchanged (its `event.dataset` and original event keep the
//!   vendor's value), so nothing is lost; the landing report counts it (`PartitionFallbacks`).
//! - No key exceeds S3's 1024 bytes: an object id that would make it longer is replaced by its digest.

use std::fmt;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use crate::event_id::digest_hex;

/// The `event_type` of records that could not be parsed or mapped.
pub const UNPARSED: &str = "_unparsed";

/// The fallback `event_type` of records whose own event type or time cannot be a partition value.
pub const INVALID: &str = "_invalid";

/// S3's limit on the length of a key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// An `event_type` partition value: a vendor's category that fits the safe pattern, or one of the reserved names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventType(String);

impl EventType {
    /// The longest vendor value accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The vendor's category, lower-cased, if it matches `[a-z0-9][a-z0-9_]{0,63}`. `None` for anything else,
    /// including every name starting with `_` (reserved) and anything with `/`, `.`, `=`, spaces or controls.
    pub fn from_vendor(raw: &str) -> Option<EventType> {
        // Checked before lower-casing so a hostile 2,000-character value costs no allocation.
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return None;
        }
        let lower = raw.to_ascii_lowercase();
        let mut bytes = lower.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        (first_ok && rest_ok).then_some(EventType(lower))
    }

    /// `_unparsed`: items that could not be parsed or mapped.
    pub fn unparsed() -> EventType {
        EventType(UNPARSED.to_owned())
    }

    /// `_invalid`: records whose event type or time cannot be a partition value.
    pub fn invalid() -> EventType {
        EventType(INVALID.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name only Tributary writes (`_unparsed`, `_invalid`).
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with('_')
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where one object goes: vendor, event type and the UTC hour of its events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub vendor: &'static str,
    pub event_type: EventType,
    /// The hour, truncated (minutes, seconds and fractions are zero) and within the years 0000–9999.
    pub hour: DateTime<Utc>,
}

impl Partition {
    /// Where an event of the vendor's `event_type` at `at` lands: its own partition, or `_invalid` (with the
    /// hour clamped into 0000–9999) when the type or the year cannot be a partition value.
    pub fn for_event(vendor: &'static str, event_type: &str, at: DateTime<Utc>) -> Partition {
        let (hour, in_range) = clamp_hour(at);
        let event_type = match EventType::from_vendor(event_type) {
            Some(valid) if in_range => valid,
            _ => EventType::invalid(),
        };
        Partition {
            vendor,
            event_type,
            hour,
        }
    }

    /// Where unparsed items ingested at `ingested` land.
    pub fn unparsed(vendor: &'static str, ingested: DateTime<Utc>) -> Partition {
        Partition {
            vendor,
            event_type: EventType::unparsed(),
            hour: clamp_hour(ingested).0,
        }
    }

    /// Whether this is the fallback partition of records that did not fit their own.
    pub fn is_fallback(&self) -> bool {
        self.event_type.as_str() == INVALID
    }

    pub fn is_unparsed(&self) -> bool {
        self.event_type.as_str() == UNPARSED
    }

    /// `vendor=<v>/event_type=<t>/dt=<YYYY-MM-DD>/hour=<HH>` (no prefix, no trailing slash).
    pub fn path(&self) -> String {
        // Formatted by hand: chrono's `%Y` writes `+10000` or `-0001` outside four digits; the clamp keeps the
        // year in range and this keeps the width fixed.
        format!(
            "vendor={}/event_type={}/dt={:04}-{:02}-{:02}/hour={:02}",
            self.vendor,
            self.event_type,
            self.hour.year(),
            self.hour.month(),
            self.hour.day(),
            self.hour.hour()
        )
    }

    /// The path under `prefix` of every partition of this one's vendor and event type, whatever the hour (without a
    /// trailing `/`). Their hours follow in time order, as S3 lists keys.
    pub fn lane_under(&self, prefix: &str) -> String {
        let path = self.path_under(prefix);
        let hours = path
            .rfind("/dt=")
            .expect("a partition's path ends with its hour");
        path[..hours].to_owned()
    }

    /// The partition's path under `prefix`, where its objects' keys begin (without a trailing `/`).
    pub fn path_under(&self, prefix: &str) -> String {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            self.path()
        } else {
            format!("{prefix}/{}", self.path())
        }
    }

    /// Where the keys of this partition's objects named `<tag>-...` begin: the prefix to list them by. (An object
    /// whose key would be too long is named by a digest instead, and is not under it.)
    pub fn names_under(&self, prefix: &str, tag: &str) -> String {
        format!("{}/{}-", self.path_under(prefix), sanitize(tag))
    }

    /// The full object key for `object_id` under `prefix`. An object id that would take the key past 1024 bytes
    /// is replaced by its digest, so the same id always gives the same key.
    pub fn key(&self, prefix: &str, object_id: &str) -> String {
        let head = self.path_under(prefix);
        let key = format!("{head}/{}.ndjson.gz", sanitize(object_id));
        if key.len() <= MAX_KEY_BYTES {
            return key;
        }
        format!("{head}/{}.ndjson.gz", digest_hex(object_id.as_bytes()))
    }
}

/// The hour of `at`, clamped into the years 0000–9999, and whether `at` was already in range.
fn clamp_hour(at: DateTime<Utc>) -> (DateTime<Utc>, bool) {
    if at.year() < 0 {
        (Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(), false)
    } else if at.year() > 9999 {
        (Utc.with_ymd_and_hms(9999, 12, 31, 23, 0, 0).unwrap(), false)
    } else {
        (truncate_to_hour(at), true)
    }
}

pub fn truncate_to_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp().div_euclid(3600) * 3600;
    DateTime::from_timestamp(seconds, 0).expect("an hour boundary of a valid time is valid")
}

/// Keeps keys safe for S3 notifications, URLs and Hive partitions: letters, digits, `.`, `_` and `-` stay;
/// everything else (`:`, spaces, `/`, `=`) becomes `_`.
pub fn sanitize(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, 1, 2, hour, 44, 55).unwrap()
    }

    #[test]
    fn keys_follow_the_landing_contract() {
        let p = Partition::for_event("transmit", "cis", at(2026, 3));
        assert_eq!(
            p.key("/events/", "cis-stream:1 a"),
            "events/vendor=transmit/event_type=cis/dt=2026-01-02/hour=03/cis-stream_1_a.ndjson.gz"
        );
        assert_eq!(
            p.key("", "x"),
            "vendor=transmit/event_type=cis/dt=2026-01-02/hour=03/x.ndjson.gz"
        );
    }

    #[test]
    fn vendor_types_are_lower_cased_and_bounded() {
        assert_eq!(EventType::from_vendor("CIS").unwrap().as_str(), "cis");
        assert_eq!(
            EventType::from_vendor("Smishing_Alert").unwrap().as_str(),
            "smishing_alert"
        );
        assert!(EventType::from_vendor("9lives").is_some());
        assert!(EventType::from_vendor(&"a".repeat(64)).is_some());
        assert!(EventType::from_vendor(&"a".repeat(65)).is_none());
        assert!(EventType::from_vendor(&"a".repeat(2000)).is_none());
    }

    #[test]
    fn unsafe_or_reserved_vendor_types_are_refused() {
        for hostile in [
            "",
            "_unparsed",
            "_invalid",
            "_x",
            "../x",
            "a/b",
            "a=b",
            "a.b",
            "a-b",
            "a b",
            "line\nbreak",
            "nul\0",
            "tab\t",
            "caf\u{e9}",
            "\u{130}",
        ] {
            assert!(
                EventType::from_vendor(hostile).is_none(),
                "{hostile:?} must not be a partition value"
            );
        }
    }

    #[test]
    fn a_type_that_does_not_fit_lands_under_the_fallback_in_its_own_hour() {
        let p = Partition::for_event("lookout", "../x", at(2026, 7));
        assert!(p.is_fallback());
        assert_eq!(
            p.path(),
            "vendor=lookout/event_type=_invalid/dt=2026-01-02/hour=07"
        );
        assert!(!Partition::for_event("lookout", "threat", at(2026, 7)).is_fallback());
    }

    #[test]
    fn years_outside_four_digits_are_clamped_under_the_fallback() {
        let late = Partition::for_event("strivacity", "audit", at(58886, 4));
        assert_eq!(
            late.path(),
            "vendor=strivacity/event_type=_invalid/dt=9999-12-31/hour=23"
        );
        let early = Partition::for_event("strivacity", "audit", at(-5, 4));
        assert_eq!(
            early.path(),
            "vendor=strivacity/event_type=_invalid/dt=0000-01-01/hour=00"
        );
        let edge = Partition::for_event("strivacity", "audit", at(9999, 4));
        assert_eq!(
            edge.path(),
            "vendor=strivacity/event_type=audit/dt=9999-01-02/hour=04"
        );
        let zero = Partition::for_event("strivacity", "audit", at(0, 4));
        assert_eq!(
            zero.path(),
            "vendor=strivacity/event_type=audit/dt=0000-01-02/hour=04"
        );
    }

    #[test]
    fn an_object_id_too_long_for_a_key_becomes_its_digest() {
        let p = Partition::for_event("easysend", "player", at(2026, 1));
        let long = "w".repeat(2000);
        let key = p.key("tributary", &long);
        assert!(key.len() <= MAX_KEY_BYTES, "{}", key.len());
        assert_eq!(key, p.key("tributary", &long), "deterministic");
        assert_ne!(key, p.key("tributary", &"v".repeat(2000)));
        let fits = "w".repeat(900);
        assert!(p
            .key("tributary", &fits)
            .ends_with(&format!("/{fits}.ndjson.gz")));
    }

    #[test]
    fn unparsed_items_have_their_own_reserved_partition() {
        let p = Partition::unparsed("lookout", at(2026, 5));
        assert!(p.is_unparsed() && !p.is_fallback() && p.event_type.is_reserved());
        assert_eq!(
            p.path(),
            "vendor=lookout/event_type=_unparsed/dt=2026-01-02/hour=05"
        );
    }

    #[test]
    fn a_lanes_hours_list_in_time_order_after_its_path() {
        let p = Partition::unparsed("easysend", at(2026, 5));
        assert_eq!(
            p.lane_under("/t/"),
            "t/vendor=easysend/event_type=_unparsed"
        );
        assert!(p.path_under("t").starts_with(&p.lane_under("t")));
        // Keys sort as hours do, which is what listing a lane from an hour on relies on.
        let hours = [at(2026, 9), at(2026, 10), at(2027, 0)];
        let paths: Vec<String> = hours
            .iter()
            .map(|h| Partition::unparsed("easysend", *h).path_under(""))
            .collect();
        assert!(paths.windows(2).all(|w| w[0] < w[1]), "{paths:?}");
    }

    #[test]
    fn a_tags_objects_are_listed_by_their_names_prefix() {
        let p = Partition::unparsed("strivacity", at(2026, 5));
        let under = p.names_under("t", "strivacity-hec a1");
        assert_eq!(
            under,
            "t/vendor=strivacity/event_type=_unparsed/dt=2026-01-02/hour=05/strivacity-hec_a1-"
        );
        assert!(p.key("t", "strivacity-hec a1-0f3e").starts_with(&under));
        // Another tag that begins with this one is not under it.
        assert!(!p.key("t", "strivacity-hec a12-0f3e").starts_with(&under));
    }

    #[test]
    fn hours_before_1970_truncate_downwards() {
        let at = Utc.with_ymd_and_hms(1969, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(
            truncate_to_hour(at),
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap()
        );
    }
}
