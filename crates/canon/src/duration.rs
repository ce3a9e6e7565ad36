//! `google.protobuf.Duration` and its proto3 JSON form.
//!
//! On the wire a Duration is a string: seconds, an optional fraction of up
//! to nine digits, and a final `s` (`"30s"`, `"1.5s"`, `"-0.000000001s"`).
//! Parsing is strict: anything else is an error, never a guess. Formatting
//! writes 0, 3, 6 or 9 fraction digits, as protobuf's own serializers do.
//!
//! ```
//! use canon::ProtoDuration;
//!
//! let d: ProtoDuration = "1.5s".parse().unwrap();
//! assert_eq!(d.to_std(), Some(std::time::Duration::from_millis(1500)));
//! assert_eq!(d.to_string(), "1.500s");
//! assert!("5".parse::<ProtoDuration>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The largest number of seconds a Duration may hold (about 10,000 years).
pub const MAX_SECONDS: i64 = 315_576_000_000;

/// A signed span of time with nanosecond precision, as in
/// `google.protobuf.Duration`.
///
/// `seconds` and `nanos` always have the same sign, and both stay in the
/// range the proto allows; the constructors refuse anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ProtoDuration {
    seconds: i64,
    nanos: i32,
}

/// Why a Duration string or value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    kind: DurationErrorKind,
    input: String,
}

/// The kinds of [`DurationError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationErrorKind {
    /// The string does not end in `s`.
    MissingSuffix,
    /// The seconds or the fraction are not decimal digits.
    Syntax,
    /// The fraction has more than nine digits.
    TooPrecise,
    /// The value is beyond ±315,576,000,000 seconds.
    OutOfRange,
}

impl DurationError {
    /// What was wrong.
    pub fn kind(&self) -> DurationErrorKind {
        self.kind
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.kind {
            DurationErrorKind::MissingSuffix => "it does not end in `s`",
            DurationErrorKind::Syntax => "expected decimal seconds such as `30s` or `1.5s`",
            DurationErrorKind::TooPrecise => "the fraction has more than 9 digits",
            DurationErrorKind::OutOfRange => "it is beyond ±315576000000 seconds",
        };
        write!(f, "`{}` is not a valid google.protobuf.Duration: {why}", self.input)
    }
}

impl std::error::Error for DurationError {}

impl ProtoDuration {
    /// The zero duration.
    pub const ZERO: ProtoDuration = ProtoDuration { seconds: 0, nanos: 0 };

    /// A duration from whole seconds and nanoseconds, which must share a
    /// sign and lie within the proto's range.
    pub fn new(seconds: i64, nanos: i32) -> Result<ProtoDuration, DurationError> {
        let sign_ok = (seconds >= 0 && nanos >= 0) || (seconds <= 0 && nanos <= 0);
        if !sign_ok || nanos.unsigned_abs() >= 1_000_000_000 || seconds.unsigned_abs() > MAX_SECONDS as u64 {
            return Err(DurationError { kind: DurationErrorKind::OutOfRange, input: format!("{seconds}s {nanos}ns") });
        }
        Ok(ProtoDuration { seconds, nanos })
    }

    /// A non-negative duration from a [`std::time::Duration`], clamped to the
    /// proto's maximum.
    pub fn from_std(duration: Duration) -> ProtoDuration {
        if duration.as_secs() > MAX_SECONDS as u64 {
            return ProtoDuration { seconds: MAX_SECONDS, nanos: 0 };
        }
        ProtoDuration { seconds: duration.as_secs() as i64, nanos: duration.subsec_nanos() as i32 }
    }

    /// A duration of whole milliseconds, clamped to the proto's maximum.
    pub fn from_millis(millis: u64) -> ProtoDuration {
        ProtoDuration::from_std(Duration::from_millis(millis))
    }

    /// The whole seconds.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// The nanoseconds beyond the whole seconds, with the sign of `seconds`.
    pub fn nanos(&self) -> i32 {
        self.nanos
    }

    /// Whether the duration is below zero.
    pub fn is_negative(&self) -> bool {
        self.seconds < 0 || self.nanos < 0
    }

    /// The duration as a [`std::time::Duration`], or `None` when negative.
    pub fn to_std(&self) -> Option<Duration> {
        if self.is_negative() { None } else { Some(Duration::new(self.seconds as u64, self.nanos as u32)) }
    }
}

impl FromStr for ProtoDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<ProtoDuration, DurationError> {
        let error = |kind| DurationError { kind, input: s.to_owned() };
        let body = s.strip_suffix('s').ok_or_else(|| error(DurationErrorKind::MissingSuffix))?;
        let (negative, unsigned) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(error(DurationErrorKind::Syntax));
        }
        let fraction = fraction.unwrap_or("");
        if fraction.len() > 9 {
            return Err(error(DurationErrorKind::TooPrecise));
        }
        // More than 12 digits is certainly beyond MAX_SECONDS and might
        // overflow i64; check the length before parsing.
        let digits = whole.trim_start_matches('0');
        if digits.len() > 12 {
            return Err(error(DurationErrorKind::OutOfRange));
        }
        let seconds: i64 =
            if digits.is_empty() { 0 } else { digits.parse().map_err(|_| error(DurationErrorKind::Syntax))? };
        let mut nanos: i32 = 0;
        for (i, b) in fraction.bytes().enumerate() {
            nanos += i32::from(b - b'0') * 10_i32.pow(8 - i as u32);
        }
        if seconds > MAX_SECONDS {
            return Err(error(DurationErrorKind::OutOfRange));
        }
        Ok(if negative { ProtoDuration { seconds: -seconds, nanos: -nanos } } else { ProtoDuration { seconds, nanos } })
    }
}

impl fmt::Display for ProtoDuration {
    /// Writes the proto3 JSON form with 0, 3, 6 or 9 fraction digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_negative() {
            f.write_str("-")?;
        }
        let seconds = self.seconds.unsigned_abs();
        let nanos = self.nanos.unsigned_abs();
        if nanos == 0 {
            write!(f, "{seconds}s")
        } else if nanos % 1_000_000 == 0 {
            write!(f, "{seconds}.{:03}s", nanos / 1_000_000)
        } else if nanos % 1_000 == 0 {
            write!(f, "{seconds}.{:06}s", nanos / 1_000)
        } else {
            write!(f, "{seconds}.{nanos:09}s")
        }
    }
}

impl serde::Serialize for ProtoDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ProtoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ProtoDuration, D::Error> {
        let text: std::borrow::Cow<'de, str> = crate::wire::CowStr::deserialize(deserializer)?.0;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_proto3_json_form() {
        // (input, Ok(canonical output) or Err(kind))
        let table: &[(&str, Result<&str, DurationErrorKind>)] = &[
            ("30s", Ok("30s")),
            ("0s", Ok("0s")),
            ("1.5s", Ok("1.500s")),
            ("1.000s", Ok("1s")),
            ("0.000001s", Ok("0.000001s")),
            ("0.000000001s", Ok("0.000000001s")),
            ("0.1234s", Ok("0.123400s")),
            ("-2.5s", Ok("-2.500s")),
            ("-0.5s", Ok("-0.500s")),
            ("007s", Ok("7s")),
            ("315576000000s", Ok("315576000000s")),
            ("315576000000.999999999s", Ok("315576000000.999999999s")),
            ("315576000001s", Err(DurationErrorKind::OutOfRange)),
            ("99999999999999999999999s", Err(DurationErrorKind::OutOfRange)),
            ("5", Err(DurationErrorKind::MissingSuffix)),
            ("", Err(DurationErrorKind::MissingSuffix)),
            ("s", Err(DurationErrorKind::Syntax)),
            ("1.s", Err(DurationErrorKind::Syntax)),
            (".5s", Err(DurationErrorKind::Syntax)),
            ("+1s", Err(DurationErrorKind::Syntax)),
            ("1e3s", Err(DurationErrorKind::Syntax)),
            (" 1s", Err(DurationErrorKind::Syntax)),
            ("5ms", Err(DurationErrorKind::Syntax)),
            ("1.0000000001s", Err(DurationErrorKind::TooPrecise)),
            ("--1s", Err(DurationErrorKind::Syntax)),
        ];
        for (input, expected) in table {
            let actual = input.parse::<ProtoDuration>().map(|d| d.to_string()).map_err(|e| e.kind());
            assert_eq!(actual.as_deref().map_err(|k| *k), expected.as_ref().map(|s| *s).map_err(|k| *k), "{input:?}");
        }
    }

    #[test]
    fn converts_to_and_from_std() {
        assert_eq!(ProtoDuration::from_millis(1500).to_string(), "1.500s");
        assert_eq!("-1s".parse::<ProtoDuration>().unwrap().to_std(), None);
        assert_eq!(ProtoDuration::from_std(Duration::from_secs(u64::MAX)).seconds(), MAX_SECONDS);
        assert!(ProtoDuration::new(1, -1).is_err());
        assert!(ProtoDuration::new(0, 1_000_000_000).is_err());
    }
}
