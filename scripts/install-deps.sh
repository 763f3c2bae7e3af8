#!/usr/bin/env bash
# Installs the Debian packages safehouse needs to build, run and test.
# Idempotent: asks apt only for what is missing, so it is cheap to call
# before every `make run` / `make check`.
#   scripts/install-deps.sh           build + run + test dependencies
#   scripts/install-deps.sh bench     also the benchmark tools (nginx, wrk)
set -euo pipefail

pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libsodium-dev
      libsqlite3-dev libidn2-dev liboath-dev libqrencode-dev libcurl4-openssl-dev
      libcmocka-dev sqlite3 python3 python3-pytest python3-requests oathtool)
if [ "${1:-}" = bench ]; then
    pkgs+=(nginx-light wrk)
fi

missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
