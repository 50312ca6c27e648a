#!/usr/bin/env bash
# compose/build-base.sh: builds the Debian 12 base image that compose/Dockerfile
# starts FROM, locally with mmdebstrap, for machines that reach Debian's
# package mirror but no container registry.
#
#   sudo ./compose/build-base.sh [--force] [--mirror URL]
#
# Tags the result docker.io/library/debian:bookworm and :bookworm-slim (the
# Dockerfile's two FROM lines). Skips the work when both tags already exist,
# unless --force. Needs mmdebstrap and podman (compose/host-setup.sh --install).
set -euo pipefail

force=false
mirror=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
    case "$1" in
    --force) force=true ;;
    --mirror) mirror=${2:?--mirror takes a URL}; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-base: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

tags=(docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim)
if ! $force && podman image exists "${tags[0]}" && podman image exists "${tags[1]}"; then
    echo "build-base: ${tags[*]} already present (--force rebuilds)" >&2
    exit 0
fi
for tool in mmdebstrap podman; do
    command -v "$tool" >/dev/null || { echo "build-base: $tool is missing (compose/host-setup.sh --install)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
security=${mirror%/debian}/debian-security
start=$(date +%s)
# minbase: essential packages and apt, like the registry's bookworm-slim.
mmdebstrap --quiet --variant=minbase --format=tar \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$tmp/rootfs.tar" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main"
id=$(podman import --change 'CMD ["/bin/bash"]' "$tmp/rootfs.tar")
for t in "${tags[@]}"; do podman tag "$id" "$t"; done
echo "build-base: ${tags[*]} built in $(($(date +%s) - start)) s" >&2
