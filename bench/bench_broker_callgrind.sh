#!/usr/bin/env bash
# bench_broker_callgrind.sh: the instructions parley-broker executes for one
# 10-seat paper game with perfect seats, counted by valgrind's callgrind
# (bench/RESULTS.md, "The broker's record"). Instruction counts do not depend
# on what else the machine is doing, so two builds can be compared on a busy
# machine; wall time is bench_run_phases.sh's.
#
# usage: bench/bench_broker_callgrind.sh BIN_DIR [FUNCTION...]
#   prints the program's total and the inclusive count of each FUNCTION
#   (default: the event record, the public view, the turn's send, the end)
# BENCH_KEEP=FILE keeps callgrind_annotate's inclusive listing in FILE and
# callgrind's own output in FILE.out.
# Needs valgrind. Bounded: the game is killed after 300 s.
set -eu
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    sed -n '2,13s/^# \{0,1\}//p' "$0"
    exit 0
fi
if [ $# -lt 1 ] || [ ! -x "$1/parley-broker" ]; then
    echo "usage: bench/bench_broker_callgrind.sh BIN_DIR [FUNCTION...] (BIN_DIR: the build's bin directory)" >&2
    exit 2
fi
bin=$(cd "$1" && pwd)
shift
funcs=("$@")
[ ${#funcs[@]} -gt 0 ] || funcs=(brk_record brk_view_text brk_view_public brk_send_turn brk_finish)
command -v valgrind >/dev/null || { echo "bench_broker_callgrind.sh: needs valgrind" >&2; exit 2; }
tmp=$(mktemp -d /tmp/bench-callgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
for f in "$bin"/*; do ln -s "$f" "$tmp/bin/"; done
rm "$tmp/bin/parley-broker"
cat >"$tmp/bin/parley-broker" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$tmp/callgrind.out "$bin/parley-broker" "\$@"
WRAP
chmod +x "$tmp/bin/parley-broker"
printf 'seats:\n  - {policy: perfect, count: 10}\n' >"$tmp/ten.yaml"
# The broker under valgrind is ~50x slower: seats wait for it as long as it takes.
PARLEY_BIN="$tmp/bin" timeout 300 "$bin/parley" run "$tmp/ten.yaml" --out "$tmp/run" --quiet \
    --set timing.turn_timeout=120 >/dev/null
events=$(wc -l <"$tmp/run/events.jsonl")
callgrind_annotate --inclusive=yes "$tmp/callgrind.out" 2>/dev/null >"$tmp/annotate.txt"
[ -z "${BENCH_KEEP:-}" ] || cp "$tmp/annotate.txt" "$BENCH_KEEP"
[ -z "${BENCH_KEEP:-}" ] || cp "$tmp/callgrind.out" "$BENCH_KEEP.out"
total=$(grep -m1 'PROGRAM TOTALS' "$tmp/annotate.txt" | awk '{gsub(",", "", $1); print $1}')
printf 'parley-broker, one 10-seat paper game (%s events): %s instructions\n' "$events" "$total"
for f in "${funcs[@]}"; do
    n=$(grep -E "[:/]$f \[" "$tmp/annotate.txt" | head -1 | awk '{gsub(",", "", $1); print $1}')
    printf '  %-20s %s\n' "$f" "${n:-0}"
done
