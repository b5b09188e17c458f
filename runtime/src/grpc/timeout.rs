//! The `grpc-timeout` header: `1..=8` ASCII digits and a unit.

use std::time::Duration;

/// Parses a `grpc-timeout` value (`100m`, `5S`, …).
pub(crate) fn parse(value: &[u8]) -> Result<Duration, String> {
    let malformed = || {
        format!(
            "malformed grpc-timeout {:?}",
            String::from_utf8_lossy(value)
        )
    };
    let (&unit, digits) = value.split_last().ok_or_else(malformed)?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    let amount: u64 = std::str::from_utf8(digits)
        .map_err(|_| malformed())?
        .parse()
        .map_err(|_| malformed())?;
    Ok(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return Err(malformed()),
    })
}

/// The `grpc-timeout` header value for `timeout`.
pub(crate) fn header_value(timeout: Duration) -> http::HeaderValue {
    http::HeaderValue::from_str(&format(timeout)).expect("digits and a unit")
}

/// Formats `timeout` in the finest unit that fits in eight digits, rounding
/// up so a deadline is never shortened.
pub(crate) fn format(timeout: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    let units: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (scale, unit) in units {
        let amount = nanos.div_ceil(scale);
        if amount <= MAX {
            return format!("{amount}{unit}");
        }
    }
    format!("{MAX}H")
}

/// `at + delay`, or a point some thirty years on when that overflows (a
/// `Duration::MAX` timeout, a pushback of `u64::MAX` ms): never a panic.
pub(crate) fn later(at: tokio::time::Instant, delay: Duration) -> tokio::time::Instant {
    at.checked_add(delay)
        .unwrap_or_else(|| at + Duration::from_secs(30 * 365 * 24 * 3600))
}

/// [`later`] than now.
pub(crate) fn after(delay: Duration) -> tokio::time::Instant {
    later(tokio::time::Instant::now(), delay)
}

/// `seconds` as a `Duration`, saturating instead of panicking.
pub(crate) fn from_secs_f64(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse(b"2H").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse(b"3M").unwrap(), Duration::from_secs(180));
        assert_eq!(parse(b"4S").unwrap(), Duration::from_secs(4));
        assert_eq!(parse(b"5m").unwrap(), Duration::from_millis(5));
        assert_eq!(parse(b"6u").unwrap(), Duration::from_micros(6));
        assert_eq!(
            parse(b"99999999n").unwrap(),
            Duration::from_nanos(99_999_999)
        );
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            &b""[..],
            b"S",
            b"1",
            b"123456789S",
            b"-1S",
            b"1s",
            b"1.5S",
            b" 1S",
            b"1x",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn formats_within_eight_digits() {
        assert_eq!(format(Duration::from_millis(100)), "100000u");
        assert_eq!(format(Duration::from_nanos(5)), "5n");
        assert_eq!(format(Duration::from_secs(1)), "1000000u");
        assert_eq!(format(Duration::from_secs(3600 * 24)), "86400000m");
        assert_eq!(format(Duration::from_secs(u64::MAX)), "99999999H");
        for d in [
            Duration::from_millis(1234),
            Duration::from_secs(100_000),
            Duration::from_nanos(1),
        ] {
            assert!(parse(format(d).as_bytes()).unwrap() >= d);
        }
    }

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        let now = tokio::time::Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(365 * 24 * 3600));
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        assert_eq!(from_secs_f64(f64::INFINITY), Duration::MAX);
        assert_eq!(from_secs_f64(-1.0), Duration::ZERO);
        assert_eq!(from_secs_f64(1.5), Duration::from_millis(1500));
    }
}
