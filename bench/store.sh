#!/usr/bin/env bash
# Store backends side by side: the same routes on SQLite and on PostgreSQL
# in one run, with the same wrk settings. Both servers run for the whole
# run (the idle one only polls); for each route SQLite is measured, then
# PostgreSQL, then the next route, so slow drift of the shared machine's load
# touches both columns alike and the pg/sqlite ratios are what to read.
# Routes: GET /v1/me; POST /v1/sessions (logins/s, 4 connections as in
# bench/run.sh); POST /v1/sessions/refresh with never-reused tokens
# (bench/refresh.lua); POST /v1/device/heartbeat from 1,000 devices;
# POST /v1/devices/claim with a fresh claim code per request
# (bench/claim.lua); POST /oauth/introspect (a partner's access token).
# PostgreSQL 15 is a throw-away cluster (tests/support/pg.sh: unix socket
# in the temp dir, fsync on, no TCP). Both servers run with
# --no-address-limits (the setup makes ~100 logins from one address).
# Prints a table and writes bench/results-store.json; stops everything it
# started and removes its temp dir.
# Knobs: BENCH_SECONDS (default 10), BENCH_CLAIM_CODES (codes provisioned
# per backend, default 4000 x BENCH_SECONDS), SAFEHOUSE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
CODES=${BENCH_CLAIM_CODES:-$((4000 * SECS))}
BACKENDS=(sqlite postgres)
bench_init /tmp/shpg-bench-store.XXXXXX
chmod 0755 "$WORK" # the postgres user must enter it to reach its cluster
bench_on_exit() { bash tests/support/pg.sh stop "$WORK/pg" >/dev/null 2>&1; }

# ---- PostgreSQL ------------------------------------------------------------------
echo "bench: starting a throw-away PostgreSQL 15" >&2
bash tests/support/pg.sh start "$WORK/pg" >/dev/null
PG_URL=$(bash tests/support/pg.sh createdb "$WORK/pg" safehouse_bench)

# ---- the two servers ---------------------------------------------------------------
declare -A PORT APORT ADMIN AT
start_backend() { # start_backend BACKEND [serve args...]
    local b=$1; shift
    start_server "$BIN" "$WORK/$b" "$b" --no-address-limits "$@"
    PORT[$b]=$S_PORT; APORT[$b]=$S_APORT
    ADMIN[$b]=$(admin_token "$b")
}
start_backend sqlite
start_backend postgres --store "$PG_URL"

# ---- fixtures, the same on each backend ----------------------------------------------
# One bench user (GET /v1/me, logins, claims); CONNS + 16 refresh tokens;
# 1,000 devices for heartbeats; CODES unclaimed devices for claims; a linked
# partner (account, 5 devices, consent to 3, code exchange with PKCE) for
# introspection (bench/fixtures.py).
setup_backend() { # setup_backend BACKEND
    local b=$1
    fixtures "$b" "${PORT[$b]}" "${APORT[$b]}" "${ADMIN[$b]}" --bench-user \
        --refresh "$((CONNS + 16))" --heartbeat-devices 1000 --claim-codes "$CODES" --partner
    AT[$b]=$FX_AT
    # warm-up (not recorded): fills the PostgreSQL connection pool, the caches
    wrk -t"$THREADS" -c"$CONNS" -d1s -H "Authorization: Bearer ${AT[$b]}" \
        "http://127.0.0.1:${PORT[$b]}/v1/me" >/dev/null
}
for b in "${BACKENDS[@]}"; do
    echo "bench: fixtures on $b ($CODES claim codes, 1,000 devices, $((CONNS + 16)) sessions, a partner)" >&2
    setup_backend "$b"
done

# ---- the routes, alternating backends ---------------------------------------------------
route_get_me() { wrk_run "get_me_$1" "http://127.0.0.1:${PORT[$1]}/v1/me" \
    -H "Authorization: Bearer ${AT[$1]}"; }
route_login() { wrk_run "login_$1" "http://127.0.0.1:${PORT[$1]}/v1/sessions" \
    -c4 -s "$WORK/fx-$1/login.lua"; }
# refresh: one connection per wrk thread, so that a 503 (PostgreSQL gives up
# on a serialization failure after its retries) is retried with the same
# token, as an app would, instead of losing the session (bench/refresh.lua)
route_refresh() { wrk_run "refresh_$1" "http://127.0.0.1:${PORT[$1]}/v1/sessions/refresh" \
    -t"$CONNS" -s bench/refresh.lua -- "$WORK/fx-$1/refresh_tokens" "$CONNS" retry-503; }
route_heartbeat() { wrk_run "heartbeat_$1" "http://127.0.0.1:${PORT[$1]}/" \
    -s "$WORK/fx-$1/hb.lua"; }
route_claim() { wrk_run "claim_$1" "http://127.0.0.1:${PORT[$1]}/v1/devices/claim" \
    -s bench/claim.lua -- "$WORK/fx-$1/claim_codes" "$THREADS" "${AT[$1]}"; }
route_introspect() { wrk_run "introspect_$1" "http://127.0.0.1:${PORT[$1]}/oauth/introspect" \
    -s "$WORK/fx-$1/introspect.lua"; }

: >"$WORK/rows"
ROUTES=(get_me login refresh heartbeat claim introspect)
echo "bench: wrk -t$THREADS -c$CONNS -d${SECS}s per route (logins: -c4; refresh: -t$CONNS -c$CONNS), sqlite then postgres" >&2
for r in "${ROUTES[@]}"; do
    for b in "${BACKENDS[@]}"; do
        echo "bench:   $r on $b" >&2
        "route_$r" "$b"
    done
done

/usr/bin/python3 - "$WORK/rows" "$SECS" "$CODES" "${ROUTES[@]}" <<'PY'
import json, sys
rows_file, secs, codes, routes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
rows = {}
for line in open(rows_file):
    n, rps, ok, p50, p99, bad, to = line.split()
    rows[n] = {"rps": float(rps), "ok_rps": float(ok), "p50_us": float(p50), "p99_us": float(p99),
               "non_2xx": int(bad), "timeouts": int(to)}
label = {"get_me": "GET /v1/me", "login": "POST /v1/sessions (login)",
         "refresh": "POST /v1/sessions/refresh", "heartbeat": "POST /v1/device/heartbeat",
         "claim": "POST /v1/devices/claim", "introspect": "POST /oauth/introspect"}
res = {"seconds": secs, "wrk": "-t2 -c64 (login: -t2 -c4; refresh: -t64 -c64, 503s retried)",
       "claim_codes_per_backend": codes, "order": "per route: sqlite, then postgres",
       "throughput": "ok_rps, 2xx answers per second; rps counts every answer", "routes": {}}
print("req/s: 2xx answers per second; pg/sq: postgres over sqlite (throughput, p99 latency)")
print(f"{'route':<28}{'sqlite req/s':>13}{'p50 us':>9}{'p99 us':>9}"
      f"{'pg req/s':>11}{'p50 us':>9}{'p99 us':>9}{'pg/sq req/s':>12}{'pg/sq p99':>11}{'errors sq/pg':>14}")
for r in routes:
    sq, pg = rows[r + "_sqlite"], rows[r + "_postgres"]
    e = {"sqlite": sq, "postgres": pg,
         "rps_ratio_pg_to_sqlite": round(pg["ok_rps"] / sq["ok_rps"], 3) if sq["ok_rps"] else None,
         "p99_ratio_pg_to_sqlite": round(pg["p99_us"] / sq["p99_us"], 3) if sq["p99_us"] else None}
    res["routes"][r] = e
    bad = f"{sq['non_2xx'] + sq['timeouts']}/{pg['non_2xx'] + pg['timeouts']}"
    f = lambda v: f"{v:.3f}" if v is not None else "-"
    print(f"{label[r]:<28}{sq['ok_rps']:>13.0f}{sq['p50_us']:>9.0f}{sq['p99_us']:>9.0f}"
          f"{pg['ok_rps']:>11.0f}{pg['p50_us']:>9.0f}{pg['p99_us']:>9.0f}"
          f"{f(e['rps_ratio_pg_to_sqlite']):>12}{f(e['p99_ratio_pg_to_sqlite']):>11}{bad:>14}")
for r in routes:
    for b in ("sqlite", "postgres"):
        x = res["routes"][r][b]
        if x["non_2xx"] or x["timeouts"]:
            print(f"note: {r} on {b}: {x['non_2xx']} non-2xx answers, {x['timeouts']} timeouts "
                  f"({x['rps']:.0f} answers/s in all)")
claimed = max(res["routes"]["claim"][b]["ok_rps"] for b in ("sqlite", "postgres")) * secs \
    if "claim" in res["routes"] else 0
if claimed > 0.9 * codes:
    print(f"note: claims came close to the {codes} codes provisioned; raise BENCH_CLAIM_CODES")
json.dump(res, open("bench/results-store.json", "w"), indent=2)
print("written: bench/results-store.json")
PY
