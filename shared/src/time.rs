//! Reading vendor times, once for every vendor: one parser of date-time text and one reader of epoch numbers.
//!
//! Text: RFC 3339 as vendors write it — `2024-11-20T10:37:42.943Z`, any offset (`+02:00`, also `+0200` and
//! `+02`), fractional seconds of any length (digits past nanoseconds are dropped), `T`, `t` or a space between
//! date and time. Without a zone the time is read as UTC: EasySend writes `@timestamp` that way and its API speaks
//! UTC throughout, and the other vendors document UTC too.
//!
//! Numbers: seconds since the epoch, with milliseconds, microseconds and nanoseconds recognised by magnitude
//! (below 10^11 is seconds — 10^11 seconds is in the year 5138, while 10^11 milliseconds is 1973 — then each
//! further factor of 1000 is the next unit). A vendor that documents milliseconds is read with [`epoch_millis`].
//!
//! Every time is checked to fall in the years 0000–9999, so no vendor value can put a five-digit or negative year
//! into an object key.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Why a vendor time was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("{text:?} is not a date and time (expected RFC 3339, e.g. 2024-11-20T10:37:42.943Z): {problem}")]
    NotATime { text: String, problem: &'static str },
    #[error(
        "{value} is not a number of seconds, milliseconds, microseconds or nanoseconds since 1970"
    )]
    NotAnEpoch { value: String },
    #[error("{value} is outside the years 0000–9999")]
    OutOfRange { value: String },
}

/// The longest vendor text quoted in an error.
const QUOTED: usize = 64;

fn quoted(text: &str) -> String {
    text.chars().take(QUOTED).collect()
}

/// Reads a date-time string (see the module documentation for the forms accepted).
pub fn parse(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let trimmed = text.trim();
    let not_a_time = |problem| TimeError::NotATime {
        text: quoted(trimmed),
        problem,
    };
    let mut cursor = Cursor(trimmed.as_bytes());
    let year = cursor
        .digits(4)
        .ok_or_else(|| not_a_time("no four-digit year"))?;
    cursor
        .expect(b'-')
        .ok_or_else(|| not_a_time("no '-' after the year"))?;
    let month = cursor
        .digits(2)
        .ok_or_else(|| not_a_time("no two-digit month"))?;
    cursor
        .expect(b'-')
        .ok_or_else(|| not_a_time("no '-' after the month"))?;
    let day = cursor
        .digits(2)
        .ok_or_else(|| not_a_time("no two-digit day"))?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| not_a_time("no such day"))?;
    match cursor.next() {
        Some(b'T' | b't' | b' ') => {}
        _ => return Err(not_a_time("no 'T' or space between date and time")),
    }
    let hour = cursor
        .digits(2)
        .ok_or_else(|| not_a_time("no two-digit hour"))?;
    cursor
        .expect(b':')
        .ok_or_else(|| not_a_time("no ':' after the hour"))?;
    let minute = cursor
        .digits(2)
        .ok_or_else(|| not_a_time("no two-digit minute"))?;
    cursor
        .expect(b':')
        .ok_or_else(|| not_a_time("no ':' after the minute"))?;
    let second = cursor
        .digits(2)
        .ok_or_else(|| not_a_time("no two-digit second"))?;
    let mut nanos = 0;
    if cursor.peek() == Some(b'.') || cursor.peek() == Some(b',') {
        cursor.next();
        nanos = cursor
            .fraction()
            .ok_or_else(|| not_a_time("no digits after the decimal point"))?;
    }
    // A leap second (:60) is kept the way chrono represents it: the 59th second, past a billion nanoseconds.
    let time = match second {
        60 => NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos),
        _ => NaiveTime::from_hms_nano_opt(hour, minute, second, nanos),
    }
    .ok_or_else(|| not_a_time("no such time of day"))?;
    let local = NaiveDateTime::new(date, time);
    let offset = cursor
        .offset()
        .ok_or_else(|| not_a_time("an offset that is not Z, ±HH:MM, ±HHMM or ±HH"))?;
    if !cursor.0.is_empty() {
        return Err(not_a_time("text after the time"));
    }
    let at = match offset {
        None => local.and_utc(),
        Some(offset) => offset
            .from_local_datetime(&local)
            .single()
            .ok_or_else(|| not_a_time("no such time at that offset"))?
            .with_timezone(&Utc),
    };
    in_range(at, || quoted(trimmed))
}

/// Reads a number of seconds since the epoch, or of milliseconds, microseconds or nanoseconds, told apart by
/// magnitude (see the module documentation). Fractions are kept to the nanosecond as far as `f64` holds them.
pub fn epoch(value: f64) -> Result<DateTime<Utc>, TimeError> {
    if !value.is_finite() {
        return Err(TimeError::NotAnEpoch {
            value: value.to_string(),
        });
    }
    let magnitude = value.abs();
    let per_second = if magnitude < 1e11 {
        1.0
    } else if magnitude < 1e14 {
        1e3
    } else if magnitude < 1e17 {
        1e6
    } else {
        1e9
    };
    let seconds = value / per_second;
    // Beyond ±10^12 seconds (the year 33658) no unit can make it a four-digit year; checked before any cast.
    if seconds.abs() > 1e12 {
        return Err(TimeError::OutOfRange {
            value: value.to_string(),
        });
    }
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0) as u32;
    let at =
        DateTime::from_timestamp(whole as i64, nanos).ok_or_else(|| TimeError::OutOfRange {
            value: value.to_string(),
        })?;
    in_range(at, || value.to_string())
}

/// An integral epoch value (as a JSON integer or numeric text gives it), read exactly, units by magnitude as in
/// [`epoch`].
pub fn epoch_integer(value: i128) -> Result<DateTime<Utc>, TimeError> {
    let magnitude = value.unsigned_abs();
    let per_second: i128 = match magnitude {
        m if m < 100_000_000_000 => 1,
        m if m < 100_000_000_000_000 => 1_000,
        m if m < 100_000_000_000_000_000 => 1_000_000,
        _ => 1_000_000_000,
    };
    let out_of_range = || TimeError::OutOfRange {
        value: value.to_string(),
    };
    let seconds = i64::try_from(value.div_euclid(per_second)).map_err(|_| out_of_range())?;
    let nanos = (value.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32;
    let at = DateTime::from_timestamp(seconds, nanos).ok_or_else(out_of_range)?;
    in_range(at, || value.to_string())
}

/// A JSON number as an epoch time: integers exactly, others through [`epoch`].
pub fn epoch_number(number: &serde_json::Number) -> Result<DateTime<Utc>, TimeError> {
    if let Some(n) = number.as_i64() {
        return epoch_integer(n.into());
    }
    if let Some(n) = number.as_u64() {
        return epoch_integer(n.into());
    }
    epoch(number.as_f64().unwrap_or(f64::NAN))
}

/// Milliseconds since the epoch, for a vendor that documents them.
pub fn epoch_millis(millis: i64) -> Result<DateTime<Utc>, TimeError> {
    let at = DateTime::from_timestamp_millis(millis).ok_or_else(|| TimeError::OutOfRange {
        value: format!("{millis} ms"),
    })?;
    in_range(at, || format!("{millis} ms"))
}

fn in_range(at: DateTime<Utc>, value: impl FnOnce() -> String) -> Result<DateTime<Utc>, TimeError> {
    if (0..=9999).contains(&at.year()) {
        Ok(at)
    } else {
        Err(TimeError::OutOfRange { value: value() })
    }
}

/// Reads fixed fields off the front of a byte string.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn next(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let field = self.0.get(..n)?;
        if !field.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = &self.0[n..];
        Some(
            field
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    }

    /// One or more digits of a fraction of a second, as nanoseconds; digits past the ninth are dropped.
    fn fraction(&mut self) -> Option<u32> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        let mut nanos = 0;
        for i in 0..9 {
            nanos = nanos * 10 + digits.get(i).map_or(0, |d| u32::from(d - b'0'));
        }
        Some(nanos)
    }

    /// The zone: `None` when absent, `Some(offset)` for `Z` or a numeric offset; the outer `None` when malformed.
    fn offset(&mut self) -> Option<Option<FixedOffset>> {
        let sign = match self.peek() {
            None => return Some(None),
            Some(b'Z' | b'z') => {
                self.next();
                return Some(FixedOffset::east_opt(0));
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return None,
        };
        self.next();
        let hours = self.digits(2)?;
        let minutes = match self.peek() {
            None => 0,
            Some(b':') => {
                self.next();
                self.digits(2)?
            }
            Some(_) => self.digits(2)?,
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60) as i32).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn rfc3339_with_z_any_offset_and_any_fraction_is_read() {
        let cases = [
            ("2024-11-20T10:37:42Z", "2024-11-20T10:37:42Z"),
            ("2024-11-20t10:37:42z", "2024-11-20T10:37:42Z"),
            ("2024-11-20T12:37:42.5+02:00", "2024-11-20T10:37:42.5Z"),
            ("2024-11-20T05:07:42.943-05:30", "2024-11-20T10:37:42.943Z"),
            ("2024-11-20T12:37:42+0200", "2024-11-20T10:37:42Z"),
            ("2024-11-20T12:37:42+02", "2024-11-20T10:37:42Z"),
            ("2024-11-20 10:37:42.943305Z", "2024-11-20T10:37:42.943305Z"),
            (
                "2024-11-20T10:37:42.123456789Z",
                "2024-11-20T10:37:42.123456789Z",
            ),
            (
                "2024-11-20T10:37:42.1234567891234Z",
                "2024-11-20T10:37:42.123456789Z",
            ),
            ("2024-11-20T10:37:42,25Z", "2024-11-20T10:37:42.25Z"),
            ("  2024-11-20T10:37:42Z\n", "2024-11-20T10:37:42Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(at(expected)), "{text}");
        }
    }

    #[test]
    fn a_time_without_a_zone_is_utc() {
        assert_eq!(
            parse("2024-11-20T10:37:42.943305"),
            Ok(at("2024-11-20T10:37:42.943305Z"))
        );
        assert_eq!(parse("2024-11-20 10:37:42"), Ok(at("2024-11-20T10:37:42Z")));
    }

    #[test]
    fn text_that_is_not_a_full_date_and_time_is_rejected_saying_why() {
        for text in [
            "",
            "yesterday",
            "2024-11-20",
            "2024-11-20T10:37",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-11-20T24:00:00Z",
            "2024-11-20T10:37:42.Z",
            "2024-11-20T10:37:42+25:00",
            "2024-11-20T10:37:42 UTC",
            "2024-11-20T10:37:42Zjunk",
            "+58886-04-22T00:00:00Z",
            "24-11-20T10:37:42Z",
            "1732099062",
        ] {
            let error = parse(text).unwrap_err();
            assert!(
                matches!(error, TimeError::NotATime { .. }),
                "{text}: {error}"
            );
            assert!(error.to_string().contains("RFC 3339"), "{error}");
        }
    }

    #[test]
    fn offsets_cannot_carry_a_time_outside_the_four_digit_years() {
        assert!(matches!(
            parse("0000-01-01T00:30:00+01:00"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse("9999-12-31T23:30:00-01:00"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert_eq!(parse("0000-01-01T00:00:00Z").unwrap().year(), 0);
        assert_eq!(parse("9999-12-31T23:59:59Z").unwrap().year(), 9999);
    }

    #[test]
    fn epoch_units_are_told_apart_by_magnitude() {
        let expected = at("2026-11-23T10:00:00Z");
        for value in [
            1_795_428_000.0,
            1_795_428_000_000.0,
            1.795428e15,
            1.795428e18,
        ] {
            assert_eq!(epoch(value), Ok(expected), "{value}");
        }
        for value in [
            1_795_428_000i128,
            1_795_428_000_000,
            1_795_428_000_000_000,
            1_795_428_000_000_000_000,
        ] {
            assert_eq!(epoch_integer(value), Ok(expected), "{value}");
        }
        assert_eq!(epoch(1_638_316_800.5), Ok(at("2021-12-01T00:00:00.5Z")));
        assert_eq!(
            epoch_integer(1_795_428_000_123_456_789),
            Ok(at("2026-11-23T10:00:00.123456789Z"))
        );
        assert_eq!(epoch(-1.0), Ok(at("1969-12-31T23:59:59Z")));
        assert_eq!(epoch_integer(-1_500), Ok(at("1969-12-31T23:35:00Z")));
    }

    #[test]
    fn epoch_numbers_out_of_range_or_not_finite_are_rejected() {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(
                matches!(epoch(value), Err(TimeError::NotAnEpoch { .. })),
                "{value}"
            );
        }
        for value in [1e22, 1e300, -1e22, -9e10] {
            let error = epoch(value).unwrap_err();
            assert!(matches!(error, TimeError::OutOfRange { .. }), "{value}");
            assert!(error.to_string().contains("0000–9999"), "{error}");
        }
        for value in [10i128.pow(22), i128::MAX, i128::MIN, -90_000_000_000] {
            assert!(
                matches!(epoch_integer(value), Err(TimeError::OutOfRange { .. })),
                "{value}"
            );
        }
        // The HEC `time` that once became year 58886: milliseconds, now read as such.
        assert_eq!(epoch(1_795_428_000_000.0).unwrap().year(), 2026);
    }

    #[test]
    fn json_numbers_are_read_exactly_when_integral() {
        let n: serde_json::Number = "1795428000123456789".parse().unwrap();
        assert_eq!(epoch_number(&n), Ok(at("2026-11-23T10:00:00.123456789Z")));
        let n: serde_json::Number = "1638316800.25".parse().unwrap();
        assert_eq!(epoch_number(&n), Ok(at("2021-12-01T00:00:00.25Z")));
    }

    #[test]
    fn documented_milliseconds_stay_milliseconds() {
        assert_eq!(epoch_millis(1_000), Ok(at("1970-01-01T00:00:01Z")));
        assert!(matches!(
            epoch_millis(i64::MAX),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            epoch_millis(300_000_000_000_000),
            Err(TimeError::OutOfRange { .. })
        ));
    }
}
