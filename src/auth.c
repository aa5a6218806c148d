/*
 * auth.c - inbound bearer token set.  Owns the digests of the tokens in
 * http.auth_token_file; never keeps a token in clear after loading and never
 * logs one.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "log.h"
#include "sha256.h"
#include "util.h"

struct auth_entry {
	char	*name;
	uint8_t	 digest[SHA256_LEN];
};

struct auth {
	struct auth_entry	*entries;
	size_t			 n;
};

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

struct auth *
auth_load(const char *path, FILE *errf)
{
	struct auth *a;
	char line[1024], *s, *name, *tok, *end;
	int lineno = 0, errors = 0;
	struct stat st;
	size_t i;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(errf, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("auth token file is world-readable path=%s", path);
	a = xcalloc(1, sizeof(*a));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			continue;
		name = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
		while (isspace((unsigned char)*s))
			s++;
		tok = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		end = s;
		while (isspace((unsigned char)*s))
			s++;
		*end = '\0';
		if (*tok == '\0' || *s != '\0') {
			fprintf(errf, "%s:%d: expected 'NAME TOKEN'\n", path,
			    lineno);
			errors++;
			continue;
		}
		if (strlen(tok) < AUTH_MIN_TOKEN) {
			fprintf(errf, "%s:%d: token for '%s' is shorter than "
			    "%d characters\n", path, lineno, name,
			    AUTH_MIN_TOKEN);
			errors++;
			continue;
		}
		for (i = 0; i < a->n; i++) {
			if (strcmp(a->entries[i].name, name) == 0) {
				fprintf(errf, "%s:%d: client '%s' listed twice\n",
				    path, lineno, name);
				errors++;
			}
		}
		a->entries = xrealloc(a->entries,
		    (a->n + 1) * sizeof(*a->entries));
		a->entries[a->n].name = xstrdup(name);
		sha256(tok, strlen(tok), a->entries[a->n].digest);
		a->n++;
		wipe(line, sizeof(line));
	}
	wipe(line, sizeof(line));
	if (ferror(fp)) {
		fprintf(errf, "%s: read error\n", path);
		errors++;
	}
	fclose(fp);
	if (errors == 0 && a->n == 0) {
		fprintf(errf, "%s: no tokens: every client would be refused\n",
		    path);
		errors++;
	}
	if (errors > 0) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void
auth_free(struct auth *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		free(a->entries[i].name);
	free(a->entries);
	free(a);
}

size_t
auth_count(const struct auth *a)
{
	return a != NULL ? a->n : 0;
}

const char *
auth_check(const struct auth *a, const char *token, size_t len)
{
	uint8_t d[SHA256_LEN];
	const char *hit = NULL;
	size_t i;

	sha256(token, len, d);
	/* Compare with every entry; no early exit. */
	for (i = 0; i < a->n; i++)
		if (sha256_equal(d, a->entries[i].digest))
			hit = a->entries[i].name;
	return hit;
}
