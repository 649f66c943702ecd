#!/usr/bin/env bash
# A writer names a destination that is not among the node's peers: both
# POST /v1/os-migrations and Nova's os-migrateLive answer 400 with a message
# that lists the peers, and no record is created for the refused request,
# while a listed destination is accepted (202) and migrates. A daemon
# without peers accepts any destination, and says so in its log at start.
. "$(dirname "$0")/lib.sh"

FAULT_PORT=$(fault_port)
fault_config "$FAULT_DIR/m.conf" \
    'peers = ( { name = "node-b"; address = "127.0.0.2"; } );'
fault_start "$FAULT_DIR/m.conf"

fault_migrate 0
listed=$FAULT_UUID
fault_expect_eq "dest_host of the listed peer" 127.0.0.2 "$(fault_json 'j["migration"]["dest_host"]')"
before=$(fault_count_records)

fault_api POST /v1/os-migrations '{"migration": {"instance_name": "vm-1", "dest_compute": "node-x"}}'
fault_expect_code 400 "POST /v1 to node-x"
msg=$(fault_json 'j["badRequest"]["message"]')
case "$msg" in
*node-x*"configured peers are node-b"*) ;;
*) fault_fail "the 400's message does not name node-x and the peers: $msg" ;;
esac

FAULT_HEADERS=("X-OpenStack-Nova-API-Version: 2.30")
fault_api POST "/v2.1/servers/$(fault_domain_uuid 2)/action" \
    '{"os-migrateLive": {"host": "node-x", "block_migration": "auto"}}'
FAULT_HEADERS=()
fault_expect_code 400 "os-migrateLive to node-x"
msg=$(fault_json 'j["badRequest"]["message"]')
case "$msg" in
*"configured peers are node-b"*) ;;
*) fault_fail "os-migrateLive's 400 does not list the peers: $msg" ;;
esac

fault_expect_eq "records after the refused requests" "$before" "$(fault_count_records)"
fault_wait_status "$listed" 60 completed
fault_expect_eq "records at the end" 1 "$(fault_count_records)"
if grep -q "no peers are configured" "$FAULT_DIR/daemon.log"; then
    fault_fail "a daemon with peers warned that it has none"
fi
kill -TERM "$FAULT_PID"
wait "$FAULT_PID" 2>/dev/null || true

# Without peers: any destination, and a warning at every start.
fault_config "$FAULT_DIR/open.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/open.db\"; };"
fault_start "$FAULT_DIR/open.conf"
grep -q "no peers are configured" "$FAULT_DIR/daemon.log" ||
    fault_fail "a daemon without peers did not warn at start"
fault_api POST /v1/os-migrations '{"migration": {"instance_name": "vm-1", "dest_compute": "node-x"}}'
fault_expect_code 202 "POST to node-x without peers"
fault_log "node-x refused with the list (v1 and os-migrateLive), nothing recorded; node-b migrated"
