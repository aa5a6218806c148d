#!/bin/bash
# Every official FHIR R4 example Observation that carries a numeric value
# (tests/data/r4-examples, from hl7.fhir.r4.examples 4.0.1) is accepted by
# the running daemon: stored and readable back -- whatever its subject
# (Patient, contained Patient, Group, none) and units.  Each is its own
# resource (201), but for the examples that are variants of one result
# (blood-pressure, -cancel, -dar; f001 and unsat: same identifier, code
# and patient), which become new versions of the first (200).
. "$(dirname "$0")/lib.sh"

X="$top_srcdir/tests/data/r4-examples"
cfy_start
n=0
declare -A first	# "identifier code subject" -> id of the first example
for f in "$X"/Observation-*.json; do
	jq -e '[.. | objects | select(has("value") and (.value | type) == "number")] | length > 0' \
		"$f" >/dev/null || continue
	post_json /fhir/Observation "$f"
	id=$(jq -r .id "$f")
	key=$(jq -r 'select(.identifier != null and .subject.reference != null) |
		[(.identifier[0].system // "") + "|" + .identifier[0].value,
		 .code.coding[0].code, .subject.reference] | join(" ")' "$f")
	if [ -n "$key" ] && [ -n "${first[$key]:-}" ]; then
		[ "$STATUS" = 200 ] ||
			fail "$(basename "$f"): a variant of ${first[$key]} got $STATUS"
		expect_jq .id "${first[$key]}"
		id=${first[$key]}
	else
		[ "$STATUS" = 201 ] ||
			fail "$(basename "$f"): $STATUS $(jq -c '.issue[0] // empty' "$BODY" 2>/dev/null)"
		[ -z "$key" ] || first[$key]=$id
	fi
	req GET "/fhir/Observation/$id"
	expect_status 200
	n=$((n + 1))
done
[ "$n" -ge 30 ] || fail "only $n official examples with a numeric value found"
note "$n official example Observations accepted"
cfy_stop
