#!/bin/bash
# Delivery faults, injected by a proxy in front of the real FHIR server:
# 503 with Retry-After (seconds and HTTP-date), 429 with Retry-After
# seconds, a hanging server, a lost answer, a server down for a while --
# everything is delivered afterwards and nothing is duplicated; every
# retry after a Retry-After waits at least that long; a 400 is a dead
# letter visible in metrics and calcifyctl, and a requeue delivers it and
# is counted in the daemon's /metrics; duplicates already at the server
# (412) are a dead letter too; retries that exhaust hospital.max_retries
# or hospital.max_age end in a dead letter that says it gave up.
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

# retry_gaps MODE: for every delivery attempt the proxy answered with
# fault MODE, one line "GAP_MS WAIT_MS": the time from its arrival to the
# next attempt's arrival at the proxy, and the wait its Retry-After asked
# for counted from the same arrival (seconds; or an HTTP-date, made after
# the arrival, less the arrival).  All instants are the proxy's.
retry_gaps() {
	jq -rs --arg m "$1" '
	    [.[] | select(.method == "POST" and
	        (.url | startswith("/fhir/RiskAssessment")))] as $r
	    | range(0; ($r | length) - 1)
	    | select($r[.].fault == $m and $r[.].retryAfter != null)
	    | "\($r[. + 1].start - $r[.].start) \($r[.].start) \($r[.].retryAfter)"' \
	    "$PROXY_LOG" | while read -r gap at ra; do
		if [[ $ra =~ ^[0-9]+$ ]]; then
			echo "$gap $((ra * 1000))"
		else
			echo "$gap $(( $(date -d "$ra" +%s%3N) - at ))"
		fi
	done
}
# expect_retry_after MODE N: N answers of fault MODE were each followed
# by a retry no sooner than asked (20 ms of slack for clock readings in
# two processes; no upper bound: a loaded machine may be slow).
expect_retry_after() {
	local gaps gap wait
	gaps=$(retry_gaps "$1")
	[ "$(grep -c . <<<"$gaps")" = "$2" ] ||
		fail "$1: expected $2 retried answers in the proxy log, got: $gaps"
	while read -r gap wait; do
		[ "$wait" -ge 900 ] || fail "$1: Retry-After asked for only $wait ms"
		[ "$gap" -ge $((wait - 20)) ] ||
			fail "$1: retried after $gap ms, Retry-After asked for $wait ms"
	done <<<"$gaps"
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
expect_retry_after 503 2

# --- 503 with Retry-After as an HTTP-date (whole seconds, so 2 s ahead
# asks for more than one second), and 429 with Retry-After seconds.
fhir_fault '{"mode":"503-date","count":2,"retryAfter":2,"match":"POST /fhir/RiskAssessment"}'
post_patient fdate
delivered_all 503-date
expect_retry_after 503-date 2
fhir_fault '{"mode":"429","count":2,"retryAfter":2,"match":"POST /fhir/RiskAssessment"}'
post_patient f429
delivered_all 429
expect_retry_after 429 2
[ "$(metric 'calcifyd_deliveries_total{result="retry"}')" -ge 6 ] || fail "retries not counted"

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
# calcifyctl did the requeue, yet the daemon's /metrics counts it.
for i in $(seq 1 50); do
	[ "$(metric calcifyd_dead_letters_requeued_total)" = 1 ] && break
	sleep 0.1
done
[ "$(metric calcifyd_dead_letters_requeued_total)" = 1 ] ||
	fail "the requeue is not in the daemon's metrics: $(metric calcifyd_dead_letters_requeued_total)"

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

# --- Giving up: hospital.max_retries attempts, then a dead letter that
# says so.  The server answers 503 (no Retry-After) until told otherwise.
rm -f "$T/calcifyd.db"*
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=50 \
	-o hospital.backoff_max_ms=200 -o hospital.max_retries=3
curl -fsS -X DELETE "$PROXY_CTL/_stats" >/dev/null
fhir_fault '{"mode":"503","count":-1,"retryAfter":null,"match":"POST /fhir/RiskAssessment"}'
jq '.id = "obs-fgive" | del(.identifier) | .subject.reference = "Patient/fgive"' \
	"$D/obs-calcium.json" >"$T/p.json"
post_json /fhir/Observation "$T/p.json"
expect_status 201
for i in $(seq 1 100); do
	[ "$(metric calcifyd_dead_letters)" = 1 ] && break
	sleep 0.1
done
[ "$(metric calcifyd_dead_letters)" = 1 ] || fail "max_retries did not end in a dead letter"
[ "$(metric 'calcifyd_deliveries_total{result="gave_up"}')" = 1 ] || fail "giving up not counted"
[ "$(metric 'calcifyd_deliveries_total{result="retry"}')" = 2 ] || fail "expected 2 retries before giving up"
[ "$(fhir_stats '.seen["POST /fhir/RiskAssessment"]')" = 3 ] ||
	fail "max_retries=3 made $(fhir_stats '.seen["POST /fhir/RiskAssessment"]') attempts"
grep -q 'delivery dead-letter .*attempts=3 reason=gave_up' "$CFY_LOG" || fail "no gave_up log line"
"$CTL" -c "$T/calcifyd.conf" dead-letters >"$T/dead" || fail "calcifyctl dead-letters"
grep -q 'attempts 3  last HTTP 503' "$T/dead" || fail "give-up listing: $(cat "$T/dead")"
grep -q 'reason    gave up after 3 attempts' "$T/dead" || fail "give-up reason: $(cat "$T/dead")"
cfy_stop

# --- Giving up on age: hospital.max_age counts from the enqueue.  Rather
# than wait the smallest max_age (a minute), the test ages the waiting row
# by an hour in the store; the next failed attempt gives it up.
rm -f "$T/calcifyd.db"*
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=50 \
	-o hospital.backoff_max_ms=200 -o hospital.max_age=10m
fhir_fault '{"mode":"503","count":-1,"retryAfter":1,"match":"POST /fhir/RiskAssessment"}'
jq '.id = "obs-fage" | del(.identifier) | .subject.reference = "Patient/fage"' \
	"$D/obs-calcium.json" >"$T/p.json"
post_json /fhir/Observation "$T/p.json"
expect_status 201
for i in $(seq 1 100); do
	[ "$(sqlite3 "$T/calcifyd.db" 'SELECT attempts FROM outbox')" -ge 1 ] && break
	sleep 0.1
done
sleep 2
[ "$(metric calcifyd_dead_letters)" = 0 ] || fail "gave up before max_age"
sqlite3 -cmd '.timeout 10000' "$T/calcifyd.db" \
	'UPDATE outbox SET enqueued = enqueued - 3600000 WHERE state = 0' ||
	fail "cannot age the outbox row"
for i in $(seq 1 100); do
	[ "$(metric calcifyd_dead_letters)" = 1 ] && break
	sleep 0.1
done
[ "$(metric calcifyd_dead_letters)" = 1 ] || fail "max_age did not end in a dead letter"
[ "$(metric 'calcifyd_deliveries_total{result="gave_up"}')" = 1 ] || fail "giving up on age not counted"
"$CTL" -c "$T/calcifyd.conf" dead-letters | grep -q 'reason    gave up after [0-9]* attempts over 36[0-9][0-9]s' ||
	fail "age give-up listing: $("$CTL" -c "$T/calcifyd.conf" dead-letters)"
fhir_fault '{"mode":"off"}'
cfy_stop
fhir_server_stop
