#!/bin/bash
# The systemd notification protocol as the service unit relies on it:
# READY=1 once the store and model are up, STATUS= lines, WATCHDOG=1 pings
# that keep coming while the daemon sits idle (an idle daemon must not be
# killed by WatchdogSec=), RELOADING=1 then READY=1 around SIGHUP, and
# STOPPING=1 on SIGTERM.  A listener on an AF_UNIX datagram socket plays
# systemd's part.
. "$(dirname "$0")/lib.sh"
need python3

SOCK="$T/notify.sock"
python3 - "$SOCK" "$T/notify.log" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        for line in msg.split("\n"):
            out.write("%.3f %s\n" % (time.monotonic(), line))
EOF
echo $! >"$T/listener.pid"
for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "notify listener did not start"

cfy_write_config
: >"$CFY_LOG"
# WATCHDOG_PID must be the daemon's own pid: exec keeps the shell's.
NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=1000000 sh -c \
	'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" "$@"' \
	"$CALCIFYD" --foreground -c "$T/calcifyd.conf" >>"$CFY_LOG" 2>&1 &
CFY_PID=$!

wait_for() {	# PATTERN: a line of the notify log
	local i
	for i in $(seq 1 200); do
		grep -q "$1" "$T/notify.log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no '$1' notification (got: $(cut -d' ' -f2- "$T/notify.log" | sort -u | tr '\n' '|'))"
}
wait_for ' READY=1$'
wait_for ' STATUS=ready'

# Idle for four watchdog periods: pings must keep coming the whole time.
start=$(python3 -c 'import time; print(time.monotonic())')
sleep 4
kill -0 "$CFY_PID" || fail "calcifyd died while idle"
pings=$(awk -v t="$start" '$2 == "WATCHDOG=1" && $1 > t + 2 { n++ } END { print n + 0 }' \
	"$T/notify.log")
[ "$pings" -ge 2 ] ||
	fail "only $pings watchdog pings in the last 2 s of an idle 4 s (WatchdogSec would kill it)"
note "idle watchdog pings in 2 s: $pings"

# Reload: RELOADING=1, then READY=1 again.
before=$(grep -c ' READY=1$' "$T/notify.log")
kill -HUP "$CFY_PID"
wait_for ' RELOADING=1$'
for i in $(seq 1 100); do
	[ "$(grep -c ' READY=1$' "$T/notify.log")" -gt "$before" ] && break
	sleep 0.05
done
[ "$(grep -c ' READY=1$' "$T/notify.log")" -gt "$before" ] ||
	fail "no READY=1 after the reload"

# Status lines carry counts, never patient data.
grep ' STATUS=' "$T/notify.log" | grep -qv 'Patient/' ||
	fail "no status line"

kill -TERM "$CFY_PID"
rc=0
wait "$CFY_PID" || rc=$?
CFY_PID=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
wait_for ' STOPPING=1$'
