/*
 * test_auth.c - the inbound token file: format, refusals and lookups.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/calcify-test-auth-XXXXXX");
	int fd = mkstemp(path);
	FILE *fp;

	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

static struct auth *
load(const char *text, char *err, size_t errsz)
{
	char *p = write_tmp(text);
	FILE *ef = fmemopen(err, errsz, "w");
	struct auth *a = auth_load(p, ef);

	fclose(ef);
	unlink(p);
	free(p);
	return a;
}

static void
test_auth_known_token_names_its_client(void **state)
{
	char err[512] = "";
	struct auth *a = load("# engines\nmirth  0123456789abcdef0123\n"
	    "\n  rhapsody\tsecret-token-for-rhapsody  # note\n", err,
	    sizeof(err));

	assert_non_null(a);
	assert_int_equal(auth_count(a), 2);
	assert_string_equal(auth_check(a, "0123456789abcdef0123", 20), "mirth");
	assert_string_equal(auth_check(a, "secret-token-for-rhapsody", 25),
	    "rhapsody");
	assert_null(auth_check(a, "0123456789abcdef012", 19));
	assert_null(auth_check(a, "", 0));
	auth_free(a);
}

static void
test_auth_refuses_short_tokens_and_bad_lines(void **state)
{
	char err[1024] = "";
	struct auth *a = load("a short\nb 0123456789abcdef extra\nc\n", err,
	    sizeof(err));

	assert_null(a);
	assert_non_null(strstr(err, ":1: token for 'a' is shorter than 16"));
	assert_non_null(strstr(err, ":2: expected 'NAME TOKEN'"));
	assert_non_null(strstr(err, ":3: expected 'NAME TOKEN'"));
}

static void
test_auth_refuses_empty_file_and_duplicate_names(void **state)
{
	char err[1024] = "";

	assert_null(load("# nobody\n", err, sizeof(err)));
	assert_non_null(strstr(err, "no tokens"));
	memset(err, 0, sizeof(err));
	assert_null(load("x 0123456789abcdef\nx fedcba9876543210\n", err,
	    sizeof(err)));
	assert_non_null(strstr(err, ":2: client 'x' listed twice"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_known_token_names_its_client),
		cmocka_unit_test(test_auth_refuses_short_tokens_and_bad_lines),
		cmocka_unit_test(test_auth_refuses_empty_file_and_duplicate_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
