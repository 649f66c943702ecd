#!/usr/bin/env bash
# fences.sh - fails when an #include crosses one of the dependency fences of migrationd's layers.
#
# Usage: bash tests/lint/fences.sh [SRC_DIR]        check the tree (default: this checkout)
#        bash tests/lint/fences.sh --self-test [SRC_DIR]
#                                                   prove on copies of the tree that every rule
#                                                   fails when it should and passes when it should
#
# Prints one line per violation, "FILE:LINE: RULE: what is wrong", and exits 1 when there is
# any, 0 when there is none (2 on a usage error). It scans every *.c and *.h under SRC_DIR,
# tests/ and bench/ included, skipping .git, CMakeFiles and the top-level build*/ directories.
# Only the #include lines are read; includes inside comments or #if 0 are checked all the same,
# which errs on the safe side.
#
# The rules (the layers: policy/ <- service/ <- api/, with daemon/ the composition root on top):
#
#   owner        Each system library is wrapped by one file of each program, and only that
#                file includes its headers:
#                          <libvirt/*>      service/hv_libvirt.c,
#                                           service/hv_libvirt_domain.c and
#                                           service/hv_libvirt_peer.c (the libvirt
#                                           boundary: hv_libvirt.c's connection to
#                                           its own node, hv_libvirt_domain.c's
#                                           operations on that node's domains,
#                                           hv_libvirt_peer.c's questions to other
#                                           hosts, sharing hv_libvirt_priv.h, which
#                                           declares libvirt's handles without the
#                                           headers)
#                          <sqlite3.h>      service/store.c, service/store_migrations.c,
#                                           service/store_list.c and service/store_drain.c
#                                           (the store module: store.c's file, schema and
#                                           shared helpers, store_migrations.c's migration
#                                           records, store_list.c's list of them,
#                                           store_drain.c's drains, sharing
#                                           store_priv.h, which declares SQLite's
#                                           handles without the header)
#                          <microhttpd.h>   api/http.c
#                          <libconfig.h>    service/config.c (the file's walk; the key
#                                           table in config_keys.c does not need it)
#                          <curl/*>         api/auth.c (the daemon's Keystone client) and
#                                           cli/http.c (migrationctl's one HTTP module)
#                migrationctl (cli/) is a program of its own that links none of the daemon's
#                code, so it has its own owner of libcurl; still one file, so that every
#                request it sends goes through one place.
#                Several owner files of one library are one module of one program, split by
#                size or by job; each is listed, so a new file of the module is a deliberate
#                change here.
#                Tests: the unit test of an owner, tests/unit/test_<owner's name>.c (e.g.
#                tests/unit/test_store.c for <sqlite3.h>, tests/unit/test_hv_libvirt.c for
#                <libvirt/*>), may include it too, to set up or
#                inspect what that one module wraps. libcurl is also allowed anywhere under
#                tests/, where it is the client side of the REST API and of Keystone
#                (tests/api, tests/keystone, tests/support/http.*). No other test, and nothing
#                in bench/, may include any of them.
#   policy-pure  policy/ is pure computation: no I/O, no threads, no clock. Its files include
#                only policy/ headers and the C library headers on this list: float.h
#                inttypes.h iso646.h limits.h stdalign.h stdarg.h stdbool.h stddef.h stdint.h
#                stdnoreturn.h (freestanding), ctype.h errno.h math.h string.h, and stdio.h on
#                one condition: the file uses only its string formatters (snprintf and
#                vsnprintf), never a stream or a call that prints or reads. A list of what is
#                allowed rather than of what is not, because the headers that do I/O or threads
#                (pthread.h, unistd.h, fcntl.h, sys/*, time.h, signal.h, stdatomic.h,
#                threads.h, stdlib.h's getenv and system, ...) are too many to enumerate.
#   service-api  Nothing in service/ includes an api/ header (service/ must not know its
#                clients).
#   api-direct   api/ reaches the hypervisor and the store only through the engine: no api/
#                file includes service/store.h, service/hv.h, service/hv_sim.h or
#                service/hv_libvirt*.
#   root         Only the composition root daemon/ wires service/ and api/ together: outside
#                daemon/, tests/ and bench/, an api/ header is included by api/ itself and
#                nowhere else (service/ is reported by service-api, policy/ by policy-pure).
#   cli-client   cli/ (migrationctl) is a client of the REST API, not a part of the daemon:
#                its "..." includes are cli/ headers only (no policy/, service/, api/ or
#                daemon/ header), so that the API stays its one contract with migrationd.
set -euo pipefail

usage() {
    echo "usage: fences.sh [--self-test] [SRC_DIR]" >&2
    exit 2
}

self_test=0
if [ "${1:-}" = --self-test ]; then
    self_test=1
    shift
fi
[ $# -le 1 ] || usage
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -d "$src" ] || { echo "fences.sh: $src is not a directory" >&2; exit 2; }
src=$(cd "$src" && pwd)

# The library each owner wraps: pattern of the header name, owning file.
owner_patterns=('libvirt/*' 'sqlite3.h' 'microhttpd.h' 'libconfig.h' 'curl/*')
# Several owners (one per program, or the files of one module) are separated by spaces.
owner_files=("service/hv_libvirt.c service/hv_libvirt_domain.c service/hv_libvirt_peer.c"
             "service/store.c service/store_drain.c service/store_migrations.c service/store_list.c"
             api/http.c service/config.c "api/auth.c cli/http.c")

policy_headers=(float.h inttypes.h iso646.h limits.h stdalign.h stdarg.h stdbool.h stddef.h
                stdint.h stdnoreturn.h ctype.h errno.h math.h string.h)
# What a policy/ file that includes stdio.h must not use: everything of stdio.h but the
# string formatters.
stdio_io='\b(FILE|stdin|stdout|stderr|fopen|freopen|fdopen|fclose|fflush|fread|fwrite|fgetc|fgets|fputc|fputs|getc|getchar|gets|putc|putchar|puts|ungetc|perror|remove|rename|tmpfile|tmpnam|fseek|fseeko|ftell|ftello|rewind|fgetpos|fsetpos|setbuf|setvbuf|popen|pclose|getline|getdelim|printf|fprintf|vprintf|vfprintf|dprintf|vdprintf|scanf|fscanf|vscanf|vfscanf|sscanf|vsscanf|asprintf|vasprintf)[[:space:]]*\('

violations=0
report() {
    echo "$1:$2: $3: $4"
    violations=$((violations + 1))
}

# check_include FILE LINE HEADER KIND: KIND is "<" for <...> and '"' for "...".
check_include() {
    local file=$1 line=$2 header=$3 kind=$4 i pattern owner base allowed
    for i in "${!owner_patterns[@]}"; do
        pattern=${owner_patterns[$i]}
        # shellcheck disable=SC2053  # the pattern is a glob on purpose
        [[ $header == $pattern ]] || continue
        allowed=0
        for owner in ${owner_files[$i]}; do
            base=$(basename "$owner" .c)
            if [ "$file" = "$owner" ] || [ "$file" = "tests/unit/test_$base.c" ]; then
                allowed=1
            fi
        done
        if [ "$pattern" = 'curl/*' ] && [[ $file == tests/* ]]; then
            allowed=1
        fi
        [ "$allowed" = 1 ] && continue
        report "$file" "$line" owner "<$header> is included only by ${owner_files[$i]// / or } (and its unit test)"
    done

    case $file in
        policy/*)
            if [ "$kind" = '"' ]; then
                [[ $header == policy/* ]] ||
                    report "$file" "$line" policy-pure "\"$header\": policy/ includes only policy/ headers"
            elif [ "$header" = stdio.h ]; then
                local uses
                # Comments do no I/O: drop // and one-line /* */ comments, and the
                # continuation lines of block comments, keeping the line numbers.
                uses=$(sed -e 's://.*$::' -e 's:/\*.*\*/::g' -e 's:^[[:space:]]*/\{0,1\}\*.*$::' \
                           "$src/$file" | grep -nE "$stdio_io" | head -1 || true)
                if [ -n "$uses" ]; then
                    report "$file" "$line" policy-pure \
                        "<stdio.h> is allowed for snprintf only, but line ${uses%%:*} does I/O"
                fi
            elif [[ " ${policy_headers[*]} " != *" $header "* ]]; then
                report "$file" "$line" policy-pure "<$header> may do I/O or threads; policy/ is pure"
            fi
            ;;
        service/*)
            [ "$kind" = '"' ] && [[ $header == api/* ]] &&
                report "$file" "$line" service-api "\"$header\": service/ must not include api/"
            ;;
        api/*)
            if [ "$kind" = '"' ]; then
                case $header in
                    service/store.h | service/hv.h | service/hv_sim.h | service/hv_libvirt*)
                        report "$file" "$line" api-direct \
                            "\"$header\": api/ reaches the store and hypervisor only through service/engine.h"
                        ;;
                esac
            fi
            ;;
        cli/*)
            [ "$kind" = '"' ] && [[ $header != cli/* ]] &&
                report "$file" "$line" cli-client "\"$header\": cli/ is a client of the API and includes only cli/ headers"
            ;;
        daemon/* | tests/* | bench/*) ;;
        *)
            [ "$kind" = '"' ] && [[ $header == api/* ]] &&
                report "$file" "$line" root "\"$header\": only api/, daemon/, tests/ and bench/ include api/ headers"
            ;;
    esac
    return 0
}

check_tree() {
    local file line header kind rest
    # One grep over every file rather than one per file: the self-test runs this check once
    # per case, and a process per file made it slow on a loaded machine. Paths hold no ':'.
    while IFS=: read -r file line rest; do
        file=${file#./}
        if [[ $rest =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\<\"])([^\>\"]+)[\>\"] ]]; then
            kind=${BASH_REMATCH[1]}
            header=${BASH_REMATCH[2]}
            check_include "$file" "$line" "$header" "$kind"
        fi
    done < <(cd "$src" && find . \( -name .git -o -name CMakeFiles -o -path './build*' \) -prune -o \
                 -type f \( -name '*.c' -o -name '*.h' \) -print0 | LC_ALL=C sort -z |
                 xargs -0 -r grep -nHE '^[[:space:]]*#[[:space:]]*include' || true)
    [ "$violations" -eq 0 ]
}

if [ "$self_test" -eq 0 ]; then
    cd "$src"
    check_tree
    exit
fi

# --self-test: each case copies the tree, adds one include (and, where needed, one line of
# code) to one file, runs this script on the copy and checks that it fails naming that
# FILE:LINE and rule. The tree itself may have violations (those lines are not the ones
# checked); the last cases check that a tree with none passes, and that the exceptions hold.
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
work=$(mktemp -d "${TMPDIR:-/tmp}/md-fences.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
passed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }

fresh_copy() {
    rm -rf "$work/tree"
    mkdir -p "$work/tree"
    (cd "$src" && find . \( -name .git -o -name CMakeFiles -o -path './build*' \) -prune -o \
         -type f \( -name '*.c' -o -name '*.h' \) -print0 |
         xargs -0 cp --parents -t "$work/tree")
}

# expect_fail NAME FILE RULE TEXT...: appends TEXT (lines) to FILE in a fresh copy; the include
# must be the first line appended; the check must exit 1 naming FILE:that line: RULE.
expect_fail() {
    local name=$1 file=$2 rule=$3 line out rc=0
    shift 3
    fresh_copy
    mkdir -p "$(dirname "$work/tree/$file")"
    touch "$work/tree/$file"
    line=$(($(wc -l <"$work/tree/$file") + 1))
    printf '%s\n' "$@" >>"$work/tree/$file"
    out=$(bash "$self" "$work/tree" 2>&1) || rc=$?
    if [ "$rc" -eq 1 ] && grep -q "^$file:$line: $rule: " <<<"$out"; then
        ok "$name: $(grep "^$file:$line: " <<<"$out" | head -1)"
    else
        not_ok "$name: expected exit 1 and \"$file:$line: $rule\"; got exit $rc:"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi
}

expect_fail "libvirt outside its owner" service/engine.c owner '#include <libvirt/libvirt.h>'
expect_fail "libvirt's other headers too" service/hv.c owner '#include <libvirt/virterror.h>'
expect_fail "sqlite3 in a test of another module" tests/unit/test_engine.c owner '#include <sqlite3.h>'
expect_fail "sqlite3 in bench" bench/api_fill.c owner '#include <sqlite3.h>'
expect_fail "sqlite3 in the store's private header" service/store_priv.h owner '#include <sqlite3.h>'
expect_fail "libvirt in the boundary's private header" service/hv_libvirt_priv.h owner \
    '#include <libvirt/libvirt.h>'
expect_fail "libvirt in a test of another module" tests/unit/test_hv_sim.c owner \
    '#include <libvirt/libvirt.h>'
expect_fail "microhttpd outside api/http.c" api/api.c owner '#include <microhttpd.h>'
expect_fail "libconfig outside service/config.c" service/store.c owner '#include <libconfig.h>'
expect_fail "curl outside api/auth.c and tests" service/engine.c owner '#include <curl/curl.h>'
expect_fail "curl in bench" bench/policy_matrix.c owner '#include <curl/curl.h>'
expect_fail "curl in cli/ outside cli/http.c" cli/format.c owner '#include <curl/curl.h>'
expect_fail "curl in api/ outside api/auth.c" api/v1.c owner '#include <curl/curl.h>'
expect_fail "the daemon's code in cli/" cli/client.c cli-client '#include "service/status.h"'
expect_fail "policy/ in cli/" cli/watch.c cli-client '#include "policy/policy.h"'
expect_fail "threads in policy/" policy/sim.c policy-pure '#include <pthread.h>'
expect_fail "unistd in a policy/ header" policy/policy.h policy-pure '#include <unistd.h>'
expect_fail "sys/* in policy/" policy/sim.c policy-pure '#include <sys/stat.h>'
expect_fail "a service/ header in policy/" policy/sim.h policy-pure '#include "service/log.h"'
expect_fail "stdio for printing in policy/" policy/sim.c policy-pure '#include <stdio.h>' \
    'static void debug_print(double x) { fprintf(stderr, "%f\n", x); }'
expect_fail "service/ includes api/" service/engine.c service-api '#include "api/api.h"'
expect_fail "api/ includes the store" api/fault.c api-direct '#include "service/store.h"'
expect_fail "api/ includes the hypervisor" api/json.c api-direct '#include "service/hv.h"'
expect_fail "api/ includes the simulator" api/v1.c api-direct '#include "service/hv_sim.h"'
expect_fail "api/ includes libvirt's boundary" api/nova.c api-direct '#include "service/hv_libvirt.h"'
expect_fail "api/ outside the root" etc/tool.c root '#include "api/api.h"'

# A small tree with no violation, using every exception, must pass.
rm -rf "$work/clean"
mkdir -p "$work/clean"/{policy,service,api,cli,daemon,tests/unit,tests/api,tests/keystone,tests/support,bench}
printf '#include "policy/p.h"\n#include <math.h>\n#include <stdio.h>\n%s\n' \
    '__attribute__((format(printf, 1, 2))) void f(const char *fmt, ...); /* no printf() here */' \
    >"$work/clean/policy/p.c"
printf '#include <stdbool.h>\n#include <stdint.h>\n' >"$work/clean/policy/p.h"
printf '#include <sqlite3.h>\n#include "service/store.h"\n' >"$work/clean/service/store.c"
printf '#include <sqlite3.h>\n#include "service/store_priv.h"\n' >"$work/clean/service/store_drain.c"
printf '#include <sqlite3.h>\n#include "service/store_priv.h"\n' >"$work/clean/service/store_migrations.c"
printf '#include <sqlite3.h>\n' >"$work/clean/tests/unit/test_store_drain.c"
printf '#include <libvirt/libvirt.h>\n#include <libvirt/virterror.h>\n' >"$work/clean/service/hv_libvirt.c"
printf '#include <libvirt/libvirt.h>\n#include "service/hv_libvirt_priv.h"\n' \
    >"$work/clean/service/hv_libvirt_peer.c"
printf '#include <libvirt/libvirt.h>\n#include "service/hv_libvirt_priv.h"\n' \
    >"$work/clean/service/hv_libvirt_domain.c"
printf '#include <libconfig.h>\n#include "policy/p.h"\n' >"$work/clean/service/config.c"
printf '#include <microhttpd.h>\n#include "service/config.h"\n' >"$work/clean/api/http.c"
printf '#include <curl/curl.h>\n#include "service/engine.h"\n' >"$work/clean/api/auth.c"
printf '#include "api/api.h"\n#include "service/store.h"\n#include "service/hv_sim.h"\n' \
    >"$work/clean/daemon/root.c"
printf '#include <sqlite3.h>\n#include "service/store.h"\n' >"$work/clean/tests/unit/test_store.c"
printf '#include <libvirt/libvirt.h>\n' >"$work/clean/tests/unit/test_hv_libvirt.c"
printf '#include <curl/curl.h>\n#include "api/api.h"\n' >"$work/clean/tests/api/test_http.c"
printf '#include <curl/curl.h>\n#include "api/auth.h"\n' >"$work/clean/tests/keystone/test_auth.c"
printf '#include <curl/curl.h>\n' >"$work/clean/tests/support/http.c"
printf '#include <curl/curl.h>\n#include "cli/migrationctl.h"\n' >"$work/clean/cli/http.c"
printf '#include <json-c/json.h>\n#include "cli/migrationctl.h"\n' >"$work/clean/cli/main.c"
printf '#include "api/api.h"\n#include "service/hv.h"\n' >"$work/clean/bench/load.c"
rc=0
out=$(bash "$self" "$work/clean" 2>&1) || rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
    ok "a tree without violations passes, exceptions included"
else
    not_ok "a tree without violations: expected exit 0 and no output; got exit $rc:"
    printf '%s\n' "$out" | sed 's/^/    /'
fi

echo "fences self-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
