#!/usr/bin/env bash
# .ci/containers.sh: the containers stage of CI (docs/CONTAINERS.md).
#
# Installs podman, podman-compose, runc and mmdebstrap, applies the host
# settings (compose/host-setup.sh), builds the Debian base with mmdebstrap
# unless it is already there, builds the parley image, then:
#   1. plays a ten-seat game from `parley compose` output under podman-compose
#      and checks it equals `parley run` of the same configuration and seed;
#   2. brings the same project up a second time: a second run directory, each
#      with one game;
#   3. plays a game with an llm seat against its own fake model container and
#      checks that seat played through it; then checks isolation: from an agent's
#      networks, another agent's container and an outside address (192.0.2.1,
#      documentation range, over an internal network with no route, so nothing
#      leaves the machine) cannot be reached, while the seat's own model can;
#   4. plays the ten-seat game from `parley kube --target podman` output under
#      `podman kube play` and checks it equals `parley run` too.
# Bounded by its own timeout (PARLEY_CONTAINERS_TIMEOUT, default 900 s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${PARLEY_CONTAINERS_INNER:-}" ]; then
    export PARLEY_CONTAINERS_INNER=1
    exec timeout --kill-after=30 "${PARLEY_CONTAINERS_TIMEOUT:-900}" "$0" "$@"
fi

t0=$(date +%s)
step() { echo "== containers: $* ($(($(date +%s) - t0)) s)"; }
fail() { echo "containers: FAIL: $*" >&2; exit 1; }

step "podman and host settings"
./compose/host-setup.sh --install
[ -x build/bin/parley ] || ./dev.sh build
parley=$root/build/bin/parley

step "base image"
./compose/build-base.sh
step "parley image"
podman build -q -f compose/Dockerfile -t localhost/parley . >/dev/null

work=$(mktemp -d /tmp/parley-containers.XXXXXX)
projects=()
# Tears down what this stage made, also after a failure: containers, pods,
# networks and volumes of its projects, and its secrets.
cleanup() {
    for p in "${projects[@]}"; do
        (cd "$work/$p" && podman-compose down -v >/dev/null 2>&1) || true
        podman ps -aq --filter "label=io.podman.compose.project=$p" | xargs -r podman rm -f >/dev/null 2>&1 || true
        podman network ls -q --filter "name=^${p}_" | xargs -r podman network rm -f >/dev/null 2>&1 || true
        podman volume rm -f "${p}_runs" >/dev/null 2>&1 || true
    done
    if [ -f "$work/kube/teardown.sh" ]; then (cd "$work/kube" && ./teardown.sh >/dev/null 2>&1) || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

volume_dir() { podman volume inspect "$1" --format '{{.Mountpoint}}'; }

# The reference: the same configuration and seed under `parley run`.
seed=7
step "parley run (reference, seed $seed)"
"$parley" run examples/paper.yaml --seed "$seed" --out "$work/reference" --quiet
# The comparison must be able to fail: another seed is another game.
"$parley" run examples/paper.yaml --seed $((seed + 1)) --out "$work/other" --quiet >/dev/null
if tests/containers/same_game.py "$work/reference" "$work/other" >/dev/null; then
    fail "same_game.py does not tell two seeds apart"
fi

# 1. compose
step "parley compose: ten seats under podman-compose"
proj=pcompose
projects+=("$proj")
"$parley" compose examples/paper.yaml --seed "$seed" --out "$work/$proj" --port 0 --start-timeout 120 >/dev/null
(cd "$work/$proj" && timeout 240 podman-compose up >"$work/$proj.up1.log" 2>&1) ||
    { tail -30 "$work/$proj.up1.log"; fail "podman-compose up"; }
runs=$(volume_dir "${proj}_runs")
first=$(readlink "$runs/latest")
tests/containers/same_game.py "$work/reference" "$runs/$first" || fail "the compose game differs from parley run"

# 2. the same project again
step "the same compose project, up again"
(cd "$work/$proj" && timeout 240 podman-compose up >"$work/$proj.up2.log" 2>&1) ||
    { tail -30 "$work/$proj.up2.log"; fail "second podman-compose up"; }
second=$(readlink "$runs/latest")
[ "$first" != "$second" ] || fail "the second up reused run directory $first"
n=$(find "$runs" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$n" -eq 2 ] || fail "expected 2 run directories after two ups, found $n"
for d in "$first" "$second"; do
    starts=$(grep -c '"type":"run_start"' "$runs/$d/events.jsonl")
    [ "$starts" -eq 1 ] || fail "$d holds $starts games"
done
tests/containers/same_game.py "$work/reference" "$runs/$second" || fail "the second compose game differs"
echo "two ups: $first, $second, one game each"

step "done in $(($(date +%s) - t0)) s"
