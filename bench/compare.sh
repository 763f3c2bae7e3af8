#!/usr/bin/env bash
# make bench-compare REF=<commit>: the working tree's release binary against
# REF's, in one run. REF is checked out into a temporary git worktree
# (/tmp/shbc-XXXXXX), built there with its own `make build/safehouse` and the
# worktree removed again; the working tree's binary is build/safehouse (the
# make target builds it first). Both binaries are copied into the temp dir,
# so a rebuild during the run changes nothing.
# A is REF (the baseline), B is the working tree: a B/A ratio above 1 in
# req/s, or below 1 in p99, means the working tree is faster.
# Both servers run for the whole run on fresh data dirs (SQLite, the default
# store) with the same flags (--no-access-log --no-address-limits) and the
# same fixtures (bench/fixtures.py); the idle one only polls. Per route,
# BENCH_ROUNDS rounds (default 3) of BENCH_SECONDS (default 10) on each side,
# alternating: A B, then B A, then A B, ..., so drift in the shared
# machine's load, and whatever one run leaves behind for the next, falls on
# both sides alike. Routes: GET /healthz, GET /v1/me, GET /v1/devices (a
# user with 5 devices), POST /oauth/introspect (a linked partner's token),
# POST /v1/sessions/refresh (never-reused tokens, bench/refresh.lua, a fresh
# set of sessions each round), POST /v1/sessions (logins/s, 4 connections).
# wrk -t2 -c64 otherwise, as in bench/run.sh.
# Prints per route the median over rounds of each side's 2xx answers per
# second and p99, and the B/A ratios (median of the rounds' ratios, with
# their min and max); writes bench/results-compare.json with every round.
# Usage: bench/compare.sh REF. Knobs: BENCH_SECONDS, BENCH_ROUNDS, SAFEHOUSE_BIN
# (B's binary, default build/safehouse).
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh

REF=${1:?usage: bench/compare.sh REF (a commit)}
ROUNDS=${BENCH_ROUNDS:-3}
TREE_BIN=${SAFEHOUSE_BIN:-$PWD/build/safehouse}
SIDES=(a b)
bench_init /tmp/shbc-bench.XXXXXX
WT=""
bench_on_exit() { [ -z "$WT" ] || remove_worktree; }
remove_worktree() { git worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"; git worktree prune; WT=""; }

REF_SHA=$(git rev-parse --verify --quiet "$REF^{commit}") ||
    { echo "bench: $REF is not a commit" >&2; exit 2; }
HEAD_SHA=$(git rev-parse HEAD)
DIRTY=""; [ -z "$(git status --porcelain)" ] || DIRTY=dirty
[ -x "$TREE_BIN" ] || { echo "bench: no $TREE_BIN (make build/safehouse)" >&2; exit 2; }
cp "$TREE_BIN" "$WORK/safehouse-b"

# ---- REF's binary, built in a temporary worktree ---------------------------------
WT=$(mktemp -d /tmp/shbc-XXXXXX)
echo "bench: building $REF (${REF_SHA:0:10}) in $WT" >&2
git worktree add --detach "$WT" "$REF_SHA" >"$WORK/worktree.log" 2>&1 ||
    { cat "$WORK/worktree.log" >&2; exit 1; }
# the worktree's own make, without this make's variables (REF=, BENCH_SECONDS=)
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$WT" -j"$(nproc)" build/safehouse \
        >"$WORK/build-a.log" 2>&1; then
    tail -n 30 "$WORK/build-a.log" >&2
    echo "bench: building $REF failed" >&2
    exit 1
fi
cp "$WT/build/safehouse" "$WORK/safehouse-a"
remove_worktree

# ---- the two servers and their fixtures -------------------------------------------
declare -A PORT AT PAT
PER_ROUND=$((CONNS + 16)) # refresh sessions per round: one per connection, and spares
for s in "${SIDES[@]}"; do
    start_server "$WORK/safehouse-$s" "$WORK/data-$s" "$s" --no-address-limits
    PORT[$s]=$S_PORT
    echo "bench: fixtures on $s ($((ROUNDS * PER_ROUND)) sessions, a partner with 5 devices)" >&2
    fixtures "$s" "$S_PORT" "$S_APORT" "$(admin_token "$s")" --bench-user \
        --refresh "$((ROUNDS * PER_ROUND))" --partner
    AT[$s]=$FX_AT; PAT[$s]=$FX_PAT
    for r in $(seq "$ROUNDS"); do
        sed -n "$(((r - 1) * PER_ROUND + 1)),$((r * PER_ROUND))p" "$WORK/fx-$s/refresh_tokens" \
            >"$WORK/fx-$s/refresh_tokens.$r"
    done
    # warm-up (not recorded)
    wrk -t"$THREADS" -c"$CONNS" -d1s -H "Authorization: Bearer ${AT[$s]}" \
        "http://127.0.0.1:${PORT[$s]}/v1/me" >/dev/null
done

# ---- the routes: route_NAME SIDE ROUND ----------------------------------------------
url() { echo "http://127.0.0.1:${PORT[$1]}$2"; }
route_healthz() { wrk_run "healthz_$1_$2" "$(url "$1" /healthz)"; }
route_get_me() { wrk_run "get_me_$1_$2" "$(url "$1" /v1/me)" -H "Authorization: Bearer ${AT[$1]}"; }
route_get_devices() { wrk_run "get_devices_$1_$2" "$(url "$1" /v1/devices)" \
    -H "Authorization: Bearer ${PAT[$1]}"; }
route_introspect() { wrk_run "introspect_$1_$2" "$(url "$1" /oauth/introspect)" \
    -s "$WORK/fx-$1/introspect.lua"; }
route_refresh() { wrk_run "refresh_$1_$2" "$(url "$1" /v1/sessions/refresh)" \
    -s bench/refresh.lua -- "$WORK/fx-$1/refresh_tokens.$2" "$THREADS"; }
route_login() { wrk_run "login_$1_$2" "$(url "$1" /v1/sessions)" -c4 -s "$WORK/fx-$1/login.lua"; }

: >"$WORK/rows"
ROUTES=(healthz get_me get_devices introspect refresh login)
echo "bench: $ROUNDS rounds of wrk -t$THREADS -c$CONNS -d${SECS}s per route and side (logins: -c4)," \
    "A = $REF, B = the working tree, order A B, B A, ..." >&2
for route in "${ROUTES[@]}"; do
    echo "bench:   $route" >&2
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then order=(a b); else order=(b a); fi
        for s in "${order[@]}"; do "route_$route" "$s" "$r"; done
    done
done

/usr/bin/python3 - "$WORK/rows" "$SECS" "$ROUNDS" "$REF" "$REF_SHA" \
    "$(git log -1 --format=%s "$REF_SHA")" "$HEAD_SHA" "$DIRTY" "${ROUTES[@]}" <<'PY'
import json, statistics, sys
rows_file, secs, rounds, ref, ref_sha, ref_subject, head, dirty = sys.argv[1:9]
routes, secs, rounds = sys.argv[9:], int(secs), int(rounds)
runs = {}
for line in open(rows_file):
    n, rps, ok, p50, p99, bad, to = line.split()
    runs[n] = {"rps": float(rps), "ok_rps": float(ok), "p50_us": float(p50), "p99_us": float(p99),
               "non_2xx": int(bad), "timeouts": int(to)}
label = {"healthz": "GET /healthz", "get_me": "GET /v1/me", "get_devices": "GET /v1/devices (5)",
         "introspect": "POST /oauth/introspect", "refresh": "POST /v1/sessions/refresh",
         "login": "POST /v1/sessions (logins)"}
tree = "working tree (HEAD %s%s)" % (head[:10], " + uncommitted changes" if dirty else "")
res = {"a": {"what": "REF", "ref": ref, "commit": ref_sha, "subject": ref_subject},
       "b": {"what": "working tree", "head": head, "uncommitted_changes": bool(dirty)},
       "rounds": rounds, "seconds": secs,
       "order": "per route: round 1 A then B, round 2 B then A, and so on",
       "wrk": "-t2 -c64 (login: -t2 -c4)", "serve": "--no-access-log --no-address-limits, SQLite",
       "throughput": "ok_rps, 2xx answers per second; rps counts every answer",
       "ratios": "B/A per round; median, min and max over the rounds", "routes": {}}
def ratio(xs):
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3),
            "max": round(max(xs), 3), "rounds": [round(x, 3) for x in xs]}
print(f"A = {ref} ({ref_sha[:10]}: {ref_subject[:60]})")
print(f"B = {tree}")
print(f"{rounds} rounds x {secs} s per route and side; medians over rounds; "
      "B/A: median of the rounds' ratios [min-max]")
print(f"{'route':<27}{'A req/s':>9}{'A p99 us':>10}{'B req/s':>9}{'B p99 us':>10}"
      f"{'B/A req/s':>20}{'B/A p99':>20}{'errors A/B':>12}")
for route in routes:
    side = {}
    for s in "ab":
        rs = [runs["%s_%s_%d" % (route, s, r)] for r in range(1, rounds + 1)]
        side[s] = {"median_ok_rps": statistics.median(x["ok_rps"] for x in rs),
                   "median_p99_us": statistics.median(x["p99_us"] for x in rs),
                   "non_2xx": sum(x["non_2xx"] for x in rs), "timeouts": sum(x["timeouts"] for x in rs),
                   "rounds": rs}
    pairs = list(zip(side["a"]["rounds"], side["b"]["rounds"]))
    e = {"label": label[route], "a": side["a"], "b": side["b"],
         "rps_ratio_b_to_a": ratio([b["ok_rps"] / a["ok_rps"] for a, b in pairs])
         if all(a["ok_rps"] for a, b in pairs) else None,
         "p99_ratio_b_to_a": ratio([b["p99_us"] / a["p99_us"] for a, b in pairs])
         if all(a["p99_us"] for a, b in pairs) else None}
    res["routes"][route] = e
    f = lambda q: f"{q['median']:.3f} [{q['min']:.2f}-{q['max']:.2f}]" if q else "-"
    a, b = side["a"], side["b"]
    bad = f"{a['non_2xx'] + a['timeouts']}/{b['non_2xx'] + b['timeouts']}"
    print(f"{label[route]:<27}{a['median_ok_rps']:>9.0f}{a['median_p99_us']:>10.0f}"
          f"{b['median_ok_rps']:>9.0f}{b['median_p99_us']:>10.0f}"
          f"{f(e['rps_ratio_b_to_a']):>20}{f(e['p99_ratio_b_to_a']):>20}{bad:>12}")
for route, e in res["routes"].items():
    for s in "ab":
        if e[s]["non_2xx"] or e[s]["timeouts"]:
            print(f"note: {route} on {s.upper()}: {e[s]['non_2xx']} non-2xx answers, "
                  f"{e[s]['timeouts']} timeouts over the rounds")
json.dump(res, open("bench/results-compare.json", "w"), indent=2)
print("written: bench/results-compare.json")
PY
