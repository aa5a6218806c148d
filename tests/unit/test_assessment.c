/*
 * test_assessment.c - the RiskAssessment builder and its identifier: the
 * identifier is stable and changes with any input; the JSON parses and has
 * the R4 shape FHIR.md and CLINICAL.md ask for (one-decimal percentages,
 * codings, contained Device, basis, notes); every golden vignette's
 * RiskAssessment carries its expected bands.  With CALCIFY_RA_OUT set, each
 * vignette's RiskAssessment is written to $CALCIFY_RA_OUT/<name>.json for
 * the independent R4 validator.
 */
#include "autoconfig.h"

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "assessment.h"
#include "engine_fixture.h"
#include "util.h"

#define M	fx_m

static void
ctx_init(struct assessment_ctx *c, const char *ident)
{
	memset(c, 0, sizeof(*c));
	c->ac_id = ident;
	c->ac_identifier_system = "urn:calcifyd:risk-assessment";
	c->ac_identifier_value = ident;
	c->ac_subject_json = "{\"reference\":\"Patient/p-1\"}";
	c->ac_recorded_ms = FX_AT + 5000;
	c->ac_version = "0.1.0";
}

/* Build and parse; the caller frees both. */
static json_t *
build(const struct facts *f, struct buf *b)
{
	struct assessment_ctx c;
	json_error_t err;
	json_t *j;

	ctx_init(&c, "a1b2");
	buf_init(b);
	assert_int_equal(assessment_build(M, f, NULL, &c, b), 0);
	j = json_loads(b->b_data, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		fail_msg("not JSON: %s: %s", err.text, b->b_data);
	return j;
}

static const char *
s_at(const json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static void
a_patient(struct facts *f)
{
	facts_init(f);
	fx_person(f, INPUT_SEX_FEMALE, "1960-05-05");
	fx_flag(f, INPUT_ESRD, 1500);
	fx_flag(f, INPUT_DIALYSIS, 1400);
	fx_flag(f, INPUT_DIABETES, 4000);
	fx_lab(f, INPUT_CALCIUM, 9.2, 0);
	fx_lab(f, INPUT_PHOSPHATE, 7.4, 0);
	fx_lab(f, INPUT_ALBUMIN, 3.0, 0);
	fx_lab(f, INPUT_PTH, 950, 20);
	/* One vitals panel feeds several used inputs: one basis entry. */
	facts_set(f, INPUT_SYSTOLIC, 150, FX_AT - FX_DAY_MS, 0, 0,
	    "{\"reference\":\"Observation/vitals-1\"}");
	facts_set(f, INPUT_WEIGHT, 70, FX_AT - FX_DAY_MS, 0, 0,
	    "{\"reference\":\"Observation/vitals-1\"}");
	facts_set(f, INPUT_HEIGHT, 160, FX_AT - FX_DAY_MS, 0, 0,
	    "{\"reference\":\"Observation/vitals-1\"}");
}

/* --- identifier --------------------------------------------------------- */

static void
test_assessment_identifier_is_stable_and_input_sensitive(void **state)
{
	struct model other;
	char a[ASSESSMENT_ID_LEN + 1], b[ASSESSMENT_ID_LEN + 1];
	char c[ASSESSMENT_ID_LEN + 1], oid[] = "other-model", ov[] = "0.1.1";

	assessment_identifier("Patient/1", M, "calcium\t9\n", a);
	assessment_identifier("Patient/1", M, "calcium\t9\n", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), ASSESSMENT_ID_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), ASSESSMENT_ID_LEN);
	assessment_identifier("Patient/2", M, "calcium\t9\n", b);
	assert_string_not_equal(a, b);
	assessment_identifier("Patient/1", M, "calcium\t9.1\n", b);
	assert_string_not_equal(a, b);
	/* Each model field counts: id, version, digest. */
	memcpy(&other, M, sizeof(other));
	other.m_id = oid;
	assessment_identifier("Patient/1", &other, "calcium\t9\n", b);
	assert_string_not_equal(a, b);
	memcpy(&other, M, sizeof(other));
	other.m_version = ov;
	assessment_identifier("Patient/1", &other, "calcium\t9\n", b);
	assert_string_not_equal(a, b);
	memcpy(&other, M, sizeof(other));
	other.m_digest[0] = other.m_digest[0] == '0' ? '1' : '0';
	assessment_identifier("Patient/1", &other, "calcium\t9\n", b);
	assert_string_not_equal(a, b);
	/* Separators are unambiguous: moving a byte across a field
	 * boundary changes the identifier. */
	assessment_identifier("Patient/1c", M, "alcium\t9\n", c);
	assert_string_not_equal(a, c);
}

/* --- shape -------------------------------------------------------------- */

static void
test_assessment_has_the_r4_shape(void **state)
{
	static const char *const want_cut[] = { "237900002", "L94.2",
	    "E83.59" };
	static const char *const want_vas[] = { "396336006", "I70.0",
	    "I25.84" };
	struct facts f;
	struct buf b;
	json_t *j, *p, *cc, *dev;
	size_t i, k;

	a_patient(&f);
	j = build(&f, &b);
	assert_string_equal(s_at(j, "resourceType"), "RiskAssessment");
	assert_string_equal(s_at(j, "id"), "a1b2");
	assert_string_equal(s_at(j, "status"), "final");
	assert_string_equal(s_at(json_object_get(j, "meta"), "lastUpdated"),
	    "2025-06-01T00:00:05Z");
	assert_string_equal(s_at(j, "occurrenceDateTime"),
	    "2025-06-01T00:00:00Z");
	assert_string_equal(s_at(json_array_get(json_object_get(j,
	    "identifier"), 0), "system"), "urn:calcifyd:risk-assessment");
	assert_string_equal(s_at(json_object_get(j, "subject"), "reference"),
	    "Patient/p-1");
	cc = json_array_get(json_object_get(json_object_get(j, "code"),
	    "coding"), 0);
	assert_string_equal(s_at(cc, "system"), "http://snomed.info/sct");
	assert_string_equal(s_at(cc, "code"), "225338004");
	cc = json_array_get(json_object_get(json_object_get(j, "method"),
	    "coding"), 0);
	assert_string_equal(s_at(cc, "system"), M->m_method_system);
	assert_string_equal(s_at(cc, "code"), M->m_method_code);
	assert_string_equal(s_at(cc, "version"), "0.1.0");
	assert_non_null(strstr(s_at(cc, "display"), "0.1.0"));
	/* performer -> contained Device (dom-3: referenced). */
	assert_string_equal(s_at(json_object_get(j, "performer"),
	    "reference"), "#calcifyd");
	dev = json_array_get(json_object_get(j, "contained"), 0);
	assert_string_equal(s_at(dev, "resourceType"), "Device");
	assert_string_equal(s_at(dev, "id"), "calcifyd");
	assert_string_equal(s_at(json_array_get(json_object_get(dev,
	    "version"), 0), "value"), "0.1.0");
	/* Two predictions with codings, text, band, RR and rationale. */
	p = json_object_get(j, "prediction");
	assert_int_equal(json_array_size(p), 2);
	for (i = 0; i < 2; i++) {
		json_t *pr = json_array_get(p, i), *oc, *q;
		const char *const *want = i == 0 ? want_cut : want_vas;
		double pct;

		oc = json_object_get(pr, "outcome");
		assert_non_null(s_at(oc, "text"));
		for (k = 0; k < 3; k++)
			assert_string_equal(s_at(json_array_get(
			    json_object_get(oc, "coding"), k), "code"),
			    want[k]);
		pct = json_number_value(json_object_get(pr,
		    "probabilityDecimal"));
		assert_true(pct >= 0 && pct <= 100);
		q = json_array_get(json_object_get(json_object_get(pr,
		    "qualitativeRisk"), "coding"), 0);
		assert_string_equal(s_at(q, "system"),
		    "http://terminology.hl7.org/CodeSystem/risk-probability");
		assert_string_not_equal(s_at(q, "code"), "certain");
		assert_true(json_number_value(json_object_get(pr,
		    "relativeRisk")) >= 1);
		assert_non_null(strstr(s_at(pr, "rationale"),
		    "largest first"));
	}
	assert_non_null(strstr(s_at(json_array_get(p, 0), "rationale"),
	    "phosphate 7.4 mg/dL (> 5.5)"));
	assert_non_null(strstr(s_at(j, "mitigation"), "phosphate"));
	/* basis: each used fact once; the BP panel once. */
	k = 0;
	json_array_foreach(json_object_get(j, "basis"), i, cc)
		k += strcmp(s_at(cc, "reference"), "Observation/vitals-1") == 0;
	assert_int_equal(k, 1);
	assert_true(json_array_size(json_object_get(j, "basis")) >= 7);
	json_decref(j);
	buf_free(&b);
}

static void
test_assessment_probabilities_have_one_decimal(void **state)
{
	regex_t re;
	regmatch_t mt;
	struct facts f;
	struct buf b;
	json_t *j;
	const char *s;
	int n = 0;

	assert_int_equal(regcomp(&re, "\"probabilityDecimal\":[0-9]+"
	    "(\\.[0-9]+)?[,}]", REG_EXTENDED), 0);
	a_patient(&f);
	j = build(&f, &b);
	for (s = b.b_data; regexec(&re, s, 1, &mt, 0) == 0; s += mt.rm_eo) {
		const char *v = s + mt.rm_so +
		    strlen("\"probabilityDecimal\":");
		const char *dot = memchr(v, '.', (size_t)(s + mt.rm_eo - v));

		assert_non_null(dot);
		assert_int_equal(s + mt.rm_eo - 1 - (dot + 1), 1);
		n++;
	}
	assert_int_equal(n, 2);
	regfree(&re);
	json_decref(j);
	buf_free(&b);
}

static bool
note_has(const json_t *j, const char *want)
{
	const json_t *n;
	size_t i;

	json_array_foreach(json_object_get(j, "note"), i, n)
		if (strstr(json_string_value(json_object_get(n, "text")),
		    want) != NULL)
			return true;
	return false;
}

static void
test_assessment_notes_say_what_the_reader_needs(void **state)
{
	struct facts f;
	struct buf b;
	json_t *j;

	a_patient(&f);
	facts_clear(&f, INPUT_PTH);
	fx_lab(&f, INPUT_ALBUMIN, 3.0, 120);	/* stale */
	facts_set_skipped(&f, INPUT_CALCIUM,
	    "{\"reference\":\"Observation/ca-odd\"}");
	j = build(&f, &b);
	assert_string_equal(s_at(j, "status"), "preliminary");
	assert_true(note_has(j, "uncalibrated"));
	assert_true(note_has(j, "no published odds ratios"));
	assert_true(note_has(j, "Missing inputs (not counted): intact PTH"));
	assert_true(note_has(j, "Stale and not used: albumin (older than 90 "
	    "days)"));
	assert_true(note_has(j, "Preliminary: a final assessment needs fresh "
	    "total calcium, phosphate, intact PTH and albumin."));
	assert_true(note_has(j, "not albumin-corrected: no fresh albumin"));
	assert_true(note_has(j, "total calcium: a newer result "
	    "(Observation/ca-odd) was not used: unit not recognised."));
	json_decref(j);
	buf_free(&b);
	/* With a fresh albumin the correction is stated with its values. */
	a_patient(&f);
	j = build(&f, &b);
	assert_true(note_has(j, "Calcium is albumin-corrected: Ca + 0.8 x "
	    "(4.0 - albumin) = 10.0 mg/dL from measured 9.2 mg/dL and "
	    "albumin 3.0 g/dL."));
	assert_false(note_has(j, "Preliminary"));
	json_decref(j);
	buf_free(&b);
}

static void
test_assessment_withdrawn_reads_entered_in_error(void **state)
{
	struct assessment_ctx c;
	struct facts f;
	struct buf b;
	json_t *j;

	a_patient(&f);
	ctx_init(&c, "a1b2");
	c.ac_withdrawn = true;
	/* A conditional update names it by identifier only. */
	c.ac_id = NULL;
	buf_init(&b);
	assert_int_equal(assessment_build(M, &f, NULL, &c, &b), 0);
	j = json_loads(b.b_data, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(s_at(j, "status"), "entered-in-error");
	assert_null(json_object_get(j, "id"));
	assert_string_equal(s_at(json_array_get(json_object_get(j,
	    "identifier"), 0), "value"), "a1b2");
	assert_true(note_has(j, "Withdrawn: a result this assessment rests "
	    "on was entered in error at its source."));
	/* Otherwise the same assessment: same predictions and basis. */
	assert_int_equal(json_array_size(json_object_get(j, "prediction")), 2);
	assert_true(json_array_size(json_object_get(j, "basis")) > 0);
	json_decref(j);
	buf_free(&b);
}

static void
test_assessment_without_factors_says_so(void **state)
{
	struct facts f;
	struct buf b;
	json_t *j;

	facts_init(&f);
	fx_flag(&f, INPUT_ESRD, 0);
	fx_lab(&f, INPUT_CALCIUM, 9.0, 0);
	j = build(&f, &b);
	assert_string_equal(s_at(json_array_get(json_object_get(j,
	    "prediction"), 0), "rationale"), "No contributing factor present.");
	assert_null(json_object_get(j, "mitigation"));
	json_decref(j);
	buf_free(&b);
}

static void
test_assessment_given_result_equals_rebuilt(void **state)
{
	struct facts f;
	struct engine_result r;
	struct assessment_ctx c;
	struct buf a, b;

	a_patient(&f);
	engine_run(M, &f, facts_latest_eff(&f), &r);
	ctx_init(&c, "x");
	buf_init(&a);
	buf_init(&b);
	assert_int_equal(assessment_build(M, &f, &r, &c, &a), 0);
	assert_int_equal(assessment_build(M, &f, NULL, &c, &b), 0);
	assert_string_equal(a.b_data, b.b_data);
	buf_free(&a);
	buf_free(&b);
	/* Nothing to assess, or nobody to assess it for. */
	facts_init(&f);
	buf_init(&a);
	assert_int_equal(assessment_build(M, &f, NULL, &c, &a), -1);
	a_patient(&f);
	c.ac_subject_json = NULL;
	assert_int_equal(assessment_build(M, &f, NULL, &c, &a), -1);
	buf_free(&a);
}

/* --- vignettes ---------------------------------------------------------- */

static void
write_out(const char *dir, const char *name, const struct buf *b)
{
	char *p = xasprintf("%s/%s.json", dir, name);
	FILE *fp = fopen(p, "w");

	if (fp == NULL)
		fail_msg("cannot write %s", p);
	fwrite(b->b_data, 1, b->b_len, fp);
	fputc('\n', fp);
	assert_int_equal(fclose(fp), 0);
	free(p);
}

static void
test_assessment_vignettes_carry_expected_bands(void **state)
{
	const char *out = getenv("CALCIFY_RA_OUT");
	struct fx_vignette *vs = NULL;
	struct assessment_ctx c;
	char ident[ASSESSMENT_ID_LEN + 1];
	struct buf b, snap;
	json_t *j, *pr;
	int n, i, o;

	n = fx_vignettes_load(&vs);
	for (i = 0; i < n; i++) {
		buf_init(&snap);
		facts_snapshot(&vs[i].v_facts, &snap);
		assessment_identifier("{\"reference\":\"Patient/v\"}", M,
		    snap.b_data, ident);
		buf_free(&snap);
		ctx_init(&c, ident);
		buf_init(&b);
		assert_int_equal(assessment_build(M, &vs[i].v_facts, NULL, &c,
		    &b), 0);
		j = json_loads(b.b_data, 0, NULL);
		assert_non_null(j);
		for (o = 0; o < 2; o++) {
			pr = json_array_get(json_object_get(j, "prediction"),
			    (size_t)o);
			if (strcmp(s_at(json_array_get(json_object_get(
			    json_object_get(pr, "qualitativeRisk"), "coding"),
			    0), "code"), vs[i].v_expect.band[o]) != 0)
				fail_msg("vignette %s outcome %d: band",
				    vs[i].v_name, o);
		}
		assert_string_equal(s_at(j, "status"), vs[i].v_expect.final ?
		    "final" : "preliminary");
		if (out != NULL && out[0] != '\0')
			write_out(out, vs[i].v_name, &b);
		json_decref(j);
		buf_free(&b);
	}
	fx_vignettes_free(vs, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assessment_identifier_is_stable_and_input_sensitive),
		cmocka_unit_test(test_assessment_has_the_r4_shape),
		cmocka_unit_test(test_assessment_probabilities_have_one_decimal),
		cmocka_unit_test(test_assessment_notes_say_what_the_reader_needs),
		cmocka_unit_test(test_assessment_withdrawn_reads_entered_in_error),
		cmocka_unit_test(test_assessment_without_factors_says_so),
		cmocka_unit_test(test_assessment_given_result_equals_rebuilt),
		cmocka_unit_test(test_assessment_vignettes_carry_expected_bands),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
