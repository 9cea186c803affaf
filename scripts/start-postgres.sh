#!/usr/bin/env bash
# Start a throw-away PostgreSQL on 127.0.0.1 (for the tests, or to try `--db postgresql://...`) with
# `fishchips db start` in a temp data dir; installs Debian's package first if it is missing.
# Prints shell lines to eval:
#     eval "$(scripts/start-postgres.sh)"    # sets FISHCHIPS_TEST_POSTGRES_URL and FISHCHIPS_POSTGRES_DIR
#     scripts/stop-postgres.sh               # stops it and deletes its cluster
# For a server that stays, in the fishchips data dir: `fishchips db start`.
set -euo pipefail
fishchips=${FISHCHIPS:-fishchips}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian's packages ..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
dir=$(mktemp -d /tmp/fishchips-pg-XXXXXX)
"$fishchips" db start --data-dir "$dir" >&2
url=$("$fishchips" db status --data-dir "$dir" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])')
echo "export FISHCHIPS_POSTGRES_DIR=$dir"
echo "export FISHCHIPS_TEST_POSTGRES_URL=$url"
