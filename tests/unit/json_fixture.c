/*
 * json_fixture.c - see json_fixture.h.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "json_fixture.h"
#include "util.h"

struct terminology *jfx_terms;

int
jfx_terms_setup(void **state)
{
	const char *top = getenv("top_srcdir");
	char *path = xasprintf("%s/conf/codes.tsv", top != NULL ? top : ".");

	(void)state;
	jfx_terms = terminology_load(path, stderr);
	free(path);
	return jfx_terms != NULL ? 0 : -1;
}

int
jfx_terms_teardown(void **state)
{
	(void)state;
	terminology_free(jfx_terms);
	jfx_terms = NULL;
	return 0;
}

char *
jfx_dq(const char *text)
{
	char *s = xstrdup(text), *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

json_t *
jfx_json(const char *text)
{
	json_error_t err;
	char *s = jfx_dq(text);
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &err);

	if (j == NULL)
		fail_msg("test JSON does not parse: %s: %s", err.text, s);
	free(s);
	return j;
}
