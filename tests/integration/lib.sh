# shellcheck shell=bash
# lib.sh - shared by demo.sh and run.sh (sourced, bash): packages, the Release build, the two
# hosts, guests of tests/guest on host-a, and a migrationd per test with its own configuration.
#
# The caller sets `e2e_name` (used in messages) and calls, in this order:
#   e2e_init            work dir, paths; installs the EXIT trap that cleans everything up
#   e2e_deps            apt packages (skipped with MD_NO_APT=1) and `hosts.sh deps`
#   e2e_build           build-release/: migrationd and the guest (CMake, Release)
#   e2e_up MIBPS        both hosts up, links shaped to MIBPS
# then per test: guest_start, daemon_start, md (the API client), daemon_stop, guest_remove.
# Everything a caller starts is stopped by the trap: the daemon (by the pid it recorded),
# the guests and hosts (`hosts.sh down`), and the work dir is removed.
#
# Network: the daemon listens on 127.0.0.1; libvirt and the migration stream run over the
# private bridge of hosts.sh (10.77.0.0/24 by default) and nowhere else.

e2e_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
e2e_hosts=$e2e_top/tests/integration/hosts.sh
e2e_bin=$e2e_top/build-release/migrationd
e2e_guest=$e2e_top/build-release/tests/guest/guest.elf
e2e_work=""
e2e_daemon_pid=""
e2e_hosts_up=0
# The Debian packages (tests/support/packages.sh): those the build and the tests need, as in
# tests/run-all.sh, plus python3 for mdctl.py.
# shellcheck source=tests/support/packages.sh
. "$e2e_top/tests/support/packages.sh"
e2e_packages=("${md_pkgs_build[@]}" "${md_pkgs_test[@]}" "${md_pkgs_e2e[@]}")

say() { echo "${e2e_name:-e2e}: $*"; }
die() { echo "${e2e_name:-e2e}: error: $*" >&2; exit 1; }
now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

e2e_py() {
    if [ -x /usr/bin/python3 ]; then /usr/bin/python3 "$@"; else python3 "$@"; fi
}

e2e_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    daemon_stop >/dev/null 2>&1 || true
    # A daemon started in a subshell (run.sh runs each test in one) left its pid here.
    if [ -n "$e2e_work" ] && [ -f "$e2e_work/daemon.pid" ]; then
        e2e_daemon_pid=$(cat "$e2e_work/daemon.pid")
        if [[ $e2e_daemon_pid =~ ^[0-9]+$ ]] &&
           tr '\0' ' ' <"/proc/$e2e_daemon_pid/cmdline" 2>/dev/null | grep -qF "$e2e_bin"; then
            daemon_stop >/dev/null 2>&1 || true
        fi
    fi
    if [ "$e2e_hosts_up" = 1 ]; then
        "$e2e_hosts" down >/dev/null 2>&1 || "$e2e_hosts" down || true
    fi
    if [ -n "$e2e_work" ] && [ -d "$e2e_work" ]; then
        if [ "$rc" -ne 0 ] && [ -n "${MD_E2E_KEEP:-}" ]; then
            echo "${e2e_name:-e2e}: kept $e2e_work" >&2
        else
            rm -rf "$e2e_work"
        fi
    fi
    exit "$rc"
}

e2e_init() {
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
    export LC_ALL=C
    [ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and creates namespaces)"
    e2e_work=$(mktemp -d /tmp/md-e2e.XXXXXX)
    chmod 755 "$e2e_work"
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

e2e_deps() {
    if [ -n "${MD_NO_APT:-}" ]; then
        say "MD_NO_APT set: not installing packages"
    else
        say "Debian packages: ${e2e_packages[*]}"
        md_install_packages "${e2e_packages[@]}"
    fi
    "$e2e_hosts" deps
}

e2e_build() {
    local t0
    t0=$(now_s)
    cmake -S "$e2e_top" -B "$e2e_top/build-release" -DCMAKE_BUILD_TYPE=Release \
        -DMIGRATIOND_TESTS=OFF >/dev/null
    cmake --build "$e2e_top/build-release" -j "$(nproc)" --target migrationd migrationctl md_guest >/dev/null
    [ -x "$e2e_bin" ] || die "no $e2e_bin after the build"
    [ -f "$e2e_guest" ] || die "no $e2e_guest after the build"
    say "built build-release/migrationd and the guest in $(since "$t0") s"
}

e2e_up() {
    local env
    e2e_hosts_up=1
    env=$("$e2e_hosts" up --bandwidth "$1")
    eval "$env"
    # The guests' virtualisation: KVM when /dev/kvm works (MD_VIRT_TYPE=qemu forces TCG).
    e2e_virt=$MD_VIRT_TYPE
}

# ------------------------------------------------------------------------------------ guests

# guest_start NAME WS_MIB RATE_MIBPS REPORT_MIB: defines and starts a 256 MiB guest of
# tests/guest on host-a, its COM1 appended to $e2e_work/NAME.serial (the source and, after a
# migration, the destination QEMU write the same file: /tmp is shared with the hosts).
guest_start() {
    local name=$1 ws=$2 rate=$3 report=$4 xml=$e2e_work/$1.xml
    cat >"$xml" <<EOF
<domain type='$e2e_virt'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$e2e_guest</kernel>
    <cmdline>ws_mib=$ws rate_mibps=$rate report_mib=$report</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='$e2e_work/$name.serial' append='on'/></serial>
    <controller type='usb' model='none'/><memballoon model='none'/>
  </devices>
</domain>
EOF
    : >"$e2e_work/$name.serial"
    virsh -q -c "$MD_HOST_A_URI" define "$xml" >/dev/null
    virsh -q -c "$MD_HOST_A_URI" start "$name" >/dev/null
}

# guest_lines NAME: the guest's serial lines (CR stripped, from "guest: " on).
guest_lines() {
    tr -d '\r' <"$e2e_work/$1.serial" | sed -n 's/.*\(guest: \)/\1/p'
}

# guest_boot NAME WS_MIB RATE_MIBPS REPORT_MIB BOOT_S REPORTS: a fresh guest on host-a
# (guest_remove, guest_start), running within BOOT_S, then up to 10 s until it has made
# REPORTS time-per-GiB reports, so that a measurement starts from its normal pace. Dies
# otherwise.
guest_boot() {
    local name=$1 reports=$6
    guest_remove "$name"
    guest_start "$name" "$2" "$3" "$4"
    guest_wait_running "$name" "$5" >/dev/null
    for _ in $(seq 1 100); do
        [ "$(guest_lines "$name" | grep -c '^guest: gib_ms=')" -ge "$reports" ] && return 0
        sleep 0.1
    done
    die "guest $name reported fewer than $reports times in 10 s"
}

# guest_wait_running NAME TIMEOUT_S: until the workload reports "guest: running".
guest_wait_running() {
    local name=$1 limit=$2 t0
    t0=$(now_s)
    while :; do
        if guest_lines "$name" | grep -q '^guest: running'; then
            say "guest $name running after $(since "$t0") s ($e2e_virt): $(guest_lines "$name" |
                grep '^guest: boot' | cut -d' ' -f3-5)"
            return 0
        fi
        if guest_lines "$name" | grep -q '^guest: error'; then
            guest_lines "$name" >&2
            die "guest $name failed"
        fi
        if awk -v a="$t0" -v b="$(now_s)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            die "guest $name did not report 'guest: running' within $limit s"
        fi
        sleep 0.2
    done
}

# guest_total_mib NAME: MiB written since "running", as last reported (0 before any report).
guest_total_mib() {
    guest_lines "$1" | sed -n 's/^guest: gib_ms=.* total_mib=\([0-9]*\).*/\1/p' | tail -n 1 |
        grep . || echo 0
}

# dom_state URI NAME: "running", "paused", ... or "absent".
dom_state() {
    local s
    if s=$(virsh -q -c "$1" domstate "$2" 2>/dev/null); then
        echo "${s%% *}"
    else
        echo absent
    fi
}

guest_remove() {
    local u
    for u in "$MD_HOST_A_URI" "$MD_HOST_B_URI"; do
        virsh -q -c "$u" destroy "$1" >/dev/null 2>&1 || true
        virsh -q -c "$u" undefine "$1" >/dev/null 2>&1 || true
    done
}

# ------------------------------------------------------------------------------------ daemon

e2e_free_port() {
    e2e_py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# daemon_start NAME [LIBVIRT_OPTION=VALUE...]: writes $e2e_work/NAME.conf (source host-a,
# API on a free loopback port, database in the work dir, the given libvirt options; an
# option written service.KEY=VALUE goes to the service section, one written
# peer.NAME=ADDRESS adds a peer, one written peers.KEY=VALUE sets KEY in every peer, e.g.
# peers.bandwidth_mibps=100) and starts build-release/migrationd with it; sets e2e_api.
# Started again with the same NAME, it reuses the database (a new port). host-b is always
# a peer, named $MD_HOST_B_NAME at $MD_HOST_B_IP, so that every migration goes the way a
# production node's does: to a listed destination, by the address the configuration gives.
daemon_start() {
    local name=$1 conf=$e2e_work/$1.conf port opt peer peer_keys=""
    shift
    port=$(e2e_free_port)
    for opt in "$@"; do
        case $opt in
            peers.*) opt=${opt#peers.}; peer_keys+=" ${opt%%=*} = ${opt#*=};" ;;
        esac
    done
    {
        echo "# written by ${e2e_name:-e2e} for one test"
        echo "service = {"
        echo "    host = \"$MD_HOST_A_NAME\";"
        echo "    database = \"$e2e_work/$name.db\";"
        echo "    hypervisor = \"libvirt\";"
        echo "    log_level = \"info\";"
        for opt in "$@"; do
            case $opt in
                service.*) opt=${opt#service.}; echo "    ${opt%%=*} = ${opt#*=};" ;;
            esac
        done
        echo "};"
        echo "peers = ("
        echo "    { name = \"$MD_HOST_B_NAME\"; address = \"$MD_HOST_B_IP\";$peer_keys }"
        for opt in "$@"; do
            case $opt in
                peer.*)
                    peer=${opt#peer.}
                    echo "    , { name = \"${peer%%=*}\"; address = \"${peer#*=}\";$peer_keys }"
                    ;;
            esac
        done
        echo ");"
        echo "api = { listen = \"127.0.0.1:$port\"; auth_strategy = \"noauth\"; };"
        echo "libvirt = {"
        echo "    uri = \"$MD_HOST_A_URI\";"
        echo "    live_migration_scheme = \"tcp\";"
        for opt in "$@"; do
            case $opt in
                service.* | peer.* | peers.*) ;;
                *) echo "    ${opt%%=*} = ${opt#*=};" ;;
            esac
        done
        echo "};"
    } >"$conf"
    "$e2e_bin" --check-config "$conf" >/dev/null || die "bad configuration $conf"
    e2e_daemon_log=$e2e_work/$name.log
    "$e2e_bin" --config "$conf" >>"$e2e_daemon_log" 2>&1 &
    e2e_daemon_pid=$!
    echo "$e2e_daemon_pid" >"$e2e_work/daemon.pid"
    e2e_api=http://127.0.0.1:$port
    for _ in $(seq 1 100); do
        md health 2>/dev/null && return 0
        kill -0 "$e2e_daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$e2e_daemon_log" >&2
    die "migrationd did not come up at $e2e_api"
}

# daemon_stop: SIGTERM to the daemon this script started, SIGKILL after 10 s.
daemon_stop() {
    local pid=$e2e_daemon_pid
    [ -n "$pid" ] || return 0
    e2e_daemon_pid=""
    rm -f "$e2e_work/daemon.pid"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# md ARGS...: the API client against the running daemon.
md() { e2e_py "$e2e_top/tests/integration/mdctl.py" "$e2e_api" "$@"; }

# ------------------------------------------------------------------------- link faults
# Post-copy recovery tests and bench/postcopy-recovery.sh break the migration's link. They act
# only inside the network namespaces hosts.sh created ($MD_HOST_A_NAME, $MD_HOST_B_NAME), on
# their eth0 and their sockets: nothing of this machine's own network is touched.

# host_ns a|b: the host's network namespace.
host_ns() {
    case $1 in
        a) echo "$MD_HOST_A_NAME" ;;
        b) echo "$MD_HOST_B_NAME" ;;
        *) die "host_ns: a or b, not '$1'" ;;
    esac
}

# link_rate HOST MIBPS: caps what HOST sends (its eth0's egress) at MIBPS with the tbf that
# `hosts.sh shape` uses; on host-a that is the migration stream's direction. `hosts.sh shape`
# or another link_rate sets it back.
link_rate() {
    local ns rate=$2 burst
    ns=$(host_ns "$1")
    touch "$e2e_work/links-changed"
    burst=$(( rate * 1048576 / 100 ))
    [ "$burst" -ge 262144 ] || burst=262144
    ip netns exec "$ns" tc qdisc replace dev eth0 root tbf rate "$(( rate * 8388608 ))bit" \
        burst "$burst" latency 50ms
}

# link_down HOST / link_up HOST: HOST's eth0 down (a partition: the peers see silence, no
# reset) or up again.
link_down() {
    touch "$e2e_work/links-changed"
    ip netns exec "$(host_ns "$1")" ip link set eth0 down
}
link_up() { ip netns exec "$(host_ns "$1")" ip link set eth0 up; }

# links_restore MIBPS: after link_rate or link_down, both links up and shaped to MIBPS again
# (as `hosts.sh up --bandwidth MIBPS` left them); nothing when neither was called.
links_restore() {
    [ -f "$e2e_work/links-changed" ] || return 0
    link_up a
    link_up b
    "$e2e_hosts" shape "$1" 2>/dev/null
    rm -f "$e2e_work/links-changed"
}

# stream_reset: destroys host-a's end of every TCP connection to host-b's QEMU migration ports
# (49152 and up; libvirtd's own connection on 16509 stays), as a middlebox reset would
# (CONFIG_INET_DIAG_DESTROY). Prints how many sockets it destroyed.
stream_reset() {
    ip netns exec "$MD_HOST_A_NAME" ss -K -t -n dst "$MD_HOST_B_IP" dport ge 49152 |
        awk 'NR > 1 && NF > 0 { n++ } END { print n + 0 }'
}

# ------------------------------------------------------------------- guest stalls

# guest_stall NAME FROM_MIB: the guest's longest gap between two reports written after
# FROM_MIB, in guest time (its TSC). Each report gives the time the last GiB took (before the
# first GiB: elapsed x 1024 / MiB), so T(M) = gib_ms(M) + T(M - 1024) rebuilds the time of
# every report when report_mib divides 1024. Prints "STALL_MS GAP_MS BASE_MS AT_MIB": the
# longest gap minus the median gap before FROM_MIB (the undisturbed pace), the gap, that
# median, and the total MiB at the report that ended the gap. "- - - -" without reports.
guest_stall() {
    guest_lines "$1" | awk -v from="$2" '
        BEGIN { t[0] = 0 }
        /^guest: gib_ms=/ {
            split($2, a, "="); split($4, b, "=")
            g = a[2] + 0; m = b[2] + 0
            if (m < 1024) t[m] = g * m / 1024
            else if ((m - 1024) in t) t[m] = g + t[m - 1024]
            else { prev = ""; next }
            if (prev != "" && (prev in t)) {
                d = t[m] - t[prev]
                if (m <= from) base[nb++] = d
                else if (d > gap) { gap = d; at = m }
            }
            prev = m
        }
        END {
            if (gap == "") { print "- - - -"; exit }
            # Median by insertion sort (mawk has no asort).
            for (i = 1; i < nb; i++)
                for (j = i; j > 0 && base[j - 1] > base[j]; j--) {
                    x = base[j]; base[j] = base[j - 1]; base[j - 1] = x
                }
            med = nb ? base[int((nb - 1) / 2)] : 0
            printf "%d %d %d %d\n", gap - med, gap, med, at
        }'
}
