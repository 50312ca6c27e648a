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
passed=0
ok() { passed=$((passed + 1)); }

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
    if [ -f "$work/kube/teardown.sh" ]; then "$work/kube/teardown.sh" --volumes >/dev/null 2>&1 || true; fi
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
ok

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
ok

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
ok

# 3. an llm seat and its model; isolation
step "llm seat with its own fake model; isolation"
proj=piso
projects+=("$proj")
PARLEY_TEST_KEY=sk-ci-$RANDOM$RANDOM "$parley" compose tests/containers/llm-seat.yaml --fake-llm \
    --out "$work/$proj" --port 0 --start-timeout 120 >/dev/null
(cd "$work/$proj" && podman-compose up -d >"$work/$proj.up.log" 2>&1) ||
    { tail -30 "$work/$proj.up.log"; fail "podman-compose up -d (llm seat)"; }
rc=$(timeout 180 podman wait "${proj}_broker_1") || fail "the llm game did not end"
[ "$rc" -eq 0 ] || { podman logs "${proj}_broker_1" | tail -20; fail "the llm game's broker exited $rc"; }
runs=$(volume_dir "${proj}_runs")
# The seat played through its model: every turn a decision, none missed, and
# the fake (which refuses requests without the seat's key) answered them.
python3 - "$runs/latest/summary.json" <<'PY' || fail "the llm seat did not play through its model"
import json, sys
s = json.load(open(sys.argv[1]))
a = s["board"][0]
assert s["reason"] == "finished", s["reason"]
assert a["agent"] == "agent_1" and a["policy"] == "llm", a
assert a["turns"] == s["rounds_played"] and a["missed_turns"] == 0, a
assert a["tasks_done"] > 0, a
print(f"llm seat: {a['turns']} turns, {a['tasks_done']} tasks through its own model")
PY
if podman logs "${proj}_agent_1_1" 2>&1 | grep -q -E ' 401|unauthori'; then
    fail "the llm seat's key did not reach its model"
fi
ok

# A probe container attached to exactly the networks podman gave a service's
# container tries a TCP connection (bash's /dev/tcp, 3 s).
probe() { # probe SERVICE HOST PORT
    local nets=() n
    for n in $(podman inspect "${proj}_$1_1" --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'); do
        nets+=(--network "$n")
    done
    podman run --rm "${nets[@]}" --entrypoint /bin/bash localhost/parley \
        -c "timeout 3 bash -c 'exec 3<>/dev/tcp/$2/$3'" >/dev/null 2>&1
}
# Something listening where agent_3 sits: a container on agent_3's networks.
nets3=()
for n in $(podman inspect "${proj}_agent_3_1" --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'); do
    nets3+=(--network "$n")
done
podman run -d --name "${proj}_listener" --label "io.podman.compose.project=$proj" "${nets3[@]}" \
    --entrypoint parley-fake-llm localhost/parley --host 0.0.0.0 --port 8000 >/dev/null
ip3=$(podman inspect "${proj}_listener" --format "{{(index .NetworkSettings.Networks \"${proj}_seat_3\").IPAddress}}")
[ -n "$ip3" ] || fail "no address for the listener on ${proj}_seat_3"
# Ready when it says so (it prints "listening" once bound).
for _ in $(seq 300); do podman logs "${proj}_listener" 2>/dev/null | grep -q listening && break; sleep 0.1; done
probe agent_3 "$ip3" 8000 || fail "control: agent_3's own network does not reach $ip3:8000"
! probe agent_2 "$ip3" 8000 || fail "agent_2 reaches a container on agent_3's network ($ip3)"
! probe agent_2 192.0.2.1 80 || fail "agent_2 reaches an outside address"
! probe agent_1 192.0.2.1 80 || fail "the llm seat reaches an outside address"
probe agent_1 model_1 8000 || fail "the llm seat does not reach its model"
! probe agent_2 model_1 8000 || fail "agent_2 reaches agent_1's model"
# The broker again (a new game, waiting for its seats): agents reach its
# agent port but not its web side, which a person on the host reaches.
podman start "${proj}_broker_1" >/dev/null
for _ in $(seq 300); do podman logs "${proj}_broker_1" 2>/dev/null | grep -q '^READY' && break; sleep 0.1; done
probe agent_2 broker 5555 || fail "control: agent_2 does not reach the broker's agent port"
! probe agent_2 broker 8080 || fail "agent_2 reaches the broker's web side (the live view)"
web=$(podman port "${proj}_broker_1" 8080) || fail "the web side is not published"
case "$web" in 127.0.0.1:*) ;; *) fail "the web side is published on $web, not 127.0.0.1" ;; esac
python3 -c "import sys, urllib.request; sys.exit(0 if b'<html' in urllib.request.urlopen('http://$web/', timeout=5).read().lower() else 1)" ||
    fail "the dashboard does not answer on http://$web/"
podman stop -t 5 "${proj}_broker_1" >/dev/null
echo "isolation: agent_2 reaches neither agent_3's network nor model_1 nor the web side nor 192.0.2.1;"
echo "  agent_1 reaches its model; the dashboard answers on $web of the host"
ok

# 4. kube: the cluster manifests offline, then the podman Pods for real
step "parley kube: manifests against the Kubernetes API schemas"
command -v node >/dev/null && command -v npm >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
[ -d tests/containers/kube/node_modules ] ||
    (cd tests/containers/kube && npm ci --silent --no-audit --no-fund >/dev/null)
"$parley" kube examples/paper.yaml --seed "$seed" --out "$work/k8s" >/dev/null
node tests/containers/kube/validate_kube.mjs "$work/k8s"
ok
PARLEY_TEST_KEY=sk-ci-k8s "$parley" kube tests/containers/llm-seat.yaml --fake-llm --out "$work/k8s-llm" >/dev/null
node tests/containers/kube/validate_kube.mjs "$work/k8s-llm"
ok

step "parley kube --target podman: ten seats under podman kube play"
"$parley" kube examples/paper.yaml --seed "$seed" --target podman --name pkube --port 0 \
    --start-timeout 120 --out "$work/kube" >/dev/null
"$work/kube/play.sh" >/dev/null || fail "play.sh"
rc=$(timeout 180 podman wait pkube-broker-broker) || fail "the kube game did not end"
[ "$rc" -eq 0 ] || { podman logs pkube-broker-broker | tail -20; fail "the kube broker exited $rc"; }
runs=$(volume_dir pkube-runs)
run_id=$(readlink "$runs/latest")
tests/containers/same_game.py "$work/reference" "$runs/$run_id" || fail "the kube game differs from parley run"
ok
# Played again, the rendered game is refused (the run is finished), not replayed.
"$work/kube/play.sh" >/dev/null || fail "second play.sh"
rc=$(timeout 60 podman wait pkube-broker-broker) || fail "the second kube broker did not end"
[ "$rc" -eq 3 ] || fail "a second play of a finished game exited $rc, not 3 (refused)"
podman logs pkube-broker-broker 2>&1 | grep -q "finished game" || fail "the refusal does not say why"
n=$(find "$runs" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$n" -eq 1 ] || fail "expected 1 run directory after a refused replay, found $n"
[ "$(grep -c '"type":"run_start"' "$runs/$run_id/events.jsonl")" -eq 1 ] || fail "$run_id holds more than one game"
echo "kube play: $run_id equals parley run; a second play is refused and leaves it alone"
ok
"$work/kube/teardown.sh" --volumes

step "done in $(($(date +%s) - t0)) s"
echo "containers: $passed passed, 0 failed"
