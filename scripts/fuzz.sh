#!/usr/bin/env bash
# make fuzz: runs each libFuzzer driver for FUZZ_SECONDS (default 60), one
# process at a time, then prints executions, corpus size and findings per
# driver. Exits 1 if any driver found something.
#   scripts/fuzz.sh DRIVER...      (make fuzz passes every fuzz/fuzz_*.c)
# Knobs: FUZZ_SECONDS, FUZZ_ARGS (extra libFuzzer flags).
# Working corpora (what the fuzzer learned) live in build/fuzz/corpus/NAME and
# grow across runs; the committed seeds in fuzz/corpus/NAME are only read.
# Findings go to build/fuzz/findings/NAME/: fix the bug, then copy the input
# to fuzz/regressions/NAME/ so `make check` replays it forever.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${FUZZ_SECONDS:-60}
declare -A MAXLEN=([request]=8192 [token]=256 [email]=2048 [rfc3339]=128 [fields]=512 [form]=8192
                   [claim_code]=128 [second_factor]=128)
summary=()
found=0

for d in "$@"; do
    bin=build/fuzz/fuzz_$d
    work=build/fuzz/corpus/$d
    out=build/fuzz/findings/$d
    log=build/fuzz/$d.log
    mkdir -p "$work" "$out"
    dict=()
    [ -f "fuzz/dict/$d.dict" ] && dict=(-dict="fuzz/dict/$d.dict")
    echo "fuzz: $d for ${SECS}s" >&2
    before=$(find "$out" -type f | wc -l)
    # shellcheck disable=SC2086
    "$bin" "$work" "fuzz/corpus/$d" "${dict[@]}" -max_total_time="$SECS" \
        -max_len="${MAXLEN[$d]:-4096}" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
    after=$(find "$out" -type f | wc -l)
    new=$((after - before))
    if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
        found=1
        echo "fuzz: $d: FINDING (exit $rc); see $log and $out/" >&2
        grep -m3 -E 'ERROR:|runtime error|SUMMARY' "$log" >&2 || true
    fi
    summary+=("$(printf '%-10s %12s %9s %8s' "$d" "${execs:-?}" "$(find "$work" -type f | wc -l)" "$new")")
done

printf '%-10s %12s %9s %8s\n' driver executions corpus findings
printf '%s\n' "${summary[@]}"
exit $found
