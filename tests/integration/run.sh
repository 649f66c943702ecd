#!/usr/bin/env bash
# run.sh - the end-to-end scenarios: real guests migrated between the two libvirt hosts of
# hosts.sh by build-release/migrationd, driven and checked through its REST API only (virsh
# only to look at where a guest runs afterwards).
#
# Usage (as root on Debian 12, from anywhere):   bash tests/integration/run.sh
# MD_NO_APT=1 skips the package step; MD_VIRT_TYPE=qemu forces TCG guests; MD_E2E_KEEP=1
# keeps the work dir (configs, daemon logs, guest serials) when something fails.
#
# Set-up once: packages (tests/run-all.sh's, python3, `hosts.sh deps`), the Release build,
# `hosts.sh up --bandwidth 100` (both hosts' links capped at 100 MiB/s each way). Each
# scenario then boots its own guests of tests/guest on host-a (256 MiB), starts its own
# migrationd (own configuration and database, API on a free 127.0.0.1 port), POSTs its
# migrations to host-b, polls the records until they are final and asserts the outcome:
#
#  1. idle guest (16 MiB working set written at 1 MiB/s): completes in pre-copy; the record
#     is `completed`, post_copy false, real downtime_ms known and <= max_downtime_ms; the
#     domain runs on host-b and is gone from host-a.
#  2. busy guest (192 MiB working set written at 150 MiB/s; over the 100 MiB/s link pre-copy
#     never converges), policy adaptive, post-copy permitted: the policy switches to
#     post-copy by itself right after the first pass (a `post_copy` event from "policy:" with
#     its reason, at iteration 2, then the state event "the job switched to post-copy"),
#     no operator call in the timeline, `completed` with post_copy true; the guest runs on
#     host-b and goes on writing there.
#  3. the same busy guest, post-copy not permitted, policy nova, completion timeout 3 s per
#     GiB (x 2 GiB, Nova's minimum data size, = 6 s): the policy aborts ("not completed
#     after 6 s"), the record ends `cancelled` and keeps the job's last statistics; the guest
#     still runs on host-a, not paused, is not on host-b, and its serial shows it writing on
#     after the abort.
#  4. operator actions (policy nova, post-copy permitted, two busy guests): PUT action
#     post_copy after the first pass -> 202, the record reaches "running (post-copy)", PUT
#     abort then -> 409 (message: post-copy), and it ends `completed`, post_copy true, the
#     guest on host-b; on the second guest PUT abort in pre-copy -> 202, `cancelled`, the
#     guest runs on host-a (not paused, writing on) and not on host-b.
#  5. queue: max_concurrent_live_migrations = 1, a busy guest then two idle ones: the list
#     (polled every 0.1 s) never shows two records preparing/running at once; DELETE of the
#     second (queued) -> 202, `cancelled` ("aborted while queued") with no worker or migrate
#     event, its domain still on host-a; PUT post_copy on the busy one, then the third is
#     taken by a worker no earlier than the first completed, and completes.
#  6. SIGKILL of the daemon mid-migration (busy guest, nova, post-copy permitted): libvirt's
#     P2P job goes on (domjobinfo on host-a: Unbounded); restarted on the same database the
#     record is still `running` with a "recovered ... re-attached" event; PUT post_copy ->
#     202, `completed` with post_copy true, the guest on host-b.
#  7. bad requests: an unknown domain ends `failed` naming it; a dest_compute that is not a
#     peer (host-b's address instead of its name) -> 400 naming the peers; the peer
#     md-nowhere at 10.77.0.99 (on the hosts' bridge, no host there) ends `failed` with
#     "No route to host" (migrationd's reachability check) after about 3 s (the wait is
#     bounded at 60 s); dest_compute = service.host -> 400. Every daemon has host-b as its
#     one peer (lib.sh daemon_start), and the migrations name it by its name.
#  8-11. post-copy recovery (postcopy.sh, details at its top): the migration stream reset in
#     post-copy; host-b's link down 30 s; SIGKILL of migrationd, then the reset, then a
#     restart; the link down longer than the recovery timeout (`error` naming both hosts,
#     then PUT action recover). Each ends `completed` with the guest on host-b, writing.
# 12. drain (drain.sh, details at its top): three guests (idle, half the link, above it)
#     drained to host-b by POST /v1/drains with a deadline, post-copy permitted: the drain
#     ends completed by its deadline, every guest on host-b, the busy one in post-copy by the
#     plan, the idle one in pre-copy.
#
# MD_E2E_ONLY="4 6" runs only the listed scenarios (for development); MD_E2E_ONLY="8 9 10 11"
# the post-copy recovery ones, MD_E2E_ONLY=12 the drain.
#
# Output: a PASS or FAIL line per scenario (with its time), then
# "integration: N passed, M failed". Exit status 0 only when all passed. Everything it
# starts is stopped at the end, whatever happens (daemon, guests, `hosts.sh down`, temp dir).
#
# Guests run under KVM when /dev/kvm works, else TCG (`hosts.sh virt-type`). Measured here:
# nested KVM takes 7-19 s from `virsh start` to "guest: running" (SeaBIOS), TCG 0.4 s; the
# migrations behave the same under both. Scenarios 1-7 took about 150 s under KVM (1-3 about
# 55 s) once built; 8-11 take about 3.5 min more under TCG. One TCG caveat (QEMU 7.2, seen without migrationd too): when
# post-copy starts later than right after the first pass (by hand, `virsh migrate-postcopy`
# 3-5 s in), or lasts long (scenarios 9-11), the guest's TSC on host-b can restart far
# behind; under KVM it goes on at once. The guest counts such a jump as no time (it prints
# "guest: tsc_back"), so that it writes on; before it did, it spun for over 240 s without a
# write. Scenarios 4-6 force post-copy by hand 2-4 s in but check only where the guest runs.
set -euo pipefail

e2e_name=integration
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

link_mibps=100
e2e_guests="md-idle md-busy md-busy-nopc md-s4-pc md-s4-ab md-s5-busy md-s5-q1 md-s5-q2 md-s6 md-s7
    md-s8 md-s9 md-s10 md-s11 md-d-idle md-d-half md-d-busy"
passed=0
failed=0
results=()

# ------------------------------------------------------------------------------ assertions

# Inside a scenario (a subshell): check DESCRIPTION TEST... records a failed check and goes
# on, so that one run reports every problem of the scenario.
check() {
    local what=$1
    shift
    if "$@"; then
        echo "    ok: $what"
    else
        echo "    NOT OK: $what"
        echo "$what" >>"$e2e_work/failures"
    fi
}
eq() { [ "$1" = "$2" ]; }
le() { [ "$1" -le "$2" ] 2>/dev/null; }
has_event() { grep -qE -- "$1" "$e2e_work/events"; }
lacks_event() { ! grep -qE -- "$1" "$e2e_work/events"; }

# migrate NAME TIMEOUT: POSTs NAME -> host-b (the peer by its name, with its address as
# dest_host), watches it to a final state (or the timeout) and keeps the final record's
# fields in $e2e_work/record.json and the timeline in $e2e_work/events.
migrate() {
    local name=$1 limit=$2 body
    body="{\"migration\": {\"instance_name\": \"$name\", \"dest_compute\": \"$MD_HOST_B_NAME\",
           \"dest_host\": \"$MD_HOST_B_IP\"}}"
    uuid=$(md post "$body")
    echo "    migration $uuid"
    # A timeout is not fatal here: the checks then say what state it was left in.
    md watch "$uuid" --timeout "$limit" --changes | sed 's/^/    | /' || true
    md show "$uuid" >"$e2e_work/record.json"
    md events "$uuid" >"$e2e_work/events"
}
field() { md get "$uuid" "$1"; }

# downtime_known: the record's downtime_ms once it is known. It comes with libvirt's final
# statistics, which the daemon adds to the record a moment after its end
# (service/engine_worker.c); "null" when they have not come within 6 s.
downtime_known() {
    local dt=null
    for _ in $(seq 1 30); do
        dt=$(field downtime_ms)
        [ "$dt" != null ] && break
        sleep 0.2
    done
    echo "$dt"
}

# start_mig NAME [DEST]: POSTs NAME -> the peer named DEST (default host-b) without waiting;
# the daemon takes the addresses from its peers list. Prints the uuid.
start_mig() {
    local dest=${2:-$MD_HOST_B_NAME}
    md post "{\"migration\": {\"instance_name\": \"$1\", \"dest_compute\": \"$dest\"}}"
}
# put_action UUID ACTION: PUT {"migration": {"action": ACTION}}; prints "STATUS BODY".
put_action() {
    md req PUT "/v1/os-migrations/$1" "{\"migration\": {\"action\": \"$2\"}}"
}
code_of() { echo "${1%% *}"; }
contains() { grep -qiE -- "$2" <<<"$1"; }
timed_out() { awk -v a="$1" -v b="$(now_s)" -v l="$2" 'BEGIN { exit !(b - a > l) }'; }
# wait_status UUID REGEX TIMEOUT_S: polls the record (every 0.1 s) until its status matches.
wait_status() {
    local u=$1 re=$2 limit=$3 t0 s
    t0=$(now_s)
    while :; do
        s=$(md get "$u" status)
        [[ $s =~ $re ]] && return 0
        if timed_out "$t0" "$limit"; then
            echo "    (still \"$s\" after $limit s)"
            return 1
        fi
        sleep 0.1
    done
}
final_re='^(completed|cancelled|failed|error)$'
# wait_iter UUID N TIMEOUT_S: until the record is running with memory_iteration >= N.
wait_iter() {
    local u=$1 n=$2 limit=$3 t0
    t0=$(now_s)
    while :; do
        [ "$(md get "$u" status)" = running ] && [ "$(md get "$u" memory_iteration)" -ge "$n" ] &&
            return 0
        if timed_out "$t0" "$limit"; then
            echo "    (not running at iteration $n after $limit s: $(md get "$u" status))"
            return 1
        fi
        sleep 0.1
    done
}
# writes_on NAME: the guest's reported total grows within 10 s.
writes_on() {
    local before
    before=$(guest_total_mib "$1")
    for _ in $(seq 1 50); do
        [ "$(guest_total_mib "$1")" -gt "$before" ] && return 0
        sleep 0.2
    done
    return 1
}

# ------------------------------------------------------------------------------- scenarios

# shellcheck source=tests/integration/postcopy.sh
source "$(dirname "$0")/postcopy.sh"
# shellcheck source=tests/integration/drain.sh
source "$(dirname "$0")/drain.sh"

scenario_1() {
    local name=md-idle
    guest_start "$name" 16 1 64
    guest_wait_running "$name" 120
    daemon_start s1 'live_migration_policy="adaptive"' 'live_migration_permit_post_copy=false'
    migrate "$name" 60
    check "record is completed" eq "$(field status)" completed
    check "completed in pre-copy (post_copy false)" eq "$(field post_copy)" false
    check "no post-copy event" lacks_event ' post_copy '
    local dt max
    dt=$(downtime_known)
    max=$(field max_downtime_ms)
    echo "    downtime_ms $dt, max_downtime_ms $max, job $(field elapsed_ms) ms"
    check "real downtime known" test "$dt" != null
    check "downtime $dt ms <= max $max ms" le "$dt" "$max"
    check "domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$name")" running
    check "domain gone from host-a" eq "$(dom_state "$MD_HOST_A_URI" "$name")" absent
}

scenario_2() {
    local name=md-busy
    guest_start "$name" 192 150 128
    guest_wait_running "$name" 120
    daemon_start s2 'live_migration_policy="adaptive"' 'live_migration_permit_post_copy=true'
    migrate "$name" 120
    sed 's/^/    : /' "$e2e_work/events"
    check "record is completed" eq "$(field status)" completed
    check "completed in post-copy (post_copy true)" eq "$(field post_copy)" true
    check "a post_copy event from the policy, with its reason" \
        has_event ' post_copy +policy: pre-copy cannot finish in good time'
    # The monitor samples at every iteration event, so the policy sees the end of the first
    # pass (iteration 2) and switches there: its reason names the iteration. (Seconds are not
    # checked: this machine is shared. A switch a pass late, at iteration 3, came from QEMU's
    # rate at the boundary, 2 MiB/s on this 96 MiB/s link; policy.c now takes the pass's own.)
    check "the switch came at the end of the first pass (its reason says iteration 2)" \
        has_event ' post_copy +policy: .* at iteration 2 '
    check "then the state event: switched to post-copy" \
        has_event ' state +the job switched to post-copy'
    check "no operator call in the timeline" lacks_event '_requested |operator|settings'
    check "no error event" lacks_event ' error '
    check "domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$name")" running
    check "domain gone from host-a" eq "$(dom_state "$MD_HOST_A_URI" "$name")" absent
    local before
    before=$(guest_total_mib "$name")
    for _ in $(seq 1 50); do
        [ "$(guest_total_mib "$name")" -gt "$before" ] && break
        sleep 0.2
    done
    check "the guest writes on, on host-b ($before -> $(guest_total_mib "$name") MiB)" \
        test "$(guest_total_mib "$name")" -gt "$before"
}

scenario_3() {
    local name=md-busy-nopc
    guest_start "$name" 192 150 128
    guest_wait_running "$name" 120
    daemon_start s3 'live_migration_policy="nova"' 'live_migration_permit_post_copy=false' \
        'live_migration_completion_timeout=3' 'live_migration_timeout_action="abort"'
    migrate "$name" 90
    sed 's/^/    : /' "$e2e_work/events"
    check "record is cancelled" eq "$(field status)" cancelled
    check "post_copy false" eq "$(field post_copy)" false
    check "the record keeps the job's last statistics (iteration $(field memory_iteration))" \
        test "$(field memory_iteration)" -ge 2 -a "$(field elapsed_ms)" -gt 5000
    check "the policy aborted it: not completed after 6 s" \
        has_event ' abort +policy: not completed after 6 s'
    check "the state event: aborted, guest on the source" \
        has_event ' state +aborted; the guest runs on the source'
    check "no operator call in the timeline" lacks_event '_requested |operator|settings'
    check "guest runs on host-a (not paused)" eq "$(dom_state "$MD_HOST_A_URI" "$name")" running
    check "guest not on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$name")" absent
    local before
    before=$(guest_total_mib "$name")
    for _ in $(seq 1 50); do
        [ "$(guest_total_mib "$name")" -gt "$before" ] && break
        sleep 0.2
    done
    check "the guest writes on after the abort ($before -> $(guest_total_mib "$name") MiB)" \
        test "$(guest_total_mib "$name")" -gt "$before"
    echo "    last report: $(guest_lines "$name" | tail -n 1)"
}

scenario_4() {
    local a=md-s4-pc b=md-s4-ab r
    guest_start "$a" 192 150 128
    guest_start "$b" 192 150 128
    guest_wait_running "$a" 120
    guest_wait_running "$b" 120
    daemon_start s4 'live_migration_policy="nova"' 'live_migration_permit_post_copy=true'

    echo "  -- force post-copy, then abort in post-copy"
    uuid=$(start_mig "$a")
    echo "    migration $uuid"
    check "busy migration running, past the first pass" wait_iter "$uuid" 2 30
    r=$(put_action "$uuid" post_copy)
    echo "    PUT post_copy: $r"
    check "PUT post_copy -> 202" eq "$(code_of "$r")" 202
    check "the record says running (post-copy)" wait_status "$uuid" '^running \(post-copy\)$' 20
    r=$(put_action "$uuid" abort)
    echo "    PUT abort: $r"
    check "PUT abort in post-copy -> 409" eq "$(code_of "$r")" 409
    check "the 409 message mentions post-copy" contains "$r" 'post-copy'
    wait_status "$uuid" "$final_re" 60 || true
    md events "$uuid" >"$e2e_work/events"
    sed 's/^/    : /' "$e2e_work/events"
    check "record is completed" eq "$(field status)" completed
    check "completed in post-copy (post_copy true)" eq "$(field post_copy)" true
    check "the operator's post-copy request is in the timeline" has_event ' post_copy_requested '
    check "no post-copy or abort from the policy" lacks_event ' (post_copy|abort) +policy:'
    check "domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$a")" running
    check "domain gone from host-a" eq "$(dom_state "$MD_HOST_A_URI" "$a")" absent

    echo "  -- abort a running pre-copy migration"
    uuid=$(start_mig "$b")
    echo "    migration $uuid"
    check "busy migration running, past the first pass" wait_iter "$uuid" 2 30
    r=$(put_action "$uuid" abort)
    echo "    PUT abort: $r"
    check "PUT abort -> 202" eq "$(code_of "$r")" 202
    wait_status "$uuid" "$final_re" 30 || true
    md events "$uuid" >"$e2e_work/events"
    sed 's/^/    : /' "$e2e_work/events"
    check "record is cancelled" eq "$(field status)" cancelled
    check "post_copy false" eq "$(field post_copy)" false
    check "the state event: aborted, guest on the source" \
        has_event ' state +aborted; the guest runs on the source'
    check "guest runs on host-a (not paused)" eq "$(dom_state "$MD_HOST_A_URI" "$b")" running
    check "guest not on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$b")" absent
    check "the guest writes on after the abort" writes_on "$b"
}

scenario_5() {
    local busy=md-s5-busy q1=md-s5-q1 q2=md-s5-q2 u1 u2 u3 r max=0 n t0
    guest_start "$busy" 192 150 128
    guest_start "$q1" 16 1 64
    guest_start "$q2" 16 1 64
    guest_wait_running "$busy" 120
    guest_wait_running "$q1" 120
    guest_wait_running "$q2" 120
    daemon_start s5 'service.max_concurrent_live_migrations=1' \
        'live_migration_policy="nova"' 'live_migration_permit_post_copy=true'
    u1=$(start_mig "$busy")
    check "the busy one runs" wait_status "$u1" '^running$' 30
    u2=$(start_mig "$q1")
    u3=$(start_mig "$q2")
    echo "    busy $u1, queued $u2 and $u3"
    check "the second waits (queued)" eq "$(md get "$u2" status)" queued
    check "the third waits (queued)" eq "$(md get "$u3" status)" queued
    # Never two in preparing/running/post-copy at once, polled all along.
    t0=$(now_s)
    while ! timed_out "$t0" 3; do
        n=$(md active | wc -l)
        [ "$n" -gt "$max" ] && max=$n
        sleep 0.1
    done
    r=$(md req DELETE "/v1/os-migrations/$u2")
    echo "    DELETE the second: $r"
    check "DELETE of a queued migration -> 202" eq "$(code_of "$r")" 202
    check "it ends cancelled" wait_status "$u2" '^cancelled$' 5
    uuid=$u2
    md events "$u2" >"$e2e_work/events"
    sed 's/^/    : /' "$e2e_work/events"
    check "its state event: aborted while queued" has_event ' state +aborted while queued'
    check "no worker or migrate event (never touched libvirt)" \
        lacks_event 'a worker took|migrating |the job|detached'
    check "the third still waits" eq "$(md get "$u3" status)" queued
    check "the second's domain still runs on host-a" eq "$(dom_state "$MD_HOST_A_URI" "$q1")" running
    check "the second's domain is not on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$q1")" absent
    r=$(put_action "$u1" post_copy)
    echo "    PUT post_copy on the busy one: $r"
    check "PUT post_copy -> 202" eq "$(code_of "$r")" 202
    t0=$(now_s)
    while :; do
        n=$(md active | wc -l)
        [ "$n" -gt "$max" ] && max=$n
        [[ $(md get "$u3" status) =~ $final_re ]] && break
        timed_out "$t0" 60 && break
        sleep 0.1
    done
    check "never more than one migration active at once (max seen $max)" le "$max" 1
    check "the busy one completed" eq "$(md get "$u1" status)" completed
    check "the third completed" eq "$(md get "$u3" status)" completed
    local done1 took3
    done1=$(md events "$u1" | awk '/ state +migration completed/ { print $1 }' | tail -n 1)
    took3=$(md events "$u3" | awk '/ state +a worker took/ { print $1 }' | head -n 1)
    echo "    busy completed at $done1, the third taken by a worker at $took3"
    check "the third started after the busy one completed" \
        test -n "$done1" -a -n "$took3" -a ! "$took3" \< "$done1"
    check "busy domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$busy")" running
    check "third domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$q2")" running
    check "second domain still on host-a" eq "$(dom_state "$MD_HOST_A_URI" "$q1")" running
}

scenario_6() {
    local name=md-s6 r pid job
    guest_start "$name" 192 150 128
    guest_wait_running "$name" 120
    local opts=('live_migration_policy="nova"' 'live_migration_permit_post_copy=true')
    daemon_start s6 "${opts[@]}"
    uuid=$(start_mig "$name")
    echo "    migration $uuid"
    check "busy migration running, past the first pass" wait_iter "$uuid" 2 30
    pid=$e2e_daemon_pid
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    e2e_daemon_pid=""
    rm -f "$e2e_work/daemon.pid"
    echo "    killed migrationd ($pid) with SIGKILL"
    sleep 1
    job=$(virsh -q -c "$MD_HOST_A_URI" domjobinfo "$name" 2>&1 | awk -F: '/Job type/ { gsub(/ /, "", $2); print $2 }')
    check "the libvirt job runs on without the daemon (Job type: $job)" eq "$job" Unbounded
    daemon_start s6 "${opts[@]}"
    echo "    migrationd restarted at $e2e_api"
    check "the record is still there and running" eq "$(field status)" running
    md events "$uuid" >"$e2e_work/events"
    check "a recovered event: re-attached" has_event ' recovered +re-attached'
    r=$(put_action "$uuid" post_copy)
    echo "    PUT post_copy: $r"
    check "PUT post_copy -> 202" eq "$(code_of "$r")" 202
    wait_status "$uuid" "$final_re" 60 || true
    md events "$uuid" >"$e2e_work/events"
    sed 's/^/    : /' "$e2e_work/events"
    check "record is completed" eq "$(field status)" completed
    check "post_copy true" eq "$(field post_copy)" true
    check "domain runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$name")" running
    check "domain gone from host-a" eq "$(dom_state "$MD_HOST_A_URI" "$name")" absent
}

scenario_7() {
    local name=md-s7 r t0 nowhere=${MD_HOST_A_IP%.*}.99
    guest_start "$name" 16 1 64
    guest_wait_running "$name" 120
    daemon_start s7 "peer.md-nowhere=$nowhere"
    echo "  -- unknown domain"
    r=$(md req POST /v1/os-migrations "{\"migration\": {\"instance_name\": \"md-nosuch\",
        \"dest_compute\": \"$MD_HOST_B_NAME\"}}")
    echo "    POST: ${r:0:200}"
    if [ "$(code_of "$r")" = 202 ]; then
        uuid=$(sed -n 's/.*"uuid": "\([^"]*\)".*/\1/p' <<<"$r")
        check "it ends failed" wait_status "$uuid" '^failed$' 30
        md events "$uuid" >"$e2e_work/events"
        sed 's/^/    : /' "$e2e_work/events"
        check "the message names the domain" has_event 'md-nosuch'
    else
        check "a 4xx naming the domain" contains "$r" '^4[0-9][0-9] .*md-nosuch'
    fi
    echo "  -- a destination that is not a peer: $MD_HOST_B_IP (host-b's address, not its name)"
    r=$(md req POST /v1/os-migrations "{\"migration\": {\"instance_name\": \"$name\",
        \"dest_compute\": \"$MD_HOST_B_IP\"}}")
    echo "    POST: ${r:0:300}"
    check "-> 400" eq "$(code_of "$r")" 400
    check "naming the peers" contains "$r" "configured peers are $MD_HOST_B_NAME, md-nowhere"
    echo "  -- unreachable destination: the peer md-nowhere at $nowhere"
    uuid=$(start_mig "$name" md-nowhere)
    t0=$(now_s)
    wait_status "$uuid" "$final_re" 60 || true
    echo "    final after $(since "$t0") s"
    md events "$uuid" >"$e2e_work/events"
    sed 's/^/    : /' "$e2e_work/events"
    check "it ends failed or error within 60 s" contains "$(field status)" '^(failed|error)$'
    check "with a message naming the destination" has_event "$nowhere"
    check "guest still runs on host-a" eq "$(dom_state "$MD_HOST_A_URI" "$name")" running
    echo "  -- destination = source ($MD_HOST_A_NAME)"
    r=$(md req POST /v1/os-migrations "{\"migration\": {\"instance_name\": \"$name\",
        \"dest_compute\": \"$MD_HOST_A_NAME\"}}")
    echo "    POST: $r"
    check "-> 400" eq "$(code_of "$r")" 400
    check "guest still runs on host-a" eq "$(dom_state "$MD_HOST_A_URI" "$name")" running
}

# run_scenario N DESCRIPTION: runs scenario_N in a subshell (its own daemon and guest, both
# removed when it ends) and records PASS or FAIL.
run_scenario() {
    local n=$1 what=$2 t0 rc=0
    if [ -n "${MD_E2E_ONLY:-}" ] && [[ " $MD_E2E_ONLY " != *" $n "* ]]; then
        return 0
    fi
    echo
    echo "== scenario $n: $what"
    t0=$(now_s)
    rm -f "$e2e_work/failures"
    set +e
    (
        set -e
        trap 'daemon_stop; links_restore "$link_mibps"; for g in $e2e_guests; do guest_remove "$g"; done' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        "scenario_$n"
    )
    rc=$?
    set -e
    case $rc in
        129|130|143) say "interrupted"; exit "$rc" ;;
    esac
    local secs
    secs=$(since "$t0")
    if [ "$rc" -eq 0 ] && [ ! -s "$e2e_work/failures" ]; then
        passed=$((passed + 1))
        results+=("PASS scenario $n: $what ($secs s)")
        echo "PASS scenario $n: $what ($secs s)"
    else
        failed=$((failed + 1))
        local why
        why=$( [ -s "$e2e_work/failures" ] && paste -sd ';' "$e2e_work/failures" ||
               echo "set-up failed (exit $rc)")
        results+=("FAIL scenario $n: $what ($secs s): $why")
        echo "FAIL scenario $n: $what ($secs s): $why"
        if [ -f "$e2e_work/s$n.log" ]; then
            echo "    daemon log (last lines):"
            tail -n 15 "$e2e_work/s$n.log" | sed 's/^/    # /'
        fi
    fi
}

t_all=$(now_s)
e2e_init
echo "== set-up"
e2e_deps
e2e_build
t_up=$(now_s)
e2e_up "$link_mibps"
say "hosts up in $(since "$t_up") s, links $link_mibps MiB/s, guests: $e2e_virt"

run_scenario 1 "idle guest completes in pre-copy"
run_scenario 2 "busy guest, post-copy permitted: the policy switches to post-copy"
run_scenario 3 "busy guest, no post-copy, short completion timeout: the policy aborts"
run_scenario 4 "operator: force post-copy (abort then 409), abort in pre-copy"
run_scenario 5 "queue of one: FIFO, DELETE of a queued migration"
run_scenario 6 "daemon killed (SIGKILL) mid-migration: re-attached after restart"
run_scenario 7 "bad requests: unknown domain, unreachable destination, destination = source"
run_scenario 8 "post-copy: the migration stream reset, recovered"
run_scenario 9 "post-copy: host-b's link down 30 s, recovered"
run_scenario 10 "post-copy: SIGKILL of migrationd, stream reset, restart: recovered"
run_scenario 11 "post-copy: link down past the recovery timeout: error, then PUT recover"
run_scenario 12 "drain: idle, half-link and busy guests to host-b by a deadline"

echo
echo "== summary ($(since "$t_all") s, guests $e2e_virt)"
for r in "${results[@]}"; do
    echo "$r"
done
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
