#!/usr/bin/env bash
# Account-linking benchmarks next to nginx's `return 200`, same wrk settings,
# same run: POST /oauth/introspect (client_secret_basic, a partner access
# token) and a partner's GET /v1/devices (3 devices granted of 5). Target for
# introspection: >= 70,000/s. Writes bench/results-oauth.json.
# Knobs: BENCH_SECONDS (default 10), SAFEHOUSE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
bench_init /tmp/safehouse-bench-oauth.XXXXXX

# ---- nginx ---------------------------------------------------------------------
start_nginx '{"active":true,"scope":"devices:read devices:control","client_id":"0123456789abcdef0123456789abcdef","sub":"0123456789abcdef0123456789abcdef"}'

# ---- safehouse with one linked partner ----------------------------------------------
# Linked the way a user links a partner: account, 5 devices, login and consent
# pages (3 devices chosen), code exchange with PKCE (bench/fixtures.py).
start_server "$BIN" "$WORK/data" main
PORT=$S_PORT
wait_http "http://127.0.0.1:$NGINX_PORT/"
fixtures main "$PORT" "$S_APORT" "$(admin_token main)" --partner
BASIC=$FX_BASIC OA=$FX_OA

# sanity: the requests the benchmark repeats succeed
curl -sf -H "Authorization: Basic $BASIC" --data "token=$OA" "http://127.0.0.1:$PORT/oauth/introspect" \
    | grep -q '"active":true'
curl -sf -H "Authorization: Bearer $OA" "http://127.0.0.1:$PORT/v1/devices" | grep -q '"devices"'

: >"$WORK/rows"
echo "bench: wrk -t2 -c64 -d${SECS}s against each endpoint" >&2
wrk_run "nginx_return_200" "http://127.0.0.1:$NGINX_PORT/"
wrk_run "oauth_introspect" "http://127.0.0.1:$PORT/oauth/introspect" -s "$WORK/fx-main/introspect.lua"
wrk_run "partner_get_devices" "http://127.0.0.1:$PORT/v1/devices" -H "Authorization: Bearer $OA"

/usr/bin/python3 - "$WORK/rows" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    n, rps, _ok, p50, p99, bad, _to = line.split()
    rows[n] = {"rps": float(rps), "p50_us": float(p50), "p99_us": float(p99), "non_2xx": int(bad)}
ng = rows["nginx_return_200"]["rps"]
for r in rows.values():
    r["ratio_to_nginx"] = round(r["rps"] / ng, 3)
print(f"{'endpoint':<22}{'req/s':>12}{'p50 us':>10}{'p99 us':>10}{'vs nginx':>10}{'non-2xx':>9}")
for n, r in rows.items():
    print(f"{n:<22}{r['rps']:>12.0f}{r['p50_us']:>10.0f}{r['p99_us']:>10.0f}{r['ratio_to_nginx']:>10.3f}{r['non_2xx']:>9}")
target = 70000
got = rows["oauth_introspect"]["rps"]
print(f"introspection target >= {target}/s: {'met' if got >= target else 'NOT met'} ({got:.0f}/s)")
json.dump({"http": rows, "introspect_target_rps": target}, open("bench/results-oauth.json", "w"), indent=2)
print("written: bench/results-oauth.json")
PY
