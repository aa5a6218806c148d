#!/bin/bash
# Every official FHIR R4 example Observation that carries a numeric value
# (tests/data/r4-examples, from hl7.fhir.r4.examples 4.0.1) is accepted by
# the running daemon: 201, stored, readable back -- whatever its subject
# (Patient, contained Patient, Group, none) and units.
. "$(dirname "$0")/lib.sh"

X="$top_srcdir/tests/data/r4-examples"
cfy_start
n=0
for f in "$X"/Observation-*.json; do
	jq -e '[.. | objects | select(has("value") and (.value | type) == "number")] | length > 0' \
		"$f" >/dev/null || continue
	post_json /fhir/Observation "$f"
	[ "$STATUS" = 201 ] ||
		fail "$(basename "$f"): $STATUS $(jq -c '.issue[0] // empty' "$BODY" 2>/dev/null)"
	id=$(jq -r .id "$f")
	req GET "/fhir/Observation/$id"
	expect_status 200
	n=$((n + 1))
done
[ "$n" -ge 30 ] || fail "only $n official examples with a numeric value found"
note "$n official example Observations accepted"
cfy_stop
