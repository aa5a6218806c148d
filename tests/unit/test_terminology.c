/*
 * test_terminology.c - the code table format, lookups, and the shipped
 * conf/codes.tsv covering every code CLINICAL.md names.
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

#include "terminology.h"

static struct terminology *shipped;

static char *
tmpfile_with(const char *text)
{
	char *p = strdup("/tmp/calcify-test-terms-XXXXXX");
	int fd = mkstemp(p);
	FILE *fp = fdopen(fd, "w");

	fputs(text, fp);
	fclose(fp);
	return p;
}

static struct terminology *
load_text(const char *text, char *err, size_t errsz)
{
	char *p = tmpfile_with(text);
	FILE *ef = fmemopen(err, errsz, "w");
	struct terminology *t = terminology_load(p, ef);

	fclose(ef);
	unlink(p);
	free(p);
	return t;
}

static int
one(const struct terminology *t, const char *sys, const char *code)
{
	struct term_hit h[TERM_MAX_HITS];
	int n = terminology_lookup(t, sys, code, h, TERM_MAX_HITS);

	return n == 0 ? -1 : (int)h[0].th_input;
}

static void
test_terminology_format_errors_name_file_and_line(void **state)
{
	char err[2048] = "";

	assert_null(load_text("loinc 17861-6 calcium\n"
	    "loinc 2777-1 phosphorus\n"
	    "nosys 1 calcium\n"
	    "loinc 1751-7\n"
	    "text \"calcium carbonate calcium_binder\n"
	    "loinc 17861-6 calcium\n"
	    "loinc 1 age\n", err, sizeof(err)));
	assert_non_null(strstr(err, ":2: unknown model input 'phosphorus'"));
	assert_non_null(strstr(err, ":3: unknown system alias 'nosys'"));
	assert_non_null(strstr(err, ":4: expected SYSTEM CODE INPUT"));
	assert_non_null(strstr(err, ":5: expected SYSTEM CODE INPUT"));
	assert_non_null(strstr(err, ":6: duplicate row"));
	assert_non_null(strstr(err, ":7: unknown model input 'age'"));
}

static void
test_terminology_icd_prefix_dot_and_case(void **state)
{
	char err[256] = "";
	struct terminology *t = load_text("icd10cm E11* diabetes_condition\n"
	    "icd10cm I12.0 hypertension_condition\n"
	    "icd10cm I12.0 esrd\n", err, sizeof(err));
	struct term_hit h[TERM_MAX_HITS];

	assert_non_null(t);
	assert_int_equal(one(t, "http://hl7.org/fhir/sid/icd-10-cm", "E11.22"),
	    INPUT_DIABETES);
	assert_int_equal(one(t, "http://hl7.org/fhir/sid/icd-10-cm", "e1122"),
	    INPUT_DIABETES);
	assert_int_equal(one(t, "http://hl7.org/fhir/sid/icd-10-cm", "E10.9"),
	    -1);
	assert_int_equal(terminology_lookup(t,
	    "http://hl7.org/fhir/sid/icd-10-cm", "I120", h, TERM_MAX_HITS), 2);
	/* Same code in another system is another code. */
	assert_int_equal(one(t, "http://snomed.info/sct", "E11.22"), -1);
	assert_int_equal(one(t, NULL, "E11.22"), -1);
	terminology_free(t);
}

static void
test_terminology_text_matches_whole_words_any_case(void **state)
{
	char err[256] = "";
	struct terminology *t = load_text(
	    "text \"calcium carbonate\" calcium_binder 0.40\n"
	    "text warfarin vitamin_k_antagonist\n", err, sizeof(err));
	struct term_hit h[TERM_MAX_HITS];

	assert_non_null(t);
	assert_int_equal(terminology_match_text(t,
	    "Warfarin Sodium 5 MG Oral Tablet", h, TERM_MAX_HITS), 1);
	assert_int_equal(h[0].th_input, INPUT_VKA);
	assert_int_equal(terminology_match_text(t, "CALCIUM CARBONATE 1250 MG",
	    h, TERM_MAX_HITS), 1);
	assert_true(h[0].th_factor == 0.40);
	assert_int_equal(terminology_match_text(t, "nowarfarinx", h,
	    TERM_MAX_HITS), 0);
	assert_int_equal(terminology_match_text(t, "calcium", h,
	    TERM_MAX_HITS), 0);
	terminology_free(t);
}

static void
test_terminology_oid_systems_are_the_same_systems(void **state)
{
	assert_int_equal(one(shipped, "urn:oid:2.16.840.1.113883.6.1",
	    "17861-6"), INPUT_CALCIUM);
	assert_int_equal(one(shipped, "urn:oid:2.16.840.1.113883.6.96",
	    "46177005"), INPUT_ESRD);
}

/* Every code CLINICAL.md names, with the input it must feed. */
static const struct {
	const char	*sys;
	const char	*code;
	enum input	 in;
} clinical[] = {
	{ "http://loinc.org", "17861-6", INPUT_CALCIUM },
	{ "http://loinc.org", "2000-8", INPUT_CALCIUM },
	{ "http://loinc.org", "49765-1", INPUT_CALCIUM },
	{ "http://loinc.org", "1994-3", INPUT_CALCIUM_ION },
	{ "http://loinc.org", "1995-0", INPUT_CALCIUM_ION },
	{ "http://loinc.org", "17863-2", INPUT_CALCIUM_ION },
	{ "http://loinc.org", "2777-1", INPUT_PHOSPHATE },
	{ "http://loinc.org", "14879-1", INPUT_PHOSPHATE },
	{ "http://loinc.org", "2731-8", INPUT_PTH },
	{ "http://loinc.org", "14866-8", INPUT_PTH },
	{ "http://snomed.info/sct", "19034001", INPUT_SHPT },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "N25.81", INPUT_SHPT },
	{ "http://loinc.org", "1751-7", INPUT_ALBUMIN },
	{ "http://loinc.org", "61151-7", INPUT_ALBUMIN },
	{ "http://loinc.org", "61152-5", INPUT_ALBUMIN },
	{ "http://loinc.org", "2862-1", INPUT_ALBUMIN },
	{ "http://loinc.org", "6768-6", INPUT_ALP },
	{ "http://loinc.org", "1989-3", INPUT_VITD25 },
	{ "http://loinc.org", "62292-8", INPUT_VITD25 },
	{ "http://loinc.org", "14635-7", INPUT_VITD25 },
	{ "http://loinc.org", "1649-3", INPUT_VITD125 },
	{ "http://snomed.info/sct", "73211009", INPUT_DIABETES },
	{ "http://snomed.info/sct", "44054006", INPUT_DIABETES },
	{ "http://snomed.info/sct", "46635009", INPUT_DIABETES },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "E08.9", INPUT_DIABETES },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "E11.22", INPUT_DIABETES },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "E13.9", INPUT_DIABETES },
	{ "http://loinc.org", "4548-4", INPUT_HBA1C },
	{ "http://loinc.org", "2093-3", INPUT_CHOLESTEROL },
	{ "http://loinc.org", "13457-7", INPUT_LDL },
	{ "http://loinc.org", "18262-6", INPUT_LDL },
	{ "http://loinc.org", "2085-9", INPUT_HDL },
	{ "http://loinc.org", "2571-8", INPUT_TRIGLYCERIDES },
	{ "http://snomed.info/sct", "370992007", INPUT_DYSLIPIDAEMIA },
	{ "http://snomed.info/sct", "55822004", INPUT_DYSLIPIDAEMIA },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "E78.5", INPUT_DYSLIPIDAEMIA },
	{ "http://snomed.info/sct", "38341003", INPUT_HYPERTENSION },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "I10", INPUT_HYPERTENSION },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "I12.0", INPUT_HYPERTENSION },
	{ "http://loinc.org", "8480-6", INPUT_SYSTOLIC },
	{ "http://loinc.org", "8462-4", INPUT_DIASTOLIC },
	{ "http://loinc.org", "13965-9", INPUT_HOMOCYSTEINE },
	{ "http://snomed.info/sct", "419503008", INPUT_HYPERHOMOCYSTEINAEMIA },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "E72.11", INPUT_HYPERHOMOCYSTEINAEMIA },
	{ "http://snomed.info/sct", "400047006", INPUT_VASCULAR_DISEASE },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "I73.9", INPUT_VASCULAR_DISEASE },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "I70.209", INPUT_VASCULAR_DISEASE },
	{ "http://loinc.org", "39156-5", INPUT_BMI },
	{ "http://loinc.org", "29463-7", INPUT_WEIGHT },
	{ "http://loinc.org", "8302-2", INPUT_HEIGHT },
	{ "http://snomed.info/sct", "238136002", INPUT_MORBID_OBESITY },
	{ "http://snomed.info/sct", "408512008", INPUT_MORBID_OBESITY },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "E66.01", INPUT_MORBID_OBESITY },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "Z68.41", INPUT_MORBID_OBESITY },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "Z68.45", INPUT_MORBID_OBESITY },
	{ "http://snomed.info/sct", "46177005", INPUT_ESRD },
	{ "http://snomed.info/sct", "433146000", INPUT_ESRD },
	{ "http://snomed.info/sct", "714152005", INPUT_ESRD },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "N18.6", INPUT_ESRD },
	{ "http://hl7.org/fhir/sid/icd-10-cm", "Z99.2", INPUT_ESRD },
	{ "http://snomed.info/sct", "302497006", INPUT_DIALYSIS },
	{ "http://snomed.info/sct", "71192002", INPUT_DIALYSIS },
	{ "http://snomed.info/sct", "265764009", INPUT_DIALYSIS },
	{ "http://www.ama-assn.org/go/cpt", "90935", INPUT_DIALYSIS },
	{ "http://www.ama-assn.org/go/cpt", "90937", INPUT_DIALYSIS },
	{ "http://www.ama-assn.org/go/cpt", "90951", INPUT_DIALYSIS },
	{ "http://www.ama-assn.org/go/cpt", "90960", INPUT_DIALYSIS },
	{ "http://www.ama-assn.org/go/cpt", "90970", INPUT_DIALYSIS },
	{ "http://www.cms.gov/Medicare/Coding/ICD10", "5A1D70Z", INPUT_DIALYSIS },
	{ "http://www.cms.gov/Medicare/Coding/ICD10", "5A1D80Z", INPUT_DIALYSIS },
	{ "http://www.cms.gov/Medicare/Coding/ICD10", "5A1D90Z", INPUT_DIALYSIS },
};

static void
test_terminology_shipped_table_covers_clinical_md(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(clinical) / sizeof(clinical[0]); i++) {
		struct term_hit h[TERM_MAX_HITS];
		int n = terminology_lookup(shipped, clinical[i].sys,
		    clinical[i].code, h, TERM_MAX_HITS), k, found = 0;

		for (k = 0; k < n; k++)
			if (h[k].th_input == clinical[i].in)
				found = 1;
		if (!found)
			fail_msg("%s|%s does not map to %s", clinical[i].sys,
			    clinical[i].code, input_name(clinical[i].in));
	}
	/* The BP panel code carries no value itself. */
	assert_int_equal(one(shipped, "http://loinc.org", "85354-9"), -1);
}

static void
test_terminology_shipped_medication_names(void **state)
{
	static const struct {
		const char	*text;
		enum input	 in;
	} meds[] = {
		{ "Calcium Carbonate 500 MG Chewable Tablet", INPUT_CA_BINDER },
		{ "calcium acetate 667 mg capsule", INPUT_CA_BINDER },
		{ "Calcitriol 0.25 MCG Oral Capsule", INPUT_ACTIVE_VITD },
		{ "paricalcitol injection", INPUT_ACTIVE_VITD },
		{ "Warfarin Sodium 5 MG Oral Tablet", INPUT_VKA },
		{ "acenocoumarol", INPUT_VKA },
		{ "Cinacalcet 30 MG Oral Tablet", INPUT_CALCIMIMETIC },
	};
	struct term_hit h[TERM_MAX_HITS];
	size_t i;

	for (i = 0; i < sizeof(meds) / sizeof(meds[0]); i++) {
		assert_int_equal(terminology_match_text(shipped, meds[i].text,
		    h, TERM_MAX_HITS), 1);
		assert_int_equal(h[0].th_input, meds[i].in);
	}
	assert_int_equal(terminology_match_text(shipped,
	    "Sevelamer carbonate 800 MG", h, TERM_MAX_HITS), 0);
}

/* Merging keeps one hit per input, the first seen, and stops at max. */
static void
test_terminology_merge_keeps_one_hit_per_input(void **state)
{
	struct term_hit out[3] = { { INPUT_CALCIUM, 0 } };
	const struct term_hit add[] = { { INPUT_CALCIUM, 2 },
	    { INPUT_PHOSPHATE, 0 }, { INPUT_PHOSPHATE, 3 }, { INPUT_PTH, 0 },
	    { INPUT_ALBUMIN, 0 } };

	(void)state;
	assert_int_equal(terminology_merge_hits(out, 1, 3, add, 5), 3);
	assert_int_equal(out[0].th_input, INPUT_CALCIUM);
	assert_true(out[0].th_factor == 0);
	assert_int_equal(out[1].th_input, INPUT_PHOSPHATE);
	assert_true(out[1].th_factor == 0);
	assert_int_equal(out[2].th_input, INPUT_PTH);
	assert_int_equal(terminology_merge_hits(out, 3, 3, add, 5), 3);
}

static int
setup(void **state)
{
	const char *top = getenv("top_srcdir");
	char path[1024];

	snprintf(path, sizeof(path), "%s/conf/codes.tsv", top ? top : ".");
	shipped = terminology_load(path, stderr);
	return shipped != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	terminology_free(shipped);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminology_format_errors_name_file_and_line),
		cmocka_unit_test(test_terminology_icd_prefix_dot_and_case),
		cmocka_unit_test(test_terminology_text_matches_whole_words_any_case),
		cmocka_unit_test(test_terminology_oid_systems_are_the_same_systems),
		cmocka_unit_test(test_terminology_shipped_table_covers_clinical_md),
		cmocka_unit_test(test_terminology_shipped_medication_names),
		cmocka_unit_test(test_terminology_merge_keeps_one_hit_per_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
