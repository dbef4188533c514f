//! Reading `Retry-After` without trusting it: whatever the value (huge, negative, not a number, a date far in
//! the future), the answer is a wait no longer than the configured maximum, "too long, give up", or "unreadable,
//! back off as usual". Nothing here can panic.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What a `Retry-After` value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long (never more than the maximum it was read against).
    Wait(Duration),
    /// The server asks for more than the maximum; the value as it was sent, for the error.
    TooLong(String),
    /// Not delay-seconds nor an HTTP date; the usual backoff applies.
    Unreadable,
}

/// Reads `value` (delay-seconds, also fractional, or an HTTP date) against `max` at `now`.
pub fn read_retry_after(value: &str, now: DateTime<Utc>, max: Duration) -> RetryAfter {
    let value = value.trim();
    let too_long = || RetryAfter::TooLong(value.chars().take(64).collect());
    if let Ok(seconds) = value.parse::<f64>() {
        // `f64` parsing also takes "inf", "NaN", "-5" and "1e20": only a finite, non-negative number is a delay.
        if seconds.is_nan() || seconds < 0.0 {
            return RetryAfter::Unreadable;
        }
        if seconds > max.as_secs_f64() {
            return too_long();
        }
        return match Duration::try_from_secs_f64(seconds) {
            Ok(wait) if wait <= max => RetryAfter::Wait(wait),
            _ => too_long(),
        };
    }
    let Ok(at) = DateTime::parse_from_rfc2822(value) else {
        return RetryAfter::Unreadable;
    };
    // A date in the past means "now"; one beyond the maximum is too long, however far.
    let wait = at.with_timezone(&Utc).signed_duration_since(now);
    match wait.to_std() {
        Err(_) => RetryAfter::Wait(Duration::ZERO),
        Ok(wait) if wait <= max => RetryAfter::Wait(wait),
        Ok(_) => too_long(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const MAX: Duration = Duration::from_secs(60);

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()
    }

    fn read(value: &str) -> RetryAfter {
        read_retry_after(value, now(), MAX)
    }

    #[test]
    fn delay_seconds_within_the_maximum_are_waited() {
        assert_eq!(read("3"), RetryAfter::Wait(Duration::from_secs(3)));
        assert_eq!(read(" 0 "), RetryAfter::Wait(Duration::ZERO));
        assert_eq!(read("1.5"), RetryAfter::Wait(Duration::from_millis(1500)));
        assert_eq!(read("60"), RetryAfter::Wait(MAX));
    }

    #[test]
    fn huge_values_are_too_long_not_panics() {
        for value in [
            "61",
            "1e20",
            "1e300",
            "inf",
            "+inf",
            "99999999999999999999999999",
        ] {
            assert!(matches!(read(value), RetryAfter::TooLong(_)), "{value}");
        }
        // Even against the largest maximum a setting can give.
        for value in ["1e20", "18446744073709551616", "inf"] {
            let read = read_retry_after(value, now(), Duration::MAX);
            assert!(
                matches!(read, RetryAfter::TooLong(_) | RetryAfter::Wait(_)),
                "{value}"
            );
        }
    }

    #[test]
    fn negative_nan_and_garbage_fall_back_to_backoff() {
        for value in ["-5", "-0.5", "NaN", "soon", "", "0x10", "12 seconds"] {
            assert_eq!(read(value), RetryAfter::Unreadable, "{value:?}");
        }
    }

    #[test]
    fn http_dates_count_from_now() {
        assert_eq!(
            read("Fri, 20 Nov 2026 09:00:30 GMT"),
            RetryAfter::Wait(Duration::from_secs(30))
        );
        assert_eq!(
            read("Fri, 20 Nov 2026 08:00:00 GMT"),
            RetryAfter::Wait(Duration::ZERO),
            "a date in the past means now"
        );
        assert!(matches!(
            read("Fri, 31 Dec 9999 23:59:59 GMT"),
            RetryAfter::TooLong(_)
        ));
    }

    #[test]
    fn too_long_keeps_the_value_short_for_the_error() {
        let long = "9".repeat(500);
        match read(&long) {
            RetryAfter::TooLong(shown) => assert_eq!(shown.len(), 64),
            other => panic!("{other:?}"),
        }
    }
}
