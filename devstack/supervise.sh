#!/usr/bin/env bash
# supervise.sh - keeps one command running, for nodes without systemd.
#
#   supervise.sh SUPERVISOR_PIDFILE CHILD_PIDFILE COMMAND [ARG...]
#
# The migrationd devstack plugin starts this (in the background, output to
# the daemon's log) where run_process's systemd unit is not available. It
# writes its own pid and the pid of each COMMAND it starts, restarts COMMAND
# when it exits with a non-zero status (as the unit's Restart=on-failure:
# after 1 s, doubling up to 30 s while it keeps failing within 10 s of its
# start), and stops when COMMAND exits 0. SIGTERM or SIGINT is passed on to
# COMMAND; the supervisor waits for it to exit, removes both pid files and
# exits.
set -u

sup_pidfile=${1:?usage: supervise.sh SUPERVISOR_PIDFILE CHILD_PIDFILE COMMAND [ARG...]}
child_pidfile=${2:?usage: supervise.sh SUPERVISOR_PIDFILE CHILD_PIDFILE COMMAND [ARG...]}
shift 2
[ $# -gt 0 ] || { echo "supervise.sh: no command" >&2; exit 2; }

child=
stopping=0
say() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) supervise.sh: $*"; }
on_signal() {
    stopping=1
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
    fi
}
trap on_signal TERM INT
trap 'rm -f "$sup_pidfile" "$child_pidfile"' EXIT

echo $$ >"$sup_pidfile"
delay=1
while :; do
    started=$SECONDS
    "$@" &
    child=$!
    echo "$child" >"$child_pidfile"
    say "started $1 (pid $child)"
    # wait returns early when a trapped signal arrives; wait again until the
    # child itself has exited (kill -0 also succeeds on an unreaped child).
    wait "$child"
    rc=$?
    while kill -0 "$child" 2>/dev/null; do
        wait "$child"
        rc=$?
    done
    child=
    rm -f "$child_pidfile"
    if [ "$stopping" -eq 1 ]; then
        say "stopped ($1 exited with status $rc)"
        exit 0
    fi
    if [ "$rc" -eq 0 ]; then
        say "$1 exited with status 0; not restarting"
        exit 0
    fi
    if [ $((SECONDS - started)) -ge 10 ]; then
        delay=1
    fi
    say "$1 exited with status $rc; restarting in $delay s"
    sleep "$delay" &
    sleeper=$!
    wait "$sleeper"
    kill "$sleeper" 2>/dev/null
    [ "$stopping" -eq 1 ] && exit 0
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
done
