#!/usr/bin/env bash
# Drives the real `gcore` Python SDK (0.59.0) against `canon serve`'s
# Gcore surface (/cloud).
#
# Usage: scripts/sdk_gcore.sh
#
# Creates a virtualenv at .venv-sdk-gcore (or reuses it), installs the
# pinned SDK, builds `canon`, starts `canon serve --memory` with a
# Gcore-style bootstrap key (`{id}${secret}`) on a free port, with
# transitions that take one second so that tasks are seen RUNNING, and
# runs scripts/sdk_gcore.py with GCORE_BASE_URL, GCORE_API_KEY,
# GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID set: the tour, then
# every error of the Gcore page with the SDK's exception class, the exact
# envelope and the SDK's retries as the journal shows them. Prints one
# line per check and `N passed, M failed`; exits non-zero on failure.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ ! -x .venv-sdk-gcore/bin/python ]; then
    python3 -m venv .venv-sdk-gcore
fi
# The version FACTS.md names, verified to install here (2026-11).
.venv-sdk-gcore/bin/pip install --quiet --disable-pip-version-check gcore==0.59.0

cargo build -q -p canon-cli --bin canon
canon="$(cargo metadata --format-version 1 --no-deps | .venv-sdk-gcore/bin/python -c \
    'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/canon"

# Gcore's permanent tokens are `{id}${secret}`; single quotes keep the `$`.
key='4242$sdk-gcore-'"$(date +%s)-$$"
out="$(mktemp)"
"$canon" serve --memory --bootstrap-key "$key" --addr 127.0.0.1:0 --transitions 1s >"$out" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$out"' EXIT

url=""
for _ in $(seq 1 100); do
    url="$(sed -n 's/^  URL *//p' "$out")"
    [ -n "$url" ] && break
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "canon serve did not start" >&2
    exit 1
fi

# A fresh store's demo project is project 1; region 1 is gb-bournemouth-1.
GCORE_BASE_URL="$url" GCORE_API_KEY="$key" GCORE_CLOUD_PROJECT_ID=1 GCORE_CLOUD_REGION_ID=1 \
    .venv-sdk-gcore/bin/python scripts/sdk_gcore.py
