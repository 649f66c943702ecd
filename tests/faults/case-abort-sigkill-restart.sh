#!/usr/bin/env bash
# An abort accepted (202) and then the daemon killed with SIGKILL before or
# while it carries the abort out: after a restart the migration ends
# "cancelled" (not failed, not lost). (Where the guest runs is the point of
# the end-to-end scenarios on real libvirt; the simulator starts afresh.)
. "$(dirname "$0")/lib.sh"

FAULT_PORT=$(fault_port)
# A guest that dirties memory faster than the link copies it never
# converges, so the migration is still running when the abort comes.
fault_config "$FAULT_DIR/m.conf" \
    "simulator: { time_scale = 1.0; link_mibps = 256; domains = $(fault_domains 2 4096 4096 2048); };" \
    'libvirt: { live_migration_policy = "nova"; live_migration_completion_timeout = 0; live_migration_progress_timeout = 0; };'
fault_start "$FAULT_DIR/m.conf"

fault_migrate 0
uuid=$FAULT_UUID
fault_wait_status "$uuid" 20 running
fault_api DELETE "/v1/os-migrations/$uuid"
fault_expect_code 202 "DELETE of a running migration"
kill -KILL "$FAULT_PID"
wait "$FAULT_PID" 2>/dev/null || true

fault_start "$FAULT_DIR/m.conf"
fault_wait_status "$uuid" 30 cancelled failed error completed
fault_expect_eq "status after restart" cancelled "$(fault_status "$uuid")"
fault_api GET "/v1/os-migrations/$uuid/events"
fault_expect_code 200 "events"
fault_expect_eq "records" 1 "$(fault_count_records)"
fault_log "cancelled after SIGKILL and restart, one record"
