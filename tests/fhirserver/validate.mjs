// validate.mjs - the test suite's independent FHIR R4 validator.
//
//   node validate.mjs [-q] FILE...      (FILE "-" reads standard input)
//
// Each file holds one JSON resource.  A Bundle's entries are validated
// individually and reported as FILE#entry[N], so a failure names the
// RiskAssessment at fault; the Bundle itself is validated too, reporting
// only the issues outside its entries' resources.  The rules are Medplum's validateResource over
// the official HL7 R4 StructureDefinitions (see r4.mjs), not calcifyd's.
//
// Prints "FILE: severity expression: message" per issue (warnings too,
// unless -q) and exits 0 when no file has an error, 1 when one has, 2 on
// usage errors (no files, unreadable file, not JSON).

import { readFileSync } from 'node:fs';
import { isError, validate } from './r4.mjs';

function usage(msg) {
	if (msg)
		process.stderr.write(`validate.mjs: ${msg}\n`);
	process.stderr.write('usage: node validate.mjs [-q] FILE... ' +
	    '(- for standard input)\n');
	process.exit(2);
}

const args = process.argv.slice(2);
let quiet = false;
if (args[0] === '-q') {
	quiet = true;
	args.shift();
}
if (args.length === 0)
	usage();

// Read and parse every file before validating, so a usage error (exit 2)
// is never mixed with validation results.
const inputs = args.map((file) => {
	let text;
	try {
		text = readFileSync(file === '-' ? 0 : file, 'utf8');
	} catch (err) {
		usage(`${file}: ${err.message}`);
	}
	try {
		return { file, resource: JSON.parse(text) };
	} catch (err) {
		usage(`${file}: not JSON: ${err.message}`);
	}
	return null;
});

const IN_ENTRY = /^Bundle\.entry\[\d+\]\.resource\b/;

// Print the issues of one resource; true when one is an error.  With
// bundle set, issues inside an entry's resource are left to that entry.
function report(label, resource, bundle) {
	let bad = false;
	for (const issue of validate(resource)) {
		if (bundle && issue.expression?.some((e) => IN_ENTRY.test(e)))
			continue;
		const error = isError(issue);
		bad ||= error;
		if (quiet && !error)
			continue;
		const where = issue.expression?.join(',') ?? '(resource)';
		const text = issue.details?.text ?? issue.diagnostics ??
		    issue.code;
		process.stdout.write(`${label}: ${issue.severity} ${where}: ` +
		    `${text}\n`);
	}
	return bad;
}

let invalid = false;
for (const { file, resource } of inputs) {
	const label = file === '-' ? '<stdin>' : file;
	const bundle = resource?.resourceType === 'Bundle';
	let bad = report(label, resource, bundle);
	if (bundle) {
		(resource.entry ?? []).forEach((e, i) => {
			if (e?.resource && report(`${label}#entry[${i}]`,
			    e.resource))
				bad = true;
		});
	}
	invalid ||= bad;
}
process.exit(invalid ? 1 : 0);
