#!/usr/bin/env bash
# make lint: formatting, banned functions, cppcheck. Exits non-zero on any
# finding so CI can run it.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
files=$(find src tests/unit -name '*.[ch]' | sort)

echo "lint: clang-format"
if ! clang-format --dry-run --Werror $files; then fail=1; fi

echo "lint: banned functions"
# curl's and OpenBSD's list of functions that invite overflows or misuse.
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|strncat|tmpnam|mktemp)\s*\('
if grep -nE "$banned" $files; then fail=1; fi
# Secrets are compared in constant time: no memcmp in code that handles them.
if grep -nE '\bmemcmp\s*\(' src/crypto/*.c src/auth/*.c src/admin/*.c; then
    echo "lint: memcmp near secrets; use sodium_memcmp / crypto_verify_*"; fail=1
fi

echo "lint: cppcheck"
if command -v cppcheck >/dev/null; then
    cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
        --std=c11 --inline-suppr -D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem \
        src || fail=1
fi
[ $fail -eq 0 ] && echo "lint: ok"
exit $fail
