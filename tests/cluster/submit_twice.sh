#!/bin/bash
# submit_twice.sh: a sweep submitted to Slurm twice (and a third time, and one
# run started by hand) plays every run exactly once. Needs a running Slurm
# (.ci/slurm-up.sh): without one it skips, loudly, unless PARLEY_REQUIRE_SLURM=1
# (.ci/slurm.sh), where a skip is a failure.
set -euo pipefail
bin=${PARLEY_BIN:?PARLEY_BIN names the built programs}
[ -d "$bin" ] && bin=$bin/parley
if ! timeout 10 squeue -h >/dev/null 2>&1; then
    echo "SKIPPED: no Slurm cluster answers squeue here (start one with .ci/slurm-up.sh)" >&2
    [ "${PARLEY_REQUIRE_SLURM:-}" = 1 ] && { echo "FAIL: PARLEY_REQUIRE_SLURM=1" >&2; exit 1; }
    exit 77
fi
work=$(mktemp -d /tmp/parley-submit-twice.XXXXXX)
trap 'scancel $(cat "$work"/jobs 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
# The prologue (started in the submission directory) counts plays and holds every run until the gate opens, so that
# the second submission happens while every run is queued or running.
cat > prologue.sh <<'P'
echo "$PARLEY_RUN_ID" >> plays.txt
while [ ! -e gate ]; do sleep 0.1; done
P
cat > sweep.yaml <<'Y'
executor: slurm
out: runs/twice
prologue: prologue.sh
set: {simulation.rounds: 2}
slurm: {time: "00:05:00", mem: 200M}
factors:
  seats: ["[{policy: perfect, count: 10}]"]
  seed: [1, 2, 3, 4]
Y
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin" sweep sweep.yaml > first.txt
cat first.txt
grep -q "submitted job [0-9]*: 4 run(s)" first.txt || fail "the first submission did not submit 4 runs"
python3 -c 'import json; print(" ".join(j["job"] for j in json.load(open("runs/twice/slurm/jobs.json"))["jobs"]))' > jobs
"$bin" sweep sweep.yaml > second.txt
cat second.txt
grep -q "nothing to submit: 0 finished, 4 queued or running" second.txt ||
    fail "the second submission did not see the 4 runs in flight"
[ "$(python3 -c 'import json; print(len(json.load(open("runs/twice/slurm/jobs.json"))["jobs"]))')" = 1 ] ||
    fail "a second job was submitted"
"$bin" sweep --status runs/twice | tee status.txt || true
grep -q "4 runs: 0 finished, [0-9]* running, [0-9]* queued, 0 failed, 0 not submitted" status.txt ||
    fail "--status does not show 4 runs in flight"
touch gate
end=$((SECONDS + 120))
until "$bin" sweep --status runs/twice >/dev/null; do
    [ $SECONDS -lt $end ] || fail "the runs did not finish in 120 s"
    sleep 0.2
done
"$bin" sweep sweep.yaml > third.txt
grep -q "all 4 runs finished" third.txt || fail "the third submission did not write the tables"
"$bin" sweep sweep.yaml --run-one 2 > by_hand.txt
grep -q "run-0002: already finished; not played again" by_hand.txt || fail "--run-one replayed a finished run"
sort plays.txt | uniq -c
[ "$(sort plays.txt | uniq -c | awk '$1 != 1' | wc -l)" = 0 ] && [ "$(wc -l < plays.txt)" = 4 ] ||
    fail "some run was played more than once, or not at all"
[ "$(tail -n +2 runs/twice/runs.csv | grep -c ',ok,')" = 4 ] || fail "runs.csv does not hold 4 finished runs"
echo "ok: submitted 3 times, every run played once"
