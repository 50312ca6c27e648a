#!/bin/sh
# vllm-prologue.sh: a per-run prologue (docs/CLUSTER.md) that serves this run's
# model with vLLM on the GPU Slurm gave the job, and points the seats at it.
#
# parley runs it with sh before each run of an executor: slurm or kube sweep,
# in the directory the sweep was submitted from, with
#   PARLEY_RUN_ID        run-0003
#   PARLEY_RUN_INDEX     3
#   PARLEY_RUN_SET       the run's factor values as JSON, e.g. {"seats.0.model": "Qwen/Qwen2.5-7B-Instruct", "seed": "1"}
#   PARLEY_SWEEP_DIR     the sweep's output directory
#   PARLEY_PROLOGUE_OUT  a file: each KEY=VALUE line written there becomes a
#                        --set KEY=VALUE of this run's `parley run`
# Its output goes to PARLEY_SWEEP_DIR/logs/run-NNNN.prologue.log. It must exit
# (0, or the run fails with its status); what it leaves running in its process
# group (the server) gets SIGTERM once the run is over.
set -eu
model=$(python3 -c 'import json, os; print(json.loads(os.environ["PARLEY_RUN_SET"]).get("seats.0.model", ""))')
[ -n "$model" ] || { echo "vllm-prologue: the sweep has no seats.0.model factor" >&2; exit 1; }
# One port per job: two jobs on one node do not collide.
port=$((20000 + ${SLURM_JOB_ID:-0} % 20000))
# CUDA_VISIBLE_DEVICES is already the job's GPU (--gpus in slurm:).
vllm serve "$model" --host 127.0.0.1 --port "$port" --max-model-len 8192 \
    > "$PARLEY_SWEEP_DIR/logs/$PARLEY_RUN_ID.vllm.log" 2>&1 &
server=$!
# Ready when it lists the model; bounded (loading weights takes minutes).
i=0
until curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "vllm-prologue: vllm exited (see its log)" >&2; exit 1; }
    i=$((i + 1))
    [ $i -lt 1200 ] || { echo "vllm-prologue: not ready after 10 minutes" >&2; exit 1; }
    sleep 0.5
done
echo "vllm-prologue: $model on port $port"
{
    echo "seats.0.base_url=http://127.0.0.1:$port/v1"
    echo "seats.0.model=$model"
} >> "$PARLEY_PROLOGUE_OUT"
