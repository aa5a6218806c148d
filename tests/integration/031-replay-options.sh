#!/bin/bash
# calcify-replay's options end to end: --token-file against inbound auth
# (a refused or missing token stops the run with a clear message, exit 1),
# --dry-run stores nothing, --as-batch sends batches, --rate holds the
# pace down, --concurrency bounds the requests in flight, paths that do
# not exist and unknown resource types are bad files, --wait-assessments
# is not fooled by an assessment from an earlier run, the exit codes for a
# usage error (2) and an unreachable server (3), and the progress display
# (a bar on a terminal, plain lines otherwise).
. "$(dirname "$0")/lib.sh"
need python3 script sqlite3

S="$top_srcdir/samples"
S1="$S/01-young-man-short-vintage.json"
REPLAY="$top_builddir/calcify-replay"
count() { sqlite3 "$T/calcifyd.db" "$1"; }
bundle_posts() { metric 'calcifyd_http_requests_total{route="bundle",code="200"}'; }
# replay ARGS...: runs calcify-replay; sets RC, output in $T/out, $T/err.
replay() {
	RC=0
	"$REPLAY" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

# --- usage errors: exit 2 ----------------------------------------------------
for args in "" "--concurrency 0 $S1" "--rate fast $S1" "--no-such-option $S1" \
	"--base ftp://example.org $S1" "--token-file $T/no-such-token $S1" \
	"$T/no-such-dir"; do
	# shellcheck disable=SC2086
	replay $args
	[ "$RC" = 2 ] || fail "usage error '$args': exit $RC, expected 2"
done
grep -q 'no-such-dir: cannot use: No such file or directory' "$T/err" ||
	fail "a lone missing path is not named: $(cat "$T/err")"

# --- calcifyd unreachable: exit 3 ----------------------------------------------
replay -q --base http://127.0.0.1:9/fhir "$S1"
[ "$RC" = 3 ] || fail "unreachable server: exit $RC, expected 3"
grep -q 'unreachable' "$T/err" || fail "no unreachable message: $(cat "$T/err")"

# --- --token-file against inbound authentication ---------------------------------
printf 'mirth tok-mirth-0123456789abcdef\n' >"$T/tokens"
printf '# the replay token\ntester tok-mirth-0123456789abcdef\n' >"$T/good.token"
printf 'tok-wrong-0123456789abcdef\n' >"$T/bad.token"
chmod 600 "$T/tokens" "$T/good.token" "$T/bad.token"
cfy_start -o "http.auth_token_file=$T/tokens"
replay -q --json --token-file "$T/good.token" --base "$BASE/fhir" "$S1"
[ "$RC" = 0 ] || fail "--token-file with the right token: exit $RC: $(cat "$T/err")"
jq -e '.accepted == 9 and .rejected == 0' "$T/out" >/dev/null ||
	fail "right token not accepted: $(cat "$T/out")"
replay -q --token-file "$T/bad.token" --base "$BASE/fhir" "$S"
[ "$RC" = 1 ] || fail "a refused token: exit $RC, expected 1"
grep -q 'calcifyd refused the token from --token-file (401 Unauthorized)' "$T/err" ||
	fail "no clear message for a refused token: $(cat "$T/err")"
grep -q '401 login' "$T/out" || fail "the summary does not show the 401: $(cat "$T/out")"
replay -q --json -c 1 --base "$BASE/fhir" "$S"
[ "$RC" = 1 ] || fail "no token against auth: exit $RC, expected 1"
grep -q 'it needs a token (--token-file)' "$T/err" ||
	fail "no clear message for a missing token: $(cat "$T/err")"
# The run stops at the first 401 instead of sending every file.
jq -e '.requests == 1' "$T/out" >/dev/null || fail "the run went on after a 401: $(cat "$T/out")"
cfy_stop

cfy_start

# --- --dry-run sends nothing -------------------------------------------------------
before=$(count 'SELECT count(*), sum(version) FROM resources')
replay -q --json --dry-run --base "$BASE/fhir" "$S"
[ "$RC" = 0 ] || fail "--dry-run: exit $RC"
jq -e '.files == 8 and .requests == 8 and .resources > 80' "$T/out" >/dev/null ||
	fail "--dry-run did not report what it would send: $(cat "$T/out")"
[ "$(count 'SELECT count(*), sum(version) FROM resources')" = "$before" ] ||
	fail "--dry-run stored something"
[ -z "$(bundle_posts)" ] || fail "--dry-run sent a Bundle"
replay -q --dry-run --base http://127.0.0.1:9/fhir "$S"
[ "$RC" = 0 ] || fail "--dry-run against no server: exit $RC (it must not connect)"

# --- single resources, --as-batch, bad and ignored files ------------------------------
# Sample 01 split into one file per resource (subject as Patient/ID), plus
# an Encounter (a type calcifyd does not use) and one FHIR does not know.
mkdir "$T/single"
pid=$(jq -r '.entry[0].resource.id' "$S1")
n=$(jq '.entry | length' "$S1")
for i in $(seq 0 $((n - 1))); do
	jq --argjson i "$i" --arg p "Patient/$pid" '.entry[$i].resource |
	    if .subject then .subject.reference = $p else . end' "$S1" \
	    >"$T/single/$(printf '%02d' "$i").json"
done
printf '{"resourceType": "Encounter", "id": "enc-1", "status": "finished"}\n' \
	>"$T/single/50-encounter.json"
creates() {
	local c u
	c=$(metric 'calcifyd_http_requests_total{route="create",code="201"}')
	u=$(metric 'calcifyd_http_requests_total{route="create",code="200"}')
	echo $((${c:-0} + ${u:-0}))
}
replay -q --json --as-batch --base "$BASE/fhir" "$T/single"
[ "$RC" = 0 ] || fail "--as-batch: exit $RC: $(cat "$T/out")"
jq -e --argjson n "$n" '.requests == $n + 1 and .accepted == $n and .ignored == 1 and
	.rejected == 0' "$T/out" >/dev/null || fail "--as-batch summary: $(cat "$T/out")"
[ "$(bundle_posts)" = $((n + 1)) ] || fail "--as-batch did not send batch Bundles ($(bundle_posts))"
[ "$(creates)" = 0 ] || fail "--as-batch posted single resources"
# Without it: each to its endpoint (already stored now), the Encounter
# ignored and not sent.
replay --json --base "$BASE/fhir" "$T/single"
[ "$RC" = 0 ] || fail "single resources: exit $RC: $(cat "$T/out")"
jq -e --argjson n "$n" '.requests == $n and .accepted == $n and .unchanged == $n and
	.ignored == 1' "$T/out" >/dev/null || fail "single resources summary: $(cat "$T/out")"
[ "$(creates)" = "$n" ] || fail "single resources were not posted to their endpoints"
replay --base "$BASE/fhir" "$T/single/50-encounter.json"
[ "$RC" = 0 ] || fail "an ignored type must not fail the run: exit $RC"
grep -q '50-encounter.json: Encounter is not used by calcifyd; ignored' "$T/err" ||
	fail "the ignored file is not reported: $(cat "$T/err")"
# A type FHIR does not define, and a path that does not exist, next to a
# good file: both reported, the good one sent, exit 1.
printf '{"resourceType": "Observaton", "id": "x"}\n' >"$T/typo.json"
replay --base "$BASE/fhir" "$T/typo.json" "$T/no-such-file.json" "$S1"
[ "$RC" = 1 ] || fail "bad type and missing path: exit $RC, expected 1"
grep -q "typo.json: resourceType 'Observaton' is not a FHIR R4 resource type" "$T/err" ||
	fail "unknown resourceType not reported: $(cat "$T/err")"
grep -q 'no-such-file.json: cannot use: No such file or directory' "$T/err" ||
	fail "missing path not reported: $(cat "$T/err")"
grep -q 'bad files     2' "$T/out" || fail "summary does not count 2 bad files: $(cat "$T/out")"
grep -q 'accepted      9' "$T/out" || fail "the good file was not sent: $(cat "$T/out")"

# --- --wait-assessments is not fooled by an earlier run's assessment -------------------
# Sample 01 is stored and assessed.  A new version that changes only the
# patient's name leaves the risk as it was, so calcifyd keeps the old
# assessment: the wait must report it as from before the run, not count
# it.  The same files again (nothing changed) keep their assessment as
# current; a changed lab value brings a fresh one.
# Two seconds on, the earlier run's answers are over a whole second of
# calcifyd's Date header behind.
sleep 2.1
jq '(.entry[0].resource.name[0].family) |= "Renamed"' "$S1" >"$T/renamed.json"
replay -q --json --wait-assessments --wait-timeout 2 --base "$BASE/fhir" "$T/renamed.json"
[ "$RC" = 0 ] || fail "renamed replay: exit $RC"
jq -e '.assessments.patients_checked == 1 and .assessments.stale == 1 and
	([.assessments.cutaneous[], .assessments.vascular[]] | add) == 0' "$T/out" \
	>/dev/null || fail "an assessment from before the run was taken: $(cat "$T/out")"
replay -q --json --wait-assessments --wait-timeout 20 --base "$BASE/fhir" "$T/renamed.json"
jq -e '.unchanged == 9 and .assessments.stale == 0 and .assessments.without_assessment == 0 and
	([.assessments.cutaneous[]] | add) == 1' "$T/out" >/dev/null ||
	fail "an unchanged replay did not take the standing assessment: $(cat "$T/out")"
jq '(.entry[] | select(.resource.id == "sample-01-p") | .resource.valueQuantity.value) |= 8.9' \
	"$T/renamed.json" >"$T/highp.json"
replay -q --json --wait-assessments --wait-timeout 20 --base "$BASE/fhir" "$T/highp.json"
jq -e '.assessments.stale == 0 and ([.assessments.cutaneous[]] | add) == 1' "$T/out" \
	>/dev/null || fail "the fresh assessment was not taken: $(cat "$T/out")"
cfy_stop

# --- --rate: a lower bound on the time taken -------------------------------------------
cfy_write_config
cfy_start
for i in $(seq 1 20); do
	jq -c --arg id "rate-$i" '.entry[3].resource | .id = $id |
	    .subject.reference = "Patient/rate-p"' "$S1"
done >"$T/rate.ndjson"
start=$(date +%s.%N)
replay -q --json --rate 10 --base "$BASE/fhir" "$T/rate.ndjson"
end=$(date +%s.%N)
[ "$RC" = 0 ] || fail "--rate: exit $RC: $(cat "$T/out")"
jq -e '.requests == 20 and .accepted == 20' "$T/out" >/dev/null || fail "--rate: $(cat "$T/out")"
# 20 requests at 10 a second: the first at once, 19 at 0.1 s intervals.
awk -v a="$start" -v b="$end" 'BEGIN { exit !(b - a >= 1.7) }' ||
	fail "--rate 10 sent 20 requests in $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') s"

# --- progress: a bar on a terminal, plain lines otherwise -------------------------------
script -qec "$REPLAY --base $BASE/fhir $S" /dev/null >"$T/tty.out" 2>&1 ||
	fail "replay under a terminal: $(cat "$T/tty.out")"
grep -aEq '\[[#-]{30}\] [0-9]+/8 files +[0-9]+ resources +[0-9]+/s +ETA [0-9]{2}:[0-9]{2}' \
	"$T/tty.out" || fail "no progress bar on a terminal: $(cat -v "$T/tty.out" | head -5)"
grep -aq $'\r\[' "$T/tty.out" || fail "the bar is not redrawn in place"
grep -aEq '\[#{30}\] 8/8 files' "$T/tty.out" || fail "the bar does not end full"
replay --base "$BASE/fhir" "$S"
[ "$RC" = 0 ] || fail "replay: exit $RC"
grep -Eq '^calcify-replay: [0-9]+/8 files, [0-9]+ resources, [0-9]+/s$' "$T/err" ||
	fail "no plain progress line off a terminal: $(cat "$T/err")"
if grep -q $'\r' "$T/err" || grep -q '###' "$T/err"; then
	fail "terminal control or a bar off a terminal: $(cat -v "$T/err")"
fi
cfy_stop

# --- --concurrency: at most N requests in flight ----------------------------------------
# A stand-in server that holds each request 0.3 s and records how many it
# held at once (calcifyd answers too fast to see overlap).
python3 - "$T" <<'PY' &
import http.server, socketserver, sys, threading, time
d = sys.argv[1]
lock = threading.Lock()
now = peak = 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global now, peak
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            now += 1
            peak = max(peak, now)
        time.sleep(0.3)
        with lock:
            now -= 1
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        with lock:
            body = str(peak).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_DELETE(self):
        global peak
        with lock:
            peak = 0
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
open(d + "/fake.port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
echo $! >"$T/fake.pid"
for i in $(seq 1 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
FAKE="http://127.0.0.1:$(cat "$T/fake.port")"
for c in 1 3; do
	curl -fsS -X DELETE "$FAKE/peak" >/dev/null
	replay -q --json --concurrency "$c" --base "$FAKE/fhir" "$T/rate.ndjson"
	[ "$RC" = 0 ] || fail "--concurrency $c: exit $RC: $(cat "$T/out") $(cat "$T/err")"
	peak=$(curl -fsS "$FAKE/peak")
	note "--concurrency $c: at most $peak requests in flight"
	[ "$peak" -le "$c" ] || fail "--concurrency $c: $peak requests in flight"
	[ "$c" = 1 ] || [ "$peak" -ge 2 ] || fail "--concurrency $c: requests never overlapped"
done
kill "$(cat "$T/fake.pid")" 2>/dev/null || true
wait "$(cat "$T/fake.pid")" 2>/dev/null || true
rm -f "$T/fake.pid"
