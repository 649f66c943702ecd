#!/usr/bin/env bash
# run-monitor-load.sh - builds migrationd's monitor-load benchmark (Release) and runs it:
# CPU time and memory of the engine watching 1, 100 and 1000 simulated migrations.
#
# Usage (as root on Debian 12): bash bench/run-monitor-load.sh [monitor-load options]
# e.g. --seconds 20 (the default) or --counts 0,1000. Set MD_NO_APT=1 to skip
# the package step. The build goes to build-release/, apart from the tests' build/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# The packages of tests/run-all.sh, less cmocka (the tests are not built here).
packages=(build-essential cmake pkg-config libconfig-dev libsqlite3-dev libvirt-dev
          libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev)

if [ -z "${MD_NO_APT:-}" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >/dev/null
fi
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMIGRATIOND_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target monitor-load >/dev/null

build-release/bench/monitor-load "$@"
