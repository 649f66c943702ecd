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

# What the build needs (tests/support/packages.sh); the tests are not built here.
# shellcheck source=tests/support/packages.sh
. tests/support/packages.sh
if [ -z "${MD_NO_APT:-}" ]; then
    md_install_groups build
fi
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMIGRATIOND_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target monitor-load >/dev/null

build-release/bench/monitor-load "$@"
