//! The unit the writer rebuilds: one event hour of one vendor's event type, i.e. one landing partition
//! (`<prefix>/vendor=<v>/event_type=<t>/dt=<YYYY-MM-DD>/hour=<HH>/`). Every Parquet file is built from all the
//! objects of exactly one such partition, so an event (whose partition is fixed by its own time) reaches exactly one
//! file, whatever lands again or late.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour {
    pub vendor: String,
    pub event_type: String,
    pub day: NaiveDate,
    pub hour: u32,
}

impl Hour {
    /// The partition of a landed object's key, or `None` for a key that is not landed data (a poller's probe,
    /// multipart staging, anything outside the prefix).
    pub fn of_key(prefix: &str, key: &str) -> Option<Hour> {
        let rest = if prefix.is_empty() {
            key
        } else {
            key.strip_prefix(prefix)?.strip_prefix('/')?
        };
        let mut parts = rest.split('/');
        let vendor = parts.next()?.strip_prefix("vendor=")?;
        let event_type = parts.next()?.strip_prefix("event_type=")?;
        let day = parts.next()?.strip_prefix("dt=")?;
        let hour = parts.next()?.strip_prefix("hour=")?;
        let name = parts.next()?;
        let partition_only = name.is_empty() && parts.next().is_none();
        if !(partition_only || (name.ends_with(".ndjson.gz") && parts.next().is_none())) {
            return None;
        }
        let safe = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !safe(vendor) || !safe(event_type) || hour.len() != 2 {
            return None;
        }
        Some(Hour {
            vendor: vendor.to_owned(),
            event_type: event_type.to_owned(),
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
            hour: hour.parse().ok().filter(|h| *h < 24)?,
        })
    }

    /// The landing prefix holding this hour's objects.
    pub fn landing_prefix(&self, prefix: &str) -> String {
        let path = format!(
            "vendor={}/event_type={}/dt={}/hour={:02}/",
            self.vendor,
            self.event_type,
            self.day.format("%Y-%m-%d"),
            self.hour
        );
        if prefix.is_empty() {
            path
        } else {
            format!("{prefix}/{path}")
        }
    }

    /// The start of the hour, epoch milliseconds: the time of a line that names none.
    pub fn start_millis(&self) -> i64 {
        NaiveDateTime::new(
            self.day,
            NaiveTime::from_hms_opt(self.hour, 0, 0).expect("hour < 24"),
        )
        .and_utc()
        .timestamp_millis()
    }

    /// `<vendor>-<event_type>-<YYYYMMDD>-<HH>`: the name of this hour's file in each class.
    pub fn file_stem(&self) -> String {
        format!(
            "{}-{}-{}-{:02}",
            self.vendor,
            self.event_type.replace('_', "-"),
            self.day.format("%Y%m%d"),
            self.hour
        )
    }
}

impl std::fmt::Display for Hour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} {} {:02}h",
            self.vendor, self.event_type, self.day, self.hour
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_landed_key_names_its_hour_and_nothing_else_does() {
        let hour = Hour::of_key(
            "tributary",
            "tributary/vendor=lookout/event_type=smishing_alert/dt=2026-12-01/hour=07/x.ndjson.gz",
        )
        .unwrap();
        assert_eq!(hour.file_stem(), "lookout-smishing-alert-20261201-07");
        assert_eq!(
            hour.landing_prefix("tributary"),
            "tributary/vendor=lookout/event_type=smishing_alert/dt=2026-12-01/hour=07/"
        );
        assert_eq!(hour.start_millis(), 1_796_108_400_000);
        assert_eq!(
            Hour::of_key("tributary", &hour.landing_prefix("tributary")),
            Some(hour.clone())
        );
        assert_eq!(
            Hour::of_key(
                "",
                "vendor=lookout/event_type=smishing_alert/dt=2026-12-01/hour=07/x.ndjson.gz"
            ),
            Some(hour)
        );
        for key in [
            "tributary/vendor=transmit/_probe/cis",
            "tributary/vendor=transmit/_staging/abc",
            "other/vendor=transmit/event_type=cis/dt=2026-12-01/hour=07/x.ndjson.gz",
            "tributary/vendor=transmit/event_type=cis/dt=2026-12-01/hour=24/x.ndjson.gz",
            "tributary/vendor=transmit/event_type=cis/dt=2026-13-01/hour=07/x.ndjson.gz",
            "tributary/vendor=transmit/event_type=cis/dt=2026-12-01/hour=07/x.json",
            "tributary/vendor=Transmit/event_type=cis/dt=2026-12-01/hour=07/x.ndjson.gz",
        ] {
            assert_eq!(Hour::of_key("tributary", key), None, "{key}");
        }
    }
}
