#!/bin/bash
# Acknowledged means durable: four clients stream POSTs, calcifyd is killed
# with SIGKILL in the middle, and after a restart every observation that got
# a 2xx is present, exactly once; re-sending everything stores nothing new.
. "$(dirname "$0")/lib.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
cfy_start

# One writer process per client; each logs the ids it saw acknowledged.
client() {
	local c=$1 i=0 code
	while [ ! -f "$T/stop" ]; do
		i=$((i + 1))
		jq -c --arg id "k$c-$i" --arg p "Patient/kp$((i % 7))" \
			--arg v "$((80 + i % 30))" \
			'.id = $id | del(.identifier) | .subject.reference = $p |
			 .valueQuantity.value = ($v | tonumber / 10)' \
			"$D/obs-calcium.json" >"$T/c$c.json"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-H 'Content-Type: application/fhir+json' \
			--data-binary "@$T/c$c.json" "$BASE/fhir/Observation") || true
		case $code in
		200|201) echo "k$c-$i" >>"$T/acked.$c" ;;
		000) ;;	# killed mid-request: not acknowledged
		*) echo "unexpected $code" >>"$T/errors" ;;
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
n=$(wc -l <"$T/acked")
[ "$n" -ge 20 ] || fail "too few acknowledged requests before the kill ($n)"
note "$n observations acknowledged before SIGKILL"

cfy_start
missing=0
while read -r id; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/fhir/Observation/$id")
	[ "$code" = 200 ] || { echo "lost: $id" >&2; missing=$((missing + 1)); }
done <"$T/acked"
[ "$missing" = 0 ] || fail "$missing acknowledged observations lost"
dups=$(sqlite3 "$T/calcifyd.db" \
	"SELECT count(*) - count(DISTINCT id) FROM resources WHERE type = 1")
[ "$dups" = 0 ] || fail "$dups duplicate observations after restart"

# Re-sending what was acknowledged stores nothing new (all 200).
before=$(sqlite3 "$T/calcifyd.db" 'SELECT count(*), sum(version) FROM resources')
head -n 30 "$T/acked" | while read -r id; do
	c=${id%%-*}; c=${c#k}; i=${id#*-}
	jq -c --arg id "$id" --arg p "Patient/kp$((i % 7))" \
		--arg v "$((80 + i % 30))" \
		'.id = $id | del(.identifier) | .subject.reference = $p |
		 .valueQuantity.value = ($v | tonumber / 10)' \
		"$D/obs-calcium.json" >"$T/again.json"
	code=$(curl -s -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/fhir+json' \
		--data-binary "@$T/again.json" "$BASE/fhir/Observation")
	[ "$code" = 200 ] || { echo "re-send of $id gave $code" >"$T/resend"; }
done
[ ! -s "$T/resend" ] || fail "$(cat "$T/resend")"
after=$(sqlite3 "$T/calcifyd.db" 'SELECT count(*), sum(version) FROM resources')
[ "$before" = "$after" ] || fail "re-sending changed the store"
cfy_stop
