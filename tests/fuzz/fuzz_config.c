/*
 * fuzz_config.c - the INI configuration parser with -o overrides: any file
 * ends in a configuration or a list of problems.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/calcify-fuzz-config-XXXXXX";
	const char *ov[1];
	char *line = NULL;
	struct config *c;
	FILE *devnull, *fp;
	int fd;

	if ((fd = mkstemp(path)) == -1)
		return 0;
	fp = fdopen(fd, "w");
	fwrite(data, 1, size, fp);
	fclose(fp);
	devnull = fopen("/dev/null", "w");
	c = config_load(path, false, NULL, 0, devnull);
	config_free(c);
	/* The same bytes as a -o override (up to the first newline). */
	line = strndup((const char *)data, size);
	if (line != NULL) {
		line[strcspn(line, "\n")] = '\0';
		ov[0] = line;
		config_free(config_load(NULL, false, ov, 1, devnull));
		free(line);
	}
	fclose(devnull);
	unlink(path);
	return 0;
}
