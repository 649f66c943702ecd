#!/usr/bin/env bash
# api-load.sh - HTTP load on migrationd's REST API: the daemon on the simulator with 10,000
# records, wrk against show, list (limit=50) and the healthcheck over loopback.
#
# Usage (as root on Debian 12): bash bench/api-load.sh [--seconds S] [--records N]
#                                                      [--no-keystone]
#   --seconds S    wrk duration per endpoint (default 20)
#   --records N    records in the database (default 10000)
#   --no-keystone  only the noauth rows
# Set MD_NO_APT=1 to skip the package step. The build goes to build-release/.
#
# For each auth mode - noauth, then keystone with a cached token when
# tests/keystone/keystone.sh can start a Keystone - it fills a fresh
# database with bench/api-fill (the daemon's own store code), starts
# build-release/migrationd on it (hypervisor "simulator", api.listen on a
# free loopback port), runs `wrk -t2 -c32 -d<S>s --latency` against
#   show   GET /v1/os-migrations/<the newest record>
#   list   GET /v1/os-migrations?limit=50
#   health GET /healthcheck
# and prints requests/s, p50 and p99 latency, errors (non-2xx responses
# plus socket errors) and the daemon's peak RSS (VmHWM) after each
# endpoint. With keystone, every request carries the X-Auth-Token of an
# admin user, fetched once: after the first request the daemon answers from
# its token cache (the healthcheck needs no token).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

seconds=20
records=10000
keystone=1
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --records) records=$2; shift 2 ;;
        --no-keystone) keystone=0; shift ;;
        *) echo "usage: $0 [--seconds S] [--records N] [--no-keystone]" >&2; exit 2 ;;
    esac
done

# The targets of the issue (2 cores).
T_SHOW=10000 T_LIST=2000 T_P99_MS=10 T_RSS_MIB=50

# shellcheck source=tests/support/packages.sh
. tests/support/packages.sh
if [ -z "${MD_NO_APT:-}" ]; then
    md_install_groups build bench
fi
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMIGRATIOND_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target migrationd api-fill >/dev/null

work=$(mktemp -d /tmp/md-api-load-XXXXXX)
daemon_pid=
ks_dir=
cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    [ -n "$ks_dir" ] && bash tests/keystone/keystone.sh stop "$ks_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# "1.23ms" / "850.00us" / "1.02s" -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else printf "nan" }'
}

rows=()
verdicts=()

# start_daemon AUTH [keystone settings...]: fills a fresh database and starts
# the daemon; sets base, show_uuid, daemon_pid.
start_daemon() {
    local auth=$1 ks_block=${2:-} port db conf i
    port=$(free_port)
    db=$work/$auth.db
    rm -f "$db" "$db-wal" "$db-shm"
    show_uuid=$(build-release/bench/api-fill "$db" "$records")
    conf=$work/$auth.conf
    cat >"$conf" <<EOF
service = {
    database = "$db";
    host = "node-a";
    hypervisor = "simulator";
    log_level = "warning";
};
api = {
    listen = "127.0.0.1:$port";
    auth_strategy = "$auth";
};
$ks_block
simulator = {
    domains = (
        { name = "vm-a"; uuid = "11111111-1111-4111-8111-111111111111"; ram_mib = 1024; }
    );
};
EOF
    build-release/migrationd --config "$conf" >"$work/$auth.log" 2>&1 &
    daemon_pid=$!
    base=http://127.0.0.1:$port
    for i in $(seq 1 100); do
        curl -sf -o /dev/null --max-time 1 "$base/healthcheck" && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$work/$auth.log" >&2
    echo "api-load.sh: migrationd did not start" >&2
    exit 1
}

stop_daemon() {
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || true
    daemon_pid=
}

hwm_mib() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$daemon_pid/status"
}

# load AUTH NAME PATH [wrk args...]
load() {
    local auth=$1 name=$2 path=$3 out rps p50 p99 non2xx sockerr errors rss target ok
    shift 3
    out=$(wrk -t2 -c32 -d"${seconds}s" --latency "$@" "$base$path")
    echo "$out" >"$work/wrk-$auth-$name.txt"
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
    errors=$(( ${non2xx:-0} + ${sockerr:-0} ))
    rss=$(hwm_mib)
    case $name in
        show) target=$T_SHOW ;;
        list) target=$T_LIST ;;
        *) target=0 ;;
    esac
    ok=met
    awk -v r="$rps" -v t="$target" -v p="$p99" -v m="$T_P99_MS" -v s="$rss" -v x="$T_RSS_MIB" \
        'BEGIN { exit !(r >= t && p < m && s < x) }' || ok="NOT met"
    [ "$errors" -eq 0 ] || ok="NOT met"
    rows+=("$(printf '| %-8s | %-6s | %8s | %6s | %6s | %6s | %12s | %-8s |' "$auth" "$name" \
              "$rps" "$p50" "$p99" "$errors" "$rss" "$ok")")
    verdicts+=("$ok")
    echo "${rows[-1]}" >&2
}

run_mode() {
    local auth=$1
    shift
    load "$auth" show "/v1/os-migrations/$show_uuid" "$@"
    load "$auth" list "/v1/os-migrations?limit=50" "$@"
    load "$auth" health "/healthcheck" "$@"
}

echo "== $records records, wrk -t2 -c32 -d${seconds}s --latency, $(nproc) cores" >&2

start_daemon noauth
# Every endpoint must answer 200 before it is measured.
for p in "/v1/os-migrations/$show_uuid" "/v1/os-migrations?limit=50" /healthcheck; do
    curl -sf -o /dev/null "$base$p" || { echo "api-load.sh: $p does not answer 200" >&2; exit 1; }
done
run_mode noauth
stop_daemon

skip_reason=
if [ "$keystone" -eq 0 ]; then
    skip_reason="--no-keystone"
elif [ ! -f tests/keystone/keystone.sh ]; then
    skip_reason="tests/keystone/keystone.sh is missing"
else
    ks_dir=$top/build-release/keystone-bench
    ks_port=$(free_port)
    # A directory set up for another port cannot be reused.
    if [ -f "$ks_dir/env" ] && ! grep -qx "KS_URL=http://127.0.0.1:$ks_port/v3" "$ks_dir/env"; then
        rm -rf "$ks_dir"
    fi
    if ks_env=$(bash tests/keystone/keystone.sh start "$ks_dir" "$ks_port" 2>"$work/keystone.err"); then
        eval "$ks_env"
        token=$(curl -sS --fail-with-body --max-time 30 -o /dev/null -D - \
            -H "Content-Type: application/json" \
            --data "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\":
                    {\"user\": {\"name\": \"alice\", \"domain\": {\"id\": \"default\"},
                    \"password\": \"$KS_ALICE_PASSWORD\"}}}, \"scope\": {\"project\":
                    {\"name\": \"$KS_PROJECT\", \"domain\": {\"id\": \"default\"}}}}}" \
            "$KS_URL/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p') || true
        if [ -z "$token" ]; then
            skip_reason="could not get a token from Keystone"
        else
            # alice is an admin of the demo project, which this daemon takes
            # for its admin project (roles.admin_project_name): with the
            # default ("admin") her token would be answered 403.
            start_daemon keystone "keystone = {
    auth_url = \"$KS_URL\";
    username = \"$KS_SERVICE_USER\";
    password = \"$KS_SERVICE_PASSWORD\";
    project_name = \"$KS_SERVICE_PROJECT\";
};
roles = {
    admin_project_name = \"$KS_PROJECT\";
    admin_project_domain_name = \"Default\";
};"
            code=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/os-migrations?limit=50")
            [ "$code" = 401 ] ||
                { echo "api-load.sh: keystone mode answers $code without a token" >&2; exit 1; }
            # The first request validates the token with Keystone and fills
            # the cache; every one measured after it is a cache hit.
            for p in "/v1/os-migrations/$show_uuid" "/v1/os-migrations?limit=50"; do
                curl -sf -o /dev/null -H "X-Auth-Token: $token" "$base$p" ||
                    { echo "api-load.sh: $p with a token does not answer 200" >&2; exit 1; }
            done
            run_mode keystone -H "X-Auth-Token: $token"
            stop_daemon
        fi
    else
        skip_reason="Keystone did not start: $(tail -n 1 "$work/keystone.err")"
    fi
fi

echo
echo "API load: $records records, wrk -t2 -c32 -d${seconds}s --latency over loopback, $(nproc) cores, $(date +%F)"
echo
echo "| auth     | query  | req/s    | p50 ms | p99 ms | errors | peak RSS MiB | target   |"
echo "|----------|--------|----------|--------|--------|--------|--------------|----------|"
printf '%s\n' "${rows[@]}"
if [ -n "$skip_reason" ]; then
    printf '| %-8s | %-6s | %-72s |\n' keystone all "skipped: $skip_reason"
fi
echo
echo "Targets: show >= $T_SHOW req/s, list >= $T_LIST req/s, p99 < $T_P99_MS ms, 0 errors,"
echo "peak RSS < $T_RSS_MIB MiB (the healthcheck row: p99, errors and RSS only)."
echo "Peak RSS: the daemon's VmHWM after that row (it only grows within a mode)."
for v in "${verdicts[@]}"; do
    [ "$v" = met ] || { echo "Result: some targets NOT met"; exit 0; }
done
echo "Result: every target met"
