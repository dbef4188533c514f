//! The S3 key layout users build SIEM inputs on:
//! `<prefix>/vendor=<vendor>/event_type=<type>/dt=<YYYY-MM-DD>/hour=<HH>/<object-id>.ndjson.gz`.

use chrono::{DateTime, Timelike, Utc};

/// The `event_type` of records that could not be parsed or mapped.
pub const UNPARSED: &str = "_unparsed";

/// Where one object goes: vendor, event type and the UTC hour of its events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub vendor: &'static str,
    pub event_type: String,
    /// The hour, truncated: minutes, seconds and fractions are zero.
    pub hour: DateTime<Utc>,
}

impl Partition {
    pub fn new(vendor: &'static str, event_type: impl Into<String>, at: DateTime<Utc>) -> Self {
        // Sanitized here, not only in the key, so two types that sanitize alike share one partition (and one
        // object) instead of overwriting each other's object under the same key.
        Partition {
            vendor,
            event_type: sanitize(&event_type.into()),
            hour: truncate_to_hour(at),
        }
    }

    /// `vendor=<v>/event_type=<t>/dt=<YYYY-MM-DD>/hour=<HH>` (no prefix, no trailing slash).
    pub fn path(&self) -> String {
        format!(
            "vendor={}/event_type={}/dt={}/hour={:02}",
            self.vendor,
            self.event_type,
            self.hour.format("%Y-%m-%d"),
            self.hour.hour()
        )
    }

    /// The full object key for `object_id` under `prefix`.
    pub fn key(&self, prefix: &str, object_id: &str) -> String {
        let prefix = prefix.trim_matches('/');
        let object_id = sanitize(object_id);
        if prefix.is_empty() {
            format!("{}/{}.ndjson.gz", self.path(), object_id)
        } else {
            format!("{}/{}/{}.ndjson.gz", prefix, self.path(), object_id)
        }
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
    use chrono::TimeZone;

    #[test]
    fn keys_follow_the_landing_contract() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 44, 55).unwrap();
        let p = Partition::new("transmit", "cis", at);
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
    fn hours_before_1970_truncate_downwards() {
        let at = Utc.with_ymd_and_hms(1969, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(
            truncate_to_hour(at),
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap()
        );
    }
}
