#!/usr/bin/env bash
# resume_soak.sh: many kill-and-resume trials (tests/broker/test_broker_resume.c)
# beyond the suite's few. Each batch is one run of the test with its own seed;
# every trial kills the broker at a seeded random point of a 10-seat sequential
# game, restarts it, and checks the record against the uninterrupted game and
# with `parley replay`.
#
#   tests/broker/resume_soak.sh [BATCHES] [TRIALS_PER_BATCH]   (default 5 x 10)
#
# Run from anywhere after a build; BUILD (default ./build) is the build tree.
# Bounded: BATCHES x TRIALS games of about 0.5 s each, one at a time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD:-$here/build}
batches=${1:-5}
trials=${2:-10}
export PARLEY_BIN=$build/bin
fails=0
for ((b = 1; b <= batches; b++)); do
    if PARLEY_RESUME_SEED=$b PARLEY_RESUME_TRIALS=$trials "$build/tests/test_broker_resume" \
        >"${TMPDIR:-/tmp}/resume_soak.$b.log" 2>&1; then
        echo "batch $b (seed $b): $trials trials ok"
    else
        echo "batch $b (seed $b): FAILED, see ${TMPDIR:-/tmp}/resume_soak.$b.log"
        fails=$((fails + 1))
    fi
done
echo "$((batches * trials)) trials in $batches batches, $fails batch(es) failed"
[ "$fails" -eq 0 ]
