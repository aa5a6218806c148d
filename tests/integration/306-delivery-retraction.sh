#!/bin/bash
# A retracted result at the hospital, against the real FHIR server: state
# A is delivered; an observation X makes state B, delivered; X is entered
# in error, so the patient is back in state A -- whose identifier already
# exists at the server, so its conditional create changes nothing there.
# B rests on X and must stop looking current: calcifyd withdraws it, and
# an update through the outbox makes the server's B entered-in-error (a
# conditional update on the identifier; PUT to its id in put mode) while A
# keeps its status (preliminary here: calcium alone).  Also while the
# server is down for the retraction; and back: X restored makes B current
# again, with its own status at the server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"

D="$top_srcdir/tests/data/ingest"
SYS=urn:calcifyd:risk-assessment

# obs ID PATIENT CALCIUM EFFECTIVE [STATUS]: write the Observation to $T/ID.json.
obs() {
	jq --arg id "$1" --arg p "Patient/$2" --argjson v "$3" --arg eff "$4" \
		--arg st "${5:-final}" \
		'.id = $id | del(.identifier) | .subject.reference = $p |
		 .valueQuantity.value = $v | .effectiveDateTime = $eff |
		 .status = $st' "$D/obs-calcium.json" >"$T/$1.json"
}
send() {	# FILE EXPECTED-STATUS
	post_json /fhir/Observation "$T/$1.json"
	expect_status "$2"
}
sql() { sqlite3 -cmd '.timeout 5000' "$T/calcifyd.db" "$1"; }
drained() {
	local i
	for i in $(seq 1 150); do
		[ "$(sql 'SELECT count(*) FROM outbox WHERE state = 0')" = 0 ] &&
		    [ "$(metric calcifyd_deliveries_in_flight)" = 0 ] && return 0
		sleep 0.1
	done
	fail "outbox not drained: $(sql 'SELECT oid, aid, state, kind, attempts, last_error FROM outbox')"
}
# ident PATIENT N: the identifier of the patient's N-th assessment.
ident() {
	sql "SELECT a.identifier FROM assessments a JOIN patient_keys k ON
	    k.pid = a.pid WHERE k.key = 'ref:Patient/$1' ORDER BY a.aid
	    LIMIT 1 OFFSET $(($2 - 1))"
}
# server_status IDENT: the status of the one RiskAssessment with it.
server_status() {
	local out
	out=$(curl -fsS -G --data-urlencode "identifier=$SYS|$1" \
	    "$FHIR_BASE/RiskAssessment") || fail "search by identifier"
	[ "$(jq -r '.total' <<<"$out")" = 1 ] ||
		fail "server holds $(jq -r '.total' <<<"$out") RiskAssessments with identifier $1"
	jq -r '.entry[0].resource.status' <<<"$out"
}
local_status() {
	curl -fsS "$BASE/fhir/RiskAssessment/$1" | jq -r .status
}

fhir_server_start
fhir_proxy_start

# --- conditional-create mode ------------------------------------------------
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=100 \
	-o hospital.backoff_max_ms=500
obs ca-a rt 9.0 2026-11-20T08:00:00Z
send ca-a 201
drained
obs ca-x rt 12.5 2026-11-22T08:00:00Z
send ca-x 201
drained
A=$(ident rt 1) B=$(ident rt 2)
[ -n "$A" ] && [ -n "$B" ] && [ "$A" != "$B" ] || fail "expected two assessments for rt"
ST=$(server_status "$A")
case $ST in final|preliminary) ;; *) fail "A is $ST at the server" ;; esac
[ "$(server_status "$B")" = "$ST" ] || fail "B is not $ST at the server"

# X entered in error: back to state A.  A's create finds it there (200);
# B is withdrawn and updated at the server.
obs ca-x rt 12.5 2026-11-22T08:00:00Z entered-in-error
send ca-x 200
drained
[ "$(sql "SELECT count(*) FROM assessments a JOIN patient_keys k ON k.pid = a.pid WHERE k.key = 'ref:Patient/rt'")" = 2 ] ||
	fail "the retraction made a new assessment instead of returning to A"
[ "$(server_status "$B")" = entered-in-error ] || fail "B is not entered-in-error at the server"
[ "$(server_status "$A")" = "$ST" ] || fail "A is not $ST at the server"
[ "$(fhir_count RiskAssessment subject=Patient/rt)" = 2 ] || fail "the update created a resource"
[ "$(metric calcifyd_assessments_withdrawn_total)" = 1 ] || fail "withdrawal not counted"
[ "$(metric 'calcifyd_deliveries_total{result="updated"}')" = 1 ] || fail "update not counted"
# The server's B is still valid R4.
curl -fsS -G --data-urlencode "identifier=$SYS|$B" "$FHIR_BASE/RiskAssessment" |
	jq '.entry[0].resource' >"$T/b-eie.json"
fhir_validate "$T/b-eie.json" >"$T/validate.out" 2>&1 ||
	fail "the withdrawn RiskAssessment is not valid R4: $(cat "$T/validate.out")"
# Here too: B reads entered-in-error, A is the newest in a search.
[ "$(local_status "$B")" = entered-in-error ] || fail "B is not entered-in-error here"
req GET "/fhir/RiskAssessment?subject=Patient/rt&_count=1"
expect_jq '.entry[0].resource.identifier[0].value' "$A"
expect_jq '.entry[0].resource.status' "$ST"

# X is valid after all (a new version, final): B is current again, and
# its update gives it its own status back at the server.  A is older,
# not wrong: it keeps its status.
obs ca-x rt 12.5 2026-11-22T08:00:00Z final
send ca-x 200
drained
[ "$(server_status "$B")" = "$ST" ] || fail "B was not restored at the server"
[ "$(server_status "$A")" = "$ST" ] || fail "A was withdrawn by the restore"
[ "$(local_status "$B")" = "$ST" ] || fail "B was not restored here"
[ "$(metric 'calcifyd_deliveries_total{result="updated"}')" = 2 ] || fail "restore not counted"

# --- the retraction while the server is down --------------------------------
obs ca-c rd 9.0 2026-11-20T08:00:00Z
send ca-c 201
drained
obs ca-y rd 12.5 2026-11-22T08:00:00Z
send ca-y 201
drained
C=$(ident rd 1) E=$(ident rd 2)
fhir_fault '{"mode":"down"}'
obs ca-y rd 12.5 2026-11-22T08:00:00Z entered-in-error
send ca-y 200
# A newer result meanwhile does not make the withdrawal moot.
obs ca-z rd 11.0 2026-11-21T08:00:00Z
send ca-z 201
[ -n "$(ident rd 3)" ] || fail "rd: the newer result made no new assessment"
sleep 1
fhir_fault '{"mode":"up"}'
drained
[ "$(server_status "$E")" = entered-in-error ] || fail "rd: the withdrawn one is not entered-in-error"
[ "$(server_status "$C")" = "$ST" ] || fail "rd: the first one is not $ST"
[ "$(fhir_count RiskAssessment subject=Patient/rd)" = 3 ] ||
	fail "rd: server holds $(fhir_count RiskAssessment subject=Patient/rd), expected 3"
cfy_stop

# --- put mode: the update is a PUT to the deterministic id ------------------------
rm -f "$T/calcifyd.db"*
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.mode=put \
	-o hospital.backoff_base_ms=100 -o hospital.backoff_max_ms=500
obs ca-pa rp 9.0 2026-11-20T08:00:00Z
send ca-pa 201
drained
obs ca-px rp 12.5 2026-11-22T08:00:00Z
send ca-px 201
drained
A=$(ident rp 1) B=$(ident rp 2)
obs ca-px rp 12.5 2026-11-22T08:00:00Z entered-in-error
send ca-px 200
drained
[ "$(curl -fsS "$FHIR_BASE/RiskAssessment/$B" | jq -r .status)" = entered-in-error ] ||
	fail "put mode: RiskAssessment/$B is not entered-in-error"
[ "$(curl -fsS "$FHIR_BASE/RiskAssessment/$A" | jq -r .status)" = "$ST" ] ||
	fail "put mode: RiskAssessment/$A is not $ST"
cfy_stop
fhir_server_stop
