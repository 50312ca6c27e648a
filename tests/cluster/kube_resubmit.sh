#!/bin/bash
# kube_resubmit.sh: executor: kube renders an Indexed Job that Kubernetes'
# schemas accept (offline, validate_indexed_job.mjs), one completion per run;
# after two runs are played (here, by `--run-one`, what each pod runs) the next
# rendering holds only the ten others, --status counts them, and the pod
# command of a finished run does not play it again. Skips (77) without node
# or tests/containers/kube/node_modules (npm ci there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${PARLEY_BIN:?PARLEY_BIN names the built programs}
[ -d "$bin" ] && bin=$bin/parley
if ! command -v node >/dev/null || [ ! -d "$here/../containers/kube/node_modules/kubernetes-models" ]; then
    echo "SKIPPED: needs node and tests/containers/kube/node_modules (npm ci there)" >&2
    exit 77
fi
work=$(mktemp -d /tmp/parley-kube-sweep.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$here/../../examples/sweep-kube.yaml" "$here/../../examples/paper.yaml" .
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin" sweep sweep-kube.yaml | tee first.txt
node "$here/validate_indexed_job.mjs" runs/sweep-kube/kube/job-1.yaml $(seq 1 12)
"$bin" sweep sweep-kube.yaml --run-one 2 | grep -q "run-0002: finished" || fail "run 2 was not played"
"$bin" sweep sweep-kube.yaml --run-one 5 | grep -q "run-0005: finished" || fail "run 5 was not played"
"$bin" sweep sweep-kube.yaml --run-one 5 | grep -q "already finished" || fail "run 5 was played twice"
"$bin" sweep sweep-kube.yaml | tee second.txt
grep -q "an Indexed Job of 10 run(s) (2 finished)" second.txt || fail "the second Job is not of the 10 runs left"
node "$here/validate_indexed_job.mjs" runs/sweep-kube/kube/job-2.yaml 1 3 4 6 7 8 9 10 11 12
rc=0
"$bin" sweep --status runs/sweep-kube > status.txt || rc=$?
cat status.txt
[ $rc = 1 ] || fail "--status exits $rc with runs not finished"
grep -q "12 runs: 2 finished, 0 running, 0 queued, 0 failed, 10 not started (executor kube)" status.txt ||
    fail "--status does not count 2 finished and 10 not started"
echo "ok"
