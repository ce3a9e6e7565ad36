# Sourced by the scripts that drive a `canon serve` (sdk_cudo.sh,
# sdk_gcore.sh, schemathesis.sh): builds `canon` and starts it on a free
# loopback port for the rest of the script.
#
#   canon_build PYTHON       builds the debug `canon`; sets $canon to its path
#                            (PYTHON reads `cargo metadata`'s JSON)
#   canon_start ARGS...      starts `canon serve ARGS... --addr 127.0.0.1:0`,
#                            stops it when the script exits, waits for its
#                            banner and sets $canon_url; $canon_work is a
#                            temporary directory removed at exit, with the
#                            server's stderr in $canon_work/server.log
#                            (or in $CANON_SERVE_LOG when set)

canon_build() {
    cargo build -q -p canon-cli --bin canon
    canon="$(cargo metadata --format-version 1 --no-deps | "$1" -c \
        'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/canon"
}

canon_start() {
    canon_work="$(mktemp -d)"
    local log="${CANON_SERVE_LOG:-$canon_work/server.log}"
    "$canon" serve "$@" --addr 127.0.0.1:0 >"$canon_work/banner" 2>"$log" &
    canon_pid=$!
    trap 'kill "$canon_pid" 2>/dev/null || true; wait "$canon_pid" 2>/dev/null || true; rm -rf "$canon_work"' EXIT
    canon_url=""
    for _ in $(seq 1 100); do
        canon_url="$(sed -n 's/^  URL *//p' "$canon_work/banner")"
        [ -n "$canon_url" ] && return 0
        sleep 0.1
    done
    echo "canon serve did not start:" >&2
    cat "$log" >&2
    return 1
}
