#!/usr/bin/env bash
# Runs a command beside a throw-away PostgreSQL (tests/support/pg.sh) with an
# empty database, named in SAFEHOUSE_TEST_PG_URL, and stops the cluster
# afterwards whatever the command's outcome. The command's exit code is kept.
#   tests/support/with-pg.sh CMD [ARG...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/shpg-XXXXXX)
chmod 0755 "$dir" # the postgres user must enter it
cleanup() {
    bash "$here/pg.sh" stop "$dir/pg" || true
    rm -rf "$dir"
}
trap cleanup EXIT
bash "$here/pg.sh" start "$dir/pg" >/dev/null
SAFEHOUSE_TEST_PG_URL=$(bash "$here/pg.sh" createdb "$dir/pg" safehouse_test)
export SAFEHOUSE_TEST_PG_URL
"$@"
