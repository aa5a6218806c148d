#!/bin/bash
# Inbound authentication: no token or a wrong token -> 401 with
# WWW-Authenticate and an OperationOutcome; the right token -> accepted;
# /healthz and /fhir/metadata stay open, /metrics needs a token, /readyz
# does not (defaults) and both follow http.auth_readyz / auth_metrics;
# SIGHUP reloads the token file.
. "$(dirname "$0")/lib.sh"

D="$top_srcdir/tests/data/ingest"
printf '# clients\nmirth  tok-mirth-0123456789abcdef\nrhapsody tok-rhapsody-0123456789ab\n' \
	>"$T/tokens"
chmod 600 "$T/tokens"
cfy_start -o "http.auth_token_file=$T/tokens"

post_json /fhir/Observation "$D/obs-calcium.json"
expect_outcome 401 login
expect_header WWW-Authenticate 'Bearer realm="calcifyd"'
post_json /fhir/Observation "$D/obs-calcium.json" -H 'Authorization: Bearer nope-nope-nope-nope'
expect_outcome 401 login
expect_header WWW-Authenticate 'error="invalid_token"'
post_json /fhir/Observation "$D/obs-calcium.json" -H 'Authorization: Basic bWlydGg6eA=='
expect_outcome 401 login
post_json /fhir/Observation "$D/obs-calcium.json" \
	-H 'Authorization: Bearer tok-mirth-0123456789abcdef'
expect_status 201
req GET /fhir/Observation/ca-1 -H 'Authorization: Bearer tok-rhapsody-0123456789ab'
expect_status 200
req GET /fhir/Observation/ca-1
expect_outcome 401

req GET /healthz
expect_status 200
req GET /readyz
expect_status 200
req GET /fhir/metadata
expect_status 200
req GET /metrics
expect_outcome 401
req GET /metrics -H 'Authorization: Bearer tok-mirth-0123456789abcdef'
expect_status 200
grep -q '^calcifyd_http_auth_failures_total{reason="missing"} [1-9]' "$BODY" ||
	fail "missing-token refusals not counted"
grep -q '^calcifyd_http_auth_failures_total{reason="invalid"} [1-9]' "$BODY" ||
	fail "invalid-token refusals not counted"
# The token never reaches the log.
grep -q 'tok-mirth' "$CFY_LOG" && fail "a token appeared in the log"

# Reload: mirth removed, cloverleaf added.
printf 'rhapsody tok-rhapsody-0123456789ab\ncloverleaf tok-clover-0123456789abcd\n' \
	>"$T/tokens"
kill -HUP "$CFY_PID"
for i in $(seq 1 100); do grep -q 'reload done' "$CFY_LOG" && break; sleep 0.05; done
req GET /fhir/Observation/ca-1 -H 'Authorization: Bearer tok-mirth-0123456789abcdef'
expect_outcome 401
req GET /fhir/Observation/ca-1 -H 'Authorization: Bearer tok-clover-0123456789abcd'
expect_status 200

# A broken token file on reload keeps the running set.
printf 'short x\n' >"$T/tokens"
kill -HUP "$CFY_PID"
for i in $(seq 1 100); do grep -q 'reload failed: http.auth_token_file' "$CFY_LOG" && break; sleep 0.05; done
grep -q 'reload failed: http.auth_token_file' "$CFY_LOG" || fail "broken token file not reported"
req GET /fhir/Observation/ca-1 -H 'Authorization: Bearer tok-clover-0123456789abcd'
expect_status 200
cfy_stop

# The other way round: http.auth_readyz=yes puts /readyz behind a token,
# http.auth_metrics=no opens /metrics; /healthz stays open either way.
printf 'mirth  tok-mirth-0123456789abcdef\n' >"$T/tokens2"
CFY_READY_HEADER='Authorization: Bearer tok-mirth-0123456789abcdef' \
	cfy_start -o "http.auth_token_file=$T/tokens2" -o http.auth_readyz=yes \
	-o http.auth_metrics=no
req GET /readyz
expect_outcome 401 login
expect_header WWW-Authenticate 'Bearer realm="calcifyd"'
req GET /readyz -H 'Authorization: Bearer nope-nope-nope-nope'
expect_outcome 401 login
req GET /readyz -H 'Authorization: Bearer tok-mirth-0123456789abcdef'
expect_status 200
req GET /metrics
expect_status 200
grep -q '^calcifyd_http_auth_failures_total{reason="missing"} 1$' "$BODY" ||
	fail "the open /metrics does not show the one missing-token refusal"
req GET /healthz
expect_status 200
post_json /fhir/Observation "$D/obs-calcium.json"
expect_outcome 401 login
cfy_stop

# --check-config catches a bad token file too (exit 2).
rc=0
"$CALCIFYD" --check-config -c "$T/calcifyd.conf" -o "http.auth_token_file=$T/tokens" \
	>"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "check-config with a bad token file: exit $rc"
grep -q "tokens:1: token for 'short' is shorter than 16" "$T/out" || fail "$(cat "$T/out")"
