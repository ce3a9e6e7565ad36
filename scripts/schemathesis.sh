#!/usr/bin/env bash
# Fuzzes `canon serve` with schemathesis against its own /openapi.json:
# every response must be no 5xx, match its documented schema, have a
# documented status code and content type.
#
# Usage: scripts/schemathesis.sh        (MAX_EXAMPLES=N to change the 40
#                                         examples per operation)
#
# Creates a virtualenv at .venv-schemathesis (or reuses it), installs the
# pinned schemathesis, builds `canon`, starts `canon serve --memory` with a
# bootstrap key on a free port, and runs schemathesis twice: on the CUDO
# surface (/v1, `Authorization: Bearer KEY`) and on the Gcore surface
# (/cloud, `Authorization: APIKey KEY`). The admin API (/_canon) is left
# out on purpose: announcing maintenance windows, setting capacity to zero
# and adding fault rules make the emulated API answer 503 and break
# connections, which is its job. Takes about a minute; exits non-zero on
# any failure.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"

# CPython 3.11 up to 3.11.7 can fail inside hypothesis with "AST
# constructor recursion depth mismatch" (CPython gh-106905), which
# schemathesis reports as a runtime error: prefer a newer interpreter.
# PYTHON=/path/to/python chooses one.
python="${PYTHON:-}"
if [ -z "$python" ]; then
    for candidate in python3.13 python3.12 python3; do
        if "$candidate" -c 'import sys' 2>/dev/null; then
            python="$candidate"
            break
        fi
    done
fi
if [ ! -x .venv-schemathesis/bin/st ]; then
    "$python" -m venv .venv-schemathesis
fi
# Verified to install and pass here (2026-11).
.venv-schemathesis/bin/pip install --quiet --disable-pip-version-check schemathesis==4.32.5

. "$root/scripts/lib/canon_serve.sh"
canon_build .venv-schemathesis/bin/python
key="schemathesis-$(date +%s)-$$"
canon_start --memory --bootstrap-key "$key" --seed 1
url="$canon_url"
work="$canon_work"

checks=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance
examples="${MAX_EXAMPLES:-40}"
status=0
cd "$work"
st_run() {
    local prefix="$1" scheme="$2"
    "$root/.venv-schemathesis/bin/st" run "$url/openapi.json" \
        --header "Authorization: $scheme $key" \
        --checks "$checks" \
        --include-path-regex "^$prefix" \
        --max-examples "$examples" \
        --seed 1 \
        --workers 2 \
        --request-timeout 10
}
# A run that fails with CPython 3.11's "AST constructor recursion depth
# mismatch" (see above; it strikes at random inside hypothesis, not in the
# server) runs once more. The runs are seeded, so a failure that the server
# causes fails the second run too.
run() {
    local name="$1" prefix="$2" scheme="$3" log="$work/schemathesis-$3.log"
    echo "== schemathesis: $name ($prefix)"
    if st_run "$prefix" "$scheme" 2>&1 | tee "$log"; then
        return
    fi
    if grep -q "AST constructor recursion depth mismatch" "$log"; then
        echo "== schemathesis: $name ($prefix) again: the run above hit CPython gh-106905"
        if st_run "$prefix" "$scheme"; then
            return
        fi
    fi
    status=1
}
run "CUDO surface" /v1/ Bearer
run "Gcore surface" /cloud/ APIKey

if [ "$status" -ne 0 ]; then
    echo "schemathesis found failures; the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
