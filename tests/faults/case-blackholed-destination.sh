#!/usr/bin/env bash
# A destination that drops every packet (black-holed) while another
# migration is monitored: the migration to it fails within the 5 s
# reachability bound with a message that says so, and meanwhile the other
# migration's progress keeps moving (the monitor is not stalled), the API
# answers at once, and no record is lost or invented.
. "$(dirname "$0")/lib.sh"

FAULT_PORT=$(fault_port)
# node-c's address drops packets (the simulator's black hole); node-b works.
# vm-0 never converges (nova policy, no timeouts): it runs until aborted.
fault_config "$FAULT_DIR/m.conf" \
    "simulator: { time_scale = 1.0; link_mibps = 256; blackholed_hosts = \"192.0.2.50\"; domains = $(fault_domains 2 4096 4096 2048); };" \
    'libvirt: { live_migration_policy = "nova"; live_migration_completion_timeout = 0; live_migration_progress_timeout = 0; };' \
    'peers = ( { name = "node-b"; address = "127.0.0.2"; }, { name = "node-c"; address = "192.0.2.50"; } );'
fault_start "$FAULT_DIR/m.conf"

fault_migrate 0
busy=$FAULT_UUID
fault_wait_status "$busy" 20 running
fault_api POST /v1/os-migrations '{"migration": {"instance_name": "vm-1", "dest_compute": "node-c"}}'
fault_expect_code 202 "POST to the black-holed destination"
holed=$(fault_json 'j["migration"]["uuid"]')
start=$SECONDS

# While the worker waits on node-c: the busy migration's progress moves at
# every sample and the API answers at once.
fault_api GET "/v1/os-migrations/$busy"
before=$(fault_json 'j["migration"]["memory_processed_bytes"]')
sleep 2
t0=$(date +%s%N)
fault_api GET /healthcheck
t1=$(date +%s%N)
fault_expect_code 200 "/healthcheck while a destination is black-holed"
# A generous bound: what is tested is that nothing waits on the black hole.
[ $(((t1 - t0) / 1000000)) -lt 1000 ] || fault_fail "/healthcheck took $(((t1 - t0) / 1000000)) ms"
fault_api GET "/v1/os-migrations/$busy"
after=$(fault_json 'j["migration"]["memory_processed_bytes"]')
[ "$after" -gt "$before" ] || fault_fail "the busy migration's progress stood still ($before -> $after)"

fault_wait_status "$holed" 20 failed
# It waited for the reachability bound (5 s); a lower bound only, which a
# slow machine cannot break.
waited=$((SECONDS - start))
[ "$waited" -ge 4 ] || fault_fail "the black-holed migration failed after only $waited s"
fault_log "the black-holed migration failed after $waited s"
fault_api GET "/v1/os-migrations/$holed"
fault_expect_eq "its error says the destination does not answer" true \
    "$(fault_json '"does not answer" in j["migration"]["error"]')"
fault_expect_eq "the busy migration still runs" running "$(fault_status "$busy")"
fault_api DELETE "/v1/os-migrations/$busy"
fault_expect_code 202 "abort of the busy migration"
fault_wait_status "$busy" 20 cancelled
fault_expect_eq "records" 2 "$(fault_count_records)"
fault_log "monitor and API unaffected; both records final"
