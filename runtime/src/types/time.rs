//! `google.protobuf.Timestamp` ↔ [`SystemTime`] and `google.protobuf.Duration`
//! ↔ [`std::time::Duration`], with the range checks the `.proto` files
//! specify.

use std::fmt;
use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use super::{Duration, Timestamp};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const MAX_NANOS: i32 = 999_999_999;

/// Splits a count of nanoseconds into seconds rounded toward negative
/// infinity and non-negative nanos, saturating at the ends of `i64`.
fn split_floor(total_nanos: i128) -> (i64, i32) {
    let seconds = total_nanos.div_euclid(NANOS_PER_SECOND);
    let nanos = total_nanos.rem_euclid(NANOS_PER_SECOND) as i32;
    match i64::try_from(seconds) {
        Ok(seconds) => (seconds, nanos),
        Err(_) if seconds > 0 => (i64::MAX, MAX_NANOS),
        Err(_) => (i64::MIN, 0),
    }
}

/// Splits a count of nanoseconds into seconds rounded toward zero and nanos
/// of the same sign, saturating at the ends of `i64`.
fn split_truncate(total_nanos: i128) -> (i64, i32) {
    let seconds = total_nanos / NANOS_PER_SECOND;
    let nanos = (total_nanos % NANOS_PER_SECOND) as i32;
    match i64::try_from(seconds) {
        Ok(seconds) => (seconds, nanos),
        Err(_) if seconds > 0 => (i64::MAX, MAX_NANOS),
        Err(_) => (i64::MIN, -MAX_NANOS),
    }
}

fn total_nanos(seconds: i64, nanos: i32) -> i128 {
    i128::from(seconds) * NANOS_PER_SECOND + i128::from(nanos)
}

impl Timestamp {
    /// The smallest legal `seconds`: 0001-01-01T00:00:00Z.
    ///
    /// ```
    /// use protocall::types::Timestamp;
    /// assert!(Timestamp::new(Timestamp::MIN_SECONDS, 0).is_valid());
    /// assert!(!Timestamp::new(Timestamp::MIN_SECONDS - 1, 999_999_999).is_valid());
    /// ```
    pub const MIN_SECONDS: i64 = -62_135_596_800;

    /// The largest legal `seconds`: 9999-12-31T23:59:59Z.
    ///
    /// ```
    /// use protocall::types::Timestamp;
    /// assert!(Timestamp::new(Timestamp::MAX_SECONDS, 999_999_999).is_valid());
    /// assert!(!Timestamp::new(Timestamp::MAX_SECONDS + 1, 0).is_valid());
    /// ```
    pub const MAX_SECONDS: i64 = 253_402_300_799;

    /// A timestamp of `seconds` since the Unix epoch plus `nanos`, stored as
    /// given (see [`Timestamp::normalize`] and [`Timestamp::is_valid`]).
    ///
    /// ```
    /// use protocall::types::Timestamp;
    /// let t = Timestamp::new(1_700_000_000, 5);
    /// assert_eq!((t.seconds, t.nanos), (1_700_000_000, 5));
    /// ```
    pub fn new(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp {
            seconds,
            nanos,
            ..Default::default()
        }
    }

    /// The current time, from [`SystemTime::now`].
    ///
    /// ```
    /// use protocall::types::Timestamp;
    /// let now = Timestamp::now();
    /// assert!(now.is_valid());
    /// assert!(now.seconds > 1_600_000_000);
    /// ```
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// True when `seconds` lies in
    /// [`MIN_SECONDS`](Timestamp::MIN_SECONDS)`..=`[`MAX_SECONDS`](Timestamp::MAX_SECONDS)
    /// and `nanos` in `0..=999_999_999`, as `timestamp.proto` requires.
    ///
    /// ```
    /// use protocall::types::Timestamp;
    /// assert!(Timestamp::new(-1, 999_999_999).is_valid());
    /// assert!(!Timestamp::new(0, -1).is_valid());
    /// assert!(!Timestamp::new(0, 1_000_000_000).is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.check().is_ok()
    }

    fn check(&self) -> Result<(), TimestampError> {
        if !(Timestamp::MIN_SECONDS..=Timestamp::MAX_SECONDS).contains(&self.seconds) {
            return Err(TimestampError::SecondsOutOfRange(self.seconds));
        }
        if !(0..=MAX_NANOS).contains(&self.nanos) {
            return Err(TimestampError::NanosOutOfRange(self.nanos));
        }
        Ok(())
    }

    /// Carries `nanos` into `seconds` so that `nanos` ends up in
    /// `0..=999_999_999`, keeping the instant the same (before the epoch,
    /// `seconds` is negative and `nanos` still counts forward).
    ///
    /// Only the representation changes: a timestamp outside the years
    /// 1–9999 stays outside them. Should `seconds` overflow `i64`, the
    /// result saturates at the nearest end.
    ///
    /// ```
    /// use protocall::types::Timestamp;
    /// let mut t = Timestamp::new(10, -1);
    /// t.normalize();
    /// assert_eq!((t.seconds, t.nanos), (9, 999_999_999));
    ///
    /// let mut t = Timestamp::new(0, 1_500_000_000);
    /// t.normalize();
    /// assert_eq!((t.seconds, t.nanos), (1, 500_000_000));
    /// ```
    pub fn normalize(&mut self) {
        (self.seconds, self.nanos) = split_floor(total_nanos(self.seconds, self.nanos));
    }
}

/// Converts a [`SystemTime`] exactly, down to the nanosecond.
///
/// A time outside the years 1–9999 still converts, but the result is not
/// [valid](Timestamp::is_valid) and converting it back fails.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use protocall::types::Timestamp;
///
/// let t = Timestamp::from(UNIX_EPOCH + Duration::new(1_700_000_000, 5));
/// assert_eq!((t.seconds, t.nanos), (1_700_000_000, 5));
///
/// // Before the epoch, seconds go negative and nanos still count forward.
/// let t = Timestamp::from(UNIX_EPOCH - Duration::from_millis(1_500));
/// assert_eq!((t.seconds, t.nanos), (-2, 500_000_000));
/// ```
impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        let total = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        let (seconds, nanos) = split_floor(total);
        Timestamp::new(seconds, nanos)
    }
}

/// Converts a valid timestamp; see [`TimestampError`] for the failures.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use protocall::types::{Timestamp, TimestampError};
///
/// let time = SystemTime::try_from(Timestamp::new(-2, 500_000_000)).unwrap();
/// assert_eq!(time, UNIX_EPOCH - Duration::from_millis(1_500));
///
/// let err = SystemTime::try_from(Timestamp::new(0, -1)).unwrap_err();
/// assert_eq!(err, TimestampError::NanosOutOfRange(-1));
/// ```
impl TryFrom<Timestamp> for SystemTime {
    type Error = TimestampError;

    fn try_from(timestamp: Timestamp) -> Result<SystemTime, TimestampError> {
        SystemTime::try_from(&timestamp)
    }
}

/// Converts a valid timestamp by reference; see [`TimestampError`] for the
/// failures.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use protocall::types::{Timestamp, TimestampError};
///
/// let t = Timestamp::new(1_700_000_000, 5);
/// assert_eq!(SystemTime::try_from(&t), Ok(UNIX_EPOCH + Duration::new(1_700_000_000, 5)));
///
/// let too_late = Timestamp::new(Timestamp::MAX_SECONDS + 1, 0);
/// assert_eq!(
///     SystemTime::try_from(&too_late),
///     Err(TimestampError::SecondsOutOfRange(253_402_300_800)),
/// );
/// ```
impl TryFrom<&Timestamp> for SystemTime {
    type Error = TimestampError;

    fn try_from(timestamp: &Timestamp) -> Result<SystemTime, TimestampError> {
        timestamp.check()?;
        let whole = if timestamp.seconds >= 0 {
            UNIX_EPOCH.checked_add(StdDuration::from_secs(timestamp.seconds.unsigned_abs()))
        } else {
            UNIX_EPOCH.checked_sub(StdDuration::from_secs(timestamp.seconds.unsigned_abs()))
        };
        // `check` guarantees 0 <= nanos < 1e9.
        let fraction = StdDuration::from_nanos(timestamp.nanos.unsigned_abs().into());
        whole
            .and_then(|time| time.checked_add(fraction))
            .ok_or(TimestampError::NotRepresentable {
                seconds: timestamp.seconds,
                nanos: timestamp.nanos,
            })
    }
}

/// Why a [`Timestamp`] could not be converted to a [`SystemTime`].
///
/// ```
/// use std::time::SystemTime;
/// use protocall::types::{Timestamp, TimestampError};
///
/// let err = SystemTime::try_from(Timestamp::new(Timestamp::MIN_SECONDS - 1, 0)).unwrap_err();
/// assert_eq!(err, TimestampError::SecondsOutOfRange(-62_135_596_801));
/// assert!(err.to_string().contains("0001-01-01T00:00:00Z"), "{err}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampError {
    /// `seconds` lies outside
    /// [`MIN_SECONDS`](Timestamp::MIN_SECONDS)`..=`[`MAX_SECONDS`](Timestamp::MAX_SECONDS)
    /// (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z).
    SecondsOutOfRange(i64),
    /// `nanos` lies outside `0..=999_999_999`.
    NanosOutOfRange(i32),
    /// The timestamp is valid, but this platform's [`SystemTime`] cannot
    /// hold it (e.g. Windows starts at the year 1601).
    NotRepresentable {
        /// The timestamp's `seconds`.
        seconds: i64,
        /// The timestamp's `nanos`.
        nanos: i32,
    },
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampError::SecondsOutOfRange(seconds) => write!(
                f,
                "timestamp seconds {seconds} out of range: must be from {} \
                 (0001-01-01T00:00:00Z) to {} (9999-12-31T23:59:59Z)",
                Timestamp::MIN_SECONDS,
                Timestamp::MAX_SECONDS,
            ),
            TimestampError::NanosOutOfRange(nanos) => write!(
                f,
                "timestamp nanos {nanos} out of range: must be from 0 to {MAX_NANOS}"
            ),
            TimestampError::NotRepresentable { seconds, nanos } => write!(
                f,
                "timestamp {seconds}s {nanos}ns cannot be represented as a SystemTime on this platform"
            ),
        }
    }
}

impl std::error::Error for TimestampError {}

impl Duration {
    /// The largest legal `seconds`, about 10,000 years.
    ///
    /// ```
    /// use protocall::types::Duration;
    /// assert!(Duration::new(Duration::MAX_SECONDS, 999_999_999).is_valid());
    /// assert!(!Duration::new(Duration::MAX_SECONDS + 1, 0).is_valid());
    /// ```
    pub const MAX_SECONDS: i64 = 315_576_000_000;

    /// The smallest legal `seconds`, `-MAX_SECONDS`.
    ///
    /// ```
    /// use protocall::types::Duration;
    /// assert!(Duration::new(Duration::MIN_SECONDS, -999_999_999).is_valid());
    /// assert!(!Duration::new(Duration::MIN_SECONDS - 1, 0).is_valid());
    /// ```
    pub const MIN_SECONDS: i64 = -Duration::MAX_SECONDS;

    /// A duration of `seconds` plus `nanos`, stored as given (see
    /// [`Duration::normalize`] and [`Duration::is_valid`]).
    ///
    /// ```
    /// use protocall::types::Duration;
    /// let d = Duration::new(-3, -500);
    /// assert_eq!((d.seconds, d.nanos), (-3, -500));
    /// ```
    pub fn new(seconds: i64, nanos: i32) -> Duration {
        Duration {
            seconds,
            nanos,
            ..Default::default()
        }
    }

    /// True when the duration obeys `duration.proto`: `seconds` in
    /// [`MIN_SECONDS`](Duration::MIN_SECONDS)`..=`[`MAX_SECONDS`](Duration::MAX_SECONDS),
    /// `nanos` in `-999_999_999..=999_999_999`, and a non-zero `nanos` of
    /// the same sign as a non-zero `seconds`.
    ///
    /// ```
    /// use protocall::types::Duration;
    /// assert!(Duration::new(-1, -5).is_valid());
    /// assert!(Duration::new(0, -5).is_valid());
    /// assert!(!Duration::new(1, -5).is_valid());
    /// assert!(!Duration::new(0, 1_000_000_000).is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.check().is_ok()
    }

    fn check(&self) -> Result<(), DurationError> {
        if !(Duration::MIN_SECONDS..=Duration::MAX_SECONDS).contains(&self.seconds) {
            return Err(DurationError::SecondsOutOfRange(self.seconds));
        }
        if !(-MAX_NANOS..=MAX_NANOS).contains(&self.nanos) {
            return Err(DurationError::NanosOutOfRange(self.nanos));
        }
        if (self.seconds > 0 && self.nanos < 0) || (self.seconds < 0 && self.nanos > 0) {
            return Err(DurationError::InconsistentSign {
                seconds: self.seconds,
                nanos: self.nanos,
            });
        }
        Ok(())
    }

    /// Carries `nanos` into `seconds` so that `nanos` ends up in
    /// `-999_999_999..=999_999_999` with the sign of `seconds`, keeping the
    /// length the same.
    ///
    /// Only the representation changes: a duration longer than
    /// [`MAX_SECONDS`](Duration::MAX_SECONDS) stays too long. Should
    /// `seconds` overflow `i64`, the result saturates at the nearest end.
    ///
    /// ```
    /// use protocall::types::Duration;
    /// let mut d = Duration::new(1, -1);
    /// d.normalize();
    /// assert_eq!((d.seconds, d.nanos), (0, 999_999_999));
    ///
    /// let mut d = Duration::new(-1, -1_500_000_000);
    /// d.normalize();
    /// assert_eq!((d.seconds, d.nanos), (-2, -500_000_000));
    /// ```
    pub fn normalize(&mut self) {
        (self.seconds, self.nanos) = split_truncate(total_nanos(self.seconds, self.nanos));
    }
}

/// Converts a [`std::time::Duration`] of at most
/// [`Duration::MAX_SECONDS`] whole seconds; longer ones fail with
/// [`DurationError::TooLong`].
///
/// ```
/// use protocall::types::{Duration, DurationError};
///
/// let d = Duration::try_from(std::time::Duration::from_millis(1_500)).unwrap();
/// assert_eq!((d.seconds, d.nanos), (1, 500_000_000));
///
/// let long = std::time::Duration::from_secs(315_576_000_001);
/// assert_eq!(Duration::try_from(long), Err(DurationError::TooLong(long)));
/// ```
impl TryFrom<StdDuration> for Duration {
    type Error = DurationError;

    fn try_from(duration: StdDuration) -> Result<Duration, DurationError> {
        match i64::try_from(duration.as_secs()) {
            Ok(seconds) if seconds <= Duration::MAX_SECONDS => {
                // subsec_nanos is below 1e9, so it fits in i32.
                Ok(Duration::new(seconds, duration.subsec_nanos() as i32))
            }
            _ => Err(DurationError::TooLong(duration)),
        }
    }
}

/// Converts a valid, non-negative duration; see [`DurationError`] for the
/// failures.
///
/// ```
/// use protocall::types::{Duration, DurationError};
///
/// let d = std::time::Duration::try_from(Duration::new(1, 500_000_000)).unwrap();
/// assert_eq!(d, std::time::Duration::from_millis(1_500));
///
/// let err = std::time::Duration::try_from(Duration::new(-1, 0)).unwrap_err();
/// assert_eq!(err, DurationError::Negative { seconds: -1, nanos: 0 });
/// ```
impl TryFrom<Duration> for StdDuration {
    type Error = DurationError;

    fn try_from(duration: Duration) -> Result<StdDuration, DurationError> {
        StdDuration::try_from(&duration)
    }
}

/// Converts a valid, non-negative duration by reference; see
/// [`DurationError`] for the failures.
///
/// ```
/// use protocall::types::{Duration, DurationError};
///
/// let d = Duration::new(3, 1);
/// assert_eq!(std::time::Duration::try_from(&d), Ok(std::time::Duration::new(3, 1)));
///
/// let mixed = Duration::new(3, -1);
/// assert_eq!(
///     std::time::Duration::try_from(&mixed),
///     Err(DurationError::InconsistentSign { seconds: 3, nanos: -1 }),
/// );
/// ```
impl TryFrom<&Duration> for StdDuration {
    type Error = DurationError;

    fn try_from(duration: &Duration) -> Result<StdDuration, DurationError> {
        duration.check()?;
        if duration.seconds < 0 || duration.nanos < 0 {
            return Err(DurationError::Negative {
                seconds: duration.seconds,
                nanos: duration.nanos,
            });
        }
        // Both are non-negative and nanos is below 1e9, so nothing carries.
        Ok(StdDuration::new(
            duration.seconds.unsigned_abs(),
            duration.nanos.unsigned_abs(),
        ))
    }
}

/// Why a duration could not be converted between `google.protobuf.Duration`
/// and [`std::time::Duration`].
///
/// ```
/// use protocall::types::{Duration, DurationError};
///
/// let err = std::time::Duration::try_from(Duration::new(0, -1)).unwrap_err();
/// assert_eq!(err, DurationError::Negative { seconds: 0, nanos: -1 });
/// assert_eq!(err.to_string(), "duration 0s -1ns is negative: std::time::Duration cannot hold it");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// `seconds` lies outside
    /// [`MIN_SECONDS`](Duration::MIN_SECONDS)`..=`[`MAX_SECONDS`](Duration::MAX_SECONDS).
    SecondsOutOfRange(i64),
    /// `nanos` lies outside `-999_999_999..=999_999_999`.
    NanosOutOfRange(i32),
    /// `seconds` and `nanos` are both non-zero and of opposite signs.
    InconsistentSign {
        /// The duration's `seconds`.
        seconds: i64,
        /// The duration's `nanos`.
        nanos: i32,
    },
    /// The duration is valid but negative, which [`std::time::Duration`]
    /// cannot hold.
    Negative {
        /// The duration's `seconds`.
        seconds: i64,
        /// The duration's `nanos`.
        nanos: i32,
    },
    /// The [`std::time::Duration`] is longer than
    /// [`Duration::MAX_SECONDS`] seconds (plus a fraction).
    TooLong(StdDuration),
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::SecondsOutOfRange(seconds) => write!(
                f,
                "duration seconds {seconds} out of range: must be from {} to {}",
                Duration::MIN_SECONDS,
                Duration::MAX_SECONDS,
            ),
            DurationError::NanosOutOfRange(nanos) => write!(
                f,
                "duration nanos {nanos} out of range: must be from -{MAX_NANOS} to {MAX_NANOS}"
            ),
            DurationError::InconsistentSign { seconds, nanos } => write!(
                f,
                "duration {seconds}s {nanos}ns is invalid: seconds and nanos must have the same sign"
            ),
            DurationError::Negative { seconds, nanos } => write!(
                f,
                "duration {seconds}s {nanos}ns is negative: std::time::Duration cannot hold it"
            ),
            DurationError::TooLong(duration) => write!(
                f,
                "duration of {}s {}ns is too long: google.protobuf.Duration holds at most {}s",
                duration.as_secs(),
                duration.subsec_nanos(),
                Duration::MAX_SECONDS,
            ),
        }
    }
}

impl std::error::Error for DurationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp::new(seconds, nanos)
    }

    fn dur(seconds: i64, nanos: i32) -> Duration {
        Duration::new(seconds, nanos)
    }

    #[test]
    fn timestamp_epoch_and_after() {
        assert_eq!(Timestamp::from(UNIX_EPOCH), ts(0, 0));
        let time = UNIX_EPOCH + StdDuration::new(1_700_000_000, 123_456_789);
        let t = Timestamp::from(time);
        assert_eq!(t, ts(1_700_000_000, 123_456_789));
        assert_eq!(SystemTime::try_from(&t), Ok(time));
        assert_eq!(SystemTime::try_from(t), Ok(time));
    }

    #[test]
    fn timestamp_before_epoch() {
        // 1ns before the epoch.
        let time = UNIX_EPOCH - StdDuration::from_nanos(1);
        let t = Timestamp::from(time);
        assert_eq!(t, ts(-1, 999_999_999));
        assert_eq!(SystemTime::try_from(&t), Ok(time));

        // Exactly 1s before: nanos stay zero.
        let time = UNIX_EPOCH - StdDuration::from_secs(1);
        assert_eq!(Timestamp::from(time), ts(-1, 0));
        assert_eq!(SystemTime::try_from(ts(-1, 0)), Ok(time));

        // 1.25s before.
        let time = UNIX_EPOCH - StdDuration::from_millis(1_250);
        assert_eq!(Timestamp::from(time), ts(-2, 750_000_000));
        assert_eq!(SystemTime::try_from(ts(-2, 750_000_000)), Ok(time));
    }

    #[test]
    fn timestamp_seconds_edges() {
        for t in [
            ts(Timestamp::MIN_SECONDS, 0),
            ts(Timestamp::MAX_SECONDS, 999_999_999),
        ] {
            assert!(t.is_valid(), "{t:?}");
            // Unix platforms hold every valid timestamp.
            #[cfg(unix)]
            {
                let time = SystemTime::try_from(&t).unwrap();
                assert_eq!(Timestamp::from(time), t);
            }
        }
        assert_eq!(
            SystemTime::try_from(ts(Timestamp::MIN_SECONDS - 1, 999_999_999)),
            Err(TimestampError::SecondsOutOfRange(-62_135_596_801))
        );
        assert_eq!(
            SystemTime::try_from(ts(Timestamp::MAX_SECONDS + 1, 0)),
            Err(TimestampError::SecondsOutOfRange(253_402_300_800))
        );
        assert_eq!(
            SystemTime::try_from(ts(i64::MIN, 0)),
            Err(TimestampError::SecondsOutOfRange(i64::MIN))
        );
        assert_eq!(
            SystemTime::try_from(ts(i64::MAX, 0)),
            Err(TimestampError::SecondsOutOfRange(i64::MAX))
        );
    }

    #[test]
    fn timestamp_nanos_edges() {
        assert!(SystemTime::try_from(ts(0, 0)).is_ok());
        assert!(SystemTime::try_from(ts(0, 999_999_999)).is_ok());
        assert_eq!(
            SystemTime::try_from(ts(0, -1)),
            Err(TimestampError::NanosOutOfRange(-1))
        );
        assert_eq!(
            SystemTime::try_from(ts(0, 1_000_000_000)),
            Err(TimestampError::NanosOutOfRange(1_000_000_000))
        );
        assert_eq!(
            SystemTime::try_from(ts(-5, i32::MIN)),
            Err(TimestampError::NanosOutOfRange(i32::MIN))
        );
    }

    #[test]
    fn system_time_outside_proto_range_converts_but_is_invalid() {
        let year_10000 = UNIX_EPOCH + StdDuration::from_secs(253_402_300_800);
        let t = Timestamp::from(year_10000);
        assert_eq!(t, ts(253_402_300_800, 0));
        assert!(!t.is_valid());
        assert!(SystemTime::try_from(t).is_err());
    }

    #[test]
    fn system_time_extremes_do_not_panic() {
        // The ends of SystemTime on this platform, found by probing.
        let far = [
            StdDuration::new(u64::MAX, 999_999_999),
            StdDuration::new(i64::MAX as u64, 999_999_999),
            StdDuration::from_secs(1 << 63),
            StdDuration::from_secs(i64::MAX as u64),
        ];
        for d in far {
            if let Some(time) = UNIX_EPOCH.checked_add(d) {
                let t = Timestamp::from(time);
                assert!(t.seconds > 0 && (0..=MAX_NANOS).contains(&t.nanos));
            }
            if let Some(time) = UNIX_EPOCH.checked_sub(d) {
                let t = Timestamp::from(time);
                assert!(t.seconds < 0 && (0..=MAX_NANOS).contains(&t.nanos));
            }
        }
    }

    #[test]
    fn timestamp_normalize() {
        let cases = [
            ((0, 0), (0, 0)),
            ((0, -1), (-1, 999_999_999)),
            ((-1, -1_000_000_000), (-2, 0)),
            ((5, 1_000_000_000), (6, 0)),
            ((5, i32::MAX), (7, 147_483_647)),
            ((5, i32::MIN), (2, 852_516_352)),
            ((i64::MAX, 999_999_999), (i64::MAX, 999_999_999)),
            ((i64::MAX, 1_000_000_000), (i64::MAX, 999_999_999)),
            ((i64::MIN, -1), (i64::MIN, 0)),
            ((i64::MIN, 5), (i64::MIN, 5)),
        ];
        for ((seconds, nanos), want) in cases {
            let mut t = ts(seconds, nanos);
            t.normalize();
            assert_eq!((t.seconds, t.nanos), want, "normalize({seconds}, {nanos})");
        }
    }

    #[test]
    fn timestamp_error_display() {
        let msg = TimestampError::SecondsOutOfRange(-62_135_596_801).to_string();
        assert!(msg.contains("-62135596801"), "{msg}");
        assert!(
            msg.contains("-62135596800") && msg.contains("253402300799"),
            "{msg}"
        );
        let msg = TimestampError::NanosOutOfRange(-1).to_string();
        assert_eq!(
            msg,
            "timestamp nanos -1 out of range: must be from 0 to 999999999"
        );
        let err: Box<dyn std::error::Error> = Box::new(TimestampError::NotRepresentable {
            seconds: 1,
            nanos: 2,
        });
        assert!(err.to_string().contains("1s 2ns"));
    }

    #[test]
    fn duration_from_std() {
        assert_eq!(Duration::try_from(StdDuration::ZERO), Ok(dur(0, 0)));
        assert_eq!(Duration::try_from(StdDuration::new(7, 9)), Ok(dur(7, 9)));
        let max = StdDuration::new(315_576_000_000, 999_999_999);
        assert_eq!(
            Duration::try_from(max),
            Ok(dur(Duration::MAX_SECONDS, 999_999_999))
        );
        let over = StdDuration::from_secs(315_576_000_001);
        assert_eq!(Duration::try_from(over), Err(DurationError::TooLong(over)));
        assert_eq!(
            Duration::try_from(StdDuration::MAX),
            Err(DurationError::TooLong(StdDuration::MAX))
        );
        let huge = StdDuration::from_secs(1 << 63);
        assert_eq!(Duration::try_from(huge), Err(DurationError::TooLong(huge)));
    }

    #[test]
    fn duration_to_std() {
        assert_eq!(StdDuration::try_from(dur(0, 0)), Ok(StdDuration::ZERO));
        assert_eq!(
            StdDuration::try_from(dur(0, 1)),
            Ok(StdDuration::from_nanos(1))
        );
        assert_eq!(
            StdDuration::try_from(dur(2, 999_999_999)),
            Ok(StdDuration::new(2, 999_999_999))
        );
        assert_eq!(
            StdDuration::try_from(dur(Duration::MAX_SECONDS, 999_999_999)),
            Ok(StdDuration::new(315_576_000_000, 999_999_999))
        );
    }

    #[test]
    fn duration_to_std_errors() {
        use DurationError::*;
        let cases = [
            (
                dur(Duration::MAX_SECONDS + 1, 0),
                SecondsOutOfRange(315_576_000_001),
            ),
            (
                dur(Duration::MIN_SECONDS - 1, 0),
                SecondsOutOfRange(-315_576_000_001),
            ),
            (dur(i64::MAX, 0), SecondsOutOfRange(i64::MAX)),
            (dur(i64::MIN, 0), SecondsOutOfRange(i64::MIN)),
            (dur(0, 1_000_000_000), NanosOutOfRange(1_000_000_000)),
            (dur(0, -1_000_000_000), NanosOutOfRange(-1_000_000_000)),
            (dur(0, i32::MIN), NanosOutOfRange(i32::MIN)),
            (
                dur(1, -1),
                InconsistentSign {
                    seconds: 1,
                    nanos: -1,
                },
            ),
            (
                dur(-1, 1),
                InconsistentSign {
                    seconds: -1,
                    nanos: 1,
                },
            ),
            (
                dur(-1, 0),
                Negative {
                    seconds: -1,
                    nanos: 0,
                },
            ),
            (
                dur(0, -1),
                Negative {
                    seconds: 0,
                    nanos: -1,
                },
            ),
            (
                dur(-1, -1),
                Negative {
                    seconds: -1,
                    nanos: -1,
                },
            ),
            (
                dur(Duration::MIN_SECONDS, -999_999_999),
                Negative {
                    seconds: Duration::MIN_SECONDS,
                    nanos: -999_999_999,
                },
            ),
        ];
        for (d, want) in cases {
            assert_eq!(StdDuration::try_from(&d), Err(want), "{d:?}");
        }
    }

    #[test]
    fn duration_validity_edges() {
        assert!(dur(Duration::MAX_SECONDS, 999_999_999).is_valid());
        assert!(dur(Duration::MIN_SECONDS, -999_999_999).is_valid());
        assert!(dur(0, 999_999_999).is_valid());
        assert!(dur(0, -999_999_999).is_valid());
        assert!(!dur(Duration::MAX_SECONDS + 1, 0).is_valid());
        assert!(!dur(Duration::MIN_SECONDS - 1, 0).is_valid());
        assert!(!dur(0, 1_000_000_000).is_valid());
        assert!(!dur(0, -1_000_000_000).is_valid());
        assert!(!dur(5, -5).is_valid());
    }

    #[test]
    fn duration_normalize() {
        let cases = [
            ((0, 0), (0, 0)),
            ((1, -1), (0, 999_999_999)),
            ((-1, 1), (0, -999_999_999)),
            ((0, -1_500_000_000), (-1, -500_000_000)),
            ((3, 2_000_000_001), (5, 1)),
            ((0, i32::MIN), (-2, -147_483_648)),
            ((i64::MAX, 999_999_999), (i64::MAX, 999_999_999)),
            ((i64::MAX, 1_000_000_000), (i64::MAX, 999_999_999)),
            ((i64::MIN, -999_999_999), (i64::MIN, -999_999_999)),
            ((i64::MIN, -1_000_000_000), (i64::MIN, -999_999_999)),
            ((i64::MIN, 1), (i64::MIN + 1, -999_999_999)),
        ];
        for ((seconds, nanos), want) in cases {
            let mut d = dur(seconds, nanos);
            d.normalize();
            assert_eq!((d.seconds, d.nanos), want, "normalize({seconds}, {nanos})");
        }
    }

    #[test]
    fn duration_error_display() {
        let msg = DurationError::TooLong(StdDuration::from_secs(315_576_000_001)).to_string();
        assert!(
            msg.contains("315576000001s") && msg.contains("315576000000s"),
            "{msg}"
        );
        let msg = DurationError::InconsistentSign {
            seconds: 1,
            nanos: -1,
        }
        .to_string();
        assert!(msg.contains("same sign"), "{msg}");
        let msg = DurationError::SecondsOutOfRange(-315_576_000_001).to_string();
        assert!(msg.contains("-315576000000"), "{msg}");
        let msg = DurationError::NanosOutOfRange(1_000_000_000).to_string();
        assert!(msg.contains("-999999999 to 999999999"), "{msg}");
    }

    proptest! {
        #[test]
        fn valid_timestamps_round_trip(
            seconds in Timestamp::MIN_SECONDS..=Timestamp::MAX_SECONDS,
            nanos in 0..=MAX_NANOS,
        ) {
            let t = ts(seconds, nanos);
            prop_assert!(t.is_valid());
            match SystemTime::try_from(&t) {
                Ok(time) => prop_assert_eq!(Timestamp::from(time), t),
                Err(e) => prop_assert_eq!(e, TimestampError::NotRepresentable { seconds, nanos }),
            }
        }

        #[test]
        fn any_timestamp_converts_or_errors(seconds: i64, nanos: i32) {
            let t = ts(seconds, nanos);
            let converted = SystemTime::try_from(&t).is_ok();
            prop_assert!(!converted || t.is_valid());
            if cfg!(unix) {
                prop_assert_eq!(converted, t.is_valid());
            }
            let mut n = t.clone();
            n.normalize();
            prop_assert!((0..=MAX_NANOS).contains(&n.nanos));
            if n.seconds != i64::MAX && n.seconds != i64::MIN {
                prop_assert_eq!(total_nanos(n.seconds, n.nanos), total_nanos(seconds, nanos));
            }
        }

        #[test]
        fn std_durations_round_trip(seconds in 0..=Duration::MAX_SECONDS as u64, nanos in 0..=999_999_999u32) {
            let std = StdDuration::new(seconds, nanos);
            let d = Duration::try_from(std).unwrap();
            prop_assert!(d.is_valid());
            prop_assert_eq!(StdDuration::try_from(d), Ok(std));
        }

        #[test]
        fn any_duration_converts_or_errors(seconds: i64, nanos: i32) {
            let d = dur(seconds, nanos);
            let converted = StdDuration::try_from(&d);
            prop_assert_eq!(converted.is_ok(), d.is_valid() && seconds >= 0 && nanos >= 0);
            let mut n = d.clone();
            n.normalize();
            prop_assert!((-MAX_NANOS..=MAX_NANOS).contains(&n.nanos));
            prop_assert!(n.seconds == 0 || n.nanos == 0 || (n.seconds > 0) == (n.nanos > 0));
            if n.seconds != i64::MAX && n.seconds != i64::MIN {
                prop_assert_eq!(total_nanos(n.seconds, n.nanos), total_nanos(seconds, nanos));
            }
        }
    }
}
