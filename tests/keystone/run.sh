#!/usr/bin/env bash
# run.sh - runs the Keystone tests (api/auth.c, and auth through a real migrationd) against a private Keystone on 127.0.0.1.
#
# Usage (as root on Debian 12, from anywhere): bash tests/keystone/run.sh
# Installs keystone if it is missing, sets up a Keystone in a private
# directory under /tmp (removed at exit, and the server always stopped),
# then builds migrationd and the tests and runs both Keystone tests,
# keystone_auth (api/auth.c) and keystone_api_auth (a real migrationd over
# HTTP), and migrationctl's Keystone login (cli.sh), twice: in
# build-keystone, and in build-keystone-asan with ASan/UBSan. Each test stops Keystone at its end (its last case checks what
# happens then), so Keystone is started again from the same directory
# before each one (a few seconds). The environment the tests read (KS_URL,
# KS_DIR, KS_*_PASSWORD, ...) is what `keystone.sh start` prints, exported.
# KS_PORT picks the port (default 35357, else the first free one above it).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
ks=$top/tests/keystone/keystone.sh
t0=$SECONDS

# shellcheck source=tests/support/packages.sh
. "$top/tests/support/packages.sh"
if [ -n "$(md_missing_packages "${md_pkgs_keystone[@]}")" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: keystone is not installed; run as root to install it" >&2
        exit 2
    fi
    echo "== installing keystone (about 75 s)"
    md_install_groups keystone
fi

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
port=${KS_PORT:-35357}
for _ in $(seq 1 100); do
    port_is_free "$port" && break
    port=$((port + 1))
done
port_is_free "$port" || { echo "run.sh: no free port near ${KS_PORT:-35357}" >&2; exit 1; }

dir=$(mktemp -d /tmp/md-keystone.XXXXXX)
cleanup() {
    bash "$ks" stop "$dir" || true
    rm -rf "$dir"
}
trap cleanup EXIT

jobs=$(nproc)
# start_keystone: (re)starts Keystone from $dir (the first call also sets it
# up) and exports the variables it prints.
start_keystone() {
    local vars
    vars=$(bash "$ks" start "$dir" "$port")
    set -a
    eval "$vars"
    set +a
}

pass() {
    local build=$1; shift
    echo "== Keystone tests in $build $*"
    cmake -S . -B "$build" -DMIGRATIOND_TESTS=ON -DMIGRATIOND_KEYSTONE_TESTS=ON "$@" >/dev/null
    cmake --build "$build" -j "$jobs" --target migrationd migrationctl test_auth test_api_auth
    local t
    for t in keystone_auth keystone_api_auth; do
        start_keystone
        ctest --test-dir "$build" --output-on-failure --no-tests=error -R "^$t\$"
        bash "$ks" stop "$dir"
    done
    # migrationctl's password login as an openrc file sets it up (a few seconds).
    start_keystone
    bash "$top/tests/keystone/cli.sh" "$build"
    bash "$ks" stop "$dir"
}

pass build-keystone -DCMAKE_BUILD_TYPE=RelWithDebInfo
pass build-keystone-asan -DCMAKE_BUILD_TYPE=Debug -DMIGRATIOND_SANITIZE=ON
echo "== Keystone tests passed in $((SECONDS - t0)) s"
