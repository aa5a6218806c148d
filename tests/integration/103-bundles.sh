#!/bin/bash
# Bundles: a batch with good and bad entries stores exactly the good ones
# (batch-response with per-entry status, location, outcome); a failing
# transaction stores nothing; a good transaction resolves urn:uuid
# references; collection bundles (Synthea) go in entry by entry; other
# resource types are accepted and reported as ignored; one assessment per
# patient per request, however many entries; searchset bundles go in
# entry by entry too; an absolute-URL and a relative reference to one
# Patient name one internal patient.
. "$(dirname "$0")/lib.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
cfy_start

count() { sqlite3 "$T/calcifyd.db" "$1"; }
entry() { jq -c --arg m "$1" --arg u "$2" '{resource: ., request: {method: $m, url: $u}}'; }

# --- batch: good, bad (422 bounds), good, bad (400 structure), ignored.
good1=$(jq '.id = "b-1" | .identifier[0].value = "B-1"' "$D/obs-calcium.json" | entry POST Observation)
bad1=$(jq '.id = "b-2" | .valueQuantity.value = 80' "$D/obs-calcium.json" | entry POST Observation)
good2=$(jq '.id = "b-3" | .identifier[0].value = "B-3" | .effectiveDateTime = "2026-11-21T08:00:00Z"' "$D/obs-calcium.json" | entry POST Observation)
bad2=$(jq '.id = "b-4" | .foo = 1' "$D/obs-calcium.json" | entry POST Observation)
enc=$(echo '{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}}' | entry POST Encounter)
pat=$(entry PUT Patient/it-p1 <"$D/patient.json")
jq -n --argjson a "$pat" --argjson b "$good1" --argjson c "$bad1" \
	--argjson d "$good2" --argjson e "$bad2" --argjson f "$enc" \
	'{resourceType: "Bundle", type: "batch", entry: [$a, $b, $c, $d, $e, $f]}' \
	>"$T/batch.json"
post_json /fhir "$T/batch.json"
expect_status 200
expect_jq .type batch-response
expect_jq '.entry | length' 6
expect_jq '.entry[0].response.status' '201 Created'
expect_jq '.entry[1].response.status' '201 Created'
expect_jq '.entry[1].response.location' 'Observation/b-1/_history/1'
expect_jq '.entry[1].response.etag' 'W/"1"'
expect_jq '.entry[2].response.status' '422 Unprocessable Entity'
expect_jq '.entry[2].response.outcome.issue[0].expression[0]' \
	'Bundle.entry[2].resource.valueQuantity.value'
expect_jq '.entry[3].response.status' '201 Created'
expect_jq '.entry[4].response.status' '400 Bad Request'
expect_jq '.entry[4].response.outcome.issue[0].expression[0]' \
	'Bundle.entry[4].resource.foo'
expect_jq '.entry[5].response.status' '200 OK'
expect_jq '.entry[5].response.outcome.issue[0].severity' information
[ "$(count "SELECT count(*) FROM resources WHERE id IN ('b-1','b-3')")" = 2 ] ||
	fail "good entries not stored"
[ "$(count "SELECT count(*) FROM resources WHERE id IN ('b-2','b-4','e1')")" = 0 ] ||
	fail "bad or ignored entries stored"
# Two observations for one patient in one request: one engine run, at most
# one assessment from this request.
[ "$(count 'SELECT count(*) FROM assessments')" -le 1 ] ||
	fail "more than one assessment for one patient in one request"

# Re-sending the batch changes nothing.
a_before=$(count 'SELECT count(*) FROM assessments')
post_json /fhir "$T/batch.json"
expect_jq '.entry[1].response.status' '200 OK'
[ "$(count 'SELECT count(*) FROM assessments')" = "$a_before" ] ||
	fail "a replayed batch made a new assessment"

# --- transaction that fails: nothing stored.
t_ok=$(jq '.id = "t-ok" | .identifier[0].value = "T-OK"' "$D/obs-calcium.json" | entry POST Observation)
t_bad=$(jq '.id = "t-bad" | .valueQuantity.value = 80' "$D/obs-calcium.json" | entry POST Observation)
jq -n --argjson a "$t_ok" --argjson b "$t_bad" \
	'{resourceType: "Bundle", type: "transaction", entry: [$a, $b]}' \
	>"$T/tx-bad.json"
post_json /fhir "$T/tx-bad.json"
expect_outcome 422 business-rule
expect_jq '.issue[0].expression[0]' 'Bundle.entry[1].resource.valueQuantity.value'
[ "$(count "SELECT count(*) FROM resources WHERE id LIKE 't-%'")" = 0 ] ||
	fail "failed transaction stored something"

# A transaction failing in the store (If-None-Exist with several matches)
# rolls back its other entries too.  Two resources sharing an identifier
# are made with PUT: a POST under a new id would be taken as the same
# result (same identifier, patient and code) and make a new version.
for n in x y; do
	jq ".id = \"tdup-$n\" | .identifier[0].value = \"T-DUP\"" \
		"$D/obs-calcium.json" >"$T/tdup-$n.json"
	req PUT "/fhir/Observation/tdup-$n" -H 'Content-Type: application/fhir+json' \
		--data-binary "@$T/tdup-$n.json"
	expect_status 201
done
t_ine=$(jq 'del(.id) | .identifier[0].value = "T-NEW"' "$D/obs-calcium.json" |
	jq -c '{resource: ., request: {method: "POST", url: "Observation", ifNoneExist: "identifier=urn:oid:1.2.3.4.lab|T-DUP"}}')
jq -n --argjson a "$t_ok" --argjson b "$t_ine" \
	'{resourceType: "Bundle", type: "transaction", entry: [$a, $b]}' \
	>"$T/tx-412.json"
post_json /fhir "$T/tx-412.json"
expect_outcome 412 duplicate
[ "$(count "SELECT count(*) FROM resources WHERE id = 't-ok'")" = 0 ] ||
	fail "transaction partly stored after a store-level failure"

# --- transaction with urn:uuid references (how Synthea sends bundles).
cat >"$T/tx-uuid.json" <<'EOF'
{"resourceType": "Bundle", "type": "transaction", "entry": [
 {"fullUrl": "urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01",
  "resource": {"resourceType": "Patient", "id": "6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01",
   "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": "6f1c1a2e"}],
   "gender": "male", "birthDate": "1950-01-01"},
  "request": {"method": "POST", "url": "Patient"}},
 {"fullUrl": "urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a02",
  "resource": {"resourceType": "Observation", "status": "final",
   "code": {"coding": [{"system": "http://loinc.org", "code": "49765-1", "display": "Calcium [Mass/volume] in Blood"}]},
   "subject": {"reference": "urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01"},
   "effectiveDateTime": "2026-10-01T10:00:00+02:00",
   "valueQuantity": {"value": 2.6, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}},
  "request": {"method": "POST", "url": "Observation"}},
 {"fullUrl": "urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a03",
  "resource": {"resourceType": "Encounter", "status": "finished",
   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
   "subject": {"reference": "urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01"}},
  "request": {"method": "POST", "url": "Encounter"}}
]}
EOF
post_json /fhir "$T/tx-uuid.json"
expect_status 200
expect_jq .type transaction-response
expect_jq '.entry[0].response.status' '201 Created'
expect_jq '.entry[1].response.status' '201 Created'
expect_jq '.entry[2].response.status' '200 OK'
# The observation belongs to the patient the urn named.
pid_pat=$(count "SELECT pid FROM resources WHERE type = 2 AND id = '6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01'")
pid_obs=$(count "SELECT pid FROM resources WHERE type = 1 AND body LIKE '%49765-1%'")
[ -n "$pid_pat" ] && [ "$pid_pat" = "$pid_obs" ] ||
	fail "urn:uuid subject not resolved to the Bundle's Patient"
req GET '/fhir/RiskAssessment?subject=Patient/6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01'
expect_jq '.entry[0].resource.subject.reference' \
	'Patient/6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01'

# --- batch: an entry refused by the writer itself (an id moved to another
# patient) is undone alone: its new patient is not created, the entries
# around it are stored, and each stored resource is counted once.
created0=$(metric 'calcifyd_ingest_resources_total{result="created"}')
new0=$(metric 'calcifyd_assessments_total{result="new"}')
stored0=$(count "SELECT count(*) FROM assessments")
rejected0=$(metric 'calcifyd_ingest_resources_total{result="rejected"}')
patients0=$(count "SELECT count(*) FROM patients")
w1=$(jq '.id = "w-1" | .identifier[0].value = "W-1" | .subject.reference = "Patient/w-a"' "$D/obs-calcium.json" | entry POST Observation)
w2=$(jq '.id = "w-1" | .identifier[0].value = "W-2" | .subject.reference = "Patient/w-moved"' "$D/obs-calcium.json" | entry POST Observation)
w3=$(jq '.id = "w-3" | .identifier[0].value = "W-3" | .subject.reference = "Patient/w-b"' "$D/obs-calcium.json" | entry POST Observation)
jq -n --argjson a "$w1" --argjson b "$w2" --argjson c "$w3" \
	'{resourceType: "Bundle", type: "batch", entry: [$a, $b, $c]}' >"$T/batch-w.json"
post_json /fhir "$T/batch-w.json"
expect_status 200
expect_jq '.entry[0].response.status' '201 Created'
expect_jq '.entry[1].response.status' '422 Unprocessable Entity'
expect_jq '.entry[1].response.outcome.issue[0].details.coding[0].code' '1202'
expect_jq '.entry[2].response.status' '201 Created'
[ "$(count "SELECT count(*) FROM patients")" = $((patients0 + 2)) ] ||
	fail "the refused entry's patient was created, or a good entry's was not"
[ "$(count "SELECT count(*) FROM resources WHERE id IN ('w-1', 'w-3')")" = 2 ] ||
	fail "the good entries around a refused one were not stored"
[ "$(metric 'calcifyd_ingest_resources_total{result="created"}')" = $((created0 + 2)) ] ||
	fail "created resources were not counted exactly once"
[ "$(metric 'calcifyd_ingest_resources_total{result="rejected"}')" = $((rejected0 + 1)) ] ||
	fail "the refused entry was not counted once"
stored=$(count "SELECT count(*) FROM assessments")
[ "$stored" = $((stored0 + 2)) ] || fail "expected one assessment per good entry's patient"
[ "$(metric 'calcifyd_assessments_total{result="new"}')" = $((new0 + stored - stored0)) ] ||
	fail "assessments of a redone request were counted twice"

# --- collection: no request elements, entry by entry.
jq '.type = "collection" | .entry |= map(del(.request))' "$T/tx-uuid.json" \
	>"$T/collection.json"
post_json /fhir "$T/collection.json"
expect_status 200
expect_jq .type batch-response
expect_jq '.entry[1].response.status' '200 OK'

# The same patient by identifier is the same internal patient.
jq '.id = "by-ident" | .identifier[0].value = "BY-IDENT" | .subject = {identifier: {system: "https://github.com/synthetichealth/synthea", value: "6f1c1a2e"}}' \
	"$D/obs-calcium.json" >"$T/by-ident.json"
post_json /fhir/Observation "$T/by-ident.json"
expect_status 201
[ "$(count "SELECT pid FROM resources WHERE id = 'by-ident'")" = "$pid_pat" ] ||
	fail "subject.identifier did not resolve to the known patient"
# --- searchset (a FHIR search result re-posted, as exports arrive): no
# request elements, ingested entry by entry with a batch-response.
s_good=$(jq -c '.id = "ss-1" | .identifier[0].value = "SS-1" | .subject.reference = "Patient/ss-p"' "$D/obs-calcium.json")
s_bad=$(jq -c '.id = "ss-2" | .identifier[0].value = "SS-2" | .subject.reference = "Patient/ss-p" | .valueQuantity.value = 80' "$D/obs-calcium.json")
s_enc='{"resourceType":"Encounter","id":"ss-e","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}}'
jq -n --argjson a "$s_good" --argjson b "$s_bad" --argjson c "$s_enc" \
	'{resourceType: "Bundle", type: "searchset", total: 3, entry: [
	  {fullUrl: "http://example.org/fhir/Observation/ss-1", resource: $a, search: {mode: "match"}},
	  {fullUrl: "http://example.org/fhir/Observation/ss-2", resource: $b, search: {mode: "match"}},
	  {fullUrl: "http://example.org/fhir/Encounter/ss-e", resource: $c, search: {mode: "include"}}]}' \
	>"$T/searchset.json"
post_json /fhir "$T/searchset.json"
expect_status 200
expect_jq .type batch-response
expect_jq '.entry | length' 3
expect_jq '.entry[0].response.status' '201 Created'
expect_jq '.entry[0].response.location' 'Observation/ss-1/_history/1'
expect_jq '.entry[1].response.status' '422 Unprocessable Entity'
expect_jq '.entry[1].response.outcome.issue[0].expression[0]' \
	'Bundle.entry[1].resource.valueQuantity.value'
expect_jq '.entry[2].response.status' '200 OK'
expect_jq '.entry[2].response.outcome.issue[0].severity' information
[ "$(count "SELECT count(*) FROM resources WHERE id = 'ss-1'")" = 1 ] ||
	fail "the searchset's good entry was not stored"
[ "$(count "SELECT count(*) FROM resources WHERE id IN ('ss-2', 'ss-e')")" = 0 ] ||
	fail "the searchset's bad or ignored entry was stored"

# --- one patient, two spellings: an absolute URL and a relative
# reference name one internal patient, whose facts combine both
# observations and whose assessments have one subject.
jq '.id = "abs-ca" | .identifier[0].value = "ABS-CA" |
	.subject.reference = "http://example.org/fhir/Patient/abs-1"' \
	"$D/obs-calcium.json" >"$T/abs-ca.json"
jq '.id = "abs-po" | .subject.reference = "Patient/abs-1"' \
	"$D/obs-phosphate-noid.json" >"$T/abs-po.json"
post_json /fhir/Observation "$T/abs-ca.json"
expect_status 201
post_json /fhir/Observation "$T/abs-po.json"
expect_status 201
pids=$(count "SELECT count(DISTINCT pid) FROM resources WHERE id IN ('abs-ca', 'abs-po')")
[ "$pids" = 1 ] || fail "absolute and relative references made $pids patients"
pid_abs=$(count "SELECT pid FROM resources WHERE id = 'abs-ca'")
# Inputs 0 (calcium) and 2 (phosphate), enum input order in src/inputs.h.
[ "$(count "SELECT group_concat(input) FROM (SELECT input FROM facts WHERE pid = $pid_abs AND input IN (0, 2) ORDER BY input)")" = 0,2 ] ||
	fail "the patient's facts do not combine both spellings' observations"
[ "$(count "SELECT count(*) FROM assessments WHERE pid = $pid_abs")" -ge 1 ] ||
	fail "no assessment for the patient"
req GET '/fhir/RiskAssessment?subject=Patient/abs-1&_count=1'
expect_status 200
expect_jq '.total > 0' true
expect_jq '[.entry[0].resource.basis[].reference] | (index("Observation/abs-ca") != null and index("Observation/abs-po") != null)' true
req GET '/fhir/RiskAssessment?subject=Patient/abs-1'
expect_jq '[.entry[].resource.subject.reference] | unique | length' 1
cfy_stop
