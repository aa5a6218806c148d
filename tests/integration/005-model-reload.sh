#!/bin/bash
# SIGHUP with a changed model (issues 5 and 8): the next assessment is made
# by the new model version, without a restart, and /metrics shows it.  A
# broken model -- malformed JSON, a schema violation, a term without a
# citation -- and a broken code table are each rejected on SIGHUP: the log
# names the problem (the JSON path for the model) as a warning with a
# journald priority, the failed-reload counter moves, and new assessments
# keep using the last good model and table.
. "$(dirname "$0")/lib.sh"

D="$top_srcdir/tests/data/ingest"
GOOD="$T/model-0.1.1.json"
cp "$top_srcdir/conf/model.json" "$T/model.json"
cp "$top_srcdir/conf/codes.tsv" "$T/codes.tsv"
cfy_write_config
sed -i -e "s|^path = .*/model.json\$|path = $T/model.json|" \
	-e "s|^codes = .*|codes = $T/codes.tsv|" "$T/calcifyd.conf"
grep -q "^path = $T/model.json\$" "$T/calcifyd.conf" ||
	fail "config does not name the model copy"
cfy_start
PID0=$CFY_PID

# hup: SIGHUP and wait until that reload is done.
hup() {
	local before i
	before=$(grep -c 'reload done' "$CFY_LOG" || true)
	kill -HUP "$CFY_PID"
	for i in $(seq 1 200); do
		[ "$(grep -c 'reload done' "$CFY_LOG" || true)" -gt "$before" ] &&
		    return 0
		sleep 0.05
	done
	fail "reload not done within 10 s"
}

# calcium ID VALUE DAY: a new calcium result for it-p1 on 2026-11-DAY.
calcium() {
	jq --arg id "$1" --argjson v "$2" --arg d "2026-11-$3T08:00:00Z" \
	    '.id = $id | .identifier[0].value = ("LAB-" + $id) |
	     .effectiveDateTime = $d | .valueQuantity.value = $v' \
	    "$D/obs-calcium.json" >"$T/$1.json"
	post_json /fhir/Observation "$T/$1.json"
	expect_status 201
}

# latest: the newest RiskAssessment of it-p1 into $BODY; sets NRA (total).
latest() {
	req GET '/fhir/RiskAssessment?subject=Patient/it-p1&_count=1'
	expect_status 200
	NRA=$(jq -r .total "$BODY")
}

# vascular: the vascular probability of the assessment in $BODY.
vascular() {
	jq -r '.entry[0].resource.prediction[] |
	    select(any(.outcome.coding[]; .code == "396336006")) |
	    .probabilityDecimal' "$BODY"
}

failed() { metric 'calcifyd_model_reloads_total{result="failed"}'; }
loaded_version() {
	curl -fsS "$BASE/metrics" |
	    sed -n 's/^calcifyd_model_info{.*version="\([^"]*\)"} 1$/\1/p'
}

post_json /fhir/Patient "$D/patient.json"
expect_status 201
post_json /fhir/Condition "$D/condition-esrd.json"
expect_status 201
calcium ca-1 10.8 20
latest
expect_jq '.entry[0].resource.method.coding[0].version' 0.1.0
n0=$NRA
p0=$(vascular)
[ "$(loaded_version)" = 0.1.0 ] || fail "metrics do not show model 0.1.0"

# --- a good new version: 0.1.1 with a heavier calcium weight --------------
vi=$(jq '[.outcomes[] | .key] | index("vascular")' "$T/model.json")
ti=$(jq --argjson o "$vi" '[.outcomes[$o].terms[].id] | index("vas.calcium")' \
	"$T/model.json")
[ "$ti" != null ] || fail "conf/model.json has no vas.calcium term"
TERM=".outcomes[$vi].terms[$ti]"
jq ".version = \"0.1.1\" | $TERM.weight = 0.61" "$T/model.json" >"$GOOD"
cp "$GOOD" "$T/model.json"
hup
[ "$(metric 'calcifyd_model_reloads_total{result="ok"}')" = 1 ] ||
	fail "successful reload not counted"
[ "$(failed)" = 0 ] || fail "a good model counted as failed"
[ "$(loaded_version)" = 0.1.1 ] || fail "metrics do not show model 0.1.1"
grep -q 'model loaded id=calcifyd-calcification version=0.1.1' "$CFY_LOG" ||
	fail "new model not logged"

# The same calcium value again: under 0.1.0 nothing would change (no new
# assessment); under 0.1.1 the outputs differ, so one is made.
calcium ca-2 10.8 21
latest
[ "$NRA" = $((n0 + 1)) ] || fail "no new assessment after the reload ($n0 -> $NRA)"
expect_jq '.entry[0].resource.method.coding[0].version' 0.1.1
expect_jq '.entry[0].resource.method.text' \
	'calcifyd calcification risk model 0.1.1'
p1=$(vascular)
awk -v a="$p1" -v b="$p0" 'BEGIN { exit !(a > b) }' ||
	fail "heavier calcium weight did not raise the vascular risk ($p0 -> $p1)"
kill -0 "$PID0" 2>/dev/null && [ "$CFY_PID" = "$PID0" ] ||
	fail "the daemon restarted"

# expect_rejected LABEL PATTERN DAY VALUE: with a broken model in place,
# SIGHUP; expect one more failed reload, the problem logged as a warning
# matching PATTERN (ERE), model 0.1.1 still shown, and a calcium result of
# VALUE on 2026-11-DAY assessed by 0.1.1.
n_failed=0
expect_rejected() {
	n_failed=$((n_failed + 1))
	hup
	[ "$(failed)" = "$n_failed" ] ||
		fail "$1: failed reloads $(failed), expected $n_failed"
	[ "$(loaded_version)" = 0.1.1 ] || fail "$1: metrics show another model"
	grep -E "^<4>model problem file=$T/model.json $2" "$CFY_LOG" >/dev/null ||
		fail "$1: log does not name the problem (/$2/)"
	grep -q "^<4>reload: model rejected file=$T/model.json; keeping model id=calcifyd-calcification version=0.1.1" \
		"$CFY_LOG" || fail "$1: rejection not logged"
	calcium "ca-$3" "$4" "$3"
	latest
	expect_jq '.entry[0].resource.method.coding[0].version' 0.1.1
	expect_jq '.entry[0].resource.occurrenceDateTime' "2026-11-$3T08:00:00Z"
}

# (a) malformed JSON.
printf '{ "id": "calcifyd-calcification", "version": "0.1.2",\n' \
	>"$T/model.json"
expect_rejected 'malformed JSON' \
	'json_path=\$ reason="malformed JSON \(line [0-9]+' 22 11.0

# (b) schema violation: a weight that is a string.
jq ".version = \"0.1.2\" | $TERM.weight = \"0.9\"" "$GOOD" >"$T/model.json"
expect_rejected 'string weight' \
	"json_path=\\\$\\.outcomes\\[$vi\\]\\.terms\\[$ti\\]\\.weight reason=\"expected number" \
	23 11.2

# (c) a term without a citation, and one whose citation is blank.
jq ".version = \"0.1.2\" | $TERM |= del(.citation)" "$GOOD" >"$T/model.json"
expect_rejected 'no citation' \
	"json_path=\\\$\\.outcomes\\[$vi\\]\\.terms\\[$ti\\]\\.citation reason=\"required property" \
	24 11.4
jq ".version = \"0.1.2\" | $TERM.citation = \"  \"" "$GOOD" >"$T/model.json"
expect_rejected 'blank citation' \
	"json_path=\\\$\\.outcomes\\[$vi\\]\\.terms\\[$ti\\]\\.citation reason=\"every weight needs a citation" \
	25 11.6

# --- a broken code table keeps the running one ---------------------------
# The broken table also lacks the calcium code: were it applied, the next
# calcium result would be unused and make no assessment.
cp "$GOOD" "$T/model.json"
grep -v '^loinc	17861-6	' "$top_srcdir/conf/codes.tsv" >"$T/codes.tsv"
printf 'loinc\t9999-9\tno_such_input\n' >>"$T/codes.tsv"
bad_line=$(wc -l <"$T/codes.tsv")
unused0=$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')
latest
n1=$NRA
hup
calcium ca-26 11.8 26
latest
[ "$NRA" = $((n1 + 1)) ] || fail "calcium no longer mapped after a broken code table"
expect_jq '.entry[0].resource.occurrenceDateTime' '2026-11-26T08:00:00Z'
[ "$(metric 'calcifyd_observations_unused_total{reason="unknown_code"}')" = \
	"$unused0" ] || fail "the broken code table was applied"
[ "$(metric 'calcifyd_code_table_reloads_total{result="failed"}')" = 1 ] ||
	fail "failed code table reload not counted"
grep -q "^<4>code table problem file=$T/codes.tsv line=$bad_line reason=\"unknown model input 'no_such_input'\"" \
	"$CFY_LOG" || fail "code table problem not logged with file and line"
grep -q 'reload done model=ok codes=failed' "$CFY_LOG" ||
	fail "reload summary does not say the code table failed"

# Fixed table: taken on the next SIGHUP.
cp "$top_srcdir/conf/codes.tsv" "$T/codes.tsv"
hup
[ "$(metric 'calcifyd_code_table_reloads_total{result="ok"}')" -ge 1 ] ||
	fail "good code table reload not counted"
cfy_stop
