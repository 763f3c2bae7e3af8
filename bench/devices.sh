#!/usr/bin/env bash
# Device benchmarks, in one run:
#  - GET /v1/devices on a 10,000-user store next to a large store (default the
#    2.4M-user store of the 2019 leak's size, kept in BENCH_BIG_STORE and seeded
#    once if absent: that takes about ten minutes and ~4 GB);
#  - heartbeats per second from 1,000 devices.
# Usage: bench/devices.sh [--skip-big]. Writes bench/results-devices.json.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
SECS=${BENCH_SECONDS:-10}
BIG_USERS=${BENCH_BIG_USERS:-2400000}
BIG=${BENCH_BIG_STORE:-$PWD/var/bench-$BIG_USERS}
PW=${BENCH_SEED_PASSWORD:-"bench password seed"}
WORK=$(mktemp -d /tmp/safehouse-bench-dev.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
start() { # start DATA_DIR -> sets PORT, APORT, PID
    PORT=$(free_port); APORT=$(free_port)
    "$BIN" serve --data-dir "$1" --listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$APORT \
        --no-access-log >"$WORK/stdout" 2>"$WORK/stderr" &
    PID=$!
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "bench: server did not start" >&2; return 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
login() { # login EMAIL -> access token
    curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/sessions" \
        -d "{\"email\":\"$1\",\"password\":\"$PW\",\"client\":\"cli\"}" |
        /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])'
}
wrk_row() { # wrk_row NAME ARGS... -> "NAME rps p50_us p99_us non2xx"
    local name=$1; shift
    wrk --latency -t2 -c64 -d"${SECS}s" "$@" | /usr/bin/python3 -c '
import re,sys
t=sys.stdin.read()
def us(v):
    m=re.match(r"([\d.]+)(us|ms|s)",v); return float(m.group(1))*{"us":1,"ms":1e3,"s":1e6}[m.group(2)]
bad=re.search(r"Non-2xx or 3xx responses:\s+(\d+)",t)
print(sys.argv[1], re.search(r"Requests/sec:\s+([\d.]+)",t).group(1), us(re.search(r"\s50%\s+(\S+)",t).group(1)),
      us(re.search(r"\s99%\s+(\S+)",t).group(1)), bad.group(1) if bad else 0)' "$name"
}
devices_row() { # devices_row NAME DATA_DIR
    start "$2"
    local tok; tok=$(login user5@seed.invalid)
    # warm the page cache first: the comparison is about index depth, not disk
    wrk -t2 -c64 -d2s -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT/v1/devices" >/dev/null
    wrk_row "$1" -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT/v1/devices" >>"$WORK/rows"
    stop
}

: >"$WORK/rows"
echo "bench: seeding a 10,000-user store" >&2
"$BIN" seed --data-dir "$WORK/small" --users 10000 --password "$PW" >"$WORK/seed_small.json" 2>/dev/null
devices_row devices_10k_users "$WORK/small"
if [ "${1:-}" != "--skip-big" ]; then
    if [ ! -f "$BIG/safehouse.db" ]; then
        echo "bench: seeding $BIG_USERS users into $BIG (once)" >&2
        mkdir -p "$(dirname "$BIG")"
        /usr/bin/time -f '%e' -o "$WORK/seed_big_time" \
            "$BIN" seed --data-dir "$BIG" --users "$BIG_USERS" --password "$PW" \
            >"$WORK/seed_big.json" 2>/dev/null
    fi
    du -sb "$BIG" | awk '{print $1}' >"$WORK/big_bytes"
    devices_row "devices_${BIG_USERS}_users" "$BIG"
fi

echo "bench: heartbeats from 1,000 devices" >&2
start "$WORK/hb"
ADM=$(grep -o 'sh_ad_[A-Za-z0-9_-]*' "$WORK/stdout")
curl -sf -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$APORT/admin/v1/devices" -d '{"type":"plug","model":"BENCH","count":1000}' \
    >"$WORK/devs.json"
/usr/bin/python3 - "$WORK" <<'PY'
import json, sys, os
w = sys.argv[1]
d = json.load(open(os.path.join(w, "devs.json")))["devices"]
open(os.path.join(w, "hb.lua"), "w").write(
    "tokens={" + ",".join('"%s"' % x["device_token"] for x in d) + "}\n" + r'''
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/device/heartbeat",
    {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. tokens[(i % #tokens) + 1]},
    '{"firmware_version":"2.0.1","wifi_ssid":"bench","subnet":"10.0.0.0/24","local_ip":"10.0.0.7"}')
end
''')
PY
wrk_row heartbeats -s "$WORK/hb.lua" "http://127.0.0.1:$PORT/" >>"$WORK/rows"
stop

/usr/bin/python3 - "$WORK" <<'PY'
import json, os, sys
w = sys.argv[1]
rows = {}
for line in open(os.path.join(w, "rows")):
    n, rps, p50, p99, bad = line.split()
    rows[n] = {"rps": float(rps), "p50_us": float(p50), "p99_us": float(p99), "non_2xx": int(bad)}
res = {"http": rows, "seed_10k": json.load(open(os.path.join(w, "seed_small.json")))}
if os.path.exists(os.path.join(w, "seed_big.json")) and os.path.getsize(os.path.join(w, "seed_big.json")):
    res["seed_big"] = json.load(open(os.path.join(w, "seed_big.json")))
if os.path.exists(os.path.join(w, "big_bytes")):
    res["big_store_bytes"] = int(open(os.path.join(w, "big_bytes")).read())
print(f"{'endpoint':<28}{'req/s':>10}{'p50 us':>10}{'p99 us':>10}{'non-2xx':>9}")
for n, r in rows.items():
    print(f"{n:<28}{r['rps']:>10.0f}{r['p50_us']:>10.0f}{r['p99_us']:>10.0f}{r['non_2xx']:>9}")
big = [k for k in rows if k.startswith("devices_") and k != "devices_10k_users"]
if big:
    ratio = rows[big[0]]["p99_us"] / rows["devices_10k_users"]["p99_us"]
    res["p99_ratio_big_to_10k"] = round(ratio, 3)
    print(f"GET /v1/devices p99, big store / 10k store: {ratio:.2f}")
if "big_store_bytes" in res:
    print(f"big store on disk: {res['big_store_bytes'] / 2**30:.2f} GiB")
json.dump(res, open("bench/results-devices.json", "w"), indent=2)
print("written: bench/results-devices.json")
PY
