#!/usr/bin/env bash
# Sets everything up (virtualenvs with the dev tools, the Kafka jars and the Connect plugin) and runs lint and every test.
# Arguments go to pytest, e.g. ./run-tests.sh -k demo3 (then only the main suite runs).
# ./run-tests.sh --quick [pytest arguments]: a local run without the tests marked slow (chaos, soaks), nor the bench's.
set -euo pipefail
cd "$(dirname "$0")"
markers="not bench"
quick=false
if [ "${1:-}" = "--quick" ]; then
    shift
    markers="not bench and not slow"
    quick=true
fi
EXTRAS=dev COMPILE_DEPENDENCIES=1 source scripts/setup-venv.sh
.venv/bin/ruff check .
.venv/bin/mypy  # strict on src/ and examples/ (pyproject.toml [tool.mypy])
.venv/bin/lint-imports  # the layers run one way (pyproject.toml [tool.importlinter])
.venv/bin/fishchips broker fetch
.venv/bin/fishchips connect fetch
# two workers: most tests wait on Kafka, so two cores do twice the waiting (tests/conftest.py: how tests are grouped)
.venv/bin/python -m pytest -n 2 --dist loadgroup -m "$markers" --durations=15 "$@"
if [ $# -eq 0 ] && [ "$quick" = false ]; then
    # the benchmark's smoke test needs Quix Streams, which pins an older confluent-kafka: its own virtualenv
    VENV=.venv-bench EXTRAS=dev,bench COMPILE_DEPENDENCIES=1 source scripts/setup-venv.sh
    .venv-bench/bin/python -m pytest -m bench tests/integration/test_bench.py  # the other modules need the newer confluent-kafka
fi
