#!/bin/bash
# Concurrent POSTs of one Observation never create two: 30 clients at once
# send it (a) with an id, (b) with no id but an identifier, (c) with
# neither (content identity), (d) with If-None-Exist and each a different
# value; each time one resource is stored, at version 1 with no history,
# exactly one client gets 201 and the rest 200 naming that resource, and
# the metrics count one create and the rest as unchanged (or matched).
# Concurrent distinct POSTs share commits (group commit): M of them take
# fewer than M commits.
. "$(dirname "$0")/lib.sh"
need sqlite3

D="$top_srcdir/tests/data/ingest"
N=30
M=60
cfy_start -o http.threads=4

q() { sqlite3 "$T/calcifyd.db" "$1"; }

# fire TAG [curl args...] -- FILE...: POST every FILE to /fhir/Observation
# at the same time, one connection each (curl --parallel).  Writes each
# answer's status to $T/TAG.codes and its body to $T/TAG.out.I.
fire() {
	local tag=$1 i=0 f
	local common=() args=()
	shift
	while [ "$1" != -- ]; do
		common+=("$1")
		shift
	done
	shift
	for f in "$@"; do
		i=$((i + 1))
		[ "$i" = 1 ] || args+=(--next)
		# Per transfer: --parallel shows a progress meter despite -s.
		args+=(-sS --no-progress-meter
		    -H 'Content-Type: application/fhir+json' "${common[@]}"
		    --data-binary "@$f" -o "$T/$tag.out.$i"
		    -w '%{http_code}\n' "$BASE/fhir/Observation")
	done
	curl --parallel --parallel-immediate --parallel-max "$i" \
	    "${args[@]}" >"$T/$tag.codes" || fail "curl failed ($tag)"
	[ "$(wc -l <"$T/$tag.codes")" = "$i" ] ||
		fail "$tag: $(wc -l <"$T/$tag.codes") answers for $i requests"
}

# expect_one TAG: one 201, N-1 200, every body names the same resource at
# version 1; prints its id.
expect_one() {
	local tag=$1 created ok ids
	created=$(grep -c '^201$' "$T/$tag.codes" || true)
	ok=$(grep -c '^200$' "$T/$tag.codes" || true)
	[ "$created" = 1 ] && [ "$ok" = $((N - 1)) ] ||
		fail "$tag: expected one 201 and $((N - 1)) 200, got: $(sort "$T/$tag.codes" | uniq -c | tr '\n' ' ')"
	ids=$(cat "$T/$tag".out.* | jq -r '"\(.id) \(.meta.versionId)"' | sort -u)
	[ "$(printf '%s\n' "$ids" | wc -l)" = 1 ] ||
		fail "$tag: the answers name several resources or versions: $(printf '%s' "$ids" | tr '\n' ' ')"
	[ "${ids#* }" = 1 ] || fail "$tag: answered version ${ids#* }, not 1"
	printf '%s\n' "${ids% *}"
}

# expect_stored ID: one row, version 1, no history; GET agrees.
expect_stored() {
	local id=$1
	[ "$(q "SELECT count(*), max(version) FROM resources WHERE type = 1 AND id = '$id'")" = '1|1' ] ||
		fail "$id: not stored exactly once at version 1"
	[ "$(q "SELECT count(*) FROM history h JOIN resources r ON r.rid = h.rid WHERE r.id = '$id'")" = 0 ] ||
		fail "$id: history rows exist (a re-send made a version)"
	req GET "/fhir/Observation/$id"
	expect_status 200
	expect_jq .meta.versionId 1
	req GET "/fhir/Observation/$id/_history/2"
	expect_outcome 404 not-found
}

created() { metric 'calcifyd_ingest_resources_total{result="created"}'; }
unchanged() { metric 'calcifyd_ingest_resources_total{result="unchanged"}'; }
matched() { metric 'calcifyd_ingest_resources_total{result="if_none_exist_match"}'; }

# expect_counted C0 U0 M0 DU DM: created grew by 1, unchanged by DU,
# matched by DM since the values C0 U0 M0.
expect_counted() {
	[ "$(created)" = $(($1 + 1)) ] ||
		fail "created: expected $(($1 + 1)), got $(created)"
	[ "$(unchanged)" = $(($2 + $4)) ] ||
		fail "unchanged: expected $(($2 + $4)), got $(unchanged)"
	[ "$(matched)" = $(($3 + $5)) ] ||
		fail "If-None-Exist matches: expected $(($3 + $5)), got $(matched)"
}

copies() {
	local src=$1 tag=$2 i
	for i in $(seq 1 "$N"); do cp "$src" "$T/$tag.in.$i"; done
}

# --- (a) with an id.
jq '.id = "cc-a" | .identifier[0].value = "CC-A"' "$D/obs-calcium.json" >"$T/a.json"
copies "$T/a.json" a
c0=$(created) u0=$(unchanged) m0=$(matched)
fire a -- "$T"/a.in.*
id=$(expect_one a)
[ "$id" = cc-a ] || fail "(a) stored under id $id"
expect_stored cc-a
expect_counted "$c0" "$u0" "$m0" $((N - 1)) 0

# --- (b) no id, an identifier: the server id comes from it.
jq 'del(.id) | .identifier[0].value = "CC-B" |
	.effectiveDateTime = "2026-11-02T08:00:00Z"' "$D/obs-calcium.json" >"$T/b.json"
copies "$T/b.json" b
c0=$(created) u0=$(unchanged) m0=$(matched)
fire b -- "$T"/b.in.*
id=$(expect_one b)
expect_stored "$id"
[ "$(q "SELECT count(*) FROM resources WHERE type = 1 AND body LIKE '%\"CC-B\"%'")" = 1 ] ||
	fail "(b) the identifier is stored under several resources"
expect_counted "$c0" "$u0" "$m0" $((N - 1)) 0

# --- (c) no id, no identifier: the server id comes from the content.
jq 'del(.id) | del(.identifier) |
	.effectiveDateTime = "2026-11-03T08:00:00Z"' "$D/obs-calcium.json" >"$T/c.json"
copies "$T/c.json" c
c0=$(created) u0=$(unchanged) m0=$(matched)
fire c -- "$T"/c.in.*
id=$(expect_one c)
expect_stored "$id"
[ "$(q "SELECT count(*) FROM resources WHERE type = 1 AND body LIKE '%2026-11-03T08:00:00Z%'")" = 1 ] ||
	fail "(c) the content is stored under several resources"
expect_counted "$c0" "$u0" "$m0" $((N - 1)) 0

# --- (d) If-None-Exist, each client with another value: without the
# condition these would be 29 new versions, with it they all match.
for i in $(seq 1 "$N"); do
	jq --arg v "$((80 + i))" 'del(.id) | .identifier[0].value = "CC-D" |
		.effectiveDateTime = "2026-11-04T08:00:00Z" |
		.valueQuantity.value = ($v | tonumber / 10)' \
		"$D/obs-calcium.json" >"$T/d.in.$i"
done
c0=$(created) u0=$(unchanged) m0=$(matched)
fire d -H 'If-None-Exist: identifier=urn:oid:1.2.3.4.lab|CC-D' -- "$T"/d.in.*
id=$(expect_one d)
expect_stored "$id"
[ "$(q "SELECT count(*) FROM resources WHERE type = 1 AND body LIKE '%\"CC-D\"%'")" = 1 ] ||
	fail "(d) If-None-Exist let several resources in"
expect_counted "$c0" "$u0" "$m0" 0 $((N - 1))

# --- group commit: M distinct Observations at once share commits.  One
# commit per request would make the count grow by M or more, every time;
# requests arrive while a commit's fsync runs, so they queue and the next
# commit takes them together.  A loaded machine may serialise one round by
# chance, so up to three rounds get the chance to show the sharing.
shared=
for round in 1 2 3; do
	for i in $(seq 1 "$M"); do
		jq --arg id "gc-$round-$i" --arg p "Patient/gc$((i % 9))" \
			'.id = $id | .identifier[0].value = $id |
			 .subject.reference = $p' "$D/obs-calcium.json" \
			>"$T/g.in.$i"
	done
	k0=$(metric calcifyd_store_commits_total)
	fire g -- "$T"/g.in.*
	[ "$(grep -c '^201$' "$T/g.codes")" = "$M" ] ||
		fail "group commit round $round: not all $M created: $(sort "$T/g.codes" | uniq -c | tr '\n' ' ')"
	k1=$(metric calcifyd_store_commits_total)
	note "round $round: $M requests, $((k1 - k0)) commits"
	if [ $((k1 - k0)) -lt "$M" ]; then
		shared=yes
		break
	fi
done
[ -n "$shared" ] || fail "$M concurrent requests never shared a commit"
[ "$(q "SELECT count(*) FROM resources WHERE id LIKE 'gc-%'")" = $((round * M)) ] ||
	fail "group commit lost or duplicated requests"
cfy_stop
