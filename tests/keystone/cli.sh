#!/usr/bin/env bash
# cli.sh - migrationctl's Keystone login against the real Keystone of tests/keystone/.
#
#   bash tests/keystone/cli.sh BUILD_DIR
#
# Run by tests/keystone/run.sh while its Keystone is up, with the variables `keystone.sh
# start` prints (KS_URL, KS_ADMIN_PASSWORD, KS_SERVICE_*, KS_ALICE_PASSWORD) in the
# environment. Starts the migrationd of BUILD_DIR on the simulator with auth_strategy
# "keystone" and the default roles (admin of the project "admin", as `keystone-manage
# bootstrap` makes the user admin), then logs in with migrationctl the way an openrc file
# would: the admin lists (exit 0); a wrong password, a user who is not admin of the admin
# project, a bad token and no credentials at all each exit 3 with one clear line.
MD_BUILD=$(cd "${1:?usage: cli.sh BUILD_DIR}" && pwd)
export MD_BUILD
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/../faults/lib.sh"
: "${KS_URL:?run by tests/keystone/run.sh, with Keystone up}"

MC=$MD_BUILD/migrationctl
FAULT_PORT=$(fault_port)
fault_config "$FAULT_DIR/m.conf" \
    "api: { listen = \"127.0.0.1:$FAULT_PORT\"; auth_strategy = \"keystone\"; };" \
    "keystone: { auth_url = \"$KS_URL\"; username = \"$KS_SERVICE_USER\";
                 password = \"$KS_SERVICE_PASSWORD\"; project_name = \"$KS_SERVICE_PROJECT\";
                 user_domain_name = \"Default\"; project_domain_name = \"Default\";
                 cache_seconds = 300; timeout_ms = 3000; };"
fault_start "$FAULT_DIR/m.conf"

unset OS_TOKEN OS_PROJECT_ID OS_SYSTEM_SCOPE OS_AUTH_TYPE
export MIGRATIOND_URL=http://127.0.0.1:$FAULT_PORT OS_AUTH_URL=$KS_URL
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default

# login RC EXPECTED_ERROR USER PASSWORD PROJECT ARGS...: migrationctl ARGS as that user; the
# exit code must be RC, and the error (for RC != 0) one line containing EXPECTED_ERROR.
login() {
    local want=$1 msg=$2 rc=0 err
    export OS_USERNAME=$3 OS_PASSWORD=$4 OS_PROJECT_NAME=$5
    shift 5
    "$MC" "$@" >"$FAULT_DIR/out" 2>"$FAULT_DIR/err" || rc=$?
    err=$(cat "$FAULT_DIR/err")
    fault_expect_eq "migrationctl $* as $OS_USERNAME: exit code (stderr: $err)" "$want" "$rc"
    if [ "$want" != 0 ]; then
        if [ "$(wc -l <"$FAULT_DIR/err")" != 1 ] || [[ $err != "migrationctl: "*"$msg"* ]]; then
            fault_fail "migrationctl $* as $OS_USERNAME: expected one line with '$msg', got: $err"
        fi
    fi
}

login 0 "" admin "$KS_ADMIN_PASSWORD" admin list
login 0 "" admin "$KS_ADMIN_PASSWORD" admin start vm-0 node-b -f value -c uuid
uuid=$(cat "$FAULT_DIR/out")
login 0 "" admin "$KS_ADMIN_PASSWORD" admin watch "$uuid" --interval 0.2 --timeout 60
fault_log "admin of the admin project (password login): list, start and watch exit 0"
login 3 "Keystone at $KS_URL refused the login of user 'admin'" admin wrong-password admin list
fault_log "wrong password: exit 3, $(cat "$FAULT_DIR/err")"
login 3 "not allowed:" alice "$KS_ALICE_PASSWORD" demo list
fault_log "admin of another project: exit 3, $(cat "$FAULT_DIR/err")"
unset OS_AUTH_URL
OS_TOKEN=not-a-token login 3 "did not accept the token" admin x admin list
login 3 "requires authentication" admin x admin list
fault_log "a bad OS_TOKEN, and no credentials: exit 3"
echo "keystone cli: passed"
