#!/usr/bin/env bash
# The database write-locked by another process for 15 s while migrations
# end: the daemon goes on (reads answer, the migrations end), says it is
# degraded (/healthcheck 503 with the reason) and refuses new writes with
# 503 instead of accepting what it cannot record; once the lock is gone
# every record catches up - without a restart - and writes are taken again.
. "$(dirname "$0")/lib.sh"

FAULT_PORT=$(fault_port)
db=$FAULT_DIR/m.db
# Three guests of 4 GiB on a 1 GiB/s link: each migration takes about 4 s,
# so they all end while the database is locked.
fault_config "$FAULT_DIR/m.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$db\"; max_concurrent_live_migrations = 3; };" \
    "simulator: { time_scale = 1.0; link_mibps = 1024; domains = $(fault_domains 4 4096 0 0); };"
fault_start "$FAULT_DIR/m.conf"

# Three migrations start; then, before they end, another process takes the
# write lock and holds it for 15 s.
uuids=()
for i in 0 1 2; do
    fault_migrate "$i"
    uuids+=("$FAULT_UUID")
done
lock_fifo=$FAULT_DIR/lock.fifo
mkfifo "$lock_fifo"
sqlite3 "$db" <"$lock_fifo" >/dev/null 2>&1 &
locker=$!
exec 7>"$lock_fifo"
fault_at_exit "exec 7>&-; kill $locker 2>/dev/null"
echo "BEGIN IMMEDIATE;" >&7
# The lock is held once another writer is refused.
for _ in $(seq 1 50); do
    sqlite3 -cmd ".timeout 0" "$db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1 || break
    sleep 0.1
done
locked_at=$SECONDS
for u in "${uuids[@]}"; do
    s=$(fault_status "$u")
    [ "$s" != completed ] || fault_fail "migration $u ended before the lock was taken: make the guests larger"
done

# While locked: degraded, new writes refused, reads answer at once.
degraded=0
for _ in $(seq 1 50); do
    fault_api GET /healthcheck
    if [ "$FAULT_CODE" = 503 ] && [ "$(fault_json 'j["status"]')" = degraded ]; then
        degraded=1
        break
    fi
    sleep 0.2
done
[ "$degraded" = 1 ] || fault_fail "/healthcheck never said degraded while the database was locked"
fault_log "health: $FAULT_BODY"
fault_expect_eq "the reason names the lock" true "$(fault_json '"locked" in j["reason"]')"
fault_api POST /v1/os-migrations '{"migration": {"instance_name": "vm-3", "dest_compute": "node-b"}}'
fault_expect_code 503 "POST while degraded"
fault_api DELETE "/v1/os-migrations/${uuids[0]}"
fault_expect_code 503 "DELETE while degraded"

# The migrations end all the same, seen through the API, before the lock goes.
for u in "${uuids[@]}"; do
    fault_wait_status "$u" 14 completed
done
[ $((SECONDS - locked_at)) -lt 15 ] || fault_fail "the migrations ended only after the lock was released"
fault_api GET "/v1/os-migrations"
fault_expect_code 200 "list while locked"
# Not yet in the file: the store still says they run.
in_file=$(sqlite3 -cmd ".timeout 0" "$db" "SELECT count(*) FROM migrations WHERE state = 'completed';" 2>/dev/null || echo "?")
fault_log "completed in the file while locked: $in_file"

# Hold the lock to 15 s, then release it.
while [ $((SECONDS - locked_at)) -lt 15 ]; do sleep 0.5; done
echo "COMMIT;" >&7
exec 7>&-
wait "$locker" 2>/dev/null || true

# Caught up without a restart: health ok, every record in the file final.
for _ in $(seq 1 100); do
    fault_api GET /healthcheck
    [ "$FAULT_CODE" = 200 ] && break
    sleep 0.2
done
fault_expect_code 200 "health after the lock"
fault_expect_eq "status after the lock" ok "$(fault_json 'j["status"]')"
for u in "${uuids[@]}"; do
    fault_expect_eq "migration $u in the file" completed \
        "$(sqlite3 "$db" "SELECT state FROM migrations WHERE uuid = '$u';")"
    fault_expect_eq "its completion event in the file" 1 \
        "$(sqlite3 "$db" "SELECT count(*) FROM events e JOIN migrations m ON m.id = e.migration_id WHERE m.uuid = '$u' AND e.kind = 'state' AND e.message LIKE '%completed%';")"
done
fault_expect_eq "records" "${#uuids[@]}" "$(fault_count_records)"
fault_migrate 3
fault_wait_status "$FAULT_UUID" 20 completed
fault_log "${#uuids[@]} migrations ended under a 15 s lock and caught up after it; writes taken again"
