# tests/integration/lib.sh - shared by every integration test.
#
# Starts the real calcifyd on a loopback port chosen by the kernel (port 0;
# the bound port is read from the daemon's log), waits for /readyz, and
# offers small helpers to talk HTTP and check answers.  Each test runs in
# its own temporary directory, removed on exit unless KEEP=1.
#
# Exit 77 means "skipped" to automake; a test skips only when a tool it
# needs is missing and CALCIFYD_REQUIRE_ALL is not set (CI sets it).

set -eu
set -o pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CALCIFYD:=$top_builddir/calcifyd}"
export top_srcdir top_builddir CALCIFYD

T=$(mktemp -d "${TMPDIR:-/tmp}/calcify-it.XXXXXX")
CFY_PID=
CFY_PORT=
CFY_LOG="$T/calcifyd.log"
STATUS=
BODY="$T/body"
HEADERS="$T/headers"

note() { printf '# %s\n' "$*"; }

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	if [ -s "$CFY_LOG" ]; then
		printf -- '--- calcifyd log (last 40 lines) ---\n' >&2
		tail -n 40 "$CFY_LOG" >&2
	fi
	if [ -s "$BODY" ]; then
		printf -- '--- last response body ---\n' >&2
		head -c 2000 "$BODY" >&2
		printf '\n' >&2
	fi
	exit 1
}

skip() {
	if [ -n "${CALCIFYD_REQUIRE_ALL:-}" ]; then
		fail "required for this run but missing: $*"
	fi
	printf 'SKIP: %s\n' "$*"
	exit 77
}

need() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
	done
}

cleanup() {
	if [ -n "$CFY_PID" ] && kill -0 "$CFY_PID" 2>/dev/null; then
		kill -KILL "$CFY_PID" 2>/dev/null || true
		wait "$CFY_PID" 2>/dev/null || true
	fi
	for f in "$T"/*.pid; do
		[ -f "$f" ] || continue
		kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		note "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

need curl jq

# The base configuration every test starts from; tests add -o overrides.
cfy_write_config() {
	cat >"$T/calcifyd.conf" <<EOF
[http]
listen = 127.0.0.1:0
threads = 2
[store]
path = $T/calcifyd.db
[model]
path = $top_srcdir/conf/model.json
codes = $top_srcdir/conf/codes.tsv
scope = all
[log]
level = ${CFY_LOG_LEVEL:-info}
EOF
}

# cfy_start [-o key=value]...  Start the daemon and wait until ready.
# CFY_READY_HEADER, when set, is sent with the /readyz probe (for
# http.auth_readyz=yes).
cfy_start() {
	[ -f "$T/calcifyd.conf" ] || cfy_write_config
	: >"$CFY_LOG"
	"$CALCIFYD" --foreground -c "$T/calcifyd.conf" "$@" \
	    >>"$CFY_LOG" 2>&1 &
	CFY_PID=$!
	local i
	for i in $(seq 1 200); do
		CFY_PORT=$(sed -n 's/.*http listening host=[^ ]* port=\([0-9]*\).*/\1/p' \
		    "$CFY_LOG" | tail -n 1)
		if [ -n "$CFY_PORT" ] && curl -fsS -o /dev/null \
		    ${CFY_READY_HEADER:+-H "$CFY_READY_HEADER"} \
		    "http://127.0.0.1:$CFY_PORT/readyz" 2>/dev/null; then
			BASE="http://127.0.0.1:$CFY_PORT"
			return 0
		fi
		kill -0 "$CFY_PID" 2>/dev/null || {
			wait "$CFY_PID" || true
			CFY_PID=
			fail "calcifyd exited during start-up"
		}
		sleep 0.05
	done
	fail "calcifyd not ready within 10 s"
}

# cfy_stop: SIGTERM, wait, expect exit status 0.
cfy_stop() {
	local rc=0
	kill -TERM "$CFY_PID"
	wait "$CFY_PID" || rc=$?
	CFY_PID=
	[ "$rc" = 0 ] || fail "calcifyd exited with status $rc after SIGTERM"
}

cfy_kill9() {
	kill -KILL "$CFY_PID"
	wait "$CFY_PID" 2>/dev/null || true
	CFY_PID=
}

# req METHOD PATH [curl args...]: sets STATUS, writes $BODY and $HEADERS.
req() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -sS -X "$method" -o "$BODY" -D "$HEADERS" \
	    -w '%{http_code}' "$@" "$BASE$path") || fail "curl failed: $method $path"
}

# post_json PATH FILE [curl args...]
post_json() {
	local path=$1 file=$2
	shift 2
	req POST "$path" -H 'Content-Type: application/fhir+json' \
	    --data-binary "@$file" "$@"
}

expect_status() {
	[ "$STATUS" = "$1" ] || fail "expected HTTP $1, got $STATUS"
}

# expect_jq FILTER EXPECTED: jq -r FILTER on the last body.
expect_jq() {
	local got
	got=$(jq -r "$1" <"$BODY" 2>/dev/null) || fail "body is not JSON (filter $1)"
	[ "$got" = "$2" ] || fail "jq '$1': expected '$2', got '$got'"
}

# expect_header NAME REGEX (case-insensitive name)
expect_header() {
	grep -i "^$1:" "$HEADERS" | grep -Eq "$2" ||
	    fail "header $1 does not match /$2/ (headers: $(tr -d '\r' <"$HEADERS" | tr '\n' '|'))"
}

# expect_outcome STATUS [ISSUE-CODE]: an OperationOutcome error answer.
expect_outcome() {
	expect_status "$1"
	expect_jq '.resourceType' OperationOutcome
	expect_header Content-Type 'application/fhir\+json'
	if [ $# -ge 2 ]; then
		expect_jq '.issue[0].code' "$2"
	fi
}

metric() {
	curl -fsS "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
