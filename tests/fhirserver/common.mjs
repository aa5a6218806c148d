// common.mjs - small helpers shared by server.mjs and faultproxy.mjs:
// the JSON log line, the port file, request timing, error OperationOutcomes.
// No FHIR semantics here (those are Medplum's, see r4.mjs).

import { appendFileSync, renameSync, writeFileSync } from 'node:fs';

// A function writing one JSON object per line to file (stdout if null).
export function makeLogger(file) {
	return (obj) => {
		const line = JSON.stringify(obj) + '\n';
		if (file)
			appendFileSync(file, line);
		else
			process.stdout.write(line);
	};
}

// Write the bound port atomically, so a reader never sees half of it.
export function writePortFile(file, port) {
	if (!file)
		return;
	writeFileSync(file + '.tmp', `${port}\n`);
	renameSync(file + '.tmp', file);
}

// Milliseconds since t0 (a process.hrtime.bigint()), to the microsecond.
export function msSince(t0) {
	return Math.round(Number(process.hrtime.bigint() - t0) / 1e3) / 1e3;
}

export function operationOutcome(issues) {
	return { resourceType: 'OperationOutcome', issue: issues };
}

export function errorOutcome(code, text) {
	return operationOutcome([
		{ severity: 'error', code, details: { text } },
	]);
}
