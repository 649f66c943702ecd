#!/usr/bin/env bash
# run.sh - builds the REST API request fuzzer (libFuzzer, clang, ASan/UBSan) and runs it
# for a bounded time.
#
# Usage (as root on Debian 12, from anywhere): bash tests/fuzz/run.sh
#   FUZZ_SECONDS=N   fuzzing time (default 60)
#   MD_NO_APT=1      do not install clang / libclang-rt-14-dev when missing
#
# Configures build-fuzz/ with clang and -DMIGRATIOND_FUZZ=ON (the whole
# project is built there with coverage instrumentation, ASan and UBSan, so
# it also checks that everything compiles warning-free with clang), replays
# every input of tests/fuzz/regressions/ first, then fuzzes a copy of
# tests/fuzz/corpus/ (the checked-in seeds are never modified). Exits
# non-zero on any crash, sanitizer report, leak or rule violation
# (tests/fuzz/harness.h), naming the input libFuzzer saved. A new crash
# belongs in tests/fuzz/regressions/ once fixed (a name saying what was
# wrong), where this script and tests/unit/test_fuzz_regressions.c replay it.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

seconds=${FUZZ_SECONDS:-60}
case $seconds in ''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac

# shellcheck source=tests/support/packages.sh
. tests/support/packages.sh

have_fuzzer() {
    command -v clang >/dev/null &&
        compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null
}
if ! have_fuzzer; then
    if [ -n "${MD_NO_APT:-}" ] || [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: clang and libclang-rt-14-dev (libFuzzer) are needed; run as root to" \
             "install them" >&2
        exit 2
    fi
    echo "== installing ${md_pkgs_fuzz[*]}"
    md_install_groups fuzz
fi

build=build-fuzz
echo "== fuzz build (clang, libFuzzer, ASan/UBSan) in $build/"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGRATIOND_FUZZ=ON -DMIGRATIOND_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

fuzzer=$build/fuzz/fuzz_api
work=$build/fuzz-work
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# What libFuzzer printed, on failure.
fail() {
    local log=$1
    grep -a -E "VIOLATION|ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20 >&2
    echo "run.sh: FAILED - full log: $log; inputs: $work/artifacts/" >&2
    exit 1
}

regressions=()
for f in tests/fuzz/regressions/*; do
    [ -f "$f" ] && [ "$(basename "$f")" != README ] && regressions+=("$f")
done
echo "== replaying ${#regressions[@]} regression inputs"
if [ ${#regressions[@]} -gt 0 ]; then
    "$fuzzer" -artifact_prefix="$work/artifacts/" "${regressions[@]}" >"$work/replay.log" 2>&1 ||
        fail "$work/replay.log"
fi

cp tests/fuzz/corpus/* "$work/corpus/"
[ ${#regressions[@]} -gt 0 ] && cp "${regressions[@]}" "$work/corpus/"
echo "== fuzzing for $seconds s"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1 || fail "$work/fuzz.log"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log")
cov=$(grep -a -o 'cov: [0-9]*' "$work/fuzz.log" | tail -1)
echo "== fuzz OK: ${runs:-?} inputs in $seconds s (${rate:-?}/s), $cov, no crash or violation"
