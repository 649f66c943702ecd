# shellcheck shell=bash
# shellcheck disable=SC2154  # e2e_work, e2e_api (lib.sh), link_mibps (run.sh)
# drain.sh - run.sh's scenario 12: host-a drained to host-b by a deadline (issue 11). Sourced
# by run.sh after its assertion helpers (check, eq, ...); scenario_12 runs in run.sh's subshell
# like the others.
#
# Three guests of tests/guest on host-a (256 MiB each), as scenarios 1 and 2 make them, and
# what host-a sends capped at $dr_link MiB/s (lib.sh link_rate, as postcopy.sh does; run.sh's
# trap restores the link): idle (16 MiB written at 1 MiB/s), half the link (128 MiB at
# 25 MiB/s) and above it (192 MiB at 150 MiB/s, which TCG turns into about 100 MiB/s of
# distinct pages, twice the link: its pre-copy never converges). At the full 100 MiB/s the
# busy guest measured 104 MiB/s, level with the link, and the planner, which cannot know its
# working set, predicted that pre-copy would converge (the adaptive policy then switched it
# anyway): the halved link makes "above the link" unambiguous. migrationd knows the link
# (peers.bandwidth_mibps = $dr_link) and gets POST /v1/drains {destinations: [host-b],
# deadline_s: 90, permit_post_copy: true}: the busy guest can only meet any deadline in
# post-copy, the idle one needs none. Asserted: 202; the drain ends completed with 3 guests
# done and none failed; ended_at <= deadline_at; every guest runs on host-b and is gone from
# host-a (virsh); the busy guest's plan says post-copy and its migration record completed
# with post_copy true; the idle guest's plan says pre-copy and its record post_copy false; the
# half-link guest's plan says pre-copy and its record post_copy false, or true only with the
# policy's rescue event (a drain's pre-copy guest gets post-copy only where pre-copy fails);
# each guest's record names the drain's destination. The drain's events (its plan and
# re-plans, with the numbers) are printed, not asserted.

dr_idle=md-d-idle
dr_half=md-d-half
dr_busy=md-d-busy
dr_deadline=90
dr_link=50

# dr_get EXPR: EXPR of GET /v1/drains/$dr_uuid's "drain" object (d), as JSON (strings
# without quotes); empty when the GET fails.
dr_get() {
    md req GET "/v1/drains/$dr_uuid" | e2e_py -c '
import json, sys
line = sys.stdin.read()
code, _, body = line.partition(" ")
if code != "200":
    sys.exit(0)
d = json.loads(body)["drain"]
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# dr_guest UUID FIELD: the drain's entry of the guest with instance_uuid UUID, one field.
dr_guest() {
    dr_get "[g for g in d['guests'] if g['instance_uuid'] == '$1'][0]['$2']"
}

# precopy_or_rescued: the migration $uuid (its events in $e2e_work/events) completed in
# pre-copy, as its plan said, or used post-copy only where its pre-copy would have been given
# up (the policy's rescue of a guest that the plan misjudged).
precopy_or_rescued() {
    [ "$(field post_copy)" = false ] ||
        has_event ' post_copy +policy: .*the drain planned pre-copy, but post-copy rather than an abort'
}

scenario_12() {
    local r t0 s g u
    local -A uuid_of
    guest_start "$dr_idle" 16 1 64
    guest_start "$dr_half" 128 25 64
    guest_start "$dr_busy" 192 150 128
    for g in "$dr_idle" "$dr_half" "$dr_busy"; do
        guest_wait_running "$g" 120
        uuid_of[$g]=$(virsh -q -c "$MD_HOST_A_URI" domuuid "$g")
    done
    link_rate a "$dr_link"
    daemon_start s12 'live_migration_policy="adaptive"' "peers.bandwidth_mibps=$dr_link"
    r=$(md req POST /v1/drains "{\"drain\": {\"destinations\": [\"$MD_HOST_B_NAME\"],
        \"deadline_s\": $dr_deadline, \"permit_post_copy\": true}}")
    echo "    POST /v1/drains: ${r:0:300}"
    check "POST /v1/drains -> 202" eq "$(code_of "$r")" 202
    dr_uuid=$(e2e_py -c 'import json, sys; print(json.loads(sys.argv[1].partition(" ")[2])["drain"]["uuid"])' "$r")
    echo "    drain $dr_uuid"
    t0=$(now_s)
    while :; do
        s=$(dr_get 'd["state"]')
        [[ $s =~ ^(planning|running|)$ ]] || break
        if timed_out "$t0" 240; then
            echo "    (still \"$s\" after 240 s)"
            break
        fi
        sleep 0.5
    done
    echo "    drain $s after $(since "$t0") s: $(dr_get '"%d done, %d failed, deadline_at %s, ended_at %s" % (
        d["guests_done"], d["guests_failed"], d["deadline_at"], d["ended_at"])')"
    md req GET "/v1/drains/$dr_uuid/events" | e2e_py -c '
import json, sys
for e in json.loads(sys.stdin.read().partition(" ")[2])["events"]:
    print("    : %s %-10s %s" % (e["at"], e["kind"], e["message"]))'
    check "the drain ends completed" eq "$s" completed
    check "3 guests in the drain" eq "$(dr_get 'd["guests_total"]')" 3
    check "3 guests done" eq "$(dr_get 'd["guests_done"]')" 3
    check "no guest failed" eq "$(dr_get 'd["guests_failed"]')" 0
    check "ended_at <= deadline_at" eq "$(dr_get '(d["ended_at"] is not None and
        d["ended_at"] <= d["deadline_at"])')" true
    for g in "$dr_idle" "$dr_half" "$dr_busy"; do
        u=${uuid_of[$g]}
        uuid=$(dr_guest "$u" migration_uuid)
        echo "    $g: $(dr_get "[('%s to %s, %s, predicted %s s, took %s s' % (g['state'],
            g['dest_compute'], g['mode'], g['predicted_duration_s'], g['actual_duration_s']))
            for g in d['guests'] if g['instance_uuid'] == '$u'][0]"); migration $uuid" \
            "$(field status), post_copy $(field post_copy), downtime $(field downtime_ms) ms"
        check "$g: its drain entry is done" eq "$(dr_guest "$u" state)" "done"
        check "$g: its migration completed" eq "$(field status)" completed
        check "$g: the migration went to host-b" eq "$(field dest_compute)" "$MD_HOST_B_NAME"
        check "$g: runs on host-b" eq "$(dom_state "$MD_HOST_B_URI" "$g")" running
        check "$g: gone from host-a" eq "$(dom_state "$MD_HOST_A_URI" "$g")" absent
        case $g in
            "$dr_busy")
                check "$g: planned post-copy" eq "$(dr_guest "$u" mode)" post-copy
                check "$g: completed in post-copy" eq "$(field post_copy)" true ;;
            "$dr_idle")
                check "$g: planned pre-copy" eq "$(dr_guest "$u" mode)" pre-copy
                check "$g: completed in pre-copy" eq "$(field post_copy)" false ;;
            "$dr_half")
                check "$g: planned pre-copy" eq "$(dr_guest "$u" mode)" pre-copy
                md events "$uuid" >"$e2e_work/events"
                check "$g: in pre-copy, or in post-copy only as the policy's rescue" \
                    precopy_or_rescued ;;
        esac
    done
    check "the busy guest writes on, on host-b" writes_on "$dr_busy"
}
