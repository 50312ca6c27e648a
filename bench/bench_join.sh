#!/bin/sh
# bench_join.sh: N agent processes joining one broker (bench/RESULTS.md,
# "Spawn and seats"): the time from the first agent's spawn to game_start (every
# seat welcomed), and the agents' memory once all have joined, from
# /proc/PID/smaps_rollup: Private_Dirty (what each process adds), Rss and Pss.
#
# usage: bench/bench_join.sh BIN_DIR [N]    (default 1000; everything is stopped after)
set -eu
bin=$1
n=${2:-1000}
tmp=$(mktemp -d /tmp/bench-join-XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cat >"$tmp/join.yaml" <<YAML
seed: 1
simulation: {rounds: 1, agents: $n}
information: {total_pieces: $((10 * n))}
timing: {mode: sequential, turn_timeout: 600, heartbeat: 30}
seats:
  - {policy: perfect, count: $n}
YAML
mkfifo "$tmp/ready"
"$bin/parley-broker" --config "$tmp/join.yaml" --out "$tmp/run" --bind 'tcp://127.0.0.1:*' \
    --no-pub --start-timeout 120 >"$tmp/ready" 2>"$tmp/broker.log" &
bpid=$!
pids="$bpid"
read -r ready ep <"$tmp/ready"
[ "$ready" = READY ] || { echo "broker not ready" >&2; exit 1; }
t0=$(date +%s%N)
i=1
while [ $i -le "$n" ]; do
    tok=$(sed -n "s/.*\"agent_$i\": *\"\([^\"]*\)\".*/\1/p" "$tmp/run/seats.json")
    PARLEY_TOKEN=$tok "$bin/parley-agent" --broker "$ep" --seat "agent_$i" --policy perfect \
        2>/dev/null &
    pids="$pids $!"
    i=$((i + 1))
done
t1=$(date +%s%N)
for w in $(seq 6000); do
    grep -q '"type":"game_start"' "$tmp/run/events.jsonl" 2>/dev/null && break
    sleep 0.01
done
t2=$(date +%s%N)
grep -q '"type":"game_start"' "$tmp/run/events.jsonl" || { echo "no game_start" >&2; exit 1; }
echo "agents: $n; spawned in $(( (t1 - t0) / 1000000 )) ms; all joined (game_start) after $(( (t2 - t0) / 1000000 )) ms"
kill -STOP $pids 2>/dev/null || true # hold them still while measuring
for p in $pids; do
    [ "$p" = "$bpid" ] && continue
    awk '/^(Rss|Pss|Private_Dirty):/ {printf "%d ", $2} END {print ""}' "/proc/$p/smaps_rollup" 2>/dev/null
done | awk 'NF == 3 {r += $1; s += $2; d += $3; k++}
    END {printf "per agent (mean of %d): Rss %.0f KiB, Pss %.0f KiB, Private_Dirty %.0f KiB; all agents: Pss %.0f MiB\n", k, r / k, s / k, d / k, s / 1024}'
