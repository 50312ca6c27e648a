#!/bin/sh
# Broker entrypoint in a container: picks the game's run directory, writes the
# seat tokens given as TOKEN_agent_N variables into its seats.json (mode 0600),
# where parley-broker reads them instead of drawing new ones, then starts the
# broker on it.
#
#   broker-entry.sh RUNS_ROOT [parley-broker options...]
#
# Which run directory:
#   PARLEY_RUN_ID unset: a new one, RUNS_ROOT/<UTC time>-<random>, every time
#     the container starts. A second `compose up` (or a restarted container)
#     plays a second game in a second directory, never into the first's log.
#   PARLEY_RUN_ID=ID: RUNS_ROOT/ID (a Job or Pod names its game). A finished one
#     (summary.json present) is refused; so is an unfinished one, unless this
#     parley-broker can resume a run (its --help says "resume"): then it is
#     handed back to the broker, which resumes it.
# RUNS_ROOT/latest names the newest directory. Exit status 3: refused.
#
# PARLEY_HTTP_FRONT=PORT serves the web side (dashboard, seat pages) on this
# container's address on its one routed network (the source address of its
# default route), not on 0.0.0.0: the agents' internal networks reach the
# broker's agent port but not the live view of everyone's moves.
set -eu
root=${1:?usage: broker-entry.sh RUNS_ROOT [parley-broker options...]}
shift
mkdir -p "$root"
if [ -n "${PARLEY_RUN_ID:-}" ]; then
    case "$PARLEY_RUN_ID" in
    */* | .* | *[!A-Za-z0-9._-]*)
        echo "broker-entry: PARLEY_RUN_ID '$PARLEY_RUN_ID' must be letters, digits, . _ -" >&2
        exit 3 ;;
    esac
    dir=$root/$PARLEY_RUN_ID
    if [ -f "$dir/summary.json" ]; then
        echo "broker-entry: $dir holds a finished game; refusing to start a second one" >&2
        exit 3
    fi
    if [ -f "$dir/events.jsonl" ]; then
        if parley-broker --help 2>&1 | grep -qi resume; then
            echo "broker-entry: resuming the unfinished game in $dir" >&2
        else
            echo "broker-entry: $dir holds an unfinished game and this broker cannot resume it;" \
                "refusing to append a second game to its log" >&2
            exit 3
        fi
    fi
else
    # mkdir fails on an existing name, so two starts never share a directory.
    while :; do
        id=$(date -u +%Y%m%d-%H%M%S)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
        dir=$root/$id
        mkdir "$dir" 2>/dev/null && break
    done
fi
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/seats.json" ]; then
    {
        printf '{'
        sep=''
        for var in $(env | sed -n 's/^TOKEN_\(agent_[0-9]*\)=.*/\1/p' | sort -t_ -k2 -n); do
            eval "tok=\$TOKEN_$var"
            printf '%s"%s":"%s"' "$sep" "$var" "$tok"
            sep=','
        done
        printf '}\n'
    } >"$dir/seats.json"
fi
if [ -n "${PARLEY_HTTP_FRONT:-}" ]; then
    # route get only looks the route up; nothing is sent.
    addr=$(ip -4 -o route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
    if [ -z "$addr" ]; then
        echo "broker-entry: PARLEY_HTTP_FRONT: this container has no routed network" >&2
        exit 3
    fi
    set -- "$@" --http "$addr:$PARLEY_HTTP_FRONT"
fi
ln -sfn "$(basename "$dir")" "$root/latest"
echo "broker-entry: run directory $dir" >&2
exec parley-broker --out "$dir" "$@"
