/*
 * test_bundle.c - bundle_prepare, what POST /fhir does before anything is
 * stored: the Bundle type decides the semantics (batch and transaction
 * need entry requests; collection and searchset go in entry by entry
 * without them), a transaction fails whole on its first bad entry while a
 * batch keeps each entry's own diag, types calcifyd does not store are
 * accepted and ignored, urn:uuid references resolve to the Bundle's own
 * Patient, fullUrls are unique (bdl-7) and http.max_entries holds exactly.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "bundle.h"
#include "diag.h"
#include "fhir.h"
#include "inputs.h"
#include "terminology.h"
#include "util.h"

#include "json_fixture.h"

#define PUUID	"urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a01"
#define OUUID	"urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0a02"

/* An Observation of calcium; SUBJ is its subject reference, V the value. */
#define OBS(id, subj, v) "{'resourceType':'Observation','id':'" id "'," \
		"'status':'final','code':{'coding':[{'system':" \
		"'http://loinc.org','code':'17861-6'}]}," \
		"'subject':{'reference':'" subj "'}," \
		"'effectiveDateTime':'2026-11-20T08:00:00Z'," \
		"'valueQuantity':{'value':" v ",'code':'mg/dL'}}"
#define ENC	"{'resourceType':'Encounter','status':'finished','class':" \
		"{'system':" \
		"'http://terminology.hl7.org/CodeSystem/v3-ActCode'," \
		"'code':'AMB'}}"
#define POST(t)	",'request':{'method':'POST','url':'" t "'}"
/* A batch or transaction entry posting an OBS. */
#define POSTED(id, v) "{'resource':" OBS(id, "Patient/p1", v) \
		POST("Observation") "}"

/* {"resourceType":"Bundle","type":TYPE,"entry":[ENTRIES]} */
static json_t *
bundle(const char *type, const char *entries)
{
	char *s = xasprintf("{'resourceType':'Bundle','type':'%s',"
	    "'entry':[%s]}", type, entries);
	json_t *j = jfx_json(s);

	free(s);
	return j;
}

static void
check_entry_diag(const struct bundle *b, int i, enum diag_code code,
    const char *expr)
{
	const struct diag *d = &b->bu_entries[i].ie_diag;

	assert_false(b->bu_entries[i].ie_apply);
	if (d->d_code != code || strcmp(d->d_expr, expr) != 0)
		fail_msg("entry %d: expected %d at '%s', got %d at '%s' (%s)",
		    i, code, expr, d->d_code, d->d_expr, d->d_msg);
}

/* --- Bundle types ------------------------------------------------------- */

static void
test_bundle_classifies_the_four_accepted_types(void **state)
{
	static const struct {
		const char		*type;
		enum bundle_kind	 kind;
		const char		*entry;
	} cases[] = {
		{ "batch", BUNDLE_BATCH,
		  POSTED("o1", "9.5") },
		{ "transaction", BUNDLE_TRANSACTION,
		  POSTED("o1", "9.5") },
		{ "collection", BUNDLE_COLLECTION,
		  "{'resource':" OBS("o1", "Patient/p1", "9.5") "}" },
		{ "searchset", BUNDLE_COLLECTION,
		  "{'fullUrl':'http://example.org/fhir/Observation/o1',"
		  "'resource':" OBS("o1", "Patient/p1", "9.5") ","
		  "'search':{'mode':'match'}}" },
	};
	struct bundle b;
	struct diag d;
	json_t *j;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		j = bundle(cases[i].type, cases[i].entry);
		diag_clear(&d);
		if (bundle_prepare(j, 100, jfx_terms, &b, &d) != 0)
			fail_msg("%s refused: %d %s", cases[i].type, d.d_code,
			    d.d_msg);
		assert_int_equal(b.bu_kind, cases[i].kind);
		assert_int_equal(b.bu_n, 1);
		assert_int_equal(b.bu_napply, 1);
		assert_true(b.bu_entries[0].ie_apply);
		assert_string_equal(b.bu_entries[0].ie_item.fi_id, "o1");
		bundle_free(&b);
		json_decref(j);
	}
}

static void
test_bundle_refuses_other_types_and_non_bundles(void **state)
{
	static const char *const bad[] = { "document", "message", "history",
	    "batch-response", "Batch" };
	struct bundle b;
	struct diag d;
	json_t *j;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		j = bundle(bad[i], "");
		diag_clear(&d);
		assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), -1);
		assert_int_equal(d.d_code, DIAG_BUNDLE_TYPE);
		assert_string_equal(d.d_expr, "Bundle.type");
		bundle_free(&b);
		json_decref(j);
	}
	j = jfx_json("{'resourceType':'Bundle','entry':[]}");
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), -1);
	assert_int_equal(d.d_code, DIAG_BUNDLE_TYPE);
	bundle_free(&b);
	json_decref(j);
	j = jfx_json(OBS("o1", "Patient/p1", "9.5"));
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), -1);
	assert_int_equal(d.d_code, DIAG_WRONG_TYPE);
	assert_string_equal(d.d_expr, "resourceType");
	bundle_free(&b);
	json_decref(j);
}

/* --- entry semantics ---------------------------------------------------- */

static void
test_bundle_batch_keeps_each_entry_outcome(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	j = bundle("batch",
	    POSTED("g1", "9.5") "," POSTED("b1", "80") ","
	    "{'resource':" ENC POST("Encounter") "},"
	    "{'resource':" OBS("b2", "Patient/p1", "9.5") "},"
	    "{'resource':" OBS("b3", "Patient/p1", "9.5")
	    ",'request':{'method':'DELETE','url':'Observation/b3'}},"
	    "{'resource':" OBS("b4", "Patient/p1", "9.5") POST("Patient") "},"
	    "{'resource':" OBS("g2", "Patient/p1", "9.6")
	    ",'request':{'method':'PUT','url':'Observation/g2'}}");
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), 0);
	assert_int_equal(b.bu_kind, BUNDLE_BATCH);
	assert_int_equal(b.bu_n, 7);
	assert_int_equal(b.bu_napply, 2);
	assert_true(b.bu_entries[0].ie_apply);
	check_entry_diag(&b, 1, DIAG_OUT_OF_BOUNDS,
	    "Bundle.entry[1].resource.valueQuantity.value");
	assert_int_equal(b.bu_entries[1].ie_diag.d_status, 422);
	/* Not a type calcifyd stores: accepted, ignored, no error. */
	assert_true(b.bu_ignored[2]);
	assert_false(b.bu_entries[2].ie_apply);
	assert_false(diag_failed(&b.bu_entries[2].ie_diag));
	assert_string_equal(b.bu_ignored_type[2], "Encounter");
	check_entry_diag(&b, 3, DIAG_ENTRY_REQUEST, "Bundle.entry[3].request");
	check_entry_diag(&b, 4, DIAG_ENTRY_METHOD,
	    "Bundle.entry[4].request.method");
	check_entry_diag(&b, 5, DIAG_ENTRY_REQUEST,
	    "Bundle.entry[5].request.url");
	assert_true(b.bu_entries[6].ie_apply);
	assert_string_equal(b.bu_entries[6].ie_item.fi_id, "g2");
	bundle_free(&b);
	json_decref(j);
}

/* Another R4 type is ignored; a type R4 does not define is invalid FHIR
 * (400 for that entry), and its name is not echoed. */
static void
test_bundle_rejects_a_type_r4_does_not_define(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	j = bundle("collection",
	    "{'resource':{'resourceType':'Encounter','status':'finished'}},"
	    "{'resource':{'resourceType':'JaneDoe1956'}}");
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), 0);
	assert_true(b.bu_ignored[0]);
	assert_false(b.bu_ignored[1]);
	check_entry_diag(&b, 1, DIAG_WRONG_TYPE,
	    "Bundle.entry[1].resource.resourceType");
	assert_int_equal(b.bu_entries[1].ie_diag.d_status, 400);
	assert_null(strstr(b.bu_entries[1].ie_diag.d_msg, "JaneDoe"));
	bundle_free(&b);
	json_decref(j);
}

static void
test_bundle_transaction_fails_whole_on_first_bad_entry(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	j = bundle("transaction",
	    POSTED("t1", "9.5") ","
	    "{'resource':{'resourceType':'Observation','id':'t2',"
	    "'status':'finalised','code':{'text':'calcium'}}"
	    POST("Observation") "},"
	    POSTED("t3", "80"));
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), -1);
	assert_int_equal(d.d_code, DIAG_BAD_CODE);
	assert_string_equal(d.d_expr, "Bundle.entry[1].resource.status");
	bundle_free(&b);
	json_decref(j);
}

static void
test_bundle_searchset_goes_in_entry_by_entry(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	/* searchset entries carry search, never request. */
	j = bundle("searchset",
	    "{'resource':" OBS("s1", "Patient/p1", "9.5")
	    ",'search':{'mode':'match'}},"
	    "{'resource':" ENC ",'search':{'mode':'include'}},"
	    "{'resource':" OBS("s2", "Patient/p1", "80") "}");
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), 0);
	assert_int_equal(b.bu_kind, BUNDLE_COLLECTION);
	assert_int_equal(b.bu_napply, 1);
	assert_true(b.bu_entries[0].ie_apply);
	assert_true(b.bu_ignored[1]);
	check_entry_diag(&b, 2, DIAG_OUT_OF_BOUNDS,
	    "Bundle.entry[2].resource.valueQuantity.value");
	bundle_free(&b);
	json_decref(j);
}

static void
test_bundle_put_url_id_must_match_the_resource(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	j = bundle("batch",
	    "{'resource':" OBS("p1", "Patient/p1", "9.5")
	    ",'request':{'method':'PUT','url':'Observation/p2'}},"
	    "{'resource':" OBS("p3", "Patient/p1", "9.5")
	    ",'request':{'method':'PUT','url':'Observation/a_b'}}");
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), 0);
	check_entry_diag(&b, 0, DIAG_ID_MISMATCH,
	    "Bundle.entry[0].resource.id");
	check_entry_diag(&b, 1, DIAG_ENTRY_REQUEST,
	    "Bundle.entry[1].request.url");
	bundle_free(&b);
	json_decref(j);
}

/* --- references inside the Bundle -------------------------------------- */

static void
test_bundle_resolves_urn_uuid_to_the_bundles_patient(void **state)
{
	const struct fhir_item *obs, *pat;
	struct bundle b;
	struct diag d;
	json_t *j;
	int i;

	j = bundle("transaction",
	    "{'fullUrl':'" PUUID "','resource':{'resourceType':'Patient',"
	    "'identifier':[{'system':'urn:mrn','value':'S-1'}],"
	    "'gender':'male'}" POST("Patient") "},"
	    "{'fullUrl':'" OUUID "','resource':"
	    "{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'17861-6'}]},"
	    "'subject':{'reference':'" PUUID "'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z',"
	    "'valueQuantity':{'value':9.5,'code':'mg/dL'}}"
	    POST("Observation") "}");
	diag_clear(&d);
	if (bundle_prepare(j, 100, jfx_terms, &b, &d) != 0)
		fail_msg("refused: %d %s %s", d.d_code, d.d_expr, d.d_msg);
	pat = &b.bu_entries[0].ie_item;
	obs = &b.bu_entries[1].ie_item;
	/* The observation names its patient by every key the Patient has,
	 * so the store maps both to one internal patient. */
	assert_true(obs->fi_nkeys > 0);
	for (i = 0; i < obs->fi_nkeys; i++) {
		int k;
		bool found = false;

		for (k = 0; k < pat->fi_nkeys; k++)
			if (strcmp(obs->fi_keys[i], pat->fi_keys[k]) == 0)
				found = true;
		if (!found)
			fail_msg("observation key %s is not the patient's",
			    obs->fi_keys[i]);
	}
	assert_int_equal(obs->fi_nfacts, 1);
	bundle_free(&b);
	json_decref(j);

	/* A urn:uuid naming no entry: the entry fails, named. */
	j = bundle("batch",
	    "{'resource':" OBS("u1",
	    "urn:uuid:6f1c1a2e-7d0b-4e49-9c1e-2b6a1d0c0aff", "9.5")
	    POST("Observation") "}");
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), 0);
	check_entry_diag(&b, 0, DIAG_UNRESOLVED_REF,
	    "Bundle.entry[0].resource.subject.reference");
	bundle_free(&b);
	json_decref(j);
}

static void
test_bundle_refuses_duplicate_full_urls(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	j = bundle("batch",
	    "{'fullUrl':'" OUUID "','resource':" OBS("d1", "Patient/p1", "9.5")
	    POST("Observation") "},"
	    "{'fullUrl':'" PUUID "','resource':" OBS("d2", "Patient/p1", "9.5")
	    POST("Observation") "},"
	    "{'fullUrl':'" OUUID "','resource':" OBS("d3", "Patient/p1", "9.5")
	    POST("Observation") "}");
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 100, jfx_terms, &b, &d), -1);
	assert_int_equal(d.d_code, DIAG_DUP_FULLURL);
	assert_string_equal(d.d_expr, "Bundle.entry[2].fullUrl");
	bundle_free(&b);
	json_decref(j);
}

/* --- limits ------------------------------------------------------------ */

static json_t *
bundle_of(int n)
{
	struct buf b;
	json_t *j;
	int i;

	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s{'resource':" OBS("n%d", "Patient/p1", "9.5")
		    POST("Observation") "}", i > 0 ? "," : "", i);
	j = bundle("batch", b.b_data != NULL ? b.b_data : "");
	buf_free(&b);
	return j;
}

static void
test_bundle_entry_limit_holds_exactly(void **state)
{
	struct bundle b;
	struct diag d;
	json_t *j;

	j = bundle_of(10);
	diag_clear(&d);
	assert_int_equal(bundle_prepare(j, 10, jfx_terms, &b, &d), 0);
	assert_int_equal(b.bu_napply, 10);
	bundle_free(&b);
	assert_int_equal(bundle_prepare(j, 9, jfx_terms, &b, &d), -1);
	assert_int_equal(d.d_code, DIAG_TOO_MANY_ENTRIES);
	assert_int_equal(d.d_status, 413);
	assert_string_equal(d.d_expr, "Bundle.entry");
	bundle_free(&b);
	json_decref(j);

	/* A Bundle without entries (FHIR JSON has no empty arrays) is a
	 * valid request that applies nothing. */
	j = jfx_json("{'resourceType':'Bundle','type':'batch'}");
	assert_int_equal(bundle_prepare(j, 10, jfx_terms, &b, &d), 0);
	assert_int_equal(b.bu_n, 0);
	assert_int_equal(b.bu_napply, 0);
	bundle_free(&b);
	json_decref(j);
}

static void
test_bundle_valid_id_follows_r4(void **state)
{
	char id65[66];

	assert_true(bundle_valid_id("a"));
	assert_true(bundle_valid_id("A-b.9"));
	assert_false(bundle_valid_id(""));
	assert_false(bundle_valid_id("a_b"));
	assert_false(bundle_valid_id("a/b"));
	memset(id65, 'x', 65);
	id65[65] = '\0';
	assert_false(bundle_valid_id(id65));
	id65[64] = '\0';
	assert_true(bundle_valid_id(id65));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_bundle_classifies_the_four_accepted_types),
		cmocka_unit_test(
		    test_bundle_refuses_other_types_and_non_bundles),
		cmocka_unit_test(test_bundle_batch_keeps_each_entry_outcome),
		cmocka_unit_test(test_bundle_rejects_a_type_r4_does_not_define),
		cmocka_unit_test(
		    test_bundle_transaction_fails_whole_on_first_bad_entry),
		cmocka_unit_test(test_bundle_searchset_goes_in_entry_by_entry),
		cmocka_unit_test(
		    test_bundle_put_url_id_must_match_the_resource),
		cmocka_unit_test(
		    test_bundle_resolves_urn_uuid_to_the_bundles_patient),
		cmocka_unit_test(test_bundle_refuses_duplicate_full_urls),
		cmocka_unit_test(test_bundle_entry_limit_holds_exactly),
		cmocka_unit_test(test_bundle_valid_id_follows_r4),
	};

	return cmocka_run_group_tests(tests, jfx_terms_setup,
	    jfx_terms_teardown);
}
