#!/usr/bin/env bash
# Fuzzes canon's decoder and detail reader with cargo-fuzz (libFuzzer).
#
# Usage: scripts/fuzz.sh [SECONDS]   (default 20: each target runs that long)
#
# Installs cargo-fuzz when it is missing, builds every target of fuzz/, and
# runs each one for SECONDS (libFuzzer's -max_total_time), starting from
# the committed seeds in fuzz/seeds/<target>/ and the corpus it grew on
# earlier runs in fuzz/corpus/<target>/ (not committed). A crash leaves its
# input in fuzz/artifacts/<target>/ (not committed); the script lists the
# new ones with their panic messages and exits non-zero.
#
# cargo-fuzz passes nightly-only flags to rustc (sanitizers, coverage
# instrumentation). The project builds with the stable toolchain (no other
# can be fetched on its machines), so the script sets RUSTC_BOOTSTRAP=1,
# which lets stable rustc accept them.
set -euo pipefail

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS]   (a whole number of seconds per target, default 20)" >&2
    exit 2
fi

cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1

# No sanitizer: canon forbids unsafe code and the invariants are checked by
# assertions, so AddressSanitizer would only find bugs in dependencies, at a
# quarter of the speed (about 2,000 against 8,500 runs a second here).
sanitizer=(--sanitizer none)

cargo fuzz build "${sanitizer[@]}"

# -fork=1 -ignore_crashes=1: a crash does not end the run, so that one bug
# does not hide the next; every crashing input is kept as an artifact, and
# those written by this run are listed with the panic each one causes.
stamp="$(mktemp)"
trap 'rm -f "$stamp"' EXIT
written_since_stamp() { if [ -d "fuzz/artifacts/$1" ]; then find "fuzz/artifacts/$1" -type f -newer "$stamp" | sort; fi; }

failed=0
for target in $(cargo fuzz list); do
    mkdir -p "fuzz/corpus/$target"
    touch "$stamp"
    echo "== fuzzing $target for ${seconds} s"
    cargo fuzz run "${sanitizer[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -fork=1 -ignore_crashes=1 -print_final_stats=1 \
        || failed=1
    new="$(written_since_stamp "$target")"
    if [ -n "$new" ]; then
        failed=1
        echo "== $target: $(echo "$new" | wc -l) crashing input(s):"
        while read -r artifact; do
            why="$({ cargo fuzz run "${sanitizer[@]}" "$target" "$artifact" 2>&1 || true; } | grep -A1 -m1 'panicked at' | tail -1 | cut -c1-300 || true)"
            echo "   $artifact: $why"
        done <<< "$new"
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "fuzzing found crashes (inputs in fuzz/artifacts/; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run -s none TARGET ARTIFACT)" >&2
    exit 1
fi
echo "fuzzing found nothing in ${seconds} s per target"
