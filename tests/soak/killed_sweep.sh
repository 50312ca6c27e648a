#!/usr/bin/env bash
# tests/soak/killed_sweep.sh: the killed-sweep test (test_ana_sweep) N times in a
# row under CPU load, to show it is not flaky. Bounded: at most N runs and
# SOAK_SECONDS of wall time; the load is two busy loops that end with the script.
#
#   tests/soak/killed_sweep.sh [N] [BUILD_DIR]     (default 50, build/)
#
# Prints one line per run and "N/N passed" at the end; exits 1 on the first
# failure (its output is kept in BUILD_DIR/soak-killed-sweep.log).
set -euo pipefail
n=${1:-50}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${2:-$here/build}
limit=${SOAK_SECONDS:-1200}
log=$build/soak-killed-sweep.log
[ -x "$build/tests/test_ana_sweep" ] || { echo "soak: build first (./dev.sh build)" >&2; exit 2; }

# Load: busy loops, one per core, each bounded by the same deadline.
load=()
deadline=$((SECONDS + limit))
for _ in $(seq "$(nproc)"); do
    (while [ $SECONDS -lt $deadline ]; do :; done) &
    load+=($!)
done
cleanup() { for p in "${load[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

passed=0
for i in $(seq "$n"); do
    if [ $SECONDS -ge $deadline ]; then
        echo "soak: time limit ($limit s) reached after $passed runs" >&2
        break
    fi
    t0=$SECONDS
    if (cd "$build" && timeout 300 ctest -R '^test_ana_sweep$' --output-on-failure >"$log" 2>&1); then
        passed=$((passed + 1))
        echo "run $i: passed ($((SECONDS - t0)) s)"
    else
        echo "run $i: FAILED (see $log)"
        echo "$passed/$n passed"
        exit 1
    fi
done
echo "$passed/$n passed"
[ "$passed" -eq "$n" ]
