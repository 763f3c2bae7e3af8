# shellcheck shell=bash disable=SC2034  # (FX_*, THREADS... are for the scripts)
# Shell helpers the bench scripts share; sourced (bash), after `cd` to the
# repository root. Nothing here runs on its own.
#   bench_init TEMPLATE   WORK=$(mktemp -d TEMPLATE), PIDS=(); on exit (and on
#                         INT/TERM/HUP) every pid in PIDS is stopped, the
#                         script's bench_on_exit runs if it defines one, WORK goes
#   free_port, wait_http URL [CA_FILE]
#   start_server BIN DATA_DIR NAME [serve args...], stop_server PID
#   start_nginx JSON [CERT KEY]  nginx's `return 200` with that body, on
#                         NGINX_PORT; with CERT and KEY also over TLS on
#                         NGINX_TLS_PORT
#   make_tls_cert DIR     a throw-away self-signed ECDSA P-256 certificate for
#                         127.0.0.1: DIR/cert.pem, DIR/key.pem
#   admin_token NAME      the admin token a fresh store printed at start
#   wrk_run NAME URL [wrk args...] [-- script args...]
#   fixtures NAME PORT APORT ADMIN [options...]   bench/fixtures.py
# wrk_run reads THREADS, CONNS and SECS: 2, 64 and BENCH_SECONDS (default
# 10) unless the script sets them after sourcing this file.

THREADS=2
CONNS=64
SECS=${BENCH_SECONDS:-10}

bench_init() {
    WORK=$(mktemp -d "$1")
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM HUP
}
bench_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
    rm -rf "$WORK"
}

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# wait_http URL [CA_FILE]: until URL answers 2xx (an https URL checked against CA_FILE)
wait_http() {
    local ca=()
    [ -n "${2:-}" ] && ca=(--cacert "$2")
    for _ in $(seq 200); do curl -sf "${ca[@]}" "$1" >/dev/null && return 0; sleep 0.1; done
    echo "bench: $1 not up" >&2
    return 1
}

make_tls_cert() {
    mkdir -p "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$1/key.pem" -out "$1/cert.pem" -subj /CN=bench.test \
        -addext subjectAltName=IP:127.0.0.1 2>/dev/null
}

# start_server BIN DATA_DIR NAME [serve args...]
#   `BIN serve` on DATA_DIR with --no-access-log and two fresh loopback ports,
#   output in $WORK/stdout-NAME and $WORK/stderr-NAME; returns once /healthz
#   answers. Sets S_PORT, S_APORT and S_PID (also appended to PIDS), and
#   S_URL and S_AURL: http://127.0.0.1:PORT, https:// with --tls-cert (whose
#   file is then the CA that /healthz is checked against).
start_server() {
    local bin=$1 data=$2 name=$3 ca="" a prev=""; shift 3
    for a in "$@"; do [ "$prev" = --tls-cert ] && ca=$a; prev=$a; done
    S_PORT=$(free_port); S_APORT=$(free_port)
    S_URL="http${ca:+s}://127.0.0.1:$S_PORT" S_AURL="http${ca:+s}://127.0.0.1:$S_APORT"
    "$bin" serve --data-dir "$data" --listen "127.0.0.1:$S_PORT" --admin-listen "127.0.0.1:$S_APORT" \
        --no-access-log "$@" >"$WORK/stdout-$name" 2>"$WORK/stderr-$name" &
    S_PID=$!
    PIDS+=("$S_PID")
    wait_http "$S_URL/healthz" "$ca" || { tail -n 5 "$WORK/stderr-$name" >&2; return 1; }
}
# stop_server PID: SIGTERM, wait until it has exited, drop it from PIDS
stop_server() {
    local p keep=()
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# start_nginx JSON [CERT KEY]: nginx (2 workers, no access log) on a fresh
#   loopback port answering every request `return 200` with the JSON body
#   given; sets NGINX_PORT, appends its pid to PIDS. With CERT and KEY, the
#   same also over TLS on NGINX_TLS_PORT, with the protocols and ciphers
#   safehouse allows (TLS 1.2/1.3, ECDHE with AEAD, docs/security.md#tls).
#   Wait for it with wait_http.
start_nginx() {
    local tls=""
    NGINX_PORT=$(free_port)
    if [ $# -ge 3 ]; then
        NGINX_TLS_PORT=$(free_port)
        tls="listen 127.0.0.1:$NGINX_TLS_PORT ssl; ssl_certificate $2; ssl_certificate_key $3;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on;
    ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20; ssl_session_cache off; ssl_session_tickets off;"
    fi
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
    $tls
    location / { default_type application/json;
      return 200 '$1'; }
  }
}
CONF
    nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
    PIDS+=($!)
}

# admin_token NAME: prints the admin token server NAME printed on its first
# start (on a fresh store); fails after 5 s without one
admin_token() {
    for _ in $(seq 50); do grep -q '^admin token: ' "$WORK/stdout-$1" && break; sleep 0.1; done
    sed -n 's/^admin token: //p' "$WORK/stdout-$1" | grep . ||
        { echo "bench: no admin token from server $1" >&2; return 1; }
}

# wrk_run NAME URL [wrk args...] [-- script args...]
#   wrk --latency -t$THREADS -c$CONNS -d${SECS}s; wrk args given here come
#   later on the command line, so they win (-c4, -t1, -d3s). The output stays
#   in $WORK/wrk-NAME.txt; appends to $WORK/rows the line
#   "NAME rps ok_rps p50_us p99_us non2xx timeouts"
#   (rps: all answers per second; ok_rps: 2xx/3xx answers per second)
wrk_run() {
    local name=$1 url=$2; shift 2
    local pre=() post=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pre+=("$1"); shift; done
    [ $# -gt 0 ] && post=("$@")
    wrk --latency -t"$THREADS" -c"$CONNS" -d"${SECS}s" "${pre[@]}" "$url" "${post[@]}" \
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

# fixtures NAME PORT APORT ADMIN [bench/fixtures.py options...]
#   bench/fixtures.py against the server on those ports, its files in
#   $WORK/fx-NAME/ with login.lua (the bench user's login) and introspect.lua
#   (the partner's token, client_secret_basic) for wrk next to them. Sets
#   FX_AT (the bench user's access token), FX_PAT (the partner account's own:
#   a user with 5 devices), FX_BASIC and FX_OA (the client's credentials and
#   the partner's access token); empty where not asked for.
fixtures() {
    local name=$1 port=$2 aport=$3 admin=$4 k v; shift 4
    local dir="$WORK/fx-$name"
    mkdir -p "$dir"
    /usr/bin/python3 bench/fixtures.py "$port" "$aport" "$admin" "$dir" "$@" >"$dir/env"
    FX_AT="" FX_PAT="" FX_BASIC="" FX_OA=""
    while IFS='=' read -r k v; do
        case "$k" in AT) FX_AT=$v ;; PAT) FX_PAT=$v ;; BASIC) FX_BASIC=$v ;; OA) FX_OA=$v ;; esac
    done <"$dir/env"
    cat >"$dir/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"correct horse battery staple","client":"cli"}'
LUA
    cat >"$dir/introspect.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $FX_BASIC"
wrk.body = "token=$FX_OA"
LUA
}
