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

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
SECS=${BENCH_SECONDS:-10}
CODES=${BENCH_CLAIM_CODES:-$((4000 * SECS))}
THREADS=2
CONNS=64
BACKENDS=(sqlite postgres)
WORK=$(mktemp -d /tmp/shpg-bench-store.XXXXXX)
chmod 0755 "$WORK" # the postgres user must enter it to reach its cluster
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    bash tests/support/pg.sh stop "$WORK/pg" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 not up" >&2; return 1; }

# wrk_run NAME CONNS URL [wrk args...] [-- script args...]
#   -> appends "NAME rps ok_rps p50_us p99_us non2xx timeouts" to $WORK/rows
#      (rps: all answers per second; ok_rps: 2xx/3xx answers per second)
wrk_run() {
    local name=$1 conns=$2 url=$3; shift 3
    local pre=() post=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pre+=("$1"); shift; done
    [ $# -gt 0 ] && post=("$@")
    wrk --latency -t"$THREADS" -c"$conns" -d"${SECS}s" "${pre[@]}" "$url" "${post[@]}" \
        >"$WORK/wrk-$name.txt"
    /usr/bin/python3 - "$name" "$WORK/wrk-$name.txt" >>"$WORK/rows" <<'PY'
import re, sys
t = open(sys.argv[2]).read()
def us(v):
    m = re.match(r'([\d.]+)(us|ms|s|m)', v)
    return float(m.group(1)) * {'us': 1, 'ms': 1e3, 's': 1e6, 'm': 6e7}[m.group(2)]
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
p50 = us(re.search(r'\s50%\s+(\S+)', t).group(1))
p99 = us(re.search(r'\s99%\s+(\S+)', t).group(1))
bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', t)
to = re.search(r'timeout (\d+)', t)
m = re.search(r'(\d+) requests in ([\d.]+)(ms|s|m),', t)
total, dur = int(m.group(1)), float(m.group(2)) * {'ms': 1e-3, 's': 1, 'm': 60}[m.group(3)]
bad = int(bad.group(1)) if bad else 0
print(sys.argv[1], rps, (total - bad) / dur, p50, p99, bad, to.group(1) if to else 0)
PY
}

# ---- PostgreSQL ------------------------------------------------------------------
echo "bench: starting a throw-away PostgreSQL 15" >&2
bash tests/support/pg.sh start "$WORK/pg" >/dev/null
PG_URL=$(bash tests/support/pg.sh createdb "$WORK/pg" safehouse_bench)

# ---- the two servers ---------------------------------------------------------------
declare -A PORT APORT ADMIN AT BASIC OA
start_server() { # start_server BACKEND [serve args...]
    local b=$1; shift
    PORT[$b]=$(free_port); APORT[$b]=$(free_port)
    "$BIN" serve --data-dir "$WORK/$b" --listen "127.0.0.1:${PORT[$b]}" \
        --admin-listen "127.0.0.1:${APORT[$b]}" --no-access-log --no-address-limits "$@" \
        >"$WORK/stdout-$b" 2>"$WORK/stderr-$b" &
    PIDS+=($!)
    wait_http "http://127.0.0.1:${PORT[$b]}/healthz"
    for _ in $(seq 50); do grep -q '^admin token: ' "$WORK/stdout-$b" && break; sleep 0.1; done
    ADMIN[$b]=$(sed -n 's/^admin token: //p' "$WORK/stdout-$b")
    [ -n "${ADMIN[$b]}" ] || { echo "bench: no admin token from the $b server" >&2; return 1; }
}
start_server sqlite
start_server postgres --store "$PG_URL"

# ---- fixtures, the same on each backend ----------------------------------------------
# One bench user (GET /v1/me, logins, claims); CONNS + 16 refresh tokens;
# 1,000 devices for heartbeats; CODES unclaimed devices for claims; a linked
# partner (account, 5 devices, consent to 3, code exchange with PKCE) for
# introspection.
setup_backend() { # setup_backend BACKEND
    local b=$1
    mkdir -p "$WORK/fx-$b"
    /usr/bin/python3 - "${PORT[$b]}" "${APORT[$b]}" "${ADMIN[$b]}" "$WORK/fx-$b" \
        "$((CONNS + 16))" "$CODES" >"$WORK/fx-$b/env" <<'PY'
import base64, hashlib, json, os, re, sys, urllib.parse
import requests
port, aport, admin, out, nrefresh, ncodes = sys.argv[1:7]
nrefresh, ncodes = int(nrefresh), int(ncodes)
base, abase = "http://127.0.0.1:%s" % port, "http://127.0.0.1:%s" % aport
api, adm = requests.Session(), requests.Session()
adm.headers["Authorization"] = "Bearer " + admin
email, pw = "bench@example.com", "correct horse battery staple"
def ok(r):
    if r.status_code >= 300:
        sys.exit("bench: %s %s -> %d %s" % (r.request.method, r.url, r.status_code, r.text[:200]))
    return r.json()
ok(api.post(base + "/v1/accounts", json={"email": email, "password": pw, "display_name": "Bench"}))
login = lambda client: ok(api.post(base + "/v1/sessions",
                                   json={"email": email, "password": pw, "client": client}))
at = login("cli")["access_token"]
with open(os.path.join(out, "refresh_tokens"), "w") as f:
    for _ in range(nrefresh):
        f.write(login("android")["refresh_token"] + "\n")
def provision(n, model):
    devs = []
    while len(devs) < n:
        k = min(1000, n - len(devs))
        devs += ok(adm.post(abase + "/admin/v1/devices",
                            json={"type": "plug", "model": model, "count": k}))["devices"]
    return devs
hb = provision(1000, "BENCH-HB")
with open(os.path.join(out, "hb.lua"), "w") as f:
    f.write("tokens={" + ",".join('"%s"' % d["device_token"] for d in hb) + "}\n" + r'''
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/device/heartbeat",
    {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. tokens[(i % #tokens) + 1]},
    '{"firmware_version":"2.0.1","wifi_ssid":"bench","subnet":"10.0.0.0/24","local_ip":"10.0.0.7"}')
end
''')
with open(os.path.join(out, "claim_codes"), "w") as f:
    for d in provision(ncodes, "BENCH-CLAIM"):
        f.write(d["claim_code"] + "\n")
# the partner
client = ok(adm.post(abase + "/admin/v1/oauth/clients",
                     json={"name": "Bench partner", "redirect_uris": ["https://partner.example/cb"],
                           "scopes": "devices:read devices:control"}))
pemail = "bench-oauth@example.com"
ok(api.post(base + "/v1/accounts", json={"email": pemail, "password": pw}))
pat = ok(api.post(base + "/v1/sessions",
                  json={"email": pemail, "password": pw, "client": "cli"}))["access_token"]
ids = []
for i, d in enumerate(provision(5, "P-1")):
    ids.append(ok(api.post(base + "/v1/devices/claim", json={"claim_code": d["claim_code"], "name": "plug %d" % i},
                           headers={"Authorization": "Bearer " + pat}))["id"])
v = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
ch = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
s = requests.Session()
q = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"],
                            "redirect_uri": "https://partner.example/cb", "state": "b",
                            "code_challenge": ch, "code_challenge_method": "S256"})
fields = lambda html: re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
page = s.get(base + "/oauth/authorize?" + q)
data = dict(fields(page.text)); data.update(email=pemail, password=pw)
r = s.post(base + "/oauth/authorize/login", data=data, allow_redirects=False)
page = s.get(base + r.headers["Location"])
data = fields(page.text) + [("device", i) for i in ids[:3]] + [("decision", "allow")]
r = s.post(base + "/oauth/authorize", data=data, allow_redirects=False)
code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"]
basic = base64.b64encode(("%s:%s" % (client["client_id"], client["client_secret"])).encode()).decode()
tok = ok(requests.post(base + "/oauth/token", headers={"Authorization": "Basic " + basic},
                       data={"grant_type": "authorization_code", "code": code,
                             "redirect_uri": "https://partner.example/cb", "code_verifier": v}))
r = requests.post(base + "/oauth/introspect", headers={"Authorization": "Basic " + basic},
                  data={"token": tok["access_token"]})
assert ok(r).get("active") is True, r.text
print("AT=%s" % at)
print("BASIC=%s" % basic)
print("OA=%s" % tok["access_token"])
PY
    local k v
    while IFS='=' read -r k v; do
        case "$k" in AT) AT[$b]=$v ;; BASIC) BASIC[$b]=$v ;; OA) OA[$b]=$v ;; esac
    done <"$WORK/fx-$b/env"
    cat >"$WORK/fx-$b/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}'
LUA
    cat >"$WORK/fx-$b/introspect.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic ${BASIC[$b]}"
wrk.body = "token=${OA[$b]}"
LUA
    # warm-up (not recorded): fills the PostgreSQL connection pool, the caches
    wrk -t"$THREADS" -c"$CONNS" -d1s -H "Authorization: Bearer ${AT[$b]}" \
        "http://127.0.0.1:${PORT[$b]}/v1/me" >/dev/null
}
for b in "${BACKENDS[@]}"; do
    echo "bench: fixtures on $b ($CODES claim codes, 1,000 devices, $((CONNS + 16)) sessions, a partner)" >&2
    setup_backend "$b"
done

# ---- the routes, alternating backends ---------------------------------------------------
route_get_me() { wrk_run "get_me_$1" "$CONNS" "http://127.0.0.1:${PORT[$1]}/v1/me" \
    -H "Authorization: Bearer ${AT[$1]}"; }
route_login() { wrk_run "login_$1" 4 "http://127.0.0.1:${PORT[$1]}/v1/sessions" \
    -s "$WORK/fx-$1/login.lua"; }
# refresh: one connection per wrk thread, so that a 503 (PostgreSQL gives up
# on a serialization failure after its retries) is retried with the same
# token, as an app would, instead of losing the session (bench/refresh.lua)
route_refresh() { wrk_run "refresh_$1" "$CONNS" "http://127.0.0.1:${PORT[$1]}/v1/sessions/refresh" \
    -t"$CONNS" -s bench/refresh.lua -- "$WORK/fx-$1/refresh_tokens" "$CONNS" retry-503; }
route_heartbeat() { wrk_run "heartbeat_$1" "$CONNS" "http://127.0.0.1:${PORT[$1]}/" \
    -s "$WORK/fx-$1/hb.lua"; }
route_claim() { wrk_run "claim_$1" "$CONNS" "http://127.0.0.1:${PORT[$1]}/v1/devices/claim" \
    -s bench/claim.lua -- "$WORK/fx-$1/claim_codes" "$THREADS" "${AT[$1]}"; }
route_introspect() { wrk_run "introspect_$1" "$CONNS" "http://127.0.0.1:${PORT[$1]}/oauth/introspect" \
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
