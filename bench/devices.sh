#!/usr/bin/env bash
# Device benchmarks, in one run:
#  - GET /v1/devices on a 10,000-user store next to a large store (default the
#    2.4M-user store of the 2019 leak's size, kept in BENCH_BIG_STORE and seeded
#    once if absent: that takes about ten minutes and ~4 GB);
#  - heartbeats per second from 1,000 devices.
# Usage: bench/devices.sh [--skip-big]. Writes bench/results-devices.json.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
BIG_USERS=${BENCH_BIG_USERS:-2400000}
BIG=${BENCH_BIG_STORE:-$PWD/var/bench-$BIG_USERS}
PW=${BENCH_SEED_PASSWORD:-"bench password seed"}
bench_init /tmp/safehouse-bench-dev.XXXXXX

start() { # start NAME DATA_DIR -> sets PORT, APORT, PID
    start_server "$BIN" "$2" "$1"
    PORT=$S_PORT APORT=$S_APORT PID=$S_PID
}
stop() { stop_server "$PID"; }
login() { # login EMAIL -> access token
    curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/sessions" \
        -d "{\"email\":\"$1\",\"password\":\"$PW\",\"client\":\"cli\"}" |
        /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])'
}
devices_row() { # devices_row NAME DATA_DIR
    start "$1" "$2"
    local tok; tok=$(login user5@seed.invalid)
    # warm the page cache first: the comparison is about index depth, not disk
    wrk -t2 -c64 -d2s -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT/v1/devices" >/dev/null
    wrk_run "$1" "http://127.0.0.1:$PORT/v1/devices" -H "Authorization: Bearer $tok"
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
start hb "$WORK/hb"
fixtures hb "$PORT" "$APORT" "$(admin_token hb)" --heartbeat-devices 1000
wrk_run heartbeats "http://127.0.0.1:$PORT/" -s "$WORK/fx-hb/hb.lua"
stop

/usr/bin/python3 - "$WORK" <<'PY'
import json, os, sys
w = sys.argv[1]
rows = {}
for line in open(os.path.join(w, "rows")):
    n, rps, _ok, p50, p99, bad, _to = line.split()
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
