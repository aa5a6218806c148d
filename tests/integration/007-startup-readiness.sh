#!/bin/bash
# While the store is not open yet (here: another process holds the database
# lock), calcifyd already listens: /healthz answers 200, /readyz and every
# patient-data route answer 503 with an OperationOutcome and Retry-After,
# and once the lock goes it becomes ready and accepts data.  A lock held
# past store.busy_timeout_ms ends start-up with exit 1 and a message that
# says so.
. "$(dirname "$0")/lib.sh"
need python3

cfy_start
cfy_stop

# hold_lock SECONDS: an exclusive lock on the database (locking_mode
# EXCLUSIVE keeps it after the write, and blocks readers too).
hold_lock() {
	python3 - "$T/calcifyd.db" "$1" "$T/locked" <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA locking_mode=EXCLUSIVE")
c.execute("BEGIN EXCLUSIVE")
c.execute("COMMIT")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
c.close()
EOF
	echo $! >"$T/lock.pid"
	for i in $(seq 1 100); do [ -e "$T/locked" ] && return 0; sleep 0.05; done
	fail "could not take the database lock"
}

hold_lock 3
: >"$CFY_LOG"
"$CALCIFYD" --foreground -c "$T/calcifyd.conf" -o store.busy_timeout_ms=20000 \
	>>"$CFY_LOG" 2>&1 &
CFY_PID=$!
for i in $(seq 1 100); do
	CFY_PORT=$(sed -n 's/.*http listening host=[^ ]* port=\([0-9]*\).*/\1/p' "$CFY_LOG")
	[ -n "$CFY_PORT" ] && break
	sleep 0.05
done
[ -n "$CFY_PORT" ] || fail "not listening while the store waits for its lock"
BASE="http://127.0.0.1:$CFY_PORT"

req GET /healthz
expect_status 200
req GET /readyz
expect_outcome 503 transient
expect_header Retry-After ': *[0-9]+'
post_json /fhir/Observation "$top_srcdir/tests/data/ingest/obs-calcium.json"
expect_outcome 503 transient
req GET /fhir/RiskAssessment?subject=Patient/x
expect_outcome 503 transient
req GET /fhir/metadata
expect_status 200

# The lock goes: ready, and data is taken.
for i in $(seq 1 200); do
	curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && break
	sleep 0.05
done
req GET /readyz
expect_status 200
post_json /fhir/Observation "$top_srcdir/tests/data/ingest/obs-calcium.json"
expect_status 201
cfy_stop

# A lock held longer than busy_timeout: a clear message and exit 1.
rm -f "$T/locked"
hold_lock 5
rc=0
"$CALCIFYD" --foreground -c "$T/calcifyd.conf" -o store.busy_timeout_ms=500 \
	>"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "locked store: expected exit 1, got $rc"
grep -q 'another process holds it' "$T/out" ||
	fail "no message naming the lock: $(cat "$T/out")"
