/*
 * regress.c - runs a fuzz target over every file of its corpus directory
 * without libFuzzer, so `make check` (and its sanitizer build) replays the
 * seeds and every crash input ever found.
 *
 * usage: regress_<target> DIR...
 */
#include "autoconfig.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t n;
	FILE *fp;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	buf = malloc((size_t)st.st_size + 1);
	n = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 1;
}

int
main(int argc, char **argv)
{
	struct dirent *de;
	char path[4096];
	int i, n = 0;
	DIR *d;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "%s: cannot open\n", argv[i]);
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (run_file(path) > 0)
				n++;
		}
		closedir(d);
	}
	printf("%d inputs replayed\n", n);
	return n > 0 ? 0 : 1;
}
