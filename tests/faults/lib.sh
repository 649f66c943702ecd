# lib.sh - what every fault case shares: a live migrationd on the simulator, its API, checks.
#
# A case is a bash script tests/faults/case-*.sh that sources this file,
# starts one or more daemons with fault_start, injects its fault and checks
# the outcome with fault_expect*. It exits 0 when every check held; the
# first failed check prints what was expected and seen and exits 1.
# run.sh runs every case with MD_BUILD set to the build directory.
#
# Everything a case creates lives in $FAULT_DIR (removed at exit, as are the
# daemons fault_start started). Cases run as root (the tmpfs case mounts).

set -euo pipefail

: "${MD_BUILD:?set MD_BUILD to a build directory with migrationd}"
FAULT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAULT_DIR=$(mktemp -d /tmp/md-fault.XXXXXX)
FAULT_NAME=$(basename "$0" .sh)
FAULT_PIDS=()
FAULT_CLEANUPS=()

fault_cleanup() {
    local rc=$?
    for c in "${FAULT_CLEANUPS[@]}"; do eval "$c" || true; done
    for p in "${FAULT_PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    if [ "$rc" -ne 0 ] && [ -f "$FAULT_DIR/daemon.log" ]; then
        echo "--- $FAULT_NAME: last lines of the daemon's log" >&2
        tail -"${FAULT_LOG_LINES:-30}" "$FAULT_DIR/daemon.log" >&2
    fi
    rm -rf "$FAULT_DIR"
    exit "$rc"
}
trap fault_cleanup EXIT

# Runs a shell command at exit, before the daemons are stopped.
fault_at_exit() { FAULT_CLEANUPS+=("$1"); }

fault_fail() {
    echo "FAIL $FAULT_NAME: $*" >&2
    exit 1
}

fault_log() { echo "  $FAULT_NAME: $*"; }

# A free TCP port on loopback.
fault_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# fault_domains N [RAM_MIB [WORKING_SET_MIB [DIRTY_MIBPS]]] prints the
# simulator's domains list: vm-0 .. vm-(N-1), with uuids made from the index.
fault_domains() {
    local n=$1 ram=${2:-1024} ws=${3:-0} dirty=${4:-0} i sep=""
    printf '('
    for ((i = 0; i < n; i++)); do
        printf '%s{ name = "vm-%d"; uuid = "%08x-0000-4000-8000-000000000000"; ram_mib = %d; working_set_mib = %d; dirty_mibps = %d; }' \
            "$sep" "$i" "$i" "$ram" "$ws" "$dirty"
        sep=", "
    done
    printf ')'
}

# The uuid of simulated domain vm-I.
fault_domain_uuid() { printf '%08x-0000-4000-8000-000000000000' "$1"; }

# fault_domains_mixed N SEED LINK_MIBPS prints a simulator domains list like
# fault_domains, of guests of mixed sizes: RAM 1 to 8 GiB, a working set of
# 1/8 to 1/2 of it, a quarter of them idle (dirty rate 0) and the others
# dirtying 1 MiB/s to 2 x LINK_MIBPS. The same SEED gives the same guests on
# any machine: the numbers come from an LCG in bash's own arithmetic (the
# constants of C's example rand()), not from awk's or Python's generator,
# whose sequences differ between implementations and versions.
fault_domains_mixed() {
    local n=$1 s=$2 link=$3 i ram ws dirty sep=""
    printf '('
    for ((i = 0; i < n; i++)); do
        s=$(((s * 1103515245 + 12345) % 2147483648))
        ram=$((1024 * (1 + (s >> 16) % 8)))
        s=$(((s * 1103515245 + 12345) % 2147483648))
        ws=$((ram * (2 + (s >> 16) % 7) / 16))
        s=$(((s * 1103515245 + 12345) % 2147483648))
        dirty=0
        if (((s >> 16) % 4 != 0)); then
            s=$(((s * 1103515245 + 12345) % 2147483648))
            dirty=$((1 + (s >> 16) % (2 * link)))
        fi
        printf '%s{ name = "vm-%d"; uuid = "%08x-0000-4000-8000-000000000000"; ram_mib = %d; working_set_mib = %d; dirty_mibps = %d; }' \
            "$sep" "$i" "$i" "$ram" "$ws" "$dirty"
        sep=", "
    done
    printf ')'
}

# fault_peers N BANDWIDTH_MIBPS prints a peers section of N simulated
# (at most 8) destinations node-b, node-c, ... at 127.0.0.2, 127.0.0.3, ..., each link
# BANDWIDTH_MIBPS (the simulator's link to that peer, and the drain
# planner's).
fault_peers() {
    local n=$1 bw=$2 i sep="" names=(b c d e f g h i)
    printf 'peers = ('
    for ((i = 0; i < n; i++)); do
        printf '%s{ name = "node-%s"; address = "127.0.0.%d"; bandwidth_mibps = %d; }' \
            "$sep" "${names[i]}" $((2 + i)) "$bw"
        sep=", "
    done
    printf ');'
}

# fault_config FILE [SECTIONS...] writes a configuration: a simulator node
# "node-a" with its database in $FAULT_DIR and an API on FAULT_PORT (set
# it first, e.g. FAULT_PORT=$(fault_port)), plus the given sections, each a
# whole libconfig group ("service: { ... };"). Sections given replace the
# defaults below for the same name, so a case that passes "service: {...}"
# must name database and hypervisor itself (use $FAULT_DIR/m.db).
fault_config() {
    local file=$1
    shift
    local service="service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/m.db\"; max_concurrent_live_migrations = 2; };"
    local api="api: { listen = \"127.0.0.1:$FAULT_PORT\"; };"
    local sim="simulator: { time_scale = 1.0; link_mibps = 1024; domains = $(fault_domains 8); };"
    local extra=()
    for s in "$@"; do
        case "$s" in
        service:*) service=$s ;;
        api:*) api=$s ;;
        simulator:*) sim=$s ;;
        *) extra+=("$s") ;;
        esac
    done
    { echo "$service"; echo "$api"; echo "$sim"; printf '%s\n' "${extra[@]}"; } >"$file"
}

# fault_start CONFIG starts migrationd on CONFIG (log in $FAULT_DIR/daemon.log,
# appended, so that a restart keeps the earlier lines) and waits until its
# /healthcheck answers; FAULT_PID is its pid.
fault_start() {
    local conf=$1
    "$MD_BUILD/migrationd" --config "$conf" 2>>"$FAULT_DIR/daemon.log" &
    FAULT_PID=$!
    FAULT_PIDS+=("$FAULT_PID")
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$FAULT_PORT/healthcheck"; then
            return 0
        fi
        kill -0 "$FAULT_PID" 2>/dev/null || fault_fail "migrationd exited at start"
        sleep 0.1
    done
    fault_fail "migrationd did not answer within 10 s"
}

# fault_api METHOD PATH [JSON] sends one request to the daemon of FAULT_PORT
# and sets FAULT_CODE (the HTTP status, 000 when none came) and FAULT_BODY.
# FAULT_HEADERS (an array of "Name: value") is sent too when set.
fault_api() {
    local method=$1 path=$2 body=${3:-} args=() h
    args=(-s -o "$FAULT_DIR/body" -w '%{http_code}' --max-time "${FAULT_MAX_TIME:-10}" -X "$method")
    for h in "${FAULT_HEADERS[@]+"${FAULT_HEADERS[@]}"}"; do args+=(-H "$h"); done
    if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
    FAULT_CODE=$(curl "${args[@]}" "http://127.0.0.1:$FAULT_PORT$path" || true)
    FAULT_BODY=$(cat "$FAULT_DIR/body" 2>/dev/null || true)
    rm -f "$FAULT_DIR/body"
}

# fault_json EXPR reads FAULT_BODY as JSON and prints the Python expression
# EXPR of it (the document is `j`); strings print without quotes.
fault_json() {
    FAULT_BODY_JSON=$FAULT_BODY python3 -c '
import json, os, sys
j = json.loads(os.environ["FAULT_BODY_JSON"])
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# fault_migrate INDEX [EXTRA_JSON_FIELDS] starts migrating vm-INDEX to node-b
# through /v1 and sets FAULT_UUID; fails the case unless the answer is 202.
fault_migrate() {
    local extra=${2:+, $2}
    fault_api POST /v1/os-migrations "{\"migration\": {\"instance_name\": \"vm-$1\", \"dest_compute\": \"node-b\"$extra}}"
    [ "$FAULT_CODE" = 202 ] || fault_fail "POST for vm-$1: expected 202, got $FAULT_CODE $FAULT_BODY"
    FAULT_UUID=$(fault_json 'j["migration"]["uuid"]')
}

# fault_status UUID prints the migration's status ("" when the GET fails).
fault_status() {
    fault_api GET "/v1/os-migrations/$1"
    if [ "$FAULT_CODE" = 200 ]; then fault_json 'j["migration"]["status"]'; fi
}

# fault_wait_status UUID TIMEOUT_S STATUS... waits until the migration is in
# one of the STATUSes; fails the case at the timeout.
fault_wait_status() {
    local uuid=$1 timeout=$2 s
    shift 2
    local deadline=$((SECONDS + timeout))
    while [ $SECONDS -le $deadline ]; do
        s=$(fault_status "$uuid")
        for want in "$@"; do [ "$s" = "$want" ] && return 0; done
        sleep 0.2
    done
    fault_fail "migration $uuid: expected status $* within ${timeout}s, last seen '$s'"
}

# fault_expect_eq WHAT EXPECTED ACTUAL
fault_expect_eq() {
    [ "$2" = "$3" ] || fault_fail "$1: expected '$2', got '$3'"
}

# fault_expect_code EXPECTED CONTEXT: checks FAULT_CODE after fault_api.
fault_expect_code() {
    [ "$FAULT_CODE" = "$1" ] || fault_fail "$2: expected HTTP $1, got $FAULT_CODE $FAULT_BODY"
}

# fault_count_records prints how many records GET /v1/os-migrations lists.
fault_count_records() {
    fault_api GET "/v1/os-migrations"
    [ "$FAULT_CODE" = 200 ] || fault_fail "list: HTTP $FAULT_CODE $FAULT_BODY"
    fault_json 'len(j["migrations"])'
}
