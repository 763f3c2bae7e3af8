#!/usr/bin/env bash
# make bench: safehouse next to nginx on loopback, same wrk settings, same run.
# Prints a table and writes bench/results.json. Stops everything it started.
# Knobs: BENCH_SECONDS (default 10), BENCH_BIG_SESSIONS (default 1000000).
# Refresh: every request presents a never-used refresh token (see
# bench/refresh.lua); the tokens come from CONNS + 16 logins made first.
# TLS: GET /v1/me on a server with --tls-cert next to nginx over TLS, same
# throw-away certificate (ECDSA P-256), same protocols and ciphers.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
BIG=${BENCH_BIG_SESSIONS:-1000000}
bench_init /tmp/safehouse-bench.XXXXXX
json_field() { /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# ---- nginx: return 200 with ~120 bytes of JSON, also over TLS --------------
make_tls_cert "$WORK/tls"
start_nginx '{"id":"0123456789abcdef0123456789abcdef","email":"bench@example.com","display_name":"Bench","created_at":"2026-01-01T00:00:00Z"}' \
    "$WORK/tls/cert.pem" "$WORK/tls/key.pem"

# ---- safehouse ------------------------------------------------------------
start_server "$BIN" "$WORK/data" main
PORT=$S_PORT APORT=$S_APORT PID1=$S_PID
wait_http "http://127.0.0.1:$NGINX_PORT/"
H='Content-Type: application/json'
curl -sf -H "$H" "http://127.0.0.1:$PORT/v1/accounts" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","display_name":"Bench"}' >/dev/null
AT=$(curl -sf -H "$H" "http://127.0.0.1:$PORT/v1/sessions" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}' | json_field access_token)
# Three devices for GET /v1/devices: provisioned by the admin API, claimed
# and named by the bench user (a camera, a plug, a bulb).
ADM=$(admin_token main)
for t in camera plug bulb; do
    CODE=$(curl -sf -H "$H" -H "Authorization: Bearer $ADM" "http://127.0.0.1:$APORT/admin/v1/devices" \
        -d "{\"type\":\"$t\",\"model\":\"Bench $t\"}" |
        /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["devices"][0]["claim_code"])')
    curl -sf -H "$H" -H "Authorization: Bearer $AT" "http://127.0.0.1:$PORT/v1/devices/claim" \
        -d "{\"claim_code\":\"$CODE\",\"name\":\"Bench $t\"}" >/dev/null
done

: >"$WORK/rows"
echo "bench: wrk -t$THREADS -c$CONNS -d${SECS}s against each endpoint" >&2
wrk_run "nginx_return_200" "http://127.0.0.1:$NGINX_PORT/"
wrk_run "healthz" "http://127.0.0.1:$PORT/healthz"
wrk_run "get_me" "http://127.0.0.1:$PORT/v1/me" -H "Authorization: Bearer $AT"
wrk_run "get_devices" "http://127.0.0.1:$PORT/v1/devices" -H "Authorization: Bearer $AT"

# ---- over TLS: a server of its own with the certificate nginx has ------------
# wrk keeps its connections: this is the cost of TLS records, with one
# handshake per connection at the start (no resumption on either side).
start_server "$BIN" "$WORK/data-tls" tls --tls-cert "$WORK/tls/cert.pem" --tls-key "$WORK/tls/key.pem"
TLS_URL=$S_URL PID_TLS=$S_PID
CA=(--cacert "$WORK/tls/cert.pem")
wait_http "https://127.0.0.1:$NGINX_TLS_PORT/" "$WORK/tls/cert.pem"
curl -sf "${CA[@]}" -H "$H" "$TLS_URL/v1/accounts" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","display_name":"Bench"}' >/dev/null
AT_TLS=$(curl -sf "${CA[@]}" -H "$H" "$TLS_URL/v1/sessions" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}' | json_field access_token)
wrk_run "nginx_tls_return_200" "https://127.0.0.1:$NGINX_TLS_PORT/"
wrk_run "get_me_tls" "$TLS_URL/v1/me" -H "Authorization: Bearer $AT_TLS"
stop_server "$PID_TLS"
cat >"$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}'
LUA
# A second server with per-address limits off: logins/s is measured there
# (one address would be limited), and so is the flood that only the bounded
# Argon2id queue stands in front of.
start_server "$BIN" "$WORK/data2" nolimits --no-address-limits
PORT2=$S_PORT PID2=$S_PID
curl -sf -H "$H" "http://127.0.0.1:$PORT2/v1/accounts" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","display_name":"Bench"}' >/dev/null
AT2=$(curl -sf -H "$H" "http://127.0.0.1:$PORT2/v1/sessions" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}' | json_field access_token)
LOGIN_OUT=$(wrk --latency -t2 -c4 -d"${SECS}s" -s "$WORK/login.lua" "http://127.0.0.1:$PORT2/v1/sessions")
LOGIN_RPS=$(echo "$LOGIN_OUT" | awk '/Requests\/sec/ {print $2}')

# Refresh: one session per connection (plus spares), each request rotates.
# On the second server: the logins that make the sessions come from one
# address; refresh itself has no per-address limit, so it runs the same.
for _ in $(seq $((CONNS + 16))); do
    curl -sf -H "$H" "http://127.0.0.1:$PORT2/v1/sessions" \
        -d '{"email":"bench@example.com","password":"correct horse battery staple","client":"android"}' |
        json_field refresh_token
done >"$WORK/refresh_tokens"
wrk_run "refresh" "http://127.0.0.1:$PORT2/v1/sessions/refresh" -s bench/refresh.lua \
    -- "$WORK/refresh_tokens" "$THREADS"

# ---- GET /v1/me while one client floods POST /v1/sessions ---------------------
# Same wrk settings for the quiet and the flooded measurement, alternating
# three times in this run (the machine is shared: medians of three windows
# are steadier than one). The flood is one wrk process (one client address)
# sending logins as fast as its connections allow; its own summary shows how
# it was answered (429s, and whether any request timed out).
# flood_pair SUFFIX PORT TOKEN FLOOD_CONNECTIONS
FLOOD_SECS=$(( (SECS + 2) / 3 ))
flood_pair() {
    local sfx=$1 port=$2 tok=$3 conns=$4 me="http://127.0.0.1:$2/v1/me" i fpid
    for i in 1 2 3; do
        wrk_run "get_me_quiet_${sfx}_$i" "$me" -t1 -c32 -d"${FLOOD_SECS}s" \
            -H "Authorization: Bearer $tok"
        wrk --latency -t1 -c"$conns" -d"$((FLOOD_SECS + 2))s" --timeout 10s \
            -s "$WORK/login.lua" "http://127.0.0.1:$port/v1/sessions" >"$WORK/flood_${sfx}_$i.txt" &
        fpid=$!
        sleep 1
        wrk_run "get_me_flood_${sfx}_$i" "$me" -t1 -c32 -d"${FLOOD_SECS}s" \
            -H "Authorization: Bearer $tok"
        wait "$fpid"
    done
}
echo "bench: GET /v1/me quiet, then under a login flood (address limits on)" >&2
flood_pair limits "$PORT" "$AT" 16
echo "bench: GET /v1/me quiet, then under a login flood (address limits off)" >&2
# 128 connections: more than the hash queue (64) holds, so it must refuse
flood_pair pool "$PORT2" "$AT2" 128
stop_server "$PID2"

# ---- in-process figures -------------------------------------------------------
"$BIN" bench-internal token-verify >"$WORK/verify.json"
"$BIN" bench-internal argon2 >"$WORK/argon2.json"
stop_server "$PID1"

echo "bench: seeding 1k and ${BIG} sessions for the revocation figures" >&2
"$BIN" seed --data-dir "$WORK/small" --users 500 --sessions-per-user 2 >/dev/null 2>&1
"$BIN" bench-internal revoke "$WORK/small" 500 >"$WORK/revoke_small.json" 2>/dev/null
SEED_OUT=$("$BIN" seed --data-dir "$WORK/big" --users $((BIG / 2)) --sessions-per-user 2 2>/dev/null)
"$BIN" bench-internal revoke "$WORK/big" 500 >"$WORK/revoke_big.json" 2>/dev/null

/usr/bin/python3 - "$WORK" "$LOGIN_RPS" "$SEED_OUT" "$BIG" <<'PY'
import json, sys, os
work, login_rps, seed_out, big = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rows = {}
for line in open(os.path.join(work, "rows")):
    n, rps, _ok, p50, p99, bad, _to = line.split()
    rows[n] = {"rps": float(rps), "p50_us": float(p50), "p99_us": float(p99), "non_2xx": int(bad)}
import re
ng = rows["nginx_return_200"]["rps"]
load = lambda f: json.load(open(os.path.join(work, f)))
def flood(sfx):
    def us(v):
        m = re.match(r'([\d.]+)(us|ms|s)', v); return float(m.group(1)) * {'us': 1, 'ms': 1e3, 's': 1e6}[m.group(2)]
    med = lambda xs: sorted(xs)[len(xs) // 2]
    total = non2xx = timeouts = 0
    fp99 = []
    for i in (1, 2, 3):
        t = open(os.path.join(work, "flood_%s_%d.txt" % (sfx, i))).read()
        g = lambda pat: re.search(pat, t)
        total += int(g(r'(\d+) requests in').group(1))
        bad = g(r'Non-2xx or 3xx responses:\s+(\d+)')
        non2xx += int(bad.group(1)) if bad else 0
        to = g(r'timeout (\d+)')
        timeouts += int(to.group(1)) if to else 0
        fp99.append(us(g(r'\s99%\s+(\S+)').group(1)))
    q = [rows.pop("get_me_quiet_%s_%d" % (sfx, i)) for i in (1, 2, 3)]
    f = [rows.pop("get_me_flood_%s_%d" % (sfx, i)) for i in (1, 2, 3)]
    rows["get_me_quiet_" + sfx] = {k: med([r[k] for r in q]) for k in q[0]}
    rows["get_me_flood_" + sfx] = {k: med([r[k] for r in f]) for k in f[0]}
    quiet, loud = rows["get_me_quiet_" + sfx], rows["get_me_flood_" + sfx]
    return {"flood_requests": total, "flood_429_or_other_non_2xx": non2xx,
            "flood_timeouts": timeouts, "flood_p99_us_median": med(fp99),
            "get_me_p50_us": [quiet["p50_us"], loud["p50_us"]],
            "get_me_p99_us": [quiet["p99_us"], loud["p99_us"]],
            "get_me_p99_ratio": round(loud["p99_us"] / quiet["p99_us"], 2),
            "windows_p99_us": {"quiet": [r["p99_us"] for r in q], "flood": [r["p99_us"] for r in f]}}
floods = {"address_limits_on": flood("limits"), "address_limits_off": flood("pool")}
for r in rows.values():
    r["ratio_to_nginx"] = round(r["rps"] / ng, 3)
# TLS rows: also against nginx over TLS, the fair comparison
ng_tls = rows["nginx_tls_return_200"]["rps"]
for n, r in rows.items():
    if n.endswith("_tls") or n.startswith("nginx_tls"):
        r["ratio_to_nginx_tls"] = round(r["rps"] / ng_tls, 3)
res = {
    "login_flood": floods,
    "http": rows,
    "logins_per_second": login_rps,
    "argon2id": load("argon2.json"),
    "token_verify": load("verify.json"),
    "revocation_rule_add": {"sessions_1k": load("revoke_small.json"),
                            f"sessions_{big}": load("revoke_big.json"),
                            "seed": json.loads(seed_out)},
}
print(f"{'endpoint':<20}{'req/s':>12}{'p50 us':>10}{'p99 us':>10}{'vs nginx':>10}{'non-2xx':>9}")
for n, r in rows.items():
    print(f"{n:<20}{r['rps']:>12.0f}{r['p50_us']:>10.0f}{r['p99_us']:>10.0f}{r['ratio_to_nginx']:>10.3f}{r['non_2xx']:>9}")
a = res["argon2id"]
print(f"over TLS: GET /v1/me {rows['get_me_tls']['rps']:.0f} req/s, "
      f"{rows['get_me_tls']['ratio_to_nginx_tls']:.3f} of nginx over TLS")
print(f"logins/s (POST /v1/sessions, 4 conns): {login_rps:.1f}   raw Argon2id/s: "
      f"{a['per_second_1_thread']:.1f} (1 thread), {a['per_second_all_threads']:.1f} ({a['threads']} threads)")
print(f"token verifications/s in process: {res['token_verify']['per_second']:.0f} "
      f"({res['token_verify']['ns_each']:.0f} ns each)")
for k, v in res["revocation_rule_add"].items():
    if k.startswith("sessions_"):
        print(f"revocation rule add with {k[9:]} sessions: median {v['median_us']} us, p99 {v['p99_us']} us")
print(f"seed: {res['revocation_rule_add']['seed']}")
for k, f in res["login_flood"].items():
    print(f"login flood ({k}): GET /v1/me p50 {f['get_me_p50_us'][0]:.0f} -> {f['get_me_p50_us'][1]:.0f} us, "
          f"p99 {f['get_me_p99_us'][0]:.0f} -> {f['get_me_p99_us'][1]:.0f} us (x{f['get_me_p99_ratio']}); "
          f"flood {f['flood_requests']} requests, {f['flood_429_or_other_non_2xx']} non-2xx, "
          f"{f['flood_timeouts']} timeouts, flood p99 {f['flood_p99_us_median']:.0f} us")
json.dump(res, open("bench/results.json", "w"), indent=2)
print("written: bench/results.json")
PY
