//! A fast first reading of a body's top-level object.
//!
//! Error bodies are small objects whose top level is a handful of short
//! strings and integers (`code`, `status`, `message`, `exception_class`,
//! `request_id`) beside at most a few nested members (`details`, `info`,
//! `error`). Going through serde for the top level costs more than the
//! strings themselves: a visitor call per key and per value, a key
//! classifier, and a scan that must be ready for escapes in every string.
//!
//! [`scan_fields`] reads the top level by hand, for the common shape only,
//! and hands every nested value to serde_json, at its offset in the text,
//! through the same readers that the serde reading uses. Whenever the text
//! is anything but the common shape (an escape in a key or a string, a
//! number that is not a plain integer, a control character, a duplicate
//! member, a nested value where a string belongs, a nested value that its
//! reader refuses, anything after the object) it gives up and returns
//! false, and the caller reads the object with serde from the start
//! ([`super::read_fields`]), which decides what such text means. So the
//! scanner never has to agree with serde_json on edge cases: it only ever
//! accepts text whose meaning is not in doubt, and reads it as serde would.
//!
//! The text is a `&str`, so it is valid UTF-8 already; the scanner looks
//! at ASCII bytes only and slices the text at ASCII positions.
//!
//! One difference is known and deliberate: serde_json refuses values
//! nested more than 128 deep, and in the serde reading the top-level
//! object counts as one of those levels, while here a nested member starts
//! a count of its own. A member nested exactly 128 deep is read here and
//! refused there (which makes the whole body text). Nothing real nests
//! that deep, and reading more is the safe side for a decoder that must
//! keep what it can.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{DetailsField, DetailsSeed, Fields, GcoreMember, InfoRead, InvalidFields, Scalar, field_index};

/// Reads the object `text` holds into `fields` (which must be empty), and
/// returns true; or returns false, with `fields` in an unspecified state,
/// when the text is not of the common shape (see the module docs).
pub(super) fn scan_fields<'a>(text: &'a str, fields: &mut Fields<'a>) -> bool {
    let mut scanner = Scanner { text, at: 0 };
    scanner.object(fields).is_some()
}

/// A position in the text being scanned.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.at).copied()
    }

    /// Consumes `byte`, after whitespace, or gives up.
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, borrowed; `None`
    /// for any other string (the serde reading decides those).
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let rest = &self.bytes()[start..];
        let len = string_end(rest)?;
        if rest[len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        Some(&self.text[start..start + len])
    }

    /// An integer as JSON writes it (`-?(0|[1-9][0-9]*)`) that fits an
    /// i64, followed by the end of the value; `None` for any other number.
    fn integer(&mut self) -> Option<i64> {
        let bytes = self.bytes();
        let start = self.at;
        let digits_start = start + usize::from(bytes.get(start) == Some(&b'-'));
        let digits = bytes[digits_start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && bytes[digits_start] == b'0') {
            return None;
        }
        let end = digits_start + digits;
        // A fraction or an exponent makes it another kind of number.
        if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = self.text[start..end].parse::<i64>().ok()?;
        self.at = end;
        Some(value)
    }

    /// Consumes `literal` (`null`, `true`, `false`) when it comes next.
    fn literal(&mut self, literal: &[u8]) -> bool {
        let found = self.bytes()[self.at..].starts_with(literal);
        if found {
            self.at += literal.len();
        }
        found
    }

    /// Reads one nested value at the position with serde_json, as `T`, and
    /// moves past it. `None` when serde_json refuses it.
    fn nested<T: Deserialize<'a>>(&mut self) -> Option<T> {
        self.skip_whitespace();
        let rest = &self.text[self.at..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let value = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(value)
    }

    /// A scalar member's value: a string or an integer; `null` is absent.
    fn scalar(&mut self) -> Option<Option<Scalar<'a>>> {
        match self.peek()? {
            b'"' => self.string().map(|s| Some(Scalar::Text(Cow::Borrowed(s)))),
            b'-' | b'0'..=b'9' => self.integer().map(|n| Some(Scalar::Integer(n))),
            b'n' if self.literal(b"null") => Some(None),
            _ => None,
        }
    }

    /// A member whose value is read by serde: `null` is absent, anything
    /// else goes to `T`.
    fn nested_member<T: Deserialize<'a>>(&mut self) -> Option<Option<T>> {
        if self.peek()? == b'n' && self.literal(b"null") {
            return Some(None);
        }
        self.nested::<T>().map(Some)
    }

    /// `details`: an array read in one pass, or (when an item needs its
    /// raw text, see [`ConformingDetail`](crate::details::ConformingDetail))
    /// with its items kept raw; `null` is absent.
    fn details(&mut self) -> Option<Option<DetailsField<'a>>> {
        match self.peek()? {
            b'n' if self.literal(b"null") => Some(None),
            b'[' => {
                let start = self.at;
                if let Some(Details(details)) = self.nested::<Details<'a, false>>() {
                    return Some(Some(details));
                }
                self.at = start;
                self.nested::<Details<'a, true>>().map(|Details(details)| Some(details))
            }
            _ => None,
        }
    }

    /// The whole object, and nothing but whitespace after it.
    fn object(&mut self, fields: &mut Fields<'a>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                let key = self.string()?;
                self.expect(b':')?;
                match field_index(key) {
                    Some(index) => self.member(index, fields)?,
                    None => {
                        self.nested::<serde::de::IgnoredAny>()?;
                    }
                }
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.skip_whitespace();
        (self.at == self.text.len()).then_some(())
    }

    /// Member `index` of [`super::FIELD_NAMES`] into its slot.
    fn member(&mut self, index: u8, f: &mut Fields<'a>) -> Option<()> {
        if f.seen & (1 << index) != 0 {
            return None;
        }
        f.seen |= 1 << index;
        match index {
            0 => f.code = self.scalar()?,
            1 => f.status = self.scalar()?,
            2 => f.message = self.scalar()?,
            3 => f.details = self.details()?,
            4 => f.error = self.nested_member::<&'a RawValue>()?,
            5 => f.errors = self.nested_member::<&'a RawValue>()?,
            6 => f.exception_class = self.scalar()?,
            7 => f.request_id = self.scalar()?,
            8 => f.info = self.nested_member::<InfoRead>()?.map(GcoreMember::Read),
            9 => f.invalid_fields = self.nested_member::<InvalidFields<'a>>()?.map(GcoreMember::Read),
            10 => f.problem_type = self.scalar()?,
            11 => f.title = self.scalar()?,
            12 => f.detail = self.scalar()?,
            13 => f.instance = self.scalar()?,
            _ => f.msg = self.scalar()?,
        }
        Some(())
    }
}

/// The index of the first byte of `bytes` that ends a string or needs the
/// serde reading: a quote, a backslash or a control character.
///
/// Eight bytes at a time: a byte of a word is flagged when it is zero
/// after an XOR with `"` or `\\`, or when it is below 0x20. The classic
/// borrow trick can flag bytes after the first flagged one, never before
/// it, so the lowest flag is exact.
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    let below = |word: u64, limits: u64| word.wrapping_sub(limits) & !word & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let flags = below(word ^ QUOTES, ONES) | below(word ^ BACKSLASHES, ONES) | below(word, SPACES);
        if flags != 0 {
            return Some(offset + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| offset + i)
}

/// A present `details` member, its items read in one pass (`RAW` false)
/// or kept raw, as [`DetailsSeed`] reads it in the serde reading.
struct Details<'a, const RAW: bool>(DetailsField<'a>);

impl<'de: 'a, 'a, const RAW: bool> Deserialize<'de> for Details<'a, RAW> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Details<'a, RAW>, D::Error> {
        serde::de::DeserializeSeed::deserialize(DetailsSeed(RAW, std::marker::PhantomData), deserializer).map(Details)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::{DETAILS_CASES, INFO_CASES};
    use super::super::{BodyOnly, Fields, decode_object, read_fields};
    use super::*;

    /// What the serde reading makes of `text`, as `decode` would use it;
    /// `None` when it refuses the text.
    fn by_serde(text: &str) -> Option<BodyOnly> {
        let mut fields = Fields::default();
        read_fields(|| serde_json::Deserializer::from_str(text), text.as_bytes(), &mut fields)
            .then(|| decode_object(&mut fields, 400, false))
    }

    /// What the scanner makes of `text`; `None` when it gives up.
    fn by_scanner(text: &str) -> Option<BodyOnly> {
        let mut fields = Fields::default();
        scan_fields(text, &mut fields).then(|| decode_object(&mut fields, 400, false))
    }

    /// Checks that the scanner reads `text` as serde does, whenever it reads
    /// it at all; returns whether it did.
    fn agrees(text: &str) -> bool {
        let Some(scanned) = by_scanner(text) else {
            return false;
        };
        let serde = by_serde(text).unwrap_or_else(|| panic!("the scanner read what serde refuses: {text}"));
        assert_eq!(scanned.dialect, serde.dialect, "{text}");
        assert_eq!(scanned.http_status, serde.http_status, "{text}");
        assert_eq!(scanned.status, serde.status, "{text}");
        true
    }

    #[test]
    fn the_scanner_reads_the_spec_bodies_as_serde_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/spec");
        let mut read = 0;
        for entry in std::fs::read_dir(dir).expect("the spec bodies") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("a body");
                read += usize::from(agrees(text.trim()));
            }
        }
        // Every spec body but the one whose ErrorInfo breaks its schema is
        // of the common shape.
        assert!(read >= 14, "the scanner read only {read} spec bodies");
    }

    /// Bodies at the edges of the common shape: (text, whether the scanner
    /// reads it itself rather than giving up).
    const EDGES: &[(&str, bool)] = &[
        (r#"{}"#, true),
        (" \t\r\n{ } \n", true),
        (r#"{"code":404,"status":"NOT_FOUND","message":"m"}"#, true),
        (r#"{"code":-0,"status":"NOT_FOUND"}"#, true),
        (r#"{"code":0,"message":null,"details":null,"error":null,"info":null}"#, true),
        (r#"{"code":9223372036854775807}"#, true),
        (r#"{"code":9223372036854775808}"#, false),
        (r#"{"code":-9223372036854775809}"#, false),
        (r#"{"code":404.0}"#, false),
        (r#"{"code":4e2}"#, false),
        (r#"{"code":0404}"#, false),
        (r#"{"code":-}"#, false),
        (r#"{"code":"404"}"#, true),
        (r#"{"code":true}"#, false),
        (r#"{"code":{"a":1}}"#, false),
        (r#"{"message":"a\"b"}"#, false),
        (r#"{"message":"tab	inside"}"#, false),
        (r#"{"mess\u0061ge":"m"}"#, false),
        (r#"{"message":"é ünïcode ✓"}"#, true),
        (r#"{"message":"a","message":"b"}"#, false),
        (r#"{"x":1,"x":{"y":[1,2,{"z":null}]},"code":400,"status":"INVALID_ARGUMENT"}"#, true),
        (r#"{"x":-0.5e-3,"y":"s","z":true,"w":null,"code":400}"#, true),
        (r#"{"code":400}x"#, false),
        (r#"{"code":400}{}"#, false),
        (r#"{"code":400,}"#, false),
        (r#"{"code" 400}"#, false),
        (r#"{"code":400 "status":"X"}"#, false),
        (r#"{"code":400"#, false),
        (r#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"no","details":[]}}"#, true),
        (r#"{"error":"just text","code":500}"#, true),
        (r#"{"error":{"code":400,"message":"m","errors":[{"reason":"required","location":"name"}]}}"#, true),
        (r#"{"exception_class":"NotFoundError","message":"m","request_id":"r"}"#, true),
        (r#"{"exception_class":"ValidationError","message":"m","invalid_fields":{"a":["x"]}}"#, true),
        (r#"{"exception_class":"X","message":"m","info":{"bad":"\ud800"}}"#, false),
        (r#"{"type":"https://e/x","title":"t","status":409,"detail":"d","instance":"/i"}"#, true),
        (r#"{"msg":"m"}"#, true),
        (r#"{"details":{"@type":"x"},"code":400}"#, false),
        (r#"{"details":"x","code":400}"#, false),
    ];

    #[test]
    fn the_scanner_reads_the_common_shape_as_serde_does_and_gives_up_on_the_rest() {
        for (text, scanned) in EDGES {
            assert_eq!(agrees(text), *scanned, "{text}");
        }
    }

    #[test]
    fn nested_members_are_read_as_serde_reads_them() {
        for case in DETAILS_CASES {
            for text in [
                format!(r#"{{"code":400,"status":"INVALID_ARGUMENT","message":"m","details":{case}}}"#),
                format!(r#"{{"error":{{"code":400,"details":{case}}}}}"#),
            ] {
                agrees(&text);
            }
        }
        for case in INFO_CASES {
            agrees(&format!(r#"{{"exception_class":"QuotaLimitExceed","message":"m","info":{case}}}"#));
            agrees(&format!(r#"{{"exception_class":"ValidationError","message":"m","invalid_fields":{case}}}"#));
        }
    }

    /// A JSON value of the kinds a top-level member may hold.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 _./:@'é✓-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            "[a-z\"\\\\\t\u{1}]{0,6}".prop_map(|s| format!("\"{s}\"")),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("-0".to_owned()),
            Just("1.5".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just(r#"{"a":[1,"b",null]}"#.to_owned()),
            Just(r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]"#.to_owned()),
            Just(r#"[{"@type":"acme/X","v":1}]"#.to_owned()),
            Just(r#"{"limit":3,"quota_name":"gpu"}"#.to_owned()),
            Just(r#"{"names":["required"]}"#.to_owned()),
        ]
    }

    /// A member name: mostly ones canon reads.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![prop::sample::select(super::super::FIELD_NAMES).prop_map(str::to_owned), "[a-z_]{1,8}",]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn the_scanner_never_reads_otherwise_than_serde(
            members in prop::collection::vec((key(), value()), 0..6),
            spaces in prop::collection::vec(prop::sample::select(vec!["", " ", "\n\t"]), 4),
        ) {
            let body = members
                .iter()
                .map(|(k, v)| format!("{}\"{k}\"{}:{}{v}", spaces[0], spaces[1], spaces[2]))
                .collect::<Vec<_>>()
                .join(",");
            agrees(&format!("{{{body}{}}}", spaces[3]));
        }

        #[test]
        fn string_end_finds_the_first_quote_backslash_or_control(bytes in prop::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), Just(0x1f_u8), Just(0x20_u8), Just(0x7f_u8), Just(0x80_u8), any::<u8>()],
            0..40,
        )) {
            let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(string_end(&bytes), naive);
        }
    }
}
