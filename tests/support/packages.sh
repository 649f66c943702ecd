# shellcheck shell=bash disable=SC2034  # md_install_groups reads the groups by name
# packages.sh - the Debian 12 packages migrationd's scripts need, and the one way they install
# them. Sourced (bash); it only defines variables and functions.
#
# Groups, each an array md_pkgs_GROUP:
#   build     what CMake needs for migrationd and the benchmarks (see README.rst, Build)
#   test      the tests on top of build: cmocka, and curl for the scripts that call the API
#   lint      clang-format 14, for tests/lint/format.sh
#   fuzz      clang and libFuzzer, for tests/fuzz/run.sh
#   keystone  a Keystone served by uwsgi, and the openstack client (tests/keystone/keystone.sh)
#   osc       the openstack client alone (tests/api/run-osc.sh)
#   hosts     libvirt and QEMU for the two hosts of tests/integration/hosts.sh
#   e2e       the integration tests' client (tests/integration/mdctl.py)
#   bench     wrk and what bench/api-load.sh runs around it
#   metrics   Prometheus and promtool (2.42), for tests/metrics/run.sh
#
# md_install_groups GROUP...    installs what is missing of those groups
# md_install_packages PKG...    installs what is missing of those packages
# md_missing_packages PKG...    prints (one a line) those not installed; always returns 0
#
# An install does nothing when every package is installed already (then it needs neither root
# nor the network). Otherwise it needs root, and runs `apt-get update` once per run (the first
# install exports MD_APT_UPDATED=1, which the scripts it starts inherit), then `apt-get install`
# of the missing packages only, non-interactive, without recommends, waiting up to 300 s for
# another apt to release its lock. With MD_NO_APT=1 it never calls apt. It returns 2, having
# said which packages are missing and why it cannot install them, when MD_NO_APT is set or
# when it does not run as root; 0 otherwise (an apt failure ends a `set -e` caller).

md_pkgs_build=(build-essential cmake pkg-config libconfig-dev libsqlite3-dev libvirt-dev
               libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev)
md_pkgs_test=(libcmocka-dev curl python3 sqlite3)
md_pkgs_lint=(clang-format)
md_pkgs_fuzz=(clang libclang-rt-14-dev)
md_pkgs_keystone=(keystone uwsgi-plugin-python3 python3-openstackclient curl)
md_pkgs_osc=(python3-openstackclient)
md_pkgs_hosts=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 iproute2)
md_pkgs_e2e=(python3)
md_pkgs_bench=(wrk curl python3)
md_pkgs_metrics=(prometheus curl python3 sqlite3)

md_missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            echo "$p"
    done
    return 0
}

md_install_packages() {
    local who missing
    who=$(basename "$0")
    mapfile -t missing < <(md_missing_packages "$@")
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ -n "${MD_NO_APT:-}" ]; then
        echo "$who: missing packages: ${missing[*]}; MD_NO_APT is set, so install them" \
             "yourself" >&2
        return 2
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "$who: missing packages: ${missing[*]}; run as root to install them" >&2
        return 2
    fi
    echo "$who: installing Debian packages: ${missing[*]}" >&2
    if [ -z "${MD_APT_UPDATED:-}" ]; then
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        export MD_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
}

md_install_groups() {
    local g all=()
    for g in "$@"; do
        declare -p "md_pkgs_$g" >/dev/null 2>&1 || {
            echo "packages.sh: no package group \"$g\"" >&2
            return 2
        }
        local -n group="md_pkgs_$g"
        all+=("${group[@]}")
        unset -n group
    done
    md_install_packages "${all[@]}"
}
