#!/bin/sh
# osc.sh - python-openstackclient, unchanged, against migrationd's Nova API.
#
#   tests/api/osc.sh URL SERVER1 SERVER2
#
# URL is the daemon's base URL (http://127.0.0.1:8775); SERVER1 and SERVER2
# are two active domains of its node (name or UUID), SERVER1 one whose
# migration does not finish by itself for a few seconds (a busy guest, or a
# simulated one with a high dirty rate), so that it can be shown and
# force-completed while it runs; SERVER2 waits in the queue behind it
# (service.max_concurrent_live_migrations = 1) and is aborted there.
#
# Runs, printing each command and its output, and fails on the first error:
#   server migration list
#   server migrate --live-migration --host DEST SERVER1   (and SERVER2)
#   server migration list --server SERVER1
#   server migration show SERVER1 ID   (by id and by uuid)
#   server migration abort SERVER2 ID  (queued: microversion 2.65 or later)
#   server migration force complete SERVER1 ID, then waits for "completed"
#
# Environment: DEST (default node-b), OS_COMPUTE_API_VERSION (default 2.80;
# osc's own default, 2.1, is below what the migration commands need:
# show/abort 2.24, force complete 2.22, --host with --live-migration 2.30),
# OSC_AUTH (default: the admin_token plugin with any token, for noauth:
# "--os-auth-type admin_token --os-endpoint URL/v2.1 --os-token x"; with
# Keystone pass e.g. "--os-auth-type admin_token --os-endpoint URL/v2.1
# --os-token $TOKEN"), OPENSTACK (default /usr/bin/openstack: the Debian
# package runs on /usr/bin/python3).
set -eu

url=${1:?usage: osc.sh URL SERVER1 SERVER2}
s1=${2:?usage: osc.sh URL SERVER1 SERVER2}
s2=${3:?usage: osc.sh URL SERVER1 SERVER2}
dest=${DEST:-node-b}
ver=${OS_COMPUTE_API_VERSION:-2.80}
auth=${OSC_AUTH:-"--os-auth-type admin_token --os-endpoint ${url%/}/v2.1 --os-token x"}
osc=${OPENSTACK:-/usr/bin/openstack}

run() {
    echo "+ openstack $*" >&2
    # shellcheck disable=SC2086 # $auth is a list of options
    "$osc" $auth --os-compute-api-version "$ver" "$@"
}

# The id (column 1) of the in-progress migration of a server, from
# "server migration list --server S -f value -c Id -c Status".
in_progress_id() {
    run server migration list --server "$1" -f value -c Id -c Status |
        awk '$2 == "queued" || $2 == "preparing" || $2 ~ /^running/ { print $1; exit }'
}

status_of() {
    run server migration list -f value -c Id -c Status | awk -v id="$1" '$1 == id { print $2 }'
}

run server migration list

run server migrate --live-migration --host "$dest" "$s1"
run server migrate --live-migration --host "$dest" "$s2"
run server migration list

id1=$(in_progress_id "$s1")
id2=$(in_progress_id "$s2")
[ -n "$id1" ] || { echo "no migration in progress for $s1" >&2; exit 1; }
[ -n "$id2" ] || { echo "no migration in progress for $s2" >&2; exit 1; }
echo "migrations: $s1 -> $id1, $s2 -> $id2" >&2

run server migration list --server "$s1"
run server migration show "$s1" "$id1"
uuid1=$(run server migration show "$s1" "$id1" -f value -c UUID)
run server migration show "$s1" "$uuid1"

run server migration abort "$s2" "$id2"
st=$(status_of "$id2")
[ "$st" = cancelled ] || { echo "migration $id2 is '$st' after abort, want cancelled" >&2; exit 1; }

# Wait until the first one runs (it may still be preparing), then force it.
i=0
while [ "$(status_of "$id1")" != running ]; do
    i=$((i + 1))
    [ "$i" -le 60 ] || { echo "migration $id1 never ran" >&2; exit 1; }
    sleep 1
done
run server migration force complete "$s1" "$id1"
i=0
while :; do
    st=$(status_of "$id1")
    case $st in
    completed) break ;;
    queued | preparing | running*) ;;
    *) echo "migration $id1 ended '$st' after force complete, want completed" >&2; exit 1 ;;
    esac
    i=$((i + 1))
    [ "$i" -le 120 ] || { echo "migration $id1 did not complete after force complete" >&2; exit 1; }
    sleep 1
done

run server migration list
echo "osc.sh: all commands succeeded" >&2
