//! A small JSON writer for the error bodies canon encodes.
//!
//! The encoders write straight into a `Vec<u8>`: object keys they know are
//! written as they are, every other string is quoted and escaped exactly as
//! `serde_json` escapes it (`"` and `\` with a backslash; the control
//! characters `\b \t \n \f \r` by name and the others as `\u00xx` with
//! lower-case hex digits; everything else, DEL and non-ASCII included, as
//! it is). So a body is byte for byte what `serde_json::to_vec` of the same
//! structure gives, without serde's machinery on the way; the tests of
//! [`encode`](crate::encode) check that against the serde reference.
//!
//! Details kept as text (unknown and nonconforming ones) are written
//! verbatim: their text is valid JSON by construction.

use crate::details::{
    BadRequest, DebugInfo, Detail, ErrorInfo, Help, LocalizedMessage, PreconditionFailure, QuotaFailure, RequestInfo,
    ResourceInfo, RetryInfo,
};
use crate::duration::ProtoDuration;

/// Whether a byte must be escaped in a JSON string.
const fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Writes `value` as a quoted, escaped JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    write_str_contents(out, value);
    out.push(b'"');
}

/// Writes the escaped contents of a JSON string, without the quotes.
fn write_str_contents(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    let clean = clean_prefix_len(bytes);
    out.extend_from_slice(&bytes[..clean]);
    if clean == bytes.len() {
        return;
    }
    let mut start = clean;
    for (at, &byte) in bytes.iter().enumerate().skip(clean) {
        if !needs_escape(byte) {
            continue;
        }
        out.extend_from_slice(&bytes[start..at]);
        start = at + 1;
        let named = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0A => b'n',
            0x0C => b'f',
            0x0D => b'r',
            _ => 0,
        };
        if named != 0 {
            out.extend_from_slice(&[b'\\', named]);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ]);
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// How many leading bytes need no escaping, found eight at a time: most
/// strings in an error body need none.
fn clean_prefix_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        if word_needs_escape(chunk) {
            break;
        }
        at += 8;
    }
    let rest = &bytes[at..];
    // A clean string of eight bytes or more ends in a clean word, which may
    // overlap the last whole chunk: one test instead of a loop over the
    // last few bytes.
    if at == bytes.len() || (rest.len() < 8 && bytes.len() >= 8 && !word_needs_escape(&bytes[bytes.len() - 8..])) {
        return bytes.len();
    }
    at + rest.iter().take_while(|&&b| !needs_escape(b)).count()
}

/// Whether any of eight bytes needs escaping.
fn word_needs_escape(chunk: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let word = u64::from_ne_bytes(chunk.try_into().expect("eight bytes"));
    // For each test, `(x - k) & !x & HIGHS` is non-zero exactly when some
    // byte of `x` is below `k` (a borrow may mark more bytes, never a word
    // that has none): below 0x20 for the control characters, zero once
    // XORed with the quote or the backslash for those two.
    let control = word.wrapping_sub(SPACES) & !word;
    let quote = word ^ u64::from_ne_bytes([b'"'; 8]);
    let backslash = word ^ u64::from_ne_bytes([b'\\'; 8]);
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGHS != 0
}

/// Writes a whole number in decimal.
pub(crate) fn write_int(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    write_uint(out, value.unsigned_abs());
}

/// Writes an unsigned whole number in decimal.
fn write_uint(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes `digits` decimal digits of `value`, with leading zeros.
fn write_padded(out: &mut Vec<u8>, value: u32, digits: usize) {
    let mut buffer = [b'0'; 9];
    let mut rest = value;
    for at in (0..digits).rev() {
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&buffer[..digits]);
}

/// Writes a Duration's proto3 JSON string, as its `Display` does.
fn write_duration(out: &mut Vec<u8>, duration: ProtoDuration) {
    out.push(b'"');
    if duration.is_negative() {
        out.push(b'-');
    }
    write_uint(out, duration.seconds().unsigned_abs());
    let nanos = duration.nanos().unsigned_abs();
    if nanos != 0 {
        out.push(b'.');
        if nanos % 1_000_000 == 0 {
            write_padded(out, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            write_padded(out, nanos / 1_000, 6);
        } else {
            write_padded(out, nanos, 9);
        }
    }
    out.extend_from_slice(b"s\"");
}

/// An int64 as proto3 JSON writes it: a decimal string.
fn write_int64_string(out: &mut Vec<u8>, value: i64) {
    out.push(b'"');
    write_int(out, value);
    out.push(b'"');
}

/// A JSON object being written: tracks whether a comma is due.
pub(crate) struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens an object.
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, empty: true }
    }

    /// Starts a member whose key needs no escaping (a field name canon
    /// knows), and gives the buffer to write its value into.
    pub(crate) fn key(&mut self, key: &str) -> &mut Vec<u8> {
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Starts a member whose key is arbitrary text.
    pub(crate) fn escaped_key(&mut self, key: &str) -> &mut Vec<u8> {
        self.comma();
        write_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    fn comma(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    /// A string member.
    pub(crate) fn str(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        write_str(out, value);
    }

    /// A string member whose value needs no escaping (a name or URL canon
    /// defines).
    pub(crate) fn plain_str(&mut self, key: &str, value: &str) {
        debug_assert!(!value.bytes().any(needs_escape), "{value:?} needs escaping");
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }

    /// A string member, left out when empty (proto3's default).
    fn non_empty_str(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.str(key, value);
        }
    }

    /// An object of strings, left out when empty.
    fn non_empty_map<'m, T: AsRef<str> + 'm>(&mut self, key: &str, map: impl ExactSizeIterator<Item = (&'m T, &'m T)>) {
        if map.len() == 0 {
            return;
        }
        let mut object = Object::open(self.key(key));
        for (key, value) in map {
            write_str(object.escaped_key(key.as_ref()), value.as_ref());
        }
        object.close();
    }

    /// An array member, left out when `items` is empty; `write` writes one
    /// item.
    fn non_empty_array<T>(&mut self, key: &str, items: &[T], write: impl FnMut(&mut Vec<u8>, &T)) {
        if !items.is_empty() {
            write_array(self.key(key), items, write);
        }
    }

    /// Closes the object.
    pub(crate) fn close(self) {
        self.out.push(b'}');
    }
}

/// Writes `items` as a JSON array; `write` writes one item.
pub(crate) fn write_array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Writes a JSON array of details, each as an `Any` with `@type` first,
/// then, when `request_id` is given, a RequestInfo that carries only it.
pub(crate) fn write_details(out: &mut Vec<u8>, details: &[Detail], request_id: Option<&str>) {
    /// An element of the array.
    enum Item<'a> {
        Detail(&'a Detail),
        RequestId(&'a str),
    }
    let items = details.iter().map(Item::Detail).chain(request_id.map(Item::RequestId));
    write_array(out, items, |out, item| match item {
        Item::Detail(detail) => write_detail(out, detail),
        Item::RequestId(id) => tagged(out, RequestInfo::TYPE_URL, |o| o.non_empty_str("requestId", id)),
    });
}

/// Writes one detail: a standard one field by field, in the proto's order
/// with default values left out; one kept as text verbatim.
pub(crate) fn write_detail(out: &mut Vec<u8>, detail: &Detail) {
    match detail {
        Detail::Unknown(unknown) => out.extend_from_slice(unknown.json().get().as_bytes()),
        Detail::Nonconforming(nonconforming) => out.extend_from_slice(nonconforming.json().get().as_bytes()),
        Detail::ErrorInfo(d) => tagged(out, ErrorInfo::TYPE_URL, |o| error_info(o, d)),
        Detail::RetryInfo(d) => tagged(out, RetryInfo::TYPE_URL, |o| retry_info(o, d)),
        Detail::DebugInfo(d) => tagged(out, DebugInfo::TYPE_URL, |o| debug_info(o, d)),
        Detail::QuotaFailure(d) => tagged(out, QuotaFailure::TYPE_URL, |o| quota_failure(o, d)),
        Detail::PreconditionFailure(d) => tagged(out, PreconditionFailure::TYPE_URL, |o| precondition_failure(o, d)),
        Detail::BadRequest(d) => tagged(out, BadRequest::TYPE_URL, |o| bad_request(o, d)),
        Detail::RequestInfo(d) => tagged(out, RequestInfo::TYPE_URL, |o| request_info(o, d)),
        Detail::ResourceInfo(d) => tagged(out, ResourceInfo::TYPE_URL, |o| resource_info(o, d)),
        Detail::Help(d) => tagged(out, Help::TYPE_URL, |o| help(o, d)),
        Detail::LocalizedMessage(d) => tagged(out, LocalizedMessage::TYPE_URL, |o| localized_message(o, d)),
    }
}

/// A standard detail as an `Any`: `@type`, then its fields.
fn tagged(out: &mut Vec<u8>, type_url: &'static str, fields: impl FnOnce(&mut Object<'_>)) {
    out.extend_from_slice(br#"{"@type":""#);
    out.extend_from_slice(type_url.as_bytes());
    out.push(b'"');
    let mut object = Object { out, empty: false };
    fields(&mut object);
    object.close();
}

fn error_info(object: &mut Object<'_>, d: &ErrorInfo) {
    object.non_empty_str("reason", &d.reason);
    object.non_empty_str("domain", &d.domain);
    object.non_empty_map("metadata", d.metadata.iter());
}

fn retry_info(object: &mut Object<'_>, d: &RetryInfo) {
    if let Some(delay) = d.retry_delay {
        write_duration(object.key("retryDelay"), delay);
    }
}

fn debug_info(object: &mut Object<'_>, d: &DebugInfo) {
    object.non_empty_array("stackEntries", &d.stack_entries, |out, entry| write_str(out, entry));
    object.non_empty_str("detail", &d.detail);
}

fn quota_failure(object: &mut Object<'_>, d: &QuotaFailure) {
    object.non_empty_array("violations", &d.violations, |out, v| {
        let mut object = Object::open(out);
        object.non_empty_str("subject", &v.subject);
        object.non_empty_str("description", &v.description);
        object.non_empty_str("apiService", &v.api_service);
        object.non_empty_str("quotaMetric", &v.quota_metric);
        object.non_empty_str("quotaId", &v.quota_id);
        object.non_empty_map("quotaDimensions", v.quota_dimensions.iter());
        if v.quota_value != 0 {
            write_int64_string(object.key("quotaValue"), v.quota_value);
        }
        if let Some(future) = v.future_quota_value {
            write_int64_string(object.key("futureQuotaValue"), future);
        }
        object.close();
    });
}

fn precondition_failure(object: &mut Object<'_>, d: &PreconditionFailure) {
    object.non_empty_array("violations", &d.violations, |out, v| {
        let mut object = Object::open(out);
        object.non_empty_str("type", &v.r#type);
        object.non_empty_str("subject", &v.subject);
        object.non_empty_str("description", &v.description);
        object.close();
    });
}

fn bad_request(object: &mut Object<'_>, d: &BadRequest) {
    object.non_empty_array("fieldViolations", &d.field_violations, |out, v| {
        let mut object = Object::open(out);
        object.non_empty_str("field", &v.field);
        object.non_empty_str("description", &v.description);
        object.non_empty_str("reason", &v.reason);
        if let Some(localized) = &v.localized_message {
            let mut inner = Object::open(object.key("localizedMessage"));
            localized_message(&mut inner, localized);
            inner.close();
        }
        object.close();
    });
}

fn request_info(object: &mut Object<'_>, d: &RequestInfo) {
    object.non_empty_str("requestId", &d.request_id);
    object.non_empty_str("servingData", &d.serving_data);
}

fn resource_info(object: &mut Object<'_>, d: &ResourceInfo) {
    object.non_empty_str("resourceType", &d.resource_type);
    object.non_empty_str("resourceName", &d.resource_name);
    object.non_empty_str("owner", &d.owner);
    object.non_empty_str("description", &d.description);
}

fn help(object: &mut Object<'_>, d: &Help) {
    object.non_empty_array("links", &d.links, |out, link| {
        let mut object = Object::open(out);
        object.non_empty_str("description", &link.description);
        object.non_empty_str("url", &link.url);
        object.close();
    });
}

fn localized_message(object: &mut Object<'_>, d: &LocalizedMessage) {
    object.non_empty_str("locale", &d.locale);
    object.non_empty_str("message", &d.message);
}

/// An upper estimate of a detail's written length when no string in it
/// needs escaping, for sizing the output buffer once.
pub(crate) fn estimated_len(detail: &Detail) -> usize {
    fn strings<'s>(values: impl IntoIterator<Item = &'s String>) -> usize {
        values.into_iter().map(|s| s.len() + 24).sum()
    }
    fn map<T: AsRef<str>>(map: &std::collections::BTreeMap<T, T>) -> usize {
        map.iter().map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 6).sum::<usize>() + 16
    }
    let fields = match detail {
        Detail::Unknown(unknown) => return unknown.json().get().len(),
        Detail::Nonconforming(nonconforming) => return nonconforming.json().get().len(),
        Detail::ErrorInfo(d) => d.reason.len() + d.domain.len() + 32 + map(&d.metadata),
        Detail::RetryInfo(_) => 48,
        Detail::DebugInfo(d) => strings(&d.stack_entries) + d.detail.len() + 32,
        Detail::QuotaFailure(d) => d
            .violations
            .iter()
            .map(|v| {
                strings([&v.subject, &v.description, &v.api_service, &v.quota_metric, &v.quota_id])
                    + map(&v.quota_dimensions)
                    + 96
            })
            .sum(),
        Detail::PreconditionFailure(d) => {
            d.violations.iter().map(|v| strings([&v.r#type, &v.subject, &v.description])).sum()
        }
        Detail::BadRequest(d) => d
            .field_violations
            .iter()
            .map(|v| {
                strings([&v.field, &v.description, &v.reason])
                    + v.localized_message.as_ref().map_or(0, |m| m.locale.len() + m.message.len() + 64)
            })
            .sum(),
        Detail::RequestInfo(d) => d.request_id.len() + d.serving_data.len() + 32,
        Detail::ResourceInfo(d) => strings([&d.resource_type, &d.resource_name, &d.owner, &d.description]),
        Detail::Help(d) => d.links.iter().map(|l| l.description.len() + l.url.len() + 40).sum(),
        Detail::LocalizedMessage(d) => d.locale.len() + d.message.len() + 32,
    };
    fields + detail.type_url().len() + 16
}
