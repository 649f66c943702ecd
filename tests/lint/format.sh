#!/usr/bin/env bash
# format.sh - checks that every tracked C file follows .clang-format.
#
# Usage: bash tests/lint/format.sh [--fix]
#   (no option)  exit 1, naming FILE:LINE:COL of each difference, when clang-format would
#                change any file; exit 0 when it would change none
#   --fix        reformat those files in place instead (what a commit applying the style runs)
#
# The files: every *.c and *.h that git tracks, tests/guest/ included (its freestanding code
# formats like the rest). It needs clang-format 14, Debian 12's (tests/support/packages.sh,
# group "lint"): another major version formats some constructs differently, so it refuses one.
# CLANG_FORMAT names the binary (default: clang-format-14, else clang-format).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

fix=0
case ${1:-} in
    "") ;;
    --fix) fix=1 ;;
    *) echo "usage: format.sh [--fix]" >&2; exit 2 ;;
esac

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
    for c in clang-format-14 clang-format; do
        if command -v "$c" >/dev/null; then cf=$c; break; fi
    done
fi
[ -n "$cf" ] || { echo "format.sh: clang-format is not installed (package clang-format)" >&2; exit 2; }
version=$("$cf" --version)
if [[ $version != *"version 14."* ]]; then
    echo "format.sh: $cf is not clang-format 14 ($version)" >&2
    exit 2
fi

mapfile -t files < <(git ls-files -- '*.c' '*.h')
[ ${#files[@]} -gt 0 ] || { echo "format.sh: no tracked C files under $top" >&2; exit 2; }

if [ "$fix" -eq 1 ]; then
    "$cf" -i --style=file "${files[@]}"
    echo "format.sh: formatted ${#files[@]} files"
    exit 0
fi
if ! "$cf" --dry-run --Werror --style=file "${files[@]}"; then
    echo "format.sh: the files above differ from .clang-format; bash tests/lint/format.sh --fix" >&2
    exit 1
fi
echo "format.sh: ${#files[@]} files follow .clang-format"
