#!/bin/bash
# HTTPS and mutual TLS: the server certificate is served, and slow
# clients are cut after the request head deadline as over HTTP; with
# http.tls_client_ca a client needs a certificate signed by that CA (403
# otherwise, /healthz excepted); with http.tls_client_subjects its subject
# must be on the list; the list is re-read on SIGHUP.
. "$(dirname "$0")/lib.sh"
need openssl

D="$top_srcdir/tests/data/ingest"
P="$T/pki"
mkdir "$P"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
	-keyout "$P/ca.key" -out "$P/ca.pem" 2>/dev/null
mkcert() {	# name subject [server]
	openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$P/$1.key" \
		-out "$P/$1.csr" 2>/dev/null
	if [ "${3:-}" = server ]; then
		printf 'subjectAltName=IP:127.0.0.1\n' >"$P/$1.ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$P/$1.ext"
	fi
	openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
		-CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
mkcert server "/CN=127.0.0.1" server
mkcert mirth "/O=Example Hospital/CN=mirth"
mkcert intruder "/O=Elsewhere/CN=intruder"
# A certificate from another CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rogue" \
	-keyout "$P/rogue.key" -out "$P/rogue.pem" 2>/dev/null

https() { req "$@" --cacert "$P/ca.pem"; }

# --- plain HTTPS ---------------------------------------------------------------
cfy_write_config
sed -i "s|^\[http\]|[http]\ntls_cert = $P/server.pem\ntls_key = $P/server.key|" \
	"$T/calcifyd.conf"
# cfy_start polls /readyz over http; wait for the log line instead.
"$CALCIFYD" --foreground -c "$T/calcifyd.conf" -o http.request_timeout_ms=3000 \
	>"$CFY_LOG" 2>&1 &
CFY_PID=$!
for i in $(seq 1 100); do
	CFY_PORT=$(sed -n 's/.*http listening host=[^ ]* port=\([0-9]*\).*/\1/p' "$CFY_LOG")
	[ -n "$CFY_PORT" ] && break
	sleep 0.05
done
[ -n "$CFY_PORT" ] || fail "no TLS listener"
BASE="https://127.0.0.1:$CFY_PORT"
grep -q 'tls=yes' "$CFY_LOG" || fail "TLS not reported on"
for i in $(seq 1 50); do
	curl -fsS --cacert "$P/ca.pem" "$BASE/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
https GET /fhir/metadata
expect_status 200
expect_jq '.implementation.url | startswith("https://")' true
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CFY_PORT/healthz" || true)
[ "$code" != 200 ] || fail "plain HTTP answered on the TLS port"
# The request head deadline holds over TLS too: a client that completes
# the handshake and then trickles its head a byte a second is cut after
# http.request_timeout_ms, though it is never idle that long.
python3 - "$CFY_PORT" "$P/ca.pem" <<'PY' || fail "slow TLS client: see above"
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="127.0.0.1")
s.settimeout(1)
t0 = time.time()
for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 30:
    try:
        s.send(bytes([ch]))
        if s.recv(100) == b"":
            break
        sys.exit("the trickled request was answered")
    except socket.timeout:
        pass
    except (OSError, ssl.SSLError):
        break
else:
    sys.exit("a TLS client trickling its head was never cut")
t = time.time() - t0
if not 2.9 <= t <= 15:
    sys.exit("cut after %.1f s, not just after the 3 s deadline" % t)
PY
cfy_stop

# --- mutual TLS with a subject allow-list ----------------------------------------
printf '# allowed clients\nCN=mirth,O=Example Hospital\n' >"$P/subjects"
sed -i "s|^\[http\]|[http]\ntls_client_ca = $P/ca.pem\ntls_client_subjects = $P/subjects|" \
	"$T/calcifyd.conf"
"$CALCIFYD" --foreground -c "$T/calcifyd.conf" >"$CFY_LOG" 2>&1 &
CFY_PID=$!
CFY_PORT=
for i in $(seq 1 100); do
	CFY_PORT=$(sed -n 's/.*http listening host=[^ ]* port=\([0-9]*\).*/\1/p' "$CFY_LOG")
	[ -n "$CFY_PORT" ] && break
	sleep 0.05
done
BASE="https://127.0.0.1:$CFY_PORT"
for i in $(seq 1 50); do
	curl -fsS --cacert "$P/ca.pem" "$BASE/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
MIRTH=(--cert "$P/mirth.pem" --key "$P/mirth.key")
https GET /healthz
expect_status 200
https GET /fhir/Observation/nosuch
expect_outcome 403 forbidden
https GET /fhir/Observation/nosuch "${MIRTH[@]}"
expect_outcome 404 not-found
https POST /fhir/Observation "${MIRTH[@]}" -H 'Content-Type: application/fhir+json' \
	--data-binary "@$D/obs-calcium.json"
expect_status 201
https GET /fhir/Observation/ca-1 --cert "$P/intruder.pem" --key "$P/intruder.key"
expect_outcome 403 forbidden
# Another CA's certificate: refused in the handshake or with 403.
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" \
	--cert "$P/rogue.pem" --key "$P/rogue.key" "$BASE/fhir/Observation/ca-1" || true)
[ "$code" = 403 ] || [ "$code" = 000 ] || fail "another CA's client got $code"

# The allow-list is re-read on SIGHUP.
printf 'CN=intruder,O=Elsewhere\n' >"$P/subjects"
kill -HUP "$CFY_PID"
for i in $(seq 1 100); do grep -q 'reload done' "$CFY_LOG" && break; sleep 0.05; done
https GET /fhir/Observation/ca-1 "${MIRTH[@]}"
expect_outcome 403
https GET /fhir/Observation/ca-1 --cert "$P/intruder.pem" --key "$P/intruder.key"
expect_status 200
cfy_stop
