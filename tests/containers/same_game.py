#!/usr/bin/env python3
"""same_game.py: do two run directories hold the same game?

    same_game.py EXPECTED_DIR ACTUAL_DIR

For rule-based seats in sequential mode a game is fixed by its configuration
and seed, so a game played in containers must equal `parley run` of the same
configuration and seed. "Equal" here means:
  - events.jsonl: the same events in the same order, every field equal except
    the ones that measure time or name the process (t_ms, rtt_us, think_s,
    broker_time_ms, game_id, and a decision's decided_s, held_s, bank_used_s
    and bank_left_s: docs/TIMING.md); seat_joined events are compared as a set, since
    seats join in whatever order their processes come up;
  - summary.json: equal except game_id (totals, per-agent board, ceiling).
Prints the first difference and exits 1, or prints what matched and exits 0.
"""
import json
import sys

TIMING = {"t_ms", "rtt_us", "think_s", "broker_time_ms", "game_id",
          "decided_s", "held_s", "bank_used_s", "bank_left_s"}


def strip(obj):
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


def events(run_dir):
    path = run_dir + "/events.jsonl"
    with open(path, encoding="utf-8") as f:
        evs = [strip(json.loads(line)) for line in f if line.strip()]
    joined = sorted(json.dumps(e, sort_keys=True) for e in evs if e.get("type") == "seat_joined")
    rest = [e for e in evs if e.get("type") != "seat_joined"]
    return joined, rest


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    exp, act = sys.argv[1], sys.argv[2]
    ej, er = events(exp)
    aj, ar = events(act)
    if ej != aj:
        print(f"same_game: the seats that joined differ:\n  {exp}: {ej}\n  {act}: {aj}")
        return 1
    for i, (x, y) in enumerate(zip(er, ar)):
        if x != y:
            print(f"same_game: event {i} differs:\n  {exp}: {json.dumps(x)[:400]}\n"
                  f"  {act}: {json.dumps(y)[:400]}")
            return 1
    if len(er) != len(ar):
        print(f"same_game: {exp} has {len(er)} events, {act} has {len(ar)}")
        return 1
    with open(exp + "/summary.json", encoding="utf-8") as f:
        es = strip(json.load(f))
    with open(act + "/summary.json", encoding="utf-8") as f:
        sa = strip(json.load(f))
    if es != sa:
        keys = sorted(k for k in set(es) | set(sa) if es.get(k) != sa.get(k))
        print(f"same_game: summary.json differs in {keys}")
        return 1
    if es.get("reason") != "finished" or es.get("complete") is not True:
        print(f"same_game: {exp} is not a finished game (reason {es.get('reason')})")
        return 1
    print(f"same_game: {len(er) + len(ej)} events and the summary match "
          f"({sa.get('tasks')} tasks, group revenue {sa.get('group_revenue')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
