#!/usr/bin/env bash
# Runs every test of the project:
#   1. the Rust test suites (unit, integration over loopback HTTP, property,
#      doc and CLI tests) with `cargo test --workspace`;
#   2. conformance with clients nobody here wrote, each in its own venv:
#      protobuf + googleapis-common-protos + google-api-core on the bodies
#      canon encodes; the real `cudo-compute` and `gcore` SDKs against
#      `canon serve`; schemathesis against `canon serve`'s /openapi.json;
#   3. the cargo-fuzz targets: built, then run for a short bounded time.
#
# Usage: scripts/test.sh [--rust-only]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test --workspace"
cargo test --workspace --locked

if [ "${1:-}" = "--rust-only" ]; then
  exit 0
fi

echo "== scripts/conformance.sh"
scripts/conformance.sh

echo "== scripts/sdk_cudo.sh"
scripts/sdk_cudo.sh

echo "== scripts/sdk_gcore.sh"
scripts/sdk_gcore.sh

echo "== scripts/schemathesis.sh"
scripts/schemathesis.sh

echo "== fuzz targets: build and a short run"
scripts/fuzz.sh 10
