#!/usr/bin/env bash
# bench_run_phases.sh: where `parley run`'s wall time goes, 10 perfect seats
# (paper preset), phase by phase (bench/RESULTS.md, issue 19, "parley run").
#
# usage: bench/bench_run_phases.sh BIN_DIR [RUNS] [parley run options...]
#   RUNS  how many runs (default 7); each prints one line, then the medians
#
# Phases, from this script's clock, the broker's log and the birth times of
# the agents' logs (each seat creates its log before anything else):
#   total        exec of `parley run` to its exit
#   to-ready     to the broker's BRK-READY (bound, keys written)
#   spawns       the first seat's log to the last one's
#   to-start     the last seat's log to BRK-GAME-START (every seat joined)
#   play         BRK-GAME-START to BRK-GAME-OVER
#   teardown     BRK-GAME-OVER to `parley run`'s exit
# Give "before" and "after" BIN_DIRs in turns (interleaved) on a busy machine.
set -eu
bin=$1
runs=${2:-7}
shift $(( $# >= 2 ? 2 : 1 ))
tmp=$(mktemp -d /tmp/bench-phases-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf 'seats:\n  - {policy: perfect, count: 10}\n' >"$tmp/ten.yaml"

# HH:MM:SS.fraction -> ms of the day
ms() { echo "$1" | awk -F'[:.]' '{printf "%.3f", (($1 * 60 + $2) * 60 + $3) * 1000 + ("0." $4) * 1000}'; }
births() { stat -c %w "$1"/agents/*.log | awk '{print $2}' | sort; }
line() { grep -m1 "$2" "$1/broker.log" | cut -d' ' -f1; }

for i in $(seq "$runs"); do
    o="$tmp/run-$i"
    t0=$(date +%s%N)
    "$bin/parley" run "$tmp/ten.yaml" --out "$o" --quiet "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    awk -v t0="$t0" -v t1="$t1" -v r="$(ms "$(line "$o" BRK-READY)")" \
        -v a0="$(ms "$(births "$o" | head -1)")" -v a1="$(ms "$(births "$o" | tail -1)")" \
        -v g="$(ms "$(line "$o" BRK-GAME-START)")" -v e="$(ms "$(line "$o" BRK-GAME-OVER)")" \
        'BEGIN { s0 = (t0 / 1e6) % 86400000; s1 = (t1 / 1e6) % 86400000
                 printf "total %.0f to-ready %.0f spawns %.0f to-start %.0f play %.0f teardown %.0f\n",
                        s1 - s0, r - s0, a1 - a0, g - a1, e - g, s1 - e }'
    rm -rf "$o"
done | tee "$tmp/lines"
awk '{for (k = 1; k < NF; k += 2) print $k, $(k + 1)}' "$tmp/lines" | sort -k1,1 -k2n |
    awk -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '{v[$1, ++n[$1]] = $2} END {
        split("total to-ready spawns to-start play teardown", keys, " ")
        printf "median:"; for (k = 1; k <= 6; k++) printf " %s %s", keys[k], v[keys[k], int((n[keys[k]] + 1) / 2)]
        print " (ms, load " load ")" }'
