#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the tests: its own cluster in a
# temporary directory, run by the unprivileged `postgres` user, reachable
# only through a unix socket in that directory (no TCP port at all).
#   tests/support/pg.sh start DIR    initdb + start; prints the base URL
#   tests/support/pg.sh stop DIR     fast shutdown
#   tests/support/pg.sh resume DIR   start again after a stop (same cluster)
#   tests/support/pg.sh createdb DIR NAME
# The URL printed is libpq's URI form: postgresql://postgres@/NAME?host=DIR
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pg.sh start|stop|resume|createdb DIR [NAME]}
dir=${2:?usage: pg.sh start|stop|resume|createdb DIR [NAME]}
PORT=5432

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    # DIR's parent must be one the postgres user can enter (e.g. /tmp)
    mkdir -p "$dir"
    chmod 0700 "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
    as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1
    # fsync stays on: the crash tests kill safehouse, and what PostgreSQL
    # acknowledged must be on disk as in production
    "$0" resume "$dir"
    echo "postgresql://postgres@/postgres?host=$dir&port=$PORT"
    ;;
resume)
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
        -o "-c listen_addresses='' -k $dir -p $PORT -c max_connections=400 \
            -c shared_buffers=128MB -c log_min_messages=warning" start >/dev/null
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
createdb)
    name=${3:?usage: pg.sh createdb DIR NAME}
    as_pg "$PGBIN/createdb" -h "$dir" -p "$PORT" -U postgres "$name"
    echo "postgresql://postgres@/$name?host=$dir&port=$PORT"
    ;;
*)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
