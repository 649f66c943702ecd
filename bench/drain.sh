#!/usr/bin/env bash
# drain.sh - draining a node by a deadline on the simulated hypervisor: migrationd's drain
# (POST /v1/drains) against the two ways operators drain today, on the same guests and links.
#
# Usage (as root on Debian 12):   bash bench/drain.sh [--counts "10 30 100"]
#                                     [--strategies "drain nova kubevirt"] [--seed S]
#                                     [--link MIBPS] [--scale S] [--drain-scale S] [--jobs J]
#                                     [--cap SECONDS] [--deadline-factor F]
#   --counts      how many guests the node has, one run of each strategy per count
#   --strategies  which of the three (below) to run (default all)
#   --seed        the guests' seed (default 11): the same seed, the same guests on any machine
#   --link        each peer's link, MiB/s (default 1024, about 10 Gbit/s)
#   --scale       simulator.time_scale of the baselines (default 25)
#   --drain-scale simulator.time_scale of migrationd's drain (default 1, see "Time" below)
#   --jobs        runs at once (default 9: all of them; each daemon mostly sleeps)
#   --cap         real seconds a run may take before it is reported unfinished (default 900)
#   --deadline-factor  D as a multiple of the lower bound (default 1.3; below 1 no schedule
#                 meets it, which shows how a late drain trades post-copy for time)
# MD_NO_APT=1 skips the package step. The build goes to build-release/; MD_BUILD=DIR uses the
# migrationd already built in DIR instead (no package step, no build).
#
# Each run is its own migrationd (tests/faults/lib.sh: the simulator, a database and an API
# on a free loopback port) on node-a with N simulated guests from fault_domains_mixed (RAM 1
# to 8 GiB, working set 1/8 to 1/2 of it, a quarter idle, the rest dirtying up to twice the
# link) and two peers, node-b and node-c, each with bandwidth_mibps = --link (the simulator
# gives each destination that link, shared equally by the migrations running to it). The
# monitor samples every 50 ms (its minimum: Nova's 500 ms would be a sample every 12.5 s of
# simulated time at --scale 25). The strategies:
#   drain     migrationd: POST /v1/drains {destinations: [node-b, node-c], deadline_s: D,
#             permit_post_copy: true}, max_concurrent_live_migrations 4 (the drain's
#             max_parallel), policy adaptive (the default); the drain plans order,
#             parallelism, destinations and which guests switch to post-copy.
#   nova      novaclient's host-evacuate-live: one POST /v1/os-migrations per guest, all at
#             once, destinations alternating (the scheduler's spread), FIFO,
#             max_concurrent_live_migrations 1 (Nova's default), policy "nova" with every
#             other setting at its default (completion timeout 800 s/GiB, progress timeout
#             150 s, abort; Nova itself no longer has the progress timeout, which would only
#             keep its stuck guests longer), no post-copy.
#   kubevirt  KubeVirt's node drain: all at once, FIFO, 2 in parallel (its
#             parallelOutboundMigrationsPerNode), completion timeout 150 s/GiB
#             (completionTimeoutPerGiB), progress timeout 150 s, abort, no post-copy.
# D, the deadline, is the same for all three: 1.3 x the lower bound (every guest's RAM sent
# once over both links at full rate, which no schedule beats), rounded up to 10 s
# (--deadline-factor).
#
# Time: every number is in simulated seconds. A run's makespan is from the first request to
# the last migration's end, read from the records' created_at and updated_at (real time)
# times the run's time_scale. The simulator advances every 50 ms, so a migration's end is
# seen up to 0.05 x scale simulated seconds late (1.25 s at 25): the baselines, whose
# makespans are thousands of seconds, run at a higher scale. The drain runs at 1 by default,
# where its clock and its guests' agree. At another --drain-scale it is asked for D / scale
# wall-clock seconds (its engine keeps deadlines on the wall clock and scales its plans by
# time_scale), and its planning before the first migration (measuring the guests' dirty rates
# for 1 s of real time) counts in real seconds, unscaled, as it would on a real node; "met" is
# always the simulated makespan against D, not the record's verdict.
#
# Columns: guests moved (a completed migration) and failed (still on node-a); migrations
# (records; more than moved + failed means retries); post-copy (completed in post-copy);
# downtime (the sum of the completed migrations' downtime_ms, simulated ms); makespan and
# whether it is within D with every guest moved; for the drain the first plan's predicted
# makespan, its end state, the first plan's parallelism and how many guests were planned
# post-copy in the end.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

counts="10 30 100"
strategies="drain nova kubevirt"
seed=11
link=1024
scale=25
drain_scale=1
jobs=9
cap=900
deadline_factor=1.3
while [ $# -gt 0 ]; do
    case $1 in
        --counts) counts=$2; shift 2 ;;
        --strategies) strategies=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --link) link=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        --drain-scale) drain_scale=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --cap) cap=$2; shift 2 ;;
        --deadline-factor) deadline_factor=$2; shift 2 ;;
        *) echo "usage: $0 [--counts LIST] [--strategies LIST] [--seed S] [--link MIBPS]" \
               "[--scale S] [--drain-scale S] [--jobs J] [--cap SECONDS]" \
               "[--deadline-factor F]" >&2; exit 2 ;;
    esac
done
for s in $strategies; do
    [[ $s =~ ^(drain|nova|kubevirt)$ ]] || { echo "drain.sh: unknown strategy '$s'" >&2; exit 2; }
done
if ! [[ $deadline_factor =~ ^[0-9]+(\.[0-9]+)?$ ]] || [ "$(awk -v f="$deadline_factor" 'BEGIN { print (f > 0 && f <= 100) }')" != 1 ]; then
    echo "drain.sh: --deadline-factor is a number above 0 and at most 100, not '$deadline_factor'" >&2
    exit 2
fi
for n in $counts; do
    if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 1000 ]; then
        echo "drain.sh: a count is 1 to 1000, not '$n'" >&2
        exit 2
    fi
done

if [ -z "${MD_BUILD:-}" ]; then
    # shellcheck source=tests/support/packages.sh
    . tests/support/packages.sh
    if [ -z "${MD_NO_APT:-}" ]; then
        md_install_groups build test
    fi
    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DMIGRATIOND_TESTS=OFF >/dev/null
    cmake --build build-release -j "$(nproc)" --target migrationd >/dev/null
    MD_BUILD=$top/build-release
fi
export MD_BUILD
# shellcheck source=tests/faults/lib.sh
. tests/faults/lib.sh
bench_dir=$FAULT_DIR
bench_runs=()
# Every run is a background subshell with its own daemon; stop them all at exit (each one's
# own trap stops its daemon).
# shellcheck disable=SC2317  # called by the exit trap
bench_stop_runs() {
    local p
    for p in "${bench_runs[@]+"${bench_runs[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
fault_at_exit bench_stop_runs

# deadline_of N: --deadline-factor (1.3) x (the guests' RAM over both links), rounded up to
# 10 s.
deadline_of() {
    fault_domains_mixed "$1" "$seed" "$link" | grep -o 'ram_mib = [0-9]*' |
        awk -v l="$link" -v f="$deadline_factor" \
            '{ s += $3 } END { d = f * s / (2 * l); print 10 * int((d + 9.999) / 10) }'
}

# poll_until_final: every 2 s until the drain (strategy drain) or every record is final, or
# the cap. Returns 1 at the cap.
poll_until_final() {
    local start=$SECONDS ended
    while [ $((SECONDS - start)) -le "$cap" ]; do
        if [ "$strategy" = drain ]; then
            fault_api GET "/v1/drains/$drain_uuid"
            [ "$FAULT_CODE" = 200 ] || fault_fail "GET drain: $FAULT_CODE $FAULT_BODY"
            ended=$(fault_json 'j["drain"]["state"] not in ("planning", "running")')
        else
            fault_api GET "/v1/os-migrations?limit=1000"
            [ "$FAULT_CODE" = 200 ] || fault_fail "list: $FAULT_CODE $FAULT_BODY"
            ended=$(fault_json 'all(m["status"] in ("completed", "cancelled", "failed", "error")
                for m in j["migrations"])')
        fi
        [ "$ended" = true ] && return 0
        sleep 2
    done
    return 1
}

# summarize: one row from the records (and the drain), into $bench_dir/$strategy-$n.row.
summarize() {
    local finished=$1 drain_json="" events_json=""
    if [ "$strategy" = drain ]; then
        fault_api GET "/v1/drains/$drain_uuid"
        drain_json=$FAULT_BODY
        fault_api GET "/v1/drains/$drain_uuid/events?limit=1000"
        events_json=$FAULT_BODY
    fi
    fault_api GET "/v1/os-migrations?limit=1000"
    [ "$FAULT_CODE" = 200 ] || fault_fail "list: $FAULT_CODE $FAULT_BODY"
    BENCH_DRAIN=$drain_json BENCH_EVENTS=$events_json BENCH_LIST=$FAULT_BODY \
        python3 - "$strategy" "$n" "$run_scale" "$deadline" "$finished" "$t_request" \
        >"$bench_dir/$strategy-$n.row" <<'EOF'
import datetime, json, os, re, sys
strategy, n, scale, deadline, finished, t_request = sys.argv[1:]
n, scale, deadline, t_request = int(n), float(scale), float(deadline), float(t_request)
def t(s):
    return datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc).timestamp()
recs = json.loads(os.environ["BENCH_LIST"])["migrations"]
final = ("completed", "cancelled", "failed", "error")
moved = {m["instance_uuid"] for m in recs if m["status"] == "completed"}
postcopy = sum(1 for m in recs if m["status"] == "completed" and m["post_copy"])
downtime = sum(m["downtime_ms"] or 0 for m in recs if m["status"] == "completed")
ends = [t(m["updated_at"]) for m in recs if m["status"] in final]
starts = [t(m["created_at"]) for m in recs]
predicted = "-"
if strategy == "drain":
    d = json.loads(os.environ["BENCH_DRAIN"])["drain"]
    # Planning (measuring the guests) took real seconds; what follows is simulated.
    first = min(starts) if starts else t_request
    makespan = (first - t_request) + (max(ends) - first) * scale if ends else float("nan")
    # The first plan's prediction (its event's value: the makespan from then, in wall ms),
    # counted from the request as the makespan is.
    plans = [e for e in json.loads(os.environ["BENCH_EVENTS"])["events"] if e["kind"] == "plan"]
    state = d["state"]
    if plans:
        predicted = "%.0f" % (t(plans[0]["at"]) - t_request + plans[0]["value"] / 1000.0 * scale)
        at_once = re.search(r"(\d+) at once", plans[0]["message"])
        state += " (first plan: %s at once, %d post-copy)" % (
            at_once.group(1) if at_once else "?",
            sum(1 for g in d["guests"] if g["mode"] == "post-copy"))
else:
    makespan = (max(ends) - t_request) * scale if ends else float("nan")
    state = "ended" if finished == "1" else "cap"
met = "yes" if finished == "1" and len(moved) == n and makespan <= deadline else "no"
print("%-8s %4d  %5d %6d %6d %10d %9d %10.0f %8.0f %4s %9s  %s" % (
    strategy, n, len(moved), n - len(moved), len(recs), postcopy, downtime, makespan,
    deadline, met, predicted, state))
EOF
}

# run STRATEGY N: one daemon, one drain of N guests; its row in $bench_dir.
run() {
    strategy=$1 n=$2
    FAULT_DIR=$bench_dir/$strategy-$n
    FAULT_NAME=drain-$strategy-$n
    FAULT_PIDS=()
    FAULT_CLEANUPS=()
    mkdir -p "$FAULT_DIR"
    trap fault_cleanup EXIT
    trap 'exit 143' TERM INT
    FAULT_PORT=$(fault_port)
    deadline=$(deadline_of "$n")
    local libvirt mcl i dest
    case $strategy in
        drain)
            run_scale=$drain_scale mcl=4
            libvirt='live_migration_policy = "adaptive";' ;;
        nova)
            run_scale=$scale mcl=1
            libvirt='live_migration_policy = "nova";' ;;
        kubevirt)
            run_scale=$scale mcl=2
            libvirt='live_migration_policy = "nova"; live_migration_completion_timeout = 150;' ;;
    esac
    fault_config "$FAULT_DIR/m.conf" \
        "service: { hypervisor = \"simulator\"; host = \"node-a\"; database = \"$FAULT_DIR/m.db\"; max_concurrent_live_migrations = $mcl; log_level = \"warning\"; };" \
        "simulator: { time_scale = $run_scale; link_mibps = $link; domains = $(fault_domains_mixed "$n" "$seed" "$link"); };" \
        "libvirt: { $libvirt live_migration_monitor_interval_ms = 50; };" \
        "$(fault_peers 2 "$link")"
    fault_start "$FAULT_DIR/m.conf"
    t_request=$(date +%s.%N)
    if [ "$strategy" = drain ]; then
        # The engine keeps a drain's deadline on the wall clock and scales its plans by the
        # simulator's time_scale: D simulated seconds are D / scale of its seconds.
        fault_api POST /v1/drains "{\"drain\": {\"destinations\": [\"node-b\", \"node-c\"],
            \"deadline_s\": $(awk -v d="$deadline" -v s="$run_scale" \
                'BEGIN { w = d / s; print (w == int(w)) ? w : int(w) + 1 }'),
            \"permit_post_copy\": true, \"max_parallel\": $mcl}}"
        fault_expect_code 202 "POST /v1/drains"
        drain_uuid=$(fault_json 'j["drain"]["uuid"]')
    else
        # One POST after the other, as novaclient's loop does; the first migration runs while
        # the others are posted.
        for ((i = 0; i < n; i++)); do
            dest=node-b
            [ $((i % 2)) = 1 ] && dest=node-c
            fault_api POST /v1/os-migrations \
                "{\"migration\": {\"instance_name\": \"vm-$i\", \"dest_compute\": \"$dest\"}}"
            fault_expect_code 202 "POST vm-$i"
        done
    fi
    if poll_until_final; then summarize 1; else summarize 0; fi
}

t_all=$SECONDS
echo "drain.sh: seed $seed, link $link MiB/s to each of node-b and node-c; time_scale" \
    "$drain_scale (drain), $scale (baselines); counts $counts; $jobs run(s) at once"
for n in $counts; do
    echo "  $n guests: $(fault_domains_mixed "$n" "$seed" "$link" | grep -o 'ram_mib = [0-9]*' |
        awk '{ s += $3 } END { printf "%.0f GiB of RAM", s / 1024 }'), deadline $(deadline_of "$n") s"
done
for n in $counts; do
    for strategy in $strategies; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
        (run "$strategy" "$n") &
        bench_runs+=($!)
    done
done
rc=0
for p in "${bench_runs[@]}"; do wait "$p" || rc=1; done
bench_runs=()

echo
printf '%-8s %4s  %5s %6s %6s %10s %9s %10s %8s %4s %9s  %s\n' strategy N moved failed \
    migr post-copy downtime_ms makespan_s deadline met predicted state
for n in $counts; do
    for strategy in $strategies; do
        cat "$bench_dir/$strategy-$n.row" 2>/dev/null || echo "$strategy $n: no result (see above)"
    done
done
echo "drain.sh: $((SECONDS - t_all)) s in all"
exit "$rc"
