#!/usr/bin/env bash
# Stop a PostgreSQL started by scripts/start-postgres.sh and delete its dir.
#     scripts/stop-postgres.sh [DIR]    # default: $FISHCHIPS_POSTGRES_DIR
set -euo pipefail
dir=${1:-${FISHCHIPS_POSTGRES_DIR:?usage: scripts/stop-postgres.sh DIR (or set FISHCHIPS_POSTGRES_DIR)}}
if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "$dir is not a cluster made by start-postgres.sh" >&2
    exit 1
fi
bin=/usr/lib/postgresql/$(cat "$dir/data/PG_VERSION")/bin
as_owner=()
if [ "$(id -u)" = 0 ]; then
    as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
rm -rf "$dir"
