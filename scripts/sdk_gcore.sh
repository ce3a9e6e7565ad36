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

. scripts/lib/canon_serve.sh
canon_build .venv-sdk-gcore/bin/python
# Gcore's permanent tokens are `{id}${secret}`; single quotes keep the `$`.
key='4242$sdk-gcore-'"$(date +%s)-$$"
canon_start --memory --bootstrap-key "$key" --transitions 1s

# A fresh store's demo project is project 1; region 1 is gb-bournemouth-1.
GCORE_BASE_URL="$canon_url" GCORE_API_KEY="$key" GCORE_CLOUD_PROJECT_ID=1 GCORE_CLOUD_REGION_ID=1 \
    .venv-sdk-gcore/bin/python scripts/sdk_gcore.py
