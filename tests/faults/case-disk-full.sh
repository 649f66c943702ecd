#!/usr/bin/env bash
# The disk under the database fills up (a small tmpfs) while migrations
# run: they end all the same, /healthcheck says degraded with SQLite's
# reason, new requests get 503 and nothing half-created; once space is
# freed the records catch up without a restart. Needs root (mount).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || fault_fail "needs root to mount a tmpfs"
FAULT_PORT=$(fault_port)
mnt=$FAULT_DIR/disk
mkdir "$mnt"
mount -t tmpfs -o size=4m tmpfs "$mnt"
fault_at_exit "umount -l '$mnt'"
db=$mnt/m.db
fault_config "$FAULT_DIR/m.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$db\"; max_concurrent_live_migrations = 3; };" \
    "simulator: { time_scale = 1.0; link_mibps = 1024; domains = $(fault_domains 4 6144 0 0); };"
fault_start "$FAULT_DIR/m.conf"

uuids=()
for i in 0 1 2; do
    fault_migrate "$i"
    uuids+=("$FAULT_UUID")
done
# Fill every byte that is left (dd stops with "No space left on device").
dd if=/dev/zero of="$mnt/filler" bs=64k >/dev/null 2>&1 || true
fault_log "disk: $(df -h "$mnt" | tail -1)"

degraded=0
for _ in $(seq 1 60); do
    fault_api GET /healthcheck
    if [ "$FAULT_CODE" = 503 ]; then degraded=1; break; fi
    sleep 0.2
done
[ "$degraded" = 1 ] || fault_fail "/healthcheck never said degraded on a full disk"
fault_log "health: $FAULT_BODY"
fault_api POST /v1/os-migrations '{"migration": {"instance_name": "vm-3", "dest_compute": "node-b"}}'
fault_expect_code 503 "POST on a full disk"
for u in "${uuids[@]}"; do
    fault_wait_status "$u" 30 completed
done
fault_expect_eq "records while full" 3 "$(fault_count_records)"

rm -f "$mnt/filler"
for _ in $(seq 1 100); do
    fault_api GET /healthcheck
    [ "$FAULT_CODE" = 200 ] && break
    sleep 0.2
done
fault_expect_code 200 "health once space is back"
for u in "${uuids[@]}"; do
    fault_expect_eq "migration $u in the file" completed \
        "$(sqlite3 "$db" "SELECT state FROM migrations WHERE uuid = '$u';")"
done
fault_migrate 3
fault_wait_status "$FAULT_UUID" 30 completed
fault_expect_eq "records at the end" 4 "$(fault_count_records)"
fault_log "3 migrations ended on a full disk and caught up once space was freed"
