/*
 * fuzz.h - shared by the fuzz targets: the libFuzzer entry points and the
 * path of the source tree (for the shipped code table and model).
 */
#ifndef CALCIFY_FUZZ_H
#define CALCIFY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "terminology.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The shipped code table, loaded once per target; a missing or broken
 * table is a broken harness, not a finding. */
static inline struct terminology *
fuzz_load_codes(void)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct terminology *t;

	t = terminology_load(TOP_SRCDIR "/conf/codes.tsv", devnull);
	if (devnull != NULL)
		fclose(devnull);
	if (t == NULL)
		abort();
	return t;
}

#endif
