#!/bin/bash
# Every RiskAssessment the builder makes for the clinical vignettes of
# tests/unit/test_assessment.c (all bands, final and preliminary, mg/dL and
# SI patients, missing and stale inputs) passes the independent R4
# validator: the official StructureDefinitions through Medplum, not
# calcifyd's own validator.  300-delivery checks what reaches a server;
# this checks every shape the builder can produce.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"

mkdir -p "$T/ra"
CALCIFY_RA_OUT="$T/ra" "$top_builddir/tests/unit/test_assessment" \
	>"$T/unit.log" 2>&1 || fail "test_assessment failed: $(tail -5 "$T/unit.log")"
n=$(find "$T/ra" -name '*.json' | wc -l)
[ "$n" -ge 14 ] || fail "expected at least 14 vignette RiskAssessments, got $n"
for f in "$T"/ra/*.json; do
	[ "$(jq -r .resourceType "$f")" = RiskAssessment ] ||
		fail "$(basename "$f") is not a RiskAssessment"
done
fhir_validate -q "$T"/ra/*.json >"$T/validate.out" 2>&1 ||
	fail "R4 validation failed: $(head -20 "$T/validate.out")"
# The validator must be able to fail: a RiskAssessment without its
# required status is refused.
jq 'del(.status)' "$(find "$T/ra" -name '*.json' | head -1)" >"$T/bad.json"
if fhir_validate -q "$T/bad.json" >"$T/bad.out" 2>&1; then
	fail "the validator accepted a RiskAssessment without status"
fi
