/*
 * test_fhir.c - the FHIR front door for one resource, as POST
 * /fhir/{type} runs it: fhir_parse (body limits, duplicate keys, UTF-8,
 * NUL, numbers), fhir_validate (the structural rules each rejection class
 * is named for) and fhir_extract (identity, content hash, patient keys,
 * facts, physiological bounds).  Every rejection carries the right diag
 * code, HTTP status and FHIRPath expression and never echoes a value; a
 * good Observation becomes the typed item the store applies; and with
 * allocations failing one by one the pipeline either succeeds or fails
 * cleanly with NO_MEMORY.
 *
 * Identity is pinned only by the properties FHIR.md requires (a re-send
 * maps to the same id, the identifier names the resource across
 * amendments, different content without id or identifier is another
 * resource), not by the spelling of derived ids.
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
#include <jansson.h>

#include "bundle.h"
#include "diag.h"
#include "fhir.h"
#include "fhir_validate.h"
#include "inputs.h"
#include "terminology.h"
#include "util.h"

#include "json_fixture.h"

/* Marker put into values: no diagnostic may ever echo it. */
#define SECRET	"SeCrEt42"

/* 2026-11-20T08:00:00Z in ms since the epoch. */
#define EFF_MS	1795161600000LL

/* The calcium Observation of tests/data/ingest, written with ' for ". */
#define CA_HEAD	"{'resourceType':'Observation','id':'ca-1'," \
		"'identifier':[{'system':'urn:oid:1.2.3.4.lab'," \
		"'value':'LAB-0001'}],'status':'final'," \
		"'code':{'coding':[{'system':'http://loinc.org'," \
		"'code':'17861-6','display':'Calcium'}]}," \
		"'subject':{'reference':'Patient/it-p1'}," \
		"'effectiveDateTime':'2026-11-20T08:00:00Z'"
#define CA_VALUE "'valueQuantity':{'value':10.8,'unit':'mg/dL'," \
		"'system':'http://unitsofmeasure.org','code':'mg/dL'}"
#define CA	CA_HEAD "," CA_VALUE "}"

enum stage { ST_OK, ST_PARSE, ST_VALIDATE, ST_EXTRACT };

/*
 * The handler's pipeline over len bytes: parse (max depth 64), validate
 * and extract under path (NULL: the resourceType).  On ST_OK *it holds the
 * item (release with fhir_item_free); otherwise d says why.
 */
static enum stage
run_bytes(const char *body, size_t len, const char *put_id,
    const char *path, struct fhir_item *it, struct diag *d)
{
	enum stage st = ST_OK;
	const char *rt;
	json_t *doc;

	diag_clear(d);
	doc = fhir_parse(body, len, 64, d);
	if (doc == NULL)
		return ST_PARSE;
	rt = json_string_value(json_object_get(doc, "resourceType"));
	if (path == NULL)
		path = rt != NULL ? rt : "Observation";
	if (fhir_validate(doc, path, d) == -1)
		st = ST_VALIDATE;
	else if (fhir_extract(doc, put_id, path, jfx_terms, NULL, it, d) == -1)
		st = ST_EXTRACT;
	json_decref(doc);
	return st;
}

static enum stage
run(const char *text, const char *put_id, struct fhir_item *it,
    struct diag *d)
{
	char *s = jfx_dq(text);
	enum stage st = run_bytes(s, strlen(s), put_id, NULL, it, d);

	free(s);
	return st;
}

/* A good resource: extracted, or the test fails with the diag. */
static void
accept(const char *text, struct fhir_item *it)
{
	struct diag d;

	if (run(text, NULL, it, &d) != ST_OK)
		fail_msg("rejected: %d %s: %s", d.d_code, d.d_expr, d.d_msg);
}

static void
check_diag(const struct diag *d, enum diag_code code, int status,
    const char *expr)
{
	if (d->d_code != code || strcmp(d->d_expr, expr) != 0)
		fail_msg("expected %d at '%s', got %d at '%s' (%s)", code,
		    expr, d->d_code, d->d_expr, d->d_msg);
	assert_int_equal(d->d_status, status);
	assert_int_equal(diag_http_status(code), status);
	assert_true(d->d_msg[0] != '\0');
	assert_null(strstr(d->d_msg, SECRET));
}

/* A bad resource: rejected at stage with code, status and expression. */
static void
reject_bytes(const char *body, size_t len, enum stage stage,
    enum diag_code code, int status, const char *expr)
{
	struct fhir_item it;
	struct diag d;
	enum stage st = run_bytes(body, len, NULL, NULL, &it, &d);

	if (st == ST_OK) {
		fhir_item_free(&it);
		fail_msg("accepted, expected %d at '%s'", code, expr);
	}
	if (st != stage)
		fail_msg("rejected at stage %d, expected %d (%d %s: %s)", st,
		    stage, d.d_code, d.d_expr, d.d_msg);
	check_diag(&d, code, status, expr);
}

static void
reject(const char *text, enum stage stage, enum diag_code code, int status,
    const char *expr)
{
	char *s = jfx_dq(text);

	reject_bytes(s, strlen(s), stage, code, status, expr);
	free(s);
}

/* The item's fact for in (a copy); the test fails when there is none. */
static struct fhir_fact
fact_of(const struct fhir_item *it, enum input in)
{
	struct fhir_fact none;
	int i;

	for (i = 0; i < it->fi_nfacts; i++)
		if (it->fi_facts[i].ff_input == in)
			return it->fi_facts[i];
	memset(&none, 0, sizeof(none));
	fail_msg("no fact for input %d", (int)in);
	return none;
}

static bool
has_key(const struct fhir_item *it, const char *key)
{
	int i;

	for (i = 0; i < it->fi_nkeys; i++)
		if (strcmp(it->fi_keys[i], key) == 0)
			return true;
	return false;
}

/* --- a good Observation ------------------------------------------------- */

static void
test_fhir_extracts_calcium_observation_into_item(void **state)
{
	struct fhir_fact f;
	struct fhir_item it;
	json_error_t err;
	json_t *body;

	accept(CA, &it);
	assert_int_equal(it.fi_type, FHIR_OBSERVATION);
	assert_string_equal(it.fi_id, "ca-1");
	assert_true(it.fi_client_id);
	assert_int_equal(it.fi_nidents, 1);
	assert_string_equal(it.fi_idents[0], "urn:oid:1.2.3.4.lab|LAB-0001");
	assert_int_equal(it.fi_nkeys, 1);
	assert_string_equal(it.fi_keys[0], "ref:Patient/it-p1");
	assert_non_null(strstr(it.fi_subject, "\"Patient/it-p1\""));
	assert_non_null(strstr(it.fi_ref, "\"Observation/ca-1\""));
	assert_false(it.fi_retract);
	assert_int_equal(it.fi_unused, FHIR_USED);
	assert_int_equal(it.fi_nfacts, 1);
	f = fact_of(&it, INPUT_CALCIUM);
	assert_true(f.ff_value == 10.8);
	assert_int_equal(f.ff_eff, EFF_MS);
	assert_true(f.ff_usable);
	/* The stored body leaves out what the server owns. */
	body = json_loadb(it.fi_body, it.fi_bodylen, 0, &err);
	assert_non_null(body);
	assert_null(json_object_get(body, "resourceType"));
	assert_null(json_object_get(body, "id"));
	assert_null(json_object_get(body, "meta"));
	assert_string_equal(json_string_value(json_object_get(body,
	    "status")), "final");
	json_decref(body);
	fhir_item_free(&it);
}

static void
test_fhir_converts_si_calcium_to_mg_per_dl(void **state)
{
	struct fhir_item it;

	/* CLINICAL.md: calcium mmol/L x 4.008 = mg/dL. */
	accept(CA_HEAD ",'valueQuantity':{'value':2.5,'unit':'mmol/L',"
	    "'system':'http://unitsofmeasure.org','code':'mmol/L'}}", &it);
	assert_float_equal(fact_of(&it, INPUT_CALCIUM).ff_value, 10.02,
	    1e-9);
	fhir_item_free(&it);
}

static void
test_fhir_reads_blood_pressure_panel_components(void **state)
{
	struct fhir_item it;

	accept("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'85354-9'}]},"
	    "'subject':{'reference':'Patient/p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z','component':["
	    "{'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'8480-6'}]},"
	    "'valueQuantity':{'value':142,'system':'http://unitsofmeasure.org',"
	    "'code':'mm[Hg]'}},"
	    "{'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'8462-4'}]},"
	    "'valueQuantity':{'value':88,'system':'http://unitsofmeasure.org',"
	    "'code':'mm[Hg]'}}]}", &it);
	assert_int_equal(it.fi_nfacts, 2);
	assert_true(fact_of(&it, INPUT_SYSTOLIC).ff_value == 142);
	assert_true(fact_of(&it, INPUT_DIASTOLIC).ff_value == 88);
	assert_int_equal(it.fi_unused, FHIR_USED);
	fhir_item_free(&it);
}

/* --- stored but not used ------------------------------------------------- */

static void
test_fhir_marks_unusable_observations_with_their_reason(void **state)
{
	struct fhir_item it;

	/* Preliminary: the fact is kept, not usable (FHIR.md status). */
	accept("{'resourceType':'Observation','status':'preliminary',"
	    "'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'17861-6'}]},'subject':{'reference':'Patient/p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z'," CA_VALUE "}", &it);
	assert_int_equal(it.fi_nfacts, 1);
	assert_false(it.fi_facts[0].ff_usable);
	assert_int_equal(it.fi_unused, FHIR_UNUSED_STATUS);
	fhir_item_free(&it);

	/* A code the table does not map: stored, no fact, never guessed. */
	accept("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'8867-4'}]},"
	    "'subject':{'reference':'Patient/p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z',"
	    "'valueQuantity':{'value':72,'code':'/min'}}", &it);
	assert_int_equal(it.fi_nfacts, 0);
	assert_int_equal(it.fi_unused, FHIR_UNUSED_CODE);
	fhir_item_free(&it);

	/* A unit units.c does not know: an unusable fact. */
	accept(CA_HEAD ",'valueQuantity':{'value':5,'unit':'furlongs',"
	    "'code':'furlongs'}}", &it);
	assert_int_equal(it.fi_unused, FHIR_UNUSED_UNIT);
	assert_int_equal(it.fi_nfacts, 1);
	assert_false(it.fi_facts[0].ff_usable);
	fhir_item_free(&it);

	accept(CA_HEAD ",'dataAbsentReason':{'text':'hemolysed'}}", &it);
	assert_int_equal(it.fi_unused, FHIR_UNUSED_ABSENT);
	assert_int_equal(it.fi_nfacts, 0);
	fhir_item_free(&it);

	accept("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'17861-6'}]},"
	    "'subject':{'reference':'Patient/p1'}," CA_VALUE "}", &it);
	assert_int_equal(it.fi_unused, FHIR_UNUSED_NOTIME);
	assert_int_equal(it.fi_nfacts, 0);
	fhir_item_free(&it);

	/* A Group subject names no patient: stored under none, not used. */
	accept("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'17861-6'}]},"
	    "'subject':{'reference':'Group/g1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z'," CA_VALUE "}", &it);
	assert_int_equal(it.fi_nkeys, 0);
	assert_int_equal(it.fi_nfacts, 0);
	assert_int_equal(it.fi_unused, FHIR_UNUSED_NOPATIENT);
	fhir_item_free(&it);
}

static void
test_fhir_entered_in_error_retracts(void **state)
{
	struct fhir_item it;

	accept("{'resourceType':'Observation','id':'ca-1',"
	    "'status':'entered-in-error','code':{'coding':[{'system':"
	    "'http://loinc.org','code':'17861-6'}]},"
	    "'subject':{'reference':'Patient/it-p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z'," CA_VALUE "}", &it);
	assert_true(it.fi_retract);
	assert_int_equal(it.fi_nfacts, 0);
	assert_string_equal(it.fi_id, "ca-1");
	fhir_item_free(&it);
}

/* --- rejection classes: the body ------------------------------------------ */

static void
test_fhir_rejects_empty_truncated_and_non_object_bodies(void **state)
{
	reject_bytes("", 0, ST_PARSE, DIAG_BODY_EMPTY, 400, "");
	reject_bytes(" \r\n\t", 4, ST_PARSE, DIAG_BODY_EMPTY, 400, "");
	reject("{'resourceType':'Observ", ST_PARSE, DIAG_BAD_JSON, 400, "");
	reject("{'resourceType':'Observation',}", ST_PARSE, DIAG_BAD_JSON,
	    400, "");
	reject("[{'resourceType':'Observation'}]", ST_PARSE,
	    DIAG_NOT_RESOURCE, 400, "");
	/* jansson takes only objects and arrays at the top level. */
	reject("'Observation'", ST_PARSE, DIAG_BAD_JSON, 400, "");
}

static void
test_fhir_rejects_duplicate_keys(void **state)
{
	reject("{'resourceType':'Observation','status':'final',"
	    "'status':'" SECRET "'}", ST_PARSE, DIAG_JSON_DUP_KEY, 400, "");
	/* Also deep inside, where a last-wins parser would hide it. */
	reject("{'resourceType':'Observation','valueQuantity':"
	    "{'value':1,'value':2}}", ST_PARSE, DIAG_JSON_DUP_KEY, 400, "");
}

static void
test_fhir_rejects_invalid_utf8_and_nul(void **state)
{
	static const char bad_byte[] = "{\"resourceType\":\"Observation\","
	    "\"note\":[{\"text\":\"a\xff" SECRET "\"}]}";
	static const char overlong[] = "{\"resourceType\":\"Observation\","
	    "\"note\":[{\"text\":\"\xc0\xaf\"}]}";
	static const char raw_nul[] = "{\"resourceType\":\"Observation\","
	    "\"status\":\"fi\0nal\"}";

	reject_bytes(bad_byte, sizeof(bad_byte) - 1, ST_PARSE, DIAG_JSON_UTF8,
	    400, "");
	reject_bytes(overlong, sizeof(overlong) - 1, ST_PARSE, DIAG_JSON_UTF8,
	    400, "");
	reject("{'resourceType':'Observation','status':'fi\\u0000nal'}",
	    ST_PARSE, DIAG_JSON_NUL, 400, "");
	reject("{'resourceType':'Observation','a\\u0000b':1}", ST_PARSE,
	    DIAG_JSON_NUL, 400, "");
	/* A raw NUL byte is no valid JSON at all. */
	reject_bytes(raw_nul, sizeof(raw_nul) - 1, ST_PARSE, DIAG_BAD_JSON,
	    400, "");
}

static void
test_fhir_rejects_numbers_out_of_range(void **state)
{
	reject(CA_HEAD ",'valueQuantity':{'value':1e999}}", ST_PARSE,
	    DIAG_JSON_NUMBER, 400, "");
	reject(CA_HEAD ",'valueQuantity':{'value':-1e999}}", ST_PARSE,
	    DIAG_JSON_NUMBER, 400, "");
	/* NaN is no JSON number. */
	reject(CA_HEAD ",'valueQuantity':{'value':NaN}}", ST_PARSE,
	    DIAG_BAD_JSON, 400, "");
}

/* A body nested depth levels deep, in brackets outside strings. */
static char *
nested(int depth)
{
	struct buf b;
	int i;

	buf_init(&b);
	buf_puts(&b, "{\"resourceType\":\"Observation\",\"x\":");
	for (i = 1; i < depth; i++)
		buf_putc(&b, '[');
	for (i = 1; i < depth; i++)
		buf_putc(&b, ']');
	buf_putc(&b, '}');
	return buf_steal(&b, NULL);
}

static void
test_fhir_limits_nesting_depth_exactly(void **state)
{
	struct diag d;
	char *s;
	json_t *j;

	s = nested(64);
	diag_clear(&d);
	j = fhir_parse(s, strlen(s), 64, &d);
	assert_non_null(j);
	json_decref(j);
	free(s);
	s = nested(65);
	reject_bytes(s, strlen(s), ST_PARSE, DIAG_JSON_DEPTH, 400, "");
	free(s);
	s = nested(10000);
	reject_bytes(s, strlen(s), ST_PARSE, DIAG_JSON_DEPTH, 400, "");
	free(s);
	/* Brackets inside strings are text, not nesting. */
	s = jfx_dq("{'resourceType':'Observation','x':'[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "\\\"[[[['}");
	diag_clear(&d);
	j = fhir_parse(s, strlen(s), 16, &d);
	assert_non_null(j);
	json_decref(j);
	free(s);
}

/* --- rejection classes: the structure (fhir_validate) -------------------- */

static void
test_fhir_rejects_missing_status(void **state)
{
	reject("{'resourceType':'Observation','code':{'text':'x'},"
	    "'subject':{'reference':'Patient/p1'}}", ST_VALIDATE,
	    DIAG_REQUIRED, 400, "Observation.status");
}

static void
test_fhir_rejects_datetime_without_zone(void **state)
{
	reject("{'resourceType':'Observation','status':'final',"
	    "'code':{'text':'x'},'effectiveDateTime':'2026-11-20T08:00:00'}",
	    ST_VALIDATE, DIAG_BAD_VALUE, 400, "Observation.effectiveDateTime");
	reject("{'resourceType':'Observation','status':'final',"
	    "'code':{'text':'x'},'effectivePeriod':{'start':"
	    "'2026-11-20T08:00:00Z','end':'2026-11-20T09:00:00'}}",
	    ST_VALIDATE, DIAG_BAD_VALUE, 400,
	    "Observation.effectivePeriod.end");
}

static void
test_fhir_rejects_bad_references(void **state)
{
	reject("{'resourceType':'Observation','status':'final',"
	    "'code':{'text':'x'},'subject':{'reference':'Patient/a b'}}",
	    ST_VALIDATE, DIAG_BAD_REFERENCE, 400,
	    "Observation.subject.reference");
	reject("{'resourceType':'Observation','status':'final',"
	    "'code':{'text':'x'},'subject':{'reference':'Nonsense/1'}}",
	    ST_VALIDATE, DIAG_BAD_REFERENCE, 400,
	    "Observation.subject.reference");
	/* Well-formed, but a urn:uuid outside a Bundle names nothing. */
	reject("{'resourceType':'Observation','status':'final',"
	    "'code':{'text':'x'},'subject':{'reference':"
	    "'urn:uuid:a5e4c1f2-0b1c-4d2e-9f3a-123456789abc'}}",
	    ST_EXTRACT, DIAG_UNRESOLVED_REF, 400,
	    "Observation.subject.reference");
}

static void
test_fhir_rejects_wrong_resource_type_for_extraction(void **state)
{
	struct fhir_item it;
	struct diag d;
	json_t *j;
	char *s = jfx_dq("{'resourceType':'Encounter','status':'finished'}");

	j = json_loads(s, 0, NULL);
	free(s);
	diag_clear(&d);
	assert_int_equal(fhir_extract(j, NULL, "Encounter", jfx_terms, NULL, &it,
	    &d), -1);
	assert_int_equal(d.d_code, DIAG_WRONG_TYPE);
	json_decref(j);
}

/* --- rejection classes: business rules (422) ------------------------------ */

static void
test_fhir_rejects_values_outside_physiological_bounds(void **state)
{
	struct fhir_item it;
	struct diag d;
	char *s;

	reject(CA_HEAD ",'valueQuantity':{'value':87.654,'unit':'mg/dL',"
	    "'system':'http://unitsofmeasure.org','code':'mg/dL'}}",
	    ST_EXTRACT, DIAG_OUT_OF_BOUNDS, 422,
	    "Observation.valueQuantity.value");
	/* The bounds hold after conversion: 25 mmol/L is 100 mg/dL. */
	reject(CA_HEAD ",'valueQuantity':{'value':25,'unit':'mmol/L',"
	    "'system':'http://unitsofmeasure.org','code':'mmol/L'}}",
	    ST_EXTRACT, DIAG_OUT_OF_BOUNDS, 422,
	    "Observation.valueQuantity.value");
	reject(CA_HEAD ",'valueQuantity':{'value':-1,'unit':'mg/dL',"
	    "'system':'http://unitsofmeasure.org','code':'mg/dL'}}",
	    ST_EXTRACT, DIAG_OUT_OF_BOUNDS, 422,
	    "Observation.valueQuantity.value");
	/* A component names its index. */
	reject("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'85354-9'}]},"
	    "'subject':{'reference':'Patient/p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z','component':["
	    "{'code':{'text':'pulse'},'valueQuantity':{'value':60}},"
	    "{'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'8480-6'}]},"
	    "'valueQuantity':{'value':900,'system':'http://unitsofmeasure.org',"
	    "'code':'mm[Hg]'}}]}", ST_EXTRACT, DIAG_OUT_OF_BOUNDS, 422,
	    "Observation.component[1].valueQuantity.value");
	/* Without a nameable patient the bounds still hold. */
	reject("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'17861-6'}]},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z',"
	    "'valueQuantity':{'value':80,'code':'mg/dL'}}", ST_EXTRACT,
	    DIAG_OUT_OF_BOUNDS, 422, "Observation.valueQuantity.value");
	/* Inside a Bundle the expression starts at the entry. */
	s = jfx_dq(CA_HEAD ",'valueQuantity':{'value':80,'code':'mg/dL'}}");
	assert_int_equal(run_bytes(s, strlen(s), NULL,
	    "Bundle.entry[3].resource", &it, &d), ST_EXTRACT);
	free(s);
	check_diag(&d, DIAG_OUT_OF_BOUNDS, 422,
	    "Bundle.entry[3].resource.valueQuantity.value");
	/* The message names the bounds, never the value sent. */
	s = jfx_dq(CA_HEAD ",'valueQuantity':{'value':87.654,'code':'mg/dL'}}");
	run_bytes(s, strlen(s), NULL, NULL, &it, &d);
	free(s);
	assert_null(strstr(d.d_msg, "87.654"));
}

/* --- identity and content hash ------------------------------------------- */

/* Extract text; copy out id, client-id flag and hash. */
static void
identity(const char *text, const char *put_id, char *id, size_t idsz,
    bool *client, uint8_t *hash)
{
	struct fhir_item it;
	struct diag d;

	if (run(text, put_id, &it, &d) != ST_OK)
		fail_msg("rejected: %d %s: %s", d.d_code, d.d_expr, d.d_msg);
	assert_true(strlen(it.fi_id) < idsz);
	util_strlcpy(id, it.fi_id, idsz);
	if (client != NULL)
		*client = it.fi_client_id;
	if (hash != NULL)
		memcpy(hash, it.fi_hash, SHA256_LEN);
	fhir_item_free(&it);
}

static void
test_fhir_hash_ignores_whitespace_and_server_fields(void **state)
{
	uint8_t h1[SHA256_LEN], h2[SHA256_LEN];
	char id1[80], id2[80];

	identity(CA, NULL, id1, sizeof(id1), NULL, h1);
	/* Pretty-printed: the same content. */
	identity("{ 'resourceType' : 'Observation' ,\n\t'id' : 'ca-1' ,\n"
	    "  'identifier' : [ { 'system' : 'urn:oid:1.2.3.4.lab' , "
	    "'value' : 'LAB-0001' } ] ,\r\n  'status' : 'final' ,\n"
	    "  'code' : { 'coding' : [ { 'system' : 'http://loinc.org' , "
	    "'code' : '17861-6' , 'display' : 'Calcium' } ] } ,\n"
	    "  'subject' : { 'reference' : 'Patient/it-p1' } ,\n"
	    "  'effectiveDateTime' : '2026-11-20T08:00:00Z' ,\n"
	    "  'valueQuantity' : { 'value' : 10.8 , 'unit' : 'mg/dL' , "
	    "'system' : 'http://unitsofmeasure.org' , 'code' : 'mg/dL' }\n}\n",
	    NULL, id2, sizeof(id2), NULL, h2);
	assert_memory_equal(h1, h2, SHA256_LEN);
	/* The same number spelt otherwise is the same value. */
	identity(CA_HEAD ",'valueQuantity':{'value':1.080e1,'unit':'mg/dL',"
	    "'system':'http://unitsofmeasure.org','code':'mg/dL'}}", NULL,
	    id2, sizeof(id2), NULL, h2);
	assert_memory_equal(h1, h2, SHA256_LEN);
	/* meta and id are the server's: not content. */
	identity("{'resourceType':'Observation','id':'other','meta':"
	    "{'versionId':'7','lastUpdated':'2020-01-01T00:00:00Z'},"
	    "'identifier':[{'system':'urn:oid:1.2.3.4.lab',"
	    "'value':'LAB-0001'}],'status':'final',"
	    "'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'17861-6','display':'Calcium'}]},"
	    "'subject':{'reference':'Patient/it-p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z'," CA_VALUE "}", NULL,
	    id2, sizeof(id2), NULL, h2);
	assert_memory_equal(h1, h2, SHA256_LEN);
	assert_string_equal(id2, "other");
	/* Keys in another order, at every level: the same content. */
	identity("{'valueQuantity':{'code':'mg/dL','system':"
	    "'http://unitsofmeasure.org','unit':'mg/dL','value':10.8},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z',"
	    "'subject':{'reference':'Patient/it-p1'},"
	    "'code':{'coding':[{'display':'Calcium','code':'17861-6',"
	    "'system':'http://loinc.org'}]},'status':'final',"
	    "'identifier':[{'value':'LAB-0001','system':"
	    "'urn:oid:1.2.3.4.lab'}],'id':'ca-1','resourceType':"
	    "'Observation'}", NULL, id2, sizeof(id2), NULL, h2);
	assert_memory_equal(h1, h2, SHA256_LEN);
	/* Any change of content is another hash. */
	identity(CA_HEAD ",'valueQuantity':{'value':10.9,'unit':'mg/dL',"
	    "'system':'http://unitsofmeasure.org','code':'mg/dL'}}", NULL,
	    id2, sizeof(id2), NULL, h2);
	assert_memory_not_equal(h1, h2, SHA256_LEN);
}

static void
test_fhir_client_id_wins_and_put_id_wins_over_body(void **state)
{
	char id[80];
	bool client;

	identity(CA, NULL, id, sizeof(id), &client, NULL);
	assert_string_equal(id, "ca-1");
	assert_true(client);
	identity(CA, "put-9", id, sizeof(id), &client, NULL);
	assert_string_equal(id, "put-9");
	assert_true(client);
}

#define NOID_HEAD "{'resourceType':'Observation','status':'final'," \
		"'code':{'coding':[{'system':'http://loinc.org'," \
		"'code':'17861-6'}]},'subject':{'reference':'Patient/p1'}," \
		"'effectiveDateTime':'2026-11-20T08:00:00Z',"

static void
test_fhir_identifier_names_the_resource_across_versions(void **state)
{
	char a[80], b[80], c[80];
	bool client;

	identity(NOID_HEAD "'identifier':[{'system':'urn:x','value':'L-1'}],"
	    "'valueQuantity':{'value':9.1,'code':'mg/dL'}}", NULL, a,
	    sizeof(a), &client, NULL);
	assert_false(client);
	assert_true(bundle_valid_id(a));
	/* Amended value, same identifier: the same resource. */
	identity(NOID_HEAD "'identifier':[{'system':'urn:x','value':'L-1'}],"
	    "'valueQuantity':{'value':9.4,'code':'mg/dL'}}", NULL, b,
	    sizeof(b), NULL, NULL);
	assert_string_equal(a, b);
	/* Another identifier: another resource. */
	identity(NOID_HEAD "'identifier':[{'system':'urn:x','value':'L-2'}],"
	    "'valueQuantity':{'value':9.1,'code':'mg/dL'}}", NULL, c,
	    sizeof(c), NULL, NULL);
	assert_string_not_equal(a, c);
}

static void
test_fhir_content_names_resource_without_identifier(void **state)
{
	char a[80], b[80], c[80];
	bool client;

	identity(NOID_HEAD "'valueQuantity':{'value':9.1,'code':'mg/dL'}}",
	    NULL, a, sizeof(a), &client, NULL);
	assert_false(client);
	assert_true(bundle_valid_id(a));
	/* A retry: the same resource. */
	identity(NOID_HEAD "'valueQuantity':{'value':9.1,'code':'mg/dL'}}",
	    NULL, b, sizeof(b), NULL, NULL);
	assert_string_equal(a, b);
	identity(NOID_HEAD "'valueQuantity':{'value':9.2,'code':'mg/dL'}}",
	    NULL, c, sizeof(c), NULL, NULL);
	assert_string_not_equal(a, c);
}

/* Results of one order share its accession number: the derived id keeps
 * calcium and phosphate apart (the code is part of it). */
static void
test_fhir_identifier_and_code_name_a_panel_member(void **state)
{
	char a[80], b[80];

	identity(NOID_HEAD "'identifier':[{'system':'urn:x','value':'ORD-1'}],"
	    "'valueQuantity':{'value':9.1,'code':'mg/dL'}}", NULL, a,
	    sizeof(a), NULL, NULL);
	identity("{'resourceType':'Observation','status':'final',"
	    "'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'2777-1'}]},'subject':{'reference':'Patient/p1'},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z',"
	    "'identifier':[{'system':'urn:x','value':'ORD-1'}],"
	    "'valueQuantity':{'value':5.1,'code':'mg/dL'}}", NULL, b,
	    sizeof(b), NULL, NULL);
	assert_string_not_equal(a, b);
}

static void
expect_code_key(const char *text, const char *want)
{
	char *t = jfx_dq(text);
	json_t *j = json_loads(t, 0, NULL);
	char *k;

	assert_non_null(j);
	k = fhir_code_key(j);
	assert_string_equal(k, want);
	free(k);
	json_decref(j);
	free(t);
}

static void
test_fhir_code_key_ignores_order_display_and_repeats(void **state)
{
	expect_code_key("{'code':{'coding':[{'system':'http://loinc.org',"
	    "'code':'17861-6','display':'Calcium'},{'system':'urn:lab',"
	    "'code':'CA'}]}}", "http://loinc.org|17861-6 urn:lab|CA");
	expect_code_key("{'code':{'coding':[{'code':'CA','system':'urn:lab'},"
	    "{'system':'http://loinc.org','code':'17861-6'},{'system':"
	    "'urn:lab','code':'CA'}]}}", "http://loinc.org|17861-6 urn:lab|CA");
	expect_code_key("{'code':{'coding':[{'code':'x'}]}}", "|x");
	expect_code_key("{'code':{'text':'serum calcium'}}",
	    "text:serum calcium");
	expect_code_key("{'medicationCodeableConcept':{'coding':[{'system':"
	    "'http://www.nlm.nih.gov/research/umls/rxnorm','code':'855332'}]}}",
	    "http://www.nlm.nih.gov/research/umls/rxnorm|855332");
	expect_code_key("{'status':'final'}", "");
}

/* --- patient identity ---------------------------------------------------- */

static void
test_fhir_patient_key_normalises_every_spelling(void **state)
{
	static const char *const same[] = {
		"Patient/123", "Patient/123/_history/4",
		"http://example.org/fhir/Patient/123",
		"https://h.example/base/r4/Patient/123/_history/1",
	};
	static const char *const not_patient[] = {
		"Group/123", "Patient/", "Patient/a/b", "XPatient/123",
		"http://example.org/fhir/Group/1",
	};
	char key[160];
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(same); i++) {
		assert_int_equal(fhir_patient_key(same[i], key, sizeof(key)),
		    0);
		assert_string_equal(key, "ref:Patient/123");
	}
	for (i = 0; i < UTIL_ARRAY_LEN(not_patient); i++)
		if (fhir_patient_key(not_patient[i], key, sizeof(key)) != -1)
			fail_msg("%s taken for a Patient (%s)", not_patient[i],
			    key);
}

static void
test_fhir_subject_reference_and_identifier_are_keys(void **state)
{
	struct fhir_item it;

	accept("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'17861-6'}]},"
	    "'subject':{'reference':'http://example.org/fhir/Patient/p7',"
	    "'identifier':{'system':'urn:mrn','value':'M-7'}},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z'," CA_VALUE "}", &it);
	assert_int_equal(it.fi_nkeys, 2);
	assert_true(has_key(&it, "ref:Patient/p7"));
	assert_true(has_key(&it, "ident:urn:mrn|M-7"));
	fhir_item_free(&it);

	accept("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'system':'http://loinc.org','code':'17861-6'}]},"
	    "'subject':{'identifier':{'system':'urn:mrn','value':'M-8'}},"
	    "'effectiveDateTime':'2026-11-20T08:00:00Z'," CA_VALUE "}", &it);
	assert_int_equal(it.fi_nkeys, 1);
	assert_string_equal(it.fi_keys[0], "ident:urn:mrn|M-8");
	assert_int_equal(it.fi_unused, FHIR_USED);
	fhir_item_free(&it);
}

static void
test_fhir_patient_resource_gives_keys_sex_and_birth_date(void **state)
{
	struct fhir_item it;

	accept("{'resourceType':'Patient','id':'it-p1','identifier':"
	    "[{'system':'urn:oid:1.2.3.4.mrn','value':'MRN-1001'}],"
	    "'gender':'female','birthDate':'1958-03-14'}", &it);
	assert_int_equal(it.fi_type, FHIR_PATIENT);
	assert_true(has_key(&it, "ref:Patient/it-p1"));
	assert_true(has_key(&it, "ident:urn:oid:1.2.3.4.mrn|MRN-1001"));
	assert_true(fact_of(&it, INPUT_SEX).ff_value == INPUT_SEX_FEMALE);
	/* Days since the epoch: 1958-03-14 is day -4311. */
	assert_true(fact_of(&it, INPUT_BIRTH_DATE).ff_value == -4311);
	fhir_item_free(&it);
}

static void
test_fhir_stored_json_puts_server_fields_first(void **state)
{
	struct fhir_item it;
	struct buf b;
	json_t *j;

	accept(CA, &it);
	buf_init(&b);
	fhir_stored_json(it.fi_type, it.fi_id, 3, EFF_MS, it.fi_body,
	    it.fi_bodylen, &b);
	assert_true(util_has_prefix(b.b_data,
	    "{\"resourceType\":\"Observation\",\"id\":\"ca-1\",\"meta\":"));
	j = json_loads(b.b_data, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "meta"), "versionId")), "3");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "meta"), "lastUpdated")),
	    "2026-11-20T08:00:00Z");
	assert_true(json_number_value(json_object_get(json_object_get(j,
	    "valueQuantity"), "value")) == 10.8);
	json_decref(j);
	buf_free(&b);
	fhir_item_free(&it);
}

/* --- allocation failure ------------------------------------------------ */

/*
 * The x wrappers abort on allocation failure by design (util.h; a 2xx
 * comes only after COMMIT, so nothing acknowledged is lost), and the
 * countdown only reaches the *_try variants.  What can fail softly is
 * what goes through them: jansson, once its allocator is routed there (as
 * here), and fhir_validate's table for many contained resources.  For
 * every countdown value until the pipeline no longer hits the injected
 * failure, it must either succeed or fail cleanly and leave nothing
 * allocated (ASan's leak check in the sanitizer build): NO_MEMORY (503)
 * from validation and extraction, NO_MEMORY or BAD_JSON from parsing --
 * jansson turns a failed allocation while scanning a string into an
 * invalid token, which no caller can tell from bad input.
 */
static void
alloc_fail_sweep(const char *text, int *failures, int *misreported)
{
	struct fhir_item it;
	struct diag d;
	enum stage st;
	char *s = jfx_dq(text);
	long k;

	*failures = *misreported = 0;
	json_set_alloc_funcs(util_malloc_try, util_free_try);
	for (k = 1; k < 100000; k++) {
		util_alloc_fail_countdown = k;
		st = run_bytes(s, strlen(s), NULL, NULL, &it, &d);
		if (util_alloc_fail_countdown > 0) {
			/* Fewer than k allocations: nothing failed. */
			util_alloc_fail_countdown = 0;
			if (st != ST_OK)
				fail_msg("k=%ld: no allocation failed, yet "
				    "rejected: %d %s", k, d.d_code, d.d_msg);
			fhir_item_free(&it);
			break;
		}
		util_alloc_fail_countdown = 0;
		if (st == ST_OK) {
			/* The failure hit something that can fall back. */
			fhir_item_free(&it);
			continue;
		}
		(*failures)++;
		if (d.d_code == DIAG_NO_MEMORY)
			assert_int_equal(d.d_status, 503);
		else if (st != ST_PARSE || d.d_code != DIAG_BAD_JSON)
			fail_msg("k=%ld: allocation failure reported as %d at "
			    "stage %d (%s)", k, d.d_code, st, d.d_msg);
		else
			(*misreported)++;
	}
	json_set_alloc_funcs(malloc, free);
	free(s);
	assert_true(k < 100000);
}

static void
test_fhir_survives_every_allocation_failure(void **state)
{
	struct buf b;
	int failures, misreported, i;

	alloc_fail_sweep(CA, &failures, &misreported);
	/* The sweep really injected failures, most of them reported as
	 * what they are. */
	assert_true(failures > 10);
	assert_true(misreported < failures / 2);

	/* More contained resources than fhir_validate keeps on its stack. */
	buf_init(&b);
	buf_puts(&b, CA_HEAD ",'contained':[");
	for (i = 0; i < 20; i++)
		buf_printf(&b, "%s{'resourceType':'Practitioner','id':'pr%d',"
		    "'name':[{'family':'F%d'}]}", i > 0 ? "," : "", i, i);
	buf_puts(&b, "],'performer':[");
	for (i = 0; i < 20; i++)
		buf_printf(&b, "%s{'reference':'#pr%d'}", i > 0 ? "," : "", i);
	buf_puts(&b, "]," CA_VALUE "}");
	alloc_fail_sweep(b.b_data, &failures, &misreported);
	assert_true(failures > 10);
	assert_true(misreported < failures / 2);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_fhir_extracts_calcium_observation_into_item),
		cmocka_unit_test(test_fhir_converts_si_calcium_to_mg_per_dl),
		cmocka_unit_test(
		    test_fhir_reads_blood_pressure_panel_components),
		cmocka_unit_test(
		    test_fhir_marks_unusable_observations_with_their_reason),
		cmocka_unit_test(test_fhir_entered_in_error_retracts),
		cmocka_unit_test(
		    test_fhir_rejects_empty_truncated_and_non_object_bodies),
		cmocka_unit_test(test_fhir_rejects_duplicate_keys),
		cmocka_unit_test(test_fhir_rejects_invalid_utf8_and_nul),
		cmocka_unit_test(test_fhir_rejects_numbers_out_of_range),
		cmocka_unit_test(test_fhir_limits_nesting_depth_exactly),
		cmocka_unit_test(test_fhir_rejects_missing_status),
		cmocka_unit_test(test_fhir_rejects_datetime_without_zone),
		cmocka_unit_test(test_fhir_rejects_bad_references),
		cmocka_unit_test(
		    test_fhir_rejects_wrong_resource_type_for_extraction),
		cmocka_unit_test(
		    test_fhir_rejects_values_outside_physiological_bounds),
		cmocka_unit_test(
		    test_fhir_hash_ignores_whitespace_and_server_fields),
		cmocka_unit_test(
		    test_fhir_identifier_and_code_name_a_panel_member),
		cmocka_unit_test(
		    test_fhir_code_key_ignores_order_display_and_repeats),
		cmocka_unit_test(
		    test_fhir_client_id_wins_and_put_id_wins_over_body),
		cmocka_unit_test(
		    test_fhir_identifier_names_the_resource_across_versions),
		cmocka_unit_test(
		    test_fhir_content_names_resource_without_identifier),
		cmocka_unit_test(
		    test_fhir_patient_key_normalises_every_spelling),
		cmocka_unit_test(
		    test_fhir_subject_reference_and_identifier_are_keys),
		cmocka_unit_test(
		    test_fhir_patient_resource_gives_keys_sex_and_birth_date),
		cmocka_unit_test(
		    test_fhir_stored_json_puts_server_fields_first),
		cmocka_unit_test(test_fhir_survives_every_allocation_failure),
	};

	return cmocka_run_group_tests(tests, jfx_terms_setup,
	    jfx_terms_teardown);
}
