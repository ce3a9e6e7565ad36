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

. scripts/lib/canon_serve.sh
canon_build .venv-sdk-cudo/bin/python
key="sdk-cudo-$(date +%s)-$$"
canon_start --memory --bootstrap-key "$key"

.venv-sdk-cudo/bin/python scripts/sdk_cudo.py "$canon_url" "$key"
