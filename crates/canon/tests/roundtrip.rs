//! Property tests: a Status written in a dialect and read back keeps
//! everything that dialect can carry, and decoding never panics.
//!
//! AIP-193, Google wrapped, grpc-gateway and problem+json carry a Status
//! whole. Gcore carries less; [`gcore_carried`] states exactly what.

use std::collections::BTreeMap;

use canon::details::*;
use canon::{Code, Detail, Dialect, Encoding, ProtoDuration, Status, decode, encode};
use http::HeaderMap;
use proptest::prelude::*;

mod strategies;

fn text() -> impl Strategy<Value = String> {
    // Messages without braces: a message holding a whole Google error JSON
    // is read as that error (the nested dialect), by design.
    "[a-zA-Z0-9 .,'!?:/_\\-éß漢😀\"\\\\\n]{0,24}"
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-zA-Z0-9]{0,10}".prop_filter("reserved for Gcore", |k| k != "exceptionClass")
}

fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(key(), prop_oneof![text(), "-?[0-9]{1,5}", Just("[1,2]".to_owned())], 0..3)
}

fn localized() -> impl Strategy<Value = LocalizedMessage> {
    (text(), text()).prop_map(|(locale, message)| LocalizedMessage { locale, message })
}

fn duration() -> impl Strategy<Value = ProtoDuration> {
    (-1_000_000i64..1_000_000, 0i32..1_000_000_000).prop_map(|(seconds, nanos)| {
        let nanos = if seconds < 0 { -nanos } else { nanos };
        ProtoDuration::new(seconds, nanos).unwrap()
    })
}

fn standard_detail() -> impl Strategy<Value = Detail> {
    strategies::standard_detail_with(text, map, duration, localized)
}

fn unknown_detail() -> impl Strategy<Value = Detail> {
    ("[a-z]{1,8}\\.[A-Z][a-z]{1,8}", map()).prop_map(|(name, fields)| {
        let fields = fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        Detail::Unknown(UnknownDetail::new(&format!("type.example.com/{name}"), fields))
    })
}

fn status() -> impl Strategy<Value = Status> {
    let code = (0usize..17).prop_map(|i| Code::ALL[i]);
    let details = prop::collection::vec(prop_oneof![4 => standard_detail(), 1 => unknown_detail()], 0..6);
    (code, text(), details).prop_map(|(code, message, details)| {
        let mut status = Status::new(code, message);
        for detail in details {
            status.add_detail(detail);
        }
        status
    })
}

fn headers_for(encoding: Encoding, content_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if encoding == Encoding::Problem {
        headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
    }
    headers
}

fn round_trip(status: &Status, encoding: Encoding) -> canon::Decoded {
    let encoded = encode(status, encoding);
    decode(encoded.http_status, &headers_for(encoding, encoded.content_type), &encoded.body)
}

/// What a Gcore body keeps of a Status: the code up to its class, the
/// message, ErrorInfo metadata (as `info`), field violations (field and
/// description, grouped by field) and the request id.
fn gcore_carried(status: &Status) -> Status {
    let row = canon::gcore::row_for_status(status.code(), None);
    let read_back = canon::gcore::row_for_class(row.exception_class, status.message()).unwrap();
    let mut metadata = status.error_info().map(|i| i.metadata.clone()).unwrap_or_default();
    metadata.insert("exceptionClass".into(), row.exception_class.into());
    let mut details: Vec<Detail> =
        vec![ErrorInfo { reason: read_back.reason.into(), domain: "api.gcore.com".into(), metadata }.into()];
    let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in status.field_violations() {
        by_field.entry(&v.field).or_default().push(&v.description);
    }
    if !by_field.is_empty() {
        let field_violations = by_field
            .into_iter()
            .flat_map(|(field, descriptions)| descriptions.into_iter().map(move |d| FieldViolation::new(field, d)))
            .collect();
        details.push(BadRequest { field_violations }.into());
    }
    if let Some(id) = status.request_id() {
        details.push(RequestInfo::new(id).into());
    }
    Status::with_details(read_back.code, status.message().to_owned(), details)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn whole_status_dialects_keep_everything(status in status()) {
        for (encoding, dialect) in [
            (Encoding::Aip193, Dialect::Aip193),
            (Encoding::GoogleWrapped, Dialect::GoogleWrapped),
            (Encoding::GrpcGateway, Dialect::GrpcGateway),
            (Encoding::Problem, Dialect::Problem),
        ] {
            let decoded = round_trip(&status, encoding);
            prop_assert_eq!(decoded.dialect, dialect);
            let expected = status.normalized().into_owned();
            prop_assert_eq!(&decoded.status, &expected, "{}", encoding);
        }
    }

    #[test]
    fn gcore_keeps_what_it_can_carry(status in status().prop_filter(
        "a status that is not already a Gcore error",
        |s| s.error_info().is_none_or(|i| i.domain != "api.gcore.com"),
    )) {
        let decoded = round_trip(&status, Encoding::Gcore);
        prop_assert_eq!(decoded.dialect, Dialect::Gcore);
        prop_assert_eq!(decoded.status, gcore_carried(&status));
    }

    #[test]
    fn a_gcore_error_survives_a_second_round_trip(status in status()) {
        let once = round_trip(&status, Encoding::Gcore).status;
        let twice = round_trip(&once, Encoding::Gcore).status;
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn decoding_never_panics(
        http in 0u16..1000,
        body in prop::collection::vec(any::<u8>(), 0..256),
        retry_after in "[ -~]{0,20}",
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = retry_after.parse() {
            headers.insert("retry-after", value);
        }
        let decoded = decode(http, &headers, &body);
        let _ = decoded.advice();
        for encoding in Encoding::ALL {
            let encoded = encode(&decoded.status, *encoding);
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&encoded.body).is_ok());
        }
    }

    #[test]
    fn json_shaped_garbage_never_panics(body in "[{}\\[\\]\":,a-z0-9@. ]{0,80}") {
        let decoded = decode(400, &HeaderMap::new(), body.as_bytes());
        let _ = decoded.advice();
    }

    #[test]
    fn durations_round_trip_through_their_text(d in duration()) {
        prop_assert_eq!(d.to_string().parse::<ProtoDuration>().unwrap(), d);
    }
}
