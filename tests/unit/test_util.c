/*
 * test_util.c - util (numbers, FHIR and HTTP times, buffers) and sha256.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sha256.h"
#include "util.h"

static void
test_util_parse_ll_enforces_range_and_syntax(void **state)
{
	long long v;

	assert_int_equal(util_parse_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_ll("-1", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll("101", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll("4x", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll("", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll(" 4", 0, 100, &v), -1);
	assert_int_equal(util_parse_ll("99999999999999999999", 0, 100, &v), -1);
}

static void
test_util_parse_size_understands_suffixes(void **state)
{
	uint64_t v;

	assert_int_equal(util_parse_size("16k", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(util_parse_size("32M", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 32u << 20);
	assert_int_equal(util_parse_size("1G", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1u << 30);
	assert_int_equal(util_parse_size("12", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(util_parse_size("M", 0, UINT64_MAX, &v), -1);
	assert_int_equal(util_parse_size("-1k", 0, UINT64_MAX, &v), -1);
	assert_int_equal(util_parse_size("2k", 0, 1024, &v), -1);
}

static void
test_util_parse_duration_defaults_to_seconds(void **state)
{
	int64_t v;

	assert_int_equal(util_parse_duration_ms("30", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(util_parse_duration_ms("500ms", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(util_parse_duration_ms("5m", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(util_parse_duration_ms("7d", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, 7LL * 86400000);
	assert_int_equal(util_parse_duration_ms("1h", 0, INT64_MAX, &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(util_parse_duration_ms("ms", 0, INT64_MAX, &v), -1);
	assert_int_equal(util_parse_duration_ms("3w", 0, INT64_MAX, &v), -1);
}

static void
test_util_parse_bool_accepts_common_spellings(void **state)
{
	bool b;

	assert_int_equal(util_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(util_parse_bool("Off", &b), 0);
	assert_false(b);
	assert_int_equal(util_parse_bool("maybe", &b), -1);
}

static void
test_util_fhir_time_accepts_r4_forms(void **state)
{
	enum util_time_prec p;
	int64_t ms;

	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00:00Z",
	    UTIL_TIME_DATETIME, &ms, &p), 0);
	assert_int_equal(p, UTIL_TIME_FULL);
	assert_int_equal(ms, 1795161600000LL);
	/* Offsets are applied. */
	assert_int_equal(util_parse_fhir_time("2026-11-20T10:00:00+02:00",
	    UTIL_TIME_DATETIME, &ms, NULL), 0);
	assert_int_equal(ms, 1795161600000LL);
	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00:00.25Z",
	    UTIL_TIME_DATETIME, &ms, NULL), 0);
	assert_int_equal(ms, 1795161600250LL);
	assert_int_equal(util_parse_fhir_time("2026", UTIL_TIME_DATETIME, &ms,
	    &p), 0);
	assert_int_equal(p, UTIL_TIME_YEAR);
	assert_int_equal(util_parse_fhir_time("2026-02", UTIL_TIME_DATETIME,
	    &ms, &p), 0);
	assert_int_equal(p, UTIL_TIME_MONTH);
	assert_int_equal(util_parse_fhir_time("1970-01-01", UTIL_TIME_DATE, &ms,
	    &p), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(util_parse_fhir_time("1960-02-29", UTIL_TIME_DATE, &ms,
	    NULL), 0);
	assert_true(ms < 0);
}

static void
test_util_fhir_time_rejects_what_r4_rejects(void **state)
{
	int64_t ms;

	/* A time needs a zone (R4 dateTime regex). */
	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00:00",
	    UTIL_TIME_DATETIME, &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00Z",
	    UTIL_TIME_DATETIME, &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-13-01", UTIL_TIME_DATETIME,
	    &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2025-02-29", UTIL_TIME_DATETIME,
	    &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-11-20T24:00:00Z",
	    UTIL_TIME_DATETIME, &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00:00+15:00",
	    UTIL_TIME_DATETIME, &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("0000", UTIL_TIME_DATETIME, &ms,
	    NULL), -1);
	assert_int_equal(util_parse_fhir_time("26-11-20", UTIL_TIME_DATETIME,
	    &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-11-20 ", UTIL_TIME_DATETIME,
	    &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00:00.Z",
	    UTIL_TIME_DATETIME, &ms, NULL), -1);
	/* date does not take a time; instant needs one. */
	assert_int_equal(util_parse_fhir_time("2026-11-20T08:00:00Z",
	    UTIL_TIME_DATE, &ms, NULL), -1);
	assert_int_equal(util_parse_fhir_time("2026-11-20", UTIL_TIME_INSTANT,
	    &ms, NULL), -1);
}

static void
test_util_instant_and_http_date_round_trip(void **state)
{
	char out[32];
	int64_t ms;

	util_format_instant(1795161600250LL, out, sizeof(out));
	assert_string_equal(out, "2026-11-20T08:00:00.250Z");
	util_format_instant(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	util_format_http_date(1795161600000LL, out, sizeof(out));
	assert_string_equal(out, "Fri, 20 Nov 2026 08:00:00 GMT");
	assert_int_equal(util_parse_http_date(out, &ms), 0);
	assert_int_equal(ms, 1795161600000LL);
	assert_int_equal(util_parse_http_date("Fri, 20 Nov 2026 08:00:00 UTC",
	    &ms), -1);
}

static void
test_util_civil_days_round_trip_over_centuries(void **state)
{
	int64_t d, y;
	unsigned m, dd;

	for (d = -200000; d < 200000; d += 37) {
		util_civil_from_days(d, &y, &m, &dd);
		assert_int_equal(util_days_from_civil(y, m, dd), d);
	}
}

static void
test_util_buf_grows_and_stays_terminated(void **state)
{
	struct buf b;
	size_t len;
	char *s;
	int i;

	buf_init(&b);
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(strlen(b.b_data), b.b_len);
	buf_reset(&b);
	assert_string_equal(b.b_data, "");
	buf_puts(&b, "abc");
	s = buf_steal(&b, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	assert_null(b.b_data);
	free(s);
	/* Stealing a buffer nothing was written to gives "", terminated. */
	s = buf_steal(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	buf_free(&b);
}

static void
sha_hex(const void *p, size_t n, char *out)
{
	uint8_t d[SHA256_LEN];

	sha256(p, n, d);
	util_hex(d, SHA256_LEN, out);
}

static void
fips_vectors(void)
{
	char hex[65];
	char million[1000];
	struct sha256 c;
	uint8_t d[SHA256_LEN];
	int i;

	sha_hex("abc", 3, hex);
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha_hex("", 0, hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    hex);
	assert_string_equal(hex,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof(million));
	sha256_init(&c);
	for (i = 0; i < 1000; i++)
		sha256_update(&c, million, sizeof(million));
	sha256_final(&c, d);
	util_hex(d, SHA256_LEN, hex);
	assert_string_equal(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Both compressions meet the FIPS vectors: the one chosen for this CPU
 * (SHA-NI where it exists) and the portable one. */
static void
test_sha256_matches_fips_vectors(void **state)
{
	bool hw = sha256_use_portable(false);

	fips_vectors();
	sha256_use_portable(true);
	fips_vectors();
	sha256_use_portable(false);
	if (!hw)
		print_message("sha256: no SHA-NI on this CPU; portable only\n");
}

/* The two compressions agree on every length from 0 to 1,100 bytes, fed
 * whole and in uneven pieces (buffered and direct multi-block paths). */
static void
test_sha256_sha_ni_agrees_with_portable(void **state)
{
	uint8_t msg[1100], a[SHA256_LEN], b[SHA256_LEN];
	uint32_t x = 2463534242u;
	struct sha256 c;
	size_t n, i, step;

	if (!sha256_use_portable(false))
		skip();
	for (i = 0; i < sizeof(msg); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		msg[i] = (uint8_t)x;
	}
	for (n = 0; n <= sizeof(msg); n++) {
		sha256_use_portable(true);
		sha256(msg, n, a);
		sha256_use_portable(false);
		step = 1 + n % 97;
		sha256_init(&c);
		for (i = 0; i < n; i += step)
			sha256_update(&c, msg + i, n - i < step ? n - i : step);
		sha256_final(&c, b);
		assert_memory_equal(a, b, SHA256_LEN);
		sha256(msg, n, b);
		assert_memory_equal(a, b, SHA256_LEN);
	}
}

static void
test_sha256_equal_compares_whole_digest(void **state)
{
	uint8_t a[SHA256_LEN], b[SHA256_LEN];

	sha256("x", 1, a);
	memcpy(b, a, sizeof(b));
	assert_true(sha256_equal(a, b));
	b[31] ^= 1;
	assert_false(sha256_equal(a, b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_parse_ll_enforces_range_and_syntax),
		cmocka_unit_test(test_util_parse_size_understands_suffixes),
		cmocka_unit_test(test_util_parse_duration_defaults_to_seconds),
		cmocka_unit_test(test_util_parse_bool_accepts_common_spellings),
		cmocka_unit_test(test_util_fhir_time_accepts_r4_forms),
		cmocka_unit_test(test_util_fhir_time_rejects_what_r4_rejects),
		cmocka_unit_test(test_util_instant_and_http_date_round_trip),
		cmocka_unit_test(test_util_civil_days_round_trip_over_centuries),
		cmocka_unit_test(test_util_buf_grows_and_stays_terminated),
		cmocka_unit_test(test_sha256_matches_fips_vectors),
		cmocka_unit_test(test_sha256_sha_ni_agrees_with_portable),
		cmocka_unit_test(test_sha256_equal_compares_whole_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
