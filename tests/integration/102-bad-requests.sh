#!/bin/bash
# The bad-request corpus (tests/data/bad-requests/MANIFEST): every case gets
# its documented 4xx and an OperationOutcome naming the problem, nothing
# already stored is harmed, nothing new is stored, and the daemon keeps
# serving throughout.
. "$(dirname "$0")/lib.sh"
need sqlite3 python3

C="$top_srcdir/tests/data/bad-requests"
D="$top_srcdir/tests/data/ingest"
cfy_start -o http.max_entries=50 -o http.max_body=8M

# Something stored before the barrage, to show it is not harmed.
post_json /fhir/Patient "$D/patient.json"
expect_status 201
post_json /fhir/Observation "$D/obs-calcium.json"
expect_status 201
before=$(sqlite3 "$T/calcifyd.db" 'SELECT count(*), sum(version) FROM resources')

generate() {
	case $1 in
	gen-deep-10k)
		python3 -c 'import sys; n=10000; sys.stdout.write("{\"resourceType\":\"Observation\",\"extension\":" + "["*n + "]"*n + "}")' ;;
	gen-string-5mb)
		python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); o["code"]["text"]="x"*(5*1024*1024); sys.stdout.write(json.dumps(o))' \
			"$D/obs-calcium.json" ;;
	gen-raw-nul)
		printf '{"resourceType":"Observation","status":"fi\000nal"}' ;;
	gen-invalid-utf8)
		printf '{"resourceType":"Observation","status":"final","code":{"text":"\377\376"}}' ;;
	gen-body-over-limit)
		head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' ' ' ;;
	esac
}

n=0
while IFS=$'\t' read -r name method path ctype status code expr; do
	case $name in '#'*|'') continue ;; esac
	n=$((n + 1))
	if [ "${name#gen-}" != "$name" ]; then
		generate "$name" >"$T/req.json"
	else
		cp "$C/$name.json" "$T/req.json"
	fi
	if [ "$ctype" = - ]; then
		req "$method" "$path" -H 'Content-Type:' --data-binary "@$T/req.json"
	else
		req "$method" "$path" -H "Content-Type: $ctype" \
			--data-binary "@$T/req.json"
	fi
	[ "$STATUS" = "$status" ] ||
		fail "$name: expected HTTP $status, got $STATUS"
	jq -e '.resourceType == "OperationOutcome"' "$BODY" >/dev/null ||
		fail "$name: no OperationOutcome"
	got=$(jq -r '.issue[0].code' "$BODY")
	[ "$got" = "$code" ] || fail "$name: expected issue code $code, got $got"
	if [ -n "$expr" ]; then
		got=$(jq -r '.issue[0].expression[0] // ""' "$BODY")
		[ "$got" = "$expr" ] ||
			fail "$name: expected expression $expr, got '$got'"
	fi
	jq -e '.issue[0].diagnostics | length > 0' "$BODY" >/dev/null ||
		fail "$name: no diagnostics text"
	# Diagnostics never echo what was sent.
	if grep -q 'MRN-1001\|9\.5\|80' <(jq -r '.issue[0].diagnostics' "$BODY" |
	    grep -v 'bounds'); then
		fail "$name: diagnostics echo request data"
	fi
	# Nor does any issue's diagnostics or expression repeat a value of
	# the request, or a key that is not an element name (it may be a name
	# or a date a broken mapping made a key).  The vocabulary calcifyd
	# names itself is left out: resource types, the Bundle type, a
	# request.url (a type), UCUM units.
	jq -r '.issue[] | (.diagnostics // ""), (.expression // [])[]' "$BODY" \
		>"$T/said"
	jq -r '[paths as $p | $p[-1] | strings |
		select(test("^_?[a-z][A-Za-z]{0,63}$") | not)] +
	    [paths(strings) as $p | select($p[-1] != "resourceType" and
		$p != ["type"] and $p[-1] != "url" and $p[-1] != "unit" and
		($p[-2] != "valueQuantity" or $p[-1] != "code")) | getpath($p)] |
	    .[] | .[0:40] | select(length >= 3)' "$T/req.json" 2>/dev/null |
	    sort -u >"$T/sent" || : >"$T/sent"
	while IFS= read -r v; do
		if grep -qF -- "$v" "$T/said"; then
			fail "$name: the answer repeats '$v' from the request"
		fi
	done <"$T/sent"
	req GET /healthz
	expect_status 200
done <"$C/MANIFEST"
[ "$n" -ge 40 ] || fail "corpus has only $n cases"
note "$n bad requests answered as documented"

after=$(sqlite3 "$T/calcifyd.db" 'SELECT count(*), sum(version) FROM resources')
[ "$before" = "$after" ] || fail "stored data changed: $before -> $after"
req GET /fhir/Observation/ca-1
expect_status 200
expect_jq .meta.versionId 1
expect_jq .valueQuantity.value 10.8
[ "$(metric 'calcifyd_ingest_resources_total{result="rejected"}')" -ge 40 ] ||
	fail "rejections not counted"
cfy_stop
