#!/bin/bash
# Facts use the latest value by effective time, not arrival order; an
# amended result replaces the value; entered-in-error withdraws it and the
# previous result counts again; each change re-runs the engine; an
# observation that changes no model input makes no new assessment; an
# unknown code is counted as unused; a local code added to a copy of the
# code table and loaded by SIGHUP is used from then on.
. "$(dirname "$0")/lib.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
cfy_start

fact() {
	sqlite3 "$T/calcifyd.db" "SELECT value FROM facts f JOIN patient_keys k
	    ON k.pid = f.pid WHERE k.key = 'ref:Patient/it-p1' AND f.input = $1"
}
assessments() { sqlite3 "$T/calcifyd.db" 'SELECT count(*) FROM assessments'; }
CALCIUM=0   # enum input order, src/inputs.h

post_json /fhir/Patient "$D/patient.json"
post_json /fhir/Condition "$D/condition-esrd.json"

# Newer result first, older one second: the newer one stays.
jq '.id = "ca-new" | del(.identifier) | .effectiveDateTime = "2026-11-20T08:00:00Z" | .valueQuantity.value = 11.2' \
	"$D/obs-calcium.json" >"$T/new.json"
jq '.id = "ca-old" | del(.identifier) | .effectiveDateTime = "2026-10-01T08:00:00Z" | .valueQuantity.value = 8.8' \
	"$D/obs-calcium.json" >"$T/old.json"
post_json /fhir/Observation "$T/new.json"
expect_status 201
n1=$(assessments)
post_json /fhir/Observation "$T/old.json"
expect_status 201
[ "$(fact $CALCIUM)" = 11.2 ] || fail "out-of-order arrival replaced the latest value"
[ "$(assessments)" = "$n1" ] || fail "an older result made a new assessment"

# SI units are converted (2.5 mmol/L = 10.02 mg/dL).
jq '.id = "ca-si" | .effectiveDateTime = "2026-11-22T08:00:00Z" | .code.coding[0].code = "2000-8" | .valueQuantity = {value: 2.5, unit: "mmol/L", system: "http://unitsofmeasure.org", code: "mmol/L"}' \
	"$T/new.json" >"$T/si.json"
post_json /fhir/Observation "$T/si.json"
expect_status 201
[ "$(fact $CALCIUM)" = 10.02 ] || fail "SI calcium not converted: $(fact $CALCIUM)"

# Amended: the value changes.
jq '.status = "amended" | .valueQuantity.value = 2.3' "$T/si.json" >"$T/si-am.json"
post_json /fhir/Observation "$T/si-am.json"
expect_status 200
awk -v v="$(fact $CALCIUM)" 'BEGIN { exit !(v > 9.21 && v < 9.22) }' ||
	fail "amended value not used: $(fact $CALCIUM)"

# Entered in error: withdrawn; the next latest (ca-new, 11.2) counts again.
# That input state was assessed before: its assessment is current again
# and the newest in a search (not the one the retracted value made).
current() {
	curl -fsS "$BASE/fhir/RiskAssessment?subject=Patient/it-p1&_count=1" |
	    jq -r '.entry[0].resource.id'
}
before=$(current)
jq '.status = "entered-in-error"' "$T/si-am.json" >"$T/si-eie.json"
post_json /fhir/Observation "$T/si-eie.json"
expect_status 200
[ "$(fact $CALCIUM)" = 11.2 ] || fail "entered-in-error not withdrawn"
after=$(current)
[ "$after" != "$before" ] || fail "retraction did not change the current assessment"
curl -fsS "$BASE/fhir/RiskAssessment/$after" | jq -e '[.basis[].reference] | index("Observation/ca-new") != null' \
	>/dev/null || fail "the current assessment does not rest on ca-new again"
req GET /fhir/Observation/ca-si
expect_jq .status entered-in-error

# An unknown unit: stored, not used, counted.
jq '.id = "ca-unit" | .effectiveDateTime = "2026-11-23T08:00:00Z" | .valueQuantity = {value: 5, unit: "furlongs", code: "furlongs"}' \
	"$T/new.json" >"$T/unit.json"
post_json /fhir/Observation "$T/unit.json"
expect_status 201
[ "$(fact $CALCIUM)" = 11.2 ] || fail "a value in an unknown unit was used"
[ "$(metric 'calcifyd_observations_unused_total{reason="unknown_unit"}')" -ge 1 ] ||
	fail "unknown unit not counted"

# A code the model does not use: stored, no new assessment, counted.
n3=$(assessments)
unknown0=$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')
jq '.id = "hr" | .code.coding[0] = {system: "http://loinc.org", code: "8867-4"} | .valueQuantity = {value: 72, unit: "/min", system: "http://unitsofmeasure.org", code: "/min"}' \
	"$T/new.json" >"$T/hr.json"
post_json /fhir/Observation "$T/hr.json"
expect_status 201
[ "$(assessments)" = "$n3" ] || fail "an unused observation made an assessment"
[ "$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')" = $((unknown0 + 1)) ] ||
	fail "an unknown code was not counted as unused once"

# Preliminary results are stored but not used.
jq '.id = "ca-prelim" | .status = "preliminary" | .effectiveDateTime = "2026-11-24T08:00:00Z" | .valueQuantity.value = 9.0' \
	"$T/new.json" >"$T/prelim.json"
post_json /fhir/Observation "$T/prelim.json"
expect_status 201
[ "$(fact $CALCIUM)" = 11.2 ] || fail "a preliminary result was used"

# A local lab code: unknown until the admin adds it to the code table
# (conf/codes.tsv format: SYSTEM CODE INPUT) and sends SIGHUP; from then
# on an Observation with that code is used.
LOCAL=http://lab.example.org/codes
jq --arg sys "$LOCAL" '.id = "ca-local-1" | del(.identifier) |
	.effectiveDateTime = "2026-11-25T08:00:00Z" | .valueQuantity.value = 9.6 |
	.code = {coding: [{system: $sys, code: "CA-SER", display: "Calcium, serum (local)"}]}' \
	"$D/obs-calcium.json" >"$T/local1.json"
unknown0=$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')
n4=$(assessments)
post_json /fhir/Observation "$T/local1.json"
expect_status 201
[ "$(fact $CALCIUM)" = 11.2 ] || fail "an unknown local code was used"
[ "$(assessments)" = "$n4" ] || fail "an unknown local code made an assessment"
[ "$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')" = $((unknown0 + 1)) ] ||
	fail "the local code, still unknown, was not counted as unused"

cp "$top_srcdir/conf/codes.tsv" "$T/codes.tsv"
printf '# local codes of the test lab\n%s\tCA-SER\tcalcium\n' "$LOCAL" >>"$T/codes.tsv"
sed -i "s|^codes = .*|codes = $T/codes.tsv|" "$T/calcifyd.conf"
grep -qx "codes = $T/codes.tsv" "$T/calcifyd.conf" || fail "model.codes not rewritten"
kill -HUP "$CFY_PID"
for _ in $(seq 1 200); do
	grep -q 'reload done' "$CFY_LOG" && break
	sleep 0.05
done
grep -q 'reload done' "$CFY_LOG" || fail "no reload after SIGHUP"
grep -q 'code table .* rejected' "$CFY_LOG" && fail "the extended code table was rejected"

jq '.id = "ca-local-2" | .effectiveDateTime = "2026-11-26T08:00:00Z"' \
	"$T/local1.json" >"$T/local2.json"
post_json /fhir/Observation "$T/local2.json"
expect_status 201
[ "$(fact $CALCIUM)" = 9.6 ] || fail "the local code was not used: calcium $(fact $CALCIUM)"
[ "$(assessments)" = $((n4 + 1)) ] || fail "the local code's value made no new assessment"
curl -fsS "$BASE/fhir/RiskAssessment?subject=Patient/it-p1&_count=1" |
	jq -e '[.entry[0].resource.basis[].reference] | index("Observation/ca-local-2") != null' \
	>/dev/null || fail "the current assessment does not rest on the local-code observation"
[ "$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')" = $((unknown0 + 1)) ] ||
	fail "the now known local code was counted as unused"
cfy_stop
