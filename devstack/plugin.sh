#!/usr/bin/env bash
# devstack/plugin.sh - the migrationd devstack plugin.
#
# devstack sources this file (after devstack/settings) with the mode in $1
# and, for "stack", the phase in $2:
#
#   stack install      build deps, cmake build, the binary into MIGRATIOND_BIN_DIR
#   stack post-config  the Keystone service user (with Keystone), MIGRATIOND_CONF
#                      written from the MIGRATIOND_* variables and checked
#                      with "migrationd --check-config" (an invalid file fails
#                      stack.sh)
#   stack extra        start: run_process (devstack@migrationd.service) or the
#                      supervise.sh loop, then wait for GET /healthcheck
#   stack test-config  devstack/exercise.sh when MIGRATIOND_RUN_EXERCISE=True
#   unstack            stop the daemon
#   clean              stop, remove the data directory, configuration, binary
#
# It uses devstack's functions (is_service_enabled, install_package,
# is_ubuntu, is_fedora, get_or_create_user, get_or_add_user_project_role,
# run_process, stop_process, die, echo_summary) and variables (DEST, DATA_DIR,
# STACK_USER, HOST_IP, SERVICE_PASSWORD, SERVICE_PROJECT_NAME,
# SERVICE_DOMAIN_NAME, KEYSTONE_SERVICE_URI, SERVICE_TIMEOUT, LOGDIR).
# devstack/test-plugin.sh runs every phase with stand-ins for them.
# shellcheck shell=bash

_XTRACE_MIGRATIOND=$(set +o | grep xtrace)
set -o xtrace

MIGRATIOND_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# What the build needs (tests/run-all.sh's list without the test-only
# packages). The Debian/Ubuntu list is the tested one.
MIGRATIOND_DEB_PACKAGES="build-essential cmake pkg-config libconfig-dev libsqlite3-dev
    libvirt-dev libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev curl"
MIGRATIOND_RPM_PACKAGES="gcc make cmake pkgconf-pkg-config libconfig-devel sqlite-devel
    libvirt-devel libmicrohttpd-devel json-c-devel libcurl-devel curl"

# Defaults that need what devstack only knows after settings were read
# (HOST_IP, SERVICE_PASSWORD, KEYSTONE_SERVICE_URI, SERVICE_TIMEOUT).
function _migrationd_defaults {
    local host port
    if [[ -z "${MIGRATIOND_LISTEN:-}" ]]; then
        host=${MIGRATIOND_LISTEN_HOST:-}
        if [[ -z "$host" ]]; then
            if [[ "$MIGRATIOND_AUTH_STRATEGY" != "keystone" ]]; then
                host=127.0.0.1
            elif [[ "${SERVICE_IP_VERSION:-4}" == "6" && -n "${HOST_IPV6:-}" ]]; then
                host=$HOST_IPV6
            else
                host=${HOST_IP:-127.0.0.1}
            fi
        fi
        if [[ "$host" == *:* && "$host" != \[* ]]; then
            host="[$host]"
        fi
        MIGRATIOND_LISTEN="$host:$MIGRATIOND_PORT"
    fi
    if [[ -z "${MIGRATIOND_URL:-}" ]]; then
        host=${MIGRATIOND_LISTEN%:*}
        port=${MIGRATIOND_LISTEN##*:}
        case "$host" in
            0.0.0.0) host=127.0.0.1 ;;
            "[::]") host="[::1]" ;;
        esac
        MIGRATIOND_URL="http://$host:$port"
    fi
    MIGRATIOND_SERVICE_PASSWORD=${MIGRATIOND_SERVICE_PASSWORD:-${SERVICE_PASSWORD:-}}
    MIGRATIOND_AUTH_URL=${MIGRATIOND_AUTH_URL:-${KEYSTONE_SERVICE_URI:-http://127.0.0.1/identity}/v3}
    MIGRATIOND_START_TIMEOUT=${MIGRATIOND_START_TIMEOUT:-${SERVICE_TIMEOUT:-60}}
}

# A libconfig string: "..." with backslashes and double quotes escaped.
function _migrationd_str {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# A libconfig boolean from devstack's True/False.
function _migrationd_bool {
    if [[ "$1" == "True" ]]; then echo true; else echo false; fi
}

# A libconfig array of strings from a space-separated list.
function _migrationd_list {
    local out="" item
    local -a items
    read -r -a items <<<"$1"
    for item in "${items[@]}"; do
        out+="${out:+, }$(_migrationd_str "$item")"
    done
    echo "[ $out ]"
}

# The simulator's domains list from MIGRATIOND_SIMULATOR_DOMAINS
# (NAME:UUID:RAM_MIB[:WORKING_SET_MIB[:DIRTY_MIBPS]], space-separated).
function _migrationd_sim_domains {
    local spec name uuid ram ws dirty extra n
    local -a specs
    local out=""
    read -r -a specs <<<"$MIGRATIOND_SIMULATOR_DOMAINS"
    for spec in "${specs[@]}"; do
        IFS=: read -r name uuid ram ws dirty extra <<<"$spec"
        ws=${ws:-0}
        dirty=${dirty:-0}
        if [[ -z "$name" || -z "$uuid" || -n "$extra" ]]; then
            die $LINENO "MIGRATIOND_SIMULATOR_DOMAINS: \"$spec\" is not NAME:UUID:RAM_MIB[:WORKING_SET_MIB[:DIRTY_MIBPS]]"
        fi
        for n in "$ram" "$ws" "$dirty"; do
            if [[ ! "$n" =~ ^[0-9]+$ ]]; then
                die $LINENO "MIGRATIOND_SIMULATOR_DOMAINS: \"$spec\": \"$n\" is not a whole number of MiB (or MiB/s)"
            fi
        done
        out+="${out:+,
}        { name = $(_migrationd_str "$name"); uuid = $(_migrationd_str "$uuid");
          ram_mib = $ram; working_set_mib = $ws; dirty_mibps = $dirty; }"
    done
    if [[ -z "$out" ]]; then
        echo "( )"
    else
        printf '(\n%s\n    )\n' "$out"
    fi
}

# The top-level peers list from MIGRATIOND_PEERS
# (NAME=ADDRESS[,MIGRATE_ADDRESS[,BANDWIDTH_MIBPS]], space-separated); nothing
# when it is empty (any destination, which the daemon warns about).
function _migrationd_peers {
    local spec name rest address migrate bandwidth extra
    local -a specs
    local out=""
    read -r -a specs <<<"$MIGRATIOND_PEERS"
    for spec in "${specs[@]}"; do
        name=${spec%%=*}
        rest=${spec#*=}
        IFS=, read -r address migrate bandwidth extra <<<"$rest"
        if [[ "$spec" != *=* || -z "$name" || -z "$address" || -n "$extra" ]]; then
            die $LINENO "MIGRATIOND_PEERS: \"$spec\" is not NAME=ADDRESS[,MIGRATE_ADDRESS[,BANDWIDTH_MIBPS]]"
        fi
        if [[ -n "$bandwidth" && ! "$bandwidth" =~ ^[0-9]+$ ]]; then
            die $LINENO "MIGRATIOND_PEERS: \"$spec\": \"$bandwidth\" is not a whole number of MiB/s"
        fi
        out+="${out:+,
}    { name = $(_migrationd_str "$name"); address = $(_migrationd_str "$address");"
        if [[ -n "$migrate" ]]; then
            out+=" migrate_address = $(_migrationd_str "$migrate");"
        fi
        if [[ -n "$bandwidth" ]]; then
            out+=" bandwidth_mibps = $bandwidth;"
        fi
        out+=" }"
    done
    if [[ -n "$out" ]]; then
        printf '\n# The destinations this node may migrate to (MIGRATIOND_PEERS).\npeers = (\n%s\n);\n' \
            "$out"
    fi
}

# The configuration file's text, on stdout.
function _migrationd_conf_text {
    cat <<EOF
# migrationd.conf - written by the migrationd devstack plugin (devstack/plugin.sh)
# from the MIGRATIOND_* variables of local.conf, again at every stack.sh: edit
# local.conf, not this file. etc/migrationd.conf documents every option.

service = {
    max_concurrent_live_migrations = $MIGRATIOND_MAX_CONCURRENT;
    database = $(_migrationd_str "$MIGRATIOND_DATABASE");
EOF
    if [[ -n "$MIGRATIOND_NODE_NAME" ]]; then
        echo "    host = $(_migrationd_str "$MIGRATIOND_NODE_NAME");"
    fi
    cat <<EOF
    log_level = $(_migrationd_str "$MIGRATIOND_LOG_LEVEL");
    hypervisor = $(_migrationd_str "$MIGRATIOND_HYPERVISOR");
};

api = {
    listen = $(_migrationd_str "$MIGRATIOND_LISTEN");
    auth_strategy = $(_migrationd_str "$MIGRATIOND_AUTH_STRATEGY");
    allow_insecure_noauth = $(_migrationd_bool "$MIGRATIOND_ALLOW_INSECURE_NOAUTH");
};
EOF
    if [[ "$MIGRATIOND_AUTH_STRATEGY" == "keystone" ]]; then
        cat <<EOF

keystone = {
    auth_url = $(_migrationd_str "$MIGRATIOND_AUTH_URL");
    username = $(_migrationd_str "$MIGRATIOND_SERVICE_USER");
    password = $(_migrationd_str "$MIGRATIOND_SERVICE_PASSWORD");
    project_name = $(_migrationd_str "${SERVICE_PROJECT_NAME:-service}");
    user_domain_name = $(_migrationd_str "${SERVICE_DOMAIN_NAME:-Default}");
    project_domain_name = $(_migrationd_str "${SERVICE_DOMAIN_NAME:-Default}");
};

roles = {
    read = $(_migrationd_list "$MIGRATIOND_READ_ROLES");
    write = $(_migrationd_list "$MIGRATIOND_WRITE_ROLES");
};
EOF
    fi
    cat <<EOF

libvirt = {
    uri = $(_migrationd_str "$MIGRATIOND_LIBVIRT_URI");
    live_migration_scheme = $(_migrationd_str "$MIGRATIOND_SCHEME");
    live_migration_downtime = $MIGRATIOND_DOWNTIME;
    live_migration_completion_timeout = $MIGRATIOND_COMPLETION_TIMEOUT;
    live_migration_progress_timeout = $MIGRATIOND_PROGRESS_TIMEOUT;
    live_migration_timeout_action = $(_migrationd_str "$MIGRATIOND_TIMEOUT_ACTION");
    live_migration_permit_post_copy = $(_migrationd_bool "$MIGRATIOND_PERMIT_POST_COPY");
    live_migration_permit_auto_converge = $(_migrationd_bool "$MIGRATIOND_PERMIT_AUTO_CONVERGE");
    live_migration_bandwidth = $MIGRATIOND_BANDWIDTH;
    live_migration_with_native_tls = $(_migrationd_bool "$MIGRATIOND_NATIVE_TLS");
    live_migration_policy = $(_migrationd_str "$MIGRATIOND_POLICY");
};
EOF
    _migrationd_peers
    if [[ "$MIGRATIOND_HYPERVISOR" == "simulator" || -n "$MIGRATIOND_SIMULATOR_DOMAINS" ]]; then
        cat <<EOF

# The simulator never migrates, or even looks at, a real guest.
simulator = {
    time_scale = $MIGRATIOND_SIMULATOR_TIME_SCALE;
    link_mibps = $MIGRATIOND_SIMULATOR_LINK_MIBPS;
    domains = $(_migrationd_sim_domains);
};
EOF
    fi
}

# stack install: build dependencies, the build, the binary.
function install_migrationd {
    if is_ubuntu; then
        # shellcheck disable=SC2086  # a list of package names
        install_package $MIGRATIOND_DEB_PACKAGES
    elif is_fedora; then
        # shellcheck disable=SC2086
        install_package $MIGRATIOND_RPM_PACKAGES
    else
        die $LINENO "migrationd: no list of build packages for this distribution"
    fi
    # Configure only a new build directory: an existing one keeps the
    # options it was configured with and is built incrementally.
    if [[ ! -f "$MIGRATIOND_BUILD_DIR/CMakeCache.txt" ]]; then
        cmake -S "$MIGRATIOND_DIR" -B "$MIGRATIOND_BUILD_DIR" \
            -DCMAKE_BUILD_TYPE="$MIGRATIOND_BUILD_TYPE" \
            -DMIGRATIOND_TESTS=OFF -DMIGRATIOND_GUEST=OFF
    fi
    cmake --build "$MIGRATIOND_BUILD_DIR" --target migrationd -j "$(nproc)"
    sudo install -d -m 0755 "$MIGRATIOND_BIN_DIR"
    sudo install -m 0755 "$MIGRATIOND_BUILD_DIR/migrationd" "$MIGRATIOND_BIN"
}

# stack post-config: the Keystone service user, the configuration file.
function configure_migrationd {
    local tmp conf_dir user_id
    _migrationd_defaults

    if [[ "$MIGRATIOND_AUTH_STRATEGY" == "keystone" ]]; then
        if [[ -z "$MIGRATIOND_SERVICE_PASSWORD" ]]; then
            die $LINENO "migrationd: keystone auth needs MIGRATIOND_SERVICE_PASSWORD or SERVICE_PASSWORD"
        fi
        # Where Keystone runs, the service user (validates tokens) is made
        # here; a compute node of a multinode devstack relies on the
        # controller's stack.sh having made it (enable the plugin there too).
        if is_service_enabled keystone; then
            user_id=$(get_or_create_user "$MIGRATIOND_SERVICE_USER" \
                "$MIGRATIOND_SERVICE_PASSWORD" "$SERVICE_DOMAIN_NAME")
            get_or_add_user_project_role "$MIGRATIOND_SERVICE_ROLE" "$user_id" \
                "$SERVICE_PROJECT_NAME" "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME"
        fi
    fi

    # Checked here, in this shell, so that a bad entry stops stack.sh (the
    # same call inside the file's text below could only end a subshell).
    _migrationd_sim_domains >/dev/null

    conf_dir=$(dirname "$MIGRATIOND_CONF")
    sudo install -d -o "$STACK_USER" -m 0755 "$conf_dir"
    sudo install -d -o "$STACK_USER" -m 0750 "$MIGRATIOND_DATA_DIR"
    sudo install -d -o "$STACK_USER" -m 0750 "$(dirname "$MIGRATIOND_DATABASE")"

    # The file holds the service password: no trace while it is written.
    local xtrace
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    tmp=$(mktemp)
    _migrationd_conf_text >"$tmp"
    sudo install -o "$STACK_USER" -m 0640 "$tmp" "$MIGRATIOND_CONF"
    rm -f "$tmp"
    $xtrace

    if ! "$MIGRATIOND_BIN" --check-config "$MIGRATIOND_CONF"; then
        die $LINENO "migrationd: $MIGRATIOND_CONF is invalid (see above); check the MIGRATIOND_* variables in local.conf"
    fi
}

# True when pid $1 runs a command line that contains $2.
function _migrationd_pid_runs {
    local pid=$1 what=$2 cmdline
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ "$cmdline" == *"$what"* ]]
}

function _migrationd_pidfiles {
    MIGRATIOND_SUPERVISOR_PIDFILE=$MIGRATIOND_DATA_DIR/migrationd-supervisor.pid
    MIGRATIOND_PIDFILE=$MIGRATIOND_DATA_DIR/migrationd.pid
    MIGRATIOND_LOG=${LOGDIR:-$MIGRATIOND_DATA_DIR}/migrationd.log
}

# Without systemd: supervise.sh keeps the daemon running.
function _migrationd_start_background {
    local pid
    _migrationd_pidfiles
    _migrationd_stop_background
    mkdir -p "$(dirname "$MIGRATIOND_LOG")"
    # setsid + nohup: the supervisor outlives stack.sh and its terminal.
    setsid nohup bash "$MIGRATIOND_PLUGIN_DIR/supervise.sh" \
        "$MIGRATIOND_SUPERVISOR_PIDFILE" "$MIGRATIOND_PIDFILE" \
        "$MIGRATIOND_BIN" --config "$MIGRATIOND_CONF" \
        >>"$MIGRATIOND_LOG" 2>&1 </dev/null &
    for _ in $(seq 1 50); do
        [[ -s "$MIGRATIOND_PIDFILE" ]] && break
        sleep 0.1
    done
    pid=$(cat "$MIGRATIOND_SUPERVISOR_PIDFILE" 2>/dev/null || true)
    echo "migrationd: supervisor pid ${pid:-?} (supervise.sh), log $MIGRATIOND_LOG"
}

# Stops pid $1 (if it still runs $2) with SIGTERM, then SIGKILL after 30 s.
function _migrationd_kill {
    local pid=$1 what=$2
    _migrationd_pid_runs "$pid" "$what" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "migrationd: pid $pid ($what) ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

function _migrationd_stop_background {
    local sup pid
    _migrationd_pidfiles
    sup=$(cat "$MIGRATIOND_SUPERVISOR_PIDFILE" 2>/dev/null || true)
    pid=$(cat "$MIGRATIOND_PIDFILE" 2>/dev/null || true)
    # The supervisor passes SIGTERM on and waits for the daemon; the daemon
    # itself is stopped too in case the supervisor is gone.
    _migrationd_kill "$sup" supervise.sh
    _migrationd_kill "$pid" "$MIGRATIOND_BIN"
    rm -f "$MIGRATIOND_SUPERVISOR_PIDFILE" "$MIGRATIOND_PIDFILE"
}

function _migrationd_show_log {
    if [[ "$MIGRATIOND_SUPERVISOR" == "systemd" ]]; then
        sudo journalctl -u devstack@migrationd.service -n 30 --no-pager || true
    else
        _migrationd_pidfiles
        tail -n 30 "$MIGRATIOND_LOG" || true
    fi
}

# stack extra: start, then wait (bounded) until GET /healthcheck answers.
function start_migrationd {
    local deadline
    _migrationd_defaults
    if [[ "$MIGRATIOND_SUPERVISOR" == "systemd" ]]; then
        # A restart when stack.sh runs again without unstack.sh.
        stop_process migrationd
        run_process migrationd "$MIGRATIOND_BIN --config $MIGRATIOND_CONF"
    else
        _migrationd_start_background
    fi
    deadline=$((SECONDS + MIGRATIOND_START_TIMEOUT))
    until curl -g --noproxy '*' -sf -m 5 -o /dev/null "$MIGRATIOND_URL/healthcheck"; do
        if [[ $SECONDS -ge $deadline ]]; then
            _migrationd_show_log
            die $LINENO "migrationd did not answer $MIGRATIOND_URL/healthcheck within $MIGRATIOND_START_TIMEOUT s"
        fi
        sleep 0.5
    done
    echo "migrationd: $MIGRATIOND_URL answers ($(curl -g --noproxy '*' -s -m 5 "$MIGRATIOND_URL/healthcheck"))"
}

# unstack
function stop_migrationd {
    if [[ "$MIGRATIOND_SUPERVISOR" == "systemd" ]]; then
        stop_process migrationd
    fi
    _migrationd_stop_background
}

# clean: what stack.sh made outside the git clone.
function cleanup_migrationd {
    local conf_dir
    stop_migrationd
    conf_dir=$(dirname "$MIGRATIOND_CONF")
    sudo rm -f "$MIGRATIOND_CONF" "$MIGRATIOND_BIN"
    if [[ "$conf_dir" == "$MIGRATIOND_CONF_DIR" ]]; then
        sudo rmdir "$conf_dir" 2>/dev/null || true
    fi
    if [[ -n "$MIGRATIOND_DATA_DIR" && "$MIGRATIOND_DATA_DIR" != "/" ]]; then
        sudo rm -rf "$MIGRATIOND_DATA_DIR"
    fi
    _migrationd_pidfiles
    rm -f "$MIGRATIOND_LOG"
}

# stack test-config: the exercise, when asked for.
function exercise_migrationd {
    local token="" instance=$MIGRATIOND_INSTANCE
    local -a domains
    _migrationd_defaults
    read -r -a domains <<<"$MIGRATIOND_SIMULATOR_DOMAINS"
    if [[ -z "$instance" && "$MIGRATIOND_HYPERVISOR" == "simulator" && ${#domains[@]} -gt 0 ]]; then
        instance=${domains[0]%%:*}
    fi
    if [[ -z "$instance" ]]; then
        die $LINENO "migrationd: MIGRATIOND_RUN_EXERCISE needs MIGRATIOND_INSTANCE"
    fi
    if [[ "$MIGRATIOND_AUTH_STRATEGY" == "keystone" ]]; then
        token=$(openstack --os-cloud devstack-admin token issue -f value -c id)
    fi
    MIGRATIOND_URL=$MIGRATIOND_URL MIGRATIOND_TOKEN=$token \
        MIGRATIOND_INSTANCE=$instance MIGRATIOND_DEST=${MIGRATIOND_DEST:-devstack-dest} \
        MIGRATIOND_EXPECT=$MIGRATIOND_EXPECT \
        bash "$MIGRATIOND_PLUGIN_DIR/exercise.sh" ||
        die $LINENO "migrationd: the exercise failed"
}

if is_service_enabled migrationd; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing migrationd"
        install_migrationd
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring migrationd"
        configure_migrationd
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Starting migrationd"
        start_migrationd
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if [[ "$MIGRATIOND_RUN_EXERCISE" == "True" ]]; then
            echo_summary "Exercising migrationd"
            exercise_migrationd
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_migrationd
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_migrationd
    fi
fi

# Restore xtrace
$_XTRACE_MIGRATIOND
