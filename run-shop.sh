#!/usr/bin/env bash
# Sets everything up (a virtualenv, fishchips, the Kafka jars, a local broker) and opens the shop.
# Arguments go to `fishchips demo`, e.g. ./run-shop.sh demo3; `./run-shop.sh web [SCENARIO]` opens the page in the browser instead;
# `./run-shop.sh learn [LESSON]` plays a lesson in the terminal (the first if none is named), `./run-shop.sh web --lesson N`
# follows one on the page;
# add --nodes 3 for the three-node cluster, whose brokers the views show and can kill
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup-venv.sh
# `--nodes 3` anywhere in the arguments: start (and open the shop on) the local three-node cluster instead of one broker
nodes=1
previous=""
for argument in "$@"; do
    if [ "$argument" = "--nodes=3" ] || { [ "$previous" = --nodes ] && [ "$argument" = 3 ]; }; then nodes=3; fi
    previous="$argument"
done
.venv/bin/fishchips broker start --nodes "$nodes"
if [ "${1:-}" = web ]; then
    shift
    exec .venv/bin/fishchips web --open "$@"
fi
if [ "${1:-}" = learn ]; then
    shift
    exec .venv/bin/fishchips learn "${@:-1}"
fi
exec .venv/bin/fishchips demo "$@"
