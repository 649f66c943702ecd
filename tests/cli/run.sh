#!/usr/bin/env bash
# run.sh - migrationctl against a live migrationd on the simulator: every command, its output
# formats and its exit codes, and `watch` in a pseudo-terminal.
#
#   bash tests/cli/run.sh BUILD_DIR
#
# Starts the migrationd of BUILD_DIR (noauth, loopback, a free port) with tests/faults/lib.sh
# and drives it with BUILD_DIR/migrationctl only. Each check prints "ok - ..." and the run
# ends with "cli: N passed, 0 failed"; the first failed check prints what was expected and
# seen, with the daemon's log, and exits 1. About 35 s. Needs curl, python3 (lib.sh) and
# util-linux's `script` (the pseudo-terminal). The run against a real Keystone is a step of
# tests/keystone/run.sh.
MD_BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
export MD_BUILD
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/../faults/lib.sh"

command -v script >/dev/null || fault_fail "util-linux's script is needed for the watch test"
MC=$MD_BUILD/migrationctl
[ -x "$MC" ] || fault_fail "$MC is not built"
# Whatever the caller's environment holds, these checks run without a token.
unset OS_TOKEN OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_PROJECT_ID MIGRATIOND_URL

FAULT_PORT=$(fault_port)
URL=http://127.0.0.1:$FAULT_PORT
idle() { printf '{ name = "vm-%d"; uuid = "%08x-0000-4000-8000-000000000000"; ram_mib = 4096; working_set_mib = 0; dirty_mibps = 0; }' "$1" "$1"; }
# vm-0..vm-3 migrate in about 4 s (4 GiB at 1 GiB/s). vm-busy and vm-busy2 dirty memory
# twice as fast as the link sends it: with the nova policy and no timeouts they run until an
# operator acts (abort, post-copy, force-complete).
fault_config "$FAULT_DIR/m.conf" \
    "simulator: { time_scale = 1.0; link_mibps = 1024; domains = ( $(idle 0), $(idle 1), $(idle 2), $(idle 3),
        { name = \"vm-busy\"; uuid = \"1c7b9f5f-0b66-4d8f-8e4f-2d3c4b5e6f70\"; ram_mib = 4096; working_set_mib = 4096; dirty_mibps = 2048; },
        { name = \"vm-busy2\"; uuid = \"2d8c0a60-1c77-4e90-9f4e-3e4d5c6f7081\"; ram_mib = 4096; working_set_mib = 4096; dirty_mibps = 2048; } ); };" \
    'libvirt: { live_migration_policy = "nova"; live_migration_completion_timeout = 0; live_migration_progress_timeout = 0; };'
fault_start "$FAULT_DIR/m.conf"

passed=0
ok() {
    passed=$((passed + 1))
    echo "ok - $*"
}

# mc RC ARGS...: runs migrationctl --url URL ARGS with stdout in $OUT and stderr in $ERR
# (also the files out and err), and fails the run unless it exits RC.
mc() {
    local want=$1 rc=0
    shift
    "$MC" --url "$URL" "$@" >"$FAULT_DIR/out" 2>"$FAULT_DIR/err" || rc=$?
    OUT=$(cat "$FAULT_DIR/out")
    ERR=$(cat "$FAULT_DIR/err")
    [ "$rc" = "$want" ] ||
        fault_fail "migrationctl $*: expected exit $want, got $rc; stdout: $OUT; stderr: $ERR"
}

# expect_err TEXT: the error is one line, "migrationctl: ...", containing TEXT.
expect_err() {
    [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fault_fail "expected a one-line error, got: $ERR"
    [[ $ERR == "migrationctl: "*"$1"* ]] || fault_fail "expected an error with '$1', got: $ERR"
}

expect_out() { [[ $OUT == *"$1"* ]] || fault_fail "expected '$1' in the output: $OUT"; }

# json EXPR: the Python expression EXPR of $OUT read as JSON (`j`).
json() {
    OUT_JSON=$OUT python3 -c 'import json, os, sys
j = json.loads(os.environ["OUT_JSON"]); v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# wait_status UUID STATUS: polls `show -f value -c status` (at most 20 s).
wait_status() {
    for _ in $(seq 1 100); do
        mc 0 show "$1" -f value -c status
        [ "$OUT" = "$2" ] && return 0
        sleep 0.2
    done
    fault_fail "migration $1: expected status $2 within 20 s, last $OUT"
}

# ---- help and usage -------------------------------------------------------------------
mc 0 help
expect_out "Exit codes:"
for c in list show events start watch force-complete post-copy recover abort set version drain; do
    mc 0 help "$c"
    expect_out "usage: migrationctl $c"
    mc 0 "$c" --help
    expect_out "usage: migrationctl $c"
done
ok "help, help CMD and CMD --help for every command"
mc 2
mc 2 frobnicate
expect_err "no command 'frobnicate'"
mc 2 show not-a-uuid
expect_err "'not-a-uuid' is not a migration UUID"
mc 2 list --wait
expect_err "list does not take --wait"
mc 2 -f xml list
expect_err "unknown format 'xml'"
mc 2 set 00000000-0000-4000-8000-000000000000
expect_err "set needs --max-downtime"
ok "usage errors exit 2 with one line"

# ---- unreachable daemon, Keystone, drain ---------------------------------------------------
dead=$(fault_port)
rc=0
"$MC" --url "http://127.0.0.1:$dead" list >"$FAULT_DIR/out" 2>"$FAULT_DIR/err" || rc=$?
fault_expect_eq "exit code, daemon unreachable" 3 "$rc"
fault_expect_eq "message, daemon unreachable" \
    "migrationctl: cannot reach migrationd at http://127.0.0.1:$dead: connection refused" \
    "$(cat "$FAULT_DIR/err")"
ok "unreachable daemon: exit 3, 'cannot reach migrationd at URL: connection refused'"
OS_AUTH_URL=http://127.0.0.1:$dead/v3 OS_USERNAME=u OS_PASSWORD=p OS_PROJECT_NAME=admin mc 3 list
expect_err "cannot reach Keystone at http://127.0.0.1:$dead/v3: connection refused"
OS_AUTH_URL=http://127.0.0.1:$dead/v3 OS_USERNAME=u OS_PROJECT_NAME=admin mc 2 list
expect_err "OS_PASSWORD is not"
ok "unreachable Keystone: exit 3; incomplete OS_* variables: exit 2"
mc 2 drain
expect_err "drain needs start, list, show, events, cancel or watch"
mc 2 drain evacuate
expect_err "not 'evacuate'"
mc 2 drain start --deadline 60
expect_err "drain start needs --dest NAME"
mc 2 drain list --dest node-b
expect_err "drain list does not take --dest"
mc 2 drain show not-a-uuid
expect_err "'not-a-uuid' is not a drain UUID"
mc 2 drain start --dest node-b --deadline soon
expect_err "--deadline: 'soon' is not a non-negative integer"
ok "drain: usage errors exit 2 with one line"

# ---- version, and the endpoint from MIGRATIOND_URL ----------------------------------------
MIGRATIOND_URL=$URL "$MC" version -f value -c hypervisor -c simulated >"$FAULT_DIR/out"
fault_expect_eq "version from MIGRATIOND_URL" "simulator
true" "$(cat "$FAULT_DIR/out")"
mc 0 version -f json
fault_expect_eq "version json" "$("$MC" --version | cut -d' ' -f2)" "$(json 'j["migrationctl"]')"
ok "version (table, json, value; MIGRATIOND_URL)"

# ---- start --wait to completion (not a terminal: plain lines) --------------------------------
mc 0 start vm-0 node-b --wait --interval 0.2
uuid0=$(head -1 <<<"$OUT" | sed -n 's/^migration \([0-9a-f-]\{36\}\): vm-0 to node-b.*/\1/p')
[ -n "$uuid0" ] || fault_fail "start --wait: no first line naming the migration: $OUT"
expect_out "migration $uuid0 completed in"
expect_out "migration completed"                  # the event
[[ $OUT != *$'\e'* && $OUT != *$'\r'* ]] || fault_fail "control characters in plain output: $OUT"
ok "start --wait: exit 0 on completion, plain lines when not a terminal"

# ---- show, list, events: formats and columns -------------------------------------------------
mc 0 show "$uuid0" -f value -c status -c progress
fault_expect_eq "show -f value -c status -c progress" "completed
100" "$OUT"
mc 0 show "$uuid0" -f json
fault_expect_eq "show -f json" "$uuid0 vm-0 node-b" \
    "$(json 'j["uuid"] + " " + j["instance_name"] + " " + j["dest_compute"]')"
mc 0 show "$uuid0"
expect_out "| Field "
expect_out "| status                 | completed"
mc 2 show "$uuid0" -c no_such_column
expect_err "no column 'no_such_column'"
ok "show: table, json, value, -c, unknown column exits 2"
mc 0 list
expect_out "| uuid "
expect_out "| $uuid0 | completed |"
mc 0 list -f json -c uuid -c status
fault_expect_eq "list -f json -c uuid -c status" "[{\"uuid\": \"$uuid0\", \"status\": \"completed\"}]" \
    "$(json 'json.dumps(j)' | tr -d '\n')"
mc 0 list --status completed --instance 00000000-0000-4000-8000-000000000000 -f value -c uuid
fault_expect_eq "list filtered" "$uuid0" "$OUT"
mc 0 list --status running -f value -c uuid
fault_expect_eq "list --status running (none)" "" "$OUT"
mc 4 list --status bogus
expect_err "bad request: Invalid status 'bogus'"
ok "list: table, json, value, -c, filters; a bad filter exits 4 with the server's reason"
mc 0 events "$uuid0" -f value -c kind
expect_out "state"
mc 0 events "$uuid0" -f json
# The last state event is the completion; the final statistics may follow it in an event of
# their own when libvirt's (here the simulator's) JOB_COMPLETED comes after the end.
[[ $(json '[e for e in j if e["kind"] == "state"][-1]["message"]') == "migration completed"* ]] ||
    fault_fail "events: the last state event is not the completion: $OUT"
ok "events: value and json"

# ---- 404 and 409 -------------------------------------------------------------------------------
mc 4 show 00000000-0000-4000-8000-00000000dead
expect_err "not found: Migration 00000000-0000-4000-8000-00000000dead could not be found"
mc 4 abort "$uuid0"
expect_err "refused: cannot abort migration $uuid0: it has already ended"
mc 4 recover "$uuid0"
expect_err "refused:"
ok "404 and 409: exit 4 with the server's message"

# ---- watch in a pseudo-terminal: a bar redrawn in place ---------------------------------------
mc 0 start vm-1 node-b -f value -c uuid
uuid1=$OUT
rc=0
script -qfec "'$MC' --url '$URL' watch $uuid1 --interval 0.2" "$FAULT_DIR/tty.txt" >/dev/null ||
    rc=$?
fault_expect_eq "watch in a terminal: exit code" 0 "$rc"
tty=$(cat "$FAULT_DIR/tty.txt")
for want in $'\r' $'\e[K' $'\e[A' "remaining: memory" "iteration" "elapsed" "transfer" "dirty" \
    "downtime limit" "migration completed" "migration $uuid1 completed in"; do
    [[ $tty == *"$want"* ]] || fault_fail "watch in a terminal: no '$(printf %q "$want")' in: $tty"
done
percents=$(grep -ao '\] *[0-9]\{1,3\}%' "$FAULT_DIR/tty.txt" | tr -d '] ' | sort -un)
[ "$(wc -l <<<"$percents")" -ge 3 ] ||
    fault_fail "watch in a terminal: the bar did not move (percentages: $percents)"
ok "watch in a terminal: redrawn in place (\\r, ESC[K, ESC[A), the bar at $(tr '\n' ' ' <<<"$percents")"
mc 0 watch "$uuid1"
expect_out "migration $uuid1 completed in"
ok "watch of a completed migration: exit 0 at once"

# ---- a busy guest: set, recover refused, --timeout, abort, start --wait cancelled -----------
"$MC" --url "$URL" start vm-busy node-b --wait --interval 0.2 >"$FAULT_DIR/wait.out" \
    2>"$FAULT_DIR/wait.err" &
waiter=$!
for _ in $(seq 1 100); do
    busy=$(sed -n 's/^migration \([0-9a-f-]\{36\}\): vm-busy.*/\1/p' "$FAULT_DIR/wait.out")
    [ -n "$busy" ] && break
    sleep 0.1
done
[ -n "$busy" ] || fault_fail "start --wait of vm-busy printed no first line"
wait_status "$busy" running
mc 0 set "$busy" --max-downtime 400 --bandwidth 500
expect_out "migration $busy: settings accepted"
mc 0 show "$busy" -f value -c max_downtime_ms -c bandwidth_mibps
fault_expect_eq "settings after set" "400
500" "$OUT"
mc 4 recover "$busy"
expect_err "refused: cannot recover migration $busy: it is running"
mc 4 post-copy "$busy"
expect_err "refused:"
mc 5 watch "$busy" --timeout 1
expect_err "still running after 1 s"
ok "set, recover/post-copy refused (409), watch --timeout exits 5"
mc 0 abort "$busy"
expect_out "migration $busy: abort accepted"
rc=0
wait "$waiter" || rc=$?
fault_expect_eq "start --wait of an aborted migration: exit code" 1 "$rc"
fault_expect_eq "start --wait of an aborted migration: error" \
    "migrationctl: migration $busy ended cancelled" "$(cat "$FAULT_DIR/wait.err")"
mc 1 watch "$busy"
ok "abort: start --wait and watch exit 1 on a cancelled migration"

# ---- post-copy and force-complete on running migrations --------------------------------------
mc 0 start vm-busy node-b --post-copy -f value -c uuid
pc=$OUT
wait_status "$pc" running
mc 0 post-copy "$pc"
expect_out "post-copy accepted"
mc 0 watch "$pc" --interval 0.2 --timeout 60
expect_out "running (post-copy)"
mc 0 show "$pc" -f value -c post_copy
fault_expect_eq "post_copy after post-copy" true "$OUT"
mc 0 start 2d8c0a60-1c77-4e90-9f4e-3e4d5c6f7081 node-b -f value -c uuid
fc=$OUT
wait_status "$fc" running
mc 0 force-complete "$fc"
expect_out "force-complete accepted"
mc 0 watch "$fc" --interval 0.2 --timeout 60
mc 0 events "$fc" -f value -c kind
expect_out "force_complete"
ok "post-copy and force-complete: accepted, then watch exits 0 on completion"

# ---- drains: refusals, a cancel, a drain to completion -----------------------------------------
mc 4 drain start --dest node-b --deadline 0
expect_err "bad request: drain.deadline_s must be an integer from 1 to 604800"
mc 4 drain show 00000000-0000-4000-8000-00000000dead
expect_err "not found:"
mc 4 drain cancel 00000000-0000-4000-8000-00000000dead
expect_err "not found:"
ok "drain: the server's refusals exit 4 with its reason"
# A drain of vm-3 cancelled at once, aborting its migration: watch exits 1, says cancelled.
mc 0 drain start --dest node-b --deadline 600 --instance vm-3 --abort-running --block \
    -f value -c uuid
dc=$OUT
mc 0 drain show "$dc" -f value -c block_migration
expect_out "true"
mc 4 drain start --dest node-b --deadline 600 --instance vm-3
expect_err "refused:"
mc 0 drain cancel "$dc" --abort-running
expect_out "drain $dc: cancel accepted"
mc 1 drain watch "$dc" --interval 0.2 --timeout 60
expect_err "drain $dc ended cancelled"
mc 4 drain cancel "$dc"
expect_err "refused:"
ok "drain cancel: accepted once, then 409; watch exits 1 on a cancelled drain"
# vm-3 is still here: drained to completion with --wait (plain lines: not a terminal).
mc 0 drain start --dest node-b --deadline 600 --instance vm-3 --wait --interval 0.2 --timeout 60
dd=$(head -1 <<<"$OUT" | sed -n 's/^drain \([0-9a-f-]\{36\}\): 1 guest to node-b, deadline 600 s.*/\1/p')
[ -n "$dd" ] || fault_fail "drain start --wait: no first line naming the drain: $OUT"
expect_out "drain $dd completed: every guest moved (1) in"
[[ $OUT != *$'\e'* && $OUT != *$'\r'* ]] || fault_fail "control characters in plain output: $OUT"
mc 0 drain show "$dd" -f value -c state -c guests_done
fault_expect_eq "drain show -f value" "completed
1" "$OUT"
mc 0 drain show "$dd"
expect_out "| state "
expect_out "| instance_name "
expect_out "| vm-3 "
mc 0 drain show "$dd" -f json
dm=$(json 'j["guests"][0]["migration_uuid"]')
mc 0 show "$dm" -f value -c drain_uuid -c instance_name
fault_expect_eq "the guest's migration names its drain" "$dd
vm-3" "$OUT"
mc 0 drain list -f value -c uuid -c state
expect_out "$dd completed"
expect_out "$dc cancelled"
mc 0 drain list --limit 1 -f value -c uuid
fault_expect_eq "drain list --limit 1 (newest first)" "$dd" "$OUT"
mc 0 drain events "$dd" -f value -c kind
[ -n "$OUT" ] || fault_fail "drain events: none"
mc 0 drain watch "$dd"
expect_out "drain $dd completed"
ok "drain start --wait to completion (exit 0); show, list, events, the guest's drain_uuid"

# ---- watch across a restart of the daemon ----------------------------------------------------
mc 0 start vm-2 node-b -f value -c uuid
r=$OUT
wait_status "$r" running
"$MC" --url "$URL" watch "$r" --interval 0.2 >"$FAULT_DIR/restart.out" 2>"$FAULT_DIR/restart.err" &
watcher=$!
sleep 0.5
kill -KILL "$FAULT_PID"
wait "$FAULT_PID" 2>/dev/null || true
sleep 2
fault_start "$FAULT_DIR/m.conf"
rc=0
wait "$watcher" || rc=$?
# How the simulator's job ends after a restart is the fault suite's business; here the watch
# must have waited for the daemon and reported that end, not given up as unreachable.
[ "$rc" = 0 ] || [ "$rc" = 1 ] ||
    fault_fail "watch across a restart: exit $rc: $(cat "$FAULT_DIR/restart.err")"
fault_expect_eq "unreachable notes in the plain output" 1 \
    "$(grep -c "cannot reach migrationd at $URL: connection refused; retrying" "$FAULT_DIR/restart.out")"
ok "watch across a daemon restart: one 'retrying' line, then the end (exit $rc)"

echo "cli: $passed passed, 0 failed"
