//! A compact JSON writer for the answers of [`JsonBody`](super::JsonBody),
//! byte for byte what `serde_json::to_writer` writes, but cheaper for what
//! the emulator's answers are made of: structs of short strings.
//!
//! serde_json scans every string it writes, keys included, one byte at a
//! time through an escape table, and writes each piece through
//! `io::Write`. This writer checks a string for the bytes that JSON must
//! escape (control characters, `"` and `\`) in one pass that the compiler
//! vectorises, appends it to the buffer in one copy when it has none (the
//! common case: ids, names, states, field names, timestamps, prices), and
//! hands it to serde_json only when it has some.
//!
//! It writes only what it can write exactly as serde_json does. For
//! anything else (byte strings, 128-bit integers, map keys other than
//! strings, serde_json's own `RawValue`) it gives up with [`Unsupported`],
//! and the caller serialises the whole value again with serde_json.
//! Numbers are written by serde_json itself (`itoa` and `ryu`, `null` for
//! non-finite floats), so they cannot differ either.
//!
//! ```text
//! let mut buffer = Vec::new();
//! if json::write(&value, &mut buffer).is_err() {
//!     buffer.clear();
//!     serde_json::to_writer(&mut buffer, &value)?;
//! }
//! ```

use std::fmt;

use serde::ser::{self, Serialize};

/// Writes `value` as compact JSON at the end of `out`. On an error, `out`
/// holds a partial answer, which the caller discards.
pub(crate) fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Unsupported> {
    value.serialize(&mut Writer { out })
}

/// The value holds something this writer leaves to serde_json, or its
/// `Serialize` implementation failed (which serde_json will then report).
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_message: T) -> Unsupported {
        Unsupported
    }
}

/// The name serde_json gives the struct a `RawValue` serialises as.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Whether JSON needs an escape for one of the bytes: a control character,
/// a quote or a backslash (serde_json escapes nothing else). Eight bytes
/// at a time, and without a loop over the last few: the strings of an
/// answer are short (most keys and values are under 16 bytes), too short
/// for the compiler's vectorised loops.
#[inline(always)]
fn needs_escape(bytes: &[u8]) -> bool {
    let len = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let found = if len >= 8 {
        let mut words = bytes.chunks_exact(8);
        let found = words
            .by_ref()
            .fold(0, |found, word| found | escapes(u64::from_le_bytes(word.try_into().unwrap_or_default())));
        // The last eight bytes, which may overlap the last whole word.
        if words.remainder().is_empty() { found } else { found | escapes(word(len - 8)) }
    } else if len >= 4 {
        // The first four and the last four, which may overlap.
        let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default()));
        escapes(half(0) | half(len - 4) << 32)
    } else if len > 0 {
        // The first, middle and last byte (which may be the same), padded
        // with a letter, which needs no escape.
        escapes(u64::from_le_bytes([bytes[0], bytes[len / 2], bytes[len - 1], b'a', b'a', b'a', b'a', b'a']))
    } else {
        0
    };
    found != 0
}

/// Nonzero when one of the eight bytes of `word` is below 0x20, a quote or
/// a backslash (exact, as the tests check byte by byte).
fn escapes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// A high bit set in the byte of `x` that is zero (and perhaps in
    /// higher bytes, but never in a word without a zero byte).
    fn zero_byte(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    control | zero_byte(word ^ (ONES * u64::from(b'"'))) | zero_byte(word ^ (ONES * u64::from(b'\\')))
}

/// Appends `text` as a JSON string.
#[inline(always)]
fn write_str(out: &mut Vec<u8>, text: &str) -> Result<(), Unsupported> {
    out.reserve(text.len() + 2);
    out.push(b'"');
    if !append_clean(out, text.as_bytes()) {
        out.pop();
        return write_escaped(out, text);
    }
    out.push(b'"');
    Ok(())
}

/// Appends `bytes` if none of them needs an escape, and says whether it
/// did (it appends nothing otherwise).
///
/// Up to 16 bytes, the usual length of a key or a value in an answer, it
/// reads the bytes as two words (which may overlap), checks them, and
/// writes them as two fixed-size stores, the second moved back over the
/// first's excess: no copy of a length known only at run time, which
/// would be a call to `memcpy` for a few bytes.
#[inline(always)]
fn append_clean(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let len = bytes.len();
    if len > 16 {
        if needs_escape(bytes) {
            return false;
        }
        out.extend_from_slice(bytes);
    } else if len >= 8 {
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        let (first, last) = (word(0), word(len - 8));
        if escapes(first) | escapes(last) != 0 {
            return false;
        }
        let end = out.len() + len;
        out.extend_from_slice(&first.to_le_bytes());
        out.truncate(end - 8);
        out.extend_from_slice(&last.to_le_bytes());
    } else if len >= 4 {
        let half = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        let (first, last) = (half(0), half(len - 4));
        if escapes(u64::from(first) | u64::from(last) << 32) != 0 {
            return false;
        }
        let end = out.len() + len;
        out.extend_from_slice(&first.to_le_bytes());
        out.truncate(end - 4);
        out.extend_from_slice(&last.to_le_bytes());
    } else {
        if needs_escape(bytes) {
            return false;
        }
        for &byte in bytes {
            out.push(byte);
        }
    }
    true
}

/// Appends `text`, which needs escapes, as serde_json writes it.
#[cold]
#[inline(never)]
fn write_escaped(out: &mut Vec<u8>, text: &str) -> Result<(), Unsupported> {
    serde_json::to_writer(out, text).map_err(|_| Unsupported)
}

/// Appends a number (or anything else serde_json writes without a
/// string) exactly as serde_json writes it.
fn write_plain<T: Serialize>(out: &mut Vec<u8>, value: T) -> Result<(), Unsupported> {
    serde_json::to_writer(out, &value).map_err(|_| Unsupported)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// An array or object being written: whether the next element is the
/// first (no comma before it).
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    /// Brackets to close: `]` or `}`, and for a variant also the `}` of
    /// `{"variant": ...}`.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.writer.out.push(b',');
        }
    }

    /// `,"key":`, or `"key":` for the first.
    #[inline(always)]
    fn key(&mut self, key: &str) -> Result<(), Unsupported> {
        let out = &mut *self.writer.out;
        out.reserve(key.len() + 4);
        if !std::mem::replace(&mut self.first, false) {
            out.push(b',');
        }
        out.push(b'"');
        if !append_clean(out, key.as_bytes()) {
            out.pop();
            write_escaped(out, key)?;
            out.push(b':');
            return Ok(());
        }
        out.extend_from_slice(b"\":");
        Ok(())
    }

    fn end(self) -> Result<(), Unsupported> {
        self.writer.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'w, 'a> Writer<'a> {
    fn open(&'w mut self, open: &[u8], close: &'static [u8]) -> Compound<'w, 'a> {
        self.out.extend_from_slice(open);
        Compound { writer: self, first: true, close }
    }

    /// `{"variant":` before a variant's content.
    fn variant_key(&mut self, variant: &str) -> Result<(), Unsupported> {
        self.out.push(b'{');
        write_str(self.out, variant)?;
        self.out.push(b':');
        Ok(())
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        write_plain(self.out, v)
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        write_str(self.out, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.variant_key(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Unsupported> {
        Ok(self.open(b"[", b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Unsupported> {
        self.variant_key(variant)?;
        Ok(self.open(b"[", b"]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Unsupported> {
        Ok(self.open(b"{", b"}"))
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        if name == RAW_VALUE_TOKEN {
            return Err(Unsupported);
        }
        Ok(self.open(b"{", b"}"))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Unsupported> {
        self.variant_key(variant)?;
        Ok(self.open(b"{", b"}}"))
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.comma();
        key.serialize(MapKey { out: self.writer.out })?;
        self.writer.out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        self.key(key)?;
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

/// A map key: strings (and what serialises as one) only; serde_json's
/// quoting of numbers and booleans as keys is left to serde_json.
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v)
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        write_str(self.out, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_bool(self, _v: bool) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_i8(self, _v: i8) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_i16(self, _v: i16) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_i32(self, _v: i32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_i64(self, _v: i64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_u8(self, _v: u8) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_u16(self, _v: u16) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_u32(self, _v: u32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_u64(self, _v: u64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_f32(self, _v: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_f64(self, _v: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::value::RawValue;

    use super::*;

    /// What this writer writes, or `None` when it leaves the value to
    /// serde_json.
    fn ours<T: Serialize + ?Sized>(value: &T) -> Option<String> {
        let mut out = Vec::new();
        write(value, &mut out).ok().map(|()| String::from_utf8(out).unwrap())
    }

    fn theirs<T: Serialize + ?Sized>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        id: String,
        count: u32,
        ratio: f64,
        negative: i64,
        flag: bool,
        missing: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<String>,
        list: Vec<Sample>,
        metadata: BTreeMap<String, String>,
        nested: Shape,
        unit: (),
        pair: (u8, char),
    }

    #[derive(Serialize)]
    enum Shape {
        Point,
        Circle(f64),
        Pair(u32, u32),
        Rect { w: u32, h: u32 },
    }

    fn sample(id: &str, shape: Shape, list: Vec<Sample>) -> Sample {
        Sample {
            id: id.to_owned(),
            count: u32::MAX,
            ratio: 0.1,
            negative: i64::MIN,
            flag: true,
            missing: None,
            skipped: None,
            list,
            metadata: [("k\"ey".to_owned(), "va\nlue".to_owned()), ("plain".to_owned(), "é ✓".to_owned())].into(),
            nested: shape,
            unit: (),
            pair: (7, '"'),
        }
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let table: Vec<(&str, Box<dyn erased::Value>)> = vec![
            ("a struct with every shape of field", Box::new(sample("vm-1", Shape::Rect { w: 1, h: 2 }, vec![]))),
            (
                "nested structs and variants",
                Box::new(sample(
                    "outer",
                    Shape::Point,
                    vec![sample("a", Shape::Circle(1.5), vec![]), sample("b", Shape::Pair(1, 2), vec![])],
                )),
            ),
            ("control characters and quotes", Box::new("\u{0}\u{1f}\u{7f}\t\r\n\u{8}\u{c}\"\\/")),
            ("non-ASCII", Box::new("Zürich – 東京 🙂")),
            ("an empty string", Box::new("")),
            ("non-finite floats", Box::new([f64::NAN, f64::INFINITY, -0.0, 1e300, 5e-324])),
            ("f32", Box::new([0.1f32, f32::MAX])),
            ("empty collections", Box::new((Vec::<u8>::new(), BTreeMap::<String, u8>::new()))),
            ("an option", Box::new([Some(1), None])),
            ("char keys", Box::new(BTreeMap::from([('a', 1), ('"', 2)]))),
            ("a JSON value", Box::new(serde_json::json!({"a": [1, "x", null, {"b": false}], "c\u{1}": 2.5}))),
        ];
        for (name, value) in table {
            assert_eq!(value.ours().as_deref(), Some(value.theirs().as_str()), "{name}");
        }
    }

    #[test]
    fn leaves_to_serde_json_what_it_does_not_write_the_same() {
        let raw = RawValue::from_string("{ \"spaced\" : 1 }".to_owned()).unwrap();
        let table: Vec<(&str, Box<dyn erased::Value>)> = vec![
            ("a raw value", Box::new(raw)),
            ("integer keys", Box::new(BTreeMap::from([(1, 2)]))),
            ("bool keys", Box::new(HashMap::from([(true, 2)]))),
            ("128-bit integers", Box::new(u128::MAX)),
            ("bytes", Box::new(serde_bytes_like::Bytes(b"ab"))),
        ];
        for (name, value) in table {
            assert_eq!(value.ours(), None, "{name}");
        }
    }

    #[test]
    fn the_answers_of_the_cudo_surface_are_written_as_serde_json_writes_them() {
        use crate::clock::Timestamp;
        use crate::http::cudo::pricing::Decimal;
        use crate::http::cudo::wire::DiskJson;
        let disk = DiskJson {
            id: "disk-1".to_owned(),
            project_id: "demo".to_owned(),
            data_center_id: "gb-bournemouth-1".to_owned(),
            vm_id: Some("vm-1".to_owned()),
            size_gib: 10,
            disk_type: "STORAGE",
            disk_state: "READY",
            public_image_id: None,
            create_time: Timestamp::from_millis(1_700_000_000_123),
        };
        let table: Vec<(&str, Box<dyn erased::Value>)> = vec![
            ("a disk", Box::new(disk.clone())),
            ("a list of disks", Box::new(vec![disk.clone(), disk])),
            ("prices", Box::new([Decimal::from_micros(0), Decimal::from_micros(1_500_000), Decimal::from_micros(3)])),
        ];
        for (name, value) in table {
            assert_eq!(value.ours().as_deref(), Some(value.theirs().as_str()), "{name}");
        }
    }

    #[test]
    fn a_string_needs_an_escape_exactly_when_one_of_its_bytes_does() {
        let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for length in 0..20 {
            for position in 0..length.max(1) {
                for byte in 0..=255u8 {
                    let mut text = vec![b'x'; length];
                    if length > 0 {
                        text[position] = byte;
                    }
                    let expected = length > 0 && needs(byte);
                    assert_eq!(needs_escape(&text), expected, "byte {byte:#x} at {position} of {length}");
                }
            }
        }
    }

    #[test]
    fn a_string_of_any_length_is_written_as_serde_json_writes_it_wherever_its_odd_character_is() {
        // Every length around the writer's word sizes, with each ASCII
        // character and two wider ones at each position: as a value, as a
        // map key and as a struct's field name.
        #[derive(Serialize)]
        struct Field {
            #[serde(rename = "a\"b")]
            quoted: u8,
            plain: u8,
        }
        let odd: Vec<char> = (0..128u8).map(char::from).chain(['é', '€']).collect();
        for length in 0..=20 {
            for position in 0..length.max(1) {
                for &character in &odd {
                    let mut text: Vec<char> = vec!['x'; length];
                    if length > 0 {
                        text[position] = character;
                    }
                    let text: String = text.into_iter().collect();
                    assert_eq!(ours(&text), Some(theirs(&text)), "{text:?}");
                    let map = BTreeMap::from([(text.clone(), 1), ("k".to_owned(), 2)]);
                    assert_eq!(ours(&map), Some(theirs(&map)), "{text:?} as a key");
                }
            }
        }
        let field = Field { quoted: 1, plain: 2 };
        assert_eq!(ours(&field), Some(theirs(&field)));
    }

    proptest! {
        #[test]
        fn any_strings_and_maps_are_written_as_serde_json_writes_them(
            text in any::<String>(),
            map in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4),
            numbers in proptest::collection::vec(any::<f64>(), 0..4),
        ) {
            prop_assert_eq!(ours(&text), Some(theirs(&text)));
            prop_assert_eq!(ours(&map), Some(theirs(&map)));
            prop_assert_eq!(ours(&numbers), Some(theirs(&numbers)));
        }

        #[test]
        fn any_bytes_need_an_escape_exactly_when_one_of_them_does(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let expected = bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(needs_escape(&bytes), expected);
        }
    }

    /// Byte strings, as `serde_bytes` serialises them.
    mod serde_bytes_like {
        pub(super) struct Bytes(pub(super) &'static [u8]);

        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
    }

    /// Values of different types in one table.
    mod erased {
        pub(super) trait Value {
            fn ours(&self) -> Option<String>;
            fn theirs(&self) -> String;
        }

        impl<T: serde::Serialize + ?Sized> Value for T {
            fn ours(&self) -> Option<String> {
                super::ours(self)
            }

            fn theirs(&self) -> String {
                super::theirs(self)
            }
        }
    }
}
