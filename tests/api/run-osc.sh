#!/usr/bin/env bash
# run-osc.sh - python-openstackclient, unchanged, against a live migrationd on the simulator.
#
#   bash tests/api/run-osc.sh BUILD_DIR
#
# Installs python3-openstackclient if it is missing (root), starts the
# migrationd of BUILD_DIR on simulated domains with noauth on a free
# loopback port, runs tests/api/osc.sh against it and stops the daemon,
# always. Prints "osc: N passed, 0 failed" and exits 0 when every step of
# osc.sh succeeded.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: run-osc.sh BUILD_DIR}
build=$(cd "$build" && pwd)

# shellcheck source=tests/support/packages.sh
. "$top/tests/support/packages.sh"
md_install_groups osc

dir=$(mktemp -d /tmp/md-osc.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

# A free port: bind 0 and read it back.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/migrationd.conf" <<CONF
service: { hypervisor = "simulator"; host = "node-a"; database = "$dir/m.db";
           max_concurrent_live_migrations = 1; };
api: { listen = "127.0.0.1:$port"; };
# nova: no automatic post-copy, so the busy migration waits for osc's
# force complete (post-copy then moves its 8 GiB in about 8 s).
libvirt: { live_migration_permit_post_copy = true; live_migration_policy = "nova"; };
simulator: { time_scale = 1.0; link_mibps = 1024;
             domains = ( { name = "vm-busy"; uuid = "1c7b9f5f-0b66-4d8f-8e4f-2d3c4b5e6f70";
                           ram_mib = 8192; working_set_mib = 8192; dirty_mibps = 4096; },
                         { name = "vm-idle"; uuid = "0b6a8f4e-9a55-4c7e-9d3e-1c2b3a4d5e6f";
                           ram_mib = 2048; working_set_mib = 0; dirty_mibps = 0; } ); };
CONF
"$build/migrationd" --config "$dir/migrationd.conf" 2>"$dir/daemon.log" &
pid=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null 2>&1 && break
    sleep 0.1
done
if ! sh "$top/tests/api/osc.sh" "http://127.0.0.1:$port" vm-busy vm-idle; then
    echo "--- daemon log" >&2
    tail -40 "$dir/daemon.log" >&2
    echo "osc: 0 passed, 1 failed"
    exit 1
fi
echo "osc: 1 passed, 0 failed"
