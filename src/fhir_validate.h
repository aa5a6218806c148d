/*
 * fhir_validate.h - structural validation of FHIR R4 JSON as the official
 * validator does it, driven by element tables generated from the official
 * StructureDefinitions (src/fhir_defs.c, made by tools/gen-fhir-defs.mjs).
 *
 * Checks (FHIR.md "Observation handling"): unknown elements (400), JSON
 * types per element, cardinality (arrays vs single values, required
 * elements), primitive regexes (id, string without control characters and
 * at most 1 MB, code, uri, dateTime with zone, date, instant, decimal,
 * integer, positiveInt, unsignedInt, boolean, base64Binary...), one value[x]
 * per choice, primitive extensions (_element), required bindings of the
 * resources calcifyd reads (status codes, Quantity.comparator, ...), ele-1
 * (no empty elements) and contained resources per dom-2/dom-3.
 *
 * Pure: no I/O, no globals besides the constant tables.
 */
#ifndef CALCIFY_FHIR_VALIDATE_H
#define CALCIFY_FHIR_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "diag.h"

/*
 * Validate one resource.  path is the FHIRPath prefix for messages: the
 * resource type ("Observation") for a top-level resource or e.g.
 * "Bundle.entry[3].resource" inside a Bundle, so expressions read
 * "Bundle.entry[3].resource.valueQuantity.value".  Returns 0 when valid;
 * -1 with d set (first problem found, in document order) otherwise.
 */
int	fhir_validate(const json_t *resource, const char *path, struct diag *d);

/*
 * The same for a resource's own elements only: resources inside it other
 * than contained ones (Bundle.entry.resource, entry.response.outcome,
 * Parameters.parameter.resource) must be JSON objects but are not looked
 * into, so a Bundle's envelope can be checked without copying it and its
 * entries validated one by one with fhir_validate.
 */
int	fhir_validate_envelope(const json_t *resource, const char *path,
	    struct diag *d);

/* True when resourceType names an R4 resource the tables describe. */
bool	fhir_validate_known_type(const char *type);

#endif
