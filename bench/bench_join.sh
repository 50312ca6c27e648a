#!/usr/bin/env bash
# bench_join.sh: N agent processes joining one broker (bench/RESULTS.md,
# "Broker and processes"): how long until every seat has joined, what each
# agent process costs in private memory, and the broker's resident size.
#
# usage: bench/bench_join.sh BIN_DIR [N] [SECONDS]
#   N        agent processes (default 1000), one perfect seat each; at least 2
#            (a game has 2 to 100,000 agents)
#   SECONDS  the realtime game's length once all have joined (default 10)
#
# One `parley run` (the broker, then N parley-agent processes, which join over
# the broker's Unix socket with CURVE on, parley run's defaults) of a realtime
# game with N perfect seats and 10 x N pieces. Join time: from the first
# agent's spawn (the birth time of its log file, which the child
# creates between fork and exec) to the broker's BRK-GAME-START (every seat
# joined; broker.log, ms); also the spawn span (first to last log file born)
# and the time from the broker's BRK-READY to the first spawn. Memory: each
# agent's Private_Clean + Private_Dirty from /proc/PID/smaps_rollup (what one
# more process adds; the libraries' text is shared), read right after the game
# starts and again halfway through it; the broker's VmRSS and VmHWM then. CPU
# when the game starts: the agents', the broker's, parley run's (with the seat
# launcher's, which it reaped), from /proc/PID/stat: unlike wall time, not
# much changed by what else runs on the machine.
# PARLEY_RUN_ARGS in the environment: more arguments for `parley run`, e.g.
# --no-ipc (the seats connect over TCP instead of the broker's Unix socket) or
# --ipc-no-curve (no CURVE on that socket; docs/SECURITY.md "The Unix socket").
# TMPDIR in the environment: where the run directory goes (default /tmp).
# Every seat creates its log file there while it joins. On ext4 without a
# journal, a new file skips every inode of its group deleted in the last
# minute (five while not yet written back): where thousands were (a busy
# /tmp, this bench's own earlier runs) a create costs most of a millisecond
# of CPU (bench/RESULTS.md, "The 1,000-seat join").
# Bounded: the run is killed after SECONDS + 120 s whatever happens.
set -eu
usage() {
    echo "usage: bench/bench_join.sh BIN_DIR [N (2-100000, default 1000)] [SECONDS (default 10)]"
}
if [ $# -lt 1 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
    usage
    [ $# -ge 1 ] && exit 0 || exit 2
fi
bin=$1
n=${2:-1000}
secs=${3:-10}
# Checked here, so that a bad count is one clear line, not a run that fails.
case $n in '' | *[!0-9]*) n=-1 ;; esac
if [ "$n" -lt 2 ] || [ "$n" -gt 100000 ]; then
    echo "bench_join: N is the number of seats, 2 to 100000 (a game has at least 2 agents), not '${2:-}'" >&2
    usage >&2
    exit 2
fi
case $secs in '' | *[!0-9.]* | *.*.*) echo "bench_join: SECONDS must be a number, not '$secs'" >&2; exit 2 ;; esac
if [ ! -x "$bin/parley" ]; then
    echo "bench_join: no $bin/parley (BIN_DIR is the build's bin directory)" >&2
    exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-join-XXXXXX")
run_pid=
cleanup() {
    if [ -n "$run_pid" ]; then kill "$run_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The broker keeps one connection per agent, plus its own files and sockets.
need=$((n + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    ulimit -n "$need" 2>/dev/null || {
        echo "bench_join: needs $need open files (ulimit -n is $(ulimit -n))" >&2
        exit 1
    }
fi

cat >"$tmp/join.yaml" <<EOF
seats: [{policy: perfect, count: $n}]
simulation: {agents: $n, rounds: 1}
information: {total_pieces: $((10 * n))}
timing: {mode: realtime, duration: $secs}
EOF

# shellcheck disable=SC2086 # PARLEY_RUN_ARGS is a list of words
"$bin/parley" run "$tmp/join.yaml" --out "$tmp/run" --quiet ${PARLEY_RUN_ARGS:-} >"$tmp/run.out" 2>&1 &
run_pid=$!
log="$tmp/run/broker.log"

# Wait (bounded) for a line in the broker's log.
wait_for() {
    i=0
    while ! grep -q "$1" "$log" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt $(( (secs + 120) * 20 )) ] || ! kill -0 "$run_pid" 2>/dev/null; then
            echo "bench_join: no $1 in $log" >&2
            tail -n 5 "$tmp/run.out" "$log" >&2 || true
            exit 1
        fi
        sleep 0.05
    done
}

ms_of() { # HH:MM:SS.mmm[nnnnnn] -> ms of the day
    echo "$1" | awk -F'[:.]' '{print (($1 * 60 + $2) * 60 + $3) * 1000 + substr($4, 1, 3)}'
}

# Private memory of every agent process now: median, 90th percentile, max (KiB);
# one awk over every agent's smaps_rollup, so that the sample takes little time.
agent_mem() {
    files=$(ps -o pid=,comm= --ppid "$run_pid" |
        awk '$2 == "parley-agent" {print "/proc/" $1 "/smaps_rollup"}')
    [ -n "$files" ] || { echo "no agents"; return; }
    # shellcheck disable=SC2086
    awk '/^Private_(Clean|Dirty):/ {s[FILENAME] += $2} END {for (f in s) print s[f]}' \
        $files 2>/dev/null | sort -n | awk '{v[NR] = $1; t += $1}
        END {if (NR == 0) {print "no agents left (the game was over: give it more SECONDS)"; exit}
             printf "%d agents: private KiB median %d, p90 %d, max %d, total %.0f MiB\n",
                    NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], t / 1024}'
}

# CPU time so far: the agents' (total and median), from every thread's
# /proc/PID/task/TID/schedstat (ns; the libzmq threads included), the
# broker's, and parley run's own with what it has reaped (utime + stime +
# cutime + cstime of /proc/PID/stat: the seat launcher, when there is one).
cpu_use() {
    ps -o pid=,comm= --ppid "$run_pid" >"$tmp/procs"
    files=$(awk '{print "/proc/" $1 "/task/*/schedstat"}' "$tmp/procs")
    # shellcheck disable=SC2086
    awk 'NR == FNR {comm[$1] = $2; next}
         {split(FILENAME, p, "/"); ns[p[3]] += $1}
         END {for (pid in ns) print comm[pid], ns[pid]}' "$tmp/procs" $files 2>/dev/null |
        sort -k2n | awk -v run="$(awk -v tck="$(getconf CLK_TCK)" '{sub(/^.*\) /, "");
            print ($12 + $13 + $14 + $15) / tck}' "/proc/$run_pid/stat")" '
        $1 == "parley-agent" { a[++n] = $2; at += $2 } $1 == "parley-broker" { b += $2 }
        END { printf "%d agents %.2f s (median %.1f ms each), broker %.2f s, parley run and what it reaped %.2f s\n",
                     n, at / 1e9, a[int((n + 1) / 2)] / 1e6, b / 1e9, run }'
}

broker_mem() {
    bpid=$(ps -o pid=,comm= --ppid "$run_pid" | awk '$2 == "parley-broker" {print $1}')
    [ -n "$bpid" ] && awk '/^(VmRSS|VmHWM):/ {printf "%s %d KiB  ", $1, $2} END {print ""}' \
        "/proc/$bpid/status"
}

wait_for BRK-GAME-START
ready=$(grep -m1 BRK-READY "$log" | awk '{print $1}')
first=$(grep -m1 BRK-SEAT-JOINED "$log" | awk '{print $1}')
start=$(grep -m1 BRK-GAME-START "$log" | awk '{print $1}')
# Birth times of the agents' logs: when each was spawned (HH:MM:SS.nnnnnnnnn).
stat -c '%w' "$tmp/run/agents/"*.log | awk '{print $2}' | sort >"$tmp/births"
spawn0=$(head -1 "$tmp/births")
spawn1=$(tail -1 "$tmp/births")
echo "agents: $n (perfect, realtime, ${secs} s${PARLEY_RUN_ARGS:+, parley run $PARLEY_RUN_ARGS}), machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "run directory: $tmp/run"
echo "join: all $n joined $(( $(ms_of "$start") - $(ms_of "$spawn0") )) ms after the first spawn" \
    "(spawns over $(( $(ms_of "$spawn1") - $(ms_of "$spawn0") )) ms; first seat joined" \
    "$(( $(ms_of "$first") - $(ms_of "$spawn0") )) ms after it; READY to first spawn" \
    "$(( $(ms_of "$spawn0") - $(ms_of "$ready") )) ms)"
echo "at start:   $(agent_mem)"
echo "            broker: $(broker_mem)"
echo "            CPU: $(cpu_use)"
sleep "$(awk -v s="$secs" 'BEGIN {print s / 2}')"
echo "mid-game:   $(agent_mem)"
echo "            broker: $(broker_mem)"
i=0
while kill -0 "$run_pid" 2>/dev/null && [ $i -lt $((120 * 20)) ]; do
    sleep 0.05
    i=$((i + 1))
done
if kill -0 "$run_pid" 2>/dev/null; then
    echo "bench_join: the run did not end within 120 s of its game" >&2
    exit 1
fi
wait "$run_pid" || echo "parley run exited $?: $(tail -1 "$tmp/run.out")"
run_pid=
echo "game: $(tail -2 "$tmp/run.out" | head -1)"
