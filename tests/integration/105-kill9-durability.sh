#!/bin/bash
# Acknowledged means durable, and a kill creates no duplicate: four clients
# stream POSTs -- a third with an id, a third with only an identifier, a
# third with neither (content identity) -- calcifyd is killed with SIGKILL
# in the middle, and after a restart every observation that got a 2xx is
# present, stored exactly once at version 1 with no history; nothing is
# stored that was not sent; re-sending every payload stores each of them
# exactly once (acknowledged ones answer 200).
. "$(dirname "$0")/lib.sh"
need sqlite3

# sort, comm and join agree on one collation.
export LC_ALL=C
D="$top_srcdir/tests/data/ingest"
mkdir "$T/p"
cfy_start

q() { sqlite3 "$T/calcifyd.db" "$1"; }

# payload KEY KIND I: the Observation for KEY on stdout.  Every payload
# carries its key in note[0].text, so a stored row names the payload it
# came from whatever server id the identity rules gave it.  The id, the
# identifier and the content each identify the payload on their own.
payload() {
	jq -c --arg key "$1" --arg kind "$2" --arg p "Patient/kp$(($3 % 7))" \
		--arg v "$((80 + $3 % 30))" \
		'.subject.reference = $p | .note = [{text: $key}] |
		 .valueQuantity.value = ($v | tonumber / 10) |
		 if $kind == "id" then .id = $key | del(.identifier)
		 elif $kind == "identifier" then del(.id) |
		     .identifier = [{system: "urn:example:kill9", value: $key}]
		 else del(.id) | del(.identifier) end' \
		"$D/obs-calcium.json"
}

# One writer process per client; each logs the keys it sent (before
# sending) and those it saw acknowledged, and retries some.
client() {
	local c=$1 i=0 code key kind
	while [ ! -f "$T/stop" ]; do
		i=$((i + 1))
		key="k$c-$i"
		case $((i % 3)) in
		0) kind=id ;;
		1) kind=identifier ;;
		*) kind=content ;;
		esac
		payload "$key" "$kind" "$i" >"$T/p/$key.json"
		echo "$key" >>"$T/sent.$c"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-H 'Content-Type: application/fhir+json' \
			--data-binary "@$T/p/$key.json" "$BASE/fhir/Observation") || true
		case $code in
		200|201) echo "$key" >>"$T/acked.$c" ;;
		000) continue ;;	# killed mid-request: not acknowledged
		*) echo "unexpected $code" >>"$T/errors" ;;
		esac
		# Every fourth one again, as an engine retrying after a
		# timeout would: stored already, so 200.
		[ $((i % 4)) = 0 ] || continue
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-H 'Content-Type: application/fhir+json' \
			--data-binary "@$T/p/$key.json" "$BASE/fhir/Observation") || true
		case $code in
		200|000) ;;
		*) echo "retry of $key: unexpected $code" >>"$T/errors" ;;
		esac
	done
}
for c in 1 2 3 4; do
	client "$c" &
	echo $! >"$T/client$c.pid"
done
# Let some work land, then pull the plug while requests are in flight.
for i in $(seq 1 100); do
	[ "$(cat "$T"/acked.* 2>/dev/null | wc -l)" -ge 150 ] && break
	sleep 0.1
done
cfy_kill9
touch "$T/stop"
for c in 1 2 3 4; do wait "$(cat "$T/client$c.pid")" 2>/dev/null || true; done
[ ! -s "$T/errors" ] || fail "clients saw unexpected statuses: $(sort -u "$T/errors")"
cat "$T"/acked.* | sort -u >"$T/acked"
cat "$T"/sent.* | sort -u >"$T/sent"
n=$(wc -l <"$T/acked")
[ "$n" -ge 20 ] || fail "too few acknowledged requests before the kill ($n)"
for kind in 0 1 2; do
	awk -F- -v k="$kind" '$2 % 3 == k { found = 1 } END { exit !found }' \
		"$T/acked" || fail "no acknowledged requests of kind $kind"
done
note "$n of $(wc -l <"$T/sent") observations acknowledged before SIGKILL"

cfy_start
# Every stored observation by key: how many rows, their highest version.
stored() {
	q "SELECT json_extract(body, '$.note[0].text'), count(*), max(version)
	    FROM resources WHERE type = 1 GROUP BY 1 ORDER BY 1" >"$T/stored"
}
stored
awk -F'|' '$2 != 1 || $3 != 1' "$T/stored" >"$T/bad"
[ ! -s "$T/bad" ] ||
	fail "observations stored more than once or in a new version (key|rows|version): $(head -n 5 "$T/bad" | tr '\n' ' ')"
[ "$(q 'SELECT count(*) FROM history')" = 0 ] ||
	fail "history rows after a stream of distinct creates"
cut -d'|' -f1 "$T/stored" | sort >"$T/stored.keys"
comm -23 "$T/acked" "$T/stored.keys" >"$T/lost"
[ ! -s "$T/lost" ] ||
	fail "$(wc -l <"$T/lost") acknowledged observations lost: $(head -n 5 "$T/lost" | tr '\n' ' ')"
comm -13 "$T/sent" "$T/stored.keys" >"$T/unsent"
[ ! -s "$T/unsent" ] ||
	fail "stored observations nobody sent: $(head -n 5 "$T/unsent" | tr '\n' ' ')"
nstored=$(wc -l <"$T/stored.keys")
[ "$(q 'SELECT count(*) FROM resources WHERE type = 1')" = "$nstored" ] ||
	fail "observations without their key stored"
note "$nstored stored after restart ($n acknowledged; the rest were committed, not yet answered at the kill)"
# The acknowledged ones are served too, by the id the store gave them.
q "SELECT json_extract(body, '$.note[0].text'), id FROM resources
    WHERE type = 1" | sort -t'|' -k1,1 >"$T/ids"
join -t'|' "$T/acked" "$T/ids" | cut -d'|' -f2 | head -n 40 |
while read -r id; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/fhir/Observation/$id")
	[ "$code" = 200 ] || echo "GET Observation/$id: $code" >>"$T/get"
done
[ ! -s "$T/get" ] || fail "$(head -n 3 "$T/get")"

# Re-sending every payload that was sent: the acknowledged ones answer 200
# and store nothing new; in the end each payload is stored exactly once.
while read -r key; do
	code=$(curl -s -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/fhir+json' \
		--data-binary "@$T/p/$key.json" "$BASE/fhir/Observation")
	case $code in
	200) ;;
	201) grep -qx "$key" "$T/acked" &&
		echo "re-send of acknowledged $key created it again" >>"$T/resend" ;;
	*) echo "re-send of $key gave $code" >>"$T/resend" ;;
	esac
done <"$T/sent"
[ ! -s "$T/resend" ] || fail "$(head -n 3 "$T/resend")"
stored
awk -F'|' '$2 != 1 || $3 != 1' "$T/stored" >"$T/bad"
[ ! -s "$T/bad" ] ||
	fail "re-sending duplicated or re-versioned observations (key|rows|version): $(head -n 5 "$T/bad" | tr '\n' ' ')"
cut -d'|' -f1 "$T/stored" | sort | cmp -s - "$T/sent" ||
	fail "after re-sending, the stored keys are not the sent ones"
[ "$(q 'SELECT count(*) FROM resources WHERE type = 1')" = "$(wc -l <"$T/sent")" ] ||
	fail "stored count is not the number of distinct payloads sent"
[ "$(q 'SELECT count(*) FROM history')" = 0 ] || fail "re-sending made versions"
cfy_stop
