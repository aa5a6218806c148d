#!/bin/bash
# The hospital server is down (the fault proxy refuses connections): the
# backlog shows -- calcifyd_outbox_depth and
# calcifyd_outbox_oldest_age_seconds grow, a warning is logged once
# hospital.backlog_warn or hospital.backlog_warn_age is crossed (and not
# before), a notice once it clears.  Three successive input states of one
# patient sent meanwhile leave exactly one RiskAssessment at the server,
# the newest; the older two are kept locally and reported superseded.  A
# requeue of a dead letter whose patient has a newer assessment supersedes
# it instead of sending it after the newer one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"

D="$top_srcdir/tests/data/ingest"
CTL="$top_builddir/calcifyctl"
SYS=urn:calcifyd:risk-assessment

# post_obs PATIENT ID CALCIUM EFFECTIVE: a calcium result for PATIENT.
post_obs() {
	jq --arg p "Patient/$1" --arg id "$2" --argjson v "$3" --arg eff "$4" \
		'.id = $id | del(.identifier) | .subject.reference = $p |
		 .valueQuantity.value = $v | .effectiveDateTime = $eff' \
		"$D/obs-calcium.json" >"$T/p.json"
	post_json /fhir/Observation "$T/p.json"
	expect_status 201
}
sql() { sqlite3 -cmd '.timeout 5000' "$T/calcifyd.db" "$1"; }
pending() { sql 'SELECT count(*) FROM outbox WHERE state = 0'; }
# wait_for WHAT CONDITION: poll CONDITION (shell code, evaluated each
# time) for up to 15 s.
wait_for() {
	local i
	for i in $(seq 1 150); do
		eval "$2" && return 0
		sleep 0.1
	done
	fail "$1 (after 15 s)"
}
depth_is() { [ "$(metric calcifyd_outbox_depth)" = "$1" ]; }
logged() { grep -q "$1" "$CFY_LOG"; }
# age_above S: the oldest-age gauge is above S seconds.
age_above() { awk -v a="$(metric calcifyd_outbox_oldest_age_seconds)" -v s="$1" \
	'BEGIN { exit !(a > s) }'; }
delivered_all() { [ "$(pending)" = 0 ] && [ "$(metric calcifyd_deliveries_in_flight)" = 0 ]; }

fhir_server_start
fhir_proxy_start
fhir_fault '{"mode":"down"}'

# --- The backlog by depth: one waiting is under backlog_warn = 2, two are
# not.  The gauges grow while the server is down.
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=100 \
	-o hospital.backoff_max_ms=500 -o hospital.backlog_warn=2 \
	-o hospital.backlog_warn_age=1h
post_obs bl1 obs-bl1 10.8 2026-11-20T08:00:00Z
wait_for "depth 1 while the server is down" 'depth_is 1'
age1=$(metric calcifyd_outbox_oldest_age_seconds)
wait_for "oldest age did not grow past $age1 s" "age_above $(awk -v a="$age1" 'BEGIN { print a + 1 }')"
logged 'delivery backlog' && fail "warned with one waiting, under backlog_warn = 2"
post_obs bl2 obs-bl2 10.8 2026-11-20T08:00:00Z
wait_for "depth 2 while the server is down" 'depth_is 2'
wait_for "no backlog warning at backlog_warn = 2" "logged 'delivery backlog pending=2 .*over=depth'"
[ "$(metric 'calcifyd_deliveries_total{result="retry"}')" -ge 2 ] || fail "refused connections not retried"
fhir_fault '{"mode":"up"}'
wait_for "backlog not delivered" delivered_all
wait_for "gauge not back to 0" 'depth_is 0'
wait_for "no notice that the backlog cleared" "logged 'delivery backlog cleared'"
[ "$(fhir_count RiskAssessment)" = 2 ] || fail "server holds $(fhir_count RiskAssessment), expected 2"
cfy_stop

# --- The backlog by age: backlog_warn_age = 2s warns once the oldest has
# waited two seconds, not before.
rm -f "$T/calcifyd.db"*
fhir_fault '{"mode":"down"}'
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=100 \
	-o hospital.backoff_max_ms=500 -o hospital.backlog_warn=1000 \
	-o hospital.backlog_warn_age=2s
post_obs bl3 obs-bl3 10.8 2026-11-20T08:00:00Z
wait_for "no backlog warning at backlog_warn_age = 2s" "logged 'delivery backlog pending=1 .*over=age'"
age=$(sed -n 's/.*delivery backlog pending=1 oldest_age_s=\([0-9]*\) .*/\1/p' "$CFY_LOG" | head -n 1)
[ "$age" -ge 2 ] || fail "warned when the oldest had waited $age s, under backlog_warn_age = 2s"

# --- Three input states of one patient while the server is down: the two
# older are superseded as the next arrives; only the newest is sent.
post_obs sup obs-sup-1 8.5 2026-11-21T08:00:00Z
post_obs sup obs-sup-2 10.5 2026-11-22T08:00:00Z
post_obs sup obs-sup-3 12.5 2026-11-23T08:00:00Z
pid=$(sql "SELECT pid FROM patient_keys WHERE key = 'ref:Patient/sup'")
[ -n "$pid" ] || fail "patient sup not in the store"
[ "$(sql "SELECT count(*) FROM assessments WHERE pid = $pid")" = 3 ] ||
	fail "three input states did not make three assessments"
newest=$(sql "SELECT a.identifier FROM assessments a JOIN patients p ON p.last_aid = a.aid WHERE p.pid = $pid")
[ "$(sql "SELECT state FROM outbox WHERE pid = $pid ORDER BY oid" | tr '\n' ' ')" = "2 2 0 " ] ||
	fail "outbox states for sup: $(sql "SELECT oid, state FROM outbox WHERE pid = $pid")"
wait_for "superseded not counted" '[ "$(metric calcifyd_outbox_superseded_total)" = 2 ]'
"$CTL" -c "$T/calcifyd.conf" status >"$T/status" || fail "calcifyctl status"
grep -q '^superseded     2 ' "$T/status" || fail "calcifyctl status: $(cat "$T/status")"
fhir_fault '{"mode":"up"}'
wait_for "not delivered after the server came back" delivered_all
[ "$(fhir_count RiskAssessment subject=Patient/sup)" = 1 ] ||
	fail "server holds $(fhir_count RiskAssessment subject=Patient/sup) RiskAssessments for sup, expected 1"
[ "$(fhir_count RiskAssessment "identifier=$SYS|$newest")" = 1 ] ||
	fail "the RiskAssessment at the server is not the newest state"
# The older ones stay here, searchable and superseded.
[ "$(sql "SELECT count(*) FROM outbox WHERE pid = $pid AND state = 2")" = 2 ] ||
	fail "superseded rows not kept"
req GET "/fhir/RiskAssessment?subject=Patient/sup"
expect_status 200
expect_jq .total 3
cfy_stop

# --- A requeue after a newer assessment was delivered: the refused older
# one is superseded, never sent after the newer.
rm -f "$T/calcifyd.db"*
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=100 \
	-o hospital.backoff_max_ms=500
fhir_fault '{"mode":"400","count":1,"match":"POST /fhir/RiskAssessment"}'
post_obs rq obs-rq-1 8.5 2026-11-21T08:00:00Z
wait_for "400 did not make a dead letter" '[ "$(metric calcifyd_dead_letters)" = 1 ]'
post_obs rq obs-rq-2 12.5 2026-11-22T08:00:00Z
wait_for "the newer assessment was not delivered" delivered_all
[ "$(fhir_count RiskAssessment subject=Patient/rq)" = 1 ] || fail "rq: expected the newer one at the server"
"$CTL" -c "$T/calcifyd.conf" requeue --all >"$T/requeue" || fail "requeue: $(cat "$T/requeue")"
grep -q '^requeued 0 dead letters' "$T/requeue" || fail "requeue sent the older one: $(cat "$T/requeue")"
grep -q '^superseded 1 dead letters' "$T/requeue" || fail "requeue output: $(cat "$T/requeue")"
[ "$(sql 'SELECT count(*) FROM outbox WHERE state IN (0, 3)')" = 0 ] ||
	fail "the older assessment is waiting again: $(sql 'SELECT oid, state FROM outbox')"
wait_for "requeue-superseded not in the daemon's metrics" \
	'[ "$(metric calcifyd_dead_letters_superseded_total)" = 1 ]'
[ "$(metric calcifyd_dead_letters_requeued_total)" = 0 ] || fail "counted as requeued"
# Give the sender more than its one-second poll to (wrongly) send it.
sleep 1.5
[ "$(fhir_count RiskAssessment subject=Patient/rq)" = 1 ] || fail "the older assessment reached the server"
cfy_stop
fhir_server_stop
