#!/usr/bin/env bash
# run-policy-matrix.sh - builds migrationd's simulator benchmark and runs it:
# the policy table of README.rst with its goal checks, then one traced
# migration per policy on a guest that dirties memory faster than the link,
# with post-copy permitted and with auto-converge only.
#
# Usage (as root on Debian 12): bash bench/run-policy-matrix.sh
# Set MD_NO_APT=1 to skip the package step.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# What the build needs (tests/support/packages.sh).
# shellcheck source=tests/support/packages.sh
. tests/support/packages.sh
if [ -z "${MD_NO_APT:-}" ]; then
    md_install_groups build
fi
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMIGRATIOND_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target policy-matrix >/dev/null

build-release/bench/policy-matrix
echo
# 16 GiB guest writing 1.5x the link over 10 Gbit/s: post-copy permitted
# (mode 2), then auto-converge only (mode 1).
for policy in none nova adaptive pc-after-pre kubevirt; do
    build-release/bench/policy-matrix --trace "$policy" 16 1.5 10 2
    echo
done
for policy in nova adaptive kubevirt; do
    build-release/bench/policy-matrix --trace "$policy" 16 1.5 10 1
    echo
done
