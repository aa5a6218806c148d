#!/bin/bash
# SIGHUP reloads what is safe (log level) and keeps running on a broken
# file; SIGTERM and SIGINT stop cleanly with exit status 0; start-up on an
# address in use fails with exit status 1.
. "$(dirname "$0")/lib.sh"
need python3

cfy_start
req GET /healthz
expect_status 200

# Reload with a valid change: log level goes to debug.
sed -i 's/^level = .*/level = debug/' "$T/calcifyd.conf"
kill -HUP "$CFY_PID"
for i in $(seq 1 100); do
	grep -q 'reload done' "$CFY_LOG" && break
	sleep 0.05
done
grep -q 'reload done' "$CFY_LOG" || fail "no reload"
req GET /healthz
grep -q 'http rid=[0-9]* method=GET route=healthz status=200' "$CFY_LOG" ||
	fail "debug access log not enabled by reload"

# Reload with a broken file keeps the running configuration.
printf '[http]\nbogus = 1\n' >>"$T/calcifyd.conf"
kill -HUP "$CFY_PID"
for i in $(seq 1 100); do
	grep -q 'reload failed' "$CFY_LOG" && break
	sleep 0.05
done
grep -q 'reload failed: configuration invalid; keeping the running' \
	"$CFY_LOG" || fail "broken reload not reported"
req GET /healthz
expect_status 200
cfy_stop
grep -q 'stopped' "$CFY_LOG" || fail "no clean stop logged"

# SIGINT stops cleanly too.
cfy_write_config
cfy_start
rc=0
kill -INT "$CFY_PID"
wait "$CFY_PID" || rc=$?
CFY_PID=
[ "$rc" = 0 ] || fail "SIGINT: exit status $rc"

# Address in use: runtime failure, exit status 1.
python3 - "$T/port" <<'EOF' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(30)
EOF
echo $! >"$T/holder.pid"
for i in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
rc=0
"$CALCIFYD" --foreground -c "$T/calcifyd.conf" \
	-o "http.listen=127.0.0.1:$(cat "$T/port")" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "address in use: expected exit 1, got $rc"
grep -q 'cannot listen' "$T/out" || fail "no 'cannot listen' message"
