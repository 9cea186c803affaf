#!/usr/bin/env bash
# Sets everything up (a virtualenv with the dev tools, the Kafka jars) and runs lint and every test.
# Arguments go to pytest, e.g. ./run-tests.sh -k demo3
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=dev source scripts/setup-venv.sh
.venv/bin/ruff check .
.venv/bin/fishchips broker fetch
exec .venv/bin/python -m pytest "$@"
