//! The well-known types' special JSON forms, and the text forms of
//! timestamps, durations and field masks they share with parsing.

use serde::Serializer;
use serde::ser::{Error as _, SerializeMap};

use super::ser::{FieldJson, MessageJson, ScalarJson};
use crate::reflect::WellKnown;
use crate::reflect::raw::{self, Raw, Record, Scalar};

/// Prints a well-known type in its special form.
pub(super) fn serialize<S: Serializer>(
    message: &MessageJson<'_, '_>,
    kind: WellKnown,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let cx = message.cx;
    let info = &cx.pool.inner().messages[message.message];
    let records = raw::records(message.bytes).map_err(S::Error::custom)?;
    let run = |number: u32| -> Vec<Record<'_>> {
        let field = info.field_index(number).map(|i| &info.fields[i]);
        records
            .iter()
            .filter(|r| r.number == number && field.is_some_and(|f| raw::fits(f, &r.raw)))
            .copied()
            .collect()
    };
    let field = |number: u32| &info.fields[info.field_index(number).expect("well-known field")];
    match kind {
        WellKnown::Timestamp | WellKnown::Duration => {
            let seconds = last_varint(&run(1)) as i64;
            let nanos = last_varint(&run(2)) as i32;
            let text = if kind == WellKnown::Timestamp {
                format_timestamp(seconds, nanos)
            } else {
                format_duration(seconds, nanos)
            };
            serializer.serialize_str(&text.map_err(S::Error::custom)?)
        }
        WellKnown::FieldMask => {
            let mut joined = String::new();
            for value in raw::values(field(1).ty, &run(1)).map_err(S::Error::custom)? {
                let Scalar::Str(path) = value else { continue };
                let path = std::str::from_utf8(path).map_err(S::Error::custom)?;
                if !joined.is_empty() {
                    joined.push(',');
                }
                joined.push_str(&mask_path_to_json(path).map_err(S::Error::custom)?);
            }
            serializer.serialize_str(&joined)
        }
        // Struct is its map, ListValue its list, a wrapper its value.
        WellKnown::Struct | WellKnown::ListValue | WellKnown::Wrapper => {
            let run = run(1);
            let field = field(1);
            if run.is_empty() && kind == WellKnown::Wrapper {
                return super::ser::default_value(cx, field, serializer);
            }
            let field = FieldJson {
                cx,
                field,
                run: &run,
            };
            serde::Serialize::serialize(&field, serializer)
        }
        WellKnown::Value => {
            let Some(last) = records.iter().rev().find(|r| (1..=6).contains(&r.number)) else {
                return Err(S::Error::custom("a google.protobuf.Value has no kind set"));
            };
            let field = field(last.number);
            if !raw::fits(field, &last.raw) {
                return Err(S::Error::custom(
                    "a google.protobuf.Value has a malformed kind",
                ));
            }
            let value = raw::singular(field.ty, &run(last.number)).map_err(S::Error::custom)?;
            let value = match &value {
                raw::Singular::One(v) => *v,
                raw::Singular::Merged(b) => Scalar::Message(b),
            };
            if let Scalar::F64(v) = value
                && !v.is_finite()
            {
                return Err(S::Error::custom(
                    "a google.protobuf.Value number is NaN or infinite, which JSON cannot hold",
                ));
            }
            serde::Serialize::serialize(&ScalarJson { cx, field, value }, serializer)
        }
        WellKnown::Any => serialize_any(message, &run(1), &run(2), serializer),
    }
}

fn last_varint(run: &[Record<'_>]) -> u64 {
    match run.last().map(|r| r.raw) {
        Some(Raw::Varint(v)) => v,
        _ => 0,
    }
}

fn last_bytes<'a>(run: &[Record<'a>]) -> &'a [u8] {
    match run.last().map(|r| r.raw) {
        Some(Raw::Len(b)) => b,
        _ => b"",
    }
}

fn serialize_any<S: Serializer>(
    message: &MessageJson<'_, '_>,
    type_url: &[Record<'_>],
    value: &[Record<'_>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let type_url = std::str::from_utf8(last_bytes(type_url)).map_err(S::Error::custom)?;
    let value = last_bytes(value);
    let mut map = serializer.serialize_map(None)?;
    if type_url.is_empty() && value.is_empty() {
        return map.end();
    }
    let embedded =
        super::any_type(message.cx.options, message.cx.pool, type_url).map_err(S::Error::custom)?;
    map.serialize_entry("@type", type_url)?;
    // The type may come from another pool (a registry).
    let foreign;
    let cx = if embedded.pool().same(message.cx.pool) {
        message.cx
    } else {
        foreign = message.cx.with_pool(embedded.pool());
        &foreign
    };
    let inner = MessageJson {
        cx,
        message: embedded.index(),
        bytes: value,
    };
    if embedded.info().well_known.is_some() {
        map.serialize_entry("value", &inner)?;
    } else {
        inner.fields(&mut map)?;
    }
    map.end()
}

// ---- timestamps ----

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
pub(super) const MIN_TIMESTAMP: i64 = -62_135_596_800;
pub(super) const MAX_TIMESTAMP: i64 = 253_402_300_799;
pub(super) const MAX_DURATION: i64 = 315_576_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(super) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `.5`, `.500` style fractions: 0, 3, 6 or 9 digits, as the spec prints.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

/// RFC 3339 in UTC, `1972-01-01T10:00:20.021Z`.
pub(crate) fn format_timestamp(seconds: i64, nanos: i32) -> Result<String, String> {
    if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&seconds) {
        return Err(format!("timestamp seconds {seconds} out of range"));
    }
    if !(0..=999_999_999).contains(&nanos) {
        return Err(format!("timestamp nanos {nanos} out of range"));
    }
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        fraction(nanos as u32)
    ))
}

/// Parses RFC 3339 (`Z` or `±hh:mm` offset; up to nine fractional digits)
/// into seconds and nanos since the epoch.
pub(crate) fn parse_timestamp(text: &str) -> Result<(i64, i32), String> {
    let bad = || format!("`{text}` is not an RFC 3339 timestamp");
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = b.get(range).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 || len > 9 {
            return Err(bad());
        }
        nanos = frac[..len].parse::<u32>().map_err(|_| bad())? * 10u32.pow(9 - len as u32);
        rest = &frac[len..];
    }
    let offset = match rest {
        "Z" => 0,
        _ => {
            let o = rest.as_bytes();
            if o.len() != 6 || !(o[0] == b'+' || o[0] == b'-') || o[3] != b':' {
                return Err(bad());
            }
            let hours = rest[1..3].parse::<i64>().map_err(|_| bad())?;
            let minutes = rest[4..6].parse::<i64>().map_err(|_| bad())?;
            if !rest[1..3].bytes().all(|c| c.is_ascii_digit())
                || !rest[4..6].bytes().all(|c| c.is_ascii_digit())
                || hours > 23
                || minutes > 59
            {
                return Err(bad());
            }
            let sign = if o[0] == b'-' { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let leap = |y: u32| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let month_days = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > month_days[month as usize - 1]
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let seconds = days_from_civil(year.into(), month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset;
    if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&seconds) {
        return Err(format!("timestamp `{text}` out of range"));
    }
    Ok((seconds, nanos as i32))
}

// ---- durations ----

/// `1.000340012s`, `-0.5s`.
pub(crate) fn format_duration(seconds: i64, nanos: i32) -> Result<String, String> {
    if !(-MAX_DURATION..=MAX_DURATION).contains(&seconds) {
        return Err(format!("duration seconds {seconds} out of range"));
    }
    if !(-999_999_999..=999_999_999).contains(&nanos)
        || (seconds > 0 && nanos < 0)
        || (seconds < 0 && nanos > 0)
    {
        return Err(format!(
            "duration nanos {nanos} invalid for seconds {seconds}"
        ));
    }
    let sign = if seconds < 0 || nanos < 0 { "-" } else { "" };
    Ok(format!(
        "{sign}{}{}s",
        seconds.unsigned_abs(),
        fraction(nanos.unsigned_abs())
    ))
}

pub(crate) fn parse_duration(text: &str) -> Result<(i64, i32), String> {
    let bad = || format!("`{text}` is not a duration like \"1.5s\"");
    let body = text.strip_suffix('s').ok_or_else(bad)?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds: i64 = whole.parse().map_err(|_| bad())?;
    let mut nanos = 0i64;
    if let Some(frac) = frac {
        if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        nanos = frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - frac.len() as u32);
    }
    if seconds > MAX_DURATION {
        return Err(format!("duration `{text}` out of range"));
    }
    let sign = if negative { -1 } else { 1 };
    Ok((sign * seconds, (sign * nanos) as i32))
}

// ---- field masks ----

/// `foo_bar.baz` → `fooBar.baz`; an error when the JSON name would not
/// turn back into the same path.
pub(crate) fn mask_path_to_json(path: &str) -> Result<String, String> {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            if upper {
                return Err(format!("field mask path `{path}` has no JSON form"));
            }
            upper = true;
        } else if upper {
            if !c.is_ascii_lowercase() {
                return Err(format!("field mask path `{path}` has no JSON form"));
            }
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else if c.is_ascii_uppercase() {
            return Err(format!("field mask path `{path}` has no JSON form"));
        } else {
            out.push(c);
        }
    }
    if upper {
        return Err(format!("field mask path `{path}` has no JSON form"));
    }
    Ok(out)
}

/// `fooBar.baz` → `foo_bar.baz`.
pub(crate) fn mask_path_from_json(path: &str) -> Result<String, String> {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c == '_' {
            return Err(format!("field mask path `{path}` is not lowerCamelCase"));
        }
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_at_the_edges() {
        for (seconds, nanos, text) in [
            (0, 0, "1970-01-01T00:00:00Z"),
            (MIN_TIMESTAMP, 0, "0001-01-01T00:00:00Z"),
            (MAX_TIMESTAMP, 999_999_999, "9999-12-31T23:59:59.999999999Z"),
            (951_782_400, 10_000_000, "2000-02-29T00:00:00.010Z"),
            (-1, 1_000, "1969-12-31T23:59:59.000001Z"),
        ] {
            assert_eq!(format_timestamp(seconds, nanos).unwrap(), text);
            assert_eq!(parse_timestamp(text).unwrap(), (seconds, nanos));
        }
        assert_eq!(
            parse_timestamp("1970-01-01T08:00:01+08:00").unwrap(),
            (1, 0)
        );
        assert_eq!(
            parse_timestamp("1969-12-31T16:00:00-08:00").unwrap(),
            (0, 0)
        );
        for bad in [
            "1970-01-01T00:00:00z",
            "1970-01-01t00:00:00Z",
            "1970-01-01T00:00:00",
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "1970-02-30T00:00:00Z",
            "1970-01-01T00:00:00.Z",
            "1970-01-01T00:00:00.1234567890Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        assert!(format_timestamp(MAX_TIMESTAMP + 1, 0).is_err());
    }

    #[test]
    fn durations_round_trip() {
        for (seconds, nanos, text) in [
            (1, 340_012, "1.000340012s"),
            (0, -500_000_000, "-0.500s"),
            (-3, 0, "-3s"),
            (MAX_DURATION, 999_999_999, "315576000000.999999999s"),
        ] {
            assert_eq!(format_duration(seconds, nanos).unwrap(), text);
            assert_eq!(parse_duration(text).unwrap(), (seconds, nanos));
        }
        assert!(parse_duration("1").is_err());
        assert!(parse_duration("315576000001s").is_err());
        assert!(format_duration(1, -1).is_err());
    }

    #[test]
    fn field_mask_paths() {
        assert_eq!(
            mask_path_to_json("foo_bar.baz_qux").unwrap(),
            "fooBar.bazQux"
        );
        assert!(mask_path_to_json("fooBar").is_err());
        assert!(mask_path_to_json("foo_3_bar").is_err());
        assert_eq!(mask_path_from_json("fooBar.baz").unwrap(), "foo_bar.baz");
        assert!(mask_path_from_json("foo_bar").is_err());
    }
}
