#!/usr/bin/env bash
# compose/host-setup.sh: the host settings podman needs to run parley's
# containers on a Debian 12 machine (and inside CI's sandbox).
#
#   sudo ./compose/host-setup.sh [--install]
#
# --install  apt-get install podman podman-compose runc mmdebstrap first.
#
# Writes /etc/containers/containers.conf.d/50-parley.conf:
#   - runtime "runc": crun fails in sandboxes that forbid raising rlimits
#     ("setrlimit RLIMIT_NOFILE: Operation not permitted");
#   - default_ulimits low enough that the runtime never has to raise them.
# Idempotent: running it twice changes nothing.
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

if [ "${1:-}" = "--install" ]; then
    missing=()
    for p in podman podman-compose runc mmdebstrap uidmap; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "host-setup: installing ${missing[*]}" >&2
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
elif [ -n "${1:-}" ]; then
    echo "host-setup: unknown option '$1' (see --help)" >&2
    exit 2
fi

conf=/etc/containers/containers.conf.d/50-parley.conf
want='# written by parley compose/host-setup.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
'
if [ ! -f "$conf" ] || ! diff -q <(printf '%s' "$want") "$conf" >/dev/null; then
    "${sudo[@]}" mkdir -p "$(dirname "$conf")"
    printf '%s' "$want" | "${sudo[@]}" tee "$conf" >/dev/null
    echo "host-setup: wrote $conf" >&2
fi
command -v runc >/dev/null || { echo "host-setup: runc is not installed (use --install)" >&2; exit 1; }
echo "host-setup: podman runs with runtime $(podman info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null || echo '?')" >&2
