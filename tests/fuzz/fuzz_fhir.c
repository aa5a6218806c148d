/*
 * fuzz_fhir.c - the FHIR front door for one resource: body parsing under
 * the limits, structural validation, and extraction of identity, patient
 * and facts (terminology, units, bounds).  Any input must end in an item
 * or a diag, never a crash, leak or undefined behaviour.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "fhir_validate.h"
#include "fuzz.h"
#include "terminology.h"

static struct terminology *terms;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	terms = fuzz_load_codes();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fhir_item it;
	struct diag d;
	const char *rt;
	json_t *doc;

	diag_clear(&d);
	doc = fhir_parse((const char *)data, size, 64, &d);
	if (doc == NULL)
		return 0;
	rt = json_string_value(json_object_get(doc, "resourceType"));
	if (rt != NULL && fhir_validate(doc, rt, &d) == 0 &&
	    fhir_type_from_name(rt) != 0 &&
	    fhir_extract(doc, NULL, rt, terms, NULL, &it, &d) == 0)
		fhir_item_free(&it);
	json_decref(doc);
	return 0;
}
