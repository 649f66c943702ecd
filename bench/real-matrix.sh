#!/usr/bin/env bash
# real-matrix.sh - real live migrations of tests/guest between the two hosts of
# tests/integration/hosts.sh, link capped, for every workload x policy x post-copy.
#
# Usage (as root on Debian 12):   bash bench/real-matrix.sh [--cap S] [--quick]
#   --cap S     wall-clock cap of each migration (default 60 s; aborted at the cap)
#   --quick     drop post-copy=yes for the idle workload (22 runs instead of 27)
# Environment: MD_NO_APT=1 skips the package step; MD_VIRT_TYPE=kvm|qemu (default here:
# qemu = TCG, because a guest boots in 0.5 s under TCG against 9-19 s under nested KVM and
# every run boots a fresh guest); MD_BENCH_MIBPS (link cap, default 100).
# The hosts get their own names so that this can run beside tests/integration/run.sh:
# namespaces md-bench-a/-b, bridge md-brb, network 10.78.0.0/24, state /tmp/md-bench-hosts
# (override with the MD_HOSTS_* variables of hosts.sh).
#
# Each run: a fresh 256 MiB guest on host-a, its workload reporting every few MiB; once it
# has reported at least twice, the migration to host-b starts:
#   none      plain libvirt: `virsh migrate --live --p2p --persistent --undefinesource
#             [--postcopy]` (post-copy permitted but never started: no actions at all),
#             aborted with `virsh domjobabort` at the cap; stats: `virsh domjobinfo` on the
#             source every 0.5 s and `domjobinfo --completed` on the destination at the end;
#   pcap      the same with `--postcopy --postcopy-after-precopy`: libvirt switches to
#             post-copy once the first pass has ended (post-copy=yes only; with no, it is none);
#   kubevirt  KubeVirt's way, with virsh: QEMU's default downtime (no ramp), a completion
#             timeout of 150 s per GiB of the guest's RAM (KubeVirt's completionTimeoutPerGiB;
#             38 s for 256 MiB, no 2 GiB floor as in Nova), at which it switches to post-copy
#             when permitted (`--timeout 38 --timeout-postcopy`) or aborts; its 150 s progress
#             timeout never comes within the cap;
#   nova      migrationd (policy "nova", its defaults otherwise), POST /v1/os-migrations
#   adaptive  migrationd (policy "adaptive"), the same; both polled to a final state and
#             aborted through the API (DELETE) at the cap.
# Columns: ok = completed; total = job time (libvirt's time elapsed, else wall clock);
# downtime = libvirt's measured downtime; sent = memory processed; pc = seconds in
# post-copy ("-" = none); gib_ms before = the guest's last report before the start, during
# = its worst report from the start until 2 s after the end (ideal 1024000 / rate).
set -euo pipefail

export MD_HOSTS_NS_PREFIX=${MD_HOSTS_NS_PREFIX:-md-bench}
export MD_HOSTS_BRIDGE=${MD_HOSTS_BRIDGE:-md-brb}
export MD_HOSTS_NET=${MD_HOSTS_NET:-10.78.0}
export MD_HOSTS_DIR=${MD_HOSTS_DIR:-/tmp/md-bench-hosts}
export MD_VIRT_TYPE=${MD_VIRT_TYPE:-qemu}

e2e_name=real-matrix
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../tests/integration/lib.sh"

cap=60
quick=0
while [ $# -gt 0 ]; do
    case $1 in
        --cap) cap=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        *) die "unknown argument $1" ;;
    esac
done
[[ $cap =~ ^[0-9]+$ ]] || die "--cap needs whole seconds"
mibps=${MD_BENCH_MIBPS:-100}

# The peers run by virsh alone, then migrationd's two policies.
policies=(none pcap kubevirt nova adaptive)
is_daemon() { [ "$1" = nova ] || [ "$1" = adaptive ]; }
# tests/guest's RAM (lib.sh's guest_boot), for KubeVirt's per-GiB timeout.
guest_ram_mib=256

# workload: ws_mib rate_mibps report_mib
declare -A wl=([idle]="4 1 1" [half]="192 50 32" [above]="192 150 64")

t_all=$(now_s)
e2e_init
e2e_deps
e2e_build
e2e_up "$mibps"
say "hosts $MD_HOST_A_URI -> $MD_HOST_B_URI, link $mibps MiB/s, guests $e2e_virt, cap $cap s"

rows=$e2e_work/rows

# serial_count NAME: number of lines in the guest's serial so far.
serial_count() { guest_lines "$1" | wc -l; }
# gib_before NAME N: the last gib_ms among the first N lines.
gib_before() { guest_lines "$1" | head -n "$2" | sed -n 's/^guest: gib_ms=\([0-9]*\).*/\1/p' |
    tail -n 1 | grep . || echo -; }
# gib_during NAME N: the largest gib_ms after line N.
gib_during() { guest_lines "$1" | tail -n +"$(($2 + 1))" |
    sed -n 's/^guest: gib_ms=\([0-9]*\).*/\1/p' | sort -n | tail -n 1 | grep . || echo -; }

# jobinfo_field TEXT NAME: a value of `virsh domjobinfo` output (number only; sizes in MiB).
jobinfo_field() {
    sed -n "s/^$2: *\([0-9.]*\) *\([A-Za-z]*\).*/\1 \2/p" <<<"$1" | head -n 1 |
        awk '{ f = 1; if ($2 == "B") f = 1 / 1048576; if ($2 == "KiB") f = 1 / 1024;
               if ($2 == "GiB") f = 1024; if ($2 == "TiB") f = 1048576;
               if ($2 == "ms" || $2 == "") f = 1; printf "%.0f\n", $1 * f }'
}

# boot_guest NAME WORKLOAD: fresh guest on host-a, running and reporting.
boot_guest() {
    local w
    read -r -a w <<<"${wl[$2]}"
    guest_boot "$1" "${w[0]}" "${w[1]}" "${w[2]}" 60 2
}

# kubevirt_timeout: KubeVirt's completion timeout for the guest, whole seconds (150 s/GiB).
kubevirt_timeout() { awk -v m="$guest_ram_mib" 'BEGIN { printf "%.0f\n", 150 * m / 1024 }'; }

# run_virsh NAME PC MODE: a migration by virsh alone (MODE none, pcap or kubevirt, above);
# prints "ok total_s downtime_ms sent_mib pc_s".
run_virsh() {
    local name=$1 pc=$2 mode=$3 t0 pid last="" info ok=no total dt sent extra=() limit=$cap
    local pc_at="" state
    [ "$pc" = yes ] && extra=(--postcopy)
    case $mode in
        pcap) extra+=(--postcopy-after-precopy) ;;
        kubevirt)
            limit=$(kubevirt_timeout)
            # Permitted: libvirt switches at the timeout. Not: aborted there (below).
            if [ "$pc" = yes ]; then
                extra+=(--timeout "$limit" --timeout-postcopy)
                limit=$cap
            fi
            ;;
    esac
    t0=$(now_s)
    virsh -q -c "$MD_HOST_A_URI" migrate --live --p2p --persistent --undefinesource \
        "${extra[@]}" "$name" "$MD_HOST_B_URI" "tcp://$MD_HOST_B_IP" \
        >"$e2e_work/virsh.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if info=$(virsh -c "$MD_HOST_A_URI" domjobinfo "$name" 2>/dev/null) &&
           grep -q '^Job type: *Unbounded' <<<"$info"; then
            last=$info
        fi
        # The source's state says when post-copy began (to 0.5 s).
        if [ -z "$pc_at" ] && [ "$pc" = yes ] &&
           state=$(virsh -c "$MD_HOST_A_URI" domstate --reason "$name" 2>/dev/null) &&
           grep -q 'post-copy' <<<"$state"; then
            pc_at=$(now_s)
        fi
        if awk -v a="$t0" -v b="$(now_s)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            virsh -q -c "$MD_HOST_A_URI" domjobabort "$name" >/dev/null 2>&1 || true
            break
        fi
        sleep 0.5
    done
    wait "$pid" 2>/dev/null && ok=yes || true
    total=$(since "$t0")
    local pcs=-
    [ -n "$pc_at" ] && pcs=$(awk -v a="$pc_at" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$ok" = yes ]; then
        info=$(virsh -c "$MD_HOST_B_URI" domjobinfo "$name" --completed 2>/dev/null || true)
        [ -n "$info" ] || info=$last
    else
        info=$last
    fi
    dt=$(jobinfo_field "$info" 'Total downtime')
    sent=$(jobinfo_field "$info" 'Memory processed')
    local el
    el=$(jobinfo_field "$info" 'Time elapsed')
    [ -n "$el" ] && [ "$ok" = yes ] && total=$(awk -v x="$el" 'BEGIN { printf "%.1f", x / 1000 }')
    echo "$ok $total ${dt:--} ${sent:--} $pcs"
}

# run_daemon NAME PC: through the API; prints "ok total_s downtime_ms sent_mib pc_s".
run_daemon() {
    local name=$1 pc=$2 uuid t0 rc=0 permit=false
    [ "$pc" = yes ] && permit=true
    uuid=$(md post "{\"migration\": {\"instance_name\": \"$name\", \"dest_compute\": \"$MD_HOST_B_NAME\", \"dest_host\": \"$MD_HOST_B_IP\", \"permit_post_copy\": $permit}}")
    t0=$(now_s)
    md watch "$uuid" --timeout "$cap" --interval 0.5 --changes >"$e2e_work/watch.out" 2>&1 ||
        rc=$?
    if [ "$rc" -ne 0 ]; then
        e2e_py - "$e2e_api" "$uuid" <<'EOF' || true
import sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
o.open(urllib.request.Request(sys.argv[1] + "/v1/os-migrations/" + sys.argv[2], method="DELETE"), timeout=10)
EOF
        md watch "$uuid" --timeout 30 --interval 0.5 --changes >/dev/null 2>&1 || true
    fi
    local wall
    wall=$(since "$t0")
    e2e_py - "$e2e_api" "$uuid" "$wall" <<'EOF'
import json, sys, time, urllib.request, datetime
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(p):
    return json.loads(o.open(sys.argv[1] + p, timeout=10).read())
m = get("/v1/os-migrations/" + sys.argv[2])["migration"]
# The downtime comes with libvirt's final statistics, a moment after the end.
for _ in range(30):
    if m["status"] != "completed" or m.get("downtime_ms") is not None:
        break
    time.sleep(0.2)
    m = get("/v1/os-migrations/" + sys.argv[2])["migration"]
ev = get("/v1/os-migrations/%s/events" % sys.argv[2])["events"]
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f")
pc = "-"
starts = [e for e in ev if e["kind"] in ("post_copy", "post_copy_requested")]
if starts and m.get("post_copy"):
    pc = "%.1f" % (t(ev[-1]["at"]) - t(starts[0]["at"])).total_seconds()
el = m.get("elapsed_ms")
total = "%.1f" % (el / 1000.0) if el else sys.argv[3]
dt = m.get("downtime_ms")
sent = m.get("memory_processed_bytes")
print("%s %s %s %s %s" % ("yes" if m["status"] == "completed" else "no(%s)" % m["status"],
      total, dt if dt is not None else "-", "%.0f" % (sent / 1048576.0) if sent else "-", pc))
# the policy's actions, for the notes
acts = [e["kind"] + ("=%s" % e["value"] if e["kind"] == "set_downtime" else "")
        for e in ev if e["kind"] not in ("state",)]
print(" ".join(acts) or "-", file=sys.stderr)
EOF
}

printf '%-6s %-8s %-3s | %-14s %7s %8s %8s %6s | %9s %9s\n' workld policy pc ok total_s \
    downtime sent_MiB pc_s gib_before gib_during | tee "$rows"
runs=0
for policy in "${policies[@]}"; do
    if is_daemon "$policy"; then
        daemon_start "$policy" "live_migration_policy=\"$policy\"" \
            'live_migration_monitor_interval_ms=500' >/dev/null
    fi
    for w in idle half above; do
        for pc in no yes; do
            if [ "$quick" = 1 ] && [ "$w" = idle ] && [ "$pc" = yes ]; then continue; fi
            if [ "$policy" = pcap ] && [ "$pc" = no ]; then continue; fi
            name=mb-$w-$policy-$pc
            boot_guest "$name" "$w"
            n0=$(serial_count "$name")
            before=$(gib_before "$name" "$n0")
            if ! is_daemon "$policy"; then
                res=$(run_virsh "$name" "$pc" "$policy")
                acts="-"
            else
                res=$(run_daemon "$name" "$pc" 2>"$e2e_work/acts")
                acts=$(cat "$e2e_work/acts")
            fi
            sleep 2
            during=$(gib_during "$name" "$n0")
            read -r ok total dt sent pcs <<<"$res"
            if [ "$sent" != - ] && ! is_daemon "$policy"; then
                sent=$(awk -v x="$sent" 'BEGIN { printf "%.0f", x }')
            fi
            printf '%-6s %-8s %-3s | %-14s %7s %8s %8s %6s | %9s %9s\n' "$w" "$policy" "$pc" \
                "$ok" "$total" "$dt" "$sent" "$pcs" "$before" "$during" | tee -a "$rows"
            [ "$acts" = "-" ] || echo "       actions: $acts"
            guest_remove "$name"
            runs=$((runs + 1))
        done
    done
    ! is_daemon "$policy" || daemon_stop
done

echo
say "summary: $runs runs, $(grep -c '| yes ' "$rows" || true) completed;" \
    "link $mibps MiB/s, guests $e2e_virt, cap $cap s, $(since "$t_all") s in all"
for policy in "${policies[@]}"; do
    say "  $policy: $(awk -v p="$policy" '$2 == p && $5 == "yes" { c++ } END { print c + 0 }' \
        "$rows") completed"
done
[ "$quick" = 1 ] && say "reduced: --quick dropped post-copy=yes for the idle workload"
exit 0
