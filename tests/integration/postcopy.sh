# shellcheck shell=bash
# shellcheck disable=SC2154  # e2e_work, e2e_api (lib.sh), link_mibps, final_re (run.sh)
# postcopy.sh - run.sh's scenarios 8-11: a post-copy migration whose link breaks, recovered by
# migrationd (issue 9). Sourced by run.sh after its assertion helpers (check, eq, has_event,
# wait_status, ...); each scenario_N runs in run.sh's subshell like the others.
#
# Every scenario: a busy guest (192 MiB written at 150 MiB/s, reported every 16 MiB) on
# host-a, migrationd with policy adaptive and post-copy permitted, which switches to post-copy
# after the first pass. What host-a sends is capped at $pc_slow MiB/s (tc on host-a's eth0;
# the other directions stay at 100 MiB/s) from the start, so that the first pass takes about
# 8 s and post-copy as long, the guest pulling its working set over the link meanwhile (its
# reports slow to the link's pace; with the cap set only once post-copy ran, post-copy was
# over in about 2 s). 1.5 s after the record says "running (post-copy)", the fault; when the
# link comes back it is at full speed again, so that what follows is recovery, not a slow
# link. The faults act only inside the hosts' namespaces (lib.sh: stream_reset, link_down,
# link_rate).
#
#  8. the migration stream reset (`ss -K` of host-a's end) 1.5 s into post-copy;
#  9. host-b's link down for 30 s during post-copy (stall timeout 5 s), then up; the record
#     must show "running (post-copy recovering)" before the link returns;
# 10. migrationd killed with SIGKILL in post-copy, then the stream reset (libvirt: the source
#     "paused (post-copy failed)"), then migrationd restarted on the same database;
# 11. host-b's link down for longer than the recovery timeout (stall 3 s, recovery 10 s): the
#     record ends `error` with a message naming both hosts, the domain still on both (paused
#     on host-a, present on host-b); then the link up and PUT action recover -> 202.
# Each ends `completed` (post_copy true) with the domain running on host-b only and writing on
# there (its serial), the timeline holding a state event about recovering and attempt events,
# recovery_attempts >= 1. Also: PUT recover of a completed migration -> 409. The time from the
# link's return to completion and the guest's longest stall are printed, not asserted.

pc_slow=25
pc_guest=(192 150 16)
pc_opts=('live_migration_policy="adaptive"' 'live_migration_permit_post_copy=true')
pc_recovering='^running \(post-copy recovering\)$'

# pc_into_postcopy NAME: caps host-a's link, POSTs NAME -> host-b, waits for "running
# (post-copy)", then 1.5 s. Sets uuid and pc_m0 (the guest's MiB written at the start).
pc_into_postcopy() {
    link_rate a "$pc_slow"
    pc_m0=$(guest_total_mib "$1")
    uuid=$(start_mig "$1")
    echo "    migration $uuid"
    wait_status "$uuid" '^running \(post-copy\)$' 60 || return 1
    sleep 1.5
}

# pc_reset: the stream reset, then host-a's link back at full speed; sets pc_ret (the link's
# return) and pc_sockets (how many sockets ss destroyed).
pc_reset() {
    pc_sockets=$(stream_reset)
    pc_ret=$(now_s)
    link_rate a "$link_mibps"
    echo "    ss -K destroyed $pc_sockets socket(s) of the migration stream"
}

# pc_partition_until SECONDS REGEX: host-b's link down until SECONDS have passed or the record's
# status matches REGEX (when REGEX is not empty), sampling the status every 0.3 s into
# $e2e_work/statuses; then host-a at full speed and host-b's link up. Sets pc_ret.
pc_partition_until() {
    local limit=$1 re=$2 t0 s
    : >"$e2e_work/statuses"
    link_down b
    t0=$(now_s)
    echo "    host-b's link down"
    while ! timed_out "$t0" "$limit"; do
        s=$(md get "$uuid" status)
        echo "$s" >>"$e2e_work/statuses"
        [ -n "$re" ] && [[ $s =~ $re ]] && break
        sleep 0.3
    done
    pc_last=$(tail -n 1 "$e2e_work/statuses")
    link_rate a "$link_mibps"
    link_up b
    pc_ret=$(now_s)
    echo "    host-b's link up after $(since "$t0") s; statuses seen meanwhile:" \
        "$(awk '!seen[$0]++' "$e2e_work/statuses" | paste -sd ',' -)"
}

# pc_finish NAME: waits for a final state (90 s), then the common checks: completed in
# post-copy, recovery in the timeline, the domain on host-b only and writing on there.
pc_finish() {
    local name=$1 took stall
    wait_status "$uuid" "$final_re" 90 || true
    took=$(since "$pc_ret")
    md events "$uuid" >"$e2e_work/events"
    sed 's/^/    : /' "$e2e_work/events"
    echo "    final $(field status) $took s after the link's return" \
        "(recovery_attempts $(field recovery_attempts))"
    check "record is completed" eq "$(field status)" completed
    check "post_copy true" eq "$(field post_copy)" true
    check "a state event: post-copy broke, recovering" grep -qE ' state +post-copy (broke|recovery again).*recovering' "$e2e_work/events"
    check "recovery_attempts >= 1 ($(field recovery_attempts))" \
        test "$(field recovery_attempts)" -ge 1 2>/dev/null
    check "attempt events in the timeline" grep -qi 'attempt' "$e2e_work/events"
    check "domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$name")" running
    check "domain gone from host-a" eq "$(dom_state "$MD_HOST_A_URI" "$name")" absent
    check "the guest writes on, on host-b" writes_on "$name"
    stall=$(guest_stall "$name" "$pc_m0")
    echo "    guest's longest stall (ms; stall gap pace at_mib): $stall;" \
        "its TSC went back: $(guest_lines "$name" | grep '^guest: tsc_back' | paste -sd ' ' - |
            grep . || echo never)"
}

pc_boot() {
    guest_start "$1" "${pc_guest[@]}"
    guest_wait_running "$1" 120
}

scenario_8() {
    local name=md-s8 r
    pc_boot "$name"
    daemon_start s8 "${pc_opts[@]}" 'live_migration_postcopy_recovery_timeout=60'
    check "the record reaches running (post-copy)" pc_into_postcopy "$name"
    pc_reset
    check "ss -K destroyed the migration stream" test "$pc_sockets" -ge 1
    pc_finish "$name"
    r=$(put_action "$uuid" recover)
    echo "    PUT recover once completed: $r"
    check "PUT recover of a completed migration -> 409" eq "$(code_of "$r")" 409
}

scenario_9() {
    local name=md-s9
    pc_boot "$name"
    daemon_start s9 "${pc_opts[@]}" 'live_migration_postcopy_stall_timeout=5' \
        'live_migration_postcopy_recovery_timeout=120'
    check "the record reaches running (post-copy)" pc_into_postcopy "$name"
    pc_partition_until 30 ""
    check "recovering while the link was down" grep -qE "$pc_recovering" "$e2e_work/statuses"
    check "still in progress when the link came back ($pc_last)" \
        contains "$pc_last" '^running \(post-copy( recovering)?\)$'
    pc_finish "$name"
}

scenario_10() {
    local name=md-s10 pid s
    pc_boot "$name"
    local opts=("${pc_opts[@]}" 'live_migration_postcopy_recovery_timeout=60')
    daemon_start s10 "${opts[@]}"
    check "the record reaches running (post-copy)" pc_into_postcopy "$name"
    pid=$e2e_daemon_pid
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    e2e_daemon_pid=""
    rm -f "$e2e_work/daemon.pid"
    echo "    killed migrationd ($pid) with SIGKILL"
    pc_reset
    check "ss -K destroyed the migration stream" test "$pc_sockets" -ge 1
    sleep 2
    s=$(virsh -q -c "$MD_HOST_A_URI" domstate --reason "$name" 2>&1 || true)
    check "libvirt: the source is paused (post-copy failed) ($s)" eq "$s" "paused (post-copy failed)"
    daemon_start s10 "${opts[@]}"
    echo "    migrationd restarted at $e2e_api"
    pc_finish "$name"
    check "a recovered event after the restart" has_event ' recovered '
}

scenario_11() {
    local name=md-s11 r msg a b
    pc_boot "$name"
    daemon_start s11 "${pc_opts[@]}" 'live_migration_postcopy_stall_timeout=3' \
        'live_migration_postcopy_recovery_timeout=10'
    check "the record reaches running (post-copy)" pc_into_postcopy "$name"
    pc_partition_until 60 '^(error|completed|cancelled|failed)$'
    check "recovering while the link was down" grep -qE "$pc_recovering" "$e2e_work/statuses"
    check "the record gave up with the link still down: error ($pc_last)" eq "$pc_last" error
    msg=$(field error)
    echo "    error: $msg"
    check "the message names host-a" contains "$msg" "$MD_HOST_A_NAME|$MD_HOST_A_IP"
    check "the message names host-b" contains "$msg" "$MD_HOST_B_NAME|$MD_HOST_B_IP"
    a=$(virsh -q -c "$MD_HOST_A_URI" domstate --reason "$name" 2>&1 || true)
    b=$(dom_state "$MD_HOST_B_URI" "$name")
    check "the half on host-a is still there, paused ($a)" contains "$a" '^paused'
    check "the half on host-b is still there ($b)" contains "$b" '^(running|paused)$'
    r=$(put_action "$uuid" recover)
    echo "    PUT recover: $r"
    check "PUT recover from error -> 202" eq "$(code_of "$r")" 202
    pc_finish "$name"
    # After the event that gave up (its message is the record's error), recovery again.
    # shellcheck disable=SC2016
    check "recovering again after the error, in the timeline" awk -v m="${msg:0:40}" '
        !at && index($0, m) { at = NR; next }
        at && / state / && tolower($0) ~ /recover/ { found = 1 }
        END { exit !found }' "$e2e_work/events"
}
