#!/bin/bash
# One lab result is one resource however the integration engine spells its
# id.  A create under a new id (or none) carrying the identifier, patient
# and code of one stored result is a new version of it: a resend changes
# nothing, an amendment replaces the value, entered-in-error withdraws it.
# Results that only share an order's accession number (calcium and
# phosphate of one panel), or belong to another patient, stay apart; with
# several candidates nothing is guessed; PUT keeps the id it asserts.
. "$(dirname "$0")/lib.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
cfy_start

CALCIUM=0 PHOSPHATE=2   # enum input order, src/inputs.h
fact() {	# INPUT [PATIENT]
	sqlite3 "$T/calcifyd.db" "SELECT value FROM facts f JOIN patient_keys k
	    ON k.pid = f.pid WHERE k.key = 'ref:Patient/${2:-it-p9}' AND f.input = $1"
}
count() { sqlite3 "$T/calcifyd.db" "$1"; }
stored_with() {	# IDENTIFIER-VALUE: resources carrying it
	count "SELECT count(DISTINCT rid) FROM idents WHERE ident = 's:urn:oid:1.2.3.4.lab|$1'"
}
# obs ID-or-null VALUE [jq filter]: a calcium result of it-p9, LAB-77.
obs() {
	jq --argjson id "$1" --argjson v "$2" \
		'.id = $id | if $id == null then del(.id) else . end |
		 .subject.reference = "Patient/it-p9" |
		 .identifier[0].value = "LAB-77" | .valueQuantity.value = $v' \
		"$D/obs-calcium.json" | jq "${3:-.}" >"$T/obs.json"
}
phosphate='.code.coding[0] = {system: "http://loinc.org", code: "2777-1"} |
	.valueQuantity |= (.unit = "mg/dL" | .code = "mg/dL")'

obs '"m-1"' 9.0
post_json /fhir/Observation "$T/obs.json"
expect_status 201
expect_jq .id m-1

# The same result again under an id the engine minted for this message.
obs '"m-2"' 9.0
post_json /fhir/Observation "$T/obs.json"
expect_status 200
expect_jq .id m-1
expect_jq .meta.versionId 1
[ "$(stored_with LAB-77)" = 1 ] || fail "a resend under a new id was stored twice"
req GET /fhir/Observation/m-2
expect_outcome 404 not-found

# Amended under yet another id: a new version of m-1, and the value counts.
obs '"m-3"' 10.6 '.status = "amended"'
post_json /fhir/Observation "$T/obs.json"
expect_status 200
expect_jq .id m-1
expect_jq .meta.versionId 2
[ "$(fact $CALCIUM)" = 10.6 ] || fail "amendment under a new id not used: $(fact $CALCIUM)"

# Entered-in-error with no id at all: withdraws the result.
obs null 10.6 '.status = "entered-in-error"'
post_json /fhir/Observation "$T/obs.json"
expect_status 200
expect_jq .id m-1
[ -z "$(fact $CALCIUM)" ] || fail "entered-in-error under another id not withdrawn"
[ "$(stored_with LAB-77)" = 1 ] || fail "retraction stored as a new resource"

# The panel's phosphate shares the accession number: a result of its own.
obs '"m-4"' 6.1 "$phosphate"
post_json /fhir/Observation "$T/obs.json"
expect_status 201
expect_jq .id m-4
[ "$(fact $PHOSPHATE)" = 6.1 ] || fail "phosphate sharing an identifier not used"
[ -z "$(fact $CALCIUM)" ] || fail "phosphate revived the withdrawn calcium"

# ... also when neither carries an id (the derived id includes the code).
obs null 9.4 '.identifier[0].value = "ORD-5" | .effectiveDateTime = "2026-11-21T08:00:00Z"'
post_json /fhir/Observation "$T/obs.json"
expect_status 201
obs null 5.2 ".identifier[0].value = \"ORD-5\" | .effectiveDateTime = \"2026-11-21T08:00:00Z\" | $phosphate"
post_json /fhir/Observation "$T/obs.json"
expect_status 201
[ "$(stored_with ORD-5)" = 2 ] || fail "a panel without ids was folded into one resource"
[ "$(fact $CALCIUM)" = 9.4 ] && [ "$(fact $PHOSPHATE)" = 5.2 ] ||
	fail "panel results without ids: calcium $(fact $CALCIUM), phosphate $(fact $PHOSPHATE)"

# Another patient's result with the same identifier is not this one.
obs '"m-5"' 8.9 '.subject.reference = "Patient/it-p10"'
post_json /fhir/Observation "$T/obs.json"
expect_status 201
expect_jq .id m-5
[ "$(fact $CALCIUM it-p10)" = 8.9 ] || fail "other patient's result not stored as its own"

# PUT asserts its id: a second resource with LAB-77 for it-p9.
obs '"m-9"' 9.9
req PUT /fhir/Observation/m-9 -H 'Content-Type: application/fhir+json' \
	--data-binary "@$T/obs.json"
expect_status 201
expect_jq .id m-9
# Now two stored results match: no guess, a resource of its own.
obs '"m-10"' 9.7
post_json /fhir/Observation "$T/obs.json"
expect_status 201
expect_jq .id m-10

# Within one transaction: the second entry is a new version of the first.
obs '"t-1"' 8.6 '.identifier[0].value = "TX-1"'
mv "$T/obs.json" "$T/t1.json"
obs '"t-2"' 8.7 '.identifier[0].value = "TX-1" | .status = "corrected"'
jq -n --slurpfile a "$T/t1.json" --slurpfile b "$T/obs.json" \
	'{resourceType: "Bundle", type: "transaction", entry: [
	  {resource: $a[0], request: {method: "POST", url: "Observation"}},
	  {resource: $b[0], request: {method: "POST", url: "Observation"}}]}' \
	>"$T/tx.json"
post_json /fhir "$T/tx.json"
expect_status 200
expect_jq '.entry[1].response.location | test("Observation/t-1/_history/2")' true
[ "$(stored_with TX-1)" = 1 ] || fail "one transaction stored one result twice"
cfy_stop
