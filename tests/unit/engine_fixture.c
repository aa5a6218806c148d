/*
 * engine_fixture.c - test helpers for the engine and the RiskAssessment
 * builder: the shipped model, fact builders and the golden vignettes.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "engine_fixture.h"
#include "units.h"
#include "util.h"

char *
fx_srcpath(const char *rel)
{
	const char *top = getenv("top_srcdir");

	return xasprintf("%s/%s", top != NULL && top[0] != '\0' ? top : ".",
	    rel);
}

struct model *
fx_model(void)
{
	char *p = fx_srcpath("conf/model.json");
	struct model *m = model_load(p, stderr);

	free(p);
	assert_non_null(m);
	return m;
}

struct model *fx_m;

int
fx_setup(void **state)
{
	fx_m = fx_model();
	return 0;
}

int
fx_teardown(void **state)
{
	model_unref(fx_m);
	fx_m = NULL;
	return 0;
}

/* A Reference of the resource type that carries the input. */
static char *
ref_for(enum input in, const char *tag)
{
	const char *type = "Observation";

	switch (input_kind(in)) {
	case INPUT_ANY:
		type = in == INPUT_ACTIVE_VITD || in == INPUT_VKA ||
		    in == INPUT_CALCIMIMETIC ? "MedicationStatement" :
		    "Condition";
		break;
	case INPUT_EARLIEST:
		type = in == INPUT_DIALYSIS ? "Procedure" : "Condition";
		break;
	case INPUT_SUM:
		type = "MedicationStatement";
		break;
	default:
		break;
	}
	return xasprintf("{\"reference\":\"%s/%s-%s\"}", type, tag,
	    input_name(in));
}

void
fx_lab(struct facts *f, enum input in, double value, int days_ago)
{
	char *ref = ref_for(in, "p1");

	facts_set(f, in, value, FX_AT - days_ago * FX_DAY_MS, 0, 0, ref);
	free(ref);
}

void
fx_flag(struct facts *f, enum input in, int days_ago)
{
	char *ref = ref_for(in, "p1");

	facts_set(f, in, 1, FX_AT - days_ago * FX_DAY_MS, 0, 0, ref);
	free(ref);
}

void
fx_person(struct facts *f, int sex, const char *birth_date)
{
	int64_t ms;

	facts_set(f, INPUT_SEX, sex, 0, 0, 0,
	    "{\"reference\":\"Patient/p-1\"}");
	assert_int_equal(util_parse_fhir_time(birth_date, UTIL_TIME_DATE,
	    &ms, NULL), 0);
	facts_set(f, INPUT_BIRTH_DATE, (double)(ms / FX_DAY_MS), 0, 0, 0,
	    "{\"reference\":\"Patient/p-1\"}");
}

/* One vignette fact: value in unit (UCUM) converted as ingest would. */
static void
vignette_fact(struct facts *f, const json_t *x, const char *vname)
{
	const char *name = json_string_value(json_object_get(x, "input"));
	const char *unit = json_string_value(json_object_get(x, "unit"));
	const json_t *v = json_object_get(x, "value"), *fl;
	int in = input_by_name(name != NULL ? name : "");
	double value = v != NULL ? json_number_value(v) : 1, aux = 0;
	uint32_t flags = 0;
	int64_t eff = 0;
	char *ref;
	size_t i;

	if (in < 0)
		fail_msg("vignette %s: unknown input %s", vname, name);
	if (unit != NULL && units_to_canonical((enum input)in, value,
	    UNITS_UCUM_SYSTEM, unit, unit, &value) != UNITS_OK)
		fail_msg("vignette %s: unit %s", vname, unit);
	if (json_is_true(json_object_get(x, "no_time")))
		flags |= FACT_TIME_UNKNOWN;
	else
		eff = FX_AT - json_integer_value(json_object_get(x,
		    "days_ago")) * FX_DAY_MS;
	json_array_foreach(json_object_get(x, "flags"), i, fl)
		if (strcmp(json_string_value(fl), "value_unknown") == 0)
			flags |= FACT_VALUE_UNKNOWN;
	if (json_object_get(x, "uln") != NULL) {
		flags |= FACT_HAS_ULN;
		aux = json_number_value(json_object_get(x, "uln"));
	}
	ref = ref_for((enum input)in, vname);
	facts_set(f, (enum input)in, value, eff, flags, aux, ref);
	free(ref);
}

int
fx_vignettes_load(struct fx_vignette **out)
{
	char *p = fx_srcpath("tests/data/vignettes/vignettes.json");
	json_error_t err;
	json_t *doc = json_load_file(p, JSON_REJECT_DUPLICATES, &err);
	const json_t *list, *v, *x, *e;
	const char *sex, *key;
	struct fx_vignette *vs;
	size_t i, k;
	int o;

	if (doc == NULL)
		fail_msg("%s:%d: %s", p, err.line, err.text);
	free(p);
	list = json_object_get(doc, "vignettes");
	assert_true(json_array_size(list) >= 12);
	vs = xcalloc(json_array_size(list), sizeof(*vs));
	json_array_foreach(list, i, v) {
		struct fx_vignette *fv = &vs[i];

		fv->v_name = xstrdup(json_string_value(json_object_get(v,
		    "name")));
		fv->v_why = xstrdup(json_string_value(json_object_get(v,
		    "why")));
		facts_init(&fv->v_facts);
		sex = json_string_value(json_object_get(v, "sex"));
		fx_person(&fv->v_facts, strcmp(sex, "female") == 0 ?
		    INPUT_SEX_FEMALE : strcmp(sex, "male") == 0 ?
		    INPUT_SEX_MALE : INPUT_SEX_OTHER,
		    json_string_value(json_object_get(v, "birth_date")));
		json_array_foreach(json_object_get(v, "facts"), k, x)
			vignette_fact(&fv->v_facts, x, fv->v_name);
		e = json_object_get(v, "expect");
		assert_non_null(e);
		fv->v_expect.final = strcmp(json_string_value(
		    json_object_get(e, "status")), "final") == 0;
		for (o = 0; o < 2; o++) {
			key = o == 0 ? "cutaneous" : "vascular";
			util_strlcpy(fv->v_expect.band[o], json_string_value(
			    json_object_get(json_object_get(e, key), "band")),
			    sizeof(fv->v_expect.band[o]));
			fv->v_expect.percent[o] = json_number_value(
			    json_object_get(json_object_get(e, key),
			    "percent"));
		}
	}
	o = (int)json_array_size(list);
	json_decref(doc);
	*out = vs;
	return o;
}

void
fx_vignettes_free(struct fx_vignette *vs, int n)
{
	int i;

	for (i = 0; vs != NULL && i < n; i++) {
		free(vs[i].v_name);
		free(vs[i].v_why);
	}
	free(vs);
}
