#!/usr/bin/env bash
# same_events.sh: checks that two builds play the same games (bench/RESULTS.md,
# "The seat's turn, fourth pass"): the paper preset with 10 perfect seats, and
# a 10-seat game with one llm seat on parley-fake-llm (the rest perfect), each
# played by both builds with the same seed; the records must hold the same
# events once the times, the game id and connection details are left out.
#
# usage: bench/same_events.sh BEFORE_BIN AFTER_BIN
# Needs jq. Bounded: each game is killed after 120 s.
set -eu
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    sed -n '2,9s/^# \{0,1\}//p' "$0"
    exit 0
fi
[ $# -eq 2 ] || { echo "usage: bench/same_events.sh BEFORE_BIN AFTER_BIN" >&2; exit 2; }
for d in "$1" "$2"; do
    [ -x "$d/parley" ] || { echo "same_events.sh: no $d/parley (each argument is a build's bin directory)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "same_events.sh: needs jq" >&2; exit 2; }
a=$(cd "$1" && pwd)
b=$(cd "$2" && pwd)
tmp=$(mktemp -d /tmp/same-events-XXXXXX)
fake=
trap '[ -z "$fake" ] || kill "$fake" 2>/dev/null; [ -n "${BENCH_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
# A fresh endpoint for each game: its prompt cache must not carry one build's
# prompts into the other's (tokens_cached is recorded).
start_fake() {
    [ -z "$fake" ] || kill "$fake" 2>/dev/null || true
    "$b/parley-fake-llm" --port 0 >"$tmp/fake.txt" 2>&1 &
    fake=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/fake.txt")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "same_events.sh: parley-fake-llm did not start" >&2; exit 1; }
    sed "s/PORT/$port/" "$tmp/llm.in" >"$tmp/llm.yaml"
}
printf 'seats:\n  - {policy: perfect, count: 10}\n' >"$tmp/perfect.yaml"
cat >"$tmp/llm.in" <<YAML
seats:
  - {policy: llm, provider: openai, model: fake-model, base_url: "http://127.0.0.1:PORT/v1",
     api_key_env: PARLEY_SAME_EVENTS_KEY}
  - {policy: perfect, count: 9}
YAML
export PARLEY_SAME_EVENTS_KEY=sk-none
# The game as data: no clocks, ids, process details or model-call timings.
strip='del(.t_ms, .game_id, .rtt_us, .think_s, .decided_s, .latency_s, .deadline_s, .pid,
      .broker_time_ms)
  | if .calls then .calls |= map(del(.latency_s)
      | .response_body |= sub("\"created\":[0-9]+"; "")) else . end
  | select(.type != "seat_joined" and .type != "seat_left" and .type != "seat_lost"
           and .type != "turn_offered" and .type != "run_start" and .type != "run_end")'
rc=0
for game in perfect llm; do
    for side in a b; do
        bin=$a
        [ $side = b ] && bin=$b
        [ $game = perfect ] || start_fake
        PARLEY_BIN="$bin" timeout 120 "$bin/parley" run "$tmp/$game.yaml" --seed 7 \
            --out "$tmp/$game-$side" --quiet >/dev/null
        jq -c "$strip" "$tmp/$game-$side/events.jsonl" >"$tmp/$game-$side.txt"
    done
    n=$(wc -l <"$tmp/$game-a.txt")
    if cmp -s "$tmp/$game-a.txt" "$tmp/$game-b.txt"; then
        echo "$game: the same $n events"
    else
        echo "$game: the records differ:"
        diff "$tmp/$game-a.txt" "$tmp/$game-b.txt" | head -5 | cut -c1-300
        rc=1
    fi
done
exit $rc
