#!/usr/bin/env bash
# make lint: formatting, banned functions, cppcheck, clang-tidy, the OpenAPI
# document (Redocly CLI), and the release build's hardening flags. Exits
# non-zero on any finding so CI can run it. The chosen clang-tidy checks and
# the reasons are in .clang-tidy.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
files=$(find src tests/unit fuzz -name '*.[ch]' | sort)
tidy_files=$(find src fuzz -name '*.c' | sort)
pick() { for t in "$@"; do command -v "$t" >/dev/null && { echo "$t"; return; }; done; }
CLANG_FORMAT=$(pick clang-format-14 clang-format)
CLANG_TIDY=$(pick clang-tidy-14 clang-tidy)
PKGS="libmicrohttpd jansson libsodium sqlite3 libpq libidn2"

echo "lint: clang-format"
if [ -z "$CLANG_FORMAT" ]; then echo "lint: clang-format missing"; fail=1
elif ! $CLANG_FORMAT --dry-run --Werror $files; then fail=1; fi

echo "lint: banned functions"
# curl's and OpenBSD's list of functions that invite overflows or misuse.
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|strncat|tmpnam|mktemp)\s*\('
if grep -nE "$banned" $files; then fail=1; fi
# Secrets are compared in constant time: no memcmp in code that handles them.
if grep -nE '\bmemcmp\s*\(' src/crypto/*.c src/auth/*.c src/admin/*.c; then
    echo "lint: memcmp near secrets; use sodium_memcmp / crypto_verify_*"; fail=1
fi

echo "lint: cppcheck"
if ! command -v cppcheck >/dev/null; then echo "lint: cppcheck missing"; fail=1
else
    cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
        --std=c11 --inline-suppr -D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem \
        src || fail=1
fi

echo "lint: clang-tidy"
if [ -z "$CLANG_TIDY" ]; then echo "lint: clang-tidy missing"; fail=1
else
    make -s build/gen/migrations_sqlite.c build/gen/migrations_postgres.c build/gen/common_passwords.c >/dev/null
    flags="-std=c11 -D_GNU_SOURCE -Isrc -Ibuild/gen -Ifuzz $(pkg-config --cflags $PKGS)"
    # two files at a time: the machines have two cores
    if ! printf '%s\n' $tidy_files | FLAGS="$flags" TIDY="$CLANG_TIDY" \
        xargs -P2 -n4 sh -c '"$TIDY" --quiet "$@" -- $FLAGS 2>/dev/null' _; then
        fail=1
    fi
fi

echo "lint: openapi"
# docs/openapi.yaml is the API reference and the contract tests/api checks
# answers against: Redocly CLI (pinned in tools/redocly, installed by
# scripts/install-deps.sh) must find no error. No telemetry, no update check.
redocly=tools/redocly/node_modules/.bin/redocly
if [ ! -x "$redocly" ]; then echo "lint: $redocly missing (run scripts/install-deps.sh)"; fail=1
elif ! REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true "$redocly" lint \
        --config tools/redocly/redocly.yaml --format=stylish docs/openapi.yaml; then fail=1
fi

echo "lint: release hardening"
# The release build must keep the hardening set (docs/testing.md).
want_c="-O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE"
want_l="-pie -Wl,-z,relro,-z,now"
want_w="-Wall -Wextra -Werror -Wformat=2 -Wshadow"
got_c=$(make -s -p -n all 2>/dev/null | sed -n 's/^REL_CFLAGS := //p' | head -1)
got_l=$(make -s -p -n all 2>/dev/null | sed -n 's/^REL_LDFLAGS := //p' | head -1)
got_w=$(make -s -p -n all 2>/dev/null | sed -n 's/^WARN := //p' | head -1)
for f in $want_c; do case " $got_c " in *" $f "*) ;; *) echo "lint: REL_CFLAGS lacks $f"; fail=1 ;; esac; done
for f in $want_l; do case " $got_l " in *" $f "*) ;; *) echo "lint: REL_LDFLAGS lacks $f"; fail=1 ;; esac; done
for f in $want_w; do case " $got_w " in *" $f "*) ;; *) echo "lint: WARN lacks $f"; fail=1 ;; esac; done
if [ -x build/safehouse ] && command -v readelf >/dev/null; then
    # read once into variables: grep -q on a pipe would SIGPIPE readelf,
    # which pipefail reports as a failure
    hdr=$(readelf -h build/safehouse); dyn=$(readelf -d build/safehouse)
    segs=$(readelf -l build/safehouse); syms=$(readelf -s build/safehouse)
    grep -q 'DYN' <<<"$hdr" || { echo "lint: build/safehouse is not PIE"; fail=1; }
    grep -q 'BIND_NOW' <<<"$dyn" || { echo "lint: no BIND_NOW"; fail=1; }
    grep -q 'GNU_RELRO' <<<"$segs" || { echo "lint: no RELRO"; fail=1; }
    grep -q '__stack_chk_fail' <<<"$syms" || { echo "lint: no stack protector"; fail=1; }
    grep -q '_chk@' <<<"$syms" || { echo "lint: no FORTIFY_SOURCE calls"; fail=1; }
fi

[ $fail -eq 0 ] && echo "lint: ok"
exit $fail
