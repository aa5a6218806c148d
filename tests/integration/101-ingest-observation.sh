#!/bin/bash
# POST and PUT of single resources: 201 + Location + ETag + Last-Modified,
# the Location is readable, re-sends are idempotent (200, no new version),
# changed content makes a new version (vread keeps the old one), Prefer is
# honoured, If-None-Exist matches 0/1/several, and a RiskAssessment appears.
. "$(dirname "$0")/lib.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
cfy_start

post_json /fhir/Patient "$D/patient.json"
expect_status 201
post_json /fhir/Condition "$D/condition-esrd.json"
expect_status 201

post_json /fhir/Observation "$D/obs-calcium.json"
expect_status 201
expect_header Location "/fhir/Observation/ca-1/_history/1"
expect_header ETag 'W/"1"'
expect_header Last-Modified 'GMT'
expect_jq .resourceType Observation
expect_jq .id ca-1
expect_jq .meta.versionId 1
expect_jq .valueQuantity.value 10.8
loc=$(grep -i '^Location:' "$HEADERS" | tr -d '\r' | sed 's/^[^:]*: //')

# The Location of a create is readable.
req GET "${loc#$BASE}"
expect_status 200
expect_jq .id ca-1
req GET /fhir/Observation/ca-1
expect_status 200
expect_header ETag 'W/"1"'

# The same Observation again: stored once.
post_json /fhir/Observation "$D/obs-calcium.json"
expect_status 200
expect_jq .meta.versionId 1

# Amended: a new version; the old one stays readable.
jq '.status = "amended" | .valueQuantity.value = 9.1' "$D/obs-calcium.json" \
	>"$T/amended.json"
post_json /fhir/Observation "$T/amended.json"
expect_status 200
expect_header Location "/_history/2"
expect_jq .meta.versionId 2
expect_jq .status amended
req GET /fhir/Observation/ca-1/_history/1
expect_status 200
expect_jq .valueQuantity.value 10.8
req GET /fhir/Observation/ca-1/_history/2
expect_jq .valueQuantity.value 9.1
req GET /fhir/Observation/ca-1/_history/3
expect_outcome 404 not-found
req GET /fhir/Observation/nosuch
expect_outcome 404 not-found

# No id, no identifier: a retry still maps to the same resource.
post_json /fhir/Observation "$D/obs-phosphate-noid.json"
expect_status 201
first=$(jq -r .id "$BODY")
post_json /fhir/Observation "$D/obs-phosphate-noid.json"
expect_status 200
expect_jq .id "$first"

# Prefer.
jq '.id = "ca-2" | .identifier[0].value = "LAB-0002"' "$D/obs-calcium.json" \
	>"$T/ca2.json"
post_json /fhir/Observation "$T/ca2.json" -H 'Prefer: return=minimal'
expect_status 201
[ ! -s "$BODY" ] || fail "return=minimal must send no body"
post_json /fhir/Observation "$T/ca2.json" -H 'Prefer: return=OperationOutcome'
expect_status 200
expect_jq .resourceType OperationOutcome
expect_jq '.issue[0].severity' information

# If-None-Exist: 0 matches creates, 1 returns it (200), several -> 412.
jq 'del(.id) | .identifier[0].value = "LAB-INE"' "$D/obs-calcium.json" \
	>"$T/ine.json"
post_json /fhir/Observation "$T/ine.json" \
	-H 'If-None-Exist: identifier=urn:oid:1.2.3.4.lab|LAB-INE'
expect_status 201
jq '.valueQuantity.value = 8.9' "$T/ine.json" >"$T/ine2.json"
post_json /fhir/Observation "$T/ine2.json" \
	-H 'If-None-Exist: identifier=urn:oid:1.2.3.4.lab|LAB-INE'
expect_status 200
expect_jq .valueQuantity.value 10.8
# Two resources sharing an identifier, made with PUT (client-asserted ids;
# a POST under a new id is the same result, see below).
for n in a b; do
	jq ".id = \"dup-$n\" | .identifier[0].value = \"LAB-DUP\"" \
		"$D/obs-calcium.json" >"$T/dup-$n.json"
	req PUT "/fhir/Observation/dup-$n" -H 'Content-Type: application/fhir+json' \
		--data-binary "@$T/dup-$n.json"
	expect_status 201
done
post_json /fhir/Observation "$T/ine.json" \
	-H 'If-None-Exist: identifier=urn:oid:1.2.3.4.lab|LAB-DUP'
expect_outcome 412 duplicate
post_json /fhir/Observation "$T/ine.json" -H 'If-None-Exist: code=17861-6'
expect_outcome 400

# PUT: create with that id, update, id mismatch.
jq 'del(.id) | .identifier[0].value = "LAB-PUT"' "$D/obs-calcium.json" \
	>"$T/put.json"
req PUT /fhir/Observation/put-1 -H 'Content-Type: application/fhir+json' \
	--data-binary "@$T/put.json"
expect_status 201
expect_jq .id put-1
jq '.valueQuantity.value = 9.9' "$T/put.json" >"$T/put2.json"
req PUT /fhir/Observation/put-1 -H 'Content-Type: application/fhir+json' \
	--data-binary "@$T/put2.json"
expect_status 200
expect_jq .meta.versionId 2
req PUT /fhir/Observation/other -H 'Content-Type: application/fhir+json' \
	--data-binary "@$D/obs-calcium.json"
expect_outcome 400

# Moving an id to another patient is refused (422) and harms nothing.
jq '.subject.reference = "Patient/someone-else"' "$D/obs-calcium.json" \
	>"$T/moved.json"
post_json /fhir/Observation "$T/moved.json"
expect_outcome 422 business-rule
req GET /fhir/Observation/ca-1
expect_jq .meta.versionId 2

# The patient has an assessment, served as a searchset, newest first.
req GET '/fhir/RiskAssessment?subject=Patient/it-p1'
expect_status 200
expect_jq .resourceType Bundle
expect_jq .type searchset
expect_jq '.total > 0' true
expect_jq '.entry[0].resource.resourceType' RiskAssessment
expect_jq '.entry[0].resource.subject.reference' Patient/it-p1
expect_jq '.entry[0].resource.prediction | length' 2
id=$(jq -r '.entry[0].resource.id' "$BODY")
req GET "/fhir/RiskAssessment/$id"
expect_status 200
expect_jq .id "$id"
req GET '/fhir/RiskAssessment?subject=Patient/it-p1&_count=1'
expect_jq '.entry | length' 1
req GET '/fhir/RiskAssessment?subject=Patient/nobody'
expect_status 200
expect_jq .total 0
req GET '/fhir/RiskAssessment?foo=bar'
expect_outcome 400

# Without a Patient calcifyd can name (no subject, a Group) an
# Observation is valid FHIR: stored and served, not used, counted.
assessments0=$(sqlite3 "$T/calcifyd.db" "SELECT count(*) FROM assessments")
jq '.id = "nosubj-1"' "$D/obs-no-subject.json" >"$T/nosubj.json"
post_json /fhir/Observation "$T/nosubj.json"
expect_status 201
jq '.id = "group-1"' "$D/obs-group-subject.json" >"$T/group.json"
post_json /fhir/Observation "$T/group.json"
expect_status 201
req GET /fhir/Observation/group-1
expect_status 200
expect_jq .subject.reference Group/g1
[ "$(metric 'calcifyd_observations_unused_total{reason="no_patient"}')" = 2 ] ||
	fail "observations without a patient not counted as unused"
[ "$(sqlite3 "$T/calcifyd.db" "SELECT count(*) FROM assessments")" = "$assessments0" ] ||
	fail "an observation without a patient produced an assessment"
# Bounds still hold for them.
jq '.id = "nosubj-2" | .valueQuantity.value = 80' "$D/obs-no-subject.json" >"$T/nosubj2.json"
post_json /fhir/Observation "$T/nosubj2.json"
expect_outcome 422 business-rule

# A contained Patient is known by its identifier: a later Observation
# naming that identifier is the same patient.
jq '.id = "contained-1" | .identifier[0].value = "C-1" |
	.contained = [{resourceType: "Patient", id: "pt", identifier: [{system: "urn:example:mrn", value: "C-77"}]}] |
	.subject = {reference: "#pt"}' "$D/obs-calcium.json" >"$T/contained.json"
post_json /fhir/Observation "$T/contained.json"
expect_status 201
jq '.id = "contained-2" | .identifier[0].value = "C-2" | .effectiveDateTime = "2026-11-21T08:00:00Z" |
	.subject = {identifier: {system: "urn:example:mrn", value: "C-77"}}' "$D/obs-calcium.json" >"$T/byident.json"
post_json /fhir/Observation "$T/byident.json"
expect_status 201
[ "$(sqlite3 "$T/calcifyd.db" "SELECT count(DISTINCT pid) FROM resources WHERE id IN ('contained-1', 'contained-2')")" = 1 ] ||
	fail "a contained Patient's identifier did not name one patient"

# Metrics count what happened.
[ "$(metric 'calcifyd_ingest_resources_total{result="created"}')" -ge 5 ] ||
	fail "created counter"
[ "$(metric 'calcifyd_ingest_resources_total{result="unchanged"}')" -ge 2 ] ||
	fail "unchanged counter"
cfy_stop

# Everything survives a restart.
cfy_start
req GET /fhir/Observation/ca-1
expect_status 200
expect_jq .meta.versionId 2
req GET "/fhir/RiskAssessment/$id"
expect_status 200
cfy_stop
