#!/usr/bin/env bash
# The black-box suite once per backend: SQLite (the embedded default) and
# PostgreSQL (a throw-away cluster that tests/api/conftest.py starts and
# stops). Prints both pytest summaries and then one closing line with the
# totals, "api: N passed, N failed", which is what CI reads.
#   tests/run-api.sh BIN [PYTEST_ARGS...]
set -uo pipefail
bin=${1:?usage: run-api.sh BIN [PYTEST_ARGS...]}
shift
cd "$(dirname "$0")/.."
passed=0
failed=0
rc=0
for store in sqlite postgres; do
    log=$(mktemp)
    echo "== api on $store"
    SAFEHOUSE_TEST_STORE=$store SAFEHOUSE_BIN=$bin /usr/bin/python3 -m pytest -q tests/api \
        -p no:cacheprovider "$@" 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
    line=$(grep -E '^[=]* ?[0-9]+ (passed|failed)' "$log" | tail -1)
    for n in $(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); do
        passed=$((passed + n))
    done
    for n in $(echo "$line" | grep -oE '[0-9]+ (failed|errors?)' | grep -oE '[0-9]+'); do
        failed=$((failed + n))
    done
    [ -n "$line" ] || { echo "run-api: no pytest summary on $store"; rc=1; }
    rm -f "$log"
done
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "api: $passed passed, $failed failed"
exit $rc
