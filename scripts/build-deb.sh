#!/usr/bin/env bash
# Builds the Debian package of a release binary: a staged tree packed with
# dpkg-deb (no debhelper). Depends: names the package of every shared
# library the binary links directly (readelf NEEDED, found with ldd, owned
# per dpkg -S), at least at the version this machine has.
#   scripts/build-deb.sh BIN VERSION OUT.deb
set -euo pipefail
bin=${1:?usage: build-deb.sh BIN VERSION OUT.deb}
version=${2:?usage: build-deb.sh BIN VERSION OUT.deb}
out=${3:?usage: build-deb.sh BIN VERSION OUT.deb}
cd "$(dirname "$0")/.."
stage=$(dirname "$out")/deb-root
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT

# the package of the file a library path names (merged /usr: try both spellings)
owner() {
    local p=$1 real
    real=$(readlink -f "$p")
    for f in "$p" "$real" "${real#/usr}" "/usr$p"; do
        dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1 && return 0
    done
    echo "build-deb: no package owns $p" >&2
    return 1
}

depends() {
    local lib path pkg ver seen=" " list=()
    for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
        path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
        [ -n "$path" ] || { echo "build-deb: ldd does not find $lib" >&2; return 1; }
        pkg=$(owner "$path")
        case $seen in *" $pkg "*) continue ;; esac
        seen="$seen$pkg "
        # the upstream part of the installed version: any Debian revision will do
        ver=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/^[0-9]*://; s/-[^-]*$//')
        list+=("$pkg (>= $ver)")
    done
    local IFS=,
    echo "${list[*]}" | sed 's/,/, /g'
}

install -D -m 0755 "$bin" "$stage/usr/bin/safehouse"
strip --strip-unneeded "$stage/usr/bin/safehouse"
install -D -m 0644 packaging/safehouse.service "$stage/lib/systemd/system/safehouse.service"
install -D -m 0644 packaging/safehouse.conf "$stage/etc/safehouse/safehouse.conf"
mkdir -p "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions" \
    "$stage/usr/share/doc/safehouse"
"$bin" help --man | gzip -9n > "$stage/usr/share/man/man1/safehouse.1.gz"
"$bin" completion bash > "$stage/usr/share/bash-completion/completions/safehouse"
install -m 0644 docs/operations.md "$stage/usr/share/doc/safehouse/operations.md"
chmod 0644 "$stage/usr/share/man/man1/safehouse.1.gz" \
    "$stage/usr/share/bash-completion/completions/safehouse"

mkdir -p "$stage/DEBIAN"
install -m 0755 packaging/postinst packaging/prerm packaging/postrm "$stage/DEBIAN/"
echo /etc/safehouse/safehouse.conf > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: safehouse
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: safehouse developers <safehouse@localhost>
Section: net
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $(depends)
Suggests: postgresql
Description: smart-home cloud backend
 The accounts, sessions, devices and partner (OAuth) links of a smart-home
 service: a public HTTP API and an admin API, on an embedded SQLite store
 or on PostgreSQL for several nodes. Runs as a hardened systemd service
 (safehouse.service) with its master key passed as a credential.
CONTROL
find "$stage" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
echo "build-deb: $out"
