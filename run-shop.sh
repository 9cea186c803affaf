#!/usr/bin/env bash
# Sets everything up (a virtualenv, fishchips, the Kafka jars, a local broker) and opens the shop.
# Arguments go to `fishchips demo`, e.g. ./run-shop.sh demo3; `./run-shop.sh web [SCENARIO]` opens the page in the browser instead
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup-venv.sh
.venv/bin/fishchips broker start
if [ "${1:-}" = web ]; then
    shift
    exec .venv/bin/fishchips web --open "$@"
fi
exec .venv/bin/fishchips demo "$@"
