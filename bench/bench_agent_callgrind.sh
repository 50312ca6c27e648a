#!/usr/bin/env bash
# bench_agent_callgrind.sh: the instructions one seat's parley-agent executes
# in a 10-seat paper game with perfect seats, counted by valgrind's callgrind
# (bench/RESULTS.md, "The seat's turn, fourth pass"). agent_1 runs under
# callgrind, the other nine and the broker as usual; instruction counts do not
# depend on what else the machine is doing, so two builds can be compared on a
# busy machine.
#
# usage: bench/bench_agent_callgrind.sh BIN_DIR [ROUNDS [FUNCTION...]]
#   prints the program's total, the TurnRequests it handled, and the
#   inclusive count of each FUNCTION, in all and per TurnRequest (default
#   functions: the turn's handler and its parts)
# BENCH_KEEP=FILE keeps callgrind_annotate's inclusive listing in FILE and
# callgrind's own output in FILE.out.
# Needs valgrind. Bounded: the game is killed after 300 s.
set -eu
usage() { echo "usage: bench/bench_agent_callgrind.sh BIN_DIR [ROUNDS [FUNCTION...]]"; }
if [ $# -lt 1 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
    if [ $# -ge 1 ]; then
        sed -n '2,15s/^# \{0,1\}//p' "$0"
        exit 0
    fi
    usage >&2
    exit 2
fi
[ -x "$1/parley-agent" ] || { echo "bench_agent_callgrind.sh: no $1/parley-agent (BIN_DIR is the build's bin directory)" >&2; exit 2; }
case ${2:-20} in '' | *[!0-9]*) echo "bench_agent_callgrind.sh: ROUNDS must be a whole number, not '$2'" >&2; exit 2 ;; esac
bin=$(cd "$1" && pwd)
rounds=${2:-20}
shift $(($# >= 2 ? 2 : $#))
funcs=("$@")
[ ${#funcs[@]} -gt 0 ] || funcs=(s_on_dealer_readable wire_unpack wire_delta_unpack s_on_turn_request wire_delta_apply
    wire_obs_from_pb wire_view_update env_policy_decide s_on_policy_decided wire_free
    wire_delta_free malloc free)
command -v valgrind >/dev/null || { echo "bench_agent_callgrind.sh: needs valgrind" >&2; exit 2; }
tmp=$(mktemp -d /tmp/bench-agent-callgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
for f in "$bin"/*; do ln -s "$f" "$tmp/bin/"; done
rm "$tmp/bin/parley-agent"
# Only agent_1 under valgrind: the seat's own process, exec'd (--no-launcher).
cat >"$tmp/bin/parley-agent" <<WRAP
#!/bin/sh
case " \$* " in
*" --seat agent_1 "*)
    exec valgrind --tool=callgrind --callgrind-out-file=$tmp/callgrind.out "$bin/parley-agent" "\$@" ;;
esac
exec "$bin/parley-agent" "\$@"
WRAP
chmod +x "$tmp/bin/parley-agent"
printf 'seats:\n  - {policy: perfect, count: 10}\n' >"$tmp/ten.yaml"
PARLEY_BIN="$tmp/bin" timeout 300 "$bin/parley" run "$tmp/ten.yaml" --out "$tmp/run" --quiet \
    --no-launcher --set timing.turn_timeout=120 --set simulation.rounds="$rounds" >/dev/null
[ -s "$tmp/callgrind.out" ] || { echo "bench_agent_callgrind.sh: agent_1 was not measured" >&2; exit 1; }
turns=$(sed -n 's/.*AGT-OBSERVATIONS \([0-9]*\) whole, \([0-9]*\) deltas.*/\1 \2/p' \
    "$tmp/run/agents/agent_1.log" | awk '{print $1 + $2}')
callgrind_annotate --inclusive=yes "$tmp/callgrind.out" 2>/dev/null >"$tmp/annotate.txt"
[ -z "${BENCH_KEEP:-}" ] || cp "$tmp/annotate.txt" "$BENCH_KEEP"
[ -z "${BENCH_KEEP:-}" ] || cp "$tmp/callgrind.out" "$BENCH_KEEP.out"
total=$(grep -m1 'PROGRAM TOTALS' "$tmp/annotate.txt" | awk '{gsub(",", "", $1); print $1}')
printf 'parley-agent agent_1, a 10-seat paper game of %s rounds: %s instructions, %s TurnRequests\n' \
    "$rounds" "$total" "${turns:-?}"
for f in "${funcs[@]}"; do
    n=$(grep -E "[:/ ]$f( |'|\$)" "$tmp/annotate.txt" | head -1 | awk '{gsub(",", "", $1); print $1}')
    n=${n:-0}
    printf '  %-22s %12s  %8s a TurnRequest\n' "$f" "$n" "$((turns > 0 ? n / turns : 0))"
done
