#!/usr/bin/env bash
# Keystone accepts TCP connections and never answers, and 20 clients send
# junk tokens at once. What is under test IS that the API does not stall:
# GET /healthcheck and GET / (no token needed) answer 200 quickly meanwhile,
# every junk request ends with 503 (Keystone cannot tell) within
# timeout_ms and a margin instead of queueing behind the others, and
# after the first failure the breaker answers 503 at once. The answers
# never name Keystone's URL, the service user or a file; the log does.
. "$(dirname "$0")/lib.sh"

# A bound generous enough for a loaded 2-core machine, far below the 3 s
# that one validation may wait: a stalled API would take timeout_ms or
# (before the fix) many times it.
FAST_S=2
TIMEOUT_MS=3000
SERVICE_USER=md-svc-blackhole-user
N=20

FAULT_PORT=$(fault_port)
KS_PORT=$(fault_port)
# The blackhole: listens, accepts, reads nothing, answers nothing.
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' "$KS_PORT" &
ks_pid=$!
fault_at_exit "kill $ks_pid"
KS_URL="http://127.0.0.1:$KS_PORT/v3"
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$KS_PORT") 2>/dev/null && break
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$KS_PORT") 2>/dev/null || fault_fail "the blackhole does not listen"

fault_config "$FAULT_DIR/m.conf" \
    "api: { listen = \"127.0.0.1:$FAULT_PORT\"; auth_strategy = \"keystone\"; };" \
    "keystone: { auth_url = \"$KS_URL\"; username = \"$SERVICE_USER\"; password = \"not-used\"; timeout_ms = $TIMEOUT_MS; breaker_seconds = 30; max_concurrent_validations = 4; };"
fault_start "$FAULT_DIR/m.conf"

# timed_get PATH [TOKEN]: sets CODE and SECS (wall time of the request).
timed_get() {
    local args=(-s -o "$FAULT_DIR/timed.body" -w '%{http_code} %{time_total}\n' --max-time 20)
    [ -n "${2:-}" ] && args+=(-H "X-Auth-Token: $2")
    read -r CODE SECS < <(curl "${args[@]}" "http://127.0.0.1:$FAULT_PORT$1" || echo "000 99")
}

# under_bound SECS BOUND: whether SECS < BOUND (fractions).
under_bound() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# No token never reaches Keystone: 401 at once.
timed_get /v1/os-migrations
fault_expect_eq "no token" 401 "$CODE"
under_bound "$SECS" "$FAST_S" || fault_fail "no token took $SECS s"

# The flood: distinct junk tokens that look like fernet tokens, so that
# each would need Keystone.
for i in $(seq 1 $N); do
    curl -s -o "$FAULT_DIR/junk.$i.body" -D "$FAULT_DIR/junk.$i.headers" \
        -w '%{http_code} %{time_total}\n' --max-time 30 \
        -H "X-Auth-Token: gAAAAABjunk-token-$i-$RANDOM" \
        "http://127.0.0.1:$FAULT_PORT/v1/os-migrations" >"$FAULT_DIR/junk.$i.out" 2>/dev/null &
done
sleep 0.3

# Meanwhile: the public routes answer fast, every time.
for _ in 1 2 3 4 5; do
    for path in /healthcheck /; do
        timed_get "$path"
        fault_expect_eq "GET $path during the flood" 200 "$CODE"
        under_bound "$SECS" "$FAST_S" || fault_fail "GET $path took $SECS s during the flood"
    done
done
fault_log "/healthcheck and / answered within ${FAST_S}s during the flood (last: $SECS s)"
wait_junk() {
    local deadline=$((SECONDS + 30)) i
    for i in $(seq 1 $N); do
        while [ ! -s "$FAULT_DIR/junk.$i.out" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    done
}
wait_junk

# Every junk request: 503 (401 would do too, were Keystone to answer),
# within timeout_ms + a margin: none queued behind the others.
max_s=0
for i in $(seq 1 $N); do
    read -r code secs <"$FAULT_DIR/junk.$i.out" || fault_fail "junk request $i: no answer"
    case $code in 503 | 401) ;; *) fault_fail "junk request $i: HTTP $code $(cat "$FAULT_DIR/junk.$i.body")" ;; esac
    under_bound "$secs" "$((TIMEOUT_MS / 1000 + 3))" || fault_fail "junk request $i took $secs s"
    max_s=$(awk -v a="$max_s" -v b="$secs" 'BEGIN { print (a + 0 > b + 0 ? a : b) }')
    body=$(cat "$FAULT_DIR/junk.$i.body")
    for secret in "$KS_URL" "127.0.0.1" "$KS_PORT" "$SERVICE_USER" "$FAULT_DIR" "/tmp" "not-used"; do
        case $body in *"$secret"*) fault_fail "junk request $i's answer names '$secret': $body" ;; esac
    done
    if [ "$code" = 503 ]; then
        grep -qi '^Retry-After: [1-9]' "$FAULT_DIR/junk.$i.headers" ||
            fault_fail "junk request $i: 503 without Retry-After"
    fi
done
fault_log "$N junk requests: 503 within $max_s s at most"

# The breaker is open now: another junk token gets 503 at once.
timed_get /v1/os-migrations gAAAAABjunk-after-the-flood
fault_expect_eq "junk token, breaker open" 503 "$CODE"
under_bound "$SECS" "$FAST_S" || fault_fail "junk token with the breaker open took $SECS s"
timed_get /healthcheck
fault_expect_eq "healthcheck after the flood" 200 "$CODE"

# The operator sees why, with the detail the callers did not get, and
# not once per request: at most one warning per admitted validation.
grep -q "keystone: cannot validate a token: Keystone at $KS_URL is unreachable" "$FAULT_DIR/daemon.log" ||
    fault_fail "the log does not say Keystone is unreachable"
warnings=$(grep -c "keystone: cannot validate a token" "$FAULT_DIR/daemon.log" || true)
[ "$warnings" -le 4 ] || fault_fail "$warnings warnings for one outage, want at most 4"
fault_log "log: $warnings warning(s) naming Keystone's URL"
