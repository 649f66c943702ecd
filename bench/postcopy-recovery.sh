#!/usr/bin/env bash
# postcopy-recovery.sh - what a broken post-copy costs, with and without migrationd's recovery:
# real guests of tests/guest migrated between the two hosts of tests/integration/hosts.sh, the
# link broken 1.5 s into post-copy.
#
# Usage (as root on Debian 12):   bash bench/postcopy-recovery.sh [--faults "reset 10 30 60"]
#                                     [--modes "virsh resume md"] [--cap S]
#   --faults   which faults (default all four): "reset" = the migration stream reset (`ss -K`
#              of host-a's end, in host-a's namespace); a number N = host-b's link down N s
#   --modes    which runs per fault (default all three, each with a fresh guest): "virsh" =
#              plain libvirt driven by virsh, nobody acts; "resume" = the same plus an
#              operator's `virsh migrate --postcopy-resume`; "md" = migrationd
#   --cap S    how long to wait after the link's return for an outcome (default 120 s)
# Environment: MD_NO_APT=1 skips the package step; MD_VIRT_TYPE=kvm|qemu (default: KVM when
# /dev/kvm works: the stall is read from the guest's TSC, which TCG restarts far behind after a
# late switch to post-copy, see tests/integration/run.sh); MD_BENCH_SLOW (MiB/s that host-a
# sends, from the start of the migration to the link's return, default 25); MD_BENCH_MD_OPTS
# (extra libvirt options of migrationd, e.g. 'live_migration_postcopy_stall_timeout=5';
# default none: its defaults); MD_BENCH_RECOVERY_TIMEOUT (its
# live_migration_postcopy_recovery_timeout, default 180 s, so that a 60 s partition is
# recovered, not given up); MD_BENCH_SAVE=DIR keeps each guest's serial, the virsh outputs and
# migrationd's timelines there. The hosts get their own names, as in bench/real-matrix.sh:
# namespaces md-bench-a/-b, bridge md-brb, 10.78.0.0/24.
#
# Each run: a fresh 256 MiB guest on host-a writing 192 MiB at 150 MiB/s, reporting every
# 16 MiB; links at 100 MiB/s, but what host-a sends (the migration stream) capped at
# MD_BENCH_SLOW (tc on host-a's eth0; the issue's own trial used 200 Mbit/s), so that
# post-copy lasts several seconds (about 8 s at 25 MiB/s) with the guest still pulling its
# working set when the fault comes: its reports slow to the link's pace. The migration to
# host-b switches to post-copy after the first pass of pre-copy (virsh:
# --postcopy-after-precopy; migrationd: policy adaptive with post-copy permitted). 1.5 s after
# post-copy is seen (virsh: the source is "paused (post-copy)"; migrationd: the record says
# "running (post-copy)"), the fault:
#   reset   `ss -K` of host-a's end of the QEMU stream; the link "returns" at once;
#   N s     host-b's eth0 down, N s later up again: the link's return.
# At the return host-a's link is back at 100 MiB/s, so that what follows measures recovery,
# not a slow link. Then, polled every 0.2 s until the cap:
#   virsh   plain libvirt, nobody acts: did the migration complete by itself, and when? It has
#           completed when the call returns success or when host-b says "running (migrated)"
#           (the call may have failed meanwhile: "call failed at N s: message").
#   resume  the same, plus an operator who, once the migrate call has failed, repeats it with
#           the same arguments plus --postcopy-resume (--postcopy-after-precopy left out)
#           every 2 s, from the link's return, until it succeeds or the migration completed by
#           itself. "N+M tries" = N resumes and M `virsh domjobabort --postcopy` (only with
#           MD_BENCH_PAUSE_ON=a or b: on host-a or host-b, after each "QEMU reports migration
#           is still running"); each is listed with its time and libvirt's answer.
#   md      migrationd recovers by itself (POST, then only GET until a final state); the row
#           gives the record's outcome and recovery_attempts, then its timeline.
# Columns: "return->done" = seconds from the link's return to the migration's completion
# (virsh: the call returned; migrationd: the record first seen completed, polled every 0.2 s);
# "stall" = the guest's longest pause between two reports, in guest time, minus its normal
# pace (tests/integration/lib.sh guest_stall: rebuilt from its time-per-GiB reports), with the
# gap itself and the normal pace in brackets (">= N (still)": no report for the last N s, the
# guest is still stalled at the end); "where" = the domain's state on host-a / host-b
# at the end ("-" = absent).
set -euo pipefail

export MD_HOSTS_NS_PREFIX=${MD_HOSTS_NS_PREFIX:-md-bench}
export MD_HOSTS_BRIDGE=${MD_HOSTS_BRIDGE:-md-brb}
export MD_HOSTS_NET=${MD_HOSTS_NET:-10.78.0}
export MD_HOSTS_DIR=${MD_HOSTS_DIR:-/tmp/md-bench-hosts}

e2e_name=postcopy-recovery
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../tests/integration/lib.sh"

faults="reset 10 30 60"
modes="virsh resume md"
cap=120
while [ $# -gt 0 ]; do
    case $1 in
        --faults) faults=$2; shift 2 ;;
        --modes) modes=$2; shift 2 ;;
        --cap) cap=$2; shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
[[ $cap =~ ^[0-9]+$ ]] || die "--cap needs whole seconds"
for f in $faults; do
    [[ $f =~ ^(reset|[1-9][0-9]*)$ ]] || die "--faults: 'reset' or seconds, not '$f'"
done
for m in $modes; do
    [[ $m =~ ^(virsh|resume|md)$ ]] || die "--modes: 'virsh', 'resume' or 'md', not '$m'"
done
link=100
slow=${MD_BENCH_SLOW:-25}
rtimeout=${MD_BENCH_RECOVERY_TIMEOUT:-180}
ws=192 rate=150 report=16

t_all=$(now_s)
e2e_init
e2e_deps
e2e_build
e2e_up "$link"
say "hosts $MD_HOST_A_URI -> $MD_HOST_B_URI, link $link MiB/s (host-a sends $slow MiB/s" \
    "until the link's return), guests $e2e_virt, cap $cap s"
rows=$e2e_work/rows
: >"$rows"

# row FAULT HOW OUTCOME RETURN_DONE STALL WHERE NOTE
row() {
    printf '%-6s | %-27s | %-22s | %12s | %-20s | %-17s | %s\n' "$@" | tee -a "$rows"
}
elapsed_since() { awk -v a="$1" -v b="${2:-$(now_s)}" 'BEGIN { printf "%.1f", b - a }'; }
where() {
    local a b
    a=$(virsh -q -c "$MD_HOST_A_URI" domstate --reason "$1" 2>/dev/null || echo -)
    b=$(virsh -q -c "$MD_HOST_B_URI" domstate --reason "$1" 2>/dev/null || echo -)
    echo "${a// /_}/${b// /_}"
}
# stall_of NAME FROM_MIB: the guest's longest stall since FROM_MIB. A guest still stalled has
# written nothing since: then ">= N (still)", N = seconds since its serial's last write.
stall_of() {
    local s age
    read -r -a s <<<"$(guest_stall "$1" "$2")"
    age=$(awk -v m="$(date -r "$e2e_work/$1.serial" +%s.%N)" -v n="$(now_s)" \
        'BEGIN { printf "%.1f", n - m }')
    if awk -v a="$age" 'BEGIN { exit !(a > 2) }'; then
        echo ">= $age (still)"
    elif [ "${s[0]}" = - ]; then
        echo "-"
    else
        awk -v s="${s[0]}" -v g="${s[1]}" -v b="${s[2]}" \
            'BEGIN { printf "%.1f (%.1f-%.2f)", s / 1000, g / 1000, b / 1000 }'
    fi
}

# break_link FAULT: the fault, then the link's return (host-a back at full speed). Sets
# t_ret and fault_note.
break_link() {
    local f=$1 n
    if [ "$f" = reset ]; then
        n=$(stream_reset)
        t_ret=$(now_s)
        link_rate a "$link"
        fault_note="ss -K destroyed $n socket(s)"
    else
        link_down b
        sleep "$f"
        link_rate a "$link"
        link_up b
        t_ret=$(now_s)
        fault_note="host-b down $f s"
    fi
}

virsh_args() {
    echo migrate --live --p2p --persistent --undefinesource --postcopy "$1" "$MD_HOST_B_URI" \
        "tcp://$MD_HOST_B_IP"
}

# virsh_start NAME: the migration by virsh in the background (pid in vpid), until post-copy
# runs, then 1.5 s, then the fault (break_link). Sets vpid, vargs, t_pc.
virsh_start() {
    local name=$1 t0 s
    read -r -a vargs <<<"$(virsh_args "$name")"
    link_rate a "$slow"
    t0=$(now_s)
    virsh -q -c "$MD_HOST_A_URI" "${vargs[@]}" --postcopy-after-precopy \
        >"$e2e_work/virsh.out" 2>&1 &
    vpid=$!
    while :; do
        s=$(virsh -q -c "$MD_HOST_A_URI" domstate --reason "$name" 2>/dev/null || true)
        [ "$s" = "paused (post-copy)" ] && break
        kill -0 "$vpid" 2>/dev/null ||
            { cat "$e2e_work/virsh.out" >&2; die "migration ended before post-copy"; }
        awk -v a="$t0" -v b="$(now_s)" 'BEGIN { exit !(b - a > 60) }' &&
            die "no post-copy within 60 s"
        sleep 0.1
    done
    t_pc=$(elapsed_since "$t0")
    sleep 1.5
    break_link "$f"
}

# virsh_done NAME: the migration completed, whatever the call says: the destination runs the
# domain with reason "migrated" (after post-copy it says "post-copy" or "post-copy failed").
virsh_done() {
    [ "$(virsh -q -c "$MD_HOST_B_URI" domstate --reason "$1" 2>/dev/null)" = "running (migrated)" ]
}

# vcall: the migrate call's state: running, ok or failed.
vcall() {
    local rc=0
    if kill -0 "$vpid" 2>/dev/null; then echo running; return; fi
    [ -f "$e2e_work/virsh.rc" ] || { wait "$vpid" || rc=$?; echo "$rc" >"$e2e_work/virsh.rc"; }
    if [ "$(cat "$e2e_work/virsh.rc")" = 0 ]; then echo ok; else echo failed; fi
}

callmsg() { tr '\n' ' ' <"$e2e_work/virsh.out" | sed 's/^error: //' | cut -c1-70; }

# Plain libvirt: nobody acts after the fault.
run_virsh() {
    local f=$1 name=$2 m0=$3 c outcome="not completed" t_end="" t_fail=""
    rm -f "$e2e_work/virsh.rc"
    virsh_start "$name"
    while ! awk -v a="$t_ret" -v b="$(now_s)" -v c="$cap" 'BEGIN { exit !(b - a > c) }'; do
        c=$(vcall)
        [ "$c" = failed ] && [ -z "$t_fail" ] && t_fail=$(elapsed_since "$t_ret")
        if [ "$c" = ok ] || virsh_done "$name"; then
            t_end=$(now_s)
            outcome="completed"
            break
        fi
        sleep 0.2
    done
    sleep 2
    row "$f" "libvirt alone (no resume)" "$outcome" \
        "$( [ -n "$t_end" ] && elapsed_since "$t_ret" "$t_end" || echo -)" \
        "$(stall_of "$name" "$m0")" "$(where "$name")" \
        "post-copy at ${t_pc} s; $fault_note; call $(vcall)${t_fail:+ at $t_fail s}$( \
            [ "$(vcall)" = failed ] && echo ": $(callmsg)")"
    kill "$vpid" 2>/dev/null || true
}

# An operator: once the migrate call has failed, repeats it with --postcopy-resume every 2 s
# (from the link's return) until it completes or the migration completes by itself.
run_resume() {
    local f=$1 name=$2 m0=$3 c outcome="not completed" t_end="" tries=0 how="" rc t aborts=0
    local pause_on=${MD_BENCH_PAUSE_ON:-} pause_uri=$MD_HOST_B_URI
    [ "$pause_on" = a ] && pause_uri=$MD_HOST_A_URI
    rm -f "$e2e_work/virsh.rc"
    : >"$e2e_work/resume.log"
    virsh_start "$name"
    while ! awk -v a="$t_ret" -v b="$(now_s)" -v c="$cap" 'BEGIN { exit !(b - a > c) }'; do
        c=$(vcall)
        if [ "$c" = ok ] || virsh_done "$name"; then
            t_end=$(now_s)
            outcome="completed"
            how="by itself"
            break
        fi
        if [ "$c" = failed ]; then
            tries=$((tries + 1))
            t=$(elapsed_since "$t_ret")
            rc=0
            virsh -q -c "$MD_HOST_A_URI" "${vargs[@]}" --postcopy-resume \
                >"$e2e_work/resume.out" 2>&1 || rc=$?
            echo "attempt $tries at +$t s, done at +$(elapsed_since "$t_ret") s: rc $rc" \
                "$(tr '\n' ' ' <"$e2e_work/resume.out")" >>"$e2e_work/resume.log"
            if [ "$rc" = 0 ]; then
                t_end=$(now_s)
                outcome="completed"
                how="by resume $tries"
                break
            fi
            # libvirt's answer when the source QEMU is still in postcopy-active (libvirt only
            # marked the domain failed when its keepalive gave up): MD_BENCH_PAUSE_ON=a|b
            # makes the operator try `domjobabort --postcopy` there before the next attempt.
            if [ -n "$pause_on" ] && grep -q 'still running' "$e2e_work/resume.out"; then
                rc=0
                virsh -q -c "$pause_uri" domjobabort --postcopy "$name" \
                    >"$e2e_work/abort.out" 2>&1 || rc=$?
                echo "domjobabort --postcopy on $pause_on at +$(elapsed_since "$t_ret") s: rc $rc" \
                    "$(tr '\n' ' ' <"$e2e_work/abort.out")" >>"$e2e_work/resume.log"
                aborts=$((aborts + 1))
            fi
            sleep 2
        else
            sleep 0.2
        fi
    done
    sleep 2
    row "$f" "+ operator: resume" "$outcome ($tries+$aborts tries)" \
        "$( [ -n "$t_end" ] && elapsed_since "$t_ret" "$t_end" || echo -)" \
        "$(stall_of "$name" "$m0")" "$(where "$name")" \
        "$how; $fault_note; call $(vcall): $(callmsg)"
    sed 's/^/         : /' "$e2e_work/resume.log"
    kill "$vpid" 2>/dev/null || true
}

run_md() {
    local f=$1 name=$2 m0=$3 uuid t0 s t_end=""
    link_rate a "$slow"
    uuid=$(md post "{\"migration\": {\"instance_name\": \"$name\",
        \"dest_compute\": \"$MD_HOST_B_NAME\", \"dest_host\": \"$MD_HOST_B_IP\"}}")
    t0=$(now_s)
    while :; do
        s=$(md get "$uuid" status)
        [ "$s" = "running (post-copy)" ] && break
        [[ $s =~ ^(completed|cancelled|failed|error)$ ]] && die "migration $uuid ended $s before post-copy"
        awk -v a="$t0" -v b="$(now_s)" 'BEGIN { exit !(b - a > 60) }' &&
            die "no post-copy within 60 s ($s)"
        sleep 0.1
    done
    local t_pc
    t_pc=$(elapsed_since "$t0")
    sleep 1.5
    break_link "$f"
    while :; do
        s=$(md get "$uuid" status)
        if [ "$s" = completed ]; then t_end=$(now_s); break; fi
        [[ $s =~ ^(cancelled|failed|error)$ ]] && break
        awk -v a="$t_ret" -v b="$(now_s)" -v c="$cap" 'BEGIN { exit !(b - a > c) }' && break
        sleep 0.2
    done
    sleep 2
    md events "$uuid" >"$e2e_work/md-$f.events"
    row "$f" "migrationd recovery" "$s ($(md get "$uuid" recovery_attempts) attempts)" \
        "$( [ -n "$t_end" ] && elapsed_since "$t_ret" "$t_end" || echo -)" \
        "$(stall_of "$name" "$m0")" "$(where "$name")" "post-copy at ${t_pc} s; $fault_note"
    sed 's/^/         : /' "$e2e_work/md-$f.events"
}

md_ok=0
if [[ " $modes " == *" md "* ]]; then
    # migrationd before issue 9 has neither the option nor the recovery: say so, skip its rows.
    printf 'libvirt = { live_migration_postcopy_recovery_timeout = 60; };\n' >"$e2e_work/probe.conf"
    if "$e2e_bin" --check-config "$e2e_work/probe.conf" >/dev/null 2>&1; then
        md_ok=1
        read -r -a md_opts <<<"${MD_BENCH_MD_OPTS:-}"
        daemon_start bench 'live_migration_policy="adaptive"' \
            'live_migration_permit_post_copy=true' \
            "live_migration_postcopy_recovery_timeout=$rtimeout" "${md_opts[@]}" >/dev/null
    else
        say "this migrationd has no live_migration_postcopy_recovery_timeout: no md rows"
    fi
fi

row fault how outcome "return->done" "stall s (gap-pace)" "where a/b" note
for f in $faults; do
    for m in $modes; do
        [ "$m" = md ] && [ "$md_ok" = 0 ] && continue
        name=pcr-$f-$m
        rm -f "$e2e_work"/*.out "$e2e_work"/resume.log "$e2e_work"/virsh.rc
        "$e2e_hosts" shape "$link" 2>/dev/null
        guest_boot "$name" "$ws" "$rate" "$report" 120 8
        m0=$(guest_total_mib "$name")
        "run_$m" "$f" "$name" "$m0"
        if [ -n "${MD_BENCH_SAVE:-}" ]; then
            mkdir -p "$MD_BENCH_SAVE"
            cp "$e2e_work/$name.serial" "$MD_BENCH_SAVE/"
            for x in "$e2e_work"/*.out "$e2e_work"/*.log "$e2e_work"/*.events; do
                [ -f "$x" ] && cp "$x" "$MD_BENCH_SAVE/$name.${x##*/}"
            done
            echo "m0=$m0" >"$MD_BENCH_SAVE/$name.m0"
        fi
        guest_remove "$name"
        if [ "$(dom_state "$MD_HOST_A_URI" "$name")" != absent ] ||
           [ "$(dom_state "$MD_HOST_B_URI" "$name")" != absent ]; then
            say "could not remove $name; restarting the hosts"
            daemon_stop
            "$e2e_hosts" down >/dev/null 2>&1
            e2e_up "$link"
            [ "$md_ok" = 0 ] || daemon_start bench 'live_migration_policy="adaptive"' \
                'live_migration_permit_post_copy=true' \
                "live_migration_postcopy_recovery_timeout=$rtimeout" "${md_opts[@]}" >/dev/null
        fi
    done
done

echo
say "link $link MiB/s, host-a $slow MiB/s from the start to the return; guest ws $ws MiB at" \
    "$rate MiB/s, reports every $report MiB; $e2e_virt; $(since "$t_all") s in all"
cat "$rows"
