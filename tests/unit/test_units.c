/*
 * test_units.c - UCUM conversions with the exact factors of CLINICAL.md
 * "Units", unknown units never guessed, physiological bounds.
 */
#include "autoconfig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "units.h"

#define UCUM	UNITS_UCUM_SYSTEM

static double
conv(enum input in, double v, const char *sys, const char *code,
    const char *unit)
{
	double out = -12345;

	assert_int_equal(units_to_canonical(in, v, sys, code, unit, &out),
	    UNITS_OK);
	return out;
}

static void
close_to(double got, double want)
{
	if (fabs(got - want) > 1e-9 * fmax(1, fabs(want)))
		fail_msg("got %.12g, want %.12g", got, want);
}

static void
test_units_clinical_factors_are_exact(void **state)
{
	/* CLINICAL.md "Units", one line per analyte. */
	close_to(conv(INPUT_CALCIUM, 2.5, UCUM, "mmol/L", NULL), 2.5 * 4.008);
	close_to(conv(INPUT_CALCIUM, 2.5, UCUM, "mmol/L", NULL), 10.02);
	close_to(conv(INPUT_PHOSPHATE, 2.0, UCUM, "mmol/L", NULL), 6.194);
	close_to(conv(INPUT_ALBUMIN, 35, UCUM, "g/L", NULL), 3.5);
	close_to(conv(INPUT_PTH, 10, UCUM, "pmol/L", NULL), 94.25);
	close_to(conv(INPUT_PTH, 300, UCUM, "ng/L", NULL), 300);
	close_to(conv(INPUT_VITD25, 249.6, UCUM, "nmol/L", NULL), 100);
	close_to(conv(INPUT_VITD125, 120, UCUM, "pmol/L", NULL), 50);
	close_to(conv(INPUT_LDL, 2.586, UCUM, "mmol/L", NULL), 100);
	close_to(conv(INPUT_CHOLESTEROL, 5.172, UCUM, "mmol/L", NULL), 200);
	close_to(conv(INPUT_TRIGLYCERIDES, 1.129, UCUM, "mmol/L", NULL), 100);
	close_to(conv(INPUT_HOMOCYSTEINE, 17, UCUM, "umol/L", NULL), 17);
	close_to(conv(INPUT_ALP, 130, UCUM, "[IU]/L", NULL), 130);
	close_to(conv(INPUT_ALP, 130, NULL, NULL, "IU/L"), 130);
	close_to(conv(INPUT_WEIGHT, 220, UCUM, "[lb_av]", NULL), 99.7903214);
	close_to(conv(INPUT_HEIGHT, 1.75, UCUM, "m", NULL), 175);
}

static void
test_units_reverse_directions_match_clinical_md(void **state)
{
	/* mg/dL x 0.2495 = mmol/L for calcium; x 0.3229 for phosphate;
	 * pg/mL x 0.1061 = pmol/L: the stated inverses agree to 4 digits. */
	close_to(round(conv(INPUT_CALCIUM, 1, UCUM, "mmol/L", NULL) *
	    0.2495 * 1e4) / 1e4, 1.0);
	assert_true(fabs(conv(INPUT_PHOSPHATE, 1, UCUM, "mmol/L", NULL) *
	    0.3229 - 1.0) < 1e-3);
	assert_true(fabs(conv(INPUT_PTH, 1, UCUM, "pmol/L", NULL) * 0.1061 -
	    1.0) < 1e-3);
}

static void
test_units_unknown_unit_is_never_guessed(void **state)
{
	double out = 7;

	assert_int_equal(units_to_canonical(INPUT_CALCIUM, 10, UCUM, "mg/L",
	    "mg/L", &out), UNITS_UNKNOWN);
	assert_int_equal(units_to_canonical(INPUT_HBA1C, 48, UCUM, "mmol/mol",
	    NULL, &out), UNITS_UNKNOWN);
	assert_int_equal(units_to_canonical(INPUT_CALCIUM, 10, NULL, NULL,
	    "furlongs", &out), UNITS_UNKNOWN);
	assert_int_equal(units_to_canonical(INPUT_CALCIUM, 10, NULL, NULL,
	    NULL, &out), UNITS_UNKNOWN);
	/* An input without any unit table. */
	assert_int_equal(units_to_canonical(INPUT_DIABETES, 1, UCUM, "mg/dL",
	    NULL, &out), UNITS_UNKNOWN);
	assert_true(out == 7);	/* untouched on failure */
}

static void
test_units_code_is_case_sensitive_text_is_not(void **state)
{
	double out;

	/* "mg/dl" is not a UCUM code, but it is a common unit text. */
	assert_int_equal(units_to_canonical(INPUT_CALCIUM, 9, UCUM, "mg/dl",
	    NULL, &out), UNITS_UNKNOWN);
	close_to(conv(INPUT_CALCIUM, 9, UCUM, "mg/dl", "MG/DL"), 9);
	close_to(conv(INPUT_CALCIUM, 9, NULL, NULL, " mg/dL "), 9);
	close_to(conv(INPUT_HOMOCYSTEINE, 20, NULL, NULL, "µmol/L"), 20);
}

static void
test_units_non_ucum_system_uses_text_only(void **state)
{
	double out;

	/* A local code "mmol/L" in a lab's own system means nothing to us;
	 * the unit text decides. */
	close_to(conv(INPUT_CALCIUM, 9.5, "urn:lab:units", "mmol/L", "mg/dL"),
	    9.5);
	assert_int_equal(units_to_canonical(INPUT_CALCIUM, 9.5,
	    "urn:lab:units", "mg/dL", NULL, &out), UNITS_UNKNOWN);
}

static void
test_units_bounds_reject_absurd_values(void **state)
{
	double lo, hi;

	assert_false(units_plausible(INPUT_CALCIUM, 80, &lo, &hi));
	assert_true(lo == 2 && hi == 20);
	assert_true(units_plausible(INPUT_CALCIUM, 14.5, NULL, NULL));
	assert_false(units_plausible(INPUT_ALBUMIN, -1, NULL, NULL));
	assert_true(units_plausible(INPUT_ALBUMIN, 3.5, NULL, NULL));
	assert_false(units_plausible(INPUT_PHOSPHATE, 309.7, NULL, NULL));
	assert_true(units_plausible(INPUT_PTH, 3500, NULL, NULL));
	assert_true(units_plausible(INPUT_DIABETES, 1, NULL, NULL));
}

static void
test_units_model_thresholds_convert_by_ucum(void **state)
{
	double out;

	assert_int_equal(units_convert_ucum(INPUT_LDL, 2.6, "mmol/L", &out),
	    UNITS_OK);
	close_to(out, 2.6 / 0.02586);
	assert_int_equal(units_convert_ucum(INPUT_CALCIUM_ADJ, 10.2, "mg/dL",
	    &out), UNITS_OK);
	close_to(out, 10.2);
	assert_int_equal(units_convert_ucum(INPUT_LDL, 2.6, "mmol/l", &out),
	    UNITS_UNKNOWN);
	assert_string_equal(units_display(INPUT_HOMOCYSTEINE), "µmol/L");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_clinical_factors_are_exact),
		cmocka_unit_test(test_units_reverse_directions_match_clinical_md),
		cmocka_unit_test(test_units_unknown_unit_is_never_guessed),
		cmocka_unit_test(test_units_code_is_case_sensitive_text_is_not),
		cmocka_unit_test(test_units_non_ucum_system_uses_text_only),
		cmocka_unit_test(test_units_bounds_reject_absurd_values),
		cmocka_unit_test(test_units_model_thresholds_convert_by_ucum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
