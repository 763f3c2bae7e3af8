#!/usr/bin/env bash
# Installs what safehouse needs to build, run and test (systemd for
# systemd-analyze, man-db and groff-base for the man page: make deb's tests).
# Idempotent: asks apt only for what is missing, and npm only when the lock
# file of a test-local npm folder changed, so it is cheap to call before
# every `make run` / `make check`.
#   scripts/install-deps.sh           build + run + test dependencies
#   scripts/install-deps.sh bench     also the benchmark tools (nginx, wrk)
#   scripts/install-deps.sh fuzz      also clang 14 and its libFuzzer runtime
#   scripts/install-deps.sh valgrind  also valgrind
#   scripts/install-deps.sh lint      also cppcheck, clang-format, clang-tidy
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libsodium-dev
      libsqlite3-dev libpq-dev postgresql-15 python3-psycopg2 libidn2-dev liboath-dev
      libqrencode-dev libcurl4-openssl-dev libcmocka-dev libgnutls28-dev sqlite3 python3 python3-pytest
      python3-requests python3-yaml python3-jsonschema oathtool openssl curl
      nodejs npm prometheus
      systemd man-db groff-base)
case "${1:-}" in
bench) pkgs+=(nginx-light wrk) ;;
fuzz) pkgs+=(clang-14 libclang-rt-14-dev) ;;
valgrind) pkgs+=(valgrind) ;;
lint) pkgs+=(cppcheck clang-format-14 clang-tidy-14) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
# Node.js may come from elsewhere than Debian's package: what counts is the command
if command -v node >/dev/null && command -v npm >/dev/null; then
    kept=()
    for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || kept+=("$p"); done
    missing=("${kept[@]}")
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages of the test-local npm folders, exactly as locked: the OAuth
# interoperability clients (tests/oauth-interop) and Redocly CLI, which lints
# docs/openapi.yaml in make lint (tools/redocly). A copy of the lock file
# inside node_modules marks a finished install of that lock.
for dir in tests/oauth-interop tools/redocly; do
    if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.safehouse-lock" 2>/dev/null; then
        echo "install-deps: npm ci in $dir" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        cp "$dir/package-lock.json" "$dir/node_modules/.safehouse-lock"
    fi
done
