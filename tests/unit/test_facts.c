/*
 * test_facts.c - the inputs table and the facts snapshot, which must round
 * trip bit for bit because assessments are rebuilt from it.
 */
#include "autoconfig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "facts.h"
#include "inputs.h"

static void
test_inputs_names_are_unique_and_found(void **state)
{
	int i, j;

	for (i = 0; i < INPUT_COUNT; i++) {
		assert_int_equal(input_by_name(input_name((enum input)i)), i);
		for (j = i + 1; j < INPUT_COUNT; j++)
			assert_string_not_equal(input_name((enum input)i),
			    input_name((enum input)j));
	}
	assert_int_equal(input_by_name("nosuch"), -1);
	assert_int_equal(input_default_fresh_days(INPUT_PTH), 180);
	assert_int_equal(input_default_fresh_days(INPUT_CALCIUM), 90);
	assert_true(input_is_measurement(INPUT_CALCIUM));
	assert_false(input_is_measurement(INPUT_DIABETES));
	assert_false(input_is_measurement(INPUT_AGE));
}

static void
test_facts_snapshot_round_trips_bit_for_bit(void **state)
{
	struct facts a, b;
	struct buf s1, s2;

	facts_init(&a);
	facts_set(&a, INPUT_CALCIUM, 10.1 / 3.0, 1795161600000LL, 0, 0,
	    "{\"reference\":\"Observation/ca-1\"}");
	facts_set(&a, INPUT_ALP, 131.0, 1795161600001LL, FACT_HAS_ULN, 117.5,
	    "{\"identifier\":{\"system\":\"urn:x\",\"value\":\"a\\tb\"}}");
	facts_set(&a, INPUT_CA_BINDER, 0, -5, FACT_VALUE_UNKNOWN, 0, NULL);
	facts_set(&a, INPUT_SEX, INPUT_SEX_FEMALE, 0, 0, 0, NULL);
	buf_init(&s1);
	buf_init(&s2);
	facts_snapshot(&a, &s1);
	assert_int_equal(facts_parse_snapshot(s1.b_data, &b), 0);
	facts_snapshot(&b, &s2);
	assert_string_equal(s1.b_data, s2.b_data);
	assert_true(b.fa_f[INPUT_CALCIUM].f_value == 10.1 / 3.0);
	assert_true(b.fa_f[INPUT_ALP].f_aux == 117.5);
	assert_int_equal(b.fa_f[INPUT_CA_BINDER].f_flags, FACT_VALUE_UNKNOWN);
	assert_string_equal(facts_ref(&b, INPUT_CALCIUM),
	    "{\"reference\":\"Observation/ca-1\"}");
	assert_null(facts_ref(&b, INPUT_CA_BINDER));
	assert_false(b.fa_f[INPUT_PTH].f_present);
	buf_free(&s1);
	buf_free(&s2);
}

static void
test_facts_snapshot_rejects_unknown_or_derived_inputs(void **state)
{
	struct facts f;

	assert_int_equal(facts_parse_snapshot("nosuch\t1\t0\t0\t0\t{}\n", &f),
	    -1);
	assert_int_equal(facts_parse_snapshot("age\t1\t0\t0\t0\t{}\n", &f), -1);
	assert_int_equal(facts_parse_snapshot("calcium\t1x\t0\t0\t0\t{}\n", &f),
	    -1);
	assert_int_equal(facts_parse_snapshot("calcium\t1\t0\t0\t0\t{}", &f),
	    -1);
	assert_int_equal(facts_parse_snapshot("", &f), 0);
}

static void
test_facts_latest_eff_prefers_measurements(void **state)
{
	struct facts f;

	facts_init(&f);
	assert_true(facts_latest_eff(&f) == INT64_MIN);
	facts_set(&f, INPUT_DIABETES, 1, 5000, 0, 0, NULL);
	assert_int_equal(facts_latest_eff(&f), 5000);
	facts_set(&f, INPUT_CALCIUM, 9, 3000, 0, 0, NULL);
	facts_set(&f, INPUT_PTH, 300, 4000, 0, 0, NULL);
	facts_set(&f, INPUT_BIRTH_DATE, 1, 9999, 0, 0, NULL);
	assert_int_equal(facts_latest_eff(&f), 4000);
}

static void
test_facts_pool_overflow_is_reported(void **state)
{
	struct facts f;
	char big[FACTS_POOL];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	facts_init(&f);
	assert_int_equal(facts_set(&f, INPUT_CALCIUM, 9, 0, 0, 0, big), -1);
	assert_true(f.fa_f[INPUT_CALCIUM].f_present);
	assert_null(facts_ref(&f, INPUT_CALCIUM));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inputs_names_are_unique_and_found),
		cmocka_unit_test(test_facts_snapshot_round_trips_bit_for_bit),
		cmocka_unit_test(test_facts_snapshot_rejects_unknown_or_derived_inputs),
		cmocka_unit_test(test_facts_latest_eff_prefers_measurements),
		cmocka_unit_test(test_facts_pool_overflow_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
