#!/bin/sh
# Broker entrypoint in a container: writes the seat tokens given as TOKEN_agent_N
# variables into the run directory's seats.json (mode 0600), where parley-broker
# reads them instead of drawing new ones, then starts the broker.
#   broker-entry.sh RUN_DIR [parley-broker options...]
set -eu
dir=$1
shift
mkdir -p "$dir"
umask 077
{
    printf '{'
    sep=''
    for var in $(env | sed -n 's/^TOKEN_\(agent_[0-9]*\)=.*/\1/p'); do
        eval "tok=\$TOKEN_$var"
        printf '%s"%s":"%s"' "$sep" "$var" "$tok"
        sep=','
    done
    printf '}\n'
} >"$dir/seats.json"
exec parley-broker --out "$dir" "$@"
