#!/usr/bin/env bash
# Stop a PostgreSQL started by scripts/start-postgres.sh and delete its cluster.
#     scripts/stop-postgres.sh [DIR]    # default: $FISHCHIPS_POSTGRES_DIR
set -euo pipefail
dir=${1:-${FISHCHIPS_POSTGRES_DIR:?usage: scripts/stop-postgres.sh DIR (or set FISHCHIPS_POSTGRES_DIR)}}
"${FISHCHIPS:-fishchips}" db stop --data-dir "$dir" --delete >&2
