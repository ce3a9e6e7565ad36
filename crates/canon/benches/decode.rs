//! Decode and encode cost of canon's typed model against an untyped
//! `serde_json::Value` on the same bytes.
//!
//! ```text
//! cargo bench -p canon --bench decode -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Each `decode/<body>` group measures, on one body:
//! - `typed`: `canon::decode` (HTTP status, empty headers, body) and then
//!   `Decoded::advice()`, which is what a client does with an error;
//! - `value`: `serde_json::from_slice::<serde_json::Value>`, which only
//!   parses the bytes and understands nothing.
//!
//! Each `encode/<body>` group measures writing the decoded status as an
//! AIP-193, a Google wrapped and a Gcore body, against
//! `serde_json::to_vec` of the body's `Value`.
//!
//! The issue's goal is typed decode+advice at most 1.0× the Value parse
//! (aim 0.5×). Results are in BENCHMARKS.md at the root of the repository.

use std::hint::black_box;

use canon::{Encoding, decode};
use criterion::Criterion;
use http::HeaderMap;

/// The bodies, as recorded for the spec tests in `tests/data/spec/` (see
/// the README there): (group name, HTTP status, body).
///
/// - `cudo_429`: the CUDO page's 429 example, byte for byte as the page
///   shows it (tabs included), plus a final newline;
/// - `gcore_validation_400`: a Gcore `ValidationError` with
///   `invalid_fields`, modelled on the live Gcore page's example;
/// - `gcore_quota_400`: a Gcore `QuotaLimitExceed` with `info` (usage,
///   requested usage and limit), modelled on the live page's example;
/// - `gcore_not_found_404`: a Gcore `NotFoundError`, modelled on the live
///   page's example.
const BODIES: &[(&str, u16, &str)] = &[
    ("cudo_429", 429, include_str!("../tests/data/spec/cudo-5-429-resource-exhausted.json")),
    ("gcore_validation_400", 400, include_str!("../tests/data/spec/gcore-live-validation-error.json")),
    ("gcore_quota_400", 400, include_str!("../tests/data/spec/gcore-live-quota-limit-exceed.json")),
    ("gcore_not_found_404", 404, include_str!("../tests/data/spec/gcore-live-not-found.json")),
];

fn bench_decode(c: &mut Criterion) {
    let headers = HeaderMap::new();
    for &(name, http_status, body) in BODIES {
        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.bench_function("typed", |b| {
            b.iter(|| {
                let decoded = decode(black_box(http_status), &headers, black_box(body.as_bytes()));
                // The advice borrows from the decoded error; both are built
                // and dropped in each iteration.
                black_box(decoded.advice());
                decoded
            })
        });
        group.bench_function("value", |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes())).expect("the body is JSON")
            })
        });
        group.finish();
    }
}

fn bench_encode(c: &mut Criterion) {
    let headers = HeaderMap::new();
    for &(name, http_status, body) in BODIES {
        let status = decode(http_status, &headers, body.as_bytes()).status;
        let value: serde_json::Value = serde_json::from_str(body).expect("the body is JSON");
        let mut group = c.benchmark_group(format!("encode/{name}"));
        for (label, encoding) in
            [("aip193", Encoding::Aip193), ("google", Encoding::GoogleWrapped), ("gcore", Encoding::Gcore)]
        {
            group.bench_function(label, |b| b.iter(|| canon::encode(black_box(&status), encoding)));
        }
        group.bench_function("value", |b| {
            b.iter(|| serde_json::to_vec(black_box(&value)).expect("a Value always serializes"))
        });
        group.finish();
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_decode(&mut criterion);
    bench_encode(&mut criterion);
    criterion.final_summary();
}
