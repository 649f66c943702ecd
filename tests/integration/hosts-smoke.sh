#!/usr/bin/env bash
# hosts-smoke.sh - checks that hosts.sh gives two working libvirt hosts: brings them up, boots
# the idle guest spin.S on host-a, migrates it live (P2P) to host-b, shapes the link to
# 100 MiB/s, migrates it back, then takes everything down and checks that nothing is left.
#
# Usage (as root, after `hosts.sh deps`): tests/integration/hosts-smoke.sh
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

here=$(cd "$(dirname "$0")" && pwd)
hosts=$here/hosts.sh
work=$(mktemp -d /tmp/md-smoke.XXXXXX)
trap '"$hosts" down; rm -rf "$work"' EXIT

fail() { echo "hosts-smoke: FAIL: $*" >&2; exit 1; }
step() { echo "hosts-smoke: $*" >&2; }
ms() { date +%s%3N; }

# The guest: a multiboot ELF that halts forever.
as --32 -o "$work/spin.o" "$here/spin.S"
ld -m elf_i386 -Ttext=0x100000 -e _start -o "$work/spin.elf" "$work/spin.o"

t=$(ms)
eval "$("$hosts" up)"
step "up in $(( $(ms) - t )) ms"
A=$MD_HOST_A_URI
B=$MD_HOST_B_URI
virsh -q -c "$A" list --all >/dev/null || fail "host-a does not answer"
virsh -q -c "$B" list --all >/dev/null || fail "host-b does not answer"
[ "$(virsh -c "$A" hostname)" = "$MD_HOST_A_NAME" ] || fail "host-a has the wrong hostname"
"$hosts" exec a virsh -q -c qemu:///system list --all >/dev/null || fail "exec a failed"

cat >"$work/vm.xml" <<EOF
<domain type='$MD_VIRT_TYPE'>
  <name>md-smoke</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>$work/spin.elf</kernel></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices><controller type='usb' model='none'/><memballoon model='none'/></devices>
</domain>
EOF
virsh -q -c "$A" define "$work/vm.xml" >/dev/null
virsh -q -c "$A" start md-smoke >/dev/null

# running_on URI: succeeds when the guest runs there.
running_on() { [ "$(virsh -q -c "$1" domstate md-smoke 2>/dev/null)" = running ]; }
absent_on() { ! virsh -q -c "$1" dominfo md-smoke >/dev/null 2>&1; }

# migrate FROM_URI TO_URI TO_IP
migrate() {
    local t
    t=$(ms)
    virsh -q -c "$1" migrate --live --p2p --persistent --undefinesource md-smoke "$2" "tcp://$3"
    step "migration $1 -> $2 took $(( $(ms) - t )) ms (virsh wall clock); job:" \
         "$(virsh -q -c "$2" domjobinfo md-smoke --completed |
            awk -F': *' '/^Time elapsed:/ {e=$2} /^Total downtime/ {d=$2}
                         END {gsub(/ +/, " ", e); gsub(/ +/, " ", d); printf "elapsed %s, downtime %s", e, d}')"
}

running_on "$A" || fail "guest does not run on host-a"
migrate "$A" "$B" "$MD_HOST_B_IP"
running_on "$B" || fail "guest does not run on host-b after migration"
absent_on "$A" || fail "guest still defined on host-a after --undefinesource"

"$hosts" shape 100
migrate "$B" "$A" "$MD_HOST_A_IP"
running_on "$A" || fail "guest does not run on host-a after the shaped migration"
absent_on "$B" || fail "guest still defined on host-b"

qemu_pid=$(cat "$MD_HOSTS_DIR/a/run/libvirt/qemu/md-smoke.pid")
t=$(ms)
"$hosts" down
step "down in $(( $(ms) - t )) ms"
ip netns list | grep -q "^$MD_HOST_A_NAME\b\|^$MD_HOST_B_NAME\b" && fail "a namespace is left"
ip link show "$MD_HOSTS_BRIDGE" >/dev/null 2>&1 && fail "the bridge is left"
ip -br link | grep -q "^$MD_HOSTS_BRIDGE-" && fail "a veth is left"
grep -qs "$MD_HOSTS_DIR" /proc/self/mountinfo && fail "a mount is left"
[ ! -e "$MD_HOSTS_DIR" ] || fail "$MD_HOSTS_DIR is left"
for p in "$MD_HOST_A_PID" "$MD_HOST_B_PID" "$qemu_pid"; do
    [ ! -e "/proc/$p" ] || fail "process $p ($(cat "/proc/$p/comm" 2>/dev/null)) is left"
done
step "PASS"
