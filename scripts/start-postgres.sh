#!/usr/bin/env bash
# Start a throw-away PostgreSQL on 127.0.0.1 (for the tests, or to try `--db postgresql://...`):
# installs Debian's package if it is missing, makes a cluster in a temp dir, starts it on a free
# port and creates the database `fishchips`. Prints shell lines to eval:
#     eval "$(scripts/start-postgres.sh)"    # sets FISHCHIPS_TEST_POSTGRES_URL and FISHCHIPS_POSTGRES_DIR
#     scripts/stop-postgres.sh               # stops it and deletes its dir
set -euo pipefail

find_initdb() { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1; }
initdb=$(find_initdb || true)
if [ -z "$initdb" ]; then
    echo "installing PostgreSQL from Debian's packages ..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    initdb=$(find_initdb)
fi
bin=$(dirname "$initdb")

# PostgreSQL will not run as root: as root, the cluster belongs to the `postgres` user the package made
dir=$(mktemp -d /tmp/fishchips-pg-XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log"
# fsync off: a throw-away server need not survive a power cut, and it makes commits fast on a small machine
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
"${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres fishchips

echo "export FISHCHIPS_POSTGRES_DIR=$dir"
echo "export FISHCHIPS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/fishchips"
