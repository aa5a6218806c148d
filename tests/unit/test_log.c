/*
 * test_log.c - the PHI guard's tools: the salted patient tag (stable for
 * one salt, different across salts, never the raw identifier) and the
 * level threshold that keeps debug lines out of an info-level log.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "sha256.h"
#include "util.h"

/* 32 bytes each, as the store makes them (the NUL is not used). */
static const unsigned char salt_a[] = "salt-of-one-installation-0123456";
static const unsigned char salt_b[] = "salt-of-another-one-abcdefghijkl";

static void
tag(const unsigned char *salt, const char *key, char out[32])
{
	log_set_patient_salt(salt, 32);
	log_patient_tag(key, out, 32);
}

static void
test_log_patient_tag_is_stable_for_one_salt(void **state)
{
	char t1[32], t2[32], t3[32];

	tag(salt_a, "Patient/S-1001", t1);
	tag(salt_b, "Patient/S-1001", t2);
	tag(salt_a, "Patient/S-1001", t3);
	assert_string_equal(t1, t3);
	/* Stable across versions too, or logs from before and after an
	 * upgrade no longer line up: SHA-256(salt || key), 6 bytes. */
	assert_string_equal(t1, "p-857c7277554d");
}

static void
test_log_patient_tag_differs_across_salts_and_patients(void **state)
{
	char a1[32], b1[32], a2[32];

	tag(salt_a, "Patient/S-1001", a1);
	tag(salt_b, "Patient/S-1001", b1);
	tag(salt_a, "Patient/S-1002", a2);
	assert_string_not_equal(a1, b1);
	assert_string_not_equal(a1, a2);
}

static void
test_log_patient_tag_is_p_and_12_hex_digits_without_the_id(void **state)
{
	static const char *const keys[] = { "Patient/S-1001", "S-1001",
	    "15493bc1-dfc5-52f8-87c5-7995bf79baac", "a", "" };
	char t[32];
	size_t i, j;

	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		tag(salt_a, keys[i], t);
		assert_int_equal(strlen(t), 14);
		assert_memory_equal(t, "p-", 2);
		for (j = 2; j < 14; j++)
			assert_true(isxdigit((unsigned char)t[j]) &&
			    !isupper((unsigned char)t[j]));
		if (strlen(keys[i]) > 1)
			assert_null(strstr(t, keys[i]));
	}
	/* Nor any stretch of the id long enough to recognise. */
	tag(salt_a, "Patient/1001", t);
	assert_null(strstr(t, "1001"));
}

/* The salt is mixed in: the tag is not the unsalted digest of the id,
 * which anyone could compute from a list of medical record numbers. */
static void
test_log_patient_tag_is_not_the_unsalted_digest(void **state)
{
	uint8_t d[SHA256_LEN];
	struct sha256 c;
	char hex[2 * SHA256_LEN + 1], plain[2 * SHA256_LEN + 3], t[32];

	sha256_init(&c);
	sha256_update(&c, "Patient/S-1001", strlen("Patient/S-1001"));
	sha256_final(&c, d);
	util_hex(d, 6, hex);
	snprintf(plain, sizeof(plain), "p-%s", hex);
	tag(salt_a, "Patient/S-1001", t);
	assert_string_not_equal(t, plain);
}

static void
test_log_patient_tag_fits_a_small_buffer(void **state)
{
	char t[8];

	log_set_patient_salt(salt_a, 32);
	memset(t, 'x', sizeof(t));
	log_patient_tag("Patient/S-1001", t, sizeof(t));
	assert_int_equal(strlen(t), sizeof(t) - 1);
	assert_memory_equal(t, "p-", 2);
}

struct lines {
	int	n;
	char	last[256];
};

static void
sink(enum log_level lvl, const char *line, void *arg)
{
	struct lines *l = arg;

	l->n++;
	util_strlcpy(l->last, line, sizeof(l->last));
}

static void
test_log_debug_lines_do_not_reach_an_info_log(void **state)
{
	struct lines l = { 0, "" };

	log_set_sink(sink, &l);
	log_set_level(LOG_LVL_INFO);
	log_debug("value=%s", "7.8");
	assert_int_equal(l.n, 0);
	assert_false(log_enabled(LOG_LVL_DEBUG));
	log_info("ready");
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.last, "ready"));
	log_set_level(LOG_LVL_DEBUG);
	log_debug("value=%s", "7.8");
	assert_int_equal(l.n, 2);
	assert_non_null(strstr(l.last, "value=7.8"));
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_INFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_patient_tag_is_stable_for_one_salt),
		cmocka_unit_test(
		    test_log_patient_tag_differs_across_salts_and_patients),
		cmocka_unit_test(
		    test_log_patient_tag_is_p_and_12_hex_digits_without_the_id),
		cmocka_unit_test(test_log_patient_tag_is_not_the_unsalted_digest),
		cmocka_unit_test(test_log_patient_tag_fits_a_small_buffer),
		cmocka_unit_test(test_log_debug_lines_do_not_reach_an_info_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
