#!/usr/bin/env bash
# Runs every test of the project: the Rust test suites (unit, integration,
# property and doc tests), the conformance checks against third-party
# clients in a Python venv, and the fuzz targets for a short bounded run.
#
# Usage: scripts/test.sh [--rust-only]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test --workspace"
cargo test --workspace --locked

if [ "${1:-}" = "--rust-only" ]; then
  exit 0
fi

echo "== conformance with protobuf, googleapis-common-protos and google-api-core"
scripts/conformance.sh

echo "== fuzz targets: build and a short run"
scripts/fuzz.sh 15
