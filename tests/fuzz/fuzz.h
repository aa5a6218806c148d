/*
 * fuzz.h - shared by the fuzz targets: the libFuzzer entry points and the
 * path of the source tree (for the shipped code table and model).
 */
#ifndef CALCIFY_FUZZ_H
#define CALCIFY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
