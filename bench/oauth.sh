#!/usr/bin/env bash
# Account-linking benchmarks next to nginx's `return 200`, same wrk settings,
# same run: POST /oauth/introspect (client_secret_basic, a partner access
# token) and a partner's GET /v1/devices (3 devices granted of 5). Target for
# introspection: >= 70,000/s. Writes bench/results-oauth.json.
# Knobs: BENCH_SECONDS (default 10), SAFEHOUSE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
SECS=${BENCH_SECONDS:-10}
WORK=$(mktemp -d /tmp/safehouse-bench-oauth.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 not up" >&2; return 1; }

# wrk_run NAME URL [wrk args...] -> appends "NAME rps p50_us p99_us non2xx" to $WORK/rows
wrk_run() {
    local name=$1 url=$2; shift 2
    wrk --latency -t2 -c64 -d"${SECS}s" "$@" "$url" >"$WORK/wrk.out"
    /usr/bin/python3 - "$name" "$WORK/wrk.out" >>"$WORK/rows" <<'PY'
import re, sys
t = open(sys.argv[2]).read()
def us(v):
    m = re.match(r'([\d.]+)(us|ms|s)', v)
    return float(m.group(1)) * {'us': 1, 'ms': 1e3, 's': 1e6}[m.group(2)]
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
p50 = us(re.search(r'\s50%\s+(\S+)', t).group(1))
p99 = us(re.search(r'\s99%\s+(\S+)', t).group(1))
bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', t)
print(sys.argv[1], rps, p50, p99, bad.group(1) if bad else 0)
PY
}

# ---- nginx ---------------------------------------------------------------------
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
      return 200 '{"active":true,"scope":"devices:read devices:control","client_id":"0123456789abcdef0123456789abcdef","sub":"0123456789abcdef0123456789abcdef"}'; }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

# ---- safehouse with one linked partner ----------------------------------------------
PORT=$(free_port); APORT=$(free_port)
"$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$APORT \
    --no-access-log >"$WORK/stdout" 2>"$WORK/stderr" &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/healthz"
wait_http "http://127.0.0.1:$NGINX_PORT/"
for _ in $(seq 50); do grep -q '^admin token: ' "$WORK/stdout" && break; sleep 0.1; done
ADMIN=$(sed -n 's/^admin token: //p' "$WORK/stdout")
CLIENT=$("$BIN" admin oauth-client add --data-dir "$WORK/data" --name "Bench partner" \
    --redirect-uri https://partner.example/cb --scopes "devices:read devices:control" 2>/dev/null)

/usr/bin/python3 - "$PORT" "$APORT" "$ADMIN" "$CLIENT" >"$WORK/link.env" <<'PY'
# Links the partner the way a user would: account, 5 devices, login and consent
# pages (3 devices chosen), code exchange with PKCE.
import base64, hashlib, json, os, re, sys, urllib.parse
import requests
port, aport, admin, client = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
base, abase = "http://127.0.0.1:%s" % port, "http://127.0.0.1:%s" % aport
email, pw = "bench-oauth@example.com", "correct horse battery staple"
requests.post(base + "/v1/accounts", json={"email": email, "password": pw}).raise_for_status()
at = requests.post(base + "/v1/sessions", json={"email": email, "password": pw, "client": "cli"}).json()["access_token"]
ids = []
for i in range(5):
    d = requests.post(abase + "/admin/v1/devices", json={"type": "plug", "model": "P-1"},
                      headers={"Authorization": "Bearer " + admin}).json()["devices"][0]
    r = requests.post(base + "/v1/devices/claim", json={"claim_code": d["claim_code"], "name": "plug %d" % i},
                      headers={"Authorization": "Bearer " + at})
    ids.append(r.json()["id"])
v = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
ch = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
s = requests.Session()
q = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"],
                            "redirect_uri": "https://partner.example/cb", "state": "b",
                            "code_challenge": ch, "code_challenge_method": "S256"})
fields = lambda html: re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
page = s.get(base + "/oauth/authorize?" + q)
data = dict(fields(page.text)); data.update(email=email, password=pw)
r = s.post(base + "/oauth/authorize/login", data=data, allow_redirects=False)
page = s.get(base + r.headers["Location"])
data = fields(page.text) + [("device", i) for i in ids[:3]] + [("decision", "allow")]
r = s.post(base + "/oauth/authorize", data=data, allow_redirects=False)
code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"]
basic = base64.b64encode(("%s:%s" % (client["client_id"], client["client_secret"])).encode()).decode()
tok = requests.post(base + "/oauth/token", headers={"Authorization": "Basic " + basic},
                    data={"grant_type": "authorization_code", "code": code,
                          "redirect_uri": "https://partner.example/cb", "code_verifier": v}).json()
print("BASIC=%s" % basic)
print("OA=%s" % tok["access_token"])
PY
. "$WORK/link.env"

cat >"$WORK/introspect.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
wrk.body = "token=$OA"
LUA
# sanity: the requests the benchmark repeats succeed
curl -sf -H "Authorization: Basic $BASIC" --data "token=$OA" "http://127.0.0.1:$PORT/oauth/introspect" \
    | grep -q '"active":true'
curl -sf -H "Authorization: Bearer $OA" "http://127.0.0.1:$PORT/v1/devices" | grep -q '"devices"'

: >"$WORK/rows"
echo "bench: wrk -t2 -c64 -d${SECS}s against each endpoint" >&2
wrk_run "nginx_return_200" "http://127.0.0.1:$NGINX_PORT/"
wrk_run "oauth_introspect" "http://127.0.0.1:$PORT/oauth/introspect" -s "$WORK/introspect.lua"
wrk_run "partner_get_devices" "http://127.0.0.1:$PORT/v1/devices" -H "Authorization: Bearer $OA"

/usr/bin/python3 - "$WORK/rows" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    n, rps, p50, p99, bad = line.split()
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
