/*
 * model.c - load conf/model.json: parse, validate against the embedded
 * schemas/model.schema.json, check what a schema cannot say (input names
 * exist, thresholds convert into canonical units, cut-points ascend,
 * groups and mitigation ids resolve, every weight is cited), and build the
 * immutable, reference-counted struct model the engine reads.
 *
 * Must not: hard-code any weight (they live in the file), keep state
 * between loads, or log (problems go to the caller's stream, all of them,
 * as "NAME: $.json.path: problem").
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inputs.h"
#include "jschema.h"
#include "model.h"
#include "model_schema.h"
#include "sha256.h"
#include "units.h"
#include "util.h"

#define MODEL_MAX_BYTES		(4 * 1024 * 1024)
#define MODEL_MAX_TERM_LOGODDS	20.0	/* one capped term, at most */

/* What a problem report needs; the path buffer follows the descent. */
struct load {
	const char	*l_name;
	FILE		*l_errf;
	int		 l_problems;
	struct buf	 l_path;
};

static void
problem(struct load *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct load *l, const char *fmt, ...)
{
	va_list ap;

	l->l_problems++;
	if (l->l_errf == NULL)
		return;
	fprintf(l->l_errf, "%s: %s: ", l->l_name, l->l_path.b_data);
	va_start(ap, fmt);
	vfprintf(l->l_errf, fmt, ap);
	va_end(ap);
	fputc('\n', l->l_errf);
}

/* Descend into .key or [i]; path_up() restores the previous path. */
static size_t
path_key(struct load *l, const char *k)
{
	size_t old = l->l_path.b_len;

	buf_printf(&l->l_path, ".%s", k);
	return old;
}

static size_t
path_index(struct load *l, size_t i)
{
	size_t old = l->l_path.b_len;

	buf_printf(&l->l_path, "[%zu]", i);
	return old;
}

static void
path_up(struct load *l, size_t old)
{
	l->l_path.b_len = old;
	l->l_path.b_data[old] = '\0';
}

static void
schema_report(void *arg, const char *path, const char *msg)
{
	struct load *l = arg;

	l->l_problems++;
	if (l->l_errf != NULL)
		fprintf(l->l_errf, "%s: %s: %s\n", l->l_name, path, msg);
}

const char *
model_schema_text(size_t *len)
{
	if (len != NULL)
		*len = model_schema_json_len;
	return (const char *)model_schema_json;
}

/* --- freeing ------------------------------------------------------------ */

static void
term_fini(struct model_term *t)
{
	free(t->mt_id);
	free(t->mt_label);
	free(t->mt_preds);
	free(t->mt_unless);
	free(t->mt_mitigation);
	free(t->mt_citation);
	free(t->mt_evidence);
}

static void
model_free(struct model *m)
{
	struct model_outcome *o;
	int i, k;

	free(m->m_id);
	free(m->m_version);
	free(m->m_title);
	free(m->m_text);
	free(m->m_method_system);
	free(m->m_method_code);
	free(m->m_method_display);
	free(m->m_calibration_note);
	free(m->m_correction_note);
	for (i = 0; i < MODEL_BANDS; i++) {
		free(m->m_band_code[i]);
		free(m->m_band_display[i]);
	}
	free(m->m_final_inputs);
	for (i = 0; i < MODEL_OUTCOMES; i++) {
		o = &m->m_outcomes[i];
		free(o->mo_key);
		free(o->mo_text);
		free(o->mo_note);
		for (k = 0; k < o->mo_ncodings; k++) {
			free(o->mo_codings[k].mc_system);
			free(o->mo_codings[k].mc_code);
			free(o->mo_codings[k].mc_display);
		}
		free(o->mo_codings);
		for (k = 0; k < o->mo_nterms; k++)
			term_fini(&o->mo_terms[k]);
		free(o->mo_terms);
	}
	for (i = 0; i < m->m_nmitigations; i++) {
		free(m->m_mitigations[i].mm_id);
		free(m->m_mitigations[i].mm_text);
		free(m->m_mitigations[i].mm_citation);
	}
	free(m->m_mitigations);
	free(m);
}

struct model *
model_ref(struct model *m)
{
	if (m != NULL)
		atomic_fetch_add(&m->m_refs, 1);
	return m;
}

void
model_unref(struct model *m)
{
	if (m != NULL && atomic_fetch_sub(&m->m_refs, 1) == 1)
		model_free(m);
}

int
model_mitigation_index(const struct model *m, const char *id)
{
	int i;

	for (i = 0; id != NULL && i < m->m_nmitigations; i++)
		if (strcmp(m->m_mitigations[i].mm_id, id) == 0)
			return i;
	return -1;
}

/* --- building (the schema has vouched for types and required keys) ------ */

static char *
dup_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? xstrdup(s) : NULL;
}

/* True when s holds something besides blanks. */
static bool
has_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n')
			return true;
	return false;
}

/* A known input name at the current path, or -1 (reported). */
static int
input_at(struct load *l, const json_t *v)
{
	int in = input_by_name(json_string_value(v));

	if (in < 0)
		problem(l, "unknown input \"%s\" (see src/inputs.h)",
		    json_string_value(v));
	return in;
}

/* Flags (diagnoses, medicines, sex) test presence; quantities compare. */
static bool
is_flag_input(enum input in)
{
	enum input_kind k = input_kind(in);

	return input_unit(in)[0] == '\0' || k == INPUT_ANY ||
	    k == INPUT_EARLIEST;
}

/* Convert v stated in unit (NULL: canonical) into in's canonical unit. */
static bool
convert(struct load *l, enum input in, const char *unit, double v,
    double *out)
{
	if (unit == NULL || strcmp(unit, input_unit(in)) == 0) {
		*out = v;
		return true;
	}
	if (units_convert_ucum(in, v, unit, out) != UNITS_OK) {
		problem(l, "\"%s\" is not a unit known for input \"%s\" "
		    "(canonical %s)", unit, input_name(in), input_unit(in));
		return false;
	}
	return true;
}

static const struct {
	const char	*name;
	enum model_op	 op;
} ops[] = {
	{ ">", MODEL_OP_GT }, { ">=", MODEL_OP_GE }, { "<", MODEL_OP_LT },
	{ "<=", MODEL_OP_LE }, { "present", MODEL_OP_PRESENT },
	{ "==", MODEL_OP_EQ },
};

static void
build_pred(struct load *l, const json_t *j, struct model_pred *p)
{
	const char *op = json_string_value(json_object_get(j, "op"));
	const char *unit = json_string_value(json_object_get(j, "unit"));
	const json_t *value = json_object_get(j, "value");
	const json_t *uln = json_object_get(j, "uln");
	size_t i, old;
	int in;

	memset(p, 0, sizeof(*p));
	old = path_key(l, "input");
	in = input_at(l, json_object_get(j, "input"));
	path_up(l, old);
	if (in < 0)
		return;
	p->mp_input = (enum input)in;
	for (i = 0; i < UTIL_ARRAY_LEN(ops); i++)
		if (strcmp(op, ops[i].name) == 0)
			p->mp_op = ops[i].op;
	p->mp_or_unknown = json_is_true(json_object_get(j, "or_unknown"));
	if (p->mp_or_unknown && input_kind(p->mp_input) != INPUT_SUM)
		problem(l, "or_unknown applies only to inputs whose quantity "
		    "can be unknown (calcium_binder)");
	if (p->mp_op == MODEL_OP_PRESENT) {
		if (value != NULL || uln != NULL || unit != NULL)
			problem(l, "\"present\" takes no value, uln or unit");
		if (!is_flag_input(p->mp_input) &&
		    input_kind(p->mp_input) != INPUT_SUM)
			problem(l, "\"present\" tests flags (diagnoses, "
			    "medicines, sex); compare the value of \"%s\"",
			    input_name(p->mp_input));
		return;
	}
	if (is_flag_input(p->mp_input) && p->mp_op != MODEL_OP_EQ) {
		problem(l, "\"%s\" is a flag: use \"present\"",
		    input_name(p->mp_input));
		return;
	}
	if ((value == NULL) == (uln == NULL) ||
	    (p->mp_op == MODEL_OP_EQ && uln != NULL)) {
		problem(l, "\"%s\" needs exactly one of value or uln%s", op,
		    p->mp_op == MODEL_OP_EQ ? " (== takes a value)" : "");
		return;
	}
	if (value != NULL) {
		old = path_key(l, "value");
		convert(l, p->mp_input, unit, json_number_value(value),
		    &p->mp_value);
		path_up(l, old);
		return;
	}
	old = path_key(l, "uln");
	p->mp_uln_mult = json_number_value(json_object_get(uln, "multiple"));
	/* A lab's upper limit is the last normal value ("40-129"): above it
	 * is abnormal, so lab_op may be stricter than the default's op. */
	p->mp_lab_op = p->mp_op;
	op = json_string_value(json_object_get(uln, "lab_op"));
	for (i = 0; op != NULL && i < UTIL_ARRAY_LEN(ops); i++)
		if (strcmp(op, ops[i].name) == 0)
			p->mp_lab_op = ops[i].op;
	if (((p->mp_op == MODEL_OP_GT || p->mp_op == MODEL_OP_GE) !=
	    (p->mp_lab_op == MODEL_OP_GT || p->mp_lab_op == MODEL_OP_GE)))
		problem(l, "lab_op must compare in the same direction as op");
	if (convert(l, p->mp_input, unit,
	    json_number_value(json_object_get(uln, "default")),
	    &p->mp_uln_default))
		p->mp_value = p->mp_uln_mult * p->mp_uln_default;
	path_up(l, old);
}

static void
build_per_unit(struct load *l, const json_t *j, struct model_term *t)
{
	const char *unit = json_string_value(json_object_get(j, "unit"));
	double per = 0, cap = 0;
	size_t old;
	int in;

	old = path_key(l, "input");
	in = input_at(l, json_object_get(j, "input"));
	if (in >= 0 && is_flag_input((enum input)in)) {
		problem(l, "per-unit terms need a quantity; \"%s\" is a flag",
		    input_name((enum input)in));
		in = -1;
	}
	path_up(l, old);
	if (in < 0)
		return;
	t->mt_input = (enum input)in;
	old = path_key(l, "unit");
	if (convert(l, t->mt_input, unit,
	    json_number_value(json_object_get(j, "ref")), &t->mt_ref) &&
	    convert(l, t->mt_input, unit,
	    json_number_value(json_object_get(j, "per")), &per) &&
	    convert(l, t->mt_input, unit,
	    json_number_value(json_object_get(j, "cap")), &cap)) {
		t->mt_per = per;
		/* The file states the cap as a distance from ref; the
		 * struct counts steps (model.h). */
		t->mt_cap = per > 0 ? cap / per : 0;
	}
	path_up(l, old);
	/* Caps exist so one absurd value cannot dominate (CLINICAL.md). */
	if (!(t->mt_weight * t->mt_cap <= MODEL_MAX_TERM_LOGODDS)) {
		old = path_key(l, "cap");
		problem(l, "weight x cap / per may add at most %g log odds",
		    MODEL_MAX_TERM_LOGODDS);
		path_up(l, old);
	}
}

static void
build_unless(struct load *l, const json_t *j, struct model_term *t)
{
	const json_t *u = json_object_get(j, "unless_present"), *v;
	size_t i, old;
	int in;

	if (u == NULL)
		return;
	t->mt_unless = xcalloc(json_array_size(u), sizeof(*t->mt_unless));
	old = path_key(l, "unless_present");
	json_array_foreach(u, i, v) {
		size_t o2 = path_index(l, i);

		if ((in = input_at(l, v)) >= 0)
			t->mt_unless[t->mt_nunless++] = (enum input)in;
		path_up(l, o2);
	}
	path_up(l, old);
}

static void
build_term(struct load *l, const struct model *m, const json_t *j,
    struct model_term *t)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const json_t *preds = json_object_get(j, "predicates"), *p;
	size_t i, old;

	t->mt_id = dup_str(j, "id");
	t->mt_label = dup_str(j, "label");
	t->mt_citation = dup_str(j, "citation");
	t->mt_evidence = dup_str(j, "evidence");
	t->mt_mitigation = dup_str(j, "mitigation");
	t->mt_weight = json_number_value(json_object_get(j, "weight"));
	t->mt_unverified = json_is_true(json_object_get(j, "unverified"));
	t->mt_group = -1;
	if (t->mt_weight < 0) {
		/* The schema says so too; the engine's monotonicity rests
		 * on it, so it is checked where the struct is built. */
		old = path_key(l, "weight");
		problem(l, "weight must not be negative: a treatment never "
		    "lowers the risk");
		path_up(l, old);
	}
	old = path_key(l, "citation");
	if (!has_text(t->mt_citation))
		problem(l, "every weight needs a citation");
	path_up(l, old);
	old = path_key(l, "evidence");
	if (!has_text(t->mt_evidence))
		problem(l, "every weight needs an evidence grade");
	path_up(l, old);
	if (t->mt_mitigation != NULL &&
	    model_mitigation_index(m, t->mt_mitigation) < 0) {
		old = path_key(l, "mitigation");
		problem(l, "no mitigation has id \"%s\"", t->mt_mitigation);
		path_up(l, old);
	}
	build_unless(l, j, t);
	if (strcmp(type, "binary") == 0) {
		t->mt_type = MODEL_TERM_BINARY;
		t->mt_preds = xcalloc(json_array_size(preds),
		    sizeof(*t->mt_preds));
		old = path_key(l, "predicates");
		json_array_foreach(preds, i, p) {
			size_t o2 = path_index(l, i);

			build_pred(l, p, &t->mt_preds[i]);
			path_up(l, o2);
		}
		path_up(l, old);
		t->mt_npreds = (int)json_array_size(preds);
		t->mt_input = t->mt_preds[0].mp_input;
		return;
	}
	t->mt_type = strcmp(type, "per_unit_above") == 0 ?
	    MODEL_TERM_PER_UNIT_ABOVE : MODEL_TERM_PER_UNIT_BELOW;
	if (preds != NULL) {
		old = path_key(l, "predicates");
		problem(l, "per-unit terms take input, ref, per and cap, not "
		    "predicates");
		path_up(l, old);
	}
	build_per_unit(l, j, t);
}

/* Assign group indices; a group needs two or more terms of one outcome. */
static void
build_groups(struct load *l, const json_t *jterms, struct model_outcome *o,
    const json_t *other_terms)
{
	const char *names[MODEL_MAX_TERMS];
	int counts[MODEL_MAX_TERMS];
	const json_t *t, *u;
	const char *g, *h;
	size_t i, k, old;
	int n = 0;

	json_array_foreach(jterms, i, t) {
		if ((g = json_string_value(json_object_get(t, "group"))) ==
		    NULL)
			continue;
		for (k = 0; k < (size_t)n && strcmp(names[k], g) != 0; k++)
			continue;
		if (k == (size_t)n) {
			names[n] = g;
			counts[n++] = 0;
		}
		counts[k]++;
		o->mo_terms[i].mt_group = (int)k;
	}
	o->mo_ngroups = n;
	json_array_foreach(jterms, i, t) {
		if ((g = json_string_value(json_object_get(t, "group"))) ==
		    NULL)
			continue;
		old = path_index(l, i);
		path_key(l, "group");
		if (counts[o->mo_terms[i].mt_group] < 2)
			problem(l, "group \"%s\" has one term; a group "
			    "chooses the highest of several", g);
		json_array_foreach(other_terms, k, u) {
			h = json_string_value(json_object_get(u, "group"));
			if (h != NULL && strcmp(g, h) == 0) {
				problem(l, "group \"%s\" is also used by the "
				    "other outcome; groups are per outcome",
				    g);
				break;
			}
		}
		path_up(l, old);
	}
}

static void
build_outcome(struct load *l, struct model *m, const json_t *j, int idx,
    const json_t *other)
{
	static const char *const keys[MODEL_OUTCOMES] = { "cutaneous",
	    "vascular" };
	struct model_outcome *o = &m->m_outcomes[idx];
	const json_t *codings = json_object_get(j, "codings");
	const json_t *terms = json_object_get(j, "terms"), *c, *t;
	size_t i, old;

	o->mo_key = dup_str(j, "key");
	o->mo_text = dup_str(j, "text");
	o->mo_note = dup_str(j, "note");
	o->mo_intercept = json_number_value(json_object_get(j, "intercept"));
	if (strcmp(o->mo_key, keys[idx]) != 0) {
		old = path_key(l, "key");
		problem(l, "outcome %d must be \"%s\" (cutaneous, then "
		    "vascular)", idx, keys[idx]);
		path_up(l, old);
	}
	o->mo_codings = xcalloc(json_array_size(codings),
	    sizeof(*o->mo_codings));
	json_array_foreach(codings, i, c) {
		o->mo_codings[i].mc_system = dup_str(c, "system");
		o->mo_codings[i].mc_code = dup_str(c, "code");
		o->mo_codings[i].mc_display = dup_str(c, "display");
	}
	o->mo_ncodings = (int)json_array_size(codings);
	o->mo_terms = xcalloc(json_array_size(terms), sizeof(*o->mo_terms));
	o->mo_nterms = (int)json_array_size(terms);
	old = path_key(l, "terms");
	json_array_foreach(terms, i, t) {
		size_t o2 = path_index(l, i);

		build_term(l, m, t, &o->mo_terms[i]);
		path_up(l, o2);
	}
	build_groups(l, terms, o, json_object_get(other, "terms"));
	path_up(l, old);
}

/* Term ids are unique over the whole model: factors are named by them. */
static void
check_term_ids(struct load *l, const struct model *m)
{
	const struct model_outcome *o, *p;
	int a, b, i, k, n;
	size_t old;

	for (a = 0; a < MODEL_OUTCOMES; a++) {
		o = &m->m_outcomes[a];
		for (i = 0; i < o->mo_nterms; i++)
			for (b = 0; b <= a; b++) {
				p = &m->m_outcomes[b];
				n = b == a ? i : p->mo_nterms;
				for (k = 0; k < n; k++) {
					if (strcmp(o->mo_terms[i].mt_id,
					    p->mo_terms[k].mt_id) != 0)
						continue;
					old = l->l_path.b_len;
					buf_printf(&l->l_path,
					    ".outcomes[%d].terms[%d].id", a, i);
					problem(l, "duplicate term id \"%s\"",
					    o->mo_terms[i].mt_id);
					path_up(l, old);
				}
			}
	}
}

static void
build_bands(struct load *l, struct model *m, const json_t *j)
{
	const json_t *cuts = json_object_get(j, "cut_points_percent");
	const json_t *levels = json_object_get(j, "levels"), *v;
	static const char *const codes[MODEL_BANDS] = { "negligible", "low",
	    "moderate", "high" };
	size_t i, old = path_key(l, "bands");

	json_array_foreach(cuts, i, v)
		m->m_cuts[i] = json_number_value(v);
	for (i = 1; i < MODEL_BANDS - 1; i++)
		if (!(m->m_cuts[i] > m->m_cuts[i - 1])) {
			size_t o2 = path_key(l, "cut_points_percent");

			problem(l, "cut-points must ascend strictly "
			    "(%g then %g)", m->m_cuts[i - 1], m->m_cuts[i]);
			path_up(l, o2);
		}
	json_array_foreach(levels, i, v) {
		m->m_band_code[i] = dup_str(v, "code");
		m->m_band_display[i] = dup_str(v, "display");
		if (strcmp(m->m_band_code[i], codes[i]) != 0) {
			size_t o2 = path_key(l, "levels");

			path_index(l, i);
			path_key(l, "code");
			problem(l, "level %zu must be \"%s\" (levels ascend: "
			    "negligible, low, moderate, high)", i, codes[i]);
			path_up(l, o2);
		}
	}
	path_up(l, old);
}

/* root is not const only because jansson iterates mutable objects. */
static void
build_inputs(struct load *l, struct model *m, json_t *root)
{
	json_t *fresh = json_object_get(root, "freshness_days");
	const json_t *fin = json_object_get(root, "final_inputs");
	json_t *v;
	const char *k;
	size_t i, old, o2;
	int in;

	for (i = 0; i < INPUT_COUNT; i++)
		m->m_fresh_days[i] = input_default_fresh_days((enum input)i);
	old = path_key(l, "freshness_days");
	json_object_foreach(fresh, k, v) {
		o2 = path_key(l, k);
		in = input_by_name(k);
		if (in < 0)
			problem(l, "unknown input \"%s\"", k);
		else if (!input_is_measurement((enum input)in))
			problem(l, "only measured inputs go stale; \"%s\" is "
			    "a diagnosis, medicine or derived input", k);
		else
			m->m_fresh_days[in] = (int)json_integer_value(v);
		path_up(l, o2);
	}
	path_up(l, old);
	m->m_final_inputs = xcalloc(json_array_size(fin),
	    sizeof(*m->m_final_inputs));
	old = path_key(l, "final_inputs");
	json_array_foreach(fin, i, v) {
		o2 = path_index(l, i);
		in = input_at(l, v);
		if (in >= 0 && !input_is_measurement((enum input)in)) {
			problem(l, "\"%s\" is not a measured input",
			    input_name((enum input)in));
			in = -1;
		}
		if (in >= 0)
			m->m_final_inputs[m->m_nfinal++] = (enum input)in;
		path_up(l, o2);
	}
	path_up(l, old);
}

static void
build_mitigations(struct load *l, struct model *m, const json_t *list)
{
	const json_t *j;
	size_t i, old;
	int k;

	m->m_mitigations = xcalloc(json_array_size(list) + 1,
	    sizeof(*m->m_mitigations));
	json_array_foreach(list, i, j) {
		struct model_mitigation *mm = &m->m_mitigations[i];

		mm->mm_id = dup_str(j, "id");
		mm->mm_text = dup_str(j, "text");
		mm->mm_citation = dup_str(j, "citation");
		k = model_mitigation_index(m, mm->mm_id);
		m->m_nmitigations++;
		if (k >= 0 && k < (int)i) {
			old = l->l_path.b_len;
			buf_printf(&l->l_path, ".mitigations[%zu].id", i);
			problem(l, "duplicate mitigation id \"%s\"",
			    mm->mm_id);
			path_up(l, old);
		}
	}
}

static void
build(struct load *l, struct model *m, json_t *root)
{
	const json_t *method = json_object_get(root, "method");
	const json_t *corr = json_object_get(root, "calcium_correction");
	const json_t *outcomes = json_object_get(root, "outcomes");
	size_t old;
	int i;

	m->m_id = dup_str(root, "id");
	m->m_version = dup_str(root, "version");
	m->m_title = dup_str(root, "title");
	m->m_method_system = dup_str(method, "system");
	m->m_method_code = dup_str(method, "code");
	m->m_method_display = dup_str(method, "display");
	m->m_calibration_note = dup_str(root, "calibration");
	m->m_correct_calcium = json_is_true(json_object_get(corr, "enabled"));
	m->m_correction_note = dup_str(corr, "citation");
	build_bands(l, m, json_object_get(root, "bands"));
	build_inputs(l, m, root);
	build_mitigations(l, m, json_object_get(root, "mitigations"));
	for (i = 0; i < MODEL_OUTCOMES; i++) {
		old = path_key(l, "outcomes");
		path_index(l, (size_t)i);
		build_outcome(l, m, json_array_get(outcomes, (size_t)i), i,
		    json_array_get(outcomes, (size_t)(1 - i)));
		path_up(l, old);
	}
	check_term_ids(l, m);
}

/* --- entry points ------------------------------------------------------- */

/* Compile the embedded schema; a broken build is reported, not hidden. */
static struct jschema *
compile_schema(struct load *l)
{
	struct load sl = { "model.schema.json (built in)", l->l_errf, 0,
	    { NULL, 0, 0 } };
	struct jschema *js = NULL;
	json_error_t err;
	json_t *s;

	s = json_loadb((const char *)model_schema_json, model_schema_json_len,
	    JSON_REJECT_DUPLICATES, &err);
	if (s == NULL) {
		buf_init(&sl.l_path);
		buf_puts(&sl.l_path, "$");
		problem(&sl, "malformed JSON (line %d, column %d): %s",
		    err.line, err.column, err.text);
		buf_free(&sl.l_path);
	} else {
		js = jschema_compile(s, schema_report, &sl);
		json_decref(s);
	}
	l->l_problems += sl.l_problems;
	return js;
}

struct model *
model_load_string(const char *text, size_t len, const char *name,
    FILE *errf)
{
	struct load l;
	struct model *m = NULL;
	struct jschema *js = NULL;
	json_error_t err;
	json_t *root = NULL;
	uint8_t digest[SHA256_LEN];

	l.l_name = name != NULL ? name : "model";
	l.l_errf = errf;
	l.l_problems = 0;
	buf_init(&l.l_path);
	buf_puts(&l.l_path, "$");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		problem(&l, "malformed JSON (line %d, column %d): %s",
		    err.line, err.column, err.text);
		goto out;
	}
	if ((js = compile_schema(&l)) == NULL)
		goto out;
	if (jschema_validate(js, root, schema_report, &l) > 0)
		goto out;
	m = xcalloc(1, sizeof(*m));
	atomic_init(&m->m_refs, 1);
	build(&l, m, root);
	if (l.l_problems > 0) {
		model_free(m);
		m = NULL;
		goto out;
	}
	m->m_text = xmalloc(len + 1);
	memcpy(m->m_text, text, len);
	m->m_text[len] = '\0';
	m->m_textlen = len;
	sha256(text, len, digest);
	util_hex(digest, sizeof(digest), m->m_digest);
out:
	jschema_free(js);
	json_decref(root);
	buf_free(&l.l_path);
	return m;
}

struct model *
model_load(const char *path, FILE *errf)
{
	struct model *m = NULL;
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *fp;

	buf_init(&b);
	if ((fp = fopen(path, "rb")) == NULL) {
		if (errf != NULL)
			fprintf(errf, "%s: $: cannot open: %s\n", path,
			    strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_append(&b, chunk, n);
		if (b.b_len > MODEL_MAX_BYTES)
			break;
	}
	if (ferror(fp) || b.b_len > MODEL_MAX_BYTES) {
		if (errf != NULL)
			fprintf(errf, "%s: $: %s\n", path, ferror(fp) ?
			    "cannot read the file" : "larger than 4 MiB");
	} else
		m = model_load_string(b.b_data != NULL ? b.b_data : "",
		    b.b_len, path, errf);
	fclose(fp);
	buf_free(&b);
	return m;
}
