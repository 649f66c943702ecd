#!/usr/bin/env bash
# keystone.sh - starts and stops a private Keystone on 127.0.0.1 for the auth tests.
#
# Usage: keystone.sh start DIR PORT   set up (first time) and serve Keystone from DIR
#        keystone.sh stop DIR         stop the server started from DIR (idempotent)
#
# "start" prints shell assignments (KS_URL=..., KS_*_PASSWORD=...) on stdout,
# for `eval`; progress goes to stderr. It follows /work/shared/FACTS.md,
# "Keystone on loopback": a keystone.conf in DIR with an SQLite database in WAL
# mode and fernet tokens, served by uwsgi with processes rather than threads.
# The first start in a DIR creates the database and these accounts:
#   migrationd  role admin  on project service  (the daemon's service account)
#   alice       role admin  on project demo
#   bob         role reader on project demo
#   carol       role member on project demo
#   dave        role observer on project demo (a role that implies nothing)
# A later start in the same DIR only starts uwsgi again (a few seconds), with
# the same accounts and passwords.
#
# Runs as root (it installs keystone when keystone-manage is missing). Every
# wait is bounded. Only 127.0.0.1 is used.
set -euo pipefail

# The Debian packages run /usr/bin/python3; keep pyenv and friends out.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV PYENV_VERSION || true
export DEBIAN_FRONTEND=noninteractive

py=/usr/bin/python3

say() { echo "keystone.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# shellcheck source=tests/support/packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/packages.sh"

install_keystone() {
    [ -n "$(md_missing_packages "${md_pkgs_keystone[@]}")" ] || return 0
    [ "$(id -u)" -eq 0 ] || die "keystone is not installed and we are not root"
    say "installing keystone (about 75 s)"
    md_install_groups keystone >&2
}

# json_get KEY1 KEY2 ...: prints stdin's JSON value at that path.
json_get() {
    "$py" -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"
}

# api METHOD PATH [BODY]: one v3 call with the admin token; prints the body.
api() {
    local method=$1 path=$2 body=${3:-}
    local args=(-sS --fail-with-body --max-time 30 -X "$method"
                -H "Connection: close" -H "X-Auth-Token: $admin_token"
                -H "Content-Type: application/json")
    [ -n "$body" ] && args+=(--data "$body")
    curl "${args[@]}" "$url$path"
}

wait_for_keystone() {
    local i
    for i in $(seq 1 120); do
        if curl -sf --max-time 2 -H "Connection: close" "$url" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$(cat "$dir/uwsgi.pid")" 2>/dev/null; then
            tail -n 30 "$dir/uwsgi.log" >&2 || true
            die "uwsgi exited; see $dir/uwsgi.log"
        fi
        sleep 0.5
    done
    tail -n 30 "$dir/uwsgi.log" >&2 || true
    die "Keystone at $url did not answer within 60 s"
}

first_setup() {
    local pw_admin=$1
    mkdir -p "$dir/fernet-keys" "$dir/credential-keys" "$dir/log"
    chmod 700 "$dir/fernet-keys" "$dir/credential-keys"
    cat >"$dir/keystone.conf" <<EOF
[DEFAULT]
log_dir = $dir/log
use_stderr = false

[database]
connection = sqlite:///$dir/keystone.db

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = $dir/fernet-keys

[credential]
key_repository = $dir/credential-keys
EOF
    # WAL first: with the default rollback journal, Keystone's writes fail
    # with "database is locked" under uwsgi (FACTS.md).
    "$py" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
c.close()' "$dir/keystone.db"

    say "db_sync, fernet_setup, credential_setup, bootstrap"
    manage db_sync
    manage fernet_setup --keystone-user root --keystone-group root
    manage credential_setup --keystone-user root --keystone-group root
    manage bootstrap --bootstrap-password "$pw_admin" \
        --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" \
        --bootstrap-public-url "$url" --bootstrap-region-id RegionOne
}

# manage ARGS...: keystone-manage with our config. Its output (including
# the harmless eventlet tracebacks it prints at exit) goes to a log that is
# shown only when it fails.
manage() {
    if ! keystone-manage --config-file "$dir/keystone.conf" "$@" >>"$dir/manage.log" 2>&1; then
        tail -n 30 "$dir/manage.log" >&2
        die "keystone-manage $1 failed; see $dir/manage.log"
    fi
}

start_uwsgi() {
    [ -s "$dir/uwsgi.pid" ] && kill -0 "$(cat "$dir/uwsgi.pid")" 2>/dev/null &&
        die "uwsgi already runs from $dir (pid $(cat "$dir/uwsgi.pid"))"
    # Processes, not threads: Keystone's SQLite objects are per thread.
    # setsid puts uwsgi and its workers in their own process group, which
    # "stop" kills as a whole.
    OS_KEYSTONE_CONFIG_DIR=$dir OS_KEYSTONE_CONFIG_FILES=keystone.conf \
        setsid uwsgi --plugin python3 --http-socket "127.0.0.1:$port" \
        --wsgi-file /usr/bin/keystone-wsgi-public --processes 2 --threads 1 \
        --master --die-on-term --need-app --lazy-apps \
        >"$dir/uwsgi.log" 2>&1 </dev/null &
    echo $! >"$dir/uwsgi.pid"
    wait_for_keystone
}

# create_user NAME PASSWORD PROJECT_ID ROLE_ID: a user in Default with one role.
create_user() {
    local name=$1 pw=$2 project=$3 role=$4 uid
    uid=$(api POST /users "{\"user\": {\"name\": \"$name\", \"password\": \"$pw\",
        \"domain_id\": \"default\", \"enabled\": true}}" | json_get user id)
    api PUT "/projects/$project/users/$uid/roles/$role" >/dev/null
}

role_id() {
    local name=$1 id
    id=$(api GET "/roles?name=$name" | json_get roles 0 id 2>/dev/null) ||
        id=$(api POST /roles "{\"role\": {\"name\": \"$name\"}}" | json_get role id)
    echo "$id"
}

create_accounts() {
    local pw_admin=$1
    admin_token=$(curl -sS --fail-with-body --max-time 30 -o /dev/null -D - \
        -H "Connection: close" -H "Content-Type: application/json" \
        --data "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\":
                {\"user\": {\"name\": \"admin\", \"domain\": {\"id\": \"default\"},
                \"password\": \"$pw_admin\"}}}, \"scope\": {\"project\":
                {\"name\": \"admin\", \"domain\": {\"id\": \"default\"}}}}}" \
        "$url/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
    [ -n "$admin_token" ] || die "could not get an admin token"

    local service demo admin reader member observer
    service=$(api POST /projects '{"project": {"name": "service", "domain_id": "default"}}' |
              json_get project id)
    demo=$(api POST /projects '{"project": {"name": "demo", "domain_id": "default"}}' |
           json_get project id)
    admin=$(role_id admin)
    reader=$(role_id reader)
    member=$(role_id member)
    observer=$(role_id observer)
    create_user migrationd "$KS_SERVICE_PASSWORD" "$service" "$admin"
    create_user alice "$KS_ALICE_PASSWORD" "$demo" "$admin"
    create_user bob "$KS_BOB_PASSWORD" "$demo" "$reader"
    create_user carol "$KS_CAROL_PASSWORD" "$demo" "$member"
    create_user dave "$KS_DAVE_PASSWORD" "$demo" "$observer"
}

random_password() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

cmd_start() {
    dir=$1 port=$2
    case $port in ''|*[!0-9]*) die "PORT must be a number" ;; esac
    url="http://127.0.0.1:$port/v3"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    install_keystone

    if [ ! -f "$dir/env" ]; then
        local t0=$SECONDS pw_admin
        pw_admin=$(random_password)
        KS_SERVICE_PASSWORD=$(random_password)
        KS_ALICE_PASSWORD=$(random_password)
        KS_BOB_PASSWORD=$(random_password)
        KS_CAROL_PASSWORD=$(random_password)
        KS_DAVE_PASSWORD=$(random_password)
        first_setup "$pw_admin"
        start_uwsgi
        create_accounts "$pw_admin"
        # Written last: its presence means the set-up is complete.
        cat >"$dir/env.tmp" <<EOF
KS_URL=$url
KS_DIR=$dir
KS_ADMIN_PASSWORD=$pw_admin
KS_SERVICE_USER=migrationd
KS_SERVICE_PASSWORD=$KS_SERVICE_PASSWORD
KS_SERVICE_PROJECT=service
KS_PROJECT=demo
KS_ALICE_PASSWORD=$KS_ALICE_PASSWORD
KS_BOB_PASSWORD=$KS_BOB_PASSWORD
KS_CAROL_PASSWORD=$KS_CAROL_PASSWORD
KS_DAVE_PASSWORD=$KS_DAVE_PASSWORD
EOF
        mv "$dir/env.tmp" "$dir/env"
        say "Keystone ready at $url after $((SECONDS - t0)) s"
    else
        grep -qx "KS_URL=$url" "$dir/env" ||
            die "$dir was set up for another port: $(grep '^KS_URL=' "$dir/env")"
        start_uwsgi
        say "Keystone restarted at $url"
    fi
    cat "$dir/env"
}

cmd_stop() {
    local d=$1 pid i
    [ -s "$d/uwsgi.pid" ] || return 0
    pid=$(cat "$d/uwsgi.pid")
    if kill -0 "$pid" 2>/dev/null; then
        # The whole process group: the master and its workers.
        kill -TERM -- "-$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$d/uwsgi.pid"
}

case ${1:-} in
    start) [ $# -eq 3 ] || die "usage: keystone.sh start DIR PORT"; cmd_start "$2" "$3" ;;
    stop)  [ $# -eq 2 ] || die "usage: keystone.sh stop DIR"; cmd_stop "$2" ;;
    *)     die "usage: keystone.sh start DIR PORT | keystone.sh stop DIR" ;;
esac
