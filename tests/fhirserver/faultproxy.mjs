// faultproxy.mjs - a reverse proxy in front of server.mjs that injects the
// faults a real FHIR server cannot be made to produce on demand.
//
//   node faultproxy.mjs --upstream http://127.0.0.1:PORT
//       [--host 127.0.0.1] [--port 0] [--port-file FILE]
//       [--control-port 0] [--control-port-file FILE]
//       [--log FILE] [--require-token TOKEN]
//       [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
//
// Two listeners: the proxy port (point calcifyd's hospital base URL at it)
// and a control port, kept apart so "down" can refuse connections on the
// proxy port while the test still talks to the control port.  Requests are
// forwarded verbatim (method, path, headers including Host, body; the
// answer's status, headers and body) unless a fault is armed.
//
// With --tls-cert and --tls-key the proxy port speaks HTTPS (Node's https
// module) with that certificate, so a test can pin calcifyd's outbound TLS
// checks; --tls-client-ca makes it require a client certificate signed by
// that CA (mutual TLS: handshakes without one fail).  The control port and
// the upstream stay plain HTTP.
//
// Control port:
//   POST /_fault  {"mode": M, "count": N, "retryAfter": S, "seconds": T,
//                  "match": "POST /fhir/RiskAssessment"}
//       arms fault M for the next N proxied requests (default 1; -1 means
//       until changed) whose "METHOD /path" starts with match (default: all).
//       A new POST replaces the armed fault.  Modes:
//         503       503 + Retry-After: S seconds (default 1; null: no header)
//         503-date  503 + Retry-After as an HTTP-date S seconds from now
//         429       429 + Retry-After: S seconds
//         500       500 with an OperationOutcome
//         400       400 with an OperationOutcome (code "invalid")
//         401       401 with WWW-Authenticate: Bearer
//         hang      read the request, answer nothing, close after T s (30)
//         close     read the request headers, then close the connection
//         lose      forward (the server stores it), then close the
//                   connection instead of answering: the answer is lost
//         down      stop listening: connections are refused (count ignored)
//         up        listen again on the same port
//         off       disarm
//       {"requireToken": "abc"} (alone or with a mode): from now on answer
//       401 unless "Authorization: Bearer abc" (a value containing a space
//       is compared with the whole header); null switches it off.
//   GET /_fault   the armed fault and settings
//   GET /_stats   {"seen": {"POST /fhir/RiskAssessment": 3, ...},
//                  "forwarded": {...}, "faulted": {...}} (query strings are
//                 not part of the key)
//   DELETE /_stats  reset the counters
//
// One JSON log line per proxied request: time, start and at (when the
// request arrived and when the line was written, ms since the epoch, for
// arithmetic in tests), method, url, status, ms, fault, and retryAfter
// (the header value sent, when one was).  A line is written once the
// answer (or the fault) has been sent.  SIGTERM/SIGINT: close everything,
// exit 0.

import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import {
	errorOutcome,
	makeLogger,
	msSince,
	writePortFile,
} from './common.mjs';

const MODES = new Set(['503', '503-date', '429', '500', '400', '401',
    'hang', 'close', 'lose', 'down', 'up', 'off']);

function usage() {
	process.stderr.write('usage: node faultproxy.mjs --upstream URL ' +
	    '[--host ADDR] [--port N] [--port-file FILE] [--control-port N] ' +
	    '[--control-port-file FILE] [--log FILE] [--require-token T] ' +
	    '[--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n');
	process.exit(2);
}

function parseArgs(argv) {
	const opt = { upstream: null, host: '127.0.0.1', port: 0,
	    portFile: null, controlPort: 0, controlPortFile: null, log: null,
	    requireToken: null, tlsCert: null, tlsKey: null,
	    tlsClientCa: null };
	for (let i = 0; i < argv.length; i += 2) {
		const v = argv[i + 1];
		if (v === undefined)
			usage();
		switch (argv[i]) {
		case '--upstream': opt.upstream = new URL(v); break;
		case '--host': opt.host = v; break;
		case '--port': opt.port = Number(v); break;
		case '--port-file': opt.portFile = v; break;
		case '--control-port': opt.controlPort = Number(v); break;
		case '--control-port-file': opt.controlPortFile = v; break;
		case '--log': opt.log = v; break;
		case '--require-token': opt.requireToken = v; break;
		case '--tls-cert': opt.tlsCert = v; break;
		case '--tls-key': opt.tlsKey = v; break;
		case '--tls-client-ca': opt.tlsClientCa = v; break;
		default: usage();
		}
	}
	if (!opt.upstream || !opt.tlsCert !== !opt.tlsKey ||
	    (opt.tlsClientCa && !opt.tlsCert))
		usage();
	return opt;
}

const opt = parseArgs(process.argv.slice(2));

const logLine = makeLogger(opt.log);

function outcome(code, text) {
	return JSON.stringify(errorOutcome(code, text));
}

// --- state ---------------------------------------------------------------

let fault = null;		// { mode, count, retryAfter, seconds, match }
let requireToken = opt.requireToken;
let stats = { seen: {}, forwarded: {}, faulted: {} };
let proxyPort = opt.port;
let listening = false;
const hanging = new Set();	// sockets held open by "hang"

function bump(table, key) {
	table[key] = (table[key] ?? 0) + 1;
}

// The fault to apply to this request, consuming one from the count.
function takeFault(key) {
	if (!fault || !key.startsWith(fault.match))
		return null;
	const f = fault;
	if (f.count > 0 && --f.count === 0)
		fault = null;
	return f;
}

function authorized(req) {
	if (requireToken === null)
		return true;
	const want = requireToken.includes(' ') ? requireToken :
	    `Bearer ${requireToken}`;
	return req.headers.authorization === want;
}

// --- the proxy port --------------------------------------------------------

function readAll(req) {
	return new Promise((resolve) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', () => resolve(Buffer.concat(chunks)));
	});
}

function answer(res, status, headers, body) {
	res.writeHead(status, { 'Content-Type': 'application/fhir+json',
	    'Content-Length': Buffer.byteLength(body), ...headers });
	res.end(body);
}

// Forward to the upstream; resolves with the upstream's status.  With
// lose, the request is processed upstream but the client gets no answer.
function forward(req, res, body, lose) {
	return new Promise((resolve) => {
		const up = httpRequest({
			host: opt.upstream.hostname,
			port: opt.upstream.port,
			method: req.method,
			path: req.url,
			headers: req.headers,
		}, (ures) => {
			if (lose) {
				ures.resume();
				ures.on('end', () => {
					req.socket.destroy();
					resolve(ures.statusCode);
				});
				return;
			}
			res.writeHead(ures.statusCode, ures.rawHeaders);
			ures.pipe(res);
			ures.on('end', () => resolve(ures.statusCode));
		});
		up.on('error', (err) => {
			answer(res, 502, {}, outcome('transient',
			    `upstream: ${err.message}`));
			resolve(502);
		});
		up.end(body);
	});
}

async function proxy(req, res) {
	const t0 = process.hrtime.bigint();
	const start = Date.now();
	const key = `${req.method} ${req.url.split('?')[0]}`;
	bump(stats.seen, key);
	const ok = authorized(req);
	const f = ok ? takeFault(key) : null;
	let status, applied = ok ? f?.mode ?? null : 'requireToken';
	let retryAfter;
	const body = f?.mode === 'close' ? null : await readAll(req);

	if (!ok) {
		status = 401;
		answer(res, status, { 'WWW-Authenticate':
		    'Bearer error="invalid_token"' },
		    outcome('login', 'missing or wrong bearer token'));
	} else if (!f || f.mode === 'lose') {
		bump(stats.forwarded, key);
		status = await forward(req, res, body, f?.mode === 'lose');
		if (f)
			status = 'lost';
	} else {
		bump(stats.faulted, key);
		const ra = f.retryAfter;
		switch (f.mode) {
		case '503':
		case '429':
			status = Number(f.mode);
			retryAfter = ra === null ? undefined : String(ra);
			answer(res, status, ra === null ? {} :
			    { 'Retry-After': retryAfter },
			    outcome(status === 429 ? 'throttled' : 'transient',
			    'injected fault'));
			break;
		case '503-date':
			status = 503;
			retryAfter = ra === null ? undefined :
			    new Date(Date.now() + ra * 1000).toUTCString();
			answer(res, status, ra === null ? {} :
			    { 'Retry-After': retryAfter }, outcome('transient',
			    'injected fault'));
			break;
		case '500':
			status = 500;
			answer(res, status, {}, outcome('exception',
			    'injected fault'));
			break;
		case '400':
			status = 400;
			answer(res, status, {}, outcome('invalid',
			    'injected fault: resource rejected'));
			break;
		case '401':
			status = 401;
			answer(res, status, { 'WWW-Authenticate':
			    'Bearer error="invalid_token"' },
			    outcome('login', 'injected fault'));
			break;
		case 'hang': {
			status = 'hang';
			const sock = req.socket;
			hanging.add(sock);
			const timer = setTimeout(() => sock.destroy(),
			    f.seconds * 1000);
			sock.on('close', () => {
				clearTimeout(timer);
				hanging.delete(sock);
			});
			break;
		}
		case 'close':
			status = 'closed';
			req.socket.destroy();
			break;
		}
	}
	const now = new Date();
	logLine({ time: now.toISOString(), start, at: now.getTime(),
	    method: req.method, url: req.url, status,
	    ms: msSince(t0),
	    fault: applied, ...retryAfter === undefined ? {} : { retryAfter } });
}

function onRequest(req, res) {
	proxy(req, res).catch((err) => {
		logLine({ time: new Date().toISOString(), error: err.message });
		res.destroy();
	});
}

function tlsOptions() {
	const o = { cert: readFileSync(opt.tlsCert),
	    key: readFileSync(opt.tlsKey) };
	if (opt.tlsClientCa) {
		o.ca = readFileSync(opt.tlsClientCa);
		o.requestCert = true;
		o.rejectUnauthorized = true;
	}
	return o;
}

const proxyServer = opt.tlsCert ? createTlsServer(tlsOptions(), onRequest) :
    createServer(onRequest);
// A refused handshake (untrusted or missing client certificate) is what
// the TLS tests provoke: log it, so the test can see why.
proxyServer.on('tlsClientError', (err) => {
	logLine({ time: new Date().toISOString(), event: 'tls-error',
	    error: err.code ?? err.message });
});
proxyServer.keepAliveTimeout = 30000;

function listenProxy() {
	return new Promise((resolve, reject) => {
		proxyServer.once('error', reject);
		proxyServer.listen(proxyPort, opt.host, () => {
			proxyServer.off('error', reject);
			proxyPort = proxyServer.address().port;
			listening = true;
			resolve();
		});
	});
}

function closeProxy() {
	return new Promise((resolve) => {
		listening = false;
		proxyServer.close(() => resolve());
		proxyServer.closeAllConnections();
		for (const s of hanging)
			s.destroy();
	});
}

// --- the control port ------------------------------------------------------

function checkFault(req) {
	if (req.mode !== undefined && !MODES.has(req.mode))
		return `unknown mode ${JSON.stringify(req.mode)}`;
	if (req.count !== undefined && (!Number.isInteger(req.count) ||
	    req.count === 0 || req.count < -1))
		return 'count must be a positive integer or -1';
	if (req.retryAfter !== undefined && req.retryAfter !== null &&
	    !(Number.isInteger(req.retryAfter) && req.retryAfter >= 0))
		return 'retryAfter must be a non-negative integer or null';
	if (req.seconds !== undefined && !(req.seconds >= 0))
		return 'seconds must be a non-negative number';
	if (req.requireToken !== undefined && req.requireToken !== null &&
	    typeof req.requireToken !== 'string')
		return 'requireToken must be a string or null';
	if (req.mode === undefined && req.requireToken === undefined)
		return 'need mode and/or requireToken';
	return null;
}

async function setFault(req) {
	if (req.requireToken !== undefined)
		requireToken = req.requireToken;
	switch (req.mode) {
	case undefined:
		break;
	case 'off':
		fault = null;
		break;
	case 'down':
		fault = null;
		if (listening)
			await closeProxy();
		break;
	case 'up':
		if (!listening)
			await listenProxy();
		break;
	default:
		fault = {
			mode: req.mode,
			count: req.count ?? 1,
			retryAfter: req.retryAfter === undefined ? 1 :
			    req.retryAfter,
			seconds: req.seconds ?? 30,
			match: req.match ?? '',
		};
	}
}

function state() {
	return { fault, requireToken, listening, port: proxyPort };
}

async function control(req, res) {
	const body = await readAll(req);
	const reply = (status, obj) => {
		const text = JSON.stringify(obj);
		res.writeHead(status, { 'Content-Type': 'application/json',
		    'Content-Length': Buffer.byteLength(text) });
		res.end(text);
	};
	const path = req.url.split('?')[0];
	if (path === '/_fault' && req.method === 'POST') {
		let arg;
		try {
			arg = JSON.parse(body.toString('utf8'));
		} catch (err) {
			return reply(400, { error: `not JSON: ${err.message}` });
		}
		const bad = arg && typeof arg === 'object' ? checkFault(arg) :
		    'body must be a JSON object';
		if (bad)
			return reply(400, { error: bad });
		try {
			await setFault(arg);
		} catch (err) {
			return reply(500, { error: err.message });
		}
		return reply(200, state());
	}
	if (path === '/_fault' && req.method === 'GET')
		return reply(200, state());
	if (path === '/_stats' && req.method === 'GET')
		return reply(200, stats);
	if (path === '/_stats' && req.method === 'DELETE') {
		stats = { seen: {}, forwarded: {}, faulted: {} };
		return reply(200, stats);
	}
	return reply(404, { error: `no control endpoint ${req.method} ${path}` });
}

const controlServer = createServer((req, res) => {
	control(req, res).catch((err) => {
		res.destroy();
		logLine({ time: new Date().toISOString(), error: err.message });
	});
});

await listenProxy();
writePortFile(opt.portFile, proxyPort);
controlServer.listen(opt.controlPort, opt.host, () => {
	const cport = controlServer.address().port;
	writePortFile(opt.controlPortFile, cport);
	logLine({ time: new Date().toISOString(), event: 'listening',
	    host: opt.host, port: proxyPort, controlPort: cport,
	    tls: opt.tlsCert ? (opt.tlsClientCa ? 'mutual' : 'server') : 'no',
	    upstream: opt.upstream.href, pid: process.pid });
});

function stop(sig) {
	logLine({ time: new Date().toISOString(), event: 'stopping',
	    signal: sig });
	controlServer.close();
	controlServer.closeAllConnections();
	if (listening)
		closeProxy();
	setTimeout(() => process.exit(0), 100).unref();
	process.exitCode = 0;
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
