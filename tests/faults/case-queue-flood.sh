#!/usr/bin/env bash
# A flood of requests past service.max_queued_migrations: the requests past
# the cap get 429 overLimit with a message that names the key, nothing is
# half-created, and the node takes requests again once the queue moves.
# A request for an instance this node does not have gets 404 and leaves no
# record either.
. "$(dirname "$0")/lib.sh"

FAULT_PORT=$(fault_port)
# One worker and guests that never converge (nova policy, no timeouts):
# the first migration runs until aborted, the others queue behind it.
fault_config "$FAULT_DIR/m.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/m.db\"; max_concurrent_live_migrations = 1; max_queued_migrations = 5; };" \
    "simulator: { time_scale = 1.0; link_mibps = 256; domains = $(fault_domains 10 4096 4096 2048); };" \
    'libvirt: { live_migration_policy = "nova"; live_migration_completion_timeout = 0; live_migration_progress_timeout = 0; };'
fault_start "$FAULT_DIR/m.conf"

fault_migrate 0
first=$FAULT_UUID
fault_wait_status "$first" 20 running
for i in 1 2 3 4 5; do fault_migrate "$i"; done
fault_expect_eq "records after filling the queue" 6 "$(fault_count_records)"

# Past the cap, in parallel: every one refused, none created.
flood=()
for i in 6 7 8 9; do
    curl -s -o "$FAULT_DIR/flood.$i" -w '%{http_code}\n' --max-time 10 \
        -H 'Content-Type: application/json' -X POST \
        --data-binary "{\"migration\": {\"instance_name\": \"vm-$i\", \"dest_compute\": \"node-b\"}}" \
        "http://127.0.0.1:$FAULT_PORT/v1/os-migrations" >"$FAULT_DIR/flood.$i.code" &
    flood+=($!)
done
wait "${flood[@]}"
for i in 6 7 8 9; do
    fault_expect_eq "POST vm-$i past the cap" 429 "$(cat "$FAULT_DIR/flood.$i.code")"
    FAULT_BODY=$(cat "$FAULT_DIR/flood.$i")
    fault_expect_eq "fault name" true "$(fault_json '"overLimit" in j')"
    fault_expect_eq "message names the key" true \
        "$(fault_json '"max_queued_migrations" in j["overLimit"]["message"]')"
done
# Nova's route is capped the same way ("auto" needs microversion 2.25).
FAULT_HEADERS=("X-OpenStack-Nova-API-Version: 2.30")
fault_api POST "/v2.1/servers/$(fault_domain_uuid 6)/action" \
    '{"os-migrateLive": {"host": "node-b", "block_migration": "auto"}}'
fault_expect_code 429 "os-migrateLive past the cap"
FAULT_HEADERS=()
fault_expect_eq "records after the flood" 6 "$(fault_count_records)"

# An instance this node does not have: 404, no record.
fault_api POST /v1/os-migrations '{"migration": {"instance_name": "vm-nowhere", "dest_compute": "node-b"}}'
fault_expect_code 404 "POST for an unknown instance"
FAULT_HEADERS=("X-OpenStack-Nova-API-Version: 2.30")
fault_api POST "/v2.1/servers/0badc0de-0000-4000-8000-000000000000/action" \
    '{"os-migrateLive": {"host": "node-b", "block_migration": "auto"}}'
fault_expect_code 404 "os-migrateLive for an unknown server"
FAULT_HEADERS=()
fault_expect_eq "records after the unknown instances" 6 "$(fault_count_records)"

# The queue moves (the running one is aborted, a queued one starts): room
# for one more.
fault_api DELETE "/v1/os-migrations/$first"
fault_expect_code 202 "abort of the running migration"
fault_wait_status "$first" 20 cancelled
fault_migrate 6
fault_expect_eq "records at the end" 7 "$(fault_count_records)"
fault_log "4 of 4 past the cap refused with 429, unknown instances 404, no record lost or invented"
