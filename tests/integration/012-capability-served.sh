#!/bin/bash
# /fhir/metadata says what calcifyd serves, no more and no less: the live
# CapabilityStatement passes the suite's independent R4 validator and its
# required code bindings (tests/fhirserver/bindings.mjs), and for
# every advertised resource type each advertised interaction (create,
# read, vread, update, search-type with each search parameter), each
# conditionalCreate/updateCreate flag and each system interaction (batch,
# transaction) really works.  An advertised interaction this test has no
# check for fails it, so the table in src/http_ops.c cannot grow past what
# is tested.  Conversely, interactions and types left out of it are
# refused: delete, history, search on stored types; types calcifyd does
# not store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"

cfy_start

req GET /fhir/metadata
expect_status 200
cp "$BODY" "$T/metadata.json"
fhir_validate -q "$T/metadata.json" >"$T/validate.out" 2>&1 ||
	fail "CapabilityStatement invalid under R4: $(head -n 5 "$T/validate.out")"
# The validator leaves out terminology: bindings.mjs checks the required
# code bindings (status, kind, interaction codes, resource types, ...).
bindings() { "$FHIR_NODE" "$FHIR_DIR/bindings.mjs" "$@"; }
bindings "$T/metadata.json" >"$T/bindings.out" 2>&1 ||
	fail "CapabilityStatement codes outside R4 value sets: $(head -n 5 "$T/bindings.out")"
# Neither is vacuous: broken copies fail.
jq 'del(.status)' "$T/metadata.json" >"$T/broken.json"
if fhir_validate -q "$T/broken.json" >"$T/broken.out" 2>&1; then
	fail "the R4 validator accepted a CapabilityStatement without status"
fi
jq '.rest[0].resource[0].interaction[0].code = "frobnicate"' \
	"$T/metadata.json" >"$T/broken.json"
if bindings "$T/broken.json" >"$T/broken.out" 2>&1; then
	fail "bindings.mjs accepted the interaction 'frobnicate'"
fi

PAT=cap-p
# fixture TYPE ID: a valid resource of TYPE with that id and the
# identifier urn:example:cap|cap-TYPE, for the patient $PAT; nothing when
# the test does not know the type.
fixture() {
	local subj="{\"reference\": \"Patient/$PAT\"}" ident
	ident="[{\"system\": \"urn:example:cap\", \"value\": \"cap-$1\"}]"
	case $1 in
	Patient)
		echo "{\"resourceType\": \"Patient\", \"gender\": \"female\",
		    \"birthDate\": \"1950-02-03\"}" ;;
	Observation)
		jq 'del(.identifier)' "$top_srcdir/tests/data/ingest/obs-calcium.json" ;;
	Condition)
		jq 'del(.identifier)' "$top_srcdir/tests/data/ingest/condition-esrd.json" ;;
	Procedure)
		echo '{"resourceType": "Procedure", "status": "completed",
		    "code": {"coding": [{"system": "http://snomed.info/sct",
		    "code": "265764009", "display": "Renal dialysis"}]},
		    "performedDateTime": "2020-01-01"}' ;;
	MedicationStatement)
		echo '{"resourceType": "MedicationStatement", "status": "active",
		    "medicationCodeableConcept": {"text": "calcium carbonate"},
		    "effectiveDateTime": "2026-01-01"}' ;;
	MedicationRequest)
		echo '{"resourceType": "MedicationRequest", "status": "active",
		    "intent": "order",
		    "medicationCodeableConcept": {"text": "calcium carbonate"},
		    "authoredOn": "2026-01-01"}' ;;
	Encounter)
		echo '{"resourceType": "Encounter", "status": "finished",
		    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
		    "code": "AMB"}}' ;;
	DiagnosticReport)
		echo '{"resourceType": "DiagnosticReport", "status": "final",
		    "code": {"text": "renal panel"}}' ;;
	*) return 0 ;;
	esac | jq --arg id "$2" --argjson s "$subj" --argjson i "$ident" \
	    '.id = $id | .identifier = $i |
	     if .resourceType != "Patient" then .subject = $s else . end'
}

put_json() {
	req PUT "$1" -H 'Content-Type: application/fhir+json' \
	    --data-binary "@$2"
}

types=$(jq -r '.rest[0].resource[].type' "$T/metadata.json")
[ -n "$types" ] || fail "no resource types advertised"
# The Patient first: the other fixtures refer to it and a RiskAssessment
# needs its inputs.
types=$(printf '%s\n' $types | awk '$0 == "Patient" { print; next }
	{ rest = rest $0 "\n" } END { printf "%s", rest }')

# has CODE: the current type ($res) advertises that interaction.
has() {
	jq -e --arg c "$1" 'any(.interaction[]; .code == $c)' <<<"$res" >/dev/null
}

for type in $types; do
	res=$(jq -c --arg t "$type" '.rest[0].resource[] | select(.type == $t)' \
	    "$T/metadata.json")
	id="cap-$(printf '%s' "$type" | tr 'A-Z' 'a-z')"
	[ "$type" = Patient ] && id=$PAT
	fixture "$type" "$id" >"$T/$type.json"
	read_id=
	note "$type: $(jq -r '[.interaction[].code] | join(" ")' <<<"$res")"
	for code in $(jq -r '.interaction[].code' <<<"$res"); do
		case $code in
		create)
			[ -s "$T/$type.json" ] ||
				fail "$type: advertised create, no fixture in this test"
			post_json "/fhir/$type" "$T/$type.json"
			expect_status 201
			expect_header Location "/fhir/$type/$id/_history/1"
			read_id=$id
			;;
		read|vread|update)
			;;	# below, once something exists to read
		search-type)
			# A reference parameter names the patient and finds
			# what the fixtures made; number parameters (paging)
			# go with the first reference parameter.
			anchor=
			for p in $(jq -r '.searchParam[]? | "\(.name):\(.type)"' <<<"$res"); do
				case ${p#*:} in
				reference)
					q="${p%%:*}=Patient/$PAT"
					[ -n "$anchor" ] || anchor=$q ;;
				number)
					[ -n "$anchor" ] ||
						fail "$type: paging parameter $p before any reference parameter"
					q="$anchor&${p%%:*}=1" ;;
				*)
					fail "$type: search parameter $p has no check in this test" ;;
				esac
				req GET "/fhir/$type?$q"
				expect_status 200
				expect_jq .resourceType Bundle
				expect_jq .type searchset
				expect_jq "[.entry[]?.resource.resourceType] | all(. == \"$type\")" true
				case ${p#*:} in
				reference)
					expect_jq '.total > 0' true
					[ -n "$read_id" ] ||
						read_id=$(jq -r '.entry[0].resource.id' "$BODY") ;;
				esac
			done
			[ -n "$anchor" ] || fail "$type: search-type without a search parameter"
			;;
		*)
			fail "$type: advertised interaction '$code' has no check in this test"
			;;
		esac
	done
	if has read; then
		[ -n "$read_id" ] || fail "$type: advertised read, nothing to read"
		req GET "/fhir/$type/$read_id"
		expect_status 200
		expect_jq .resourceType "$type"
		expect_jq .id "$read_id"
	fi
	if has vread; then
		req GET "/fhir/$type/$read_id/_history/1"
		expect_status 200
		expect_jq .meta.versionId 1
	fi
	if has update; then
		jq '.identifier += [{system: "urn:example:cap2", value: "v2"}]' \
			"$T/$type.json" >"$T/$type-2.json"
		put_json "/fhir/$type/$id" "$T/$type-2.json"
		expect_status 200
		expect_jq .meta.versionId 2
	fi
	# Flags.
	if [ "$(jq -r .conditionalCreate <<<"$res")" = true ]; then
		has create || fail "$type: conditionalCreate without create"
		jq 'del(.id) | .identifier += [{system: "urn:example:cap3", value: "v3"}]' \
			"$T/$type.json" >"$T/$type-ine.json"
		post_json "/fhir/$type" "$T/$type-ine.json" \
			-H "If-None-Exist: identifier=urn:example:cap|cap-$type"
		expect_status 200
		expect_jq .id "$id"
	fi
	if [ "$(jq -r .updateCreate <<<"$res")" = true ]; then
		jq '.id = "cap-new" | .identifier = [{system: "urn:example:cap", value: "cap-new"}]' \
			"$T/$type.json" >"$T/$type-new.json"
		put_json "/fhir/$type/cap-new" "$T/$type-new.json"
		expect_status 201
	fi
	if [ "$(jq -r .versioning <<<"$res")" = versioned ] && [ -n "$read_id" ]; then
		req GET "/fhir/$type/$read_id"
		expect_header ETag 'W/"[0-9]+"'
	fi
	# What is left out is refused.
	if ! has search-type; then
		req GET "/fhir/$type?_id=$id"
		[ "$STATUS" -ge 400 ] || fail "$type: search-type served, not advertised"
	fi
	if [ "$(jq -r .readHistory <<<"$res")" = false ] && [ -n "$read_id" ]; then
		req GET "/fhir/$type/$read_id/_history"
		[ "$STATUS" -ge 400 ] || fail "$type: history served, not advertised"
	fi
	if ! has delete && [ -n "$read_id" ]; then
		req DELETE "/fhir/$type/$read_id"
		[ "$STATUS" -ge 400 ] || fail "$type: delete served, not advertised"
		req GET "/fhir/$type/$read_id"
		expect_status 200
	fi
done

# Types the test can build but that are not advertised are not stored.
for type in Patient Observation Condition Procedure MedicationStatement \
    MedicationRequest Encounter DiagnosticReport; do
	printf '%s\n' $types | grep -qx "$type" && continue
	fixture "$type" "cap-x" >"$T/x.json"
	post_json "/fhir/$type" "$T/x.json"
	[ "$STATUS" -ge 400 ] || fail "$type: not advertised, but create answered $STATUS"
done

# System interactions.
for code in $(jq -r '.rest[0].interaction[]?.code' "$T/metadata.json"); do
	case $code in
	batch|transaction)
		jq --arg t "$code" '{resourceType: "Bundle", type: $t,
			entry: [{resource: (.id = "cap-\($t)" |
			    .identifier = [{system: "urn:example:cap", value: "cap-\($t)"}]),
			    request: {method: "POST", url: "Observation"}}]}' \
			"$T/Observation.json" >"$T/$code.json"
		post_json /fhir "$T/$code.json"
		expect_status 200
		expect_jq .type "$code-response"
		expect_jq '.entry[0].response.status' '201 Created'
		req GET "/fhir/Observation/cap-$code"
		expect_status 200
		;;
	*)
		fail "system interaction '$code' has no check in this test"
		;;
	esac
done
cfy_stop
