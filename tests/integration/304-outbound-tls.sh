#!/bin/bash
# Outbound TLS to the hospital (the fault proxy speaking HTTPS in front of
# the real FHIR server): certificate verification is on by default, so a
# server certificate from a CA calcifyd does not trust is refused -- the
# delivery is retried, never marked delivered, and the error is in the log
# and the outbox; hospital.ca_file makes it work.  A server that requires
# a client certificate refuses calcifyd without hospital.client_cert /
# hospital.client_key and accepts it with them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fhir.sh"
need openssl

D="$top_srcdir/tests/data/ingest"
P="$T/pki"
mkdir "$P"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test hospital CA" \
	-keyout "$P/ca.key" -out "$P/ca.pem" 2>/dev/null
mkcert() {	# name subject server|client
	openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$P/$1.key" \
		-out "$P/$1.csr" 2>/dev/null
	if [ "$3" = server ]; then
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$P/$1.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$P/$1.ext"
	fi
	openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
		-CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
mkcert server "/CN=127.0.0.1" server
mkcert calcifyd "/O=Example Dialysis/CN=calcifyd" client

post_patient() {
	jq --arg p "Patient/$1" --arg id "tls-$1" \
		'.id = $id | del(.identifier) | .subject.reference = $p' \
		"$D/obs-calcium.json" >"$T/p.json"
	post_json /fhir/Observation "$T/p.json"
	expect_status 201
}
sql() { sqlite3 -cmd '.timeout 5000' "$T/calcifyd.db" "$1"; }
wait_count() {	# N: wait until the server holds N RiskAssessments
	local i
	for i in $(seq 1 150); do
		[ "$(fhir_count RiskAssessment)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "server holds $(fhir_count RiskAssessment), expected $1"
}
# refused WHAT: the delivery waiting now has failed at least twice and is
# still pending, with its error kept in the outbox.
refused() {
	local i
	for i in $(seq 1 150); do
		[ "$(sql 'SELECT coalesce(max(attempts), 0) FROM outbox WHERE state = 0')" -ge 2 ] &&
			return 0
		sleep 0.1
	done
	fail "$1: the delivery was not retried (outbox: $(sql 'SELECT oid, state, attempts, last_error FROM outbox'))"
}
start() {
	cfy_start -o "hospital.base_url=$PROXY_BASE" -o hospital.backoff_base_ms=100 \
		-o hospital.backoff_max_ms=300 "$@"
}

fhir_server_start
fhir_proxy_start --tls-cert "$P/server.pem" --tls-key "$P/server.key"
case $PROXY_BASE in https://*) ;; *) fail "proxy is not on https: $PROXY_BASE" ;; esac

# --- Verification on by default: our CA is not in the system store.
start
post_patient t1
refused "untrusted server certificate"
[ "$(sql 'SELECT count(*) FROM outbox WHERE state = 1')" = 0 ] || fail "marked delivered over an untrusted certificate"
sql 'SELECT last_error FROM outbox WHERE state = 0' | grep -qi 'certificate' ||
	fail "the certificate problem is not in the outbox: $(sql 'SELECT last_error FROM outbox')"
grep -q 'delivery retry .*last=.*[Cc]ertificate' "$CFY_LOG" || fail "the certificate problem is not logged"
[ "$(metric 'calcifyd_deliveries_total{result="retry"}')" -ge 2 ] || fail "retries not counted"
[ "$(fhir_count RiskAssessment)" = 0 ] || fail "delivered over an untrusted certificate"
grep -q '"event":"tls-error","error":"ERR_SSL_TLSV1_ALERT_UNKNOWN_CA"' "$PROXY_LOG" ||
	fail "calcifyd did not refuse the server's CA in the handshake"
cfy_stop

# --- hospital.ca_file trusts the hospital's CA: the waiting row goes.
start -o "hospital.ca_file=$P/ca.pem"
wait_count 1
[ "$(sql 'SELECT state FROM outbox')" = 1 ] || fail "not marked delivered"
cfy_stop

# --- The server requires a client certificate (mutual TLS).
fhir_proxy_stop
fhir_proxy_start --tls-cert "$P/server.pem" --tls-key "$P/server.key" \
	--tls-client-ca "$P/ca.pem"
start -o "hospital.ca_file=$P/ca.pem"
post_patient t2
refused "no client certificate"
[ "$(fhir_count RiskAssessment)" = 1 ] || fail "delivered without a client certificate"
grep -q '"error":"ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"' "$PROXY_LOG" ||
	fail "the server did not refuse calcifyd for want of a client certificate"
[ -n "$(sql 'SELECT last_error FROM outbox WHERE state = 0')" ] || fail "no error kept in the outbox"
cfy_stop
start -o "hospital.ca_file=$P/ca.pem" -o "hospital.client_cert=$P/calcifyd.pem" \
	-o "hospital.client_key=$P/calcifyd.key"
wait_count 2
[ "$(sql 'SELECT count(*) FROM outbox WHERE state = 1')" = 2 ] || fail "not every row marked delivered"
cfy_stop
fhir_server_stop
