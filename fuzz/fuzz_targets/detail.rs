//! Fuzzes `canon::details::Detail::from_json` with arbitrary text.
//!
//! The invariants:
//! - `to_json()` always writes JSON (the grammar's; see the decode target
//!   for why not "JSON that a `serde_json::Value` can hold");
//! - an unknown or nonconforming detail read from a JSON object writes
//!   back exactly the text it was read from. The whitespace around the
//!   object is not part of it (canon keeps the value, as
//!   `serde_json::value::RawValue` does), so it is trimmed before comparing.

#![no_main]

use canon::Detail;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let detail = Detail::from_json(text);
    let written = detail.to_json();
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&written) {
        panic!("to_json() is not JSON ({error}): {written}\ninput: {text:?}\ndetail: {detail:?}");
    }
    let _ = (detail.kind(), detail.type_url());
    let json_whitespace = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let input_is_object = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
        && text.trim_start_matches(json_whitespace).starts_with('{');
    if input_is_object && matches!(detail, Detail::Unknown(_) | Detail::Nonconforming(_)) {
        assert_eq!(written, text.trim_matches(json_whitespace), "detail: {detail:?}");
    }
});
