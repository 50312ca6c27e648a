#!/usr/bin/env python3
"""same_tables.py A B: runs.csv and aggregates.csv of two sweep directories are
equal, minus what depends on the clock or the place: the dir column, the
time-to-fulfil columns (ttf_*, measured in milliseconds by the broker) and
their aggregate rows. Exits 1 naming the first difference."""
import csv
import sys


def timing(col):
    return col == "dir" or col.startswith("ttf_")


def runs(d):
    with open(f"{d}/runs.csv", newline="") as f:
        return [{k: v for k, v in r.items() if not timing(k)} for r in csv.DictReader(f)]


def aggregates(d):
    with open(f"{d}/aggregates.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if not timing(r["metric"])]


if len(sys.argv) != 3 or sys.argv[1] == "--help":
    print(__doc__)
    sys.exit(0 if len(sys.argv) == 2 else 2)
a, b = sys.argv[1], sys.argv[2]
ra, rb = runs(a), runs(b)
if len(ra) != len(rb):
    sys.exit(f"same_tables: {a} has {len(ra)} runs, {b} has {len(rb)}")
for x, y in zip(ra, rb):
    for k in x:
        if x[k] != y.get(k):
            sys.exit(f"same_tables: runs.csv {x['run_id']} {k}: {x[k]!r} vs {y.get(k)!r}")
ga, gb = aggregates(a), aggregates(b)
if ga != gb:
    for x, y in zip(ga, gb):
        if x != y:
            sys.exit(f"same_tables: aggregates.csv differs: {x} vs {y}")
    sys.exit(f"same_tables: aggregates.csv has {len(ga)} rows vs {len(gb)}")
print(f"same_tables: {len(ra)} runs and {len(ga)} aggregate rows equal (minus dir, ttf_*)")
