//! Time: [`Timestamp`], the [`Clock`] the emulator reads it from, and the
//! [`TransitionMode`] that says when a resource reaches its next state.
//!
//! The emulator never reads the wall clock directly. A [`Cloud`](crate::Cloud)
//! is given a clock: [`SystemClock`] in a server, [`ManualClock`] in tests
//! and in an emulator whose time an admin moves by hand. Everything that
//! depends on time (state transitions, operation deadlines, maintenance
//! windows) is computed from that clock's `now`, so a test can move time
//! forward an hour in a microsecond and see exactly what a client would
//! have seen.
//!
//! ```
//! use std::time::Duration;
//! use canon_cloud::clock::{Clock, ManualClock, Timestamp};
//!
//! let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now().to_rfc3339(), "2023-11-14T22:14:50Z");
//! assert!(clock.as_manual().is_some());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time: whole milliseconds since the Unix epoch, UTC.
///
/// Milliseconds are what the store keeps and what RFC 3339 output shows;
/// finer precision would be lost on the first round trip anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The timestamp this many milliseconds after the epoch.
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The timestamp of a [`SystemTime`] (times before the epoch are
    /// negative).
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp(i64::try_from(after.as_millis()).unwrap_or(i64::MAX)),
            Err(before) => Timestamp(-i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// The [`SystemTime`] of this timestamp.
    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.0.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(self.0.unsigned_abs())
        }
    }

    /// This timestamp plus a duration, saturating at the end of time.
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    /// How long after `earlier` this timestamp is; zero when it is not
    /// later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// RFC 3339 in UTC: `2024-05-01T12:00:00Z`, with `.mmm` before the `Z`
    /// when the milliseconds are not zero.
    pub fn to_rfc3339(self) -> String {
        self.with_rfc3339(str::to_owned)
    }

    /// Calls `f` with the RFC 3339 text of [`Timestamp::to_rfc3339`],
    /// written on the stack for years 0 to 9999 (allocating nothing).
    fn with_rfc3339<R>(self, f: impl FnOnce(&str) -> R) -> R {
        let days = self.0.div_euclid(86_400_000);
        let in_day = self.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let (h, m, s, ms) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
        if !(0..=9999).contains(&year) {
            return f(&if ms == 0 {
                format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
            } else {
                format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
            });
        }
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for index in (at..at + width).rev() {
                text[index] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, h);
        put(14, 2, m);
        put(17, 2, s);
        let len = if ms == 0 {
            text[19] = b'Z';
            20
        } else {
            put(20, 3, ms);
            24
        };
        f(std::str::from_utf8(&text[..len]).expect("ASCII digits"))
    }

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS`, an optional fraction (cut
    /// to milliseconds), and `Z` or an offset `±HH:MM`. A lower-case `t`
    /// or `z`, or a space for the `T`, is accepted.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
            millis = padded.parse::<i64>().ok()?;
            rest = &fraction[digits..];
        }
        let offset_minutes = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let ob = rest.as_bytes();
                if ob.len() != 6 || ob[3] != b':' {
                    return None;
                }
                let oh: i64 = rest[1..3].parse().ok()?;
                let om: i64 = rest[4..6].parse().ok()?;
                if oh > 23 || om > 59 {
                    return None;
                }
                sign * (oh * 60 + om)
            }
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
        Some(Timestamp(seconds * 1000 + millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_rfc3339(|text| f.write_str(text))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_rfc3339(|text| serializer.serialize_str(text))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 timestamp")))
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Where the emulator reads the time from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// This clock as a [`ManualClock`], when it is one, so that an admin
    /// can move it.
    fn as_manual(&self) -> Option<&ManualClock> {
        None
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock { millis: AtomicI64::new(start.as_millis()) }
    }

    /// Sets the time (it may go backwards; the emulator copes, but
    /// transitions already applied are not undone).
    pub fn set(&self, now: Timestamp) {
        self.millis.store(now.as_millis(), Ordering::SeqCst);
    }

    /// Moves the time forward and returns the new time.
    pub fn advance(&self, by: Duration) -> Timestamp {
        let delta = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let previous = self.millis.fetch_add(delta, Ordering::SeqCst);
        Timestamp(previous.saturating_add(delta))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }

    fn as_manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}

/// When a resource that was sent into a transitional state (a VM into
/// `PENDING`, a cluster into `STATE_UPDATING`...) reaches its next state.
///
/// The string form, used in configuration and by the admin API, is
/// `immediate`, `manual`, or a duration such as `2s` or `500ms` for
/// [`TransitionMode::After`]:
///
/// ```
/// use std::time::Duration;
/// use canon_cloud::clock::TransitionMode;
///
/// assert_eq!("immediate".parse(), Ok(TransitionMode::Immediate));
/// assert_eq!("1.5s".parse(), Ok(TransitionMode::After(Duration::from_millis(1500))));
/// assert_eq!(TransitionMode::After(Duration::from_secs(2)).to_string(), "2s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransitionMode {
    /// The request that starts a transition finishes it: a VM is created
    /// `ACTIVE`, a stop returns `STOPPED`. Removals (terminate, delete)
    /// complete before the request returns.
    #[default]
    Immediate,
    /// The resource stays in its transitional state for this long, by the
    /// cloud's clock.
    After(Duration),
    /// The resource stays in its transitional state until an admin
    /// advances it (or sets its state).
    Manual,
}

impl fmt::Display for TransitionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionMode::Immediate => f.write_str("immediate"),
            TransitionMode::Manual => f.write_str("manual"),
            TransitionMode::After(delay) => f.write_str(&format_duration(*delay)),
        }
    }
}

impl FromStr for TransitionMode {
    type Err = DurationParseError;

    fn from_str(s: &str) -> Result<TransitionMode, DurationParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "immediate" => Ok(TransitionMode::Immediate),
            "manual" => Ok(TransitionMode::Manual),
            other => parse_duration(other).map(TransitionMode::After),
        }
    }
}

/// The error for a duration that [`parse_duration`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationParseError {
    input: String,
}

impl DurationParseError {
    /// The text that did not parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for DurationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a duration: expected a non-negative number with a unit ms, s, m or h (such as 250ms or 1.5s), or a number of seconds",
            self.input
        )
    }
}

impl std::error::Error for DurationParseError {}

/// Parses a duration: a non-negative decimal number followed by `ms`, `s`,
/// `m` or `h`, or a bare number of seconds (as in `Retry-After`).
///
/// ```
/// use std::time::Duration;
/// use canon_cloud::clock::parse_duration;
///
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(parse_duration("-1s").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, DurationParseError> {
    let error = || DurationParseError { input: text.to_owned() };
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(error());
    }
    let value: f64 = number.parse().map_err(|_| error())?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(error()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| error())
}

/// Writes a duration the way [`parse_duration`] reads it: whole seconds as
/// `5s`, anything else in milliseconds (`250ms`, `1500ms`).
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Serde support for a [`Duration`] written as text (`"250ms"`, `"5s"`).
pub mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the duration as [`format_duration`](super::format_duration) does.
    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*duration))
    }

    /// Reads a duration as [`parse_duration`](super::parse_duration) does.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }

    /// The same for an optional duration.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes the duration, or nothing.
        pub fn serialize<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
            match duration {
                Some(d) => serializer.serialize_some(&crate::clock::format_duration(*d)),
                None => serializer.serialize_none(),
            }
        }

        /// Reads an optional duration.
        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|t| crate::clock::parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_matches_known_dates() {
        let table: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (4_102_444_800_000, "2100-01-01T00:00:00Z"),
            (1_700_000_000_005, "2023-11-14T22:13:20.005Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ];
        for &(millis, text) in table {
            let timestamp = Timestamp::from_millis(millis);
            assert_eq!(timestamp.to_rfc3339(), text);
            assert_eq!(timestamp.to_string(), text);
            assert_eq!(serde_json::to_value(timestamp).unwrap(), text);
            assert_eq!(Timestamp::parse_rfc3339(text), Some(timestamp), "{text}");
        }
        // Years past 9999 keep all their digits.
        assert_eq!(Timestamp::from_millis(253_402_300_800_000).to_rfc3339(), "10000-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_parsing_accepts_offsets_and_refuses_garbage() {
        let table: &[(&str, Option<i64>)] = &[
            ("2023-11-14T23:13:20+01:00", Some(1_700_000_000_000)),
            ("2023-11-14t22:13:20.1z", Some(1_700_000_000_100)),
            ("2023-11-14T22:13:20.123456789Z", Some(1_700_000_000_123)),
            ("2023-02-29T00:00:00Z", None),
            ("2023-11-14T22:13:20", None),
            ("2023-11-14T25:13:20Z", None),
            ("2023-11-14T22:13:20.Z", None),
            ("yesterday", None),
        ];
        for &(text, millis) in table {
            assert_eq!(Timestamp::parse_rfc3339(text), millis.map(Timestamp::from_millis), "{text}");
        }
    }

    #[test]
    fn durations_parse_and_format() {
        let table: &[(&str, Option<u64>)] = &[
            ("250ms", Some(250)),
            ("1.5s", Some(1500)),
            ("5", Some(5000)),
            (" 2m ", Some(120_000)),
            ("1h", Some(3_600_000)),
            ("0s", Some(0)),
            ("", None),
            ("s", None),
            ("-1s", None),
            ("5d", None),
            (".5s", None),
        ];
        for &(text, millis) in table {
            assert_eq!(parse_duration(text).ok(), millis.map(Duration::from_millis), "{text:?}");
        }
        for millis in [0, 1, 999, 1000, 1500, 60_000] {
            let d = Duration::from_millis(millis);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_millis(1000));
        assert_eq!(clock.now(), Timestamp::from_millis(1000));
        assert_eq!(clock.advance(Duration::from_millis(500)), Timestamp::from_millis(1500));
        clock.set(Timestamp::from_millis(10));
        assert_eq!(clock.now(), Timestamp::from_millis(10));
        assert!(SystemClock.as_manual().is_none());
    }

    #[test]
    fn transition_modes_parse() {
        assert_eq!("MANUAL".parse(), Ok(TransitionMode::Manual));
        assert_eq!("250ms".parse(), Ok(TransitionMode::After(Duration::from_millis(250))));
        assert!("soon".parse::<TransitionMode>().is_err());
    }
}
