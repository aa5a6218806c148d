#!/bin/bash
# kill -9 of calcifyd mid-delivery: some assessments are in flight, some
# were stored at the server but their answers lost; after a restart
# everything is delivered and nothing is duplicated at the server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
fhir_server_start
fhir_proxy_start
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=300 \
	-o hospital.backoff_max_ms=1000 -o hospital.timeout_ms=5000 \
	-o hospital.concurrency=2

# The first three answers are lost (stored at the server), the next two
# hang: at the kill, work is in every state.
fhir_fault '{"mode":"lose","count":3,"match":"POST /fhir/RiskAssessment"}'
N=12
for i in $(seq 1 $N); do
	jq --arg p "Patient/k9-$i" --arg id "k9-$i" \
		'.id = $id | del(.identifier) | .subject.reference = $p' \
		"$D/obs-calcium.json" >"$T/p.json"
	post_json /fhir/Observation "$T/p.json" -H 'Prefer: return=minimal'
	expect_status 201
	[ "$i" = 4 ] && fhir_fault '{"mode":"hang","count":2,"seconds":10,"match":"POST /fhir/RiskAssessment"}'
done
sleep 0.5
cfy_kill9
fhir_fault '{"mode":"off"}'
note "at the kill: server holds $(fhir_count RiskAssessment) of $N"

cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=300 \
	-o hospital.backoff_max_ms=1000
for i in $(seq 1 300); do
	[ "$(sqlite3 "$T/calcifyd.db" 'SELECT count(*) FROM outbox WHERE state = 0')" = 0 ] && break
	sleep 0.1
done
[ "$(sqlite3 "$T/calcifyd.db" 'SELECT count(*) FROM outbox WHERE state = 0')" = 0 ] ||
	fail "deliveries did not resume after the restart"
[ "$(fhir_count RiskAssessment)" = "$N" ] ||
	fail "server has $(fhir_count RiskAssessment) RiskAssessments, expected $N"
dups=$(curl -fsS "$FHIR_BASE/RiskAssessment?_count=1000" |
	jq '[.entry[].resource.identifier[0].value] | length - (unique | length)')
[ "$dups" = 0 ] || fail "$dups duplicated at the server after kill -9"
[ "$(sqlite3 "$T/calcifyd.db" 'SELECT count(*) FROM outbox WHERE state = 1')" = "$N" ] ||
	fail "not every outbox row is marked delivered"
cfy_stop
fhir_server_stop
