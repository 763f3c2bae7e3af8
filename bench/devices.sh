#!/usr/bin/env bash
# Store-size benchmarks, in one run (make bench-big): on a 10,000-user store
# and on a large one (default the 2.4M-user store of the 2019 leak's size,
# kept in BENCH_BIG_STORE and seeded once if absent: a few minutes), each of
#   GET /v1/me, GET /v1/devices (a seeded user's), heartbeats from 1,000
#   devices, and logins (a seeded user, wrk -c4),
# with the big store's p99 and req/s as ratios to the small one's.
# Usage: bench/devices.sh [--skip-big] (make bench: the 10k store only).
# Writes bench/results-big.json (bench/results-devices.json with --skip-big).
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh

BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
BIG_USERS=${BENCH_BIG_USERS:-2400000}
BIG=${BENCH_BIG_STORE:-$PWD/var/bench-$BIG_USERS}
PW=${BENCH_SEED_PASSWORD:-"bench password seed"}
bench_init /tmp/safehouse-bench-dev.XXXXXX

start() { # start NAME DATA_DIR -> sets PORT, APORT, PID
    start_server "$BIN" "$2" "$1" --no-address-limits
    PORT=$S_PORT APORT=$S_APORT PID=$S_PID
}
stop() { stop_server "$PID"; }
login() { # login EMAIL -> access token
    curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v1/sessions" \
        -d "{\"email\":\"$1\",\"password\":\"$PW\",\"client\":\"cli\"}" |
        /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])'
}
# store_rows SUFFIX DATA_DIR: the four routes on one store, rows NAME_SUFFIX
store_rows() {
    local sfx=$1 data=$2 adm tok
    # a fresh admin token (the seeded store's first one is long gone)
    adm=$("$BIN" admin token-reset --data-dir "$data" 2>/dev/null | sed -n 's/^admin token: //p')
    start "$sfx" "$data"
    tok=$(login user5@seed.invalid)
    # warm the page cache first: the comparison is about index depth, not disk
    wrk -t2 -c64 -d2s -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT/v1/devices" >/dev/null
    wrk_run "get_me_$sfx" "http://127.0.0.1:$PORT/v1/me" -H "Authorization: Bearer $tok"
    wrk_run "get_devices_$sfx" "http://127.0.0.1:$PORT/v1/devices" -H "Authorization: Bearer $tok"
    fixtures "hb-$sfx" "$PORT" "$APORT" "$adm" --heartbeat-devices 1000
    wrk_run "heartbeats_$sfx" "http://127.0.0.1:$PORT/" -s "$WORK/fx-hb-$sfx/hb.lua"
    cat >"$WORK/login-$sfx.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"user5@seed.invalid","password":"$PW","client":"cli"}'
LUA
    wrk_run "logins_$sfx" "http://127.0.0.1:$PORT/v1/sessions" -c4 -s "$WORK/login-$sfx.lua"
    stop
}

: >"$WORK/rows"
echo "bench: seeding a 10,000-user store" >&2
"$BIN" seed --data-dir "$WORK/small" --users 10000 --password "$PW" >"$WORK/seed_small.json" 2>/dev/null
store_rows 10k "$WORK/small"
if [ "${1:-}" != "--skip-big" ]; then
    if [ ! -f "$BIG/safehouse.db" ]; then
        echo "bench: seeding $BIG_USERS users into $BIG (once)" >&2
        mkdir -p "$(dirname "$BIG")"
        /usr/bin/time -f '%e' -o "$WORK/seed_big_time" \
            "$BIN" seed --data-dir "$BIG" --users "$BIG_USERS" --password "$PW" \
            >"$WORK/seed_big.json" 2>/dev/null
    fi
    du -sb "$BIG" | awk '{print $1}' >"$WORK/big_bytes"
    store_rows big "$BIG"
fi

OUT=bench/results-big.json
[ "${1:-}" != "--skip-big" ] || OUT=bench/results-devices.json
/usr/bin/python3 - "$WORK" "$OUT" <<'PY'
import json, os, sys
w, out = sys.argv[1], sys.argv[2]
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
ratios = {}
for route in ("get_me", "get_devices", "heartbeats", "logins"):
    small, big = rows.get(route + "_10k"), rows.get(route + "_big")
    if small and big:
        ratios[route] = {"p99_big_over_10k": round(big["p99_us"] / small["p99_us"], 3),
                         "rps_big_over_10k": round(big["rps"] / small["rps"], 3)}
        print(f"{route:<14} big/10k: p99 {ratios[route]['p99_big_over_10k']:.2f}x "
              f"(goal <= 1.5), req/s {ratios[route]['rps_big_over_10k']:.2f}x (goal >= 0.9)")
if ratios:
    res["ratios"] = ratios
if "big_store_bytes" in res:
    print(f"big store on disk: {res['big_store_bytes'] / 2**30:.2f} GiB")
json.dump(res, open(out, "w"), indent=2)
print("written: " + out)
PY
