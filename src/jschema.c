/*
 * jschema.c - JSON Schema (draft 2020-12 subset) compiler and validator.
 *
 * Owns: checking that a schema uses only the keywords implemented here
 * (jschema_compile refuses anything else, so an unknown keyword can never
 * be silently ignored), compiling its patterns, and validating instances
 * with JSON-path error messages.  Must not: read files, log, or keep
 * global state; the caller decides what to do with the reports.
 */
#include "autoconfig.h"

#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jschema.h"
#include "util.h"

#define JSCHEMA_MAX_DEPTH	128	/* nested schemas incl. $ref hops */

struct pat {
	const json_t	*p_node;	/* "pattern" string in the schema */
	regex_t		 p_re;
};

struct jschema {
	json_t		*js_root;	/* one reference held */
	struct pat	*js_pats;
	int		 js_npats;
};

/* One problem, kept while alternatives of oneOf/anyOf are tried. */
struct verr {
	char	*ve_path;
	char	*ve_msg;
};

struct verrs {
	struct verr	*v;
	int		 n;
	int		 cap;
};

/*
 * jansson's iteration macros take a mutable json_t; iterating does not
 * modify, and this keeps the rest of the file const-correct.
 */
static json_t *
mut(const json_t *j)
{
	union {
		const json_t	*c;
		json_t		*m;
	} u;

	u.c = j;
	return u.m;
}

/* --- paths and problem lists -------------------------------------------- */

static bool
is_ident(const char *k)
{
	const char *p;

	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
	    *k == '_' || *k == '$'))
		return false;
	for (p = k + 1; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
			return false;
	return true;
}

/* Append ".key" (or ["key"] when key is not an identifier); returns the
 * old length for path_pop(). */
static size_t
path_key(struct buf *p, const char *k)
{
	size_t old = p->b_len;
	const char *c;

	if (is_ident(k)) {
		buf_printf(p, ".%s", k);
		return old;
	}
	buf_puts(p, "[\"");
	for (c = k; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			buf_putc(p, '\\');
		buf_putc(p, *c);
	}
	buf_puts(p, "\"]");
	return old;
}

static size_t
path_index(struct buf *p, size_t i)
{
	size_t old = p->b_len;

	buf_printf(p, "[%zu]", i);
	return old;
}

static void
path_pop(struct buf *p, size_t old)
{
	p->b_len = old;
	p->b_data[old] = '\0';
}

static void
verr_add(struct verrs *e, const struct buf *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
verr_add(struct verrs *e, const struct buf *path, const char *fmt, ...)
{
	struct buf m;
	va_list ap;

	if (e->n == e->cap) {
		e->cap = e->cap == 0 ? 8 : e->cap * 2;
		e->v = xrealloc(e->v, (size_t)e->cap * sizeof(*e->v));
	}
	buf_init(&m);
	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	e->v[e->n].ve_path = xstrdup(path->b_data);
	e->v[e->n].ve_msg = buf_steal(&m, NULL);
	e->n++;
}

static void
verrs_free(struct verrs *e)
{
	int i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].ve_path);
		free(e->v[i].ve_msg);
	}
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

/* Move every problem of from to the end of to. */
static void
verrs_move(struct verrs *to, struct verrs *from)
{
	int i;

	for (i = 0; i < from->n; i++) {
		if (to->n == to->cap) {
			to->cap = to->cap == 0 ? 8 : to->cap * 2;
			to->v = xrealloc(to->v, (size_t)to->cap *
			    sizeof(*to->v));
		}
		to->v[to->n++] = from->v[i];
	}
	free(from->v);
	from->v = NULL;
	from->n = from->cap = 0;
}

/* A short printable rendering of a JSON value for messages. */
static void
put_value(struct buf *b, const json_t *x)
{
	char *s = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s == NULL) {
		buf_puts(b, "?");
		return;
	}
	if (strlen(s) > 60)
		buf_printf(b, "%.57s...", s);
	else
		buf_puts(b, s);
	free(s);
}

static const char *
type_of(const json_t *x)
{
	switch (json_typeof(x)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

/* JSON Schema: an integer is any number with a zero fractional part. */
static bool
has_type(const json_t *x, const char *t)
{
	double v;

	if (strcmp(t, "number") == 0)
		return json_is_number(x);
	if (strcmp(t, "integer") == 0) {
		if (json_is_integer(x))
			return true;
		if (!json_is_real(x))
			return false;
		v = json_real_value(x);
		return isfinite(v) && v == floor(v);
	}
	if (strcmp(t, "boolean") == 0)
		return json_is_boolean(x);
	return strcmp(t, type_of(x)) == 0;
}

/* Equality as JSON Schema defines it (1 == 1.0). */
static bool
json_same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b) != 0;
}

/* Length in Unicode code points (jansson strings are valid UTF-8). */
static size_t
utf8_len(const char *s, size_t n)
{
	size_t i, cp = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			cp++;
	return cp;
}

/* --- schema checking ---------------------------------------------------- */

struct compile {
	struct jschema		*js;
	jschema_report_fn	*report;
	void			*arg;
	int			 problems;
};

static void
cproblem(struct compile *c, const struct buf *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cproblem(struct compile *c, const struct buf *path, const char *fmt, ...)
{
	struct buf m;
	va_list ap;

	buf_init(&m);
	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	c->report(c->arg, path->b_data, m.b_data);
	buf_free(&m);
	c->problems++;
}

static const json_t *
resolve_ref(const json_t *root, const char *ref)
{
	if (!util_has_prefix(ref, "#/$defs/") || ref[8] == '\0' ||
	    strchr(ref + 8, '/') != NULL || strchr(ref + 8, '~') != NULL)
		return NULL;
	return json_object_get(json_object_get(root, "$defs"), ref + 8);
}

static void check_schema(struct compile *, const json_t *, struct buf *, int);

static void
check_nonneg_int(struct compile *c, const json_t *v, struct buf *path)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		cproblem(c, path, "must be a non-negative integer");
}

static void
check_schema_map(struct compile *c, const json_t *v, struct buf *path,
    int depth)
{
	const char *k;
	json_t *sub;
	size_t old;

	if (!json_is_object(v)) {
		cproblem(c, path, "must be an object of schemas");
		return;
	}
	json_object_foreach(mut(v), k, sub) {
		old = path_key(path, k);
		check_schema(c, sub, path, depth + 1);
		path_pop(path, old);
	}
}

static void
check_schema_list(struct compile *c, const json_t *v, struct buf *path,
    int depth)
{
	json_t *sub;
	size_t i, old;

	if (!json_is_array(v) || json_array_size(v) == 0) {
		cproblem(c, path, "must be a non-empty array of schemas");
		return;
	}
	json_array_foreach(v, i, sub) {
		old = path_index(path, i);
		check_schema(c, sub, path, depth + 1);
		path_pop(path, old);
	}
}

static void
check_type(struct compile *c, const json_t *v, struct buf *path)
{
	static const char *const types[] = { "null", "boolean", "object",
	    "array", "number", "integer", "string" };
	const json_t *t;
	size_t i, k;
	bool ok;

	if (json_is_string(v)) {
		for (k = 0; k < UTIL_ARRAY_LEN(types); k++)
			if (strcmp(json_string_value(v), types[k]) == 0)
				return;
		cproblem(c, path, "unknown type \"%s\"", json_string_value(v));
		return;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		cproblem(c, path, "must be a type name or an array of them");
		return;
	}
	json_array_foreach(v, i, t) {
		ok = false;
		for (k = 0; json_is_string(t) && k < UTIL_ARRAY_LEN(types); k++)
			if (strcmp(json_string_value(t), types[k]) == 0)
				ok = true;
		if (!ok)
			cproblem(c, path, "item %zu is not a type name", i);
	}
}

static void
check_pattern(struct compile *c, const json_t *v, struct buf *path)
{
	struct jschema *js = c->js;
	char err[128];
	int rc;

	if (!json_is_string(v)) {
		cproblem(c, path, "must be a string");
		return;
	}
	js->js_pats = xrealloc(js->js_pats, (size_t)(js->js_npats + 1) *
	    sizeof(*js->js_pats));
	rc = regcomp(&js->js_pats[js->js_npats].p_re, json_string_value(v),
	    REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &js->js_pats[js->js_npats].p_re, err,
		    sizeof(err));
		regfree(&js->js_pats[js->js_npats].p_re);
		cproblem(c, path, "not a POSIX extended regular expression: "
		    "%s", err);
		return;
	}
	js->js_pats[js->js_npats++].p_node = v;
}

/* Check one keyword of a schema object. */
static void
check_keyword(struct compile *c, const char *k, const json_t *v,
    struct buf *path, int depth)
{
	static const char *const annotations[] = { "$schema", "$id",
	    "$comment", "title", "description" };
	static const char *const numbers[] = { "minimum", "maximum",
	    "exclusiveMinimum", "exclusiveMaximum" };
	static const char *const counts[] = { "minLength", "maxLength",
	    "minItems", "maxItems" };
	const json_t *x;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(annotations); i++)
		if (strcmp(k, annotations[i]) == 0) {
			if (!json_is_string(v))
				cproblem(c, path, "must be a string");
			return;
		}
	for (i = 0; i < UTIL_ARRAY_LEN(numbers); i++)
		if (strcmp(k, numbers[i]) == 0) {
			if (!json_is_number(v))
				cproblem(c, path, "must be a number");
			return;
		}
	for (i = 0; i < UTIL_ARRAY_LEN(counts); i++)
		if (strcmp(k, counts[i]) == 0) {
			check_nonneg_int(c, v, path);
			return;
		}
	if (strcmp(k, "$defs") == 0 || strcmp(k, "properties") == 0)
		check_schema_map(c, v, path, depth);
	else if (strcmp(k, "additionalProperties") == 0 ||
	    strcmp(k, "items") == 0)
		check_schema(c, v, path, depth + 1);
	else if (strcmp(k, "oneOf") == 0 || strcmp(k, "anyOf") == 0 ||
	    strcmp(k, "allOf") == 0)
		check_schema_list(c, v, path, depth);
	else if (strcmp(k, "type") == 0)
		check_type(c, v, path);
	else if (strcmp(k, "required") == 0) {
		if (!json_is_array(v))
			cproblem(c, path, "must be an array of strings");
		else
			json_array_foreach(v, i, x)
				if (!json_is_string(x))
					cproblem(c, path, "item %zu is not "
					    "a string", i);
	} else if (strcmp(k, "enum") == 0) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			cproblem(c, path, "must be a non-empty array");
	} else if (strcmp(k, "const") == 0) {
		/* any value */
	} else if (strcmp(k, "uniqueItems") == 0) {
		if (!json_is_boolean(v))
			cproblem(c, path, "must be a boolean");
	} else if (strcmp(k, "pattern") == 0)
		check_pattern(c, v, path);
	else if (strcmp(k, "$ref") == 0) {
		if (!json_is_string(v) ||
		    resolve_ref(c->js->js_root, json_string_value(v)) == NULL)
			cproblem(c, path, "only \"#/$defs/NAME\" references to "
			    "an existing definition are supported");
	} else
		cproblem(c, path, "keyword \"%s\" is not implemented by this "
		    "validator (it would be ignored)", k);
}

static void
check_schema(struct compile *c, const json_t *s, struct buf *path, int depth)
{
	const char *k;
	json_t *v;
	size_t old;

	if (depth > JSCHEMA_MAX_DEPTH) {
		cproblem(c, path, "schema nested too deeply");
		return;
	}
	if (json_is_boolean(s))
		return;
	if (!json_is_object(s)) {
		cproblem(c, path, "a schema must be an object or a boolean");
		return;
	}
	json_object_foreach(mut(s), k, v) {
		old = path_key(path, k);
		check_keyword(c, k, v, path, depth);
		path_pop(path, old);
	}
}

struct jschema *
jschema_compile(json_t *schema, jschema_report_fn *report, void *arg)
{
	struct compile c;
	struct buf path;

	c.js = xcalloc(1, sizeof(*c.js));
	c.js->js_root = json_incref(schema);
	c.report = report;
	c.arg = arg;
	c.problems = 0;
	buf_init(&path);
	buf_puts(&path, "$");
	check_schema(&c, schema, &path, 0);
	buf_free(&path);
	if (c.problems > 0) {
		jschema_free(c.js);
		return NULL;
	}
	return c.js;
}

void
jschema_free(struct jschema *js)
{
	int i;

	if (js == NULL)
		return;
	for (i = 0; i < js->js_npats; i++)
		regfree(&js->js_pats[i].p_re);
	free(js->js_pats);
	json_decref(js->js_root);
	free(js);
}

/* --- validation --------------------------------------------------------- */

static void validate(const struct jschema *, const json_t *, const json_t *,
    struct buf *, struct verrs *, int);

static const regex_t *
find_pattern(const struct jschema *js, const json_t *node)
{
	int i;

	for (i = 0; i < js->js_npats; i++)
		if (js->js_pats[i].p_node == node)
			return &js->js_pats[i].p_re;
	return NULL;
}

static void
v_type(const json_t *t, const json_t *x, struct buf *path, struct verrs *e)
{
	const json_t *u;
	size_t i;

	if (json_is_string(t)) {
		if (!has_type(x, json_string_value(t)))
			verr_add(e, path, "expected %s, got %s",
			    json_string_value(t), type_of(x));
		return;
	}
	json_array_foreach(t, i, u)
		if (has_type(x, json_string_value(u)))
			return;
	verr_add(e, path, "type %s is not allowed here", type_of(x));
}

static void
v_enum(const json_t *en, const json_t *x, struct buf *path, struct verrs *e)
{
	const json_t *u;
	struct buf m;
	size_t i;

	json_array_foreach(en, i, u)
		if (json_same(u, x))
			return;
	buf_init(&m);
	put_value(&m, x);
	buf_puts(&m, " is not one of ");
	json_array_foreach(en, i, u) {
		if (i > 0)
			buf_puts(&m, ", ");
		put_value(&m, u);
	}
	verr_add(e, path, "%s", m.b_data);
	buf_free(&m);
}

static void
v_number(const json_t *s, const json_t *x, struct buf *path, struct verrs *e)
{
	const json_t *b;
	double v = json_number_value(x);

	if ((b = json_object_get(s, "minimum")) != NULL &&
	    v < json_number_value(b))
		verr_add(e, path, "%g is less than the minimum %g", v,
		    json_number_value(b));
	if ((b = json_object_get(s, "maximum")) != NULL &&
	    v > json_number_value(b))
		verr_add(e, path, "%g is greater than the maximum %g", v,
		    json_number_value(b));
	if ((b = json_object_get(s, "exclusiveMinimum")) != NULL &&
	    v <= json_number_value(b))
		verr_add(e, path, "%g must be greater than %g", v,
		    json_number_value(b));
	if ((b = json_object_get(s, "exclusiveMaximum")) != NULL &&
	    v >= json_number_value(b))
		verr_add(e, path, "%g must be less than %g", v,
		    json_number_value(b));
}

static void
v_string(const struct jschema *js, const json_t *s, const json_t *x,
    struct buf *path, struct verrs *e)
{
	const json_t *b;
	const regex_t *re;
	size_t n = utf8_len(json_string_value(x), json_string_length(x));
	struct buf m;

	if ((b = json_object_get(s, "minLength")) != NULL &&
	    n < (size_t)json_integer_value(b))
		verr_add(e, path, "string is shorter than %lld characters",
		    (long long)json_integer_value(b));
	if ((b = json_object_get(s, "maxLength")) != NULL &&
	    n > (size_t)json_integer_value(b))
		verr_add(e, path, "string is longer than %lld characters",
		    (long long)json_integer_value(b));
	if ((b = json_object_get(s, "pattern")) != NULL &&
	    (re = find_pattern(js, b)) != NULL &&
	    (strlen(json_string_value(x)) != json_string_length(x) ||
	    regexec(re, json_string_value(x), 0, NULL, 0) != 0)) {
		buf_init(&m);
		put_value(&m, x);
		verr_add(e, path, "%s does not match the pattern %s",
		    m.b_data, json_string_value(b));
		buf_free(&m);
	}
}

static void
v_object(const struct jschema *js, const json_t *s, const json_t *x,
    struct buf *path, struct verrs *e, int depth)
{
	const json_t *props = json_object_get(s, "properties");
	const json_t *addl = json_object_get(s, "additionalProperties");
	const json_t *req = json_object_get(s, "required"), *sub, *r;
	const char *k;
	json_t *v;
	size_t i, old;

	json_array_foreach(req, i, r) {
		if (json_object_get(x, json_string_value(r)) != NULL)
			continue;
		old = path_key(path, json_string_value(r));
		verr_add(e, path, "required property is missing");
		path_pop(path, old);
	}
	json_object_foreach(mut(x), k, v) {
		sub = props != NULL ? json_object_get(props, k) : NULL;
		if (sub == NULL)
			sub = addl;
		if (sub == NULL)
			continue;
		old = path_key(path, k);
		if (json_is_false(sub))
			verr_add(e, path, "property not allowed here");
		else
			validate(js, sub, v, path, e, depth + 1);
		path_pop(path, old);
	}
}

static void
v_array(const struct jschema *js, const json_t *s, const json_t *x,
    struct buf *path, struct verrs *e, int depth)
{
	const json_t *b, *items = json_object_get(s, "items");
	size_t i, j, n = json_array_size(x), old;

	if ((b = json_object_get(s, "minItems")) != NULL &&
	    n < (size_t)json_integer_value(b))
		verr_add(e, path, "%zu items, fewer than the minimum %lld", n,
		    (long long)json_integer_value(b));
	if ((b = json_object_get(s, "maxItems")) != NULL &&
	    n > (size_t)json_integer_value(b))
		verr_add(e, path, "%zu items, more than the maximum %lld", n,
		    (long long)json_integer_value(b));
	if (json_is_true(json_object_get(s, "uniqueItems")))
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (json_same(json_array_get(x, i),
				    json_array_get(x, j)))
					verr_add(e, path, "items %zu and %zu "
					    "are equal", i, j);
	if (items == NULL)
		return;
	for (i = 0; i < n; i++) {
		old = path_index(path, i);
		if (json_is_false(items))
			verr_add(e, path, "item not allowed here");
		else
			validate(js, items, json_array_get(x, i), path, e,
			    depth + 1);
		path_pop(path, old);
	}
}

/*
 * oneOf / anyOf / allOf.  When no alternative fits, the problems of the
 * closest one (fewest problems) are reported: they name the fields to fix.
 */
static void
v_combine(const struct jschema *js, const char *kw, const json_t *list,
    const json_t *x, struct buf *path, struct verrs *e, int depth)
{
	struct verrs best = { NULL, 0, 0 }, cur;
	const json_t *alt;
	size_t i;
	int pass = 0;
	bool have_best = false;

	json_array_foreach(list, i, alt) {
		memset(&cur, 0, sizeof(cur));
		validate(js, alt, x, path, &cur, depth + 1);
		if (strcmp(kw, "allOf") == 0) {
			verrs_move(e, &cur);
			continue;
		}
		if (cur.n == 0)
			pass++;
		if (!have_best || cur.n < best.n) {
			verrs_free(&best);
			best = cur;
			have_best = true;
		} else
			verrs_free(&cur);
	}
	if (strcmp(kw, "allOf") == 0)
		return;
	if (pass == 0)
		verrs_move(e, &best);
	else if (strcmp(kw, "oneOf") == 0 && pass > 1)
		verr_add(e, path, "matches %d alternatives of oneOf, exactly "
		    "one is allowed", pass);
	verrs_free(&best);
}

static void
validate(const struct jschema *js, const json_t *s, const json_t *x,
    struct buf *path, struct verrs *e, int depth)
{
	static const char *const combiners[] = { "allOf", "anyOf", "oneOf" };
	const json_t *b;
	size_t i, before = (size_t)e->n;

	if (depth > JSCHEMA_MAX_DEPTH) {
		verr_add(e, path, "nested too deeply");
		return;
	}
	if (json_is_true(s))
		return;
	if (json_is_false(s)) {
		verr_add(e, path, "no value is allowed here");
		return;
	}
	if ((b = json_object_get(s, "$ref")) != NULL)
		validate(js, resolve_ref(js->js_root, json_string_value(b)), x,
		    path, e, depth + 1);
	if ((b = json_object_get(s, "type")) != NULL) {
		v_type(b, x, path, e);
		/* A value of the wrong type: the other keywords would only
		 * repeat the problem. */
		if ((size_t)e->n > before)
			return;
	}
	if ((b = json_object_get(s, "enum")) != NULL)
		v_enum(b, x, path, e);
	if ((b = json_object_get(s, "const")) != NULL && !json_same(b, x)) {
		struct buf m;

		buf_init(&m);
		put_value(&m, b);
		verr_add(e, path, "must be %s", m.b_data);
		buf_free(&m);
	}
	if (json_is_number(x))
		v_number(s, x, path, e);
	else if (json_is_string(x))
		v_string(js, s, x, path, e);
	else if (json_is_object(x))
		v_object(js, s, x, path, e, depth);
	else if (json_is_array(x))
		v_array(js, s, x, path, e, depth);
	for (i = 0; i < UTIL_ARRAY_LEN(combiners); i++)
		if ((b = json_object_get(s, combiners[i])) != NULL)
			v_combine(js, combiners[i], b, x, path, e, depth);
}

int
jschema_validate(const struct jschema *js, const json_t *instance,
    jschema_report_fn *report, void *arg)
{
	struct verrs e = { NULL, 0, 0 };
	struct buf path;
	int i, n;

	buf_init(&path);
	buf_puts(&path, "$");
	validate(js, js->js_root, instance, &path, &e, 0);
	buf_free(&path);
	for (i = 0; i < e.n; i++)
		report(arg, e.v[i].ve_path, e.v[i].ve_msg);
	n = e.n;
	verrs_free(&e);
	return n;
}
