#!/usr/bin/env bash
# Checks canon's error bodies against clients nobody here wrote: Python's
# protobuf json_format, googleapis-common-protos and google-api-core.
#
# Usage: scripts/conformance.sh
#
# Creates a virtualenv at .venv (or reuses it), installs the pinned Python
# packages, writes the bodies with the conformance_bodies example into a
# temporary directory, and runs scripts/conformance.py on them. Prints one
# line per check and `N passed, M failed`; exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Versions verified to install and pass here (2026-11).
.venv/bin/pip install --quiet --disable-pip-version-check \
    protobuf==7.36.2 \
    googleapis-common-protos==1.76.0 \
    google-api-core==2.44.0 \
    requests==2.34.2

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

cargo run -q -p canon --example conformance_bodies -- "$dir"
# Built once here so that the checks that run `canon explain` do not each
# wait for cargo.
cargo build -q -p canon-cli --bin canon
.venv/bin/python scripts/conformance.py "$dir"
