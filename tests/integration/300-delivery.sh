#!/bin/bash
# Delivery to a real FHIR server (Medplum's R4 engine on loopback, which
# validates every write): replaying the sample patients yields exactly one
# RiskAssessment per patient at the server, each valid by the independent
# R4 validator; a replay adds nothing; PUT mode delivers to the
# deterministic id; the outbox drains and metrics say so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"
need sqlite3

S="$top_srcdir/samples"
REPLAY="$top_builddir/calcify-replay"

# Wait until nothing waits for delivery (or give up after 30 s).
drained() {
	local i
	for i in $(seq 1 300); do
		[ "$(metric calcifyd_outbox_depth)" = 0 ] &&
		    [ "$(metric calcifyd_deliveries_in_flight)" = 0 ] &&
		    [ "$(sqlite3 "$T/calcifyd.db" 'SELECT count(*) FROM outbox WHERE state = 0')" = 0 ] &&
		    return 0
		sleep 0.1
	done
	fail "outbox not drained: $(sqlite3 "$T/calcifyd.db" 'SELECT state, count(*) FROM outbox GROUP BY state')"
}

fhir_server_start
cfy_start -o model.scope=dialysis -o "hospital.base_url=$FHIR_BASE"

"$REPLAY" -q --base "$BASE/fhir" "$S" >"$T/replay.out" || fail "replay: $(cat "$T/replay.out")"
drained
assessed=$(sqlite3 "$T/calcifyd.db" 'SELECT count(DISTINCT pid) FROM assessments')
[ "$assessed" -ge 7 ] || fail "only $assessed patients assessed"
n=$(fhir_count RiskAssessment)
[ "$n" = "$assessed" ] || fail "server has $n RiskAssessments, expected one per patient ($assessed)"
[ "$(metric 'calcifyd_deliveries_total{result="delivered"}')" = "$assessed" ] ||
	fail "delivered counter: $(metric 'calcifyd_deliveries_total{result="delivered"}')"

# Every delivered RiskAssessment passes the independent R4 validator, and
# its identifier is the one calcifyd holds.
curl -fsS "$FHIR_BASE/RiskAssessment?_count=100" >"$T/server.json"
jq -c '.entry[].resource' "$T/server.json" | while read -r ra; do
	id=$(jq -r '.identifier[0].value' <<<"$ra")
	printf '%s\n' "$ra" >"$T/ra-$id.json"
	[ "$(sqlite3 "$T/calcifyd.db" "SELECT count(*) FROM assessments WHERE identifier = '$id'")" = 1 ] ||
		fail "server holds an assessment calcifyd does not know: $id"
done
fhir_validate "$T"/ra-*.json >"$T/validate.out" 2>&1 ||
	fail "R4 validation failed: $(cat "$T/validate.out")"
jq -e '[.entry[].resource.subject.reference] | all(startswith("Patient/"))' \
	"$T/server.json" >/dev/null || fail "subject is not the hospital's Patient reference"

# A replay of the same files: nothing new at the server.
"$REPLAY" -q --base "$BASE/fhir" "$S" >/dev/null || fail "second replay"
sleep 1
drained
[ "$(fhir_count RiskAssessment)" = "$n" ] || fail "a replay created RiskAssessments at the server"

# A changed result: exactly one more, superseding nothing already sent.
jq '.entry |= map(if .resource.id == "sample-01-p" then .resource.valueQuantity.value = 7.9 else . end)' \
	"$S/01-young-man-short-vintage.json" >"$T/01-changed.json"
"$REPLAY" -q --base "$BASE/fhir" "$T/01-changed.json" >/dev/null || fail "changed replay"
drained
[ "$(fhir_count RiskAssessment)" = $((n + 1)) ] || fail "a changed result did not deliver exactly one new assessment"
[ "$(fhir_count RiskAssessment subject=Patient/sample-01)" = 2 ] || fail "sample-01 should have 2"
cfy_stop

# PUT mode: delivered to RiskAssessment/<identifier>, idempotent.
rm -f "$T/calcifyd.db"*
cfy_start -o model.scope=dialysis -o "hospital.base_url=$FHIR_BASE" -o hospital.mode=put
"$REPLAY" -q --base "$BASE/fhir" "$S/02-woman-diabetes-low-albumin.json" >/dev/null || fail "put replay"
drained
id=$(sqlite3 "$T/calcifyd.db" 'SELECT identifier FROM assessments ORDER BY aid DESC LIMIT 1')
curl -fsS "$FHIR_BASE/RiskAssessment/$id" >"$T/put.json" || fail "RiskAssessment/$id not at the server"
jq -e --arg id "$id" '.id == $id and .identifier[0].value == $id' "$T/put.json" >/dev/null ||
	fail "PUT did not use the deterministic id"
cfy_stop
fhir_server_stop
