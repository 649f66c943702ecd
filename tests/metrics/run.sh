#!/usr/bin/env bash
# run.sh - migrationd's GET /metrics scraped by a real Prometheus (Debian's 2.42).
#
#   bash tests/metrics/run.sh [BUILD_DIR]        (default: build)
#
# Checks the sample configuration and alert rules of etc/prometheus/ with
# promtool (check config, check rules, and the rule tests of
# alerts_test.yml), then starts migrationd on the simulator and a
# Prometheus on loopback that scrapes it every second with that sample
# configuration, drives migrations to completed, cancelled (queued and
# running) and - across a SIGKILL and a restart - failed, and asks
# Prometheus's HTTP API (/api/v1/query, /api/v1/alerts) for the series and
# values that should follow, including the label values a quoted instance
# name must keep, the counters' reset at the restart, and the failure
# alert. `promtool check metrics` reads a page with a migration in
# progress. It also locks the database to check that /metrics answers,
# and says degraded, while the store cannot be written, and checks with a
# second daemon (Keystone authentication) that the page needs no token
# from loopback and one from another address. Last, a drain of two guests:
# its series while it runs (promtool reads that page too), and its end.
#
# Installs the packages group "metrics" (tests/support/packages.sh) when
# missing. Uses tests/faults/lib.sh for the daemons; everything it starts
# is stopped at exit. About 40 s.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
# shellcheck source=tests/support/packages.sh
. "$top/tests/support/packages.sh"
md_install_groups metrics
MD_BUILD=$(cd "$build" && pwd)
export MD_BUILD
# shellcheck source=tests/faults/lib.sh
. "$top/tests/faults/lib.sh"
FAULT_NAME=metrics
# Each step with the seconds since the start: the whole should stay near
# half a minute.
fault_log() { echo "  $FAULT_NAME (${SECONDS}s): $*"; }

# ---- the sample configuration and rules, by promtool -------------------------

prom=$FAULT_DIR/prometheus
mkdir -p "$prom"
cp "$top/etc/prometheus/migrationd-scrape.yml" "$top/etc/prometheus/migrationd-alerts.yml" \
    "$top/tests/metrics/alerts_test.yml" "$prom/"
promtool check config "$prom/migrationd-scrape.yml" >/dev/null ||
    fault_fail "promtool check config etc/prometheus/migrationd-scrape.yml"
promtool check rules "$prom/migrationd-alerts.yml" >/dev/null ||
    fault_fail "promtool check rules etc/prometheus/migrationd-alerts.yml"
(cd "$prom" && promtool test rules alerts_test.yml >/dev/null) ||
    fault_fail "promtool test rules tests/metrics/alerts_test.yml"
fault_log "promtool: sample config, rules and rule tests pass"

# ---- a daemon with Keystone: no token from loopback, one from elsewhere -------

# Its Keystone is a port where nothing listens: it is never asked, since a
# request without a token is answered before any question to Keystone.
KS_PORT=$(fault_port)
FAULT_PORT=$KS_PORT
fault_config "$FAULT_DIR/ks.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/ks.db\"; };" \
    "api: { listen = \"0.0.0.0:$KS_PORT\"; auth_strategy = \"keystone\"; };" \
    'keystone: { auth_url = "http://127.0.0.1:1/v3"; password = "unused"; };'
fault_start "$FAULT_DIR/ks.conf"
fault_api GET /metrics
fault_expect_code 200 "GET /metrics from loopback under Keystone"
# Another address of this host, when it has one, is not loopback.
other=$(ip -o -4 addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
if [ -n "$other" ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$other:$KS_PORT/metrics" ||
        true)
    fault_expect_eq "GET /metrics from $other without a token" 401 "$code"
    fault_log "Keystone daemon: /metrics 200 from loopback, 401 from $other"
else
    fault_log "no address but loopback: the remote refusal is not checked here"
fi

# ---- the daemon the migrations run on ---------------------------------------------

MD_PORT=$(fault_port)
FAULT_PORT=$MD_PORT
db=$FAULT_DIR/m.db
# One worker, so that a second migration waits in the queue. The peers:
# node-b on the simulator's link, node-c on a 512 MiB/s one, slow enough
# for the drain at the end to be scraped while it runs. vm-0 and vm-4
# are idle (about 1 and 2 s on the 1 GiB/s link); vm-1 and vm-3 dirty
# memory faster than the link copies it and never converge (the Nova
# policy without timeouts takes no action that would end them), so they
# run until aborted or killed. vm-1's name has a double quote and a
# backslash, which the page must escape and Prometheus give back whole.
vm1_name='vm "q" \ 1'
vm1_conf='vm \"q\" \\ 1'
doms="( { name = \"vm-0\"; uuid = \"$(fault_domain_uuid 0)\"; ram_mib = 1024; working_set_mib = 0; dirty_mibps = 0; }"
doms+=", { name = \"$vm1_conf\"; uuid = \"$(fault_domain_uuid 1)\"; ram_mib = 4096; working_set_mib = 4096; dirty_mibps = 4096; }"
doms+=", { name = \"vm-2\"; uuid = \"$(fault_domain_uuid 2)\"; ram_mib = 1024; working_set_mib = 0; dirty_mibps = 0; }"
doms+=", { name = \"vm-3\"; uuid = \"$(fault_domain_uuid 3)\"; ram_mib = 4096; working_set_mib = 4096; dirty_mibps = 4096; }"
doms+=", { name = \"vm-4\"; uuid = \"$(fault_domain_uuid 4)\"; ram_mib = 2048; working_set_mib = 0; dirty_mibps = 0; } )"
fault_config "$FAULT_DIR/m.conf" \
    "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$db\"; max_concurrent_live_migrations = 1; };" \
    "simulator: { time_scale = 1.0; link_mibps = 1024; domains = $doms; };" \
    'libvirt: { live_migration_policy = "nova"; live_migration_completion_timeout = 0; live_migration_progress_timeout = 0; };' \
    'peers = ( { name = "node-b"; address = "127.0.0.2"; }, { name = "node-c"; address = "127.0.0.3"; bandwidth_mibps = 512; } );'
fault_start "$FAULT_DIR/m.conf"

# ---- Prometheus, with the sample configuration -------------------------------------

# The sample as shipped, pointed at this daemon, every second; plus the
# Keystone daemon as a second job.
PROM_PORT=$(fault_port)
sed -e "s/127.0.0.1:8775/127.0.0.1:$MD_PORT/" -e 's/scrape_interval: 15s/scrape_interval: 1s/' \
    -e 's/evaluation_interval: 15s/evaluation_interval: 1s/' -e 's/scrape_timeout: 10s/scrape_timeout: 1s/' \
    "$prom/migrationd-scrape.yml" >"$prom/prometheus.yml"
cat >>"$prom/prometheus.yml" <<EOF
  - job_name: migrationd-keystone
    static_configs:
      - targets: ["127.0.0.1:$KS_PORT"]
EOF
grep -q "127.0.0.1:$MD_PORT" "$prom/prometheus.yml" || fault_fail "the sample's target was not found"
prometheus --config.file="$prom/prometheus.yml" --storage.tsdb.path="$prom/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$prom/prometheus.log" &
FAULT_PIDS+=($!)
fault_at_exit "[ \$rc -eq 0 ] || tail -20 '$prom/prometheus.log' >&2"
for _ in $(seq 1 100); do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" && break
    sleep 0.2
done
curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" ||
    fault_fail "Prometheus did not become ready within 20 s"

# prom_query EXPR prints the instant query's result as one line per series:
# the labels as JSON (sorted, without the name and the target's job and
# instance) and the
# value; nothing for an empty result.
prom_query() {
    curl -s --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
        python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    sys.exit("query failed: %s" % d)
for r in d["data"]["result"]:
    m = {k: v for k, v in r["metric"].items() if k not in ("__name__", "job", "instance")}
    print(json.dumps(m, sort_keys=True), r["value"][1])'
}

# prom_value EXPR prints the value of an expression with one result, "none"
# for an empty one and "many" for more than one (a selector that forgot the
# job: the Keystone daemon's series match too).
prom_value() {
    local out
    out=$(prom_query "$1")
    if [ -z "$out" ]; then
        echo none
    elif [ "$(wc -l <<<"$out")" -gt 1 ]; then
        echo many
    else
        echo "${out##* }"
    fi
}

# prom_wait EXPR WANT: waits (up to 20 s: Prometheus scrapes every second)
# until prom_value EXPR prints WANT.
prom_wait() {
    local v deadline=$((SECONDS + 20))
    while [ $SECONDS -le $deadline ]; do
        v=$(prom_value "$1")
        [ "$v" = "$2" ] && return 0
        sleep 0.3
    done
    fault_fail "Prometheus: $1 = '$v', expected '$2'"
}

prom_wait 'up{job="migrationd"}' 1
prom_wait 'migrationd_build_info{job="migrationd"}' 1
# The Keystone daemon was scraped from loopback without a token.
prom_wait 'up{job="migrationd-keystone"}' 1
fault_log "Prometheus scrapes both daemons"

# ---- completed, then one running with one queued -----------------------------------

fault_migrate 0
u0=$FAULT_UUID
fault_wait_status "$u0" 20 completed
fault_api POST /v1/os-migrations "{\"migration\": {\"instance_name\": \"vm \\\"q\\\" \\\\ 1\", \"dest_compute\": \"node-b\"}}"
fault_expect_code 202 "POST for vm-1"
u1=$(fault_json 'j["migration"]["uuid"]')
fault_migrate 2
u2=$FAULT_UUID
fault_wait_status "$u1" 20 running

prom_wait 'migrationd_migrations_running{job="migrationd"}' 1
prom_wait 'migrationd_migrations_queued{job="migrationd"}' 1
# vm-1's series: its labels as written, its size, progress under way.
q="{job=\"migrationd\", uuid=\"$u1\"}"
want=$(python3 -c 'import json, sys; print(json.dumps({"uuid": sys.argv[1], "instance_uuid": sys.argv[2], "instance_name": sys.argv[3], "destination": "node-b", "state": "running"}, sort_keys=True))' \
    "$u1" "$(fault_domain_uuid 1)" "$vm1_name")
prom_wait "migrationd_migration_memory_total_bytes$q" 4294967296
got=$(prom_query "migrationd_migration_memory_total_bytes$q")
fault_expect_eq "vm-1's labels in Prometheus" "$want 4294967296" "$got"
prom_wait "migrationd_migration_memory_processed_bytes$q > bool 0" 1
prom_wait "migrationd_migration_transfer_rate_bytes_per_second$q > bool 0" 1
prom_wait "migrationd_migration_memory_dirty_rate_bytes_per_second$q > bool 0" 1
prom_wait "migrationd_migration_data_total_bytes$q - migrationd_migration_data_remaining_bytes$q - migrationd_migration_data_processed_bytes$q <= bool 0" 1
prom_wait "migrationd_migration_progress_ratio$q >= bool 0 and migrationd_migration_progress_ratio$q < bool 1" 1
prom_wait "migrationd_migration_created_timestamp_seconds$q > bool (time() - 120)" 1
# The queued one has its series too, in state queued.
prom_wait "count(migrationd_migration_progress_ratio{job=\"migrationd\", uuid=\"$u2\", state=\"queued\"})" 1
# The exact selector PromQL needs for the name (backslash-escaped).
prom_wait 'count(migrationd_migration_progress_ratio{instance_name="vm \"q\" \\ 1"})' 1
fault_log "a running and a queued migration, with their labels, in Prometheus"

# promtool reads the page as it is with migrations in progress.
curl -s --max-time 10 "http://127.0.0.1:$MD_PORT/metrics" >"$FAULT_DIR/page.txt"
promtool check metrics <"$FAULT_DIR/page.txt" >"$FAULT_DIR/lint.txt" 2>&1 ||
    fault_fail "promtool check metrics: $(cat "$FAULT_DIR/lint.txt")"
grep -q "uuid=\"$u1\"" "$FAULT_DIR/page.txt" || fault_fail "the page lacks the running migration"
fault_log "promtool check metrics passes on a page with migrations in progress"

# ---- cancelled: the queued one, then the running one -------------------------------

fault_api DELETE "/v1/os-migrations/$u2"
fault_expect_code 202 "DELETE of the queued migration"
fault_api DELETE "/v1/os-migrations/$u1"
fault_expect_code 202 "DELETE of the running migration"
fault_wait_status "$u1" 20 cancelled
fault_wait_status "$u2" 5 cancelled
prom_wait 'migrationd_migrations_ended_total{job="migrationd", state="completed"}' 1
prom_wait 'migrationd_migrations_ended_total{job="migrationd", state="cancelled"}' 2
prom_wait 'migrationd_migrations_ended_total{job="migrationd", state="failed"}' 0
prom_wait 'migrationd_commands_total{job="migrationd", command="abort"}' 2
prom_wait 'migrationd_migrations_created_total{job="migrationd"}' 3
prom_wait 'migrationd_migration_downtime_seconds_count{job="migrationd"}' 1
prom_wait 'migrationd_migration_downtime_seconds_bucket{job="migrationd", le="+Inf"}' 1
prom_wait 'migrationd_migration_duration_seconds_count{job="migrationd", state="cancelled"}' 2
prom_wait 'migrationd_migration_duration_seconds_bucket{job="migrationd", state="completed", le="+Inf"}' 1
prom_wait 'migrationd_migrations_running{job="migrationd"}' 0
prom_wait 'count(migrationd_migration_progress_ratio{job="migrationd"}) or vector(0)' 0
fault_log "ended completed 1, cancelled 2; downtime and duration histograms; no migration left"

# ---- failed, across a SIGKILL and a restart ----------------------------------------

# The simulator's job does not outlive the process: the restarted daemon
# finds vm-3 on the source with no job and settles the record failed.
fault_migrate 3
u3=$FAULT_UUID
fault_wait_status "$u3" 20 running
prom_wait "count(migrationd_migration_progress_ratio{uuid=\"$u3\"})" 1
kill -KILL "$FAULT_PID"
wait "$FAULT_PID" 2>/dev/null || true
prom_wait 'up{job="migrationd"}' 0
fault_start "$FAULT_DIR/m.conf"
fault_wait_status "$u3" 20 failed error
end3=$(fault_status "$u3")
prom_wait 'up{job="migrationd"}' 1
prom_wait "migrationd_migrations_ended_total{job=\"migrationd\", state=\"$end3\"}" 1
# The counters started again from zero (Prometheus sees one reset), so the
# cancelled ones are no longer in the count, but are in increase().
prom_wait 'migrationd_migrations_ended_total{job="migrationd", state="cancelled"}' 0
prom_wait 'resets(migrationd_migrations_ended_total{job="migrationd", state="cancelled"}[5m])' 1
prom_wait 'increase(migrationd_migrations_ended_total{job="migrationd", state="cancelled"}[5m]) >= bool 2' 1
# The sample's rule: failures in the last hour.
deadline=$((SECONDS + 20))
firing=""
while [ $SECONDS -le $deadline ] && [ -z "$firing" ]; do
    firing=$(curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/alerts" | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    if a["labels"]["alertname"] == "MigrationdMigrationsFailed" and a["state"] == "firing":
        print(a["labels"]["state"])')
    [ -n "$firing" ] || sleep 0.5
done
fault_expect_eq "MigrationdMigrationsFailed firing" "$end3" "$firing"
fault_log "vm-3 ended $end3 after the restart; counters reset; the failure alert fires"

# ---- the database locked: /metrics answers and says degraded -----------------------

fault_migrate 4
u4=$FAULT_UUID
lock_fifo=$FAULT_DIR/lock.fifo
mkfifo "$lock_fifo"
sqlite3 "$db" <"$lock_fifo" >/dev/null 2>&1 &
locker=$!
exec 7>"$lock_fifo"
fault_at_exit "exec 7>&-; kill $locker 2>/dev/null"
echo "BEGIN IMMEDIATE;" >&7
# vm-4 ends (about 2 s) while the lock is held: its state changes cannot
# be written and the daemon degrades.
fault_wait_status "$u4" 20 completed
deadline=$((SECONDS + 20))
while [ $SECONDS -le $deadline ]; do
    fault_api GET /healthcheck
    [ "$FAULT_CODE" = 503 ] && break
    sleep 0.2
done
fault_expect_code 503 "/healthcheck while the database is locked"
fault_api GET /metrics
fault_expect_code 200 "GET /metrics while degraded"
grep -q '^migrationd_store_degraded 1$' <<<"$FAULT_BODY" ||
    fault_fail "/metrics while degraded does not say migrationd_store_degraded 1"
grep -q '^migrationd_store_pending_writes [1-9]' <<<"$FAULT_BODY" ||
    fault_fail "/metrics while degraded shows no pending writes"
prom_wait 'migrationd_store_degraded{job="migrationd"}' 1
echo "ROLLBACK;" >&7
exec 7>&-
wait "$locker" 2>/dev/null || true
prom_wait 'migrationd_store_degraded{job="migrationd"}' 0
prom_wait 'migrationd_store_pending_writes{job="migrationd"}' 0
prom_wait 'migrationd_migrations_ended_total{job="migrationd", state="completed"}' 1
fault_log "while the database was locked /metrics answered and said degraded; caught up after"

# ---- a drain: its series while it runs, its end counted ---------------------------

# vm-0 and vm-2 (idle, 1 GiB each; back on node-a since the restart) to
# node-c, one at a time at 512 MiB/s: about 2 s each after a 1 s
# measurement, so Prometheus scrapes it planning and running. The range
# queries look back over the drain once it has ended.
fault_api POST /v1/drains '{"drain": {"destinations": ["node-c"], "deadline_s": 600, "instances": ["vm-0", "vm-2"]}}'
fault_expect_code 202 "POST /v1/drains"
dr=$(fault_json 'j["drain"]["uuid"]')
q="{job=\"migrationd\", uuid=\"$dr\"}"
prom_wait "count(migrationd_drain_info$q)" 1
# promtool reads the page with a drain in progress.
curl -s --max-time 10 "http://127.0.0.1:$MD_PORT/metrics" >"$FAULT_DIR/page.txt"
grep -q "^migrationd_drain_guests{uuid=\"$dr\",state=\"remaining\"} " "$FAULT_DIR/page.txt" ||
    fault_fail "the page lacks the drain in progress"
promtool check metrics <"$FAULT_DIR/page.txt" >"$FAULT_DIR/lint.txt" 2>&1 ||
    fault_fail "promtool check metrics with a drain: $(cat "$FAULT_DIR/lint.txt")"
prom_wait 'migrationd_drains_ended_total{job="migrationd", state="completed"}' 1
fault_api GET "/v1/drains/$dr"
fault_expect_eq "the drain's state" completed "$(fault_json 'j["drain"]["state"]')"
prom_wait "max_over_time(migrationd_drain_guests{job=\"migrationd\", uuid=\"$dr\", state=\"remaining\"}[1m])" 2
prom_wait "max_over_time(migrationd_drain_guests{job=\"migrationd\", uuid=\"$dr\", state=\"failed\"}[1m])" 0
prom_wait "max_over_time(migrationd_drain_guests{job=\"migrationd\", uuid=\"$dr\", state=\"done\"}[1m]) >= bool 1" 1
prom_wait "count(max_over_time(migrationd_drain_info{job=\"migrationd\", uuid=\"$dr\", state=\"running\"}[1m]))" 1
# The deadline is 600 s after the request; the plan predicted an end
# before it (two idle guests, minutes to spare).
prom_wait "max_over_time(migrationd_drain_deadline_timestamp_seconds${q}[1m]) - time() > bool 500" 1
prom_wait "max_over_time(migrationd_drain_predicted_end_timestamp_seconds${q}[1m]) < bool max_over_time(migrationd_drain_deadline_timestamp_seconds${q}[1m])" 1
# Ended: its series are gone, and the other final states were there at 0.
prom_wait "count(migrationd_drain_info{job=\"migrationd\"}) or vector(0)" 0
prom_wait 'migrationd_drains_ended_total{job="migrationd", state="failed"}' 0
prom_wait 'migrationd_drains_ended_total{job="migrationd", state="partial"}' 0
fault_log "a drain's guests, deadline and prediction scraped while it ran; its end counted"

fault_log "passed"
