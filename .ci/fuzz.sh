#!/usr/bin/env bash
# .ci/fuzz.sh: the fuzzing stage. Builds the libFuzzer harnesses of fuzz/ with
# clang (ASan + UBSan, build-fuzz/) and runs each on a copy of its seed corpus
# (tests/fuzz/corpus/NAME) for FUZZ_SECONDS (default 30) seconds, two at a
# time. Any crash, leak, timeout or sanitizer report fails the stage; the input
# is kept in build-fuzz/findings/ (add it to the corpus once fixed). The
# figures (executions, coverage) are printed per harness and in total.
#
#   FUZZ_SECONDS=30 .ci/fuzz.sh [NAME...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
seconds=${FUZZ_SECONDS:-30}
build=${PARLEY_FUZZ_BUILD_DIR:-$here/build-fuzz}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(frame delta names llm_parse config template http_body)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
need=()
command -v clang >/dev/null || need+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    need+=("libclang-rt-$(clang --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p' | head -1)-dev")
if [ ${#need[@]} -gt 0 ]; then
    echo "fuzz: installing ${need[*]}" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

CC=clang cmake -S "$here" -B "$build" -DPARLEY_FUZZ=ON -DPARLEY_TESTS=OFF -DPARLEY_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target "${harnesses[@]/#/fuzz_}" >/dev/null

mkdir -p "$build/findings"
run_one() {
    local name=$1 work
    work=$(mktemp -d)
    cp -r "$here/tests/fuzz/corpus/$name/." "$work/"
    # Crashes found before and fixed stay in the corpus: they run first.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/findings/$name-" "$work" \
        >"$build/findings/$name.log" 2>&1
    local rc=$?
    rm -rf "$work"
    return $rc
}
failed=0
pids=()
names=()
for name in "${harnesses[@]}"; do
    run_one "$name" &
    pids+=($!)
    names+=("$name")
    if [ ${#pids[@]} -ge 2 ]; then
        wait "${pids[0]}" || { echo "fuzz: $(basename "${names[0]}") FAILED (build-fuzz/findings/${names[0]}.log)"; failed=1; }
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { echo "fuzz: ${names[$i]} FAILED (build-fuzz/findings/${names[$i]}.log)"; failed=1; }
done
total=0
for name in "${harnesses[@]}"; do
    log="$build/findings/$name.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf 'fuzz: %-10s %10s executions, coverage %s edges\n' "$name" "${execs:-?}" "${cov:-?}"
    total=$((total + ${execs:-0}))
done
echo "fuzz: $total executions in all"
exit $failed
