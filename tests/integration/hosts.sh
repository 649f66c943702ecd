#!/usr/bin/env bash
# hosts.sh - two libvirt compute hosts on this machine, for the integration tests.
#
# Usage (as root):
#   hosts.sh deps                    install libvirt + QEMU (Debian 12) and prepare the system
#   hosts.sh up [--bandwidth MIBPS]  start both hosts (reuses them when both are healthy)
#   hosts.sh down                    stop everything; idempotent, always safe to run
#   hosts.sh status                  show both hosts; exit 0 only when both answer
#   hosts.sh env                     print shell assignments describing the hosts (for eval)
#   hosts.sh exec HOST CMD...        run CMD in HOST's namespaces (HOST: a, b, host-a, md-host-a)
#   hosts.sh shape MIBPS|off         cap (or uncap) every direction of each host's link
#   hosts.sh virt-type               print "kvm" when /dev/kvm opens read-write, else "qemu"
#
# Each host is a network namespace (md-host-a, md-host-b) with a veth port on the bridge md-br0
# in the root namespace, plus private mount and UTS namespaces in which the host's own directories
# under $MD_HOSTS_DIR are bind-mounted over /run, /etc/libvirt, /var/lib/libvirt,
# /var/log/libvirt and /var/cache/libvirt; its own virtlogd and libvirtd (TCP 16509, no auth)
# run there. Addresses: root side $NET.1, host-a $NET.2, host-b $NET.3 (/24), NET=10.77.0 by
# default. They exist only on the bridge and inside the namespaces this script creates.
#
# Callers must clean up whatever happens:   trap 'tests/integration/hosts.sh down' EXIT
#
# Environment:
#   MD_HOSTS_DIR        state dir (default /tmp/md-hosts); removed by "down"
#   MD_HOSTS_NET        first three octets of the private /24 (default 10.77.0)
#   MD_HOSTS_BRIDGE     bridge name (default md-br0); veth ports are <bridge>-a, <bridge>-b
#   MD_HOSTS_NS_PREFIX  namespace prefix (default md-host -> md-host-a, md-host-b)
#   MD_VIRT_TYPE        force "kvm" or "qemu" for virt-type
#   MD_HOSTS_WAIT       seconds to wait for each libvirtd to answer (default 30)
#   MD_HOSTS_WARM       0 = skip probing QEMU at "up" (the first migration then pays ~4 s)
set -euo pipefail

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

self=$(readlink -f "${BASH_SOURCE[0]}")
dir=${MD_HOSTS_DIR:-/tmp/md-hosts}
dir=${dir%/}
net=${MD_HOSTS_NET:-10.77.0}
bridge=${MD_HOSTS_BRIDGE:-md-br0}
nsprefix=${MD_HOSTS_NS_PREFIX:-md-host}
wait_s=${MD_HOSTS_WAIT:-30}
hosts=(a b)
mountpoints=(/run /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt)
subdirs=(run etc lib log cache)     # same order as mountpoints
# shellcheck source=tests/support/packages.sh
. "$(dirname "$self")/../support/packages.sh"
packages=("${md_pkgs_hosts[@]}")

say() { echo "hosts.sh: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

ns_of()   { echo "$nsprefix-$1"; }
veth_of() { echo "$bridge-$1"; }
ip_of()   { case $1 in a) echo "$net.2" ;; b) echo "$net.3" ;; esac; }
root_ip() { echo "$net.1"; }
uri_of()  { echo "qemu+tcp://$(ip_of "$1")/system"; }

# host_arg NAME: a | b from "a", "host-a", "md-host-a" (any prefix), "A".
host_arg() {
    local h=${1,,}
    case $h in
        a|*-a) echo a ;;
        b|*-b) echo b ;;
        *) die "unknown host '$1' (use a or b)" ;;
    esac
}

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

check_settings() {
    case $dir in
        /*) ;;
        *) die "MD_HOSTS_DIR must be an absolute path: $dir" ;;
    esac
    local m
    if [ -z "$dir" ] || [ "$dir" = / ]; then die "MD_HOSTS_DIR must not be /"; fi
    for m in "${mountpoints[@]}" /proc /sys /dev; do
        case $dir/ in
            "$m"/*) die "MD_HOSTS_DIR must not be under $m (it is bind-mounted over): $dir" ;;
        esac
    done
    [[ $net =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
        die "MD_HOSTS_NET must be three octets, e.g. 10.77.0: $net"
    local o1=${BASH_REMATCH[1]} o2=${BASH_REMATCH[2]} o3=${BASH_REMATCH[3]}
    if [ "$o2" -gt 255 ] || [ "$o3" -gt 255 ]; then die "MD_HOSTS_NET: bad octet in $net"; fi
    # Private ranges only: these addresses must never shadow a real network.
    if ! { [ "$o1" -eq 10 ] || { [ "$o1" -eq 172 ] && [ "$o2" -ge 16 ] && [ "$o2" -le 31 ]; } ||
           { [ "$o1" -eq 192 ] && [ "$o2" -eq 168 ]; }; }; then
        die "MD_HOSTS_NET must be inside 10/8, 172.16/12 or 192.168/16: $net"
    fi
    [ ${#bridge} -le 13 ] || die "MD_HOSTS_BRIDGE too long (max 13): $bridge"
    [[ $bridge =~ ^[A-Za-z0-9_.-]+$ ]] || die "MD_HOSTS_BRIDGE: bad name $bridge"
    [[ $nsprefix =~ ^[A-Za-z0-9_.-]+$ ]] || die "MD_HOSTS_NS_PREFIX: bad name $nsprefix"
    [[ $wait_s =~ ^[0-9]+$ ]] || die "MD_HOSTS_WAIT must be whole seconds"
}

# Serialise up/down/shape (fd 9; never passed on to the daemons).
take_lock() {
    exec 9<"$self"
    flock -w 300 9 || die "another hosts.sh holds the lock for more than 300 s"
}

# --------------------------------------------------------------------------------- virt-type

virt_type() {
    case ${MD_VIRT_TYPE:-} in
        kvm|qemu) echo "$MD_VIRT_TYPE"; return ;;
        "") ;;
        *) die "MD_VIRT_TYPE must be kvm or qemu" ;;
    esac
    if [ -c /dev/kvm ] && ( exec 3<>/dev/kvm ) 2>/dev/null; then
        echo kvm
    else
        echo qemu
    fi
}

# ------------------------------------------------------------------------------------- deps

# Stops a daemon of the root namespace that a package started (found by its pidfile).
stop_system_daemon() {
    local name=$1 pidfile=/run/$1.pid pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ] || return 0
    [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/self/ns/net)" ] || return 0
    [ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] || return 0
    say "stopping the system $name (pid $pid) so that it cannot conflict"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cmd_deps() {
    need_root
    local t0 p missing made_policy=0
    t0=$(now)
    mapfile -t missing < <(md_missing_packages "${packages[@]}")
    if [ ${#missing[@]} -gt 0 ]; then
        # No service may start from a postinst (there is no systemd here, and a system
        # libvirtd would only get in the way).
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            made_policy=1
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        fi
        say "installing ${missing[*]} (about a minute)"
        md_install_packages "${missing[@]}"
        if [ "$made_policy" -eq 1 ]; then
            rm -f /usr/sbin/policy-rc.d
            trap - EXIT
        fi
    else
        say "packages already installed: ${packages[*]}"
    fi
    # libvirtd looks this user up before it reads qemu.conf; libvirt-daemon-system (which we
    # do not install) would create it.
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt --no-create-home \
            --shell /usr/sbin/nologin libvirt-qemu
    for p in libvirtd virtqemud virtlogd virtlockd; do
        stop_system_daemon "$p"
    done
    say "deps ready in $(elapsed "$t0") s (virt type: $(virt_type))"
}

need_tools() {
    local t
    for t in libvirtd virtlogd virsh qemu-system-x86_64 ip tc nsenter unshare flock findmnt; do
        command -v "$t" >/dev/null || die "$t is missing; run: $self deps"
    done
    getent passwd libvirt-qemu >/dev/null || die "user libvirt-qemu is missing; run: $self deps"
}

# ------------------------------------------------------------------------------------ state

pid_of() {
    local f=$dir/$1/libvirtd.pid p
    [ -f "$f" ] || return 1
    p=$(cat "$f")
    [[ $p =~ ^[0-9]+$ ]] || return 1
    echo "$p"
}

# The recorded libvirtd pid, only while that process still lives in the host's network namespace.
live_pid_of() {
    local h=$1 p
    p=$(pid_of "$h") || return 1
    [ -e "/run/netns/$(ns_of "$h")" ] || return 1
    [ "$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null || true)" = \
      "$(stat -L -c %i "/run/netns/$(ns_of "$h")")" ] || return 1
    echo "$p"
}

answers() { timeout 10 virsh -q -c "$(uri_of "$1")" list --all >/dev/null 2>&1; }

healthy() {
    local h
    [ -f "$dir/.md-hosts" ] || return 1
    for h in "${hosts[@]}"; do
        live_pid_of "$h" >/dev/null || return 1
        answers "$h" || return 1
    done
}

write_env() {
    local h H
    {
        echo "MD_HOSTS_DIR=$dir"
        echo "MD_HOSTS_BRIDGE=$bridge"
        echo "MD_HOSTS_ROOT_IP=$(root_ip)"
        echo "MD_VIRT_TYPE=$(virt_type)"
        for h in "${hosts[@]}"; do
            H=${h^^}
            echo "MD_HOST_${H}_NAME=$(ns_of "$h")"
            echo "MD_HOST_${H}_IP=$(ip_of "$h")"
            echo "MD_HOST_${H}_URI=$(uri_of "$h")"
            echo "MD_HOST_${H}_PID=$(pid_of "$h" || true)"
        done
    } >"$dir/hosts.env.tmp"
    mv "$dir/hosts.env.tmp" "$dir/hosts.env"
}

# ------------------------------------------------------------------------------------- down

# Pids that belong to host H: everything in its network namespace, plus everything in the mount
# namespace recorded for its libvirtd as long as a process of the network namespace still has
# that mount namespace (so that a recycled namespace inode can never select a stranger).
host_pids() {
    local h=$1 ns netino="" mntino=""
    ns=$(ns_of "$h")
    [ -e "/run/netns/$ns" ] && netino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null || true)
    [ -n "$netino" ] || return 0
    [ -f "$dir/$h/mntns" ] && mntino=$(cat "$dir/$h/mntns" 2>/dev/null || true)
    # One stat for all processes: "/proc/PID/ns/KIND INODE" lines.
    stat -L -c '%n %i' /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt 2>/dev/null |
        awk -v net="$netino" -v mnt="$mntino" -v self="$$" '
            { split($1, f, "/"); pid = f[3]; kind = f[5] }
            pid == self { next }
            kind == "net" { netof[pid] = $2 }
            kind == "mnt" { mntof[pid] = $2 }
            END {
                ours = 0
                for (p in netof) if (netof[p] == net && mnt != "" && mntof[p] == mnt) ours = 1
                for (p in netof) if (netof[p] == net) sel[p]
                if (ours) for (p in mntof) if (mntof[p] == mnt) sel[p]
                for (p in sel) print p
            }' || true
}

killed=()
# Kills every process of both hosts: 10 s of SIGTERM, then SIGKILL, 15 s in all.
kill_host_processes() {
    local h pids i sig=TERM
    for i in $(seq 1 150); do
        pids=$(for h in "${hosts[@]}"; do host_pids "$h"; done)
        [ -n "$pids" ] || return 0
        [ "$i" -gt 100 ] && sig=KILL
        if [ "$i" -eq 1 ] || [ "$i" -eq 101 ] || [ $(( i % 10 )) -eq 0 ]; then
            # shellcheck disable=SC2086
            kill -"$sig" $pids 2>/dev/null || true
            # shellcheck disable=SC2206
            killed+=($pids)
        fi
        sleep 0.1
    done
    pids=$(for h in "${hosts[@]}"; do host_pids "$h"; done)
    [ -z "$pids" ] || say "WARNING: processes survive SIGKILL: $pids"
}

# The daemons were re-parented to PID 1 when they forked into the background, so their
# zombies wait for PID 1 to reap them; give it a few seconds so that "ps" after "down" is clean.
wait_reaped() {
    local i p left
    [ ${#killed[@]} -gt 0 ] || return 0
    for i in $(seq 1 50); do
        left=0
        for p in "${killed[@]}"; do
            [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && left=1
        done
        [ "$left" -eq 0 ] && return 0
        sleep 0.1
    done
}

do_down() {
    local h ns m
    kill_host_processes
    for h in "${hosts[@]}"; do
        ns=$(ns_of "$h")
        if [ -e "/run/netns/$ns" ]; then
            ip netns del "$ns" 2>/dev/null || say "WARNING: could not delete netns $ns"
        fi
        if ip link show "$(veth_of "$h")" >/dev/null 2>&1; then
            ip link del "$(veth_of "$h")" 2>/dev/null || true
        fi
    done
    wait_reaped
    if ip link show "$bridge" >/dev/null 2>&1; then
        ip link del "$bridge" 2>/dev/null || say "WARNING: could not delete bridge $bridge"
    fi
    # The bind mounts live in the hosts' private mount namespaces and vanish with their last
    # process; unmount anything that leaked into this namespace all the same.
    if [ -d "$dir" ]; then
        findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' |
            sort -r | while read -r m; do
                umount -l "$m" 2>/dev/null || say "WARNING: could not unmount $m"
            done
        if [ -f "$dir/.md-hosts" ]; then
            rm -rf --one-file-system "$dir"
        elif [ -z "$(ls -A "$dir")" ]; then
            rmdir "$dir"
        else
            say "WARNING: $dir has no .md-hosts marker; not removing it"
        fi
    fi
}

cmd_down() {
    need_root
    check_settings
    take_lock
    local t0
    t0=$(now)
    do_down
    say "down in $(elapsed "$t0") s"
}

# --------------------------------------------------------------------------------------- up

check_subnet_free() {
    local target route
    for target in "$net.1" "$net.2" "$net.3"; do
        if ip -4 -o addr show | awk '{print $4}' | grep -q "^$target/"; then
            die "address $target is already in use here; set MD_HOSTS_NET"
        fi
        route=$(ip -4 route show match "$target" | grep -v '^default' || true)
        [ -z "$route" ] || die "$net.0/24 clashes with an existing route ($route); set MD_HOSTS_NET"
    done
}

write_configs() {
    local h=$1 d=$dir/$1 ip uuid
    ip=$(ip_of "$h")
    # A random host UUID per host (libvirt refuses to migrate between equal UUIDs and rejects
    # UUIDs made of one repeated hex digit).
    while :; do
        uuid=$(cat /proc/sys/kernel/random/uuid)
        [ "$(tr -d -- '-' <<<"$uuid" | fold -w1 | sort -u | wc -l)" -gt 1 ] && break
    done
    cat >"$d/etc/libvirtd.conf" <<EOF
# written by hosts.sh for test host $(ns_of "$h")
listen_tls = 0
listen_tcp = 1
listen_addr = "$ip"
auth_tcp = "none"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat >"$d/etc/qemu.conf" <<EOF
# written by hosts.sh for test host $(ns_of "$h")
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
migration_address = "$ip"
migration_host = "$ip"
EOF
    cat >"$d/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
    # Names resolve from files only: libvirt looks its hostname up, and no lookup may leave
    # the namespaces (an empty resolv.conf means the namespace's own 127.0.0.1).
    {
        echo "127.0.0.1 localhost"
        echo "$(ip_of a) $(ns_of a)"
        echo "$(ip_of b) $(ns_of b)"
    } >"$d/hosts"
    echo "# hosts.sh: no DNS inside the test hosts" >"$d/resolv.conf"
    echo "$uuid" >"$d/host_uuid"
    echo "$ip" >"$d/ip"
}

start_host() {
    local h=$1 d=$dir/$1 ns i sub
    ns=$(ns_of "$h")
    for sub in "${subdirs[@]}"; do
        mkdir -p "$d/$sub"
    done
    mkdir -p "$d/log/qemu" "$d/lib/qemu"
    write_configs "$h"
    # Mount points must exist in the root file system (the packages create most of them).
    mkdir -p "${mountpoints[@]}"
    # ip netns exec -> network namespace; unshare -> private mount + UTS namespaces. The daemons
    # fork into the background and keep those namespaces alive after sh exits.
    # shellcheck disable=SC2016
    ip netns exec "$ns" unshare --mount --uts --propagation private \
        env -i PATH="$PATH" LC_ALL=C HOME=/root \
        sh -euc '
            name=$1 d=$2; shift 2
            hostname "$name"
            mount --bind "$d/run" /run
            mount --bind "$d/etc" /etc/libvirt
            mount --bind "$d/lib" /var/lib/libvirt
            mount --bind "$d/log" /var/log/libvirt
            mount --bind "$d/cache" /var/cache/libvirt
            mount --bind "$d/hosts" /etc/hosts
            mount --bind "$d/resolv.conf" /etc/resolv.conf
            virtlogd -d
            libvirtd -d --listen
        ' sh "$ns" "$d" </dev/null >>"$d/daemon.log" 2>&1 9<&- ||
        { tail -n 20 "$d/daemon.log" >&2 || true; die "could not start host $h"; }
    for i in $(seq 1 50); do
        [ -s "$d/run/libvirtd.pid" ] && break
        sleep 0.1
    done
    [ -s "$d/run/libvirtd.pid" ] || die "libvirtd of host $h wrote no pid file"
    cp "$d/run/libvirtd.pid" "$d/libvirtd.pid"
    stat -L -c %i "/proc/$(cat "$d/libvirtd.pid")/ns/mnt" >"$d/mntns" ||
        die "libvirtd of host $h died at once; see $d/log/libvirtd.log"
}

wait_host() {
    local h=$1 deadline pid
    deadline=$(( $(date +%s) + wait_s ))
    pid=$(pid_of "$h")
    while :; do
        answers "$h" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$dir/$h/log/libvirtd.log" "$dir/$h/daemon.log" >&2 2>/dev/null || true
            die "libvirtd of host $h (pid $pid) exited"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 20 "$dir/$h/log/libvirtd.log" "$dir/$h/daemon.log" >&2 2>/dev/null || true
            die "libvirtd of host $h did not answer at $(uri_of "$h") within $wait_s s"
        fi
        sleep 0.3
    done
}

# Each libvirtd probes QEMU's capabilities (a few seconds) the first time it needs them, e.g.
# inside the first incoming migration; do it now so that it never counts in a measurement.
warm_up() {
    local h vt pids=() p rc=0
    [ "${MD_HOSTS_WARM:-1}" = 0 ] && return 0
    vt=$(virt_type)
    for h in "${hosts[@]}"; do
        timeout 60 virsh -q -c "$(uri_of "$h")" domcapabilities --virttype "$vt" \
            --arch x86_64 --machine pc >/dev/null 9<&- &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p" || rc=1
    done
    [ "$rc" -eq 0 ] || die "a host could not probe QEMU (virt type $vt); see $dir/*/log/libvirtd.log"
}

do_shape() {
    local rate=$1 h ns bits burst
    for h in "${hosts[@]}"; do
        ns=$(ns_of "$h")
        [ -e "/run/netns/$ns" ] || die "host $h is not up"
    done
    if [ "$rate" = off ]; then
        for h in "${hosts[@]}"; do
            ns=$(ns_of "$h")
            tc qdisc del dev "$(veth_of "$h")" root 2>/dev/null || true
            ip netns exec "$ns" tc qdisc del dev eth0 root 2>/dev/null || true
        done
        rm -f "$dir/shape"
        return 0
    fi
    [[ $rate =~ ^[1-9][0-9]*$ ]] || die "shape: MIBPS must be a positive whole number or 'off'"
    bits=$(( rate * 1048576 * 8 ))
    # Bucket: 10 ms worth of data, at least 256 KiB (one GSO super-packet must fit).
    burst=$(( rate * 1048576 / 100 ))
    [ "$burst" -ge 262144 ] || burst=262144
    for h in "${hosts[@]}"; do
        ns=$(ns_of "$h")
        # Egress of both ends of the host's veth: host -> bridge and bridge -> host.
        tc qdisc replace dev "$(veth_of "$h")" root tbf rate "${bits}bit" burst "$burst" latency 50ms
        ip netns exec "$ns" tc qdisc replace dev eth0 root tbf rate "${bits}bit" burst "$burst" \
            latency 50ms
    done
    echo "$rate" >"$dir/shape"
}

cmd_up() {
    local bw="" t0 h ns veth
    while [ $# -gt 0 ]; do
        case $1 in
            --bandwidth) [ $# -ge 2 ] || die "--bandwidth needs MIBPS"; bw=$2; shift 2 ;;
            --bandwidth=*) bw=${1#*=}; shift ;;
            *) die "up: unknown argument $1" ;;
        esac
    done
    [ -z "$bw" ] || [[ $bw =~ ^[1-9][0-9]*$ ]] || die "--bandwidth must be a positive whole number"
    need_root
    check_settings
    need_tools
    take_lock
    t0=$(now)
    if healthy; then
        do_shape "${bw:-off}"
        write_env
        say "already up (reused) in $(elapsed "$t0") s"
        cat "$dir/hosts.env"
        return 0
    fi
    do_down
    # From here on a failure removes everything again.
    trap 'rc=$?; if [ $rc -ne 0 ]; then say "up failed; cleaning up"; do_down; fi' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    check_subnet_free
    mkdir -p "$dir"
    touch "$dir/.md-hosts"
    ip link add "$bridge" type bridge
    ip link set "$bridge" type bridge stp_state 0 forward_delay 0
    ip addr add "$(root_ip)/24" dev "$bridge"
    ip link set "$bridge" up
    for h in "${hosts[@]}"; do
        ns=$(ns_of "$h")
        veth=$(veth_of "$h")
        ip netns add "$ns"
        ip link add "$veth" type veth peer name eth0 netns "$ns"
        ip link set "$veth" master "$bridge" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(ip_of "$h")/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
    for h in "${hosts[@]}"; do
        start_host "$h"
    done
    for h in "${hosts[@]}"; do
        wait_host "$h"
    done
    warm_up
    [ -z "$bw" ] || do_shape "$bw"
    write_env
    trap - EXIT HUP INT TERM
    say "up in $(elapsed "$t0") s: host-a $(uri_of a), host-b $(uri_of b), virt type $(virt_type)"
    cat "$dir/hosts.env"
}

# ---------------------------------------------------------------------- status, exec, shape

cmd_status() {
    check_settings
    local h pid ok=0 state
    if [ ! -f "$dir/.md-hosts" ]; then
        echo "down (no $dir)"
        return 1
    fi
    printf '%-10s %-12s %-8s %-8s %s\n' HOST ADDRESS PID STATE URI
    for h in "${hosts[@]}"; do
        if pid=$(live_pid_of "$h"); then
            if answers "$h"; then state=up; else state=silent; ok=1; fi
        else
            pid=-; state=dead; ok=1
        fi
        printf '%-10s %-12s %-8s %-8s %s\n' "$(ns_of "$h")" "$(ip_of "$h")" "$pid" "$state" \
            "$(uri_of "$h")"
    done
    if [ -f "$dir/shape" ]; then
        echo "bridge $bridge $(root_ip)/24; links shaped to $(cat "$dir/shape") MiB/s"
    else
        echo "bridge $bridge $(root_ip)/24; links not shaped"
    fi
    return $ok
}

cmd_exec() {
    [ $# -ge 2 ] || die "usage: hosts.sh exec HOST CMD..."
    need_root
    check_settings
    local h pid
    h=$(host_arg "$1")
    shift
    pid=$(live_pid_of "$h") || die "host $h is not up"
    exec nsenter -t "$pid" -m -u -n -- "$@"
}

cmd_shape() {
    [ $# -eq 1 ] || die "usage: hosts.sh shape MIBPS|off"
    need_root
    check_settings
    take_lock
    [ -f "$dir/.md-hosts" ] || die "hosts are not up"
    do_shape "$1"
    say "shaping: $1$( [ "$1" = off ] || echo ' MiB/s')"
}

cmd_env() {
    check_settings
    [ -f "$dir/hosts.env" ] || die "hosts are not up"
    cat "$dir/hosts.env"
}

usage() { sed -n '2,13p' "$self" | sed 's/^# \{0,1\}//'; }

main() {
    [ $# -ge 1 ] || { usage >&2; exit 2; }
    local cmd=$1
    shift
    case $cmd in
        deps) cmd_deps "$@" ;;
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        env) cmd_env "$@" ;;
        exec) cmd_exec "$@" ;;
        shape) cmd_shape "$@" ;;
        virt-type) virt_type ;;
        -h|--help|help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
