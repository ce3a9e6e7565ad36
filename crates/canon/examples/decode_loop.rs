//! A loop of the calls `benches/decode.rs` measures, for counting
//! instructions with callgrind, which the machine's load does not disturb.
//!
//! ```text
//! cargo build --release -p canon --example decode_loop
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/decode_loop BODY MODE N
//! ```
//!
//! `BODY` is one of the bench's bodies (`cudo_429`, `gcore_validation_400`,
//! `gcore_quota_400`, `gcore_not_found_404`), `MODE` is `typed`
//! (`canon::decode` with empty headers, then `Decoded::advice()`) or
//! `value` (`serde_json::from_slice::<serde_json::Value>`), and `N` is the
//! number of calls. The instructions per call are
//! `(Ir(N = 2000) − Ir(N = 0)) / 2000`, which cancels the start-up cost.
//! The results are dropped, as criterion drops them.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::process::ExitCode;

use http::HeaderMap;

/// The bench's bodies: (name, HTTP status, body).
const BODIES: &[(&str, u16, &str)] = &[
    ("cudo_429", 429, include_str!("../tests/data/spec/cudo-5-429-resource-exhausted.json")),
    ("gcore_validation_400", 400, include_str!("../tests/data/spec/gcore-live-validation-error.json")),
    ("gcore_quota_400", 400, include_str!("../tests/data/spec/gcore-live-quota-limit-exceed.json")),
    ("gcore_not_found_404", 404, include_str!("../tests/data/spec/gcore-live-not-found.json")),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, mode, count] = args.as_slice() else {
        eprintln!("usage: decode_loop BODY typed|value N");
        return ExitCode::from(2);
    };
    let Some(&(_, http_status, body)) = BODIES.iter().find(|(n, _, _)| n == name) else {
        eprintln!("unknown body {name}; one of: {}", BODIES.iter().map(|b| b.0).collect::<Vec<_>>().join(", "));
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<u32>() else {
        eprintln!("N must be a whole number, not {count}");
        return ExitCode::from(2);
    };
    let headers = HeaderMap::new();
    match mode.as_str() {
        "typed" => {
            for _ in 0..count {
                let decoded = canon::decode(black_box(http_status), black_box(&headers), black_box(body.as_bytes()));
                // The advice borrows from the decoded error: both are
                // built and dropped in each call.
                black_box(decoded.advice());
                black_box(decoded);
            }
        }
        "value" => {
            for _ in 0..count {
                let value = serde_json::from_slice::<serde_json::Value>(black_box(body.as_bytes()));
                drop(black_box(value));
            }
        }
        other => {
            eprintln!("MODE must be typed or value, not {other}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
