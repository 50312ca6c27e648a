#!/bin/sh
# bench_spawn.sh: what a seat costs to start and to keep, and `parley run` of
# 10 perfect seats from spawn to exit (bench/RESULTS.md, "`parley run`, 10
# perfect seats" and "What a seat costs").
#
# usage: bench/bench_spawn.sh BIN_DIR [RUNS]     (RUNS of parley run, default 7)
# Prints, for BIN_DIR's parley-agent: libraries loaded, exec to exit of
# `--help` (median of 50), and an idle seat's Rss / Pss / private memory from
# /proc/PID/smaps_rollup once its loader is done; then the wall time of each
# `parley run` (10 perfect seats, paper preset) and their median.
set -eu
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    sed -n '2,10s/^# \{0,1\}//p' "$0"
    exit 0
fi
if [ $# -lt 1 ] || [ ! -x "$1/parley-agent" ]; then
    echo "usage: bench/bench_spawn.sh BIN_DIR [RUNS] (BIN_DIR: the build's bin directory)" >&2
    exit 2
fi
bin=$1
runs=${2:-7}
case $runs in '' | *[!0-9]* | 0) echo "bench_spawn.sh: RUNS must be a positive whole number, not '$runs'" >&2; exit 2 ;; esac
tmp=$(mktemp -d /tmp/bench-spawn-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ms() { date +%s%N; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "libraries loaded by parley-agent: $(ldd "$bin/parley-agent" | wc -l)"
for i in $(seq 50); do
    t0=$(ms); "$bin/parley-agent" --help >/dev/null; t1=$(ms)
    echo $(( (t1 - t0) / 1000 ))
done | median | sed 's/^/parley-agent --help, exec to exit, median of 50 (us): /'

# An idle seat: a broker that is not there keeps it connecting.
"$bin/parley-agent" --broker tcp://127.0.0.1:9 --seat agent_1 --token t --policy perfect \
    2>/dev/null &
pid=$!
for i in $(seq 200); do grep -q libzmq /proc/$pid/maps 2>/dev/null && break; sleep 0.01; done
sleep 0.2 # past the loader and the first connect attempt
awk '/^(Rss|Pss|Private_Clean|Private_Dirty):/ {printf "%s %d KiB  ", $1, $2} END {print ""}' \
    /proc/$pid/smaps_rollup | sed 's/^/idle seat: /'
kill $pid; wait $pid 2>/dev/null || true

printf 'seats:\n  - {policy: perfect, count: 10}\n' >"$tmp/ten.yaml"
for i in $(seq "$runs"); do
    t0=$(ms)
    "$bin/parley" run "$tmp/ten.yaml" --out "$tmp/run-$i" --quiet >/dev/null 2>&1
    t1=$(ms)
    echo $(( (t1 - t0) / 1000000 ))
done >"$tmp/walls"
echo "parley run, 10 perfect seats, wall ms: $(tr '\n' ' ' <"$tmp/walls")"
echo "median ms: $(median <"$tmp/walls")"
