#!/usr/bin/env bash
# run.sh - the fault suite: every tests/faults/case-*.sh against live daemons.
#
#   bash tests/faults/run.sh BUILD_DIR [CASE...]
#
# Runs each case (all of them, or the named ones) with MD_BUILD=BUILD_DIR,
# one after the other, and prints "faults: N passed, M failed"; exits 1 when
# a case failed. Needs root (one case mounts a small tmpfs) and curl and
# python3 (tests/support/packages.sh, group test).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [CASE...]}
MD_BUILD=$(cd "$build" && pwd)
export MD_BUILD
shift
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    cases=("$here"/case-*.sh)
fi

pass=0
fail=0
for c in "${cases[@]}"; do
    [ -f "$c" ] || c="$here/$c"
    name=$(basename "$c" .sh)
    start=$SECONDS
    if bash "$c"; then
        echo "ok   $name ($((SECONDS - start)) s)"
        pass=$((pass + 1))
    else
        echo "FAIL $name ($((SECONDS - start)) s)"
        fail=$((fail + 1))
    fi
done
echo "faults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
