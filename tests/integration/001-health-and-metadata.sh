#!/bin/bash
# The daemon starts on embedded defaults, answers /healthz, /readyz,
# /metrics (Prometheus text 0.0.4) and a valid R4 CapabilityStatement;
# with http.threads=1 it serves without a thread pool, and everything it
# writes is a formatted log line (libmicrohttpd's own warnings included).
. "$(dirname "$0")/lib.sh"

cfy_start

req GET /healthz
expect_status 200
expect_jq .status alive

req GET /readyz
expect_status 200
expect_jq .status ready

req GET /fhir/metadata
expect_status 200
expect_header Content-Type '^Content-Type: application/fhir\+json; charset=utf-8'
expect_jq .resourceType CapabilityStatement
expect_jq .status active
expect_jq .kind instance
expect_jq .fhirVersion 4.0.1
expect_jq .software.name calcifyd
expect_jq '.rest[0].mode' server
expect_jq '.format | index("json") != null' true
expect_jq '.date | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")' true
expect_header X-Request-Id '[0-9]+'

# _format=json is honoured, Accept: application/json too.
req GET '/fhir/metadata?_format=json'
expect_status 200
req GET /fhir/metadata -H 'Accept: application/json'
expect_status 200

req GET /metrics
expect_status 200
expect_header Content-Type 'text/plain; version=0.0.4'
grep -q '^calcifyd_build_info{version="' "$BODY" || fail "no build info"
grep -q '^process_start_time_seconds [0-9]' "$BODY" || fail "no start time"
grep -q '^# TYPE calcifyd_http_request_duration_seconds histogram' "$BODY" ||
	fail "no duration histogram"
grep -q '^calcifyd_http_requests_total{route="metadata",code="200"} [1-9]' \
	"$BODY" || fail "requests by route and status not counted"
grep -q '^calcifyd_ready 1' "$BODY" || fail "ready gauge not 1"

cfy_stop

# One HTTP thread: no pool, and nothing raw from libmicrohttpd on stderr
# (its logger must be set before the options it complains about).
cfy_start -o http.threads=1
req GET /fhir/metadata
expect_status 200
cfy_stop
if grep -v '^<[0-7]>' "$CFY_LOG" >"$T/raw"; then
	fail "unformatted output from calcifyd: $(head -n 3 "$T/raw")"
fi
