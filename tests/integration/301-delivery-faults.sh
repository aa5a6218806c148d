#!/bin/bash
# Delivery faults, injected by a proxy in front of the real FHIR server:
# 503 with Retry-After (seconds and HTTP-date), 429, a hanging server, a
# lost answer, a server down for a while -- everything is delivered
# afterwards and nothing is duplicated; Retry-After is honoured; a 400 is a
# dead letter visible in metrics and calcifyctl, and a requeue delivers it;
# duplicates already at the server (412) are a dead letter too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
CTL="$top_builddir/calcifyctl"

fhir_server_start
fhir_proxy_start
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=100 \
	-o hospital.backoff_max_ms=500 -o hospital.timeout_ms=1500

n=0
# post_patient NAME: data for a new patient, which makes one assessment.
post_patient() {
	jq --arg p "Patient/$1" --arg id "obs-$1" \
		'.id = $id | del(.identifier) | .subject.reference = $p' \
		"$D/obs-calcium.json" >"$T/p.json"
	post_json /fhir/Observation "$T/p.json"
	expect_status 201
	n=$((n + 1))
}
pending() { sqlite3 "$T/calcifyd.db" 'SELECT count(*) FROM outbox WHERE state = 0'; }
# delivered_all: wait (up to 20 s) until nothing is pending and the server
# holds exactly $n RiskAssessments, one per identifier.
delivered_all() {
	local i
	for i in $(seq 1 200); do
		[ "$(pending)" = 0 ] && [ "$(fhir_count RiskAssessment)" = "$n" ] && break
		sleep 0.1
	done
	[ "$(pending)" = 0 ] || fail "$1: still pending after 20 s"
	[ "$(fhir_count RiskAssessment)" = "$n" ] ||
		fail "$1: server has $(fhir_count RiskAssessment) RiskAssessments, expected $n"
	dups=$(curl -fsS "$FHIR_BASE/RiskAssessment?_count=1000" |
		jq '[.entry[].resource.identifier[0].value] | length - (unique | length)')
	[ "$dups" = 0 ] || fail "$1: $dups duplicates at the server"
}

# --- 503 with Retry-After seconds: the retry waits at least that long.
fhir_fault '{"mode":"503","count":2,"retryAfter":1,"match":"POST /fhir/RiskAssessment"}'
t0=$(date +%s%N)
post_patient f503
delivered_all 503
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 1900 ] ||
	fail "two 503s with Retry-After: 1 were retried within $(( (t1 - t0) / 1000000 )) ms"
[ "$(fhir_stats '.faulted["POST /fhir/RiskAssessment"]')" = 2 ] || fail "503s not seen"

# --- 503 with an HTTP-date, and 429.
fhir_fault '{"mode":"503-date","count":1,"retryAfter":1,"match":"POST /fhir/RiskAssessment"}'
post_patient fdate
delivered_all 503-date
fhir_fault '{"mode":"429","count":2,"retryAfter":1,"match":"POST /fhir/RiskAssessment"}'
post_patient f429
delivered_all 429
[ "$(metric 'calcifyd_deliveries_total{result="retry"}')" -ge 5 ] || fail "retries not counted"

# --- A hanging server: the attempt times out and is retried.
fhir_fault '{"mode":"hang","count":1,"seconds":5,"match":"POST /fhir/RiskAssessment"}'
post_patient fhang
delivered_all hang

# --- The server stores it but the answer is lost: the retry's
# If-None-Exist finds it, nothing is duplicated.
fhir_fault '{"mode":"lose","count":1,"match":"POST /fhir/RiskAssessment"}'
post_patient flose
delivered_all lose
[ "$(metric 'calcifyd_deliveries_total{result="already_present"}')" -ge 1 ] ||
	fail "the lost answer's retry was not recognised as already present"

# --- Down for a while: everything waits, then goes, once each.
fhir_fault '{"mode":"down"}'
for p in d1 d2 d3; do post_patient "fdown-$p"; done
sleep 2
[ "$(pending)" -ge 3 ] || fail "nothing pending while the server is down"
fhir_fault '{"mode":"up"}'
delivered_all down

# --- A 400: dead letter, visible, and requeue delivers it.
fhir_fault '{"mode":"400","count":1,"match":"POST /fhir/RiskAssessment"}'
post_patient f400
for i in $(seq 1 100); do
	[ "$(metric calcifyd_dead_letters)" = 1 ] && break
	sleep 0.1
done
[ "$(metric calcifyd_dead_letters)" = 1 ] || fail "400 did not make a dead letter"
[ "$(metric 'calcifyd_deliveries_total{result="dead_letter"}')" = 1 ] || fail "dead letter not counted"
"$CTL" -c "$T/calcifyd.conf" dead-letters >"$T/dead" || fail "calcifyctl dead-letters"
grep -q 'last HTTP 400' "$T/dead" || fail "dead letter listing: $(cat "$T/dead")"
grep -q 'server ' "$T/dead" || fail "the server's OperationOutcome is not shown: $(cat "$T/dead")"
oid=$(sed -n 's/^oid \([0-9]*\) .*/\1/p' "$T/dead" | head -n 1)
"$CTL" -c "$T/calcifyd.conf" requeue "$oid" | grep -q 'requeued 1' || fail "requeue"
delivered_all requeue
"$CTL" -c "$T/calcifyd.conf" dead-letters | grep -q 'no dead letters' || fail "still a dead letter"

# --- Duplicates already at the server: 412, dead letter, no retry loop.
fhir_fault '{"mode":"down"}'
post_patient f412
id=$(sqlite3 "$T/calcifyd.db" 'SELECT identifier FROM assessments ORDER BY aid DESC LIMIT 1')
for x in a b; do
	jq -n --arg id "$id" --arg x "$x" '{resourceType: "RiskAssessment", id: ("dup-" + $x),
	    status: "final", subject: {reference: "Patient/f412"},
	    identifier: [{system: "urn:calcifyd:risk-assessment", value: $id}]}' >"$T/dup.json"
	curl -fsS -X PUT -H 'Content-Type: application/fhir+json' --data-binary "@$T/dup.json" \
		"$FHIR_BASE/RiskAssessment/dup-$x" >/dev/null || fail "cannot plant a duplicate"
done
fhir_fault '{"mode":"up"}'
for i in $(seq 1 100); do
	[ "$(metric 'calcifyd_deliveries_total{result="duplicates_at_server"}')" = 1 ] && break
	sleep 0.1
done
[ "$(metric 'calcifyd_deliveries_total{result="duplicates_at_server"}')" = 1 ] ||
	fail "412 was not recognised"
"$CTL" -c "$T/calcifyd.conf" dead-letters | grep -q 'duplicates exist at server' ||
	fail "412 dead letter not explained"
cfy_stop
fhir_server_stop
