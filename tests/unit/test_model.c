/*
 * test_model.c - loading conf/model.json: Model v0.1 as CLINICAL.md states
 * it, and every kind of broken model rejected with the JSON path named;
 * the schema validator itself, including its refusal of keywords it does
 * not implement.
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

#include "engine_fixture.h"
#include "jschema.h"
#include "model.h"
#include "sha256.h"
#include "util.h"

static char *
slurp(const char *rel, size_t *len)
{
	char *p = fx_srcpath(rel), *data;
	FILE *fp = fopen(p, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	assert_non_null(fp);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	free(p);
	data = buf_steal(&b, len);
	return data;
}

/* The shipped model as a jansson tree, to break on purpose. */
static json_t *
shipped(void)
{
	size_t len;
	char *text = slurp("conf/model.json", &len);
	json_t *j = json_loadb(text, len, 0, NULL);

	free(text);
	assert_non_null(j);
	return j;
}

/* Load doc; returns the problem text (caller frees) and the model. */
static char *
load_doc(const json_t *doc, struct model **out)
{
	char *text = json_dumps(doc, JSON_INDENT(1));
	char *msgs = NULL;
	size_t mlen = 0;
	FILE *errf = open_memstream(&msgs, &mlen);
	struct model *m;

	m = model_load_string(text, strlen(text), "model.json", errf);
	fclose(errf);
	free(text);
	if (out != NULL)
		*out = m;
	else
		model_unref(m);
	return msgs;
}

/* The doc must be rejected with a message containing want. */
static void
expect_rejected(json_t *doc, const char *want)
{
	struct model *m;
	char *msgs = load_doc(doc, &m);

	if (m != NULL || strstr(msgs, want) == NULL)
		fail_msg("expected rejection with \"%s\", got %s:\n%s", want,
		    m != NULL ? "a model" : "NULL", msgs);
	free(msgs);
	json_decref(doc);
}

static json_t *
term(json_t *doc, int outcome, int i)
{
	return json_array_get(json_object_get(json_array_get(
	    json_object_get(doc, "outcomes"), (size_t)outcome), "terms"),
	    (size_t)i);
}

static const struct model_term *
find_term(const struct model *m, const char *id)
{
	int o, i;

	for (o = 0; o < MODEL_OUTCOMES; o++)
		for (i = 0; i < m->m_outcomes[o].mo_nterms; i++)
			if (strcmp(m->m_outcomes[o].mo_terms[i].mt_id, id) ==
			    0)
				return &m->m_outcomes[o].mo_terms[i];
	fail_msg("no term %s", id);
	return NULL;
}

/* --- Model v0.1 --------------------------------------------------------- */

static void
test_model_v01_loads_as_clinical_md_states(void **state)
{
	/* CLINICAL.md "Model v0.1": id, weight (per step for per-unit). */
	static const struct {
		const char	*id;
		double		 w;
	} weights[] = {
		{ "cut.female", 0.90 }, { "cut.albumin", 0.118 },
		{ "cut.phosphate", 0.63 }, { "cut.pth", 0.69 },
		{ "cut.shpt_dx", 0.41 }, { "cut.bmi40", 0.69 },
		{ "cut.bmi30", 0.41 }, { "cut.calcium", 0.41 },
		{ "cut.caxp", 0.41 }, { "cut.diabetes", 0.41 },
		{ "cut.vintage", 0.41 }, { "cut.alp", 0.41 },
		{ "cut.ca_binder", 0.41 }, { "cut.vitd", 0.41 },
		{ "cut.pvd", 0.41 }, { "cut.htn", 0.20 },
		{ "cut.lipids", 0.20 }, { "cut.age", 0.02 },
		{ "cut.warfarin", 1.22 }, { "vas.age", 0.04 },
		{ "vas.vintage", 0.07 }, { "vas.diabetes", 0.84 },
		{ "vas.male", 0.41 }, { "vas.phosphate", 0.28 },
		{ "vas.calcium", 0.41 }, { "vas.caxp", 0.20 },
		{ "vas.pth", 0.46 }, { "vas.alp", 0.80 }, { "vas.ldl", 0.65 },
		{ "vas.lipids", 0.41 }, { "vas.homocysteine", 0.057 },
		{ "vas.htn", 0.41 }, { "vas.ca_binder", 0.41 },
		{ "vas.vitd", 0.41 }, { "vas.pvd", 0.69 },
		{ "vas.albumin", 0.20 }, { "vas.bmi40", 0.20 },
	};
	char *p = fx_srcpath("conf/model.json");
	struct model *m = model_load(p, stderr);
	const struct model_term *t;
	uint8_t d[SHA256_LEN];
	char hex[65], *text;
	size_t i, len;
	int o;

	free(p);
	assert_non_null(m);
	assert_string_equal(m->m_id, "calcifyd-calcification");
	assert_string_equal(m->m_version, "0.1.0");
	assert_true(m->m_outcomes[0].mo_intercept == -6.0);
	assert_true(m->m_outcomes[1].mo_intercept == -0.85);
	assert_string_equal(m->m_outcomes[0].mo_key, "cutaneous");
	assert_string_equal(m->m_outcomes[1].mo_key, "vascular");
	for (i = 0; i < UTIL_ARRAY_LEN(weights); i++)
		assert_true(find_term(m, weights[i].id)->mt_weight ==
		    weights[i].w);
	/* Caps and thresholds, converted into canonical units. */
	t = find_term(m, "cut.albumin");
	assert_true(t->mt_ref == 4.0 && fabs(t->mt_cap - 20) < 1e-9);
	assert_true(find_term(m, "cut.phosphate")->mt_cap == 4);
	assert_true(find_term(m, "cut.age")->mt_cap == 40);
	assert_true(find_term(m, "vas.age")->mt_cap == 50);
	assert_true(find_term(m, "vas.vintage")->mt_cap == 20);
	assert_true(find_term(m, "vas.homocysteine")->mt_cap == 35);
	t = find_term(m, "vas.ldl");
	assert_true(fabs(t->mt_ref - 2.6 / 0.02586) < 1e-9);
	assert_true(fabs(t->mt_per - 1 / 0.02586) < 1e-9);
	assert_true(fabs(t->mt_cap - 3) < 1e-9);
	t = find_term(m, "cut.pth");
	assert_true(t->mt_preds[0].mp_uln_mult == 9);
	assert_true(t->mt_preds[0].mp_uln_default == 65);
	assert_true(find_term(m, "cut.shpt_dx")->mt_nunless == 1);
	assert_int_equal(find_term(m, "cut.bmi40")->mt_group,
	    find_term(m, "cut.bmi30")->mt_group);
	assert_true(m->m_cuts[0] == 1 && m->m_cuts[1] == 10 &&
	    m->m_cuts[2] == 50);
	assert_string_equal(m->m_band_code[3], "high");
	assert_int_equal(m->m_fresh_days[INPUT_PTH], 180);
	assert_int_equal(m->m_fresh_days[INPUT_CALCIUM], 90);
	assert_int_equal(m->m_fresh_days[INPUT_DIABETES], 0);
	assert_int_equal(m->m_nfinal, 4);
	assert_true(m->m_correct_calcium);
	assert_non_null(strstr(m->m_calibration_note, "uncalibrated"));
	assert_non_null(strstr(m->m_outcomes[0].mo_note, "no published odds"));
	assert_int_equal(model_mitigation_index(m, "warfarin") >= 0, 1);
	assert_int_equal(model_mitigation_index(m, "nosuch"), -1);
	/* Every weight is cited and graded; unverified cut-offs say so. */
	for (o = 0; o < MODEL_OUTCOMES; o++)
		for (i = 0; i < (size_t)m->m_outcomes[o].mo_nterms; i++) {
			t = &m->m_outcomes[o].mo_terms[i];
			assert_true(strlen(t->mt_citation) > 20);
			assert_true(strlen(t->mt_evidence) > 0);
			assert_true(t->mt_weight >= 0);
		}
	assert_true(find_term(m, "cut.lipids")->mt_unverified);
	assert_true(find_term(m, "vas.homocysteine")->mt_unverified);
	assert_true(find_term(m, "vas.shpt_dx")->mt_unverified);
	assert_false(find_term(m, "cut.female")->mt_unverified);
	/* Digest and text are of the file bytes. */
	text = slurp("conf/model.json", &len);
	assert_int_equal(m->m_textlen, len);
	assert_memory_equal(m->m_text, text, len);
	sha256(text, len, d);
	util_hex(d, sizeof(d), hex);
	assert_string_equal(m->m_digest, hex);
	free(text);
	model_unref(m);
}

static void
test_model_schema_is_embedded_verbatim(void **state)
{
	size_t len, elen;
	char *text = slurp("schemas/model.schema.json", &len);
	const char *emb = model_schema_text(&elen);

	assert_int_equal(len, elen);
	assert_memory_equal(text, emb, len);
	assert_int_equal(emb[elen], '\0');
	free(text);
}

static void
test_model_refcount_and_unref_null(void **state)
{
	char *p = fx_srcpath("conf/model.json");
	struct model *m = model_load(p, NULL);

	free(p);
	model_unref(NULL);
	assert_non_null(m);
	assert_ptr_equal(model_ref(m), m);
	assert_int_equal(atomic_load(&m->m_refs), 2);
	model_unref(m);
	assert_int_equal(atomic_load(&m->m_refs), 1);
	model_unref(m);
	assert_null(model_ref(NULL));
}

/* --- rejections --------------------------------------------------------- */

static void
test_model_rejects_malformed_json(void **state)
{
	char *msgs = NULL;
	size_t mlen = 0;
	FILE *errf = open_memstream(&msgs, &mlen);
	const char bad[] = "{\"id\": \"x\",";

	assert_null(model_load_string(bad, sizeof(bad) - 1, "m.json", errf));
	assert_null(model_load("/nonexistent/model.json", errf));
	fclose(errf);
	assert_non_null(strstr(msgs, "m.json: $: malformed JSON (line 1"));
	assert_non_null(strstr(msgs, "/nonexistent/model.json: $: cannot "
	    "open"));
	free(msgs);
}

static void
test_model_rejects_schema_violations(void **state)
{
	json_t *d;

	d = shipped();
	json_object_set_new(d, "version", json_string("1.0"));
	expect_rejected(d, "model.json: $.version: \"1.0\" does not match "
	    "the pattern");
	d = shipped();
	json_object_set_new(d, "extra", json_true());
	expect_rejected(d, "model.json: $.extra: property not allowed here");
	d = shipped();
	json_object_del(d, "calibration");
	expect_rejected(d, "$.calibration: required property is missing");
	d = shipped();
	json_object_set_new(term(d, 0, 1), "type", json_string("linear"));
	expect_rejected(d, "$.outcomes[0].terms[1].type: \"linear\" is not "
	    "one of");
	d = shipped();
	json_array_append_new(json_object_get(d, "outcomes"), json_object());
	expect_rejected(d, "$.outcomes: 3 items, more than the maximum 2");
	d = shipped();
	json_object_set_new(json_array_get(json_object_get(json_object_get(d,
	    "bands"), "levels"), 3), "code", json_string("certain"));
	expect_rejected(d, "$.bands.levels[3].code: \"certain\" is not one "
	    "of");
	/* A binary term without predicates: the closest alternative. */
	d = shipped();
	json_object_del(term(d, 0, 0), "predicates");
	expect_rejected(d, "$.outcomes[0].terms[0].predicates: required "
	    "property is missing");
}

static void
test_model_rejects_unknown_input(void **state)
{
	json_t *d;

	d = shipped();
	json_object_set_new(term(d, 0, 3), "input", json_string("phosphorus"));
	expect_rejected(d, "model.json: $.outcomes[0].terms[3].input: unknown "
	    "input \"phosphorus\"");
	d = shipped();
	json_object_set_new(json_array_get(json_object_get(term(d, 1, 2),
	    "predicates"), 1), "input", json_string("a1c"));
	expect_rejected(d, "$.outcomes[1].terms[2].predicates[1].input: "
	    "unknown input \"a1c\"");
	d = shipped();
	json_array_append_new(json_object_get(d, "final_inputs"),
	    json_string("age"));
	expect_rejected(d, "$.final_inputs[4]: \"age\" is not a measured "
	    "input");
	d = shipped();
	json_object_set_new(json_object_get(d, "freshness_days"),
	    "diabetes_condition", json_integer(30));
	expect_rejected(d, "$.freshness_days.diabetes_condition: only "
	    "measured inputs go stale");
}

static void
test_model_rejects_negative_weight(void **state)
{
	json_t *d = shipped();

	json_object_set_new(term(d, 1, 4), "weight", json_real(-0.5));
	expect_rejected(d, "model.json: $.outcomes[1].terms[4].weight: -0.5 is "
	    "less than the minimum 0");
}

static void
test_model_rejects_missing_citation(void **state)
{
	json_t *d;

	d = shipped();
	json_object_del(term(d, 0, 2), "citation");
	expect_rejected(d, "model.json: $.outcomes[0].terms[2].citation: "
	    "required property is missing");
	d = shipped();
	json_object_set_new(term(d, 1, 0), "citation", json_string("   "));
	expect_rejected(d, "$.outcomes[1].terms[0].citation: every weight "
	    "needs a citation");
	d = shipped();
	json_object_del(term(d, 1, 5), "evidence");
	expect_rejected(d, "$.outcomes[1].terms[5].evidence: required "
	    "property is missing");
}

static void
set_cuts(json_t *d, double a, double b, double c)
{
	json_t *cuts = json_object_get(json_object_get(d, "bands"),
	    "cut_points_percent");

	json_array_set_new(cuts, 0, json_real(a));
	json_array_set_new(cuts, 1, json_real(b));
	json_array_set_new(cuts, 2, json_real(c));
}

static void
test_model_rejects_bad_cut_points(void **state)
{
	json_t *d;

	d = shipped();
	set_cuts(d, 10, 1, 50);
	expect_rejected(d, "model.json: $.bands.cut_points_percent: cut-points "
	    "must ascend strictly (10 then 1)");
	d = shipped();
	set_cuts(d, 1, 10, 10);
	expect_rejected(d, "$.bands.cut_points_percent: cut-points must "
	    "ascend strictly");
	d = shipped();
	set_cuts(d, 0, 10, 50);
	expect_rejected(d, "$.bands.cut_points_percent[0]: 0 must be greater "
	    "than 0");
	d = shipped();
	set_cuts(d, 1, 10, 100);
	expect_rejected(d, "$.bands.cut_points_percent[2]: 100 must be less "
	    "than 100");
}

static void
test_model_rejects_semantic_errors(void **state)
{
	json_t *d, *p;

	d = shipped();
	json_object_set_new(term(d, 0, 3), "mitigation", json_string("diet"));
	expect_rejected(d, "$.outcomes[0].terms[3].mitigation: no mitigation "
	    "has id \"diet\"");
	d = shipped();
	json_object_set_new(term(d, 0, 0), "group", json_string("lonely"));
	expect_rejected(d, "$.outcomes[0].terms[0].group: group \"lonely\" "
	    "has one term");
	d = shipped();
	json_object_set_new(term(d, 1, 0), "group", json_string("cut.bmi"));
	json_object_set_new(term(d, 1, 1), "group", json_string("cut.bmi"));
	expect_rejected(d, "groups are per outcome");
	d = shipped();
	json_object_set_new(term(d, 1, 1), "id", json_string("cut.age"));
	expect_rejected(d, "$.outcomes[1].terms[1].id: duplicate term id "
	    "\"cut.age\"");
	d = shipped();
	json_object_set_new(json_array_get(json_object_get(d, "mitigations"),
	    1), "id", json_string("calcium"));
	expect_rejected(d, "$.mitigations[1].id: duplicate mitigation id");
	d = shipped();
	json_object_set_new(term(d, 1, 10), "unit", json_string("mmol/dL"));
	expect_rejected(d, "$.outcomes[1].terms[10].unit: \"mmol/dL\" is not "
	    "a unit known for input \"ldl\"");
	d = shipped();
	p = json_array_get(json_object_get(term(d, 1, 9), "predicates"), 0);
	json_object_set_new(json_object_get(p, "uln"), "lab_op",
	    json_string("<"));
	expect_rejected(d, "$.outcomes[1].terms[9].predicates[0].uln: lab_op "
	    "must compare in the same direction as op");
	d = shipped();
	p = json_array_get(json_object_get(term(d, 0, 0), "predicates"), 0);
	json_object_set_new(p, "value", json_real(1));
	expect_rejected(d, "$.outcomes[0].terms[0].predicates[0]: \"present\" "
	    "takes no value");
	d = shipped();
	p = json_array_get(json_object_get(term(d, 0, 0), "predicates"), 0);
	json_object_set_new(p, "op", json_string(">"));
	json_object_set_new(p, "value", json_real(0));
	expect_rejected(d, "\"female\" is a flag: use \"present\"");
	d = shipped();
	p = json_array_get(json_object_get(term(d, 0, 3 + 5), "predicates"),
	    0);
	json_object_set_new(p, "or_unknown", json_true());
	expect_rejected(d, "or_unknown applies only to inputs");
	d = shipped();
	p = json_array_get(json_object_get(term(d, 0, 4), "predicates"), 0);
	json_object_set_new(p, "value", json_real(600));
	expect_rejected(d, "$.outcomes[0].terms[4].predicates[0]: \">\" needs "
	    "exactly one of value or uln");
	d = shipped();
	json_object_set_new(json_array_get(json_object_get(d, "outcomes"), 0),
	    "key", json_string("vascular"));
	expect_rejected(d, "$.outcomes[0].key: outcome 0 must be "
	    "\"cutaneous\"");
	d = shipped();
	json_object_set_new(term(d, 0, 1), "input", json_string("diabetes_"
	    "condition"));
	expect_rejected(d, "per-unit terms need a quantity");
	d = shipped();
	json_object_set_new(term(d, 1, 12), "cap", json_real(1000));
	expect_rejected(d, "$.outcomes[1].terms[12].cap: weight x cap / per "
	    "may add at most 20 log odds");
}

static void
test_model_reports_every_problem(void **state)
{
	json_t *d = shipped();
	char *msgs;
	int lines = 0;
	const char *c;

	json_object_set_new(term(d, 0, 1), "weight", json_real(-1));
	json_object_set_new(term(d, 1, 1), "weight", json_real(-2));
	json_object_set_new(d, "version", json_string("x"));
	msgs = load_doc(d, NULL);
	for (c = msgs; *c != '\0'; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 3);
	assert_non_null(strstr(msgs, "$.outcomes[0].terms[1].weight"));
	assert_non_null(strstr(msgs, "$.outcomes[1].terms[1].weight"));
	assert_non_null(strstr(msgs, "$.version"));
	free(msgs);
	json_decref(d);
}

/* --- the schema validator ----------------------------------------------- */

struct reports {
	char	text[4096];
	int	n;
};

static void
collect(void *arg, const char *path, const char *msg)
{
	struct reports *r = arg;
	size_t used = strlen(r->text);

	snprintf(r->text + used, sizeof(r->text) - used, "%s: %s\n", path,
	    msg);
	r->n++;
}

static struct jschema *
compile(const char *text, struct reports *r)
{
	json_t *s = json_loads(text, 0, NULL);
	struct jschema *js;

	assert_non_null(s);
	memset(r, 0, sizeof(*r));
	js = jschema_compile(s, collect, r);
	json_decref(s);
	return js;
}

static void
test_jschema_rejects_unimplemented_keywords(void **state)
{
	static const struct {
		const char	*schema;
		const char	*want;
	} bad[] = {
		{ "{\"type\":\"object\",\"propertyNames\":{}}",
		  "$.propertyNames: keyword \"propertyNames\" is not "
		  "implemented" },
		{ "{\"properties\":{\"a\":{\"format\":\"date\"}}}",
		  "$.properties.a.format: keyword \"format\" is not "
		  "implemented" },
		{ "{\"$defs\":{\"x\":{\"if\":true}}}",
		  "$.$defs.x.if: keyword \"if\"" },
		{ "{\"items\":{\"contains\":{}}}", "$.items.contains" },
		{ "{\"oneOf\":[{\"not\":{}}]}", "$.oneOf[0].not" },
		{ "{\"items\":[{}]}", "$.items: a schema must be an object" },
		{ "{\"$ref\":\"#/definitions/x\"}", "$.$ref: only" },
		{ "{\"$ref\":\"#/$defs/missing\"}", "$.$ref: only" },
		{ "{\"pattern\":\"(\"}", "$.pattern: not a POSIX extended" },
		{ "{\"type\":\"float\"}", "$.type: unknown type" },
		{ "{\"minLength\":-1}", "$.minLength: must be a non-negative" },
	};
	struct reports r;
	struct jschema *js;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		assert_null(compile(bad[i].schema, &r));
		if (strstr(r.text, bad[i].want) == NULL)
			fail_msg("%s: got %s", bad[i].schema, r.text);
	}
	/* What the model schema uses compiles. */
	js = compile("{\"$schema\":\"x\",\"title\":\"t\",\"$comment\":\"c\","
	    "\"type\":[\"string\",\"null\"]}", &r);
	assert_non_null(js);
	jschema_free(js);
}

static int
check(const struct jschema *js, const char *instance, struct reports *r)
{
	json_t *x = json_loads(instance, JSON_DECODE_ANY, NULL);
	int n;

	assert_non_null(x);
	memset(r, 0, sizeof(*r));
	n = jschema_validate(js, x, collect, r);
	json_decref(x);
	assert_int_equal(n, r->n);
	return n;
}

static void
test_jschema_enforces_each_keyword(void **state)
{
	static const char schema[] = "{"
	    "\"type\":\"object\",\"additionalProperties\":false,"
	    "\"required\":[\"n\"],"
	    "\"properties\":{"
	    " \"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":9},"
	    " \"x\":{\"type\":\"number\",\"exclusiveMinimum\":0,"
	    "  \"exclusiveMaximum\":1},"
	    " \"s\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":3,"
	    "  \"pattern\":\"^[a-z\\u00e9]+$\"},"
	    " \"e\":{\"enum\":[\"a\",1]},\"c\":{\"const\":\"k\"},"
	    " \"a\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":2,"
	    "  \"uniqueItems\":true,\"items\":{\"$ref\":\"#/$defs/p\"}},"
	    " \"m\":{\"type\":\"object\",\"additionalProperties\":"
	    "  {\"type\":\"boolean\"}},"
	    " \"o\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"},"
	    "  {\"type\":\"number\"}]},"
	    " \"y\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]},"
	    " \"z\":{\"allOf\":[{\"minimum\":0},{\"maximum\":5}]}"
	    "},"
	    "\"$defs\":{\"p\":{\"type\":\"object\",\"required\":[\"b\"]}}}";
	struct reports r;
	struct jschema *js = compile(schema, &r);

	assert_non_null(js);
	assert_int_equal(check(js, "{\"n\":3}", &r), 0);
	assert_int_equal(check(js, "{\"n\":3.0}", &r), 0);
	assert_int_equal(check(js, "{\"n\":3.5}", &r), 1);
	assert_non_null(strstr(r.text, "$.n: expected integer, got number"));
	assert_int_equal(check(js, "{}", &r), 1);
	assert_non_null(strstr(r.text, "$.n: required property is missing"));
	assert_int_equal(check(js, "{\"n\":0}", &r), 1);
	assert_int_equal(check(js, "{\"n\":10}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"x\":0}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"x\":1}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"x\":0.5}", &r), 0);
	/* Lengths count characters, not bytes. */
	assert_int_equal(check(js, "{\"n\":1,\"s\":\"\\u00e9\\u00e9\"}", &r),
	    0);
	assert_int_equal(check(js, "{\"n\":1,\"s\":\"a\"}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"s\":\"abcd\"}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"s\":\"A1\"}", &r), 1);
	assert_non_null(strstr(r.text, "$.s: \"A1\" does not match"));
	assert_int_equal(check(js, "{\"n\":1,\"e\":1,\"c\":\"k\"}", &r), 0);
	assert_int_equal(check(js, "{\"n\":1,\"e\":2,\"c\":\"j\"}", &r), 2);
	assert_int_equal(check(js, "{\"n\":1,\"a\":[]}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"a\":[{\"b\":1},{\"b\":1}]}",
	    &r), 1);
	assert_non_null(strstr(r.text, "$.a: items 0 and 1 are equal"));
	assert_int_equal(check(js, "{\"n\":1,\"a\":[{\"b\":1},{}]}", &r), 1);
	assert_non_null(strstr(r.text, "$.a[1].b: required property is "
	    "missing"));
	assert_int_equal(check(js, "{\"n\":1,\"a\":[1,2,3]}", &r), 4);
	assert_int_equal(check(js, "{\"n\":1,\"m\":{\"k y\":1}}", &r), 1);
	assert_non_null(strstr(r.text, "$.m[\"k y\"]: expected boolean"));
	assert_int_equal(check(js, "{\"n\":1,\"q\":1}", &r), 1);
	assert_non_null(strstr(r.text, "$.q: property not allowed here"));
	assert_int_equal(check(js, "{\"n\":1,\"o\":\"s\"}", &r), 0);
	assert_int_equal(check(js, "{\"n\":1,\"o\":2.5}", &r), 0);
	assert_int_equal(check(js, "{\"n\":1,\"o\":2}", &r), 1);
	assert_non_null(strstr(r.text, "$.o: matches 2 alternatives of "
	    "oneOf"));
	assert_int_equal(check(js, "{\"n\":1,\"o\":true}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"y\":null}", &r), 0);
	assert_int_equal(check(js, "{\"n\":1,\"y\":3}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"z\":6}", &r), 1);
	assert_int_equal(check(js, "{\"n\":1,\"z\":-1}", &r), 1);
	assert_int_equal(check(js, "[]", &r), 1);
	assert_non_null(strstr(r.text, "$: expected object, got array"));
	jschema_free(js);
	jschema_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_v01_loads_as_clinical_md_states),
		cmocka_unit_test(test_model_schema_is_embedded_verbatim),
		cmocka_unit_test(test_model_refcount_and_unref_null),
		cmocka_unit_test(test_model_rejects_malformed_json),
		cmocka_unit_test(test_model_rejects_schema_violations),
		cmocka_unit_test(test_model_rejects_unknown_input),
		cmocka_unit_test(test_model_rejects_negative_weight),
		cmocka_unit_test(test_model_rejects_missing_citation),
		cmocka_unit_test(test_model_rejects_bad_cut_points),
		cmocka_unit_test(test_model_rejects_semantic_errors),
		cmocka_unit_test(test_model_reports_every_problem),
		cmocka_unit_test(test_jschema_rejects_unimplemented_keywords),
		cmocka_unit_test(test_jschema_enforces_each_keyword),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
