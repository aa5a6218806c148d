/*
 * test_jsonw.c - the streaming JSON writer produces what jansson parses
 * back to the same values.
 */
#include "autoconfig.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jsonw.h"

static void
test_jsonw_nesting_places_commas(void **state)
{
	struct buf b;
	struct jsonw w;

	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "a", "x");
	jsonw_key(&w, "b");
	jsonw_arr_open(&w);
	jsonw_int(&w, 1);
	jsonw_obj_open(&w);
	jsonw_obj_close(&w);
	jsonw_arr_open(&w);
	jsonw_arr_close(&w);
	jsonw_bool(&w, true);
	jsonw_null(&w);
	jsonw_arr_close(&w);
	jsonw_kint(&w, "c", -7);
	jsonw_obj_close(&w);
	assert_string_equal(b.b_data,
	    "{\"a\":\"x\",\"b\":[1,{},[],true,null],\"c\":-7}");
	buf_free(&b);
}

static void
test_jsonw_escapes_controls_quotes_and_keeps_utf8(void **state)
{
	const char in[] = "q\"b\\n\n\t\x01\x1f \xc3\xa9";
	struct buf b;
	struct jsonw w;
	json_error_t err;
	json_t *j;

	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_arr_open(&w);
	jsonw_str(&w, in);
	jsonw_arr_close(&w);
	assert_non_null(strstr(b.b_data, "\\u0001"));
	j = json_loads(b.b_data, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(j, 0)), in);
	json_decref(j);
	buf_free(&b);
}

static void
test_jsonw_doubles_round_trip_exactly(void **state)
{
	const double vals[] = { 0.1, 1.0 / 3.0, 9.425, 1e-300, 123456789.125,
	    -2.5, 4.008 * 2.4 };
	struct buf b;
	struct jsonw w;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		buf_init(&b);
		jsonw_init(&w, &b);
		jsonw_double(&w, vals[i]);
		assert_true(strtod(b.b_data, NULL) == vals[i]);
		buf_free(&b);
	}
	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_double(&w, 0.1);
	assert_string_equal(b.b_data, "0.1");
	buf_free(&b);
}

static void
test_jsonw_fixed_never_prints_negative_zero(void **state)
{
	struct buf b;
	struct jsonw w;

	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_arr_open(&w);
	jsonw_fixed(&w, -0.0, 1);
	jsonw_fixed(&w, 12.345, 1);
	jsonw_arr_close(&w);
	assert_string_equal(b.b_data, "[0.0,12.3]");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonw_nesting_places_commas),
		cmocka_unit_test(test_jsonw_escapes_controls_quotes_and_keeps_utf8),
		cmocka_unit_test(test_jsonw_doubles_round_trip_exactly),
		cmocka_unit_test(test_jsonw_fixed_never_prints_negative_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
