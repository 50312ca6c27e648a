#!/bin/bash
# .ci/slurm.sh: sweeps through a real single-node Slurm cluster (issue 18).
# Starts munged, slurmctld and slurmd as root (.ci/slurm-up.sh), runs a sweep
# of 12 runs with executor: slurm, kills one array task while its game is being
# played, resubmits, and checks that every run finished exactly once and that
# runs.csv and aggregates.csv (minus timing columns) equal the same sweep run
# locally; then runs tests/cluster with a skip counted as a failure, and stops
# the daemons. Needs ./build (./dev.sh build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/bin
export PARLEY_BIN=$bin
export PARLEY_SLURM_STATE=${PARLEY_SLURM_STATE:-/tmp/parley-slurm-ci}
work=$(mktemp -d /tmp/parley-slurm-ci.XXXXXX)
cleanup() {
    scancel --name=parley-sweep >/dev/null 2>&1 || true
    "$here/.ci/slurm-up.sh" stop || true
    rm -rf "$work"
}
trap cleanup EXIT

timeout 120 "$here/.ci/slurm-up.sh"

# The sweep of examples/sweep-slurm.yaml, with the prologue that slows one run.
mkdir -p "$work/examples"
cp "$here/examples/paper.yaml" "$work/examples/"
sed 's|^# *prologue:.*||' "$here/examples/sweep-slurm.yaml" > "$work/examples/sweep-slurm.yaml"
echo "prologue: $here/tests/cluster/slow-once.sh" >> "$work/examples/sweep-slurm.yaml"
cd "$work"
out=runs/sweep-slurm

# Polls a condition (not a sleep standing in for one), bounded.
wait_for() { # SECONDS WHAT CMD...
    local t=$1 what=$2
    shift 2
    local end=$((SECONDS + t))
    until "$@"; do
        [ $SECONDS -lt $end ] || { echo "slurm CI: timed out waiting for $what" >&2; squeue >&2; exit 1; }
        sleep 0.2
    done
}

echo "== submit"
"$bin/parley" sweep examples/sweep-slurm.yaml
job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["job"])' $out/slurm/jobs.json)

# run-0006 is the second run of array task 2: kill that task mid-game.
game_running() { [ -s $out/.run-0006.part/events.jsonl ]; }
wait_for 120 "run-0006's game to start" game_running
echo "== a second submission while the sweep runs submits nothing in flight"
"$bin/parley" sweep examples/sweep-slurm.yaml | tee second.txt
echo "== kill array task ${job}_2 while run-0006 is being played"
scancel "${job}_2"
not_in_queue() { ! squeue -h -r -j "$job" -o '%K' | grep -qx 2; }
wait_for 60 "task ${job}_2 to leave the queue" not_in_queue
all_settled() { ! squeue -h -j "$job" -o '%i' | grep -q .; }
wait_for 180 "job $job to end" all_settled
"$bin/parley" sweep --status $out | tee status1.txt || true
grep -q "^run-0006  failed" status1.txt || { echo "slurm CI: the killed run is not shown failed" >&2; exit 1; }
[ ! -e $out/run-0006/summary.json ] || { echo "slurm CI: the killed run counts as done" >&2; exit 1; }

echo "== resubmit: only what failed"
"$bin/parley" sweep examples/sweep-slurm.yaml | tee resubmit.txt
grep -q "submitted job [0-9]*: 1 run(s); 11 finished" resubmit.txt ||
    { echo "slurm CI: the resubmission did not submit exactly the failed run" >&2; exit 1; }
finished() { "$bin/parley" sweep --status $out >/dev/null; }
wait_for 120 "every run to finish" finished
"$bin/parley" sweep examples/sweep-slurm.yaml > final.txt
grep -q "all 12 runs finished" final.txt

echo "== every run finished exactly once"
# Attempts: 12 plays plus the killed one; a finished run was never played again.
sort attempts.txt | uniq -c | awk '{ if ($2 == "run-0006" ? $1 != 2 : $1 != 1) bad = 1 } END { exit bad }' ||
    { echo "slurm CI: some run was played more than once:" >&2; sort attempts.txt | uniq -c >&2; exit 1; }
[ "$(wc -l < attempts.txt)" -eq 13 ]
[ "$(ls -d $out/run-* | wc -l)" -eq 12 ] && [ "$(ls $out/run-*/summary.json | wc -l)" -eq 12 ]
! ls -d $out/.run-*.part 2>/dev/null | grep -q . || { echo "slurm CI: a partial run was left" >&2; exit 1; }

echo "== the same sweep run locally gives the same tables"
"$bin/parley" sweep examples/sweep-slurm.yaml --executor process --out runs/local --quiet
python3 "$here/tests/cluster/same_tables.py" runs/local $out

echo "== tests/cluster against the running cluster (a skip is a failure here)"
cd "$here/build"
PARLEY_REQUIRE_SLURM=1 ctest --output-on-failure -R '^test_cluster_'
echo "slurm CI: ok"
