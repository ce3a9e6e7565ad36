#!/usr/bin/env bash
# Benchmarks `canon serve --memory` against Stoplight Prism mocking the same
# OpenAPI document, on loopback, in the same run: throughput and latency of
# get, list and create at fixed concurrencies.
#
# Usage: scripts/bench_emulator.sh      (DURATION=10 WARMUP=2 CONNECTIONS="32 4")
#
# Builds `canon` and the load generator (crates/canon-cloud/examples/
# http_load.rs) in release, starts `canon serve --memory`, saves its
# /openapi.json, installs @stoplight/prism-cli with npm into a temporary
# directory (nothing is committed), starts `prism mock` on the saved
# document, and runs the same load against both, one server at a time.
# Prism runs with its defaults (it logs each request).
set -euo pipefail

cd "$(dirname "$0")/.."

duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
connections="${CONNECTIONS:-32 4}"
prism_version="${PRISM_VERSION:-5.14.2}"

cargo build -q --release -p canon-cli --bin canon
cargo build -q --release -p canon-cloud --example http_load
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for() {
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "$1"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers at $1" >&2
    return 1
}

key="bench-key"
start_canon() {
    canon_port="$(free_port)"
    "$target/canon" serve --memory --bootstrap-key "$key" --addr "127.0.0.1:$canon_port" >"$work/canon.out" 2>"$work/canon.log" &
    canon_pid=$!
    pids+=("$canon_pid")
    wait_for "http://127.0.0.1:$canon_port/openapi.json"
}
stop_canon() {
    kill "$canon_pid" 2>/dev/null || true
    wait "$canon_pid" 2>/dev/null || true
}

start_canon
curl -s "http://127.0.0.1:$canon_port/openapi.json" >"$work/openapi.json"
stop_canon

echo "== installing @stoplight/prism-cli@$prism_version into $work/prism"
mkdir -p "$work/prism"
(cd "$work/prism" && npm install --silent --no-audit --no-fund "@stoplight/prism-cli@$prism_version" >/dev/null)
prism_port="$(free_port)"
"$work/prism/node_modules/.bin/prism" mock --port "$prism_port" "$work/openapi.json" >"$work/prism.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$prism_port/v1/vms/gpu-models"

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version)"
for conns in $connections; do
    # A fresh emulator for each concurrency, so that every run lists the
    # same five VMs.
    start_canon
    # Let the previous run's server (Node's garbage collection after a
    # load, the last emulator's exit) settle before measuring.
    sleep 3
    "$target/examples/http_load" --url "http://127.0.0.1:$canon_port" --key "$key" --label "canon-$conns" \
        --connections "$conns" --duration "$duration" --warmup "$warmup"
    stop_canon
    sleep 3
    "$target/examples/http_load" --url "http://127.0.0.1:$prism_port" --key "$key" --label "prism-$conns" \
        --connections "$conns" --duration "$duration" --warmup "$warmup"
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
