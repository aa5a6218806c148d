/*
 * fuzz_model.c - the model loader: JSON Schema check, semantic checks and
 * struct building; a model that loads is also run through the engine once
 * so a hostile-but-valid model cannot crash assessments.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "facts.h"
#include "fuzz.h"
#include "model.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct engine_result *r;
	struct model *m;
	struct facts f;

	m = model_load_string((const char *)data, size, "fuzz", devnull);
	fclose(devnull);
	if (m == NULL)
		return 0;
	facts_init(&f);
	facts_set(&f, INPUT_CALCIUM, 10.9, 1795161600000LL, 0, 0, NULL);
	facts_set(&f, INPUT_PHOSPHATE, 7.8, 1795161600000LL, 0, 0, NULL);
	facts_set(&f, INPUT_SEX, INPUT_SEX_FEMALE, 0, 0, 0, NULL);
	facts_set(&f, INPUT_ESRD, 1, 1700000000000LL, 0, 0, NULL);
	r = malloc(sizeof(*r));
	if (r != NULL)
		engine_run(m, &f, 1795161600000LL, r);
	free(r);
	model_unref(m);
	return 0;
}
