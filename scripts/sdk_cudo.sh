#!/usr/bin/env bash
# Drives the real `cudo-compute` Python SDK (0.3.6) against `canon serve`.
#
# Usage: scripts/sdk_cudo.sh
#
# Creates a virtualenv at .venv-sdk-cudo (or reuses it), installs the
# pinned SDK, builds `canon`, starts `canon serve --memory` with a
# bootstrap key on a free port, and runs scripts/sdk_cudo.py: the tour
# (projects, data centers, machine types, VMs, disks, SSH keys) and every
# documented error as an ApiException with the exact AIP-193 body. Prints
# one line per check and `N passed, M failed`; exits non-zero on failure.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ ! -x .venv-sdk-cudo/bin/python ]; then
    python3 -m venv .venv-sdk-cudo
fi
# The version FACTS.md names, verified to install here (2026-11).
.venv-sdk-cudo/bin/pip install --quiet --disable-pip-version-check cudo-compute==0.3.6

cargo build -q -p canon-cli --bin canon
canon="$(cargo metadata --format-version 1 --no-deps | .venv-sdk-cudo/bin/python -c \
    'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/canon"

key="sdk-cudo-$(date +%s)-$$"
out="$(mktemp)"
"$canon" serve --memory --bootstrap-key "$key" --addr 127.0.0.1:0 >"$out" 2>"${CANON_SERVE_LOG:-/dev/null}" &
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

.venv-sdk-cudo/bin/python scripts/sdk_cudo.py "$url" "$key"
