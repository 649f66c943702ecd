#!/usr/bin/env bash
# test-plugin.sh - runs the devstack plugin's phases for real, without devstack.
#
#   bash devstack/test-plugin.sh
#
# Stand-ins replace devstack's functions (is_service_enabled, run_process and
# stop_process as a background process with a pid file, install_package and
# the Keystone helpers only record their calls) and its variables (all paths
# under a temporary directory). Everything else is real: the cmake build
# (MIGRATIOND_TEST_BUILD_DIR reuses an existing build directory instead of a
# fresh one in the temporary directory), the configuration file written from
# the MIGRATIOND_* variables and checked with migrationd --check-config, the
# daemon on simulated domains, devstack/exercise.sh against its REST API, the
# supervise.sh fallback (killed daemon restarted), unstack and clean. Needs
# cmake, a compiler, the build's -dev packages, curl and python3 (as
# tests/run-all.sh installs them); runs shellcheck on the scripts when it is
# installed. Prints "devstack: N passed, M failed"; exits 1 on a failure.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/md-devstack.XXXXXX)
log=$work/test.log
calls=$work/calls
passed=0
failed=0
md_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$md_port
SECONDS=0

# Simulated domains: vm-idle is migrated by the test-config phase, vm-uuid
# by UUID, vm-busy never converges. adaptive gives such a guest up on its own
# a few passes in, so the exercises that want another caller (or the
# exercise's timeout) to end it slow its link (slow_busy): its first pass
# then takes 64 simulated seconds, 3.2 s of wall clock at time_scale 20, and
# adaptive decides nothing before its second.
idle_uuid=0b6a8f4e-9a55-4c7e-9d3e-1c2b3a4d5e6f
uuid_uuid=2d8c0a6b-1c77-4e90-8f5a-3e4d5c6b7a81
busy_uuid=1c7b9f5f-0b66-4d8f-8e4f-2d3c4b5e6f70
domains="vm-idle:$idle_uuid:2048:64:0 vm-uuid:$uuid_uuid:1024 vm-busy:$busy_uuid:4096:2048:2048"

# Anything still running at exit is stopped by its pid file, and only that.
cleanup() {
    local f pid
    for f in "$work"/run_process-*.pid "$work"/data/migrationd/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
        fi
    done
    sleep 0.2
    if [ "$failed" -ne 0 ] || [ -n "${MIGRATIOND_TEST_KEEP:-}" ]; then
        echo "devstack: work directory kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    if [ -s "$work/last.out" ]; then
        sed 's/^/       | /' "$work/last.out" | tail -n 25
    fi
}
# check NAME COMMAND...: passes when COMMAND succeeds (its output in last.out).
check() {
    local name=$1
    shift
    if "$@" >"$work/last.out" 2>&1; then ok "$name"; else not_ok "$name"; fi
    cat "$work/last.out" >>"$log"
}

not() { ! "$@"; }
not_running() { ! kill -0 "$1" 2>/dev/null; }

# ---- devstack stand-ins ----------------------------------------------------
is_service_enabled() {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
    done
    return 1
}
enable_service() {
    local s
    for s in "$@"; do
        is_service_enabled "$s" || ENABLED_SERVICES+=",$s"
    done
}
trueorfalse() {
    local default=$1 value=${!2:-}
    case "$value" in
        1 | [yY]es | YES | [tT]rue | TRUE) echo True ;;
        0 | [nN]o | NO | [fF]alse | FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}
echo_summary() { echo ">>> $*"; }
die() {
    local line=$1
    shift
    echo "[ERROR] plugin.sh:$line $*" >&2
    exit 1
}
is_ubuntu() { return 0; }
is_fedora() { return 1; }
install_package() { echo "install_package $*" >>"$calls"; }
sudo() { "$@"; }
get_or_create_user() { echo "get_or_create_user $*" >>"$calls"; echo "id-of-$1"; }
get_or_add_user_project_role() { echo "get_or_add_user_project_role $*" >>"$calls"; echo role-id; }
openstack() { echo "openstack $*" >>"$calls"; echo a-token; }
run_process() {
    local name=$1 cmd=$2
    echo "run_process $name $cmd" >>"$calls"
    # shellcheck disable=SC2086  # devstack's run_process takes one string too
    bash -c "exec $cmd" >>"$work/run_process-$name.log" 2>&1 </dev/null &
    echo $! >"$work/run_process-$name.pid"
}
stop_process() {
    local name=$1 pid
    echo "stop_process $name" >>"$calls"
    pid=$(cat "$work/run_process-$name.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$work/run_process-$name.pid"
}

# What local.conf and stackrc would have set; "$@" are VAR=value overrides.
# shellcheck disable=SC2034  # settings and plugin.sh read these
devstack_env() {
    DEST=$work/opt
    DATA_DIR=$work/data
    LOGDIR=$work/logs
    STACK_USER=$(id -un)
    HOST_IP=127.0.0.1
    SERVICE_HOST=127.0.0.1
    SERVICE_PASSWORD='pa"ss\word'
    SERVICE_PROJECT_NAME=service
    SERVICE_DOMAIN_NAME=Default
    KEYSTONE_SERVICE_URI=http://127.0.0.1/identity
    SERVICE_TIMEOUT=20
    USE_SYSTEMD=True
    ENABLED_SERVICES=mysql,rabbit
    # local.conf's [[local|localrc]] lines for the plugin:
    MIGRATIOND_DIR=$top
    MIGRATIOND_BUILD_DIR=${MIGRATIOND_TEST_BUILD_DIR:-$work/build}
    MIGRATIOND_BIN_DIR=$work/bin
    MIGRATIOND_CONF_DIR=$work/etc/migrationd
    MIGRATIOND_PORT=$md_port
    MIGRATIOND_HYPERVISOR=simulator
    MIGRATIOND_SIMULATOR_DOMAINS=$domains
    MIGRATIOND_PEERS="node-b=127.0.0.2 devstack-dest=127.0.0.3,127.0.0.4,1000"
    MIGRATIOND_SUPERVISOR=systemd
    local kv
    for kv in "$@"; do
        # shellcheck disable=SC2163  # exports the name=value pair as given
        export "$kv"
    done
}

# devstack MODE [PHASE...] [-- VAR=value...]: one stack.sh, unstack.sh or
# clean.sh: settings once, then plugin.sh for each phase, in a subshell with
# errexit and nounset as strict as devstack's own scripts or stricter.
devstack() {
    local mode=$1
    shift
    local -a phases=() vars=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do phases+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    vars=("$@")
    (
        set -o errexit -o nounset
        devstack_env "${vars[@]}"
        # shellcheck source=devstack/settings
        source "$top/devstack/settings"
        if [ ${#phases[@]} -eq 0 ]; then
            # shellcheck source=devstack/plugin.sh
            source "$top/devstack/plugin.sh" "$mode" ""
        fi
        for p in "${phases[@]}"; do
            # shellcheck source=devstack/plugin.sh
            source "$top/devstack/plugin.sh" "$mode" "$p"
        done
    ) 2>&1 | sed -e '/^+/d' # xtrace of plugin.sh, not wanted here
}

healthy() { curl --noproxy '*' -sf -m 5 "$url/healthcheck"; }
conf=$work/etc/migrationd/migrationd.conf
bin=$work/bin/migrationd
piddir=$work/data/migrationd
# exercise VAR=value...: devstack/exercise.sh against the daemon; its status.
exercise() { env MIGRATIOND_URL="$url" "$@" bash "$top/devstack/exercise.sh"; }
# logged MODE...: a devstack run, its output on stdout (for check) and in run.out.
logged() {
    local rc
    devstack "$@" >"$work/run.out"
    rc=$?
    cat "$work/run.out"
    return $rc
}

# ---- settings ---------------------------------------------------------------
settings_value() { # settings_value VAR [VAR=value...]: VAR after settings
    local var=$1
    shift
    # shellcheck source=devstack/settings
    ( devstack_env "$@"; source "$top/devstack/settings"; echo "${!var}" )
}
t_settings_noauth() {
    [ "$(settings_value MIGRATIOND_AUTH_STRATEGY)" = noauth ] &&
        [[ "$(settings_value ENABLED_SERVICES)" == *,migrationd ]]
}
t_settings_keystone() {
    [ "$(settings_value MIGRATIOND_AUTH_STRATEGY ENABLED_SERVICES=key,keystone)" = keystone ]
}
t_settings_port() {
    [ "$(settings_value MIGRATIOND_PORT ENABLED_SERVICES=n-api-meta MIGRATIOND_PORT=)" = 18775 ] &&
        [ "$(settings_value MIGRATIOND_PORT MIGRATIOND_PORT=)" = 8775 ]
}
check "settings: enable_service migrationd, noauth without keystone" t_settings_noauth
check "settings: keystone auth when keystone is enabled" t_settings_keystone
check "settings: port 18775 next to Nova's metadata API (n-api-meta), else 8775" t_settings_port

# ---- stack.sh: every phase ---------------------------------------------------
echo "== stack.sh (pre-install, install, post-config, extra, test-config)"
t_stack() {
    logged stack pre-install install post-config extra test-config -- MIGRATIOND_RUN_EXERCISE=True &&
        cp "$work/run.out" "$work/stack.out"
}
t_conf_content() {
    grep -q 'hypervisor = "simulator";' "$conf" &&
        grep -q "listen = \"127.0.0.1:$md_port\";" "$conf" &&
        grep -q 'auth_strategy = "noauth";' "$conf" &&
        [ "$(grep -c 'ram_mib = ' "$conf")" = 3 ] &&
        grep -q "database = \"$work/data/migrationd/migrationd.db\";" "$conf" &&
        grep -qF '{ name = "node-b"; address = "127.0.0.2"; }' "$conf" &&
        grep -qF '{ name = "devstack-dest"; address = "127.0.0.3"; migrate_address = "127.0.0.4"; bandwidth_mibps = 1000; }' "$conf" &&
        ! grep -q '^keystone' "$conf" &&
        [ "$(stat -c %a "$conf")" = 640 ]
}
t_health_sim() { healthy | grep -q '"hypervisor":"simulator"'; }
check "stack.sh: every phase succeeds" t_stack
check "install: the build packages through install_package" \
    grep -q "install_package build-essential cmake pkg-config libconfig-dev libsqlite3-dev" "$calls"
check "install: the binary in MIGRATIOND_BIN_DIR runs" "$bin" --version
check "post-config: the file passes migrationd --check-config" "$bin" --check-config "$conf"
check "post-config: the file says what the variables say (mode 640)" t_conf_content
check "post-config: no Keystone user without keystone" not grep -q get_or_create_user "$calls"
check "extra: run_process migrationd \"\$MIGRATIOND_BIN --config \$MIGRATIOND_CONF\"" \
    grep -qF "run_process migrationd $bin --config $conf" "$calls"
check "extra: the daemon answers GET /healthcheck (simulator)" t_health_sim
check "test-config: exercise.sh migrated vm-idle to completed" \
    grep -q "exercise: PASS: migration .* ended completed" "$work/stack.out"

# ---- exercise.sh against the running daemon --------------------------------
t_ex_uuid() { exercise MIGRATIOND_INSTANCE=$uuid_uuid MIGRATIOND_DEST=node-b; }
# ex_cancelled VAR=value...: exercise.sh on vm-busy while another caller
# aborts the migration (DELETE) once it runs; exercise's status.
slow_busy='MIGRATIOND_OPTIONS={"bandwidth_mibps": 64}'
ex_cancelled() {
    local pid rc=0 u=
    exercise MIGRATIOND_INSTANCE=vm-busy MIGRATIOND_DEST=node-b MIGRATIOND_POLL_INTERVAL=0.5 \
        "$slow_busy" "$@" >"$work/cancel.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do
        u=$(curl --noproxy '*' -sf -m 5 "$url/v1/os-migrations?status=running" |
            python3 -c 'import json,sys; m=json.load(sys.stdin)["migrations"]; print(m[0]["uuid"] if m else "")')
        [ -n "$u" ] && break
        sleep 0.2
    done
    [ -n "$u" ] && curl --noproxy '*' -sf -m 5 -X DELETE "$url/v1/os-migrations/$u" >/dev/null
    wait "$pid" || rc=$?
    cat "$work/cancel.out"
    return "$rc"
}
t_ex_expected() { ex_cancelled MIGRATIOND_EXPECT=cancelled; }
t_ex_unexpected() {
    ex_cancelled
    [ $? = 1 ] && grep -q 'ended cancelled' "$work/cancel.out"
}
t_ex_unknown() { # 404 at the POST (the node has no such domain): an API error, no record
    local rc=0
    exercise MIGRATIOND_INSTANCE=no-such-vm MIGRATIOND_DEST=node-b >"$work/ex.out" 2>&1 || rc=$?
    cat "$work/ex.out"
    [ "$rc" = 2 ] && grep -q 'HTTP 404' "$work/ex.out"
}
t_ex_timeout() {
    exercise MIGRATIOND_INSTANCE=vm-busy MIGRATIOND_DEST=node-b MIGRATIOND_EXERCISE_TIMEOUT=2 \
        MIGRATIOND_POLL_INTERVAL=0.5 "$slow_busy" >"$work/timeout.out"
    local rc=$?
    cat "$work/timeout.out"
    [ $rc = 3 ] && grep -q 'ended cancelled' "$work/timeout.out"
}
t_ex_usage() {
    exercise MIGRATIOND_INSTANCE=vm-idle
    [ $? = 2 ]
}
check "exercise: by UUID, completed, exit 0" t_ex_uuid
check "exercise: the expected outcome (aborted by another caller, MIGRATIOND_EXPECT=cancelled), exit 0" t_ex_expected
check "exercise: an unexpected outcome (aborted, expect completed), exit 1" t_ex_unexpected
check "exercise: an unknown guest is refused at the POST (404), exit 2" t_ex_unknown
check "exercise: the timeout aborts with DELETE (vm-busy cancelled), exit 3" t_ex_timeout
check "exercise: no MIGRATIOND_DEST is a usage error, exit 2" t_ex_usage
t_ex_unlisted() { # refused with 400 naming the peers of MIGRATIOND_PEERS
    local rc=0
    exercise MIGRATIOND_INSTANCE=vm-idle MIGRATIOND_DEST=node-x >"$work/ex.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && grep -q "node-x" "$work/ex.out" &&
        grep -q 'the configured peers are node-b, devstack-dest' "$work/ex.out"
}
check "exercise: a destination not in MIGRATIOND_PEERS is refused (400 naming the peers), exit 2" t_ex_unlisted

# ---- stack.sh again: the same file, the daemon restarted ---------------------
cp "$conf" "$work/conf.before"
pid1=$(cat "$work/run_process-migrationd.pid")
t_restack() { logged stack install post-config extra; }
t_restarted() { not_running "$pid1" && healthy; }
check "stack.sh again succeeds" t_restack
check "stack.sh again: the same configuration file" cmp "$work/conf.before" "$conf"
check "stack.sh again: the old daemon stopped, a new one healthy" t_restarted

# ---- unstack.sh ------------------------------------------------------------------
pid2=$(cat "$work/run_process-migrationd.pid")
t_unstack() { logged unstack; }
t_gone() {
    grep -q 'stop_process migrationd' "$calls" && not_running "$pid2" && ! healthy
}
check "unstack.sh succeeds" t_unstack
check "unstack: stop_process migrationd, the daemon is gone" t_gone

# ---- without systemd: supervise.sh ------------------------------------------
echo "== stack.sh without systemd (supervise.sh)"
t_bg_stack() { logged stack post-config extra -- MIGRATIOND_SUPERVISOR=background; }
t_bg_running() {
    spid=$(cat "$piddir/migrationd-supervisor.pid") && dpid=$(cat "$piddir/migrationd.pid") &&
        kill -0 "$spid" && kill -0 "$dpid" && healthy
}
t_bg_restarted() {
    local new
    kill -KILL "$dpid" || return 1
    for _ in $(seq 1 50); do
        new=$(cat "$piddir/migrationd.pid" 2>/dev/null)
        if [ -n "$new" ] && [ "$new" != "$dpid" ] && healthy >/dev/null 2>&1; then
            echo "pid $dpid killed, restarted as pid $new"
            dpid=$new
            return 0
        fi
        sleep 0.2
    done
    return 1
}
t_bg_records() {
    curl --noproxy '*' -sf -m 5 "$url/v1/os-migrations" |
        python3 -c 'import json,sys; n=len(json.load(sys.stdin)["migrations"]); print(n); sys.exit(n != 5)'
}
t_bg_unstack() {
    logged unstack -- MIGRATIOND_SUPERVISOR=background &&
        not_running "$spid" && not_running "$dpid" &&
        [ ! -e "$piddir/migrationd.pid" ] && [ ! -e "$piddir/migrationd-supervisor.pid" ]
}
spid=
dpid=
check "background: stack.sh succeeds" t_bg_stack
check "background: supervisor and daemon running (pid files), healthy" t_bg_running
check "background: a killed daemon is restarted" t_bg_restarted
check "background: the 5 records of the first daemon are still listed" t_bg_records
check "background: unstack stops supervisor and daemon, removes the pid files" t_bg_unstack

# ---- an IPv6 listen address -----------------------------------------------
t_ipv6() {
    logged stack post-config extra -- MIGRATIOND_SUPERVISOR=background MIGRATIOND_LISTEN_HOST=::1 &&
        grep -q "listen = \"\[::1\]:$md_port\";" "$conf" &&
        curl -g --noproxy '*' -sf -m 5 "http://[::1]:$md_port/healthcheck" &&
        logged unstack -- MIGRATIOND_SUPERVISOR=background
}
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    check "ipv6: MIGRATIOND_LISTEN_HOST=::1 listens on [::1]:PORT, healthy" t_ipv6
else
    echo "skip - ipv6: no ::1 on this machine"
fi

# ---- post-config with Keystone; invalid settings fail the stack -------------
kconf=$work/etc-keystone/migrationd.conf
t_keystone() { logged stack post-config -- ENABLED_SERVICES=keystone MIGRATIOND_CONF_DIR="$work/etc-keystone"; }
t_keystone_user() {
    grep -qF 'get_or_create_user migrationd pa"ss\word Default' "$calls" &&
        grep -qF 'get_or_add_user_project_role admin id-of-migrationd service Default Default' "$calls"
}
t_keystone_conf() {
    grep -q 'auth_strategy = "keystone";' "$kconf" &&
        grep -qF 'password = "pa\"ss\\word";' "$kconf" &&
        grep -qF 'username = "migrationd";' "$kconf" &&
        grep -qF 'auth_url = "http://127.0.0.1/identity/v3";' "$kconf" &&
        grep -qF 'write = [ "admin" ];' "$kconf" &&
        "$bin" --check-config "$kconf"
}
t_bad() { # t_bad PATTERN VAR=value: post-config fails and prints PATTERN
    local pattern=$1
    shift
    ! logged stack post-config -- MIGRATIOND_CONF_DIR="$work/etc-bad" "$@" &&
        grep -q "$pattern" "$work/run.out"
}
check "keystone: post-config succeeds" t_keystone
check "keystone: service user migrationd, admin on the service project" t_keystone_user
check "keystone: auth_strategy keystone with the service credentials; check-config passes" t_keystone_conf
check "invalid: MIGRATIOND_POLICY=bogus fails post-config, naming the key" \
    t_bad live_migration_policy MIGRATIOND_POLICY=bogus
check "invalid: a malformed MIGRATIOND_PEERS entry fails post-config" \
    t_bad 'is not NAME=ADDRESS' "MIGRATIOND_PEERS=node-b"
check "invalid: MIGRATIOND_PEERS naming a peer twice fails post-config, naming the key" \
    t_bad 'peers\[1\].name' "MIGRATIOND_PEERS=node-b=10.0.0.2 node-b=10.0.0.3"
check "invalid: a malformed MIGRATIOND_SIMULATOR_DOMAINS entry fails post-config" \
    t_bad 'not a whole number' "MIGRATIOND_SIMULATOR_DOMAINS=vm-x:$idle_uuid:lots"

# ---- clean.sh --------------------------------------------------------------------
t_clean() { logged clean; }
t_cleaned() {
    [ ! -e "$conf" ] && [ ! -e "$work/etc/migrationd" ] && [ ! -e "$piddir" ] && [ ! -e "$bin" ]
}
check "clean.sh succeeds" t_clean
check "clean: configuration, data directory and binary removed" t_cleaned

# ---- shellcheck ----------------------------------------------------------------
if command -v shellcheck >/dev/null; then
    check "shellcheck: plugin.sh settings exercise.sh supervise.sh test-plugin.sh" \
        bash -c "cd '$top' && shellcheck -x devstack/plugin.sh devstack/settings devstack/exercise.sh \
                 devstack/supervise.sh devstack/test-plugin.sh"
else
    echo "skip - shellcheck is not installed"
fi

echo "devstack: $passed passed, $failed failed (${SECONDS}s)"
[ "$failed" -eq 0 ]
