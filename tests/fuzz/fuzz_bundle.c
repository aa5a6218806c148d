/*
 * fuzz_bundle.c - the Bundle handler: parsing, envelope validation, bdl-7,
 * entry requests, urn:uuid resolution and per-entry extraction, exactly as
 * POST /fhir runs them before anything is stored.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "bundle.h"
#include "fhir.h"
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
	struct bundle b;
	struct diag d;
	json_t *doc;

	diag_clear(&d);
	doc = fhir_parse((const char *)data, size, 64, &d);
	if (doc == NULL)
		return 0;
	bundle_prepare(doc, 1000, terms, &b, &d);
	bundle_free(&b);
	json_decref(doc);
	return 0;
}
