#!/bin/bash
# Outbound authentication to the hospital: a static bearer token from a
# file, re-read once on a 401 so a rotated token is picked up without a
# restart; OAuth2 client credentials with the token cached, renewed once
# on a 401; a refused token ends in a dead letter, not a retry loop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"
need python3

D="$top_srcdir/tests/data/ingest"
fhir_server_start
fhir_proxy_start
post_patient() {
	jq --arg p "Patient/$1" --arg id "oa-$1" \
		'.id = $id | del(.identifier) | .subject.reference = $p' \
		"$D/obs-calcium.json" >"$T/p.json"
	post_json /fhir/Observation "$T/p.json"
	expect_status 201
}
wait_count() {	# N: wait until the server holds N RiskAssessments
	for i in $(seq 1 100); do
		[ "$(fhir_count RiskAssessment)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "server holds $(fhir_count RiskAssessment), expected $1"
}

# --- static bearer token ------------------------------------------------------
printf 'static-token-0123456789\n' >"$T/bearer"
fhir_fault '{"requireToken":"static-token-0123456789"}'
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.auth=bearer \
	-o "hospital.token_file=$T/bearer"
post_patient b1
wait_count 1

# The token is rotated: the file gets the new one (written aside and
# renamed, as a rotation should) and the server accepts only the new one.
# The first attempt still carries the old token and gets a 401; calcifyd
# re-reads the file once and delivers with the new token.
printf 'rotated-token-9876543210\n' >"$T/bearer.new"
mv "$T/bearer.new" "$T/bearer"
fhir_fault '{"requireToken":"rotated-token-9876543210"}'
post_patient b1r
wait_count 2
[ "$(metric 'calcifyd_bearer_token_rereads_total{result="new_token"}')" = 1 ] ||
	fail "the rotated token file was not re-read once"
[ "$(metric calcifyd_dead_letters)" = 0 ] || fail "the rotation left a dead letter"
[ "$(fhir_stats '.seen["POST /fhir/RiskAssessment"]')" -ge 3 ] ||
	fail "no 401 before the rotated token was used"
grep -q 'static-token\|rotated-token' "$CFY_LOG" && fail "a token reached the log"
cfy_stop
fhir_fault '{"requireToken":"static-token-0123456789"}'

# A wrong token: one renewal attempt, then a dead letter.
printf 'wrong-token-0123456789\n' >"$T/bearer"
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.auth=bearer \
	-o "hospital.token_file=$T/bearer"
post_patient b2
for i in $(seq 1 100); do [ "$(metric calcifyd_dead_letters)" = 1 ] && break; sleep 0.1; done
[ "$(metric calcifyd_dead_letters)" = 1 ] || fail "a refused token did not end in a dead letter"
[ "$(metric 'calcifyd_bearer_token_rereads_total{result="unchanged"}')" = 1 ] ||
	fail "the token file was not re-read once before giving up"
cfy_stop

# --- OAuth2 client credentials ----------------------------------------------------
# A minimal token endpoint (not a FHIR server; only what RFC 6749 4.4 asks):
# checks the client's Basic credentials and hands out tok-1, tok-2, ...
python3 - "$T/oauth.port" "$T/oauth.count" <<'PY' &
import base64, http.server, json, sys
count = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        auth = self.headers.get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(b"calcifyd:s3cret-s3cret").decode()
        if not ok or "grant_type=client_credentials" not in body or "scope=system%2FRiskAssessment.write" not in body:
            self.send_response(401); self.end_headers(); return
        count += 1
        open(sys.argv[2], "w").write(str(count))
        out = json.dumps({"access_token": "tok-%d" % count, "token_type": "Bearer", "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers(); self.wfile.write(out)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
echo $! >"$T/oauth.pid"
for i in $(seq 1 50); do [ -s "$T/oauth.port" ] && break; sleep 0.1; done
printf 's3cret-s3cret\n' >"$T/secret"
fhir_fault '{"requireToken":"tok-1"}'
cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.auth=oauth2 \
	-o "hospital.oauth2_token_url=http://127.0.0.1:$(cat "$T/oauth.port")/token" \
	-o hospital.oauth2_client_id=calcifyd -o "hospital.oauth2_secret_file=$T/secret" \
	-o hospital.oauth2_scope=system/RiskAssessment.write
post_patient o1
post_patient o2
wait_count 4
[ "$(cat "$T/oauth.count")" = 1 ] || fail "the OAuth2 token was not cached ($(cat "$T/oauth.count") fetches)"
# The server now wants a newer token: one 401, one renewal, delivered.
fhir_fault '{"requireToken":"tok-2"}'
post_patient o3
wait_count 5
[ "$(cat "$T/oauth.count")" = 2 ] || fail "the token was not renewed once on 401"
[ "$(metric 'calcifyd_oauth2_token_fetches_total{result="ok"}')" = 2 ] || fail "token fetches not counted"
grep -q 's3cret' "$CFY_LOG" && fail "the client secret reached the log"
cfy_stop
fhir_server_stop
