#!/usr/bin/env bash
# make bench: safehouse next to nginx on loopback, same wrk settings, same run.
# Prints a table and writes bench/results.json. Stops everything it started.
# Knobs: BENCH_SECONDS (default 10), BENCH_BIG_SESSIONS (default 1000000).
# Refresh: every request presents a never-used refresh token (see
# bench/refresh.lua); the tokens come from CONNS + 16 logins made first.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
SECS=${BENCH_SECONDS:-10}
THREADS=2
CONNS=64
BIG=${BENCH_BIG_SESSIONS:-1000000}
WORK=$(mktemp -d /tmp/safehouse-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 not up" >&2; return 1; }
json_field() { /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# wrk_run NAME URL [wrk args...] [-- script args...]
#   -> appends "NAME rps p50_us p99_us non2xx" to $WORK/rows
wrk_run() {
    local name=$1 url=$2; shift 2
    local pre=() post=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pre+=("$1"); shift; done
    [ $# -gt 0 ] && post=("$@")
    local out; out=$(wrk --latency -t"$THREADS" -c"$CONNS" -d"${SECS}s" "${pre[@]}" "$url" "${post[@]}")
    /usr/bin/python3 - "$name" >>"$WORK/rows" <<PY
import re,sys
t='''$out'''
def us(v):
    m=re.match(r'([\d.]+)(us|ms|s)',v); f={'us':1,'ms':1e3,'s':1e6}[m.group(2)]; return float(m.group(1))*f
rps=float(re.search(r'Requests/sec:\s+([\d.]+)',t).group(1))
p50=us(re.search(r'\s50%\s+(\S+)',t).group(1)); p99=us(re.search(r'\s99%\s+(\S+)',t).group(1))
non2xx=re.search(r'Non-2xx or 3xx responses:\s+(\d+)',t)
print(sys.argv[1], rps, p50, p99, non2xx.group(1) if non2xx else 0)
PY
}

# ---- nginx: return 200 with ~120 bytes of JSON -------------------------
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx; uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json;
      return 200 '{"id":"0123456789abcdef0123456789abcdef","email":"bench@example.com","display_name":"Bench","created_at":"2026-01-01T00:00:00Z"}'; }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

# ---- safehouse ------------------------------------------------------------
PORT=$(free_port); APORT=$(free_port)
"$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$APORT \
    --no-access-log >"$WORK/stdout" 2>"$WORK/stderr" &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/healthz"
wait_http "http://127.0.0.1:$NGINX_PORT/"
H='Content-Type: application/json'
curl -sf -H "$H" "http://127.0.0.1:$PORT/v1/accounts" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","display_name":"Bench"}' >/dev/null
AT=$(curl -sf -H "$H" "http://127.0.0.1:$PORT/v1/sessions" \
    -d '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}' | json_field access_token)
# Three devices for GET /v1/devices: provisioned by the admin API, claimed
# and named by the bench user (a camera, a plug, a bulb).
ADM=$(sed -n 's/^admin token: //p' "$WORK/stdout")
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
cat >"$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}'
LUA
# A second server with per-address limits off: logins/s is measured there
# (one address would be limited), and so is the flood that only the bounded
# Argon2id queue stands in front of.
PORT2=$(free_port); APORT2=$(free_port)
"$BIN" serve --data-dir "$WORK/data2" --listen 127.0.0.1:$PORT2 --admin-listen 127.0.0.1:$APORT2 \
    --no-access-log --no-address-limits >"$WORK/stdout2" 2>"$WORK/stderr2" &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT2/healthz"
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
kill "${PIDS[2]}"; wait "${PIDS[2]}" 2>/dev/null || true

# ---- in-process figures -------------------------------------------------------
"$BIN" bench-internal token-verify >"$WORK/verify.json"
"$BIN" bench-internal argon2 >"$WORK/argon2.json"
kill "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null || true

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
    n, rps, p50, p99, bad = line.split()
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
