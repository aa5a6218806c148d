#!/bin/bash
# Limits, each with its documented status: an oversized request head is
# refused (431), connections beyond http.max_connections_per_ip are not
# served, a slowloris client does not block other clients, a full ingest
# queue answers 503 with Retry-After, a delivery backlog over
# hospital.max_outbox answers 429 with Retry-After.
. "$(dirname "$0")/lib.sh"
need python3

D="$top_srcdir/tests/data/ingest"

# --- request head size -------------------------------------------------------
cfy_start -o http.max_header=4k -o http.max_connections_per_ip=4 \
	-o http.request_timeout_ms=4000
big=$(head -c 8000 /dev/zero | tr '\0' 'x')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$BASE/healthz")
[ "$code" = 431 ] || fail "oversized head: expected 431, got $code"
req GET /healthz
expect_status 200

# --- connections per address and slow clients --------------------------------
# Hold 3 idle connections and trickle a request head through a 4th byte by
# byte (slowloris); the 5th is refused by the per-address limit, and once the
# idle ones time out other clients are served again without delay.
python3 - "$CFY_PORT" "$T/slow.done" "$T/slow.open" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
slow = socket.create_connection(("127.0.0.1", port))
open(sys.argv[3], "w").write("open")
for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":
    slow.send(bytes([ch]))
    time.sleep(0.05)
time.sleep(1.5)
open(sys.argv[2], "w").write("ok")
time.sleep(6)
PY
echo $! >"$T/slow.pid"
for i in $(seq 1 50); do [ -s "$T/slow.open" ] && break; sleep 0.05; done
sleep 0.2
# The limit (4 per address) is taken: a fifth connection is not served.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/healthz" || true)
[ "$code" != 200 ] || fail "a connection beyond http.max_connections_per_ip was served"
# Idle connections are closed after http.request_timeout_ms; then a normal
# client is served at once even though the slow one is still trickling.
for i in $(seq 1 100); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/healthz" || true)
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || fail "server not serving others while a slow client trickles"
t=$(curl -s -o /dev/null -w '%{time_total}' "$BASE/healthz")
awk -v t="$t" 'BEGIN { exit !(t < 0.5) }' || fail "a normal request took $t s"
wait "$(cat "$T/slow.pid")" 2>/dev/null || true
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
