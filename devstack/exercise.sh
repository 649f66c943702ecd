#!/usr/bin/env bash
# exercise.sh - one live migration driven through migrationd's REST API only.
#
# Starts the migration with POST /v1/os-migrations, polls GET
# /v1/os-migrations/{uuid} until it reaches a final state (completed,
# cancelled, failed, error), prints the record and its events
# (GET .../events), and succeeds when the final state is the expected one.
# It never touches libvirt, the database or the daemon's process.
#
# Environment:
#   MIGRATIOND_URL       the API (default: http://LISTEN from api.listen of
#                        MIGRATIOND_CONF, else http://127.0.0.1:8775)
#   MIGRATIOND_CONF      read only for that default
#                        (default /etc/migrationd/migrationd.conf)
#   MIGRATIOND_TOKEN     a Keystone token for X-Auth-Token; empty with noauth
#   MIGRATIOND_INSTANCE  the guest: a UUID (instance_uuid) or a libvirt
#                        domain name (instance_name). Required.
#   MIGRATIOND_DEST      the destination compute node (dest_compute). Required.
#   MIGRATIOND_DEST_HOST the destination's address, if not MIGRATIOND_DEST
#   MIGRATIOND_OPTIONS   a JSON object merged into the request, e.g.
#                        '{"permit_post_copy": true, "max_downtime_ms": 300}'
#   MIGRATIOND_EXPECT    the final state that counts as success (default
#                        completed)
#   MIGRATIOND_EXERCISE_TIMEOUT  seconds to wait for a final state (default
#                        600); then the migration is aborted (DELETE)
#   MIGRATIOND_POLL_INTERVAL     seconds between two polls (default 1)
#
# Exit status: 0 the final state is MIGRATIOND_EXPECT; 1 another final state;
# 2 bad usage or an API error; 3 no final state within the timeout.
set -euo pipefail

finals="completed cancelled failed error"
conf=${MIGRATIOND_CONF:-/etc/migrationd/migrationd.conf}
url=${MIGRATIOND_URL:-}
if [[ -z "$url" && -r "$conf" ]]; then
    listen=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$conf" | head -n 1)
    listen=${listen/#0.0.0.0:/127.0.0.1:}
    listen=${listen/#\[::\]:/[::1]:}
    [[ -n "$listen" ]] && url="http://$listen"
fi
url=${url:-http://127.0.0.1:8775}
url=${url%/}
token=${MIGRATIOND_TOKEN:-}
instance=${MIGRATIOND_INSTANCE:-}
dest=${MIGRATIOND_DEST:-}
dest_host=${MIGRATIOND_DEST_HOST:-}
options=${MIGRATIOND_OPTIONS:-}
expect=${MIGRATIOND_EXPECT:-completed}
timeout=${MIGRATIOND_EXERCISE_TIMEOUT:-600}
interval=${MIGRATIOND_POLL_INTERVAL:-1}

usage() { echo "exercise.sh: $*" >&2; exit 2; }
[[ -n "$instance" ]] || usage "set MIGRATIOND_INSTANCE (a UUID or a domain name)"
[[ -n "$dest" ]] || usage "set MIGRATIOND_DEST (the destination compute node)"
[[ " $finals " == *" $expect "* ]] || usage "MIGRATIOND_EXPECT must be one of: $finals"
[[ "$timeout" =~ ^[0-9]+$ ]] || usage "MIGRATIOND_EXERCISE_TIMEOUT must be a number of seconds"
for tool in curl python3; do
    command -v "$tool" >/dev/null || usage "needs $tool"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The token goes to curl in a file, not on its command line.
: >"$tmp/headers"
chmod 600 "$tmp/headers"
if [[ -n "$token" ]]; then
    printf 'X-Auth-Token: %s\n' "$token" >"$tmp/headers"
fi

# api METHOD PATH [BODY]: the reply body in $tmp/body, the status in $status.
status=
api() {
    local -a args=(-g -sS -m 30 -o "$tmp/body" -w '%{http_code}' -X "$1"
                   -H 'Accept: application/json' -H "@$tmp/headers")
    if [[ $# -ge 3 ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$3")
    fi
    status=$(curl "${args[@]}" "$url$2") || status=000
}

# json EXPR: evaluates a Python expression over the reply body, bound to d.
json() {
    python3 - "$tmp/body" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print("null" if v is None else json.dumps(v) if isinstance(v, (bool, dict, list)) else v)
PY
}

fail_api() {
    echo "exercise: $1: HTTP $status" >&2
    cat "$tmp/body" >&2 2>/dev/null || true
    echo >&2
    exit 2
}

echo "exercise: migrationd at $url"
api GET /healthcheck
[[ "$status" == 200 ]] || fail_api "GET /healthcheck"
echo "exercise: healthcheck $(cat "$tmp/body")"

body=$(python3 - "$instance" "$dest" "$dest_host" "$options" <<'PY'
import json, re, sys
instance, dest, dest_host, options = sys.argv[1:5]
m = {"dest_compute": dest}
if re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", instance):
    m["instance_uuid"] = instance
else:
    m["instance_name"] = instance
if dest_host:
    m["dest_host"] = dest_host
if options:
    extra = json.loads(options)
    if not isinstance(extra, dict):
        sys.exit("MIGRATIOND_OPTIONS must be a JSON object")
    m.update(extra)
print(json.dumps({"migration": m}))
PY
) || usage "bad MIGRATIOND_OPTIONS"

echo "exercise: POST /v1/os-migrations $body"
api POST /v1/os-migrations "$body"
[[ "$status" == 202 ]] || fail_api "POST /v1/os-migrations"
uuid=$(json 'd["migration"]["uuid"]')
echo "exercise: migration $uuid accepted ($(json 'd["migration"]["status"]'))"

# Polls until a final state or the deadline; prints each change.
state=
last=
poll_until() {
    local deadline=$1 line
    while :; do
        api GET "/v1/os-migrations/$uuid"
        [[ "$status" == 200 ]] || fail_api "GET /v1/os-migrations/$uuid"
        state=$(json 'd["migration"]["status"]')
        line=$(json '" ".join("%s=%s" % (k, v if isinstance(v, str) else json.dumps(v)) for k, v in ((k, d["migration"][k]) for k in ("status", "progress", "memory_iteration", "memory_remaining_bytes", "dirty_rate", "max_downtime_ms", "post_copy", "paused")))')
        if [[ "$line" != "$last" ]]; then
            echo "exercise: +${SECONDS}s $line"
            last=$line
        fi
        [[ " $finals " == *" $state "* ]] && return 0
        [[ $SECONDS -ge $deadline ]] && return 1
        sleep "$interval"
    done
}

SECONDS=0
rc=0
if ! poll_until "$timeout"; then
    echo "exercise: no final state after ${timeout}s; aborting the migration (DELETE)"
    api DELETE "/v1/os-migrations/$uuid"
    echo "exercise: DELETE: HTTP $status"
    poll_until $((SECONDS + 60)) || true
    rc=3
fi

echo "exercise: --- the record"
api GET "/v1/os-migrations/$uuid"
[[ "$status" == 200 ]] || fail_api "GET /v1/os-migrations/$uuid"
python3 -m json.tool "$tmp/body"
echo "exercise: --- its events"
api GET "/v1/os-migrations/$uuid/events"
[[ "$status" == 200 ]] || fail_api "GET /v1/os-migrations/$uuid/events"
json '"\n".join("%s %-15s %s" % (e["at"], e["kind"], e["message"]) for e in d["events"])'

if [[ $rc -eq 0 && "$state" != "$expect" ]]; then
    rc=1
fi
if [[ $rc -eq 0 ]]; then
    echo "exercise: PASS: migration $uuid ended $state, as expected"
else
    echo "exercise: FAIL: migration $uuid ended ${state:-?}, expected $expect"
fi
exit "$rc"
