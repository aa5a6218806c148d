/*
 * test_fhir_validate.c - fhir_validate: every official R4 example of the
 * types calcifyd reads is accepted (tests/data/r4-examples), each
 * structural rule rejects with its diag code and exact FHIRPath
 * expression, and randomly mutated examples never crash it.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "diag.h"
#include "fhir_validate.h"
#include "util.h"

#include "json_fixture.h"

/* Marker put into values: no diagnostic may ever echo it. */
#define SECRET	"SeCrEt42"

/* A valid Observation's opening; tests append elements and the '}'. */
#define OBS	"{'resourceType':'Observation','id':'o1','status':'final'," \
		"'code':{'coding':[{'system':'http://loinc.org'," \
		"'code':'17861-6','display':'Calcium'}]}," \
		"'subject':{'reference':'Patient/p1'}"

static void
accept_json(const json_t *j, const char *path)
{
	struct diag d;

	diag_clear(&d);
	if (fhir_validate(j, path, &d) != 0)
		fail_msg("rejected: %d %s: %s", d.d_code, d.d_expr, d.d_msg);
}

static void
accept(const char *text)
{
	json_t *j = jfx_json(text);

	accept_json(j, "Observation");
	json_decref(j);
}

static void
reject_json(const json_t *j, const char *path, enum diag_code code,
    const char *expr)
{
	struct diag d;

	diag_clear(&d);
	if (fhir_validate(j, path, &d) != -1)
		fail_msg("accepted, expected %d at %s", code, expr);
	if (d.d_code != code || strcmp(d.d_expr, expr) != 0)
		fail_msg("expected %d at %s, got %d at %s (%s)", code, expr,
		    d.d_code, d.d_expr, d.d_msg);
	assert_int_equal(d.d_status, diag_http_status(code));
	assert_true(d.d_msg[0] != '\0');
	assert_null(strstr(d.d_msg, SECRET));
}

static void
reject(const char *text, enum diag_code code, const char *expr)
{
	json_t *j = jfx_json(text);

	reject_json(j, "Observation", code, expr);
	json_decref(j);
}

/* The same for other resource types, validated with path as prefix. */
static void
accept_as(const char *path, const char *text)
{
	json_t *j = jfx_json(text);

	accept_json(j, path);
	json_decref(j);
}

static void
reject_as(const char *path, const char *text, enum diag_code code,
    const char *expr)
{
	json_t *j = jfx_json(text);

	reject_json(j, path, code, expr);
	json_decref(j);
}

/* --- the official examples ----------------------------------------------- */

static char *
examples_dir(void)
{
	const char *top = getenv("top_srcdir");

	return xasprintf("%s/tests/data/r4-examples", top != NULL ? top : ".");
}

/* Load every example; returns the count, documents in *out (caller frees). */
static size_t
load_examples(json_t ***out, char ***names)
{
	char *dir = examples_dir(), *file;
	json_t **docs = NULL;
	char **nm = NULL;
	struct dirent *de;
	json_error_t err;
	size_t n = 0;
	DIR *dp;

	dp = opendir(dir);
	if (dp == NULL)
		fail_msg("cannot open %s (set top_srcdir)", dir);
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		file = xasprintf("%s/%s", dir, de->d_name);
		docs = xrealloc(docs, (n + 1) * sizeof(*docs));
		nm = xrealloc(nm, (n + 1) * sizeof(*nm));
		docs[n] = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
		if (docs[n] == NULL)
			fail_msg("%s: %s", file, err.text);
		nm[n++] = xstrdup(de->d_name);
		free(file);
	}
	closedir(dp);
	free(dir);
	*out = docs;
	*names = nm;
	return n;
}

static void
free_examples(json_t **docs, char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_decref(docs[i]);
		free(names[i]);
	}
	free(docs);
	free(names);
}

static void
test_fhir_validate_accepts_official_r4_examples(void **state)
{
	size_t i, n, bad = 0, obs = 0;
	char **names;
	json_t **docs;
	const char *rt;
	struct diag d;

	n = load_examples(&docs, &names);
	for (i = 0; i < n; i++) {
		rt = json_string_value(json_object_get(docs[i],
		    "resourceType"));
		assert_non_null(rt);
		if (strcmp(rt, "Observation") == 0)
			obs++;
		diag_clear(&d);
		if (fhir_validate(docs[i], rt, &d) != 0) {
			print_error("%s: %d %s: %s\n", names[i], d.d_code,
			    d.d_expr, d.d_msg);
			bad++;
		}
	}
	free_examples(docs, names, n);
	assert_int_equal(bad, 0);
	/* The directory really was read: all 64 Observation examples. */
	assert_int_equal(obs, 64);
	assert_true(n >= 150);
}

/* --- acceptance of the forms R4 allows ----------------------------------- */

static void
test_fhir_validate_accepts_minimal_and_rich_observations(void **state)
{
	accept(OBS "}");
	accept(OBS ",'effectiveDateTime':'2026-11-20T08:00:00+01:00',"
	    "'valueQuantity':{'value':9.5,'comparator':'<','unit':'mg/dL',"
	    "'system':'http://unitsofmeasure.org','code':'mg/dL'}}");
	accept(OBS ",'effectiveDateTime':'2026','valueInteger':2147483647}");
	accept(OBS ",'effectiveDateTime':'2026-02',"
	    "'valueInteger':-2147483648}");
	accept(OBS ",'valueTime':'23:59:60.5','issued':"
	    "'2026-01-01T00:00:00.123Z'}");
	accept(OBS ",'valueBoolean':false}");
	accept(OBS ",'text':{'status':'generated','div':"
	    "'<div xmlns=\\'http://www.w3.org/1999/xhtml\\'>x</div>'}}");
	accept(OBS ",'extension':[{'url':'http://x.org/a','valueOid':"
	    "'urn:oid:1.2.840.10008'},{'url':'http://x.org/b','valueUuid':"
	    "'urn:uuid:a5e4c1f2-0b1c-4d2e-9f3a-123456789abc'},"
	    "{'url':'http://x.org/c','valueBase64Binary':'aGVs bG8/'},"
	    "{'url':'http://x.org/d','extension':[{'url':'e',"
	    "'valueCode':'a b'}]}]}");
}

/* An Observation whose subject.reference is ref. */
static json_t *
with_subject(const char *ref)
{
	json_t *j = jfx_json(OBS "}");

	json_object_set_new(json_object_get(j, "subject"), "reference",
	    json_string(ref));
	return j;
}

static void
test_fhir_validate_accepts_every_reference_form(void **state)
{
	static const char *const refs[] = {
		"Patient/p1", "Patient/p1/_history/2",
		"http://example.org/fhir/Patient/1",
		"urn:uuid:A5E4C1F2-0B1C-4D2E-9F3A-123456789ABC",
		"urn:oid:1.2.3.4", "Patient?identifier=http://x|1",
	};
	json_t *j;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(refs); i++) {
		j = with_subject(refs[i]);
		accept_json(j, "Observation");
		json_decref(j);
	}
}

/* --- the rules, one by one ----------------------------------------------- */

static void
test_fhir_validate_rejects_unknown_elements(void **state)
{
	reject(OBS ",'foo':'" SECRET "'}", DIAG_UNKNOWN_ELEMENT,
	    "Observation.foo");
	reject(OBS ",'valueQuantity':{'value':1,'units':'mg'}}",
	    DIAG_UNKNOWN_ELEMENT, "Observation.valueQuantity.units");
	/* A choice element needs its type suffix. */
	reject(OBS ",'value':1}", DIAG_UNKNOWN_ELEMENT, "Observation.value");
	reject(OBS ",'valueFoo':1}", DIAG_UNKNOWN_ELEMENT,
	    "Observation.valueFoo");
	/* Medplum's additions to Meta are not R4. */
	reject(OBS ",'meta':{'project':'x'}}", DIAG_UNKNOWN_ELEMENT,
	    "Observation.meta.project");
	/* resourceType is only known at a resource's root. */
	reject(OBS ",'valueCodeableConcept':{'text':'x',"
	    "'resourceType':'Patient'}}", DIAG_UNKNOWN_ELEMENT,
	    "Observation.valueCodeableConcept.resourceType");
}

/* An unknown key that could not be an element name (a name, a date, an
 * identifier turned into a key) is not repeated: the expression stops at
 * the object that holds it. */
static void
test_fhir_validate_does_not_echo_unknown_keys_that_are_not_names(void **state)
{
	reject(OBS ",'Jane Doe " SECRET "':1}", DIAG_UNKNOWN_ELEMENT,
	    "Observation");
	reject(OBS ",'valueQuantity':{'value':1,'MRN-" SECRET "':'x'}}",
	    DIAG_UNKNOWN_ELEMENT, "Observation.valueQuantity");
	reject(OBS ",'s1001':1}", DIAG_UNKNOWN_ELEMENT, "Observation");
	reject(OBS ",'_" SECRET "':{}}", DIAG_UNKNOWN_ELEMENT, "Observation");
	/* A misspelt element is still named. */
	reject(OBS ",'valueQuantty':{'value':1}}", DIAG_UNKNOWN_ELEMENT,
	    "Observation.valueQuantty");
}

static void
test_fhir_validate_rejects_wrong_json_types(void **state)
{
	reject("{'resourceType':'Observation','status':true,"
	    "'code':{'text':'x'}}", DIAG_ELEMENT_TYPE, "Observation.status");
	reject("{'resourceType':'Observation','status':'final',"
	    "'code':'" SECRET "'}", DIAG_ELEMENT_TYPE, "Observation.code");
	reject(OBS ",'valueBoolean':'true'}", DIAG_ELEMENT_TYPE,
	    "Observation.valueBoolean");
	reject(OBS ",'valueInteger':1.5}", DIAG_ELEMENT_TYPE,
	    "Observation.valueInteger");
	reject(OBS ",'issued':null}", DIAG_ELEMENT_TYPE, "Observation.issued");
	reject(OBS ",'valueQuantity':{'value':'9.5'}}", DIAG_ELEMENT_TYPE,
	    "Observation.valueQuantity.value");
}

static void
test_fhir_validate_rejects_arrays_against_cardinality(void **state)
{
	reject("{'resourceType':'Observation','status':['final'],"
	    "'code':{'text':'x'}}", DIAG_CARDINALITY, "Observation.status");
	reject(OBS ",'identifier':{'value':'1'}}", DIAG_CARDINALITY,
	    "Observation.identifier");
	/* SimpleQuantity (referenceRange.low) forbids comparator. */
	reject(OBS ",'referenceRange':[{'low':{'value':1,'comparator':'<'}}]}",
	    DIAG_CARDINALITY, "Observation.referenceRange[0].low.comparator");
}

static void
test_fhir_validate_rejects_missing_required_elements(void **state)
{
	reject("{'resourceType':'Observation','code':{'text':'x'}}",
	    DIAG_REQUIRED, "Observation.status");
	reject("{'resourceType':'Observation','status':'final'}",
	    DIAG_REQUIRED, "Observation.code");
	reject(OBS ",'component':[{'valueString':'x'}]}", DIAG_REQUIRED,
	    "Observation.component[0].code");
	reject(OBS ",'extension':[{'valueString':'x'}]}", DIAG_REQUIRED,
	    "Observation.extension[0].url");
	/* A required choice is named without [x]. */
	reject_as("MedicationRequest", "{'resourceType':'MedicationRequest',"
	    "'status':'active','intent':'order','subject':"
	    "{'reference':'Patient/1'}}",
	    DIAG_REQUIRED, "MedicationRequest.medication");
}

static void
test_fhir_validate_rejects_two_choice_values(void **state)
{
	reject(OBS ",'valueQuantity':{'value':1},'valueString':'a'}",
	    DIAG_MULTI_VALUE, "Observation.valueString");
	reject(OBS ",'effectiveDateTime':'2026','effectiveInstant':"
	    "'2026-01-01T00:00:00Z'}", DIAG_MULTI_VALUE,
	    "Observation.effectiveInstant");
	/* A value and its own extension part are one element. */
	accept(OBS ",'valueString':'a','_valueString':{'id':'x'}}");
	reject(OBS ",'valueString':'a','_valueString':{'id':'x'},"
	    "'valueBoolean':true}", DIAG_MULTI_VALUE,
	    "Observation.valueBoolean");
}

static void
test_fhir_validate_rejects_bad_dates(void **state)
{
	reject(OBS ",'effectiveDateTime':'2026-11-20T08:00:00'}",
	    DIAG_BAD_VALUE, "Observation.effectiveDateTime");
	reject(OBS ",'effectiveDateTime':'2026-02-30'}", DIAG_BAD_VALUE,
	    "Observation.effectiveDateTime");
	reject(OBS ",'effectiveDateTime':'2026-11-20T08:00Z'}",
	    DIAG_BAD_VALUE, "Observation.effectiveDateTime");
	/* An instant needs a time; a date none. */
	reject(OBS ",'issued':'2026-11-20'}", DIAG_BAD_VALUE,
	    "Observation.issued");
	reject_as("Patient", "{'resourceType':'Patient','birthDate':"
	    "'1970-01-01T00:00:00Z'}", DIAG_BAD_VALUE,
	    "Patient.birthDate");
	reject(OBS ",'valueTime':'24:00:00'}", DIAG_BAD_VALUE,
	    "Observation.valueTime");
}

static void
test_fhir_validate_rejects_bad_ids(void **state)
{
	reject("{'resourceType':'Observation','id':'a b','status':'final',"
	    "'code':{'text':'x'}}", DIAG_BAD_ID, "Observation.id");
	reject("{'resourceType':'Observation','id':'a_b','status':'final',"
	    "'code':{'text':'x'}}", DIAG_BAD_ID, "Observation.id");
	reject("{'resourceType':'Observation','id':'"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4','status':'final','code':{'text':'x'}}", DIAG_BAD_ID,
	    "Observation.id");
	accept("{'resourceType':'Observation','id':'"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "','status':'final','code':{'text':'x'}}");
	/* Element ids are strings, not resource ids. */
	accept(OBS ",'valueQuantity':{'id':'a b','value':1}}");
}

static void
test_fhir_validate_rejects_control_characters(void **state)
{
	reject("{'resourceType':'Observation','status':'final','code':"
	    "{'coding':[{'display':'Ca\\u0001" SECRET "'}]}}",
	    DIAG_BAD_VALUE, "Observation.code.coding[0].display");
	reject(OBS ",'note':[{'text':'a\\u007fb'}]}", DIAG_BAD_VALUE,
	    "Observation.note[0].text");
	reject(OBS ",'note':[{'text':'a\\u0085b'}]}", DIAG_BAD_VALUE,
	    "Observation.note[0].text");
	accept(OBS ",'note':[{'text':'line\\r\\nnext\\tcol \\u00e9'}]}");
}

static void
test_fhir_validate_limits_strings_to_one_megabyte(void **state)
{
	json_t *j = jfx_json(OBS "}");
	json_t *code = json_object_get(j, "code");
	char *s = xmalloc(2 * 1048577 + 1);

	memset(s, 'x', 1048576);
	json_object_set_new(code, "text", json_stringn(s, 1048576));
	accept_json(j, "Observation");
	memset(s, 'x', 1048577);
	json_object_set_new(code, "text", json_stringn(s, 1048577));
	reject_json(j, "Observation", DIAG_STRING_TOO_LONG,
	    "Observation.code.text");
	/* Characters, not bytes: 1048576 two-byte characters are allowed. */
	for (size_t i = 0; i < 1048576; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	json_object_set_new(code, "text", json_stringn(s, 2 * 1048576));
	accept_json(j, "Observation");
	free(s);
	json_decref(j);
}

static void
test_fhir_validate_rejects_codes_outside_required_bindings(void **state)
{
	reject("{'resourceType':'Observation','status':'" SECRET "',"
	    "'code':{'text':'x'}}", DIAG_BAD_CODE, "Observation.status");
	reject("{'resourceType':'Observation','status':'Final',"
	    "'code':{'text':'x'}}", DIAG_BAD_CODE, "Observation.status");
	reject(OBS ",'valueQuantity':{'value':1,'comparator':'=='}}",
	    DIAG_BAD_CODE, "Observation.valueQuantity.comparator");
	reject(OBS ",'text':{'status':'done','div':"
	    "'<div xmlns=\\'http://www.w3.org/1999/xhtml\\'>x</div>'}}",
	    DIAG_BAD_CODE, "Observation.text.status");
	/* The code regex: no leading, trailing or doubled whitespace. */
	reject("{'resourceType':'Observation','status':'final ',"
	    "'code':{'text':'x'}}", DIAG_BAD_VALUE, "Observation.status");
	/* CodeableConcept with a required binding: codings of the bound
	 * system need a listed code; other systems are not judged. */
	reject_as("Condition", "{'resourceType':'Condition','subject':"
	    "{'reference':'Patient/1'},'clinicalStatus':{'coding':["
	    "{'system':'http://snomed.info/sct','code':'55561003'},"
	    "{'system':'http://terminology.hl7.org/CodeSystem/"
	    "condition-clinical','code':'gone'}]}}",
	    DIAG_BAD_CODE, "Condition.clinicalStatus.coding[1].code");
	accept_as("Condition", "{'resourceType':'Condition','subject':"
	    "{'reference':'Patient/1'},'clinicalStatus':{'coding':["
	    "{'system':'http://terminology.hl7.org/CodeSystem/"
	    "condition-clinical','code':'active'}]}}");
}

static void
test_fhir_validate_rejects_empty_elements(void **state)
{
	reject(OBS ",'valueQuantity':{}}", DIAG_EMPTY_ELEMENT,
	    "Observation.valueQuantity");
	reject(OBS ",'valueQuantity':{'id':'q'}}", DIAG_EMPTY_ELEMENT,
	    "Observation.valueQuantity");
	reject(OBS ",'identifier':[]}", DIAG_EMPTY_ELEMENT,
	    "Observation.identifier");
	reject(OBS ",'valueString':''}", DIAG_EMPTY_ELEMENT,
	    "Observation.valueString");
	reject(OBS ",'valueString':' \\t\\n'}", DIAG_EMPTY_ELEMENT,
	    "Observation.valueString");
	reject(OBS ",'implicitRules':''}", DIAG_EMPTY_ELEMENT,
	    "Observation.implicitRules");
	/* ext-1: an extension has a value or extensions, not both. */
	reject(OBS ",'extension':[{'url':'http://x.org/a'}]}",
	    DIAG_EMPTY_ELEMENT, "Observation.extension[0]");
	reject(OBS ",'extension':[{'url':'http://x.org/a','valueString':'a',"
	    "'extension':[{'url':'b','valueString':'c'}]}]}",
	    DIAG_MULTI_VALUE, "Observation.extension[0]");
}

static void
test_fhir_validate_enforces_contained_rules(void **state)
{
	/* dom-3: an id, and a reference from the container. */
	reject(OBS ",'contained':[{'resourceType':'Patient'}]}",
	    DIAG_CONTAINED, "Observation.contained[0]");
	reject(OBS ",'contained':[{'resourceType':'Patient','id':'a'}]}",
	    DIAG_CONTAINED, "Observation.contained[0]");
	accept("{'resourceType':'Observation','status':'final',"
	    "'code':{'text':'x'},'subject':{'reference':'#a'},"
	    "'contained':[{'resourceType':'Patient','id':'a'}]}");
	/* Referenced before or after, from another contained resource, or
	 * the contained resource points back at its container. */
	accept("{'resourceType':'Observation','contained':["
	    "{'resourceType':'Patient','id':'a'},"
	    "{'resourceType':'Group','id':'g','type':'person','actual':true,"
	    "'member':[{'entity':{'reference':'#a'}}]},"
	    "{'resourceType':'Device','id':'d','owner':{'reference':'#'}}],"
	    "'status':'final','code':{'text':'x'},"
	    "'subject':{'reference':'#g'}}");
	/* dom-2: no nesting. */
	reject(OBS ",'hasMember':[{'reference':'#a'}],'contained':["
	    "{'resourceType':'Observation','id':'a','status':'final',"
	    "'code':{'text':'x'},'contained':[{'resourceType':'Patient',"
	    "'id':'b'}]}]}", DIAG_CONTAINED,
	    "Observation.contained[0].contained");
	/* dom-4: no versionId. */
	reject(OBS ",'performer':[{'reference':'#a'}],'contained':["
	    "{'resourceType':'Practitioner','id':'a','meta':"
	    "{'versionId':'1'}}]}", DIAG_CONTAINED, "Observation.contained[0]");
	/* ref-1: a local reference must name a contained resource. */
	reject(OBS ",'focus':[{'reference':'#nope'}]}", DIAG_BAD_REFERENCE,
	    "Observation.focus[0].reference");
}

static void
test_fhir_validate_tracks_many_contained_resources(void **state)
{
	json_t *j = jfx_json(OBS "}");
	json_t *cont = json_array(), *members = json_array();
	char id[16];
	int i;

	/* More than are sorted on the stack; referenced in reverse order. */
	for (i = 4999; i >= 0; i--) {
		snprintf(id, sizeof(id), "c%d", i);
		json_array_insert_new(cont, 0, json_pack("{s:s,s:s}",
		    "resourceType", "Patient", "id", id));
		snprintf(id, sizeof(id), "#c%d", i);
		if (i != 4321)
			json_array_append_new(members,
			    json_pack("{s:s}", "reference", id));
	}
	json_object_set_new(j, "contained", cont);
	json_object_set_new(j, "focus", members);
	reject_json(j, "Observation", DIAG_CONTAINED,
	    "Observation.contained[4321]");
	json_array_append_new(members, json_pack("{s:s}", "reference",
	    "#c4321"));
	accept_json(j, "Observation");
	json_decref(j);
}

static void
test_fhir_validate_rejects_malformed_references(void **state)
{
	static const char *const bad[] = {
		"Patient//", "Patient/ 1", "Patient", "Unknown/1",
		"patient/1", "Patient/1/_history/", "Patient/1/x",
		"urn:uuid:1234", "urn:oid:1.02", "#a b",
	};
	json_t *j;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		j = with_subject(bad[i]);
		reject_json(j, "Observation", DIAG_BAD_REFERENCE,
		    "Observation.subject.reference");
		json_decref(j);
	}
}

static void
test_fhir_validate_checks_integer_ranges(void **state)
{
	reject(OBS ",'valueInteger':2147483648}", DIAG_BAD_VALUE,
	    "Observation.valueInteger");
	reject(OBS ",'valueInteger':-2147483649}", DIAG_BAD_VALUE,
	    "Observation.valueInteger");
	/* positiveInt starts at 1, unsignedInt at 0. */
	reject(OBS ",'valueSampledData':{'origin':{'value':0},'period':1,"
	    "'dimensions':0}}", DIAG_BAD_VALUE,
	    "Observation.valueSampledData.dimensions");
	reject_as("Bundle", "{'resourceType':'Bundle','type':'searchset',"
	    "'total':-1}", DIAG_BAD_VALUE, "Bundle.total");
	accept_as("Bundle", "{'resourceType':'Bundle','type':'searchset',"
	    "'total':0}");
}

static void
test_fhir_validate_checks_other_primitive_formats(void **state)
{
	reject(OBS ",'extension':[{'url':'http://x.org/a','valueOid':"
	    "'1.2.3'}]}", DIAG_BAD_VALUE, "Observation.extension[0].valueOid");
	reject(OBS ",'extension':[{'url':'http://x.org/a','valueUuid':"
	    "'urn:uuid:A5E4C1F2-0B1C-4D2E-9F3A-123456789ABC'}]}",
	    DIAG_BAD_VALUE, "Observation.extension[0].valueUuid");
	reject(OBS ",'extension':[{'url':'http://x.org/a',"
	    "'valueBase64Binary':'abc'}]}", DIAG_BAD_VALUE,
	    "Observation.extension[0].valueBase64Binary");
	reject(OBS ",'extension':[{'url':'http://x.org/a a',"
	    "'valueString':'x'}]}", DIAG_BAD_VALUE,
	    "Observation.extension[0].url");
	reject(OBS ",'text':{'status':'generated','div':'<p>x</p>'}}",
	    DIAG_BAD_VALUE, "Observation.text.div");
	reject(OBS ",'text':{'status':'generated','div':'<div>x</div>'}}",
	    DIAG_BAD_VALUE, "Observation.text.div");
}

static void
test_fhir_validate_checks_primitive_extensions(void **state)
{
#define GIVEN(v, e) \
	"{'resourceType':'Patient','name':[{'given':" v ",'_given':" e "}]}"

	/* A required primitive may be present as extensions only. */
	accept("{'resourceType':'Observation','_status':{'extension':["
	    "{'url':'http://hl7.org/fhir/StructureDefinition/"
	    "data-absent-reason','valueCode':'unknown'}]},"
	    "'code':{'text':'x'}}");
	reject(OBS ",'_code':{'id':'x'}}", DIAG_UNKNOWN_ELEMENT,
	    "Observation._code");
	reject(OBS ",'_status':[{'id':'x'}]}", DIAG_CARDINALITY,
	    "Observation.status");
	reject(OBS ",'_status':{'foo':1}}", DIAG_UNKNOWN_ELEMENT,
	    "Observation.status.foo");
	reject(OBS ",'_status':{}}", DIAG_EMPTY_ELEMENT, "Observation.status");
	reject(OBS ",'_status':'final'}", DIAG_ELEMENT_TYPE,
	    "Observation.status");
	reject("{'resourceType':'Observation','_status':{'id':'x'},"
	    "'code':{'text':'x'}}", DIAG_EMPTY_ELEMENT, "Observation.status");

	/* Arrays: aligned, null where only the other side has an item. */
	accept_as("Patient", GIVEN("['a',null]", "[null,{'extension':["
	    "{'url':'http://x.org/a','valueString':'b'}]}]"));
	reject_as("Patient", GIVEN("['a','b']", "[null]"), DIAG_CARDINALITY,
	    "Patient.name[0].given");
	reject_as("Patient", GIVEN("['a',null]", "[null,null]"),
	    DIAG_ELEMENT_TYPE, "Patient.name[0].given[1]");
	reject_as("Patient", GIVEN("['a','b']", "{'id':'x'}"),
	    DIAG_CARDINALITY, "Patient.name[0].given");
	reject_as("Patient", GIVEN("['a']", "[{}]"), DIAG_EMPTY_ELEMENT,
	    "Patient.name[0].given[0]");
#undef GIVEN
}

static void
test_fhir_validate_rejects_unknown_resource_types(void **state)
{
	json_t *j;

	reject_json(j = jfx_json("{'resourceType':'Observaton','status':"
	    "'final'}"), "Observaton", DIAG_WRONG_TYPE,
	    "Observaton.resourceType");
	json_decref(j);
	/* Abstract types are not resources. */
	reject_json(j = jfx_json("{'resourceType':'DomainResource'}"),
	    "DomainResource", DIAG_WRONG_TYPE, "DomainResource.resourceType");
	json_decref(j);
	reject_json(j = jfx_json("{'status':'final'}"), "Observation",
	    DIAG_NOT_RESOURCE, "Observation");
	json_decref(j);
	reject_json(j = jfx_json("{'resourceType':'Bundle','type':'batch',"
	    "'entry':[{'resource':{'resourceType':'Foo'}}]}"), "Bundle",
	    DIAG_WRONG_TYPE, "Bundle.entry[0].resource.resourceType");
	json_decref(j);
	assert_true(fhir_validate_known_type("Observation"));
	assert_true(fhir_validate_known_type("VisionPrescription"));
	assert_true(fhir_validate_known_type("Account"));
	assert_false(fhir_validate_known_type("Resource"));
	assert_false(fhir_validate_known_type("SubscriptionStatus"));
	assert_false(fhir_validate_known_type("observation"));
	assert_false(fhir_validate_known_type(""));
	assert_false(fhir_validate_known_type(NULL));
}

static void
test_fhir_validate_prefixes_path_and_stops_first(void **state)
{
	json_t *j = jfx_json(OBS ",'valueQuantity':{'value':'1'},'foo':1}");

	reject_json(j, "Bundle.entry[3].resource", DIAG_ELEMENT_TYPE,
	    "Bundle.entry[3].resource.valueQuantity.value");
	json_decref(j);
	/* Inside a Bundle, resources are validated with their own paths. */
	j = jfx_json("{'resourceType':'Bundle','type':'collection','entry':["
	    "{'fullUrl':'urn:uuid:a5e4c1f2-0b1c-4d2e-9f3a-123456789abc',"
	    "'resource':{'resourceType':'Patient','id':'p'}},"
	    "{'resource':" OBS ",'valueInteger':1.5}}]}");
	reject_json(j, "Bundle", DIAG_ELEMENT_TYPE,
	    "Bundle.entry[1].resource.valueInteger");
	json_decref(j);
}

static void
test_fhir_validate_envelope_skips_entry_resources(void **state)
{
	const char *bundle = "{'resourceType':'Bundle','type':'collection',"
	    "'entry':[{'resource':{'resourceType':'Observation','foo':1}}]}";
	json_t *j = jfx_json(bundle);
	struct diag d;

	reject_json(j, "Bundle", DIAG_UNKNOWN_ELEMENT,
	    "Bundle.entry[0].resource.foo");
	/* An entry holding only its resource is not empty (ele-1). */
	diag_clear(&d);
	assert_int_equal(fhir_validate_envelope(j, "Bundle", &d), 0);
	json_decref(j);
	j = jfx_json("{'resourceType':'Bundle','type':'collection','entry':"
	    "[{'resource':'x'}]}");
	diag_clear(&d);
	assert_int_equal(fhir_validate_envelope(j, "Bundle", &d), -1);
	assert_int_equal(d.d_code, DIAG_ELEMENT_TYPE);
	assert_string_equal(d.d_expr, "Bundle.entry[0].resource");
	json_decref(j);
	j = jfx_json("{'resourceType':'Bundle','type':'collection','entry':"
	    "[{'resource':{},'bar':1}]}");
	diag_clear(&d);
	assert_int_equal(fhir_validate_envelope(j, "Bundle", &d), -1);
	assert_int_equal(d.d_code, DIAG_UNKNOWN_ELEMENT);
	assert_string_equal(d.d_expr, "Bundle.entry[0].bar");
	json_decref(j);
}

static void
test_fhir_validate_survives_deep_nesting(void **state)
{
	json_t *j = jfx_json(OBS "}"), *ext, *inner;
	struct diag d;
	int i;

	ext = json_pack("{s:s,s:s}", "url", "x", "valueString", "y");
	for (i = 0; i < 400; i++) {
		inner = json_pack("{s:s,s:[o]}", "url", "x", "extension", ext);
		ext = inner;
	}
	json_object_set_new(j, "extension", json_pack("[o]", ext));
	diag_clear(&d);
	assert_int_equal(fhir_validate(j, "Observation", &d), -1);
	assert_int_equal(d.d_code, DIAG_JSON_DEPTH);
	/* The expression is cut at DIAG_EXPR_MAX, still terminated. */
	assert_true(util_has_prefix(d.d_expr,
	    "Observation.extension[0].extension[0].extension[0]"));
	assert_int_equal(strlen(d.d_expr), DIAG_EXPR_MAX - 1);
	json_decref(j);
}

/* --- fuzz ---------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*, seeded: the same mutations on every run. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static json_t *
random_value(json_t *donor)
{
	static const char *const strs[] = {
		"", " ", "\x01", "#a", "#", "Patient/1", "final",
		"urn:uuid:a5e4c1f2-0b1c-4d2e-9f3a-123456789abc",
		"2020-01-01T10:00", "2020-01-01T10:00:00Z", "<div>", "a  b",
		"http://loinc.org", "Observation",
	};

	switch (rng() % 12) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(rng() % 2);
	case 2:
		return json_integer((json_int_t)(rng() % 5) - 2);
	case 3:
		return json_integer(rng() % 2 ? INT64_MAX : 2147483648LL);
	case 4:
		return json_real(1.5);
	case 5:
		return json_object();
	case 6:
		return json_array();
	case 7:
		return json_pack("{s:s,s:s}", "resourceType", "Patient",
		    "id", "a");
	case 8:
		return json_pack("[n]");
	case 9:
		return json_deep_copy(donor);
	default:
		return json_string(strs[rng() % UTIL_ARRAY_LEN(strs)]);
	}
}

/* Pick a random container (object or array) inside j. */
static json_t *
random_node(json_t *j)
{
	json_t *child;
	void *it;
	size_t n, k;

	for (;;) {
		if (rng() % 4 == 0)
			return j;
		if (json_is_object(j) && (n = json_object_size(j)) > 0) {
			k = rng() % n;
			for (it = json_object_iter(j); k > 0; k--)
				it = json_object_iter_next(j, it);
			child = json_object_iter_value(it);
		} else if (json_is_array(j) && (n = json_array_size(j)) > 0)
			child = json_array_get(j, rng() % n);
		else
			return j;
		if (!json_is_object(child) && !json_is_array(child))
			return j;
		j = child;
	}
}

static void
mutate(json_t *root, json_t *donor)
{
	static const char *const keys[] = {
		"value", "valueString", "valueQuantity", "contained",
		"extension", "id", "resourceType", "reference", "_status",
		"coding", "status", "_given", "url", "foo", "div",
	};
	json_t *node = random_node(root), *v;
	const char *key;
	char buf[80];
	size_t n;
	void *it;

	if (json_is_array(node)) {
		n = json_array_size(node);
		switch (rng() % 3) {
		case 0:
			if (n > 0)
				json_array_remove(node, rng() % n);
			break;
		case 1:
			json_array_append_new(node, random_value(donor));
			break;
		default:
			if (n > 0)
				json_array_set_new(node, rng() % n,
				    random_value(donor));
		}
		return;
	}
	if (!json_is_object(node))
		return;
	n = json_object_size(node);
	it = json_object_iter(node);
	for (size_t k = n > 0 ? rng() % n : 0; it != NULL && k > 0; k--)
		it = json_object_iter_next(node, it);
	key = it != NULL ? json_object_iter_key(it) : NULL;
	switch (rng() % 5) {
	case 0:
		if (key != NULL)
			json_object_del(node, key);
		break;
	case 1:
		if (key != NULL)
			json_object_set_new(node, key, random_value(donor));
		break;
	case 2:
		if (key != NULL) {
			/* Wrap in an array, or unwrap one. */
			v = json_object_iter_value(it);
			if (json_array_get(v, 0) != NULL)
				json_object_set(node, key,
				    json_array_get(v, 0));
			else
				json_object_set_new(node, key,
				    json_pack("[O]", v));
		}
		break;
	case 3:
		if (key != NULL) {
			snprintf(buf, sizeof(buf), "_%.70s", key);
			json_object_set(node, buf, json_object_iter_value(it));
		}
		break;
	default:
		json_object_set_new(node, keys[rng() % UTIL_ARRAY_LEN(keys)],
		    random_value(donor));
	}
}

static void
test_fhir_validate_survives_mutated_examples(void **state)
{
	const char *seed = getenv("FHIR_FUZZ_SEED");
	const char *iters = getenv("FHIR_FUZZ_ITERATIONS");
	size_t i, n, accepted = 0, rejected = 0, count;
	char **names;
	json_t **docs, *j, *donor;
	struct diag d;
	int k, m;

	rng_state = seed != NULL ? strtoull(seed, NULL, 0) : 0x5eed2026;
	if (rng_state == 0)
		rng_state = 1;
	count = iters != NULL ? strtoul(iters, NULL, 0) : 4000;
	n = load_examples(&docs, &names);
	assert_true(n > 0);
	for (i = 0; i < count; i++) {
		j = json_deep_copy(docs[rng() % n]);
		donor = random_node(docs[rng() % n]);
		m = 1 + (int)(rng() % 4);
		for (k = 0; k < m; k++)
			mutate(j, donor);
		diag_clear(&d);
		if (fhir_validate(j, "Fuzz", &d) == 0) {
			accepted++;
		} else {
			rejected++;
			if (d.d_code < 1100 && d.d_code != DIAG_JSON_DEPTH)
				fail_msg("unexpected code %d", d.d_code);
			assert_true(d.d_code < 1200);
			assert_true(util_has_prefix(d.d_expr, "Fuzz"));
			assert_true(d.d_msg[0] != '\0');
		}
		json_decref(j);
	}
	free_examples(docs, names, n);
	print_message("fuzz: %zu accepted, %zu rejected\n", accepted, rejected);
	/* The mutations exercise both outcomes. */
	assert_true(accepted > 0);
	assert_true(rejected > count / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_fhir_validate_accepts_official_r4_examples),
		cmocka_unit_test(
		    test_fhir_validate_accepts_minimal_and_rich_observations),
		cmocka_unit_test(
		    test_fhir_validate_accepts_every_reference_form),
		cmocka_unit_test(test_fhir_validate_rejects_unknown_elements),
		cmocka_unit_test(
		    test_fhir_validate_does_not_echo_unknown_keys_that_are_not_names),
		cmocka_unit_test(test_fhir_validate_rejects_wrong_json_types),
		cmocka_unit_test(
		    test_fhir_validate_rejects_arrays_against_cardinality),
		cmocka_unit_test(
		    test_fhir_validate_rejects_missing_required_elements),
		cmocka_unit_test(test_fhir_validate_rejects_two_choice_values),
		cmocka_unit_test(test_fhir_validate_rejects_bad_dates),
		cmocka_unit_test(test_fhir_validate_rejects_bad_ids),
		cmocka_unit_test(
		    test_fhir_validate_rejects_control_characters),
		cmocka_unit_test(
		    test_fhir_validate_limits_strings_to_one_megabyte),
		cmocka_unit_test(
		    test_fhir_validate_rejects_codes_outside_required_bindings),
		cmocka_unit_test(test_fhir_validate_rejects_empty_elements),
		cmocka_unit_test(test_fhir_validate_enforces_contained_rules),
		cmocka_unit_test(
		    test_fhir_validate_tracks_many_contained_resources),
		cmocka_unit_test(
		    test_fhir_validate_rejects_malformed_references),
		cmocka_unit_test(test_fhir_validate_checks_integer_ranges),
		cmocka_unit_test(
		    test_fhir_validate_checks_other_primitive_formats),
		cmocka_unit_test(
		    test_fhir_validate_checks_primitive_extensions),
		cmocka_unit_test(
		    test_fhir_validate_rejects_unknown_resource_types),
		cmocka_unit_test(
		    test_fhir_validate_prefixes_path_and_stops_first),
		cmocka_unit_test(
		    test_fhir_validate_envelope_skips_entry_resources),
		cmocka_unit_test(test_fhir_validate_survives_deep_nesting),
		cmocka_unit_test(test_fhir_validate_survives_mutated_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
