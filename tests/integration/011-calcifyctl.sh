#!/bin/bash
# calcifyctl (issue 8 admin view): status shows uptime, the model version,
# patients, observations, the outbox depth and its oldest age and the dead
# letters, and keeps working read-only while the daemon writes; explain
# shows a sample patient's latest facts and the last assessment's
# contributing factors exactly as GET /fhir/RiskAssessment has them;
# without the daemon, status still reads the store.
. "$(dirname "$0")/lib.sh"

need python3

CTL="$top_builddir/calcifyctl"
S="$top_srcdir/samples/02-woman-diabetes-low-albumin.json"

# A hospital server answering every request per $T/mode: "busy" -> 503
# with Retry-After: 1 (the assessment waits in the outbox), "reject" ->
# 400 with an OperationOutcome (a dead letter).
echo busy >"$T/mode"
python3 - "$T/hport" "$T/mode" <<'EOF' &
import http.server, json, os, sys

class H(http.server.BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"
	def answer(self):
		n = int(self.headers.get("Content-Length") or 0)
		if n:
			self.rfile.read(n)
		mode = open(sys.argv[2]).read().strip()
		code = 503 if mode == "busy" else 400
		body = json.dumps({"resourceType": "OperationOutcome",
		    "issue": [{"severity": "error", "code": "invalid",
		    "diagnostics": "test hospital says " + mode}]}).encode()
		self.send_response(code)
		if code == 503:
			self.send_header("Retry-After", "1")
		self.send_header("Content-Type", "application/fhir+json")
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)
	do_GET = do_POST = do_PUT = answer
	def log_message(self, *a):
		pass

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
echo $! >"$T/hospital.pid"
for i in $(seq 1 100); do [ -s "$T/hport" ] && break; sleep 0.05; done
[ -s "$T/hport" ] || fail "test hospital did not start"
HOSP="http://127.0.0.1:$(cat "$T/hport")/fhir"

cfy_start -o "hospital.base_url=$HOSP" -o hospital.backoff_base_ms=100 \
	-o hospital.backoff_max_ms=500
# The configuration names port 0; calcifyctl needs the real one.
ctl() {
	"$CTL" -c "$T/calcifyd.conf" -o "http.listen=127.0.0.1:$CFY_PORT" \
	    -o "hospital.base_url=$HOSP" "$@"
}
# field NAME: the value column of a status line (after the label).
field() { sed -n "s/^$1  *//p" "$T/status"; }
status() { ctl status >"$T/status" 2>"$T/status.err" ||
	fail "calcifyctl status failed: $(cat "$T/status.err")"; }

post_json /fhir "$S"
expect_status 200
req GET '/fhir/RiskAssessment?subject=Patient/sample-02&_count=1'
expect_status 200
cp "$BODY" "$T/ra.json"
n_ra=$(jq -r .total "$T/ra.json")
[ "$n_ra" -ge 1 ] || fail "sample 02 made no assessment"

# --- status while the daemon runs ------------------------------------------
for i in $(seq 1 100); do
	status
	field outbox | grep -q '^1 waiting' && break
	sleep 0.1
done
field daemon | grep -Eq "^running at 127\.0\.0\.1:$CFY_PORT, up [0-9]+[smhd] \(since 20[0-9-]+T" ||
	fail "status: daemon line: $(field daemon)"
[ "$(field model)" = 'calcifyd-calcification 0.1.0 (in use)' ] ||
	fail "status: model line: $(field model)"
[ "$(field ready)" = yes ] || fail "status: ready: $(field ready)"
[ "$(field patients)" = 1 ] || fail "status: patients: $(field patients)"
n_obs=$(jq '[.entry[].resource | select(.resourceType == "Observation")] | length' "$S")
[ "$(field observations)" = "$n_obs" ] ||
	fail "status: observations $(field observations), sample has $n_obs"
[ "$(field resources)" = "$(jq '.entry | length' "$S") in all (Observation $n_obs, Patient 1, Condition 3, Procedure 1)" ] ||
	fail "status: resources line: $(field resources)"
[ "$(field assessments)" = "$n_ra" ] ||
	fail "status: assessments $(field assessments), API says $n_ra"
field outbox | grep -Eq '^1 waiting, oldest [0-9]+s$' ||
	fail "status: outbox line: $(field outbox)"
[ "$(field 'dead letters')" = 0 ] || fail "status: dead letters: $(field 'dead letters')"

# --- explain: the same facts and factors as the RiskAssessment ----------------
ctl explain Patient/sample-02 >"$T/explain" 2>"$T/explain.err" ||
	fail "calcifyctl explain failed: $(cat "$T/explain.err")"
# Every Observation of the sample is the latest of its input: its value
# and its reference are listed.
jq -r '.entry[].resource | select(.resourceType == "Observation") |
    "\(.id) \(.valueQuantity.value) \(.valueQuantity.code)"' "$S" >"$T/obs"
while read -r id v unit; do
	grep -Eq "^  .* $v +$unit +2026-11-20T08:00:00Z +Observation/$id\$" \
	    "$T/explain" || fail "explain does not list $id ($v $unit)"
done <"$T/obs"
grep -q "^  administrative sex  *female  *Patient/sample-02\$" "$T/explain" ||
	fail "explain does not show the patient's sex"
id=$(jq -r '.entry[0].resource.id' "$T/ra.json")
grep -q "^last assessment $id ($(jq -r '.entry[0].resource.status' "$T/ra.json"), model calcifyd-calcification 0.1.0, made .*, $n_ra in all)\$" \
	"$T/explain" || fail "explain names another assessment than the API's newest ($id)"
# Per outcome: probability, band and the contributing factors in order.
for o in cutaneous:237900002 vascular:396336006; do
	key=${o%%:*}
	code=${o#*:}
	jq -r --arg c "$code" '.entry[0].resource.prediction[] |
	    select(any(.outcome.coding[]; .code == $c)) |
	    "\(.probabilityDecimal) \(.qualitativeRisk.coding[0].code)"' \
	    "$T/ra.json" >"$T/want"
	read -r p band <"$T/want"
	grep -Eq "^  $key: $(printf '%.1f' "$p") % \($band\), " "$T/explain" ||
		fail "explain $key: not '$p % ($band)': $(grep "^  $key:" "$T/explain")"
	jq -r --arg c "$code" '.entry[0].resource.prediction[] |
	    select(any(.outcome.coding[]; .code == $c)) | .rationale |
	    sub("^Contributing factors, largest first: "; "") | sub("\\.$"; "") |
	    split("; ")[]' "$T/ra.json" >"$T/want.$key"
	[ -s "$T/want.$key" ] || fail "the API shows no $key factors"
	sed -n "/^  $key: /,/^  [a-z]*: \|^  mitigation\|missing or stale/p" \
	    "$T/explain" | sed -n 's/^    +[0-9.]*  //p' >"$T/got.$key"
	diff "$T/want.$key" "$T/got.$key" >"$T/diff" ||
		fail "explain $key factors differ from the RiskAssessment: $(cat "$T/diff")"
done
jq -r '.entry[0].resource.mitigation' "$T/ra.json" >"$T/want.mit"
grep -Fq "$(head -c 60 "$T/want.mit")" "$T/explain" ||
	fail "explain does not show the mitigation"

# --- status is read-only and safe while the daemon writes ------------------
# 60 new results for a second patient, posted one after another, while
# status runs again and again: each run succeeds, the counts never go
# back, and the writer sees no error.
(
	for i in $(seq 1 60); do
		jq --arg id "load-$i" --argjson v "$(awk -v i="$i" 'BEGIN { print 8 + i / 20 }')" \
		    --arg d "2026-10-$(printf '%02d' $((1 + i % 28)))T$(printf '%02d' $((i % 24))):00:00Z" \
		    '.id = $id | .identifier[0].value = $id |
		     .subject.reference = "Patient/ctl-load" |
		     .effectiveDateTime = $d | .valueQuantity.value = $v' \
		    "$top_srcdir/tests/data/ingest/obs-calcium.json" |
		curl -sS -o /dev/null -w '%{http_code}\n' \
		    -H 'Content-Type: application/fhir+json' --data-binary @- \
		    "$BASE/fhir/Observation"
	done >"$T/load.codes"
) &
LOAD=$!
echo "$LOAD" >"$T/load.pid"
runs=0
last=0
while kill -0 "$LOAD" 2>/dev/null || [ "$runs" -lt 3 ]; do
	status
	n=$(field observations | sed 's/ .*//')
	[ "$n" -ge "$last" ] || fail "status: observations went back ($last -> $n)"
	last=$n
	runs=$((runs + 1))
done
wait "$LOAD"
[ "$(grep -c '^201$' "$T/load.codes")" = 60 ] ||
	fail "writes failed while status ran: $(sort "$T/load.codes" | uniq -c | tr '\n' ' ')"
[ "$(metric calcifyd_store_errors_total)" = 0 ] || fail "store errors while status ran"
status
[ "$(field observations)" = $((n_obs + 60)) ] ||
	fail "status: observations $(field observations) after 60 more"
[ "$(field patients)" = 2 ] || fail "status: patients: $(field patients)"
note "status ran $runs times during the writes"

# --- dead letters: the hospital now refuses everything ------------------------
echo reject >"$T/mode"
for i in $(seq 1 200); do
	status
	[ "$(field outbox)" = '0 waiting, oldest -' ] &&
	    [ "$(field 'dead letters')" = '2 (calcifyctl dead-letters)' ] && break
	sleep 0.1
done
[ "$(field outbox)" = '0 waiting, oldest -' ] ||
	fail "status: outbox not drained: $(field outbox)"
[ "$(field 'dead letters')" = '2 (calcifyctl dead-letters)' ] ||
	fail "status: dead letters: $(field 'dead letters')"
ctl dead-letters >"$T/dead" || fail "calcifyctl dead-letters failed"
[ "$(grep -c 'last HTTP 400$' "$T/dead")" = 2 ] || fail "dead-letters: $(cat "$T/dead")"
grep -q 'server    invalid: test hospital says reject' "$T/dead" ||
	fail "dead-letters does not show the server's diagnostics"

# --- without the daemon, status still reads the store ---------------------
cfy_stop
status
field daemon | grep -q '^not answering' || fail "status: daemon line: $(field daemon)"
[ "$(field model)" = 'calcifyd-calcification 0.1.0 (made the newest assessment)' ] ||
	fail "status (daemon down): model line: $(field model)"
[ "$(field observations)" = $((n_obs + 60)) ] ||
	fail "status (daemon down): observations $(field observations)"
