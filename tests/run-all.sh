#!/usr/bin/env bash
# run-all.sh - installs what the tests need, builds migrationd twice (plain and
# with ASan/UBSan) and runs every test in both builds.
#
# Usage (as root on Debian 12, from anywhere): bash tests/run-all.sh
# Set MD_NO_APT=1 to skip the package step on a machine that has them.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# The Debian 12 packages the build, the tests and the lint checks need
# (tests/support/packages.sh); the later steps install theirs.
# The ASan run comes last so that the runner's closing line counts every test.
# shellcheck source=tests/support/packages.sh
. tests/support/packages.sh
if [ -z "${MD_NO_APT:-}" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run-all.sh: run as root (it installs packages), or set MD_NO_APT=1" >&2
        exit 2
    fi
    echo "== Debian packages: ${md_pkgs_build[*]} ${md_pkgs_test[*]} ${md_pkgs_lint[*]}"
    md_install_groups build test lint
fi

jobs=$(nproc)

# The C style (tests/lint/format.sh, clang-format 14; `format.sh --fix` applies it).
# The include fences run with ctest (the tests fences and fences_self_test).
echo "== C style (.clang-format)"
bash tests/lint/format.sh

echo "== plain build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGRATIOND_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure

echo "== python-openstackclient against a live daemon (Nova-compatible API)"
bash tests/api/run-osc.sh build

# The fault suite: live daemons on the simulator under injected faults and
# hostile callers (tests/faults/); about a minute.
echo "== fault suite"
bash tests/faults/run.sh build

# migrationctl against a live daemon (every command, exit code and format,
# watch in a pty) is the ctest `cli`, in the plain and the ASan build.

# /metrics scraped by a real Prometheus (installs the "metrics" packages); about 45 s.
echo "== Prometheus metrics"
bash tests/metrics/run.sh build

# The worker pool, monitor and simulated hypervisor are threads that share
# state: their tests run once more under ThreadSanitizer.
echo "== ThreadSanitizer build of the engine tests"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DMIGRATIOND_TSAN=ON -DMIGRATIOND_TESTS=ON >/dev/null
cmake --build build-tsan -j "$jobs" --target test_engine test_engine_postcopy test_engine_bounds \
    test_engine_metrics test_engine_drain test_engine_end test_engine_progress
TSAN_OPTIONS="halt_on_error=1" ctest --test-dir build-tsan --output-on-failure -R unit_engine

# api/auth.c against a real Keystone on 127.0.0.1 (plain and ASan builds of
# test_auth). keystone is not in the package list above: run.sh installs it
# (about 75 s) when it is missing, and always stops the server it starts.
echo "== Keystone tests"
bash tests/keystone/run.sh

# Request parsing under libFuzzer (clang, ASan/UBSan) for a bounded time:
# FUZZ_SECONDS, default 60. Replays tests/fuzz/regressions/ first.
echo "== API request fuzzer"
bash tests/fuzz/run.sh

# The devstack plugin's phases with stand-ins for devstack's functions, and
# for real the build (the plain tree above), configuration, daemon, exercise,
# unstack and clean; about 15 s.
echo "== devstack plugin"
MIGRATIOND_TEST_BUILD_DIR=build bash devstack/test-plugin.sh

# The end-to-end scenarios: two libvirt hosts in namespaces (hosts.sh, which
# installs libvirt and QEMU when missing), real guests migrated by the Release
# build of migrationd and checked through its REST API; about 1 min.
echo "== end-to-end scenarios on two libvirt hosts"
bash tests/integration/run.sh

echo "== ASan/UBSan build and tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMIGRATIOND_SANITIZE=ON -DMIGRATIOND_TESTS=ON >/dev/null
cmake --build build-asan -j "$jobs"
ctest --test-dir build-asan --output-on-failure

