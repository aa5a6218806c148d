#!/bin/bash
# 010-fhir-test-server.sh - the FHIR test harness itself behaves as the
# delivery tests assume: the real server deduplicates conditional creates,
# answers 412 on ambiguous ones and 400 on invalid resources; every fault
# of the proxy does what it promises; the validator tells valid from
# invalid.  Does not need calcifyd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"

SYS='https://hospital.example/fhir/sid/calcifyd'
ESYS=$(jq -rn --arg s "$SYS" '$s | @uri')
ID1=$(printf 'a%.0s' $(seq 64))
ID2=$(printf 'b%.0s' $(seq 64))
ID3=$(printf 'c%.0s' $(seq 64))

# ra FILE ID VALUE [PROBABILITY]: write a RiskAssessment shaped like the
# ones calcifyd sends (id only when ID is not empty).
ra() {
	jq -n --arg id "$2" --arg sys "$SYS" --arg v "$3" \
	    --argjson p "${4:-0.25}" '{
		resourceType: "RiskAssessment",
		status: "final",
		identifier: [{ system: $sys, value: $v }],
		subject: { reference: "Patient/p-010" },
		occurrenceDateTime: "2024-05-01T10:00:00Z",
		method: { text: "calcifyd" },
		prediction: [{
			outcome: { text: "vascular calcification" },
			probabilityDecimal: $p
		}]
	} | if $id != "" then .id = $id else . end' >"$1"
}

# send METHOD URL FILE [curl args]: like req, against a full URL.
send() {
	local method=$1 url=$2 file=$3
	shift 3
	STATUS=$(curl -sS -X "$method" -o "$BODY" -D "$HEADERS" \
	    -w '%{http_code}' -H 'Content-Type: application/fhir+json' \
	    --data-binary "@$file" "$@" "$url") ||
	    fhir_fail "curl failed: $method $url"
}

# create URL FILE VALUE [curl args]: conditional create the way src/sender.c does it.
create() {
	send POST "$1/RiskAssessment" "$2" \
	    -H "If-None-Exist: identifier=$ESYS|$3" "${@:4}"
}

# get URL: like req GET, against a full URL.
get() {
	STATUS=$(curl -sS -o "$BODY" -D "$HEADERS" -w '%{http_code}' "$1") ||
	    fhir_fail "curl failed: GET $1"
}

# curl_rc ARGS...: curl's exit status (for faults that give no answer).
curl_rc() {
	local rc=0
	curl -sS -o /dev/null "$@" 2>/dev/null || rc=$?
	echo "$rc"
}

fhir_server_start
fhir_proxy_start
note "FHIR server $FHIR_BASE, proxy $PROXY_BASE, control $PROXY_CTL"

# --- the real server ---------------------------------------------------------

note "conditional create: 201, then 200 with the same resource"
ra "$T/ra1.json" "" v1
create "$FHIR_BASE" "$T/ra1.json" v1
expect_status 201
expect_header Location "^Location: $FHIR_BASE/RiskAssessment/[^/]+/_history/"
expect_header ETag '^ETag: W/"'
first=$(jq -r .id <"$BODY")
create "$FHIR_BASE" "$T/ra1.json" v1
expect_status 200
expect_jq .id "$first"
[ "$(fhir_count RiskAssessment "identifier=$SYS|v1")" = 1 ] ||
    fhir_fail "conditional create stored a duplicate"

note "PUT with calcifyd's 64-hex ids: 201 create, 200 update"
ra "$T/put1.json" "$ID1" dup
ra "$T/put2.json" "$ID2" dup
send PUT "$FHIR_BASE/RiskAssessment/$ID1" "$T/put1.json"
expect_status 201
send PUT "$FHIR_BASE/RiskAssessment/$ID2" "$T/put2.json"
expect_status 201
send PUT "$FHIR_BASE/RiskAssessment/$ID2" "$T/put2.json"
expect_status 200
expect_jq .id "$ID2"
get "$FHIR_BASE/RiskAssessment/$ID1"
expect_status 200
expect_jq .identifier[0].value dup

note "If-None-Exist matching two resources: 412, nothing stored"
ra "$T/dup.json" "" dup
create "$FHIR_BASE" "$T/dup.json" dup
expect_outcome 412
[ "$(fhir_count RiskAssessment "identifier=$SYS|dup")" = 2 ] ||
    fhir_fail "412 must not store"

note "an invalid RiskAssessment (ras-2: probabilityDecimal 150): 400"
before=$(fhir_count RiskAssessment subject=Patient/p-010)
ra "$T/bad.json" "" bad 150
create "$FHIR_BASE" "$T/bad.json" bad
expect_outcome 400 invariant
grep -q 'ras-2' "$BODY" || fhir_fail "400 does not name ras-2"
ra "$T/bad-put.json" "$ID3" bad 150
send PUT "$FHIR_BASE/RiskAssessment/$ID3" "$T/bad-put.json"
expect_outcome 400 invariant
[ "$(fhir_count RiskAssessment subject=Patient/p-010)" = "$before" ] ||
    fhir_fail "an invalid resource was stored"
[ "$(fhir_count RiskAssessment subject=Patient/p-010)" = 3 ] ||
    fhir_fail "search by subject: expected 3"

# --- the proxy ---------------------------------------------------------------

# through FILE VALUE [curl args]: a conditional create through the proxy.
through() { create "$PROXY_BASE" "$@"; }
fwd() { fhir_stats '.forwarded["POST /fhir/RiskAssessment"] // 0'; }

note "proxy without a fault: forwarded verbatim"
ra "$T/p1.json" "" p1
through "$T/p1.json" p1
expect_status 201
expect_header Location "^Location: $PROXY_BASE/RiskAssessment/"
[ "$(fwd)" = 1 ] || fhir_fail "forwarded count $(fwd), expected 1"

note "503 with Retry-After seconds, once"
fhir_fault '{"mode":"503","retryAfter":7}'
through "$T/p1.json" p1
expect_outcome 503
expect_header Retry-After '^Retry-After: 7[[:space:]]*$'
through "$T/p1.json" p1
expect_status 200

note "503 with Retry-After as an HTTP-date, twice"
fhir_fault '{"mode":"503-date","retryAfter":120,"count":2}'
for _ in 1 2; do
	through "$T/p1.json" p1
	expect_status 503
done
when=$(grep -i '^Retry-After:' "$HEADERS" | cut -d' ' -f2- | tr -d '\r')
delta=$(( $(date -d "$when" +%s) - $(date +%s) ))
[ "$delta" -ge 100 ] && [ "$delta" -le 121 ] ||
    fhir_fail "Retry-After '$when' is $delta s away, expected about 120"
through "$T/p1.json" p1
expect_status 200

note "429 with Retry-After; 500; 400 with an OperationOutcome; 401"
fhir_fault '{"mode":"429","retryAfter":3}'
through "$T/p1.json" p1
expect_outcome 429
expect_header Retry-After '^Retry-After: 3[[:space:]]*$'
fhir_fault '{"mode":"500"}'
through "$T/p1.json" p1
expect_outcome 500
fhir_fault '{"mode":"400"}'
through "$T/p1.json" p1
expect_outcome 400 invalid
fhir_fault '{"mode":"401"}'
through "$T/p1.json" p1
expect_outcome 401
expect_header WWW-Authenticate '^WWW-Authenticate: Bearer'
[ "$(fwd)" = 3 ] || fhir_fail "faulted requests were forwarded ($(fwd))"
[ "$(fhir_stats '.faulted["POST /fhir/RiskAssessment"]')" = 7 ] ||
    fhir_fail "faulted count: $(fhir_stats)"

note "a fault matching only PUT leaves POST alone"
fhir_fault '{"mode":"500","match":"PUT "}'
through "$T/p1.json" p1
expect_status 200
send PUT "$PROXY_BASE/RiskAssessment/$ID1" "$T/put1.json"
expect_outcome 500

note "requireToken: 401 without the bearer token, forwarded with it"
fhir_fault '{"requireToken":"s3cret"}'
through "$T/p1.json" p1
expect_outcome 401
through "$T/p1.json" p1 -H 'Authorization: Bearer wrong'
expect_status 401
through "$T/p1.json" p1 -H 'Authorization: Bearer s3cret'
expect_status 200
fhir_fault '{"requireToken":null}'
through "$T/p1.json" p1
expect_status 200

note "hang: the request is read, no answer comes"
fhir_fault '{"mode":"hang","seconds":30}'
t0=$(date +%s)
rc=$(curl_rc --max-time 1 -X POST -H 'Content-Type: application/fhir+json' \
    --data-binary "@$T/p1.json" "$PROXY_BASE/RiskAssessment")
[ "$rc" = 28 ] || fhir_fail "hang: curl exit $rc, expected 28 (timeout)"
[ $(( $(date +%s) - t0 )) -le 5 ] || fhir_fail "hang: curl took too long"

note "close: connection closed without an answer"
fhir_fault '{"mode":"close"}'
rc=$(curl_rc --max-time 5 -X POST -H 'Content-Type: application/fhir+json' \
    --data-binary "@$T/p1.json" "$PROXY_BASE/RiskAssessment")
[ "$rc" = 52 ] || [ "$rc" = 56 ] ||
    fhir_fail "close: curl exit $rc, expected 52 or 56"

note "lose: stored by the server, the answer never arrives"
fhir_fault '{"mode":"lose"}'
ra "$T/lost2.json" "" lost2
rc=$(curl_rc --max-time 5 -X POST -H 'Content-Type: application/fhir+json' \
    -H "If-None-Exist: identifier=$ESYS|lost2" \
    --data-binary "@$T/lost2.json" "$PROXY_BASE/RiskAssessment")
[ "$rc" = 52 ] || [ "$rc" = 56 ] ||
    fhir_fail "lose: curl exit $rc, expected 52 or 56"
[ "$(fhir_count RiskAssessment "identifier=$SYS|lost2")" = 1 ] ||
    fhir_fail "lose: the server did not store the request"
through "$T/lost2.json" lost2
expect_status 200

note "down: connection refused; up: served again on the same port"
fhir_fault '{"mode":"down"}'
rc=$(curl_rc --max-time 5 "$PROXY_BASE/RiskAssessment?_count=1")
[ "$rc" = 7 ] || fhir_fail "down: curl exit $rc, expected 7 (refused)"
[ "$(curl -fsS "$PROXY_CTL/_fault" | jq .listening)" = false ] ||
    fhir_fail "control port does not report the proxy down"
fhir_fault '{"mode":"up"}'
through "$T/p1.json" p1
expect_status 200

note "control endpoint rejects nonsense"
out=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
    --data-binary '{"mode":"explode"}' "$PROXY_CTL/_fault")
[ "$out" = 400 ] || fhir_fail "unknown mode accepted ($out)"

note "stats count what the proxy saw"
seen=$(fhir_stats '.seen["POST /fhir/RiskAssessment"]')
[ "$seen" = 20 ] || fhir_fail "seen $seen POSTs, expected 20: $(fhir_stats)"
curl -fsS -X DELETE -o /dev/null "$PROXY_CTL/_stats"
[ "$(fhir_stats '.seen | length')" = 0 ] || fhir_fail "stats not reset"

# --- the validator ---------------------------------------------------------

note "validate.mjs: valid 0, invalid 1 naming ras-2, usage 2"
fhir_validate "$T/ra1.json" "$T/put1.json" >"$T/v.out" ||
    { cat "$T/v.out" >&2; fhir_fail "valid RiskAssessments rejected"; }
rc=0
fhir_validate "$T/ra1.json" "$T/bad.json" >"$T/v.out" || rc=$?
[ "$rc" = 1 ] || fhir_fail "invalid RiskAssessment: exit $rc, expected 1"
grep -q "^$T/bad.json: error .*ras-2" "$T/v.out" ||
    fhir_fail "no ras-2 error for bad.json: $(cat "$T/v.out")"
grep -q "ra1.json" "$T/v.out" && fhir_fail "issues reported for ra1.json"
jq '{resourceType: "Bundle", type: "collection",
    entry: [{resource: .[0]}, {resource: .[1]}]}' -s \
    "$T/ra1.json" "$T/bad.json" >"$T/bundle.json"
rc=0
fhir_validate - <"$T/bundle.json" >"$T/v.out" || rc=$?
[ "$rc" = 1 ] && grep -q '^<stdin>#entry\[1\]: error .*ras-2' "$T/v.out" ||
    fhir_fail "Bundle entry not validated: exit $rc, $(cat "$T/v.out")"
rc=0
fhir_validate "$T/no-such-file.json" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fhir_fail "missing file: exit $rc, expected 2"

fhir_server_stop
grep -q '"event":"stopping"' "$FHIR_LOG" || fhir_fail "no stop line in log"
[ "$(grep -c '"method":"POST"' "$FHIR_LOG")" -ge 10 ] ||
    fhir_fail "server log lacks per-request lines"
note "ok"
