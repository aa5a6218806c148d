# tests/integration/lib-fhir.sh - a real FHIR server for integration tests.
#
# Source after lib.sh.  Starts tests/fhirserver/server.mjs (Medplum's
# open-source FHIR R4 engine, validating every write against the official
# R4 profiles) on a kernel-chosen loopback port, optionally with
# tests/fhirserver/faultproxy.mjs in front of it to inject the faults a
# real server cannot produce on demand, and runs tests/fhirserver/
# validate.mjs as the suite's independent R4 validator.
#
# The npm packages live in ${CALCIFYD_NODE_MODULES:-tests/fhirserver/
# node_modules} (quickstart runs "npm ci" there; Medplum needs Node.js 22,
# which package-lock.json pins as the node-linux-* packages).  When they or
# a suitable node are missing the test is skipped, unless
# CALCIFYD_REQUIRE_ALL is set.  CALCIFYD_NODE overrides the node binary.
#
#   fhir_server_start      sets FHIR_BASE (http://127.0.0.1:PORT/fhir),
#                          FHIR_PORT, FHIR_PID
#   fhir_proxy_start [ARGS]
#                          proxy to the server; sets PROXY_BASE, PROXY_PORT,
#                          PROXY_CTL (control URL), PROXY_PID; ARGS go to
#                          faultproxy.mjs (--tls-cert PEM --tls-key PEM
#                          [--tls-client-ca PEM]: PROXY_BASE is https)
#   fhir_fault JSON        POST JSON to the proxy's /_fault (see
#                          faultproxy.mjs for the modes)
#   fhir_stats [FILTER]    the proxy's /_stats, or jq -r FILTER of it
#   fhir_count TYPE [name=value]...
#                          number of TYPE resources on the server matching
#                          the search (values are URL-encoded here)
#   fhir_validate FILE...  validate.mjs; returns its status (0 valid,
#                          1 invalid, 2 usage) and prints its report
#   fhir_proxy_stop, fhir_server_stop
#                          SIGTERM, wait, expect exit status 0
#   fhir_logs              print the tails of the server and proxy logs

# shellcheck disable=SC2154 # top_srcdir: set by lib.sh
FHIR_SRC="$top_srcdir/tests/fhirserver"
FHIR_NM=${CALCIFYD_NODE_MODULES:-$FHIR_SRC/node_modules}
FHIR_DIR="$T/fhirserver"
FHIR_LOG="$T/fhir-server.log"
PROXY_LOG="$T/fhir-proxy.log"
FHIR_BASE='' FHIR_PORT='' FHIR_PID=''
PROXY_BASE='' PROXY_PORT='' PROXY_CTL='' PROXY_PID=''

# The node to run Medplum with: $CALCIFYD_NODE, else the pinned one from
# node_modules (npm installs only the package matching this machine; npm 9
# does not link its bin, so look in the package), else a system node that
# is new enough (Medplum 5 needs Node.js >= 22).
fhir_find_node() {
	local major n
	FHIR_NODE=${CALCIFYD_NODE:-}
	for n in "$FHIR_NM"/node-linux-*/bin/node; do
		[ -z "$FHIR_NODE" ] && [ -x "$n" ] && FHIR_NODE=$n
	done
	if [ -z "$FHIR_NODE" ]; then
		command -v node >/dev/null 2>&1 ||
		    skip "Node.js not installed (cd tests/fhirserver && npm ci)"
		FHIR_NODE=$(command -v node)
	fi
	major=$("$FHIR_NODE" -p 'process.versions.node.split(".")[0]' \
	    2>/dev/null) || skip "$FHIR_NODE does not run"
	[ "$major" -ge 22 ] ||
	    skip "Node.js $major is too old for Medplum (cd tests/fhirserver && npm ci)"
}

[ -d "$FHIR_NM/@medplum/fhir-router" ] ||
    skip "FHIR test server not installed in $FHIR_NM (cd tests/fhirserver && npm ci)"
fhir_find_node

# The scripts run from a copy next to a node_modules link, so that they
# also find their packages when the source tree is a read-only distcheck
# copy without node_modules.
mkdir -p "$FHIR_DIR"
cp "$FHIR_SRC"/*.mjs "$FHIR_DIR"/
ln -s "$FHIR_NM" "$FHIR_DIR/node_modules"

fhir_logs() {
	local f
	for f in "$FHIR_LOG" "$T/fhir-server.err" "$PROXY_LOG" \
	    "$T/fhir-proxy.err"; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last 20 lines) ---\n' "${f##*/}" >&2
		tail -n 20 "$f" >&2
	done
}

fhir_fail() {
	fhir_logs
	fail "$@"
}

# fhir_wait_port FILE PID WHAT: wait until FILE holds a port (60 s).
fhir_wait_port() {
	local file=$1 pid=$2 what=$3 _
	for _ in $(seq 1 600); do
		if [ -s "$file" ]; then
			cat "$file"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || fhir_fail "$what exited during start-up"
		sleep 0.1
	done
	fhir_fail "$what did not start within 60 s"
}

fhir_server_start() {
	rm -f "$T/fhir.port"
	"$FHIR_NODE" "$FHIR_DIR/server.mjs" --port 0 \
	    --port-file "$T/fhir.port" --log "$FHIR_LOG" "$@" \
	    2>"$T/fhir-server.err" &
	FHIR_PID=$!
	echo "$FHIR_PID" >"$T/fhir-server.pid"
	FHIR_PORT=$(fhir_wait_port "$T/fhir.port" "$FHIR_PID" "FHIR server")
	FHIR_BASE="http://127.0.0.1:$FHIR_PORT/fhir"
}

fhir_proxy_start() {
	[ -n "$FHIR_PORT" ] || fail "fhir_proxy_start before fhir_server_start"
	rm -f "$T/proxy.port" "$T/proxy-ctl.port"
	"$FHIR_NODE" "$FHIR_DIR/faultproxy.mjs" \
	    --upstream "http://127.0.0.1:$FHIR_PORT" \
	    --port 0 --port-file "$T/proxy.port" \
	    --control-port 0 --control-port-file "$T/proxy-ctl.port" \
	    --log "$PROXY_LOG" "$@" 2>"$T/fhir-proxy.err" &
	PROXY_PID=$!
	echo "$PROXY_PID" >"$T/fhir-proxy.pid"
	PROXY_PORT=$(fhir_wait_port "$T/proxy.port" "$PROXY_PID" "fault proxy")
	PROXY_CTL="http://127.0.0.1:$(fhir_wait_port "$T/proxy-ctl.port" \
	    "$PROXY_PID" "fault proxy")"
	case " $* " in
	*" --tls-cert "*) PROXY_BASE="https://127.0.0.1:$PROXY_PORT/fhir" ;;
	*) PROXY_BASE="http://127.0.0.1:$PROXY_PORT/fhir" ;;
	esac
}

fhir_fault() {
	local out
	out=$(curl -sS -X POST -H 'Content-Type: application/json' \
	    --data-binary "$1" -w '\n%{http_code}' "$PROXY_CTL/_fault") ||
	    fhir_fail "fault proxy control unreachable"
	[ "${out##*$'\n'}" = 200 ] ||
	    fhir_fail "fhir_fault $1: ${out%$'\n'*}"
}

fhir_stats() {
	local out
	out=$(curl -fsS "$PROXY_CTL/_stats") ||
	    fhir_fail "fault proxy control unreachable"
	if [ $# -ge 1 ]; then
		jq -r "$1" <<<"$out"
	else
		printf '%s\n' "$out"
	fi
}

fhir_count() {
	local type=$1 arg out
	local args=(--data-urlencode _summary=count)
	shift
	for arg in "$@"; do
		args+=(--data-urlencode "$arg")
	done
	out=$(curl -fsS -G "${args[@]}" "$FHIR_BASE/$type") ||
	    fhir_fail "FHIR search $type $* failed"
	jq -e -r '.total' <<<"$out" || fhir_fail "no total in: $out"
}

fhir_validate() {
	"$FHIR_NODE" "$FHIR_DIR/validate.mjs" "$@"
}

# fhir_term_wait PID WHAT: SIGTERM, wait, expect status 0.
fhir_term_wait() {
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	[ "$rc" = 0 ] || fhir_fail "$2 exited with status $rc after SIGTERM"
}

fhir_proxy_stop() {
	[ -n "$PROXY_PID" ] || return 0
	fhir_term_wait "$PROXY_PID" "fault proxy"
	rm -f "$T/fhir-proxy.pid"
	PROXY_PID='' PROXY_BASE='' PROXY_PORT='' PROXY_CTL=''
}

fhir_server_stop() {
	fhir_proxy_stop
	[ -n "$FHIR_PID" ] || return 0
	fhir_term_wait "$FHIR_PID" "FHIR server"
	rm -f "$T/fhir-server.pid"
	FHIR_PID='' FHIR_BASE='' FHIR_PORT=''
}
