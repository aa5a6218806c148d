#!/bin/bash
# calcify-cohortgen: the same arguments give the same bytes; any slice of a
# cohort is reproducible on its own; output is valid FHIR JSON with values
# inside calcifyd's physiological bounds.
. "$(dirname "$0")/lib.sh"

GEN="$top_builddir/calcify-cohortgen"
"$GEN" -n 200 --seed 7 --format ndjson >"$T/a.ndjson"
"$GEN" -n 200 --seed 7 --format ndjson >"$T/b.ndjson"
cmp -s "$T/a.ndjson" "$T/b.ndjson" || fail "same seed gave different output"
"$GEN" -n 200 --seed 8 --format ndjson >"$T/c.ndjson"
! cmp -s "$T/a.ndjson" "$T/c.ndjson" || fail "different seeds gave the same output"

# Patients 101-200 alone equal the second half of 1-200.
"$GEN" -n 100 --start 101 --seed 7 --format ndjson >"$T/tail.ndjson"
grep -c . "$T/tail.ndjson" >/dev/null
n_tail=$(wc -l <"$T/tail.ndjson")
tail -n "$n_tail" "$T/a.ndjson" | cmp -s - "$T/tail.ndjson" ||
	fail "a slice of the cohort is not reproducible on its own"

# Every line is one resource; every value is plausible.
jq -e -s 'all(.[]; .resourceType != null and .id != null)' "$T/a.ndjson" \
	>/dev/null || fail "an NDJSON line is not a resource"
jq -e -s '[.[] | select(.resourceType == "Patient")] | length == 200' \
	"$T/a.ndjson" >/dev/null || fail "not 200 patients"
jq -e -s '
	def v(c): [.[] | select(.code.coding[0].code == c) | .valueQuantity.value];
	(v("17861-6") | all(. >= 2 and . <= 20)) and
	(v("2000-8") | all(. >= 0.5 and . <= 5)) and
	(v("2777-1") | all(. >= 0.3 and . <= 25)) and
	(v("2731-8") | all(. >= 0 and . <= 10000)) and
	(v("6768-6") | all(. >= 1 and . <= 10000))' "$T/a.ndjson" >/dev/null ||
	fail "implausible values generated"

# Bundle formats parse; batch groups 100 patients per file.
"$GEN" -n 3 --seed 7 --format bundle --out "$T/bundles"
[ "$(ls "$T/bundles" | wc -l)" = 3 ] || fail "bundle: one file per patient"
"$GEN" -n 250 --seed 7 --format batch --out "$T/batch"
[ "$(ls "$T/batch" | wc -l)" = 3 ] || fail "batch: one file per 100 patients"
for f in "$T"/bundles/*.json "$T"/batch/*.json; do
	jq -e '.resourceType == "Bundle" and .type == "batch"' "$f" >/dev/null ||
		fail "$f is not a batch Bundle"
done
# The profiles write what they say: labs (Patient, ESRD, four labs) and
# core (Patient, calcium, phosphate).
"$GEN" -n 50 --seed 7 --format ndjson --profile labs >"$T/labs.ndjson"
[ "$(wc -l <"$T/labs.ndjson")" = 300 ] || fail "labs: not 6 resources a patient"
"$GEN" -n 50 --seed 7 --format ndjson --profile core >"$T/core.ndjson"
[ "$(wc -l <"$T/core.ndjson")" = 150 ] || fail "core: not 3 resources a patient"
jq -e -s 'map(.resourceType) | unique == ["Observation", "Patient"]' \
	"$T/core.ndjson" >/dev/null || fail "core: other resource types"
rc=0
"$GEN" -n 0 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "usage error must exit 2"
