#!/usr/bin/env bash
# bench_agent_cpu.sh: the CPU time a seat's parley-agent process spends per
# turn (both its threads: the main one's decoding and deciding, and libzmq's
# I/O thread with CURVE), the user and system time of every seat of a
# 10-seat perfect paper game as its wrapper shell reads it when the seat exits
# (bash's `times`: getrusage of its children; `perf stat` around each seat
# was tried first and inflated the figures several times over on this VM) (bench/RESULTS.md, "The seat's turn,
# fourth pass"). A game of SHORT rounds and one of LONG rounds are played per
# repeat; the difference of the seats' CPU over the difference of their turns
# is the cost of a turn without the process's start and join. CPU counts need
# no quiet machine (no flock); builds are interleaved.
#
# usage: bench/bench_agent_cpu.sh [--repeats N] [--rounds SHORT,LONG] BIN_DIR...
#   prints, per build, each repeat's marginal CPU per turn and their median
# Bounded: each game is killed after 120 s.
set -eu
repeats=3
short=20
long=60
while [ $# -gt 0 ]; do
    case $1 in
    --repeats) repeats=$2; shift 2 ;;
    --rounds) short=${2%,*}; long=${2#*,}; shift 2 ;;
    --help | -h) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: bench_agent_cpu.sh [--repeats N] [--rounds S,L] BIN_DIR..." >&2; exit 2; }
tmp=$(mktemp -d /tmp/bench-agent-cpu-XXXXXX)
trap '[ -n "${BENCH_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
printf 'seats:\n  - {policy: perfect, count: 10}\n' >"$tmp/ten.yaml"

# Wrapped programs of one build: every seat's CPU seconds to a file of its own.
wrap() {
    local bin=$1 dir=$2
    mkdir -p "$dir/bin" "$dir/perf"
    for f in "$bin"/*; do ln -s "$f" "$dir/bin/"; done
    rm "$dir/bin/parley-agent"
    cat >"$dir/bin/parley-agent" <<WRAP
#!/bin/bash
"$bin/parley-agent" "\$@"
rc=\$?
times >"$dir/perf/\$\$.txt" # not in a pipe: a subshell would report its own
exit \$rc
WRAP
    chmod +x "$dir/bin/parley-agent"
}

# Plays one game; prints "msec turns" summed over its seats.
play() {
    local dir=$1 rounds=$2
    rm -rf "$dir/perf" "$dir/run"
    mkdir -p "$dir/perf"
    PARLEY_BIN="$dir/bin" timeout 120 "$dir/bin/parley" run "$tmp/ten.yaml" --out "$dir/run" \
        --quiet --no-launcher --set simulation.rounds="$rounds" >/dev/null
    local ms turns
    # "0m0.012s 0m0.004s": the children's user and system time
    ms=$(for f in "$dir"/perf/*.txt; do sed -n 2p "$f"; done | sed 's/[ms]/ /g' |
        awk '{s += ($1 * 60 + $2 + $3 * 60 + $4) * 1000} END {printf "%.3f", s}')
    turns=$(sed -n 's/.*AGT-OBSERVATIONS \([0-9]*\) whole, \([0-9]*\) deltas.*/\1 \2/p' \
        "$dir"/run/agents/agent_*.log | awk '{s += $1 + $2} END {print s}')
    echo "$ms $turns"
}

n=0
for bin in "$@"; do
    n=$((n + 1))
    wrap "$(cd "$bin" && pwd)" "$tmp/b$n"
done
for r in $(seq "$repeats"); do
    n=0
    for bin in "$@"; do
        n=$((n + 1))
        read -r ms1 t1 <<<"$(play "$tmp/b$n" "$short")"
        read -r ms2 t2 <<<"$(play "$tmp/b$n" "$long")"
        awk -v b="$bin" -v r="$r" -v a="$ms1" -v ta="$t1" -v c="$ms2" -v tc="$t2" 'BEGIN {
            printf "%s repeat %d: %.1f ms / %d turns, %.1f ms / %d turns: %.1f us a turn\n",
                b, r, a, ta, c, tc, (c - a) * 1000 / (tc - ta) }' | tee -a "$tmp/results.txt"
    done
done
for bin in "$@"; do
    awk -v b="$bin" '$1 == b {print $(NF-3)}' "$tmp/results.txt" | sort -n |
        awk -v b="$bin" '{v[NR] = $1} END {printf "%s: median %.1f us CPU a seat-turn (%s runs: %.1f-%.1f)\n",
            b, v[int((NR + 1) / 2)], NR, v[1], v[NR]}'
done
