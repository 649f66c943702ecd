#!/usr/bin/env bash
# A drain in progress and the daemon killed with SIGKILL: restarted on the
# same database, the drain goes on where it was and ends completed with every
# guest done; no guest is migrated twice (a guest has one migration record,
# or two when its first attempt did not complete and the drain retried it,
# and never two completed ones); the drain's events say it was resumed.
#
# The simulator starts afresh at the restart: the guests that had already
# left are listed on node-a again and the jobs in progress are gone. So the
# drain must take "done" from its own records, not from the hypervisor, and
# a guest whose migration the kill interrupted ends done only through a
# migration that completed after the restart.
. "$(dirname "$0")/lib.sh"

n=8
FAULT_PORT=$(fault_port)
# 8 guests of 1 to 8 GiB, a quarter idle, the others dirtying up to twice
# the 512 MiB/s links; at time_scale 2 the drain takes some 20 s, long
# enough to be killed between two of its migrations' ends.
fault_config "$FAULT_DIR/m.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/m.db\"; max_concurrent_live_migrations = 2; };" \
    "simulator: { time_scale = 2.0; link_mibps = 512; domains = $(fault_domains_mixed $n 7 512); };" \
    "$(fault_peers 2 512)"
fault_start "$FAULT_DIR/m.conf"

fault_api POST /v1/drains '{"drain": {"destinations": ["node-b", "node-c"], "deadline_s": 600,
    "permit_post_copy": true, "max_parallel": 2}}'
fault_expect_code 202 "POST /v1/drains"
drain=$(fault_json 'j["drain"]["uuid"]')

# drain_field EXPR: EXPR of GET /v1/drains/{drain}'s "drain" object (d).
drain_field() {
    fault_api GET "/v1/drains/$drain"
    fault_expect_code 200 "GET the drain"
    fault_json "(lambda d: $1)(j[\"drain\"])"
}

# Kill it once a guest is done and another one is migrating.
deadline=$((SECONDS + 60))
while :; do
    [ $SECONDS -le $deadline ] || fault_fail "no guest done with another migrating within 60 s"
    if [ "$(drain_field 'd["guests_done"] >= 1 and
            any(g["state"] == "migrating" for g in d["guests"])')" = true ]; then
        break
    fi
    sleep 0.1
done
before=$(drain_field 'd["guests_done"]')
kill -KILL "$FAULT_PID"
wait "$FAULT_PID" 2>/dev/null || true
fault_log "killed with $before guest(s) done"

fault_start "$FAULT_DIR/m.conf"
fault_expect_eq "drain in progress after the restart" true \
    "$(drain_field 'd["state"] in ("planning", "running")')"
fault_expect_eq "the guests done before the kill are still done" true \
    "$(drain_field "d[\"guests_done\"] >= $before")"

deadline=$((SECONDS + 120))
while [ "$(drain_field 'd["state"] in ("planning", "running")')" = true ]; do
    [ $SECONDS -le $deadline ] || fault_fail "drain still in progress 120 s after the restart"
    sleep 0.5
done
fault_expect_eq "drain state" completed "$(drain_field 'd["state"]')"
fault_expect_eq "guests done" $n "$(drain_field 'd["guests_done"]')"
fault_expect_eq "guests failed" 0 "$(drain_field 'd["guests_failed"]')"
fault_expect_eq "every guest's entry done" true \
    "$(drain_field 'all(g["state"] == "done" for g in d["guests"])')"

# The migration records: per guest one, or two when the first did not
# complete; never two completed ones; the drain's entry names the completed.
fault_api GET "/v1/os-migrations?limit=1000"
fault_expect_code 200 "list"
records=$FAULT_BODY
fault_api GET "/v1/drains/$drain"
FAULT_BODY=$(printf '{"records": %s, "drain": %s}' "$records" "$FAULT_BODY")
bad=$(fault_json '[
    "%s: %d record(s), %d completed, entry names %s" % (g["instance_uuid"], len(ms),
        sum(m["status"] == "completed" for m in ms), g["migration_uuid"])
    for g in j["drain"]["drain"]["guests"]
    for ms in [[m for m in j["records"]["migrations"] if m["instance_uuid"] == g["instance_uuid"]]]
    if not (1 <= len(ms) <= 2
            and sum(m["status"] == "completed" for m in ms) == 1
            and any(m["uuid"] == g["migration_uuid"] and m["status"] == "completed" for m in ms))]')
fault_expect_eq "guests migrated other than once" "[]" "$bad"
nrec=$(fault_json 'len(j["records"]["migrations"])')

# The restart is in the drain's timeline.
fault_api GET "/v1/drains/$drain/events"
fault_expect_code 200 "drain events"
fault_expect_eq "an event about the restart" true \
    "$(fault_json 'any(any(w in (e["kind"] + " " + e["message"]).lower()
        for w in ("restart", "resum", "recover")) for e in j["events"])')"
fault_log "$(fault_json '[e["kind"] + ": " + e["message"] for e in j["events"]
    if any(w in (e["kind"] + " " + e["message"]).lower() for w in ("restart", "resum", "recover"))][0]')"
fault_log "completed after SIGKILL and restart: $n guests done, each migrated once" \
    "($nrec migration records: $((nrec - n)) retried)"
