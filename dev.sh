#!/usr/bin/env bash
# dev.sh: set up, build and run parley on a fresh Debian machine.
#
#   ./dev.sh run                                    the study in miniature: the causal
#                                                   decomposition of the built-in agents
#                                                   (examples/sweep-study.yaml), 27 games
#   ./dev.sh run CONFIG [parley run options...]     one game (parley run)
#   ./dev.sh test [ctest options...]                the whole test suite
#   ./dev.sh build                                  just install and build
#
# Installs the Debian packages it needs when they are missing (apt-get, as root
# or through sudo), configures with CMake into build/ and builds. With CI=true
# warnings are errors. PARLEY_BUILD_DIR and PARLEY_CMAKE_ARGS change the build.
# PARLEY_BIN=DIR makes `run` use the programs already built in DIR, without
# building (how the README test plays the quick start in a fresh clone).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${PARLEY_BUILD_DIR:-$here/build}
packages=(build-essential cmake pkg-config git libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
          libevent-dev libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev libcmocka-dev
          python3-zmq)  # python3-zmq: the example Python client's test (examples/clients/python)

need_install() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "dev.sh: installing ${missing[*]}" >&2
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# The browser tests: Debian's chromium driven by playwright-core from npm.
need_browser() {
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "dev.sh: installing ${missing[*]} (browser tests)" >&2
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    for dir in "$here"/tests/*/; do
        if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
            echo "dev.sh: npm ci in ${dir#"$here"/}" >&2
            (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null)
        fi
    done
}

build() {
    need_install
    local args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
    [ "${CI:-}" = "true" ] && args+=(-DPARLEY_WERROR=ON)
    # shellcheck disable=SC2206
    args+=(${PARLEY_CMAKE_ARGS:-})
    cmake -S "$here" -B "$build" "${args[@]}" >/dev/null
    echo "dev.sh: building in $build" >&2
    if ! cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1; then
        grep -E 'error|Error|warning' "$build/build.log" | head -50 >&2
        echo "dev.sh: build failed; the whole log is $build/build.log" >&2
        exit 1
    fi
}

cmd=${1:-run}
shift || true
case "$cmd" in
build) build ;;
run)
    bin=$build/bin
    if [ -n "${PARLEY_BIN:-}" ] && [ -x "$PARLEY_BIN/parley" ]; then
        bin=$PARLEY_BIN
    else
        build
    fi
    if [ $# -eq 0 ]; then
        # Results in runs/study under the current directory (resumable).
        exec "$bin/parley" sweep "$here/examples/sweep-study.yaml"
    fi
    exec "$bin/parley" run "$@"
    ;;
test)
    need_browser
    build
    cd "$build"
    exec ctest --output-on-failure -j"$(nproc)" "$@"
    ;;
*)
    echo "usage: ./dev.sh run [CONFIG [options]] | test [ctest options] | build" >&2
    exit 2
    ;;
esac
