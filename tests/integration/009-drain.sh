#!/bin/bash
# Graceful stop (issue 8): a request still uploading when SIGTERM arrives
# is drained, answered 2xx and stored, the daemon exits 0 and leaves the
# WAL checkpointed; a second SIGTERM during the drain ends the process at
# once with a non-zero status and loses nothing acknowledged before; a
# second SIGTERM while the last delivery batch finishes (after the drain)
# ends it at once too, by the signal's default action.
. "$(dirname "$0")/lib.sh"

need python3

# slow_bundle FILE PREFIX: a transaction Bundle of about 10 KB (a Patient
# and 20 calcium results), so that at 2 KB/s it uploads for ~5 s.
slow_bundle() {
	jq -n --arg p "$2" '{
	    resourceType: "Bundle", type: "transaction",
	    entry: ([{
		resource: { resourceType: "Patient", id: ($p + "-pt"),
		    gender: "female", birthDate: "1958-03-02" },
		request: { method: "PUT", url: ("Patient/" + $p + "-pt") } }] +
	    [range(0; 20) as $i | {
		resource: { resourceType: "Observation", id: ($p + "-ca-\($i)"),
		    status: "final",
		    code: { coding: [{ system: "http://loinc.org",
			code: "17861-6" }] },
		    subject: { reference: ("Patient/" + $p + "-pt") },
		    effectiveDateTime: ("2026-10-\(10 + $i)T08:00:00Z"),
		    note: [{ text: ("padding " * 40) }],
		    valueQuantity: { value: (9 + $i / 10), unit: "mg/dL",
			system: "http://unitsofmeasure.org", code: "mg/dL" } },
		request: { method: "PUT",
		    url: ("Observation/" + $p + "-ca-\($i)") } }]) }' >"$1"
	[ "$(wc -c <"$1")" -gt 8000 ] || fail "slow bundle too small"
}

# start_slow FILE NAME: POST FILE at 2 KB/s in the background; the status
# lands in $T/NAME.code.  Returns once the daemon has the request head (it
# counts in calcifyd_http_requests_in_flight beside the scrape itself).
start_slow() {
	curl -sS -o "$T/$2.body" -w '%{http_code}' --limit-rate 2k \
	    -H 'Content-Type: application/fhir+json' --data-binary "@$1" \
	    "$BASE/fhir" >"$T/$2.code" 2>"$T/$2.err" &
	SLOW_PID=$!
	echo "$SLOW_PID" >"$T/$2.pid"
	local i n
	for i in $(seq 1 200); do
		n=$(metric calcifyd_http_requests_in_flight)
		[ "${n:-0}" -ge 2 ] && break
		sleep 0.05
	done
	[ "${n:-0}" -ge 2 ] || fail "slow request never seen in flight"
	kill -0 "$SLOW_PID" 2>/dev/null || fail "slow request ended too early"
}

# exited_within PID SECONDS: true once PID is gone; polls every 50 ms.
exited_within() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# --- 1. SIGTERM while a Bundle uploads: drained, 2xx, stored, exit 0 ------
cfy_start
slow_bundle "$T/slow1.json" drain1
start_slow "$T/slow1.json" slow1
kill -TERM "$CFY_PID"
kill -0 "$SLOW_PID" 2>/dev/null ||
	fail "the upload finished before SIGTERM: nothing was drained"
wait "$SLOW_PID" || fail "slow request: curl failed: $(cat "$T/slow1.err")"
code=$(cat "$T/slow1.code")
case $code in
2??) ;;
*) fail "request in flight at SIGTERM answered $code: $(head -c 400 "$T/slow1.body")" ;;
esac
jq -e '.type == "transaction-response" and (.entry | length) == 21' \
	"$T/slow1.body" >/dev/null || fail "drained bundle answer incomplete"
rc=0
wait "$CFY_PID" || rc=$?
CFY_PID=
[ "$rc" = 0 ] || fail "exit status $rc after a drained SIGTERM"
grep -q 'stopped' "$CFY_LOG" || fail "no clean stop logged"
# Checkpointed at exit: the WAL is gone or empty.
if [ -s "$T/calcifyd.db-wal" ]; then
	fail "WAL not checkpointed at exit ($(wc -c <"$T/calcifyd.db-wal") bytes)"
fi

cfy_start
req GET /fhir/Observation/drain1-ca-19
expect_status 200
expect_jq .subject.reference Patient/drain1-pt
for i in $(seq 0 19); do
	req GET "/fhir/Observation/drain1-ca-$i"
	expect_status 200
done
req GET '/fhir/RiskAssessment?subject=Patient/drain1-pt&_count=1'
expect_status 200
expect_jq '.entry | length' 1

# --- 2. A second SIGTERM during the drain: out at once, non-zero --------
jq '.id = "ack-1" | .identifier[0].value = "LAB-ACK-1" |
    .subject.reference = "Patient/drain1-pt"' \
	"$top_srcdir/tests/data/ingest/obs-calcium.json" >"$T/ack.json"
post_json /fhir/Observation "$T/ack.json"
expect_status 201
slow_bundle "$T/slow2.json" drain2
start_slow "$T/slow2.json" slow2
kill -TERM "$CFY_PID"
for i in $(seq 1 100); do
	grep -q 'stop requested' "$CFY_LOG" && break
	sleep 0.05
done
grep -q 'stop requested' "$CFY_LOG" || fail "first SIGTERM not taken"
kill -TERM "$CFY_PID"
exited_within "$CFY_PID" 5 ||
	fail "a second SIGTERM did not end the drain within 5 s"
rc=0
wait "$CFY_PID" || rc=$?
CFY_PID=
[ "$rc" = 1 ] || fail "interrupted drain: expected exit status 1, got $rc"
grep -q 'second stop signal' "$CFY_LOG" || fail "second signal not logged"
wait "$SLOW_PID" 2>/dev/null || true
case $(cat "$T/slow2.code") in
2??) fail "the interrupted request was answered 2xx" ;;
esac

cfy_start
req GET /fhir/Observation/ack-1
expect_status 200
expect_jq .valueQuantity.value 10.8
req GET /fhir/Observation/drain1-ca-0
expect_status 200
# A transaction that never finished uploading left nothing behind.
req GET /fhir/Observation/drain2-ca-0
expect_status 404
cfy_stop

# --- 3. A second SIGTERM while the delivery batch finishes --------------
# A hospital server that accepts and never answers keeps one delivery in
# flight, so after the (empty) drain the stop waits for the sender; the
# second signal then takes its default action.
python3 - "$T/hport" <<'EOF' &
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
	c, _ = s.accept()
	held.append(c)		# read nothing, answer nothing
EOF
echo $! >"$T/hospital.pid"
for i in $(seq 1 100); do [ -s "$T/hport" ] && break; sleep 0.05; done
[ -s "$T/hport" ] || fail "silent hospital did not start"
cfy_start -o "hospital.base_url=http://127.0.0.1:$(cat "$T/hport")/fhir" \
	-o hospital.timeout_ms=60000
jq '.id = "ack-2" | .identifier[0].value = "LAB-ACK-2" |
    .valueQuantity.value = 11.4 | .subject.reference = "Patient/drain1-pt"' \
	"$top_srcdir/tests/data/ingest/obs-calcium.json" >"$T/ack2.json"
post_json /fhir/Observation "$T/ack2.json"
expect_status 201
for i in $(seq 1 200); do
	n=$(metric calcifyd_deliveries_in_flight)
	[ "${n:-0}" -ge 1 ] && break
	sleep 0.05
done
[ "${n:-0}" -ge 1 ] || fail "no delivery in flight to the silent hospital"
kill -TERM "$CFY_PID"
for i in $(seq 1 200); do
	grep -q 'stop: drained' "$CFY_LOG" && break
	sleep 0.05
done
grep -q 'stop: drained' "$CFY_LOG" || fail "drain end not logged"
kill -TERM "$CFY_PID"
exited_within "$CFY_PID" 4 ||
	fail "a second SIGTERM did not end the stop at once"
rc=0
wait "$CFY_PID" || rc=$?
CFY_PID=
[ "$rc" = 143 ] || fail "expected death by SIGTERM (143), got $rc"

cfy_start
req GET /fhir/Observation/ack-2
expect_status 200
expect_jq .valueQuantity.value 11.4
cfy_stop
