#!/bin/bash
# Limits, each with its documented behaviour: an oversized request head is
# refused (431); connections beyond http.max_connections_per_ip are closed
# unanswered; slowloris clients trickling a head or a body are cut after
# http.request_timeout_ms and do not block other clients meanwhile;
# connections beyond http.max_connections wait unaccepted until a slot
# frees; a full ingest queue answers 503 with Retry-After; a delivery
# backlog over hospital.max_outbox answers 429 with Retry-After.
. "$(dirname "$0")/lib.sh"
need python3

D="$top_srcdir/tests/data/ingest"

# --- request head size -------------------------------------------------------
cfy_start -o http.max_header=4k
big=$(head -c 8000 /dev/zero | tr '\0' 'x')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$BASE/healthz")
[ "$code" = 431 ] || fail "oversized head: expected 431, got $code"
req GET /healthz
expect_status 200
cfy_stop

# --- JSON nesting depth ---------------------------------------------------------
# With http.max_depth=20 an Observation nested exactly 20 levels deep (in
# nested extensions) is stored and one 21 deep is refused (400 too-costly);
# the default (64) takes the 21-deep one, so it is the setting that bites.
deep() {	# $1 depth -> a valid Observation nested that deep
	jq -c --argjson want "$1" '
	    def depth: if type == "object" or type == "array" then
		1 + ([.[] | depth] | max // 0) else 0 end;
	    def ext($n; $leaf): {url: "http://example.org/fhir/StructureDefinition/nest"} +
		(if $n <= 1 then $leaf else {extension: [ext($n - 1; $leaf)]} end);
	    # root 1 + extension array 1 + 2 per nested extension - 1;
	    # a valueCoding leaf adds the level an even depth needs.
	    (if $want % 2 == 1 then {valueString: "x"}
	     else {valueCoding: {system: "http://example.org", code: "x"}} end) as $leaf |
	    .id = "deep-\($want)" | del(.identifier) |
	    .extension = [ext((($want - 1) / 2 | floor); $leaf)] |
	    if depth == $want then . else error("built depth \(depth)") end
	' "$D/obs-calcium.json"
}
deep 20 >"$T/deep20.json"
deep 21 >"$T/deep21.json"
cfy_start -o http.max_depth=20
post_json /fhir/Observation "$T/deep21.json"
expect_outcome 400 too-costly
expect_jq '.issue[0].details.coding[0].code' 1004
post_json /fhir/Observation "$T/deep20.json"
expect_status 201
cfy_stop
cfy_start
post_json /fhir/Observation "$T/deep21.json"
expect_status 201
cfy_stop

# --- connections per address ------------------------------------------------
# Beyond http.max_connections_per_ip a connection from that address is
# accepted and closed at once, without an answer; once one of them closes
# the address is served again.
cfy_start -o http.max_connections_per_ip=4
python3 - "$CFY_PORT" "$T/pip.open" "$T/pip.release" <<'PY' &
import os, socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
open(sys.argv[2], "w").write("open")
end = time.time() + 30
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.05)
PY
echo $! >"$T/pip.pid"
for i in $(seq 1 200); do [ -s "$T/pip.open" ] && break; sleep 0.05; done
[ -s "$T/pip.open" ] || fail "could not open 4 connections"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz" || true)
[ "$code" != 200 ] || fail "a connection beyond http.max_connections_per_ip was served"
touch "$T/pip.release"
wait "$(cat "$T/pip.pid")" || true
for i in $(seq 1 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz" || true)
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || fail "not served again once the address is under its limit"
cfy_stop

# --- slow clients: head and body deadlines (slowloris) -------------------------
# http.request_timeout_ms is not only an idle timeout: the whole request
# head, and then the whole body, must arrive within it.  Three clients
# trickle one header byte a second (well inside the idle timeout) and a
# fourth a body; each is cut after the deadline.  WHILE they trickle, a
# normal request is served at once, and a kept-alive client that sends a
# request a second for longer than the timeout is never cut.
cfy_write_config
cfy_start -o http.request_timeout_ms=4000
python3 - "$CFY_PORT" "$T" <<'PY' &
import socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    return s
head = [conn() for _ in range(3)]
body = conn()
body.sendall(b"POST /fhir/Observation HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n")
for s in head:
    s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")
t0 = time.time()
live = {"head%d" % i: s for i, s in enumerate(head)}
live["body"] = body
cut, sent = {}, 0
while live and time.time() - t0 < 20:
    for name, s in list(live.items()):
        try:
            if s.recv(4096) == b"":
                raise ConnectionResetError
            cut[name] = "answered"	# any answer before the cut is wrong
            del live[name]
        except BlockingIOError:
            try:
                s.send(b"a" if name != "body" else b" ")
            except OSError:
                cut[name] = "%.2f" % (time.time() - t0)
                del live[name]
        except OSError:
            cut[name] = "%.2f" % (time.time() - t0)
            del live[name]
    sent += 1
    if sent == 2:
        open(d + "/slow.open", "w").write("open")
    time.sleep(1)
for name in live:
    cut[name] = "never"
with open(d + "/slow.cut", "w") as f:
    for name in sorted(cut):
        f.write("%s %s\n" % (name, cut[name]))
PY
echo $! >"$T/slow.pid"
for i in $(seq 1 200); do [ -s "$T/slow.open" ] && break; sleep 0.05; done
[ -s "$T/slow.open" ] || fail "the slow clients did not start"
# During the trickle (the cut file is written only once all are cut).
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz" || true)
[ "$code" = 200 ] || fail "a normal request was not served while slow clients trickle (got $code)"
[ ! -e "$T/slow.cut" ] || fail "the slow clients were cut before the normal request was checked"
python3 - "$CFY_PORT" <<'PY' || fail "a kept-alive client was cut"
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
t0 = time.time()
while time.time() - t0 < 6:
    c.request("GET", "/healthz")
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    time.sleep(1)
PY
wait "$(cat "$T/slow.pid")" || fail "slow client script failed"
note "slow clients cut after (s): $(tr '\n' ' ' <"$T/slow.cut")"
while read -r name at; do
	case $at in
	never) fail "$name: a client trickling its request was never cut" ;;
	answered) fail "$name: a trickled request was answered" ;;
	esac
	# Not before the deadline (4 s from connecting), and not long after.
	awk -v t="$at" 'BEGIN { exit !(t >= 3.9 && t <= 15) }' ||
		fail "$name cut after $at s, not just after the 4 s deadline"
done <"$T/slow.cut"
[ "$(wc -l <"$T/slow.cut")" = 4 ] || fail "not every slow client reported"
[ "$(metric 'calcifyd_http_timeouts_total{phase="head"}')" -ge 3 ] ||
	fail "head timeouts not counted"
[ "$(metric 'calcifyd_http_timeouts_total{phase="body"}')" -ge 1 ] ||
	fail "body timeouts not counted"
cfy_stop

# --- total connections --------------------------------------------------------
# At http.max_connections calcifyd stops accepting: a further connection
# waits, unanswered, in the kernel's listen queue until one closes, and is
# then served.
cfy_write_config
cfy_start -o http.max_connections=4 -o http.max_connections_per_ip=0
python3 - "$CFY_PORT" <<'PY' || fail "http.max_connections: see above"
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
time.sleep(0.5)
extra = socket.create_connection(("127.0.0.1", port))
extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
extra.settimeout(1.5)
try:
    got = extra.recv(100)
    sys.exit("a connection beyond http.max_connections was answered: %r" % got[:40])
except socket.timeout:
    pass
idle.pop().close()
extra.settimeout(10)
got = b""
while not got.endswith(b"\n") and len(got) < 100:
    chunk = extra.recv(100)
    if not chunk:
        break
    got += chunk
if not got.startswith(b"HTTP/1.1 200"):
    sys.exit("the waiting connection was not served once a slot freed: %r" % got[:40])
PY
cfy_stop

# --- back-pressure: ingest queue ------------------------------------------------
cfy_write_config
cfy_start -o http.max_queue=1 -o store.batch_max=1
for i in $(seq 1 40); do
	jq -c --arg id "q$i" '.id = $id | del(.identifier)' "$D/obs-calcium.json" >"$T/q$i.json"
done
seq 1 40 | xargs -P 40 -I{} curl -s -o /dev/null -D "$T/h{}" \
	-w '%{http_code}\n' -H 'Content-Type: application/fhir+json' \
	--data-binary "@$T/q{}.json" "$BASE/fhir/Observation" >"$T/codes"
sort "$T/codes" | uniq -c
grep -qv '^20[01]$\|^503$' "$T/codes" && fail "unexpected statuses: $(sort -u "$T/codes" | tr '\n' ' ')"
grep -q '^503$' "$T/codes" || fail "a full queue never answered 503"
grep -l '^HTTP/1.1 503' "$T"/h* | head -n 1 | xargs grep -qi '^Retry-After: [0-9]' ||
	fail "503 without Retry-After"
[ "$(metric 'calcifyd_http_shed_total{reason="queue_full"}')" -ge 1 ] || fail "shedding not counted"
cfy_stop

# --- back-pressure: delivery backlog ----------------------------------------------
cfy_write_config
cfy_start -o hospital.base_url=http://127.0.0.1:9/fhir -o hospital.max_outbox=2 \
	-o hospital.backoff_base_ms=60000
post_json /fhir/Patient "$D/patient.json"
post_json /fhir/Condition "$D/condition-esrd.json"
for p in a b c; do
	jq --arg p "Patient/bl-$p" --arg id "bl-$p" '.id = $id | del(.identifier) | .subject.reference = $p' \
		"$D/obs-calcium.json" >"$T/bl.json"
	post_json /fhir/Observation "$T/bl.json"
	expect_status 201
done
for i in $(seq 1 50); do
	[ "$(metric calcifyd_outbox_depth)" -ge 2 ] 2>/dev/null && break
	sleep 0.1
done
post_json /fhir/Observation "$T/bl.json"
expect_outcome 429 throttled
expect_header Retry-After '[0-9]'
cfy_stop
