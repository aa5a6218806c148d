/*
 * test_engine.c - the pure risk computation against the shipped model:
 * every seed factor (and warfarin) moves its outcome the documented way,
 * monotonicity over thousands of random patients, caps, determinism,
 * freshness, status, scope, groups, unless_present and the golden
 * vignettes' bands (expected values computed by oracle.py, not by C).
 */
#include "autoconfig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "engine_fixture.h"
#include "util.h"

#define CUT	0
#define VAS	1

#define M	fx_m

/* A 35-year-old on dialysis for a year with every lab in target. */
static void
baseline(struct facts *f, int sex)
{
	facts_init(f);
	fx_person(f, sex, "1990-01-01");
	fx_flag(f, INPUT_DIALYSIS, 365);
	fx_lab(f, INPUT_CALCIUM, 9.0, 0);
	fx_lab(f, INPUT_PHOSPHATE, 4.0, 0);
	fx_lab(f, INPUT_PTH, 200, 0);
	fx_lab(f, INPUT_ALBUMIN, 4.2, 0);
	fx_lab(f, INPUT_ALP, 80, 0);
	fx_lab(f, INPUT_LDL, 90, 0);
	fx_lab(f, INPUT_HDL, 55, 0);
	fx_lab(f, INPUT_CHOLESTEROL, 170, 0);
	fx_lab(f, INPUT_TRIGLYCERIDES, 110, 0);
	fx_lab(f, INPUT_HOMOCYSTEINE, 10, 0);
	fx_lab(f, INPUT_BMI, 24, 0);
	fx_lab(f, INPUT_SYSTOLIC, 120, 0);
	fx_lab(f, INPUT_HBA1C, 5.2, 0);
	fx_lab(f, INPUT_VITD25, 30, 0);
	fx_lab(f, INPUT_VITD125, 40, 0);
}

static bool
has_factor(const struct engine_outcome *eo, const char *id)
{
	int i;

	for (i = 0; i < eo->eo_nfactors; i++)
		if (strcmp(eo->eo_factors[i].ef_term->mt_id, id) == 0)
			return true;
	return false;
}

static const struct engine_factor *
factor(const struct engine_outcome *eo, const char *id)
{
	int i;

	for (i = 0; i < eo->eo_nfactors; i++)
		if (strcmp(eo->eo_factors[i].ef_term->mt_id, id) == 0)
			return &eo->eo_factors[i];
	return NULL;
}

/* The contribution of a term that must have fired. */
static double
contribution(const struct engine_outcome *eo, const char *id)
{
	const struct engine_factor *ef = factor(eo, id);

	if (ef == NULL)
		fail_msg("term %s did not fire", id);
	return ef != NULL ? ef->ef_contribution : 0;
}

static bool
is_missing(const struct engine_outcome *eo, enum input in)
{
	int i;

	for (i = 0; i < eo->eo_nmissing; i++)
		if (eo->eo_missing[i] == in)
			return true;
	return false;
}

/* --- each factor -------------------------------------------------------- */

enum dir { SAME, UP, ANY };
enum change { LAB, FLAG, UNKNOWN_DOSE, BORN, SEX };

struct factor_case {
	const char	*name;
	int		 sex;		/* baseline sex */
	int		 drop;		/* removed from both, or -1 */
	enum change	 change;
	enum input	 in;
	double		 value;		/* lab, birth year, sex */
	enum dir	 cut, vas;
	const char	*cut_term, *vas_term;
};

#define F	INPUT_SEX_FEMALE
#define MA	INPUT_SEX_MALE

static const struct factor_case cases[] = {
	{ "female sex", MA, -1, SEX, INPUT_SEX, F, UP, ANY, "cut.female",
	  NULL },
	{ "male sex", F, -1, SEX, INPUT_SEX, MA, ANY, UP, NULL, "vas.male" },
	{ "age", F, -1, BORN, INPUT_BIRTH_DATE, 1950, UP, UP, "cut.age",
	  "vas.age" },
	{ "vascular disease", F, -1, FLAG, INPUT_VASCULAR_DISEASE, 0, UP, UP,
	  "cut.pvd", "vas.pvd" },
	{ "PTH > 9 x ULN", F, -1, LAB, INPUT_PTH, 900, UP, UP, "cut.pth",
	  "vas.pth" },
	{ "SHPT diagnosis without PTH", F, INPUT_PTH, FLAG, INPUT_SHPT, 0, UP,
	  UP, "cut.shpt_dx", "vas.shpt_dx" },
	{ "high Ca x P", F, -1, LAB, INPUT_PHOSPHATE, 8.0, UP, UP, "cut.caxp",
	  "vas.caxp" },
	{ "hyperphosphataemia", F, -1, LAB, INPUT_PHOSPHATE, 6.0, UP, UP,
	  "cut.phosphate", "vas.phosphate" },
	{ "hypercalcaemia", F, -1, LAB, INPUT_CALCIUM, 10.6, UP, UP,
	  "cut.calcium", "vas.calcium" },
	{ "diabetes diagnosis", F, -1, FLAG, INPUT_DIABETES, 0, UP, UP,
	  "cut.diabetes", "vas.diabetes" },
	{ "HbA1c >= 6.5 %", F, -1, LAB, INPUT_HBA1C, 7.4, UP, UP,
	  "cut.diabetes", "vas.diabetes" },
	{ "vintage", F, -1, FLAG, INPUT_ESRD, 0, UP, UP, "cut.vintage",
	  "vas.vintage" },
	{ "high LDL", F, -1, LAB, INPUT_LDL, 180, UP, UP, "cut.lipids",
	  "vas.ldl" },
	{ "dyslipidaemia diagnosis without LDL", F, INPUT_LDL, FLAG,
	  INPUT_DYSLIPIDAEMIA, 0, UP, UP, "cut.lipids", "vas.lipids" },
	{ "high triglycerides without LDL", F, INPUT_LDL, LAB,
	  INPUT_TRIGLYCERIDES, 260, UP, UP, "cut.lipids", "vas.lipids" },
	{ "hypertension diagnosis", F, -1, FLAG, INPUT_HYPERTENSION, 0, UP,
	  UP, "cut.htn", "vas.htn" },
	{ "mean systolic >= 140", F, -1, LAB, INPUT_SYSTOLIC, 150, UP, UP,
	  "cut.htn", "vas.htn" },
	{ "hyperhomocysteinaemia", F, -1, LAB, INPUT_HOMOCYSTEINE, 30, SAME,
	  UP, NULL, "vas.homocysteine" },
	{ "hyperhomocysteinaemia diagnosis without value", F,
	  INPUT_HOMOCYSTEINE, FLAG, INPUT_HYPERHOMOCYSTEINAEMIA, 0, SAME, UP,
	  NULL, "vas.homocysteine_dx" },
	{ "25-OH vitamin D > 150", F, -1, LAB, INPUT_VITD25, 190, UP, UP,
	  "cut.vitd", "vas.vitd" },
	{ "1,25-(OH)2 vitamin D high", F, -1, LAB, INPUT_VITD125, 120, UP, UP,
	  "cut.vitd", "vas.vitd" },
	{ "active vitamin D", F, -1, FLAG, INPUT_ACTIVE_VITD, 0, UP, UP,
	  "cut.vitd", "vas.vitd" },
	{ "hypervitaminosis D diagnosis", F, -1, FLAG, INPUT_HYPERVITAMINOSIS_D,
	  0, UP, UP, "cut.vitd", "vas.vitd" },
	{ "calcium binder 2,400 mg/day", F, -1, LAB, INPUT_CA_BINDER, 2400,
	  UP, UP, "cut.ca_binder", "vas.ca_binder" },
	{ "calcium binder, dose unknown", F, -1, UNKNOWN_DOSE,
	  INPUT_CA_BINDER, 0, UP, UP, "cut.ca_binder", "vas.ca_binder" },
	{ "calcium binder 1,000 mg/day (within KDOQI)", F, -1, LAB,
	  INPUT_CA_BINDER, 1000, SAME, SAME, NULL, NULL },
	{ "low albumin", F, -1, LAB, INPUT_ALBUMIN, 3.1, UP, UP,
	  "cut.albumin", "vas.albumin" },
	{ "high ALP", F, -1, LAB, INPUT_ALP, 210, UP, UP, "cut.alp",
	  "vas.alp" },
	{ "BMI >= 40", F, -1, LAB, INPUT_BMI, 42, UP, UP, "cut.bmi40",
	  "vas.bmi40" },
	{ "BMI 30-40", F, -1, LAB, INPUT_BMI, 33, UP, SAME, "cut.bmi30",
	  NULL },
	{ "morbid obesity diagnosis", F, -1, FLAG, INPUT_MORBID_OBESITY, 0,
	  UP, UP, "cut.bmi40", "vas.bmi40" },
	{ "warfarin", F, -1, FLAG, INPUT_VKA, 0, UP, SAME, "cut.warfarin",
	  NULL },
	{ "cinacalcet never lowers risk", F, -1, FLAG, INPUT_CALCIMIMETIC, 0,
	  SAME, SAME, NULL, NULL },
};

static void
apply(struct facts *f, const struct factor_case *c)
{
	char date[16];

	switch (c->change) {
	case LAB:
		fx_lab(f, c->in, c->value, 0);
		break;
	case FLAG:
		/* ESRD for the vintage case starts 8 years back. */
		fx_flag(f, c->in, c->in == INPUT_ESRD ? 2922 : 30);
		break;
	case UNKNOWN_DOSE:
		facts_set(f, c->in, 0, FX_AT - 30 * FX_DAY_MS,
		    FACT_VALUE_UNKNOWN, 0, NULL);
		break;
	case BORN:
		snprintf(date, sizeof(date), "%.0f-01-01", c->value);
		fx_person(f, (int)f->fa_f[INPUT_SEX].f_value, date);
		break;
	case SEX:
		facts_set(f, INPUT_SEX, c->value, 0, 0, 0, NULL);
		break;
	}
}

static void
check_dir(const char *name, const char *outcome, enum dir d, double before,
    double after, const struct engine_outcome *eo, const char *term)
{
	if (d == UP && !(after > before))
		fail_msg("%s: %s did not rise (%.6f -> %.6f)", name, outcome,
		    before, after);
	if (d == SAME && after != before)
		fail_msg("%s: %s changed (%.6f -> %.6f)", name, outcome,
		    before, after);
	if (term != NULL && !has_factor(eo, term))
		fail_msg("%s: %s term %s did not fire", name, outcome, term);
}

static void
test_engine_each_seed_factor_moves_its_outcome(void **state)
{
	struct facts base, f;
	struct engine_result rb, rf;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		const struct factor_case *c = &cases[i];

		baseline(&base, c->sex);
		if (c->drop >= 0)
			facts_clear(&base, (enum input)c->drop);
		f = base;
		apply(&f, c);
		engine_run(M, &base, FX_AT, &rb);
		engine_run(M, &f, FX_AT, &rf);
		/* The baseline has no cutaneous factor at all. */
		if (c->sex == F)
			assert_true(rb.er_outcome[CUT].eo_nfactors == 1);
		check_dir(c->name, "cutaneous", c->cut,
		    rb.er_outcome[CUT].eo_probability,
		    rf.er_outcome[CUT].eo_probability, &rf.er_outcome[CUT],
		    c->cut_term);
		check_dir(c->name, "vascular", c->vas,
		    rb.er_outcome[VAS].eo_probability,
		    rf.er_outcome[VAS].eo_probability, &rf.er_outcome[VAS],
		    c->vas_term);
	}
}

static void
test_engine_no_term_has_a_negative_weight(void **state)
{
	int o, i;

	for (o = 0; o < MODEL_OUTCOMES; o++)
		for (i = 0; i < M->m_outcomes[o].mo_nterms; i++)
			assert_true(M->m_outcomes[o].mo_terms[i].mt_weight >=
			    0);
}

/* --- monotonicity ------------------------------------------------------- */

/* xorshift64*: seeded, so every run tests the same patients. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double
uniform(double lo, double hi)
{
	return lo + (hi - lo) * (double)(rng() >> 11) / 9007199254740992.0;
}

static bool
coin(void)
{
	return (rng() & 1) != 0;
}

struct range {
	enum input	in;
	double		lo, hi;
	int		sign;	/* +1: higher is riskier, -1: lower */
};

static const struct range lab_ranges[] = {
	{ INPUT_CALCIUM, 6, 13, 1 }, { INPUT_PHOSPHATE, 2, 12, 1 },
	{ INPUT_PTH, 20, 3000, 1 }, { INPUT_ALBUMIN, 1.5, 5, -1 },
	{ INPUT_ALP, 30, 600, 1 }, { INPUT_VITD25, 5, 250, 1 },
	{ INPUT_VITD125, 5, 200, 1 }, { INPUT_HBA1C, 4, 12, 1 },
	{ INPUT_CHOLESTEROL, 100, 350, 1 }, { INPUT_LDL, 40, 250, 1 },
	{ INPUT_HDL, 15, 90, -1 }, { INPUT_TRIGLYCERIDES, 50, 600, 1 },
	{ INPUT_HOMOCYSTEINE, 5, 60, 1 }, { INPUT_BMI, 16, 55, 1 },
	{ INPUT_WEIGHT, 40, 160, 1 }, { INPUT_SYSTOLIC, 90, 190, 1 },
	{ INPUT_CA_BINDER, 0, 4000, 1 },
};

static const enum input flags[] = {
	INPUT_VASCULAR_DISEASE, INPUT_SHPT, INPUT_DIABETES,
	INPUT_DYSLIPIDAEMIA, INPUT_HYPERTENSION, INPUT_HYPERHOMOCYSTEINAEMIA,
	INPUT_MORBID_OBESITY, INPUT_HYPERVITAMINOSIS_D, INPUT_ACTIVE_VITD,
	INPUT_VKA, INPUT_CALCIMIMETIC,
};

static void
random_patient(struct facts *f)
{
	size_t i;
	char date[16];

	facts_init(f);
	snprintf(date, sizeof(date), "%d-%02d-%02d",
	    1925 + (int)(rng() % 80), 1 + (int)(rng() % 12),
	    1 + (int)(rng() % 28));
	fx_person(f, (int)(rng() % 4), date);
	if (coin())
		fx_flag(f, INPUT_DIALYSIS, (int)(rng() % 9000));
	if (coin())
		fx_flag(f, INPUT_ESRD, (int)(rng() % 9000));
	for (i = 0; i < UTIL_ARRAY_LEN(lab_ranges); i++)
		if (rng() % 4 != 0)
			fx_lab(f, lab_ranges[i].in, uniform(lab_ranges[i].lo,
			    lab_ranges[i].hi), (int)(rng() % 200));
	if (coin())
		fx_lab(f, INPUT_HEIGHT, uniform(140, 200), 100);
	if (rng() % 8 == 0) {
		/* the lab's own upper limits */
		f->fa_f[INPUT_PTH].f_flags |= FACT_HAS_ULN;
		f->fa_f[INPUT_PTH].f_aux = uniform(40, 90);
		f->fa_f[INPUT_ALP].f_flags |= FACT_HAS_ULN;
		f->fa_f[INPUT_ALP].f_aux = uniform(90, 140);
	}
	for (i = 0; i < UTIL_ARRAY_LEN(flags); i++)
		if (rng() % 5 == 0)
			fx_flag(f, flags[i], (int)(rng() % 3000));
}

/* ra is the result for the patient before the move. */
static void
check_not_lower(const struct engine_result *ra, const struct facts *b,
    const char *what, int only)
{
	struct engine_result rb;
	int o;

	engine_run(M, b, FX_AT, &rb);
	for (o = 0; o < MODEL_OUTCOMES; o++) {
		if (only >= 0 && o != only)
			continue;
		if (rb.er_outcome[o].eo_probability <
		    ra->er_outcome[o].eo_probability)
			fail_msg("monotonicity: %s lowered outcome %d "
			    "(%.9f -> %.9f)", what, o,
			    ra->er_outcome[o].eo_probability,
			    rb.er_outcome[o].eo_probability);
	}
}

static void
test_engine_monotone_over_random_patients(void **state)
{
	struct facts a, b;
	struct engine_result ra;
	struct fact *x;
	size_t i;
	int n, moves = 0;

	rng_state = 0x9E3779B97F4A7C15ULL;
	for (n = 0; n < 3000; n++) {
		random_patient(&a);
		engine_run(M, &a, FX_AT, &ra);
		/* Move each present lab further towards risk. */
		for (i = 0; i < UTIL_ARRAY_LEN(lab_ranges); i++) {
			if (!a.fa_f[lab_ranges[i].in].f_present)
				continue;
			b = a;
			x = &b.fa_f[lab_ranges[i].in];
			x->f_value += lab_ranges[i].sign * uniform(0.01, 3) *
			    (lab_ranges[i].hi - lab_ranges[i].lo) / 10;
			if (x->f_value <= 0)
				x->f_value = 0.01;
			check_not_lower(&ra, &b, input_name(lab_ranges[i].in),
			    -1);
			moves++;
		}
		/* Add each risk factor that is absent. */
		for (i = 0; i < UTIL_ARRAY_LEN(flags); i++) {
			if (a.fa_f[flags[i]].f_present)
				continue;
			b = a;
			fx_flag(&b, flags[i], 10);
			check_not_lower(&ra, &b, input_name(flags[i]), -1);
			moves++;
		}
		/* Older, longer on dialysis, binder dose unknown. */
		b = a;
		b.fa_f[INPUT_BIRTH_DATE].f_value -= uniform(1, 4000);
		check_not_lower(&ra, &b, "age", -1);
		b = a;
		fx_flag(&b, INPUT_DIALYSIS, 9500);
		check_not_lower(&ra, &b, "vintage", -1);
		b = a;
		facts_set(&b, INPUT_CA_BINDER, a.fa_f[INPUT_CA_BINDER].f_value,
		    FX_AT, FACT_VALUE_UNKNOWN, 0, NULL);
		check_not_lower(&ra, &b, "binder dose unknown", -1);
		/* Sex: female is a cutaneous risk, male a vascular one. */
		if (a.fa_f[INPUT_SEX].f_value == INPUT_SEX_UNKNOWN) {
			b = a;
			b.fa_f[INPUT_SEX].f_value = INPUT_SEX_FEMALE;
			check_not_lower(&ra, &b, "female", CUT);
			b.fa_f[INPUT_SEX].f_value = INPUT_SEX_MALE;
			check_not_lower(&ra, &b, "male", VAS);
		}
		moves += 3;
	}
	assert_true(moves > 50000);
}

/* --- caps, determinism -------------------------------------------------- */

static void
test_engine_caps_hold_for_absurd_values(void **state)
{
	struct facts f;
	struct engine_result r;
	const struct engine_factor *ef;
	const struct model_term *t;
	int o, i;

	facts_init(&f);
	fx_person(&f, INPUT_SEX_FEMALE, "1915-01-01");
	fx_flag(&f, INPUT_DIALYSIS, 60 * 365);
	fx_lab(&f, INPUT_CALCIUM, 20, 0);
	fx_lab(&f, INPUT_PHOSPHATE, 25, 0);
	fx_lab(&f, INPUT_ALBUMIN, 0.5, 0);
	fx_lab(&f, INPUT_PTH, 10000, 0);
	fx_lab(&f, INPUT_LDL, 1500, 0);
	fx_lab(&f, INPUT_HOMOCYSTEINE, 500, 0);
	engine_run(M, &f, FX_AT, &r);
	for (o = 0; o < MODEL_OUTCOMES; o++)
		for (i = 0; i < r.er_outcome[o].eo_nfactors; i++) {
			ef = &r.er_outcome[o].eo_factors[i];
			t = ef->ef_term;
			if (t->mt_type == MODEL_TERM_BINARY)
				assert_true(ef->ef_contribution ==
				    t->mt_weight);
			else
				assert_true(ef->ef_contribution <=
				    t->mt_weight * t->mt_cap * (1 + 1e-12));
		}
	/* The caps CLINICAL.md states, in log odds. */
	assert_true(fabs(contribution(&r.er_outcome[CUT], "cut.phosphate") -
	    0.63 * 4) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[CUT], "cut.albumin") -
	    0.118 * 20) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[CUT], "cut.age") -
	    0.02 * 40) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[VAS], "vas.age") -
	    0.04 * 50) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[VAS], "vas.vintage") -
	    0.07 * 20) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[VAS], "vas.ldl") -
	    0.65 * 3) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[VAS], "vas.homocysteine") -
	    0.057 * 35) < 1e-9);
	assert_true(fabs(contribution(&r.er_outcome[VAS], "vas.calcium") -
	    0.41 * 3) < 1e-9);
	for (o = 0; o < MODEL_OUTCOMES; o++) {
		assert_true(r.er_outcome[o].eo_probability < 1);
		assert_true(r.er_outcome[o].eo_percent <= 100);
		assert_int_equal(r.er_outcome[o].eo_band, ENGINE_HIGH);
	}
}

/* Snapshots are parsed text: any int64 time and any double can arrive. */
static void
test_engine_survives_extreme_times_and_values(void **state)
{
	static const int64_t times[] = { INT64_MIN, -1, 0, FX_AT,
	    INT64_MAX };
	struct facts f;
	struct engine_result r;
	size_t i, k;
	int o;

	for (i = 0; i < UTIL_ARRAY_LEN(times); i++) {
		facts_init(&f);
		facts_set(&f, INPUT_BIRTH_DATE, 1e300, 0, 0, 0, NULL);
		facts_set(&f, INPUT_SEX, INPUT_SEX_FEMALE, 0, 0, 0, NULL);
		facts_set(&f, INPUT_ESRD, 1, INT64_MIN, 0, 0, NULL);
		facts_set(&f, INPUT_DIALYSIS, 1, INT64_MAX, 0, 0, NULL);
		facts_set(&f, INPUT_CALCIUM, INFINITY, INT64_MAX, 0, 0, NULL);
		facts_set(&f, INPUT_PHOSPHATE, NAN, INT64_MIN, 0, 0, NULL);
		facts_set(&f, INPUT_ALBUMIN, -INFINITY, times[i], 0, 0, NULL);
		facts_set(&f, INPUT_PTH, 1e308, times[i], FACT_HAS_ULN, NAN,
		    NULL);
		facts_set(&f, INPUT_CA_BINDER, NAN, 0, FACT_VALUE_UNKNOWN, 0,
		    NULL);
		for (k = 0; k < UTIL_ARRAY_LEN(times); k++) {
			engine_run(M, &f, times[k], &r);
			for (o = 0; o < MODEL_OUTCOMES; o++) {
				assert_true(r.er_outcome[o].eo_percent >= 0 &&
				    r.er_outcome[o].eo_percent <= 100);
				assert_true(isfinite(
				    r.er_outcome[o].eo_relative_risk));
			}
		}
	}
}

static void
test_engine_is_deterministic_to_the_bit(void **state)
{
	struct facts a, b;
	struct engine_result *r1 = xmalloc(sizeof(*r1));
	struct engine_result *r2 = xmalloc(sizeof(*r2));
	int n;

	rng_state = 42;
	for (n = 0; n < 200; n++) {
		uint64_t s = rng_state;

		random_patient(&a);
		rng_state = s;
		random_patient(&b);
		engine_run(M, &a, FX_AT, r1);
		engine_run(M, &b, FX_AT, r2);
		assert_memory_equal(r1, r2, sizeof(*r1));
		assert_memory_equal(r1->er_signature, r2->er_signature,
		    ENGINE_SIG_LEN);
		/* What a reader sees changes: so does the signature. */
		fx_lab(&b, INPUT_PHOSPHATE, 9.9, 0);
		fx_lab(&a, INPUT_PHOSPHATE, 4.0, 0);
		engine_run(M, &a, FX_AT, r1);
		engine_run(M, &b, FX_AT, r2);
		assert_memory_not_equal(r1->er_signature, r2->er_signature,
		    ENGINE_SIG_LEN);
	}
	free(r1);
	free(r2);
}

static void
test_engine_signature_ignores_invisible_changes(void **state)
{
	struct facts a, b;
	struct engine_result ra, rb;

	baseline(&a, INPUT_SEX_FEMALE);
	b = a;
	/* A new result with the same value, a day later: nothing a reader
	 * sees changes. */
	fx_lab(&b, INPUT_CALCIUM, 9.0, 0);
	b.fa_f[INPUT_CALCIUM].f_eff += FX_DAY_MS / 2;
	engine_run(M, &a, FX_AT, &ra);
	engine_run(M, &b, FX_AT, &rb);
	assert_memory_equal(ra.er_signature, rb.er_signature, ENGINE_SIG_LEN);
	/* A skipped newer result is visible (note), so it counts. */
	facts_set_skipped(&b, INPUT_CALCIUM,
	    "{\"reference\":\"Observation/odd-unit\"}");
	engine_run(M, &b, FX_AT, &rb);
	assert_memory_not_equal(ra.er_signature, rb.er_signature,
	    ENGINE_SIG_LEN);
}

/* --- freshness, status, scope ------------------------------------------- */

static void
test_engine_stale_labs_are_ignored_and_listed_missing(void **state)
{
	struct facts f;
	struct engine_result r;

	baseline(&f, INPUT_SEX_FEMALE);
	fx_lab(&f, INPUT_PHOSPHATE, 9.0, 89);
	engine_run(M, &f, FX_AT, &r);
	assert_true(r.er_have[INPUT_PHOSPHATE]);
	assert_true(r.er_used[INPUT_PHOSPHATE]);
	assert_true(has_factor(&r.er_outcome[CUT], "cut.phosphate"));
	fx_lab(&f, INPUT_PHOSPHATE, 9.0, 91);
	engine_run(M, &f, FX_AT, &r);
	assert_false(r.er_have[INPUT_PHOSPHATE]);
	assert_false(r.er_used[INPUT_PHOSPHATE]);
	assert_false(has_factor(&r.er_outcome[CUT], "cut.phosphate"));
	assert_false(r.er_have[INPUT_CA_X_P]);
	assert_true(is_missing(&r.er_outcome[CUT], INPUT_PHOSPHATE));
	assert_true(is_missing(&r.er_outcome[VAS], INPUT_PHOSPHATE));
	assert_false(r.er_final);
	/* Diagnoses never go stale. */
	fx_flag(&f, INPUT_DIABETES, 20 * 365);
	engine_run(M, &f, FX_AT, &r);
	assert_true(has_factor(&r.er_outcome[VAS], "vas.diabetes"));
	assert_true(r.er_used[INPUT_DIABETES]);
}

static void
test_engine_pth_window_is_180_days(void **state)
{
	struct facts f;
	struct engine_result r;

	baseline(&f, INPUT_SEX_FEMALE);
	fx_lab(&f, INPUT_PTH, 1000, 179);
	engine_run(M, &f, FX_AT, &r);
	assert_true(has_factor(&r.er_outcome[CUT], "cut.pth"));
	assert_true(r.er_final);
	fx_lab(&f, INPUT_PTH, 1000, 181);
	engine_run(M, &f, FX_AT, &r);
	assert_false(has_factor(&r.er_outcome[CUT], "cut.pth"));
	assert_true(is_missing(&r.er_outcome[CUT], INPUT_PTH));
	assert_false(r.er_final);
	/* A stale PTH no longer overrides the SHPT diagnosis. */
	fx_flag(&f, INPUT_SHPT, 400);
	engine_run(M, &f, FX_AT, &r);
	assert_true(has_factor(&r.er_outcome[CUT], "cut.shpt_dx"));
	fx_lab(&f, INPUT_PTH, 200, 10);
	engine_run(M, &f, FX_AT, &r);
	assert_false(has_factor(&r.er_outcome[CUT], "cut.shpt_dx"));
	assert_false(has_factor(&r.er_outcome[VAS], "vas.shpt_dx"));
}

static void
test_engine_final_needs_all_four_labs_fresh(void **state)
{
	static const enum input need[] = { INPUT_CALCIUM, INPUT_PHOSPHATE,
	    INPUT_PTH, INPUT_ALBUMIN };
	struct facts f;
	struct engine_result r;
	size_t i;

	baseline(&f, INPUT_SEX_MALE);
	engine_run(M, &f, FX_AT, &r);
	assert_true(r.er_final);
	for (i = 0; i < UTIL_ARRAY_LEN(need); i++) {
		baseline(&f, INPUT_SEX_MALE);
		facts_clear(&f, need[i]);
		engine_run(M, &f, FX_AT, &r);
		assert_false(r.er_final);
	}
	/* Everything else may be missing. */
	facts_init(&f);
	fx_lab(&f, INPUT_CALCIUM, 9.1, 0);
	fx_lab(&f, INPUT_PHOSPHATE, 4.1, 0);
	fx_lab(&f, INPUT_PTH, 210, 0);
	fx_lab(&f, INPUT_ALBUMIN, 4.0, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_true(r.er_final);
	assert_true(is_missing(&r.er_outcome[CUT], INPUT_SEX));
	assert_true(is_missing(&r.er_outcome[VAS], INPUT_BIRTH_DATE));
	assert_true(is_missing(&r.er_outcome[VAS], INPUT_VINTAGE));
}

static void
test_engine_scope_needs_dialysis_evidence(void **state)
{
	struct facts f;

	facts_init(&f);
	fx_lab(&f, INPUT_CALCIUM, 9.1, 0);
	assert_false(engine_in_scope(&f, false, false));
	assert_true(engine_in_scope(&f, true, false));
	assert_true(engine_in_scope(&f, false, true));
	fx_flag(&f, INPUT_ESRD, 10);
	assert_true(engine_in_scope(&f, false, false));
	facts_clear(&f, INPUT_ESRD);
	facts_set(&f, INPUT_DIALYSIS, 1, 0, FACT_TIME_UNKNOWN, 0, NULL);
	assert_true(engine_in_scope(&f, false, false));
}

static void
test_engine_time_unknown_is_not_used_for_vintage(void **state)
{
	struct facts f;
	struct engine_result r;

	baseline(&f, INPUT_SEX_FEMALE);
	facts_clear(&f, INPUT_DIALYSIS);
	/* An ESRD diagnosis without onset: eff 0 would mean 55 years. */
	facts_set(&f, INPUT_ESRD, 1, 0, FACT_TIME_UNKNOWN, 0,
	    "{\"reference\":\"Condition/esrd\"}");
	engine_run(M, &f, FX_AT, &r);
	assert_false(r.er_have[INPUT_VINTAGE]);
	assert_false(has_factor(&r.er_outcome[VAS], "vas.vintage"));
	assert_true(is_missing(&r.er_outcome[VAS], INPUT_VINTAGE));
	/* A dated dialysis procedure gives the vintage instead. */
	fx_flag(&f, INPUT_DIALYSIS, 3 * 365);
	engine_run(M, &f, FX_AT, &r);
	assert_true(r.er_have[INPUT_VINTAGE]);
	assert_true(fabs(r.er_value[INPUT_VINTAGE] - 3 * 365 / 365.25) <
	    1e-12);
	assert_true(r.er_used[INPUT_DIALYSIS]);
	assert_false(r.er_used[INPUT_ESRD]);
}

/* --- groups, thresholds, texts, mitigations ----------------------------- */

static void
test_engine_group_counts_only_the_highest(void **state)
{
	struct facts f;
	struct engine_result r;

	baseline(&f, INPUT_SEX_FEMALE);
	fx_lab(&f, INPUT_BMI, 45, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_true(has_factor(&r.er_outcome[CUT], "cut.bmi40"));
	assert_false(has_factor(&r.er_outcome[CUT], "cut.bmi30"));
	assert_true(fabs(r.er_outcome[CUT].eo_score - (-6.0 + 0.9 + 0.69)) <
	    1e-12);
	/* BMI from weight and height when no BMI is measured. */
	facts_clear(&f, INPUT_BMI);
	fx_lab(&f, INPUT_WEIGHT, 100, 0);
	fx_lab(&f, INPUT_HEIGHT, 170, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_true(fabs(r.er_value[INPUT_BMI_EFF] - 100 / (1.7 * 1.7)) <
	    1e-12);
	assert_true(has_factor(&r.er_outcome[CUT], "cut.bmi30"));
	assert_true(r.er_used[INPUT_WEIGHT] && r.er_used[INPUT_HEIGHT]);
}

static void
test_engine_uses_the_labs_upper_limit(void **state)
{
	struct facts f;
	struct engine_result r;
	const struct engine_factor *ef;

	baseline(&f, INPUT_SEX_FEMALE);
	fx_lab(&f, INPUT_PTH, 700, 0);
	engine_run(M, &f, FX_AT, &r);
	/* Default ULN 65: 700 > 585; the lab's ULN 100: 700 < 900. */
	assert_true(has_factor(&r.er_outcome[CUT], "cut.pth"));
	f.fa_f[INPUT_PTH].f_flags |= FACT_HAS_ULN;
	f.fa_f[INPUT_PTH].f_aux = 100;
	engine_run(M, &f, FX_AT, &r);
	assert_false(has_factor(&r.er_outcome[CUT], "cut.pth"));
	fx_lab(&f, INPUT_ALP, 110, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_false(has_factor(&r.er_outcome[VAS], "vas.alp"));
	f.fa_f[INPUT_ALP].f_flags |= FACT_HAS_ULN;
	f.fa_f[INPUT_ALP].f_aux = 104;
	engine_run(M, &f, FX_AT, &r);
	assert_true(has_factor(&r.er_outcome[VAS], "vas.alp"));
	ef = factor(&r.er_outcome[VAS], "vas.alp");
	assert_true(ef != NULL && ef->ef_threshold == 104);
	assert_non_null(strstr(ef->ef_text, "(> ULN 104"));
	/* The lab's limit is its last normal value (uln.lab_op ">"): at
	 * the limit is normal; the default 120 counts at 120 (">="). */
	f.fa_f[INPUT_ALP].f_aux = 110;
	engine_run(M, &f, FX_AT, &r);
	assert_false(has_factor(&r.er_outcome[VAS], "vas.alp"));
	assert_false(has_factor(&r.er_outcome[CUT], "cut.alp"));
	f.fa_f[INPUT_ALP].f_flags &= ~FACT_HAS_ULN;
	fx_lab(&f, INPUT_ALP, 120, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_true(has_factor(&r.er_outcome[VAS], "vas.alp"));
	assert_true(has_factor(&r.er_outcome[CUT], "cut.alp"));
}

static void
test_engine_albumin_corrected_calcium(void **state)
{
	struct facts f;
	struct engine_result r;

	baseline(&f, INPUT_SEX_FEMALE);
	fx_lab(&f, INPUT_CALCIUM, 9.6, 0);
	fx_lab(&f, INPUT_ALBUMIN, 2.5, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_true(r.er_calcium_corrected);
	assert_true(fabs(r.er_value[INPUT_CALCIUM_ADJ] - 10.8) < 1e-9);
	assert_true(has_factor(&r.er_outcome[CUT], "cut.calcium"));
	assert_true(r.er_used[INPUT_CALCIUM] && r.er_used[INPUT_ALBUMIN]);
	/* Without a fresh albumin: measured calcium. */
	fx_lab(&f, INPUT_ALBUMIN, 2.5, 100);
	engine_run(M, &f, FX_AT, &r);
	assert_false(r.er_calcium_corrected);
	assert_true(r.er_value[INPUT_CALCIUM_ADJ] == 9.6);
	assert_false(has_factor(&r.er_outcome[CUT], "cut.calcium"));
	/* Ionised calcium never stands in for total calcium. */
	facts_clear(&f, INPUT_CALCIUM);
	fx_lab(&f, INPUT_CALCIUM_ION, 1.6, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_false(r.er_have[INPUT_CALCIUM_ADJ]);
	assert_false(r.er_used[INPUT_CALCIUM_ION]);
}

static void
test_engine_factor_texts_and_order(void **state)
{
	struct facts f;
	struct engine_result r;
	const struct engine_outcome *eo;
	const struct engine_factor *ef;
	int i;

	baseline(&f, INPUT_SEX_MALE);
	fx_lab(&f, INPUT_PHOSPHATE, 7.4, 0);
	fx_lab(&f, INPUT_ALBUMIN, 4.0, 0);
	fx_flag(&f, INPUT_VKA, 10);
	engine_run(M, &f, FX_AT, &r);
	eo = &r.er_outcome[CUT];
	ef = factor(eo, "cut.phosphate");
	assert_true(ef != NULL);
	assert_string_equal(ef->ef_text, "phosphate 7.4 mg/dL (> 5.5)");
	for (i = 1; i < eo->eo_nfactors; i++)
		assert_true(eo->eo_factors[i - 1].ef_contribution >=
		    eo->eo_factors[i].ef_contribution);
	assert_string_equal(eo->eo_factors[0].ef_term->mt_id, "cut.warfarin");
	assert_string_equal(eo->eo_factors[1].ef_term->mt_id, "cut.phosphate");
	/* A binder without a dose says so; with one, the dose shows. */
	facts_set(&f, INPUT_CA_BINDER, 0, FX_AT, FACT_VALUE_UNKNOWN, 0, NULL);
	engine_run(M, &f, FX_AT, &r);
	ef = factor(&r.er_outcome[CUT], "cut.ca_binder");
	assert_true(ef != NULL);
	assert_non_null(strstr(ef->ef_text, "dose unknown"));
	fx_lab(&f, INPUT_CA_BINDER, 2400, 0);
	engine_run(M, &f, FX_AT, &r);
	ef = factor(&r.er_outcome[CUT], "cut.ca_binder");
	assert_true(ef != NULL);
	assert_string_equal(ef->ef_text,
	    "elemental calcium from binders 2400 mg/day (> 1500)");
	/* Equal contributions are ordered by term id. */
	baseline(&f, INPUT_SEX_FEMALE);
	fx_flag(&f, INPUT_VASCULAR_DISEASE, 10);
	fx_flag(&f, INPUT_DIABETES, 10);
	engine_run(M, &f, FX_AT, &r);
	eo = &r.er_outcome[CUT];
	assert_string_equal(eo->eo_factors[1].ef_term->mt_id, "cut.diabetes");
	assert_string_equal(eo->eo_factors[2].ef_term->mt_id, "cut.pvd");
}

static void
test_engine_mitigations_are_deduplicated_in_model_order(void **state)
{
	struct facts f;
	struct engine_result r;
	int i;

	baseline(&f, INPUT_SEX_FEMALE);
	fx_lab(&f, INPUT_PHOSPHATE, 8.0, 0);	/* phosphate in both */
	fx_flag(&f, INPUT_VKA, 10);
	fx_lab(&f, INPUT_CALCIUM, 10.9, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_true(r.er_nmitigations == 3);
	for (i = 1; i < r.er_nmitigations; i++)
		assert_true(r.er_mitigations[i - 1] < r.er_mitigations[i]);
	assert_string_equal(M->m_mitigations[r.er_mitigations[0]].mm_id,
	    "calcium");
	assert_string_equal(M->m_mitigations[r.er_mitigations[1]].mm_id,
	    "phosphate");
	assert_string_equal(M->m_mitigations[r.er_mitigations[2]].mm_id,
	    "warfarin");
}

static void
test_engine_relative_risk_against_no_factor_patient(void **state)
{
	struct facts f;
	struct engine_result r;

	facts_init(&f);
	fx_flag(&f, INPUT_ESRD, 0);
	engine_run(M, &f, FX_AT, &r);
	assert_int_equal(r.er_outcome[CUT].eo_nfactors, 0);
	assert_true(r.er_outcome[CUT].eo_relative_risk == 1.0);
	assert_true(fabs(r.er_outcome[CUT].eo_reference -
	    1 / (1 + exp(6.0))) < 1e-15);
	assert_true(fabs(r.er_outcome[VAS].eo_reference -
	    1 / (1 + exp(0.85))) < 1e-15);
	assert_int_equal(r.er_outcome[CUT].eo_band, ENGINE_NEGLIGIBLE);
	assert_int_equal(r.er_outcome[VAS].eo_band, ENGINE_MODERATE);
	assert_string_equal(engine_band_code(ENGINE_MODERATE), "moderate");
}

/* --- golden vignettes --------------------------------------------------- */

static void
test_engine_vignettes_match_expected_bands(void **state)
{
	struct fx_vignette *vs = NULL;
	struct engine_result r;
	int n, i, o;

	n = fx_vignettes_load(&vs);
	for (i = 0; i < n; i++) {
		engine_run(M, &vs[i].v_facts,
		    facts_latest_eff(&vs[i].v_facts), &r);
		for (o = 0; o < MODEL_OUTCOMES; o++) {
			if (strcmp(engine_band_code(r.er_outcome[o].eo_band),
			    vs[i].v_expect.band[o]) != 0 ||
			    fabs(r.er_outcome[o].eo_percent -
			    vs[i].v_expect.percent[o]) > 0.1001)
				fail_msg("vignette %s outcome %d: %.1f%% %s, "
				    "expected %.1f%% %s (%s)", vs[i].v_name, o,
				    r.er_outcome[o].eo_percent,
				    engine_band_code(r.er_outcome[o].eo_band),
				    vs[i].v_expect.percent[o],
				    vs[i].v_expect.band[o], vs[i].v_why);
		}
		if (r.er_final != vs[i].v_expect.final)
			fail_msg("vignette %s: status", vs[i].v_name);
	}
	fx_vignettes_free(vs, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_each_seed_factor_moves_its_outcome),
		cmocka_unit_test(test_engine_no_term_has_a_negative_weight),
		cmocka_unit_test(test_engine_monotone_over_random_patients),
		cmocka_unit_test(test_engine_caps_hold_for_absurd_values),
		cmocka_unit_test(test_engine_survives_extreme_times_and_values),
		cmocka_unit_test(test_engine_is_deterministic_to_the_bit),
		cmocka_unit_test(test_engine_signature_ignores_invisible_changes),
		cmocka_unit_test(test_engine_stale_labs_are_ignored_and_listed_missing),
		cmocka_unit_test(test_engine_pth_window_is_180_days),
		cmocka_unit_test(test_engine_final_needs_all_four_labs_fresh),
		cmocka_unit_test(test_engine_scope_needs_dialysis_evidence),
		cmocka_unit_test(test_engine_time_unknown_is_not_used_for_vintage),
		cmocka_unit_test(test_engine_group_counts_only_the_highest),
		cmocka_unit_test(test_engine_uses_the_labs_upper_limit),
		cmocka_unit_test(test_engine_albumin_corrected_calcium),
		cmocka_unit_test(test_engine_factor_texts_and_order),
		cmocka_unit_test(test_engine_mitigations_are_deduplicated_in_model_order),
		cmocka_unit_test(test_engine_relative_risk_against_no_factor_patient),
		cmocka_unit_test(test_engine_vignettes_match_expected_bands),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
