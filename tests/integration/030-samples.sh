#!/bin/bash
# The sample patients: calcify-replay samples/ exits 0, every patient's
# bands match the table in samples/README (with the default scope,
# dialysis, the patient without dialysis gets no assessment), replaying
# the directory again creates no new observation and no new assessment,
# and the daemon's info-level log holds no patient data from the samples.
. "$(dirname "$0")/lib.sh"
need sqlite3

S="$top_srcdir/samples"
REPLAY="$top_builddir/calcify-replay"
cfy_start -o model.scope=dialysis -o log.level=info

"$REPLAY" -q --json --wait-assessments --wait-timeout 20 \
	--base "$BASE/fhir" "$S" >"$T/run1.json" || fail "replay exit $?: $(cat "$T/run1.json")"
jq -e '.rejected == 0 and .files_bad == 0 and .accepted > 0' "$T/run1.json" \
	>/dev/null || fail "replay summary: $(cat "$T/run1.json")"
jq -e '.ignored >= 1' "$T/run1.json" >/dev/null ||
	fail "the Synthea Encounter was not reported as ignored"

# Bands per patient, against the README table.
band_of() {	# $1 patient id, $2 SNOMED outcome code -> band or "none"
	curl -fsS "$BASE/fhir/RiskAssessment?subject=Patient/$1&_count=1" |
	    jq -r --arg c "$2" '[.entry[0].resource.prediction[]? |
		select(any(.outcome.coding[]; .code == $c)) |
		.qualitativeRisk.coding[0].code][0] // "none"'
}
checked=0
while IFS='|' read -r _ file _ cut vas _; do
	file=$(echo "$file" | tr -d ' ')
	case $file in *.json) ;; *) continue ;; esac
	cut=$(echo "$cut" | tr -d ' ')
	vas=$(echo "$vas" | tr -d ' ')
	pid=$(jq -r '[.entry[].resource | select(.resourceType == "Patient") | .id][0]' \
		"$S/$file")
	got_c=$(band_of "$pid" 237900002)
	got_v=$(band_of "$pid" 396336006)
	[ "$got_c" = "$cut" ] || fail "$file: cutaneous band $got_c, README says $cut"
	[ "$got_v" = "$vas" ] || fail "$file: vascular band $got_v, README says $vas"
	checked=$((checked + 1))
done <"$S/README"
[ "$checked" -ge 7 ] || fail "only $checked samples checked against the README"
note "$checked sample patients match samples/README"

# Replaying the same directory twice changes nothing.
count() { sqlite3 "$T/calcifyd.db" "$1"; }
res_before=$(count 'SELECT count(*), sum(version) FROM resources')
ass_before=$(count 'SELECT count(*) FROM assessments')
"$REPLAY" -q --json --base "$BASE/fhir" "$S" >"$T/run2.json" ||
	fail "second replay exit $?"
jq -e '.created == 0 and .rejected == 0' "$T/run2.json" >/dev/null ||
	fail "second replay created something: $(cat "$T/run2.json")"
[ "$(count 'SELECT count(*), sum(version) FROM resources')" = "$res_before" ] ||
	fail "replay changed stored resources"
[ "$(count 'SELECT count(*) FROM assessments')" = "$ass_before" ] ||
	fail "replay made new assessments"

# A bad file is reported by name and the run goes on (exit 1).
mkdir "$T/mixed"
cp "$S/01-young-man-short-vintage.json" "$T/mixed/"
printf '{"resourceType": "Observation", "status": ' >"$T/mixed/00-broken.json"
rc=0
"$REPLAY" -q --base "$BASE/fhir" "$T/mixed" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "a bad file must give exit 1, got $rc"
grep -q '00-broken.json: not JSON' "$T/err" || fail "bad file not named: $(cat "$T/err")"
grep -q 'accepted' "$T/out" || fail "run did not go on past the bad file"
# --fail-fast stops at the bad file: the good one after it is not sent.
rc=0
"$REPLAY" -q --json --fail-fast --base "$BASE/fhir" "$T/mixed" >"$T/ff.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "--fail-fast on a bad file must give exit 1, got $rc"
jq -e '.files == 1 and .files_bad == 1 and .requests == 0' "$T/ff.json" >/dev/null ||
	fail "--fail-fast went on past the bad file: $(cat "$T/ff.json")"
cfy_stop

# No patient data in the info-level log of all that: no name, identifier
# value, birth date or lab value from the samples (README "Logging").
# Numbers must stand alone (not inside 0.1.0, a port or a hex digest).
jq -r '.. | objects | select(.resourceType == "Patient") |
	((.name[]? | .family, .given[]?, .text), .birthDate) // empty' \
	"$S"/*.json >"$T/phi.words"
jq -r '.. | objects | .identifier? | arrays | .[].value // empty' \
	"$S"/*.json >>"$T/phi.words"
jq -r '.. | objects | select(.resourceType == "Observation") |
	(.valueQuantity.value, .valueString, .valueCodeableConcept.text,
	 .component[]?.valueQuantity.value) // empty | tostring' \
	"$S"/*.json >"$T/phi.values"
[ "$(sort -u "$T/phi.words" | wc -l)" -ge 20 ] && [ "$(sort -u "$T/phi.values" | wc -l)" -ge 20 ] ||
	fail "too little patient data extracted from the samples to check the log"
grep -q 'ready' "$CFY_LOG" || fail "no daemon log to check"
sort -u "$T/phi.words" | while IFS= read -r w; do
	if grep -qiF -- "$w" "$CFY_LOG"; then
		fail "patient data '$w' in the info-level log"
	fi
done
sort -u "$T/phi.values" | while IFS= read -r v; do
	re=$(printf '%s' "$v" | sed 's/[.]/[.]/g')
	if grep -qE -- "(^|[^0-9A-Za-z_.])$re([^0-9A-Za-z_.]|\$)" "$CFY_LOG"; then
		fail "lab value '$v' in the info-level log"
	fi
done
note "info-level log free of $(sort -u "$T/phi.words" "$T/phi.values" | wc -l) patient data strings"

# Server down: exit 3.
rc=0
"$REPLAY" -q --base "http://127.0.0.1:9/fhir" "$S/01-young-man-short-vintage.json" \
	>/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "unreachable server must give exit 3, got $rc"
