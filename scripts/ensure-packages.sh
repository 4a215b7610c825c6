#!/usr/bin/env bash
# Installs the Debian packages EMP needs to build and test, when any is missing.
# As root on Debian/Ubuntu: apt-get install. Elsewhere: names the packages and exits 1.
set -euo pipefail

packages=(libvirt-dev pkg-config libsqlite3-dev libxml2-dev curl openssl xorriso qemu-utils)
# The console's browser test (headless Chromium driven through WebDriver) and promtool for `/metrics`.
packages+=(chromium chromium-driver python3-selenium fonts-dejavu-core prometheus)
# PostgreSQL: the store tests run against SQLite and a throwaway server (scripts/with-postgres.sh).
packages+=(postgresql)

# kubectl (tests and the demo use it as the reference client): Debian's package when none is on PATH.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi

echo "EMP needs these system packages: ${missing[*]}" >&2
echo "Install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}) and run make again." >&2
exit 1
