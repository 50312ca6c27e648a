#!/usr/bin/env bash
# Prints a compose .env with a fresh random token per seat:
#   ./compose/make-env.sh 10 > compose/.env
set -euo pipefail
n=${1:-10}
for i in $(seq 1 "$n"); do
    echo "TOKEN_agent_$i=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
done
