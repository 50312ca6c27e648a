#!/usr/bin/env bash
# readme_test.sh SRC_DIR BIN_DIR: the README's commands, as written, in a fresh
# clone. Clones SRC_DIR (what is committed), links build/bin of the clone to the
# programs under test (BIN_DIR: building the clone again would take minutes; the
# build itself is what every other test checks), and runs every command of the
# README's "Quick start" and "Running experiments" code blocks, taken from the
# README itself, so that the test follows the README and not a copy of it. The
# one command not run is `./dev.sh test`: that is this suite. Then it checks
# what a newcomer would look at: the verdict table and the report's path, the
# files the sweep and the report wrote, meta.json, and that nothing was written
# outside the clone.
set -euo pipefail
src=$1
bin=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-readme-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

git clone -q "$src" "$work/clone"
cd "$work/clone"
mkdir -p build
ln -s "$bin" build/bin
export PARLEY_BIN=$bin

# The commands: lines of ```sh blocks under those two headings, comments cut.
mapfile -t cmds < <(awk '
    /^## / { sec = $0 }
    /^```sh$/ && (sec ~ /Quick start/ || sec ~ /Running experiments/) { inb = 1; next }
    /^```$/ { inb = 0; next }
    inb { sub(/[ \t]+#.*$/, ""); if ($0 != "") print }
' README.md)
[ "${#cmds[@]}" -ge 6 ] || fail "found only ${#cmds[@]} commands in README.md"

i=0
for c in "${cmds[@]}"; do
    i=$((i + 1))
    if [ "$c" = "./dev.sh test" ]; then
        echo "skip: $c (the test suite itself)"
        continue
    fi
    echo "\$ $c"
    rc=0
    bash -c "$c" >"$work/out.$i" 2>"$work/err.$i" </dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$work/out.$i" "$work/err.$i" >&2
        fail "'$c' exited $rc"
    fi
    printf -v "out_$i" '%s' "$(cat "$work/out.$i")"
done

has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "${3:-$1}: no '$2'"; }; }
for k in $(seq "$i"); do
    c=${cmds[$((k - 1))]}
    case "$c" in
    "./dev.sh run")
        has "$work/out.$k" "cooperation-limited" "$c"
        has "$work/out.$k" "competence-limited" "$c"
        has "$work/out.$k" "at ceiling" "$c"
        has "$work/out.$k" "report: runs/study/report.html" "$c"
        [ -s runs/study/report.html ] || fail "no runs/study/report.html"
        [ "$(grep -c '^run-' runs/study/runs.csv)" -eq 27 ] || fail "runs/study/runs.csv: not 27 runs"
        ;;
    *"parley run "*)
        dir=$(sed -n 's/^run directory: //p' "$work/out.$k")
        [ -n "$dir" ] && [ -s "$dir/meta.json" ] || fail "'$c': no run directory with meta.json"
        [ -s "$dir/summary.json" ] || fail "'$c': $dir has no summary.json"
        ;;
    *"parley sweep "*)
        [ -s runs/sweep-offline/sweep.json ] || fail "'$c': no runs/sweep-offline/sweep.json"
        ;;
    *"parley report "*)
        for f in report.html report.md runs.csv agents.csv aggregates.csv decomposition.csv; do
            [ -s "runs/sweep-offline/$f" ] || fail "'$c': no runs/sweep-offline/$f"
        done
        ;;
    *"--version"*) has "$work/out.$k" "parley " "$c" ;;
    *"--help"*) has "$work/out.$k" "usage:" "$c" ;;
    esac
done
# Nothing beside the clone (the old sweep files wrote into examples/../out).
extra=$(ls -A "$work" | grep -v -e '^clone$' -e '^out\.' -e '^err\.' || true)
[ -z "$extra" ] || fail "written outside the clone: $extra"
[ ! -e out ] || fail "an out/ folder appeared in the clone"
echo "README: ${#cmds[@]} commands, all as written"
