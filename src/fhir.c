/*
 * fhir.c - request bytes to JSON under the limits, and validated resources
 * to struct fhir_item: identity, stored body, content hash, patient keys
 * and model facts.  Clinical reading rules follow FHIR.md "Observation
 * handling" and CLINICAL.md; codes and units go through terminology and
 * units.  This file must not touch the store or the network, and its
 * diagnostics name elements, never patient values.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "jsonw.h"
#include "log.h"
#include "terminology.h"
#include "units.h"
#include "util.h"

static const char *const type_names[FHIR_RTYPE_MAX + 1] = {
	[FHIR_OBSERVATION] = "Observation",
	[FHIR_PATIENT] = "Patient",
	[FHIR_CONDITION] = "Condition",
	[FHIR_PROCEDURE] = "Procedure",
	[FHIR_MEDSTATEMENT] = "MedicationStatement",
	[FHIR_MEDREQUEST] = "MedicationRequest",
};

const char *
fhir_type_name(enum fhir_rtype t)
{
	if ((int)t < 1 || (int)t > FHIR_RTYPE_MAX)
		return NULL;
	return type_names[t];
}

enum fhir_rtype
fhir_type_from_name(const char *name)
{
	int i;

	for (i = 1; i <= FHIR_RTYPE_MAX; i++)
		if (strcmp(type_names[i], name) == 0)
			return (enum fhir_rtype)i;
	return 0;
}

/* --- parsing ------------------------------------------------------------ */

/*
 * Nesting depth outside strings, computed before jansson sees the body so
 * the configured limit holds exactly and a 10k-deep document costs one
 * linear scan.  Returns true when within max.
 */
static bool
depth_ok(const char *p, size_t len, int max)
{
	bool in_str = false, esc = false;
	int depth = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return true;
}

/* jansson's error, as a diag: err.text can quote the input, so only the
 * kind and the position are reported. */
static void
parse_error(const json_error_t *err, struct diag *d)
{
	static const struct {
		enum json_error_code	 jc;
		enum diag_code		 dc;
		const char		*what;
	} kinds[] = {
		{ json_error_duplicate_key, DIAG_JSON_DUP_KEY,
		    "duplicate key in a JSON object" },
		{ json_error_invalid_utf8, DIAG_JSON_UTF8, "invalid UTF-8" },
		{ json_error_null_character, DIAG_JSON_NUL,
		    "NUL character (\\u0000)" },
		{ json_error_null_byte_in_key, DIAG_JSON_NUL,
		    "NUL character (\\u0000)" },
		{ json_error_numeric_overflow, DIAG_JSON_NUMBER,
		    "number out of range" },
	};
	enum json_error_code jc = json_error_code(err);
	size_t i;

	/* jansson fails without a word only when an allocation fails (its
	 * lexer buffer, adding to an object or array): 503, retry; not 400,
	 * the body is bad. */
	if (jc == json_error_unknown && err->text[0] == '\0') {
		diag_set(d, DIAG_NO_MEMORY, NULL, NULL);
		return;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(kinds); i++)
		if (kinds[i].jc == jc) {
			diag_set(d, kinds[i].dc, NULL, "%s at line %d, column %d",
			    kinds[i].what, err->line, err->column);
			return;
		}
	switch (jc) {
	case json_error_stack_overflow:
		diag_set(d, DIAG_JSON_DEPTH, NULL, NULL);
		break;
	case json_error_out_of_memory:
		diag_set(d, DIAG_NO_MEMORY, NULL, NULL);
		break;
	case json_error_premature_end_of_input:
		diag_set(d, DIAG_BAD_JSON, NULL,
		    "the JSON ends early (truncated body?)");
		break;
	default:
		diag_set(d, DIAG_BAD_JSON, NULL,
		    "malformed JSON at line %d, column %d", err->line,
		    err->column);
		break;
	}
}

json_t *
fhir_parse(const char *body, size_t len, int max_depth, struct diag *d)
{
	json_error_t err;
	json_t *j;
	size_t i;

	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)body[i]))
			break;
	if (i == len) {
		diag_set(d, DIAG_BODY_EMPTY, NULL, NULL);
		return NULL;
	}
	if (!depth_ok(body, len, max_depth)) {
		diag_set(d, DIAG_JSON_DEPTH, NULL,
		    "JSON nesting is deeper than %d levels (http.max_depth)",
		    max_depth);
		return NULL;
	}
	/* json_loadb leaves the error code unset on some failures. */
	memset(&err, 0, sizeof(err));
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		parse_error(&err, d);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		diag_set(d, DIAG_NOT_RESOURCE, NULL,
		    "the body must be a JSON object with a resourceType");
		return NULL;
	}
	return j;
}

/* --- small JSON accessors ------------------------------------------------ */

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const json_t *
obj(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
}

static bool
num(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

static int
parse_time(const char *s, int64_t *ms)
{
	return s != NULL ? util_parse_fhir_time(s, UTIL_TIME_DATETIME, ms,
	    NULL) : -1;
}

/* --- references and patient keys ---------------------------------------- */

struct refmap_entry {
	char		*url;
	const json_t	*res;
};

struct fhir_refmap {
	struct refmap_entry	*e;
	size_t			 n;
};

static int
refmap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct refmap_entry *)a)->url,
	    ((const struct refmap_entry *)b)->url);
}

struct fhir_refmap *
fhir_refmap_new(const json_t *bundle)
{
	const json_t *entries = json_object_get(bundle, "entry"), *e, *res;
	struct fhir_refmap *m = xcalloc(1, sizeof(*m));
	const char *url, *type, *id;
	size_t i;

	if (!json_is_array(entries))
		return m;
	m->e = xcalloc(json_array_size(entries) * 2 + 1, sizeof(*m->e));
	json_array_foreach(entries, i, e) {
		res = obj(e, "resource");
		if (res == NULL)
			continue;
		if ((url = str(e, "fullUrl")) != NULL) {
			m->e[m->n].url = xstrdup(url);
			m->e[m->n++].res = res;
		}
		/* Relative references Type/id also resolve inside a Bundle. */
		type = str(res, "resourceType");
		id = str(res, "id");
		if (type != NULL && id != NULL) {
			m->e[m->n].url = xasprintf("%s/%s", type, id);
			m->e[m->n++].res = res;
		}
	}
	qsort(m->e, m->n, sizeof(*m->e), refmap_cmp);
	return m;
}

void
fhir_refmap_free(struct fhir_refmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->e[i].url);
	free(m->e);
	free(m);
}

const json_t *
fhir_refmap_get(const struct fhir_refmap *m, const char *ref)
{
	struct refmap_entry key, *hit;

	if (m == NULL || m->n == 0)
		return NULL;
	key.url = (char *)(uintptr_t)ref;
	hit = bsearch(&key, m->e, m->n, sizeof(*m->e), refmap_cmp);
	return hit != NULL ? hit->res : NULL;
}

/* The fullUrl under which res appears in the Bundle, or NULL. */
static const char *
refmap_url_of(const struct fhir_refmap *m, const json_t *res)
{
	size_t i;

	if (m == NULL)
		return NULL;
	for (i = 0; i < m->n; i++)
		if (m->e[i].res == res && util_has_prefix(m->e[i].url, "urn:"))
			return m->e[i].url;
	return NULL;
}

int
fhir_patient_key(const char *ref, char *out, size_t size)
{
	const char *p, *hist, *id;
	size_t idlen;

	/* Strip a version: .../Patient/123/_history/2 */
	hist = strstr(ref, "/_history/");
	p = strstr(ref, "Patient/");
	if (p == NULL || (p != ref && p[-1] != '/'))
		return -1;
	/* The type must be the second-to-last segment of the path. */
	id = p + 8;
	idlen = hist != NULL && hist > id ? (size_t)(hist - id) : strlen(id);
	if (idlen == 0 || idlen > 64 || memchr(id, '/', idlen) != NULL)
		return -1;
	if (snprintf(out, size, "ref:Patient/%.*s", (int)idlen, id) >=
	    (int)size)
		return -1;
	return 0;
}

static void
add_key(struct fhir_item *it, const char *key)
{
	int i;

	for (i = 0; i < it->fi_nkeys; i++)
		if (strcmp(it->fi_keys[i], key) == 0)
			return;
	if (it->fi_nkeys < FHIR_MAX_KEYS)
		it->fi_keys[it->fi_nkeys++] = xstrdup(key);
}

/* "system|value" for an Identifier with a value, or NULL (caller frees). */
static char *
ident_text(const json_t *ident)
{
	const char *sys = str(ident, "system"), *val = str(ident, "value");

	if (val == NULL)
		return NULL;
	return xasprintf("%s|%s", sys != NULL ? sys : "", val);
}

static void
add_identifier_keys(struct fhir_item *it, const json_t *idents)
{
	const json_t *x;
	char *t, *k;
	size_t i;

	json_array_foreach(idents, i, x) {
		if ((t = ident_text(x)) == NULL)
			continue;
		k = xasprintf("ident:%s", t);
		add_key(it, k);
		free(k);
		free(t);
	}
}

/* Reference JSON naming a patient: literal when we have one, else by
 * identifier. */
static char *
subject_json(const char *literal, const json_t *ident)
{
	struct buf b;
	struct jsonw w;

	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	if (literal != NULL)
		jsonw_kstr(&w, "reference", literal);
	if (ident != NULL && str(ident, "value") != NULL) {
		jsonw_key(&w, "identifier");
		jsonw_obj_open(&w);
		if (str(ident, "system") != NULL)
			jsonw_kstr(&w, "system", str(ident, "system"));
		jsonw_kstr(&w, "value", str(ident, "value"));
		jsonw_obj_close(&w);
	}
	if (literal == NULL && (ident == NULL || str(ident, "value") == NULL)) {
		jsonw_kstr(&w, "type", "Patient");
		jsonw_kstr(&w, "display", "patient known to calcifyd only by "
		    "a Bundle-internal reference");
	}
	jsonw_obj_close(&w);
	return buf_steal(&b, NULL);
}

/*
 * Keys and subject of a Patient resource: its id, its identifiers, and the
 * urn:uuid fullUrl it was sent under.
 */
static void
patient_identity(struct fhir_item *it, const json_t *pat, const char *id,
    bool client_id, const struct fhir_refmap *map)
{
	const json_t *idents = json_object_get(pat, "identifier");
	const char *url = refmap_url_of(map, pat);
	char key[200], lit[80];

	if (id != NULL) {
		snprintf(key, sizeof(key), "ref:Patient/%s", id);
		add_key(it, key);
	}
	if (url != NULL) {
		snprintf(key, sizeof(key), "ref:%s", url);
		add_key(it, key);
	}
	add_identifier_keys(it, idents);
	if (client_id && id != NULL) {
		snprintf(lit, sizeof(lit), "Patient/%s", id);
		it->fi_subject = subject_json(lit, json_array_get(idents, 0));
	} else {
		it->fi_subject = subject_json(NULL, json_array_get(idents, 0));
	}
}

static int
no_patient(struct fhir_item *it)
{
	it->fi_unused = FHIR_UNUSED_NOPATIENT;
	return 1;
}

/* The contained Patient with that id, if it has an identifier value. */
static const json_t *
contained_patient(const json_t *res, const char *id)
{
	const json_t *c, *x;
	const char *rt, *cid;
	size_t i, k;

	json_array_foreach(json_object_get(res, "contained"), i, c) {
		rt = str(c, "resourceType");
		cid = str(c, "id");
		if (rt == NULL || cid == NULL || strcmp(rt, "Patient") != 0 ||
		    strcmp(cid, id) != 0)
			continue;
		json_array_foreach(json_object_get(c, "identifier"), k, x)
			if (str(x, "value") != NULL)
				return c;
		return NULL;
	}
	return NULL;
}

/*
 * Resolve Observation.subject (or Condition.subject ...) to patient keys.
 * Returns 0; 1 when the subject names no patient calcifyd can identify (no
 * subject, a Group, a contained Patient without an identifier): the
 * resource is stored but not used, as FHIR.md's "required for use" says;
 * or -1 with d set (a urn:uuid reference that resolves to nothing).
 */
static int
subject_identity(struct fhir_item *it, const json_t *res, const char *path,
    const struct fhir_refmap *map, struct diag *d)
{
	const json_t *subj = obj(res, "subject"), *ident, *target;
	const char *ref;
	char key[200], expr[DIAG_EXPR_MAX];

	if (subj == NULL)
		return no_patient(it);
	ref = str(subj, "reference");
	ident = obj(subj, "identifier");
	if (ref != NULL && util_has_prefix(ref, "urn:")) {
		target = fhir_refmap_get(map, ref);
		if (target == NULL) {
			snprintf(expr, sizeof(expr), "%s.subject.reference",
			    path);
			diag_set(d, DIAG_UNRESOLVED_REF, expr,
			    "the urn reference names no entry of this Bundle");
			return -1;
		}
		if (str(target, "resourceType") == NULL ||
		    strcmp(str(target, "resourceType"), "Patient") != 0)
			return no_patient(it);
		patient_identity(it, target, str(target, "id"),
		    str(target, "id") != NULL, map);
		free(it->fi_subject);
		it->fi_subject = NULL;
		{
			char lit[80];
			const char *tid = str(target, "id");

			if (tid != NULL)
				snprintf(lit, sizeof(lit), "Patient/%s", tid);
			it->fi_subject = subject_json(tid != NULL ? lit : NULL,
			    ident != NULL ? ident : json_array_get(
			    json_object_get(target, "identifier"), 0));
		}
	} else if (ref != NULL && ref[0] == '#') {
		/* A contained Patient (the R4 Apgar examples): known to other
		 * requests only by its identifiers. */
		target = contained_patient(res, ref + 1);
		if (target == NULL)
			return no_patient(it);
		patient_identity(it, target, NULL, false, map);
	} else if (ref != NULL) {
		if (fhir_patient_key(ref, key, sizeof(key)) == -1)
			return no_patient(it);
		add_key(it, key);
		if (ident != NULL) {
			char *t = ident_text(ident), *k;

			if (t != NULL) {
				k = xasprintf("ident:%s", t);
				add_key(it, k);
				free(k);
				free(t);
			}
		}
		it->fi_subject = subject_json(ref, ident);
	} else if (ident != NULL && str(ident, "value") != NULL) {
		char *t = ident_text(ident), *k = xasprintf("ident:%s", t);

		add_key(it, k);
		free(k);
		free(t);
		it->fi_subject = subject_json(NULL, ident);
	} else
		return no_patient(it);
	return 0;
}

/* --- identity and body ---------------------------------------------------- */

static void
collect_identifiers(struct fhir_item *it, const json_t *res)
{
	const json_t *x;
	size_t i;
	char *t;

	json_array_foreach(json_object_get(res, "identifier"), i, x) {
		if (it->fi_nidents >= FHIR_MAX_IDENTS)
			break;
		if ((t = ident_text(x)) != NULL)
			it->fi_idents[it->fi_nidents++] = t;
	}
}

/*
 * Body without resourceType, id and meta; content hash over type+body.
 * Keys are written sorted, so the body (and with it the content hash and
 * a content-derived id) does not depend on the order a sender writes
 * them in: the same result from two systems is the same content.
 */
static int
make_body(struct fhir_item *it, const json_t *res, struct diag *d)
{
	json_t *copy = json_copy((json_t *)(uintptr_t)res);
	const char *tn = fhir_type_name(it->fi_type);
	struct sha256 c;

	if (copy == NULL) {
		diag_set(d, DIAG_NO_MEMORY, NULL, NULL);
		return -1;
	}
	json_object_del(copy, "resourceType");
	json_object_del(copy, "id");
	json_object_del(copy, "meta");
	it->fi_body = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(15));
	json_decref(copy);
	if (it->fi_body == NULL) {
		diag_set(d, DIAG_NO_MEMORY, NULL, NULL);
		return -1;
	}
	it->fi_bodylen = strlen(it->fi_body);
	sha256_init(&c);
	sha256_update(&c, tn, strlen(tn) + 1);
	sha256_update(&c, it->fi_body, it->fi_bodylen);
	sha256_final(&c, it->fi_hash);
	return 0;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
fhir_code_key(const json_t *res)
{
	const json_t *cc = json_object_get(res, "code"), *c;
	char *pairs[16];
	struct buf b;
	size_t i;
	int n = 0, k;

	if (cc == NULL)
		cc = json_object_get(res, "medicationCodeableConcept");
	json_array_foreach(json_object_get(cc, "coding"), i, c) {
		if (n == (int)UTIL_ARRAY_LEN(pairs) || str(c, "code") == NULL)
			continue;
		pairs[n++] = xasprintf("%s|%s", str(c, "system") != NULL ?
		    str(c, "system") : "", str(c, "code"));
	}
	buf_init(&b);
	if (n == 0 && str(cc, "text") != NULL) {
		buf_puts(&b, "text:");
		buf_puts(&b, str(cc, "text"));
	}
	qsort(pairs, (size_t)n, sizeof(pairs[0]), cmp_cstr);
	for (k = 0; k < n; k++) {
		if (k == 0 || strcmp(pairs[k], pairs[k - 1]) != 0) {
			if (b.b_len > 0)
				buf_putc(&b, ' ');
			buf_puts(&b, pairs[k]);
		}
	}
	for (k = 0; k < n; k++)
		free(pairs[k]);
	return buf_steal(&b, NULL);
}

/*
 * Server id: the client's id when given (idempotent re-sends and amended
 * versions keep it); otherwise derived from the first identifier and the
 * code, or from the content, so a retried POST maps to the same resource.
 * The code is part of it because senders reuse an order's accession
 * number on every result of the order: calcium and phosphate sharing an
 * identifier are two results, not two versions of one.
 */
static void
make_id(struct fhir_item *it, const char *client)
{
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	char *seed;

	if (client != NULL) {
		it->fi_id = xstrdup(client);
		it->fi_client_id = true;
		return;
	}
	if (it->fi_nidents > 0) {
		seed = xasprintf("%s\n%s\n%s", fhir_type_name(it->fi_type),
		    it->fi_idents[0], it->fi_codekey);
		sha256(seed, strlen(seed), d);
		free(seed);
		util_hex(d, 12, hex);
		it->fi_id = xasprintf("i%s", hex);
		return;
	}
	util_hex(it->fi_hash, 12, hex);
	it->fi_id = xasprintf("h%s", hex);
}

/* Reference JSON naming this resource in an assessment's basis. */
static void
make_ref(struct fhir_item *it, const json_t *res)
{
	const json_t *ident = json_array_get(json_object_get(res, "identifier"),
	    0);
	const char *tn = fhir_type_name(it->fi_type);
	struct buf b;
	struct jsonw w;
	char lit[96];

	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	if (it->fi_client_id) {
		snprintf(lit, sizeof(lit), "%s/%s", tn, it->fi_id);
		jsonw_kstr(&w, "reference", lit);
	} else if (ident != NULL && str(ident, "value") != NULL) {
		jsonw_kstr(&w, "type", tn);
		jsonw_key(&w, "identifier");
		jsonw_obj_open(&w);
		if (str(ident, "system") != NULL)
			jsonw_kstr(&w, "system", str(ident, "system"));
		jsonw_kstr(&w, "value", str(ident, "value"));
		jsonw_obj_close(&w);
	} else {
		/* No id of the sender's to point at: name ours in the text. */
		jsonw_kstr(&w, "type", tn);
		snprintf(lit, sizeof(lit), "%s %s at calcifyd", tn, it->fi_id);
		jsonw_kstr(&w, "display", lit);
	}
	jsonw_obj_close(&w);
	it->fi_ref = buf_steal(&b, NULL);
}

/* --- facts ------------------------------------------------------------------ */

static struct fhir_fact *
add_fact(struct fhir_item *it, enum input in, double v, int64_t eff,
    uint32_t flags, bool usable)
{
	struct fhir_fact *f;
	int i;

	for (i = 0; i < it->fi_nfacts; i++)
		if (it->fi_facts[i].ff_input == in)
			return NULL;	/* one fact per input per resource */
	if (it->fi_nfacts >= FHIR_MAX_FACTS)
		return NULL;
	f = &it->fi_facts[it->fi_nfacts++];
	f->ff_input = in;
	f->ff_value = v;
	f->ff_eff = eff;
	f->ff_flags = flags;
	f->ff_aux = 0;
	f->ff_usable = usable;
	return f;
}

static void
unused(struct fhir_item *it, enum fhir_unused why)
{
	if (it->fi_unused == FHIR_USED)
		it->fi_unused = why;
}

/* Inputs named by a CodeableConcept's codings (deduplicated). */
static int
concept_inputs(const struct terminology *t, const json_t *cc,
    struct term_hit *out, int max)
{
	struct term_hit hits[TERM_MAX_HITS];
	const json_t *c;
	int n = 0, k;
	size_t ci;

	json_array_foreach(json_object_get(cc, "coding"), ci, c) {
		k = terminology_lookup(t, str(c, "system"), str(c, "code"),
		    hits, TERM_MAX_HITS);
		n = terminology_merge_hits(out, n, max, hits, k);
	}
	return n;
}

/* One measured value: convert, check bounds, record.  -1 on 422. */
static int
measured(struct fhir_item *it, enum input in, const json_t *holder,
    int64_t eff, bool usable, const char *path, struct diag *d)
{
	const json_t *q = obj(holder, "valueQuantity"), *rr, *hi;
	double v, canon, lo, up, uln;
	struct fhir_fact *f;
	char expr[DIAG_EXPR_MAX];

	if (obj(holder, "dataAbsentReason") != NULL) {
		unused(it, FHIR_UNUSED_ABSENT);
		return 0;
	}
	if (q == NULL || !num(q, "value", &v)) {
		unused(it, FHIR_UNUSED_NOVALUE);
		return 0;
	}
	if (units_to_canonical(in, v, str(q, "system"), str(q, "code"),
	    str(q, "unit"), &canon) != UNITS_OK) {
		unused(it, FHIR_UNUSED_UNIT);
		log_debug("fhir unit not recognised input=%s unit=%s",
		    input_name(in), str(q, "code") != NULL ? str(q, "code") :
		    str(q, "unit") != NULL ? str(q, "unit") : "(none)");
		/* Kept as an unusable fact so the assessment can say that a
		 * newer result was skipped (CLINICAL.md "Units"). */
		add_fact(it, in, 0, eff, 0, false);
		return 0;
	}
	if (!units_plausible(in, canon, &lo, &up)) {
		snprintf(expr, sizeof(expr), "%s.valueQuantity.value", path);
		diag_set(d, DIAG_OUT_OF_BOUNDS, expr,
		    "the %s value is outside physiological bounds "
		    "(%g-%g %s); check the unit and the number",
		    input_label(in), lo, up, units_display(in));
		return -1;
	}
	f = add_fact(it, in, canon, eff, 0, usable);
	if (f == NULL)
		return 0;
	/* The lab's upper limit of normal (ALP, PTH: CLINICAL.md). */
	rr = json_array_get(json_object_get(holder, "referenceRange"), 0);
	hi = obj(rr, "high");
	if (hi != NULL && num(hi, "value", &v) &&
	    units_to_canonical(in, v, str(hi, "system"), str(hi, "code"),
	    str(hi, "unit"), &uln) == UNITS_OK && uln > 0) {
		f->ff_aux = uln;
		f->ff_flags |= FACT_HAS_ULN;
	}
	if (!usable)
		unused(it, FHIR_UNUSED_STATUS);
	return 0;
}

static int
extract_observation(struct fhir_item *it, const json_t *res,
    const struct terminology *t, const char *path, struct diag *d)
{
	const char *status = str(res, "status");
	const json_t *per, *comp;
	struct term_hit hits[TERM_MAX_HITS];
	int64_t eff = 0;
	bool usable, have_time;
	int n, i;
	size_t ci;
	char cpath[DIAG_EXPR_MAX];

	if (status != NULL && strcmp(status, "entered-in-error") == 0) {
		it->fi_retract = true;
		return 0;
	}
	usable = status != NULL && (strcmp(status, "final") == 0 ||
	    strcmp(status, "amended") == 0 || strcmp(status, "corrected") == 0);

	/* Effective time: effectiveDateTime, effectivePeriod.end (or start),
	 * effectiveInstant, then issued (FHIR.md). */
	per = obj(res, "effectivePeriod");
	have_time = parse_time(str(res, "effectiveDateTime"), &eff) == 0 ||
	    (per != NULL && (parse_time(str(per, "end"), &eff) == 0 ||
	    parse_time(str(per, "start"), &eff) == 0)) ||
	    parse_time(str(res, "effectiveInstant"), &eff) == 0 ||
	    parse_time(str(res, "issued"), &eff) == 0;

	n = concept_inputs(t, obj(res, "code"), hits, TERM_MAX_HITS);
	for (i = 0; i < n; i++) {
		if (!input_is_measurement(hits[i].th_input))
			continue;
		if (!have_time) {
			unused(it, FHIR_UNUSED_NOTIME);
			break;
		}
		if (measured(it, hits[i].th_input, res, eff, usable, path,
		    d) == -1)
			return -1;
		break;	/* one analyte per Observation value */
	}
	json_array_foreach(json_object_get(res, "component"), ci, comp) {
		n = concept_inputs(t, obj(comp, "code"), hits, TERM_MAX_HITS);
		for (i = 0; i < n; i++) {
			if (!input_is_measurement(hits[i].th_input))
				continue;
			if (!have_time) {
				unused(it, FHIR_UNUSED_NOTIME);
				break;
			}
			snprintf(cpath, sizeof(cpath), "%s.component[%zu]",
			    path, ci);
			if (measured(it, hits[i].th_input, comp, eff, usable,
			    cpath, d) == -1)
				return -1;
			break;
		}
	}
	if (it->fi_nfacts == 0)
		unused(it, FHIR_UNUSED_CODE);
	return 0;
}

static int
extract_patient(struct fhir_item *it, const json_t *res, struct diag *d)
{
	const char *g = str(res, "gender"), *bd = str(res, "birthDate");
	double sex = INPUT_SEX_UNKNOWN;
	int64_t ms;

	if (g != NULL) {
		if (strcmp(g, "male") == 0)
			sex = INPUT_SEX_MALE;
		else if (strcmp(g, "female") == 0)
			sex = INPUT_SEX_FEMALE;
		else if (strcmp(g, "other") == 0)
			sex = INPUT_SEX_OTHER;
		add_fact(it, INPUT_SEX, sex, 0, 0, true);
	}
	if (bd != NULL &&
	    util_parse_fhir_time(bd, UTIL_TIME_DATE, &ms, NULL) == 0)
		add_fact(it, INPUT_BIRTH_DATE, (double)(ms / 86400000), 0, 0,
		    true);
	return 0;
}

static bool
concept_has_code(const json_t *cc, const char *const *codes)
{
	const json_t *c;
	size_t i;
	int k;

	json_array_foreach(json_object_get(cc, "coding"), i, c) {
		const char *code = str(c, "code");

		for (k = 0; code != NULL && codes[k] != NULL; k++)
			if (strcmp(code, codes[k]) == 0)
				return true;
	}
	return false;
}

/* Add a flag fact (value 1) for every hit. */
static void
flag_facts(struct fhir_item *it, const struct term_hit *hits, int n,
    int64_t eff, bool have_time, bool usable)
{
	int i, used = 0;

	for (i = 0; i < n; i++) {
		enum input_kind k = input_kind(hits[i].th_input);

		/* Diagnoses, procedures and drugs set flags, never values. */
		if (k != INPUT_ANY && k != INPUT_EARLIEST)
			continue;
		add_fact(it, hits[i].th_input, 1, have_time ? eff : 0,
		    have_time ? 0 : FACT_TIME_UNKNOWN, usable);
		used++;
	}
	if (used == 0)
		unused(it, FHIR_UNUSED_CODE);
	else if (!usable)
		unused(it, FHIR_UNUSED_STATUS);
}

static int
extract_condition(struct fhir_item *it, const json_t *res,
    const struct terminology *t)
{
	static const char *const active[] = { "active", "recurrence",
	    "relapse", NULL };
	static const char *const refuted[] = { "refuted", NULL };
	static const char *const eie[] = { "entered-in-error", NULL };
	const json_t *clin = obj(res, "clinicalStatus"),
	    *ver = obj(res, "verificationStatus"), *per;
	struct term_hit hits[TERM_MAX_HITS];
	int64_t eff = 0;
	bool usable, have_time;
	int n;

	if (ver != NULL && concept_has_code(ver, eie)) {
		it->fi_retract = true;
		return 0;
	}
	usable = (clin == NULL || concept_has_code(clin, active)) &&
	    (ver == NULL || !concept_has_code(ver, refuted));
	per = obj(res, "onsetPeriod");
	have_time = parse_time(str(res, "onsetDateTime"), &eff) == 0 ||
	    (per != NULL && parse_time(str(per, "start"), &eff) == 0) ||
	    parse_time(str(res, "recordedDate"), &eff) == 0;
	n = concept_inputs(t, obj(res, "code"), hits, TERM_MAX_HITS);
	flag_facts(it, hits, n, eff, have_time, usable);
	return 0;
}

static int
extract_procedure(struct fhir_item *it, const json_t *res,
    const struct terminology *t)
{
	const char *status = str(res, "status");
	const json_t *per;
	struct term_hit hits[TERM_MAX_HITS];
	int64_t eff = 0;
	bool usable, have_time;
	int n;

	if (status != NULL && strcmp(status, "entered-in-error") == 0) {
		it->fi_retract = true;
		return 0;
	}
	usable = status != NULL && (strcmp(status, "completed") == 0 ||
	    strcmp(status, "in-progress") == 0);
	per = obj(res, "performedPeriod");
	have_time = parse_time(str(res, "performedDateTime"), &eff) == 0 ||
	    (per != NULL && parse_time(str(per, "start"), &eff) == 0);
	n = concept_inputs(t, obj(res, "code"), hits, TERM_MAX_HITS);
	flag_facts(it, hits, n, eff, have_time, usable);
	return 0;
}

/* Doses per day from a Timing, or -1 when it does not say. */
static double
doses_per_day(const json_t *timing)
{
	static const struct {
		const char	*code;
		double		 per_day;
	} codes[] = {
		{ "QD", 1 }, { "BID", 2 }, { "TID", 3 }, { "QID", 4 },
		{ "AM", 1 }, { "PM", 1 }, { "QOD", 0.5 }, { "Q4H", 6 },
		{ "Q6H", 4 }, { "Q8H", 3 },
	};
	const json_t *rep = obj(timing, "repeat"), *c;
	const char *pu;
	double freq = 1, period, days;
	size_t i, k;

	if (rep != NULL && num(rep, "period", &period) && period > 0 &&
	    (pu = str(rep, "periodUnit")) != NULL) {
		num(rep, "frequency", &freq);
		if (strcmp(pu, "d") == 0) days = period;
		else if (strcmp(pu, "h") == 0) days = period / 24;
		else if (strcmp(pu, "wk") == 0) days = period * 7;
		else if (strcmp(pu, "mo") == 0) days = period * 30.4375;
		else return -1;
		return freq / days;
	}
	json_array_foreach(json_object_get(obj(timing, "code"), "coding"), i,
	    c) {
		const char *code = str(c, "code");

		for (k = 0; code != NULL && k < UTIL_ARRAY_LEN(codes); k++)
			if (strcmp(code, codes[k].code) == 0)
				return codes[k].per_day;
	}
	return -1;
}

/* Salt dose in mg per administration, or -1. */
static double
dose_mg(const json_t *dosage)
{
	const json_t *dr = json_array_get(json_object_get(dosage,
	    "doseAndRate"), 0), *q = obj(dr, "doseQuantity");
	const char *u;
	double v;

	if (q == NULL || !num(q, "value", &v) || v <= 0)
		return -1;
	u = str(q, "code") != NULL ? str(q, "code") : str(q, "unit");
	if (u == NULL)
		return -1;
	if (strcmp(u, "mg") == 0)
		return v;
	if (strcmp(u, "g") == 0)
		return v * 1000;
	return -1;
}

static int
extract_medication(struct fhir_item *it, const json_t *res,
    const struct terminology *t, const struct fhir_refmap *map)
{
	const char *status = str(res, "status"), *txt, *ref;
	const json_t *cc = obj(res, "medicationCodeableConcept"), *mref,
	    *med = NULL, *c, *dosage, *per;
	struct term_hit hits[TERM_MAX_HITS], more[TERM_MAX_HITS];
	int64_t eff = 0;
	bool usable, have_time;
	int n, k, i;
	size_t ci;
	double mg, per_day;

	if (status != NULL && strcmp(status, "entered-in-error") == 0) {
		it->fi_retract = true;
		return 0;
	}
	usable = status != NULL && strcmp(status, "active") == 0;
	mref = obj(res, "medicationReference");
	if (cc == NULL && mref != NULL && (ref = str(mref, "reference")) != NULL) {
		/* A contained Medication, or one elsewhere in the Bundle. */
		if (ref[0] == '#') {
			json_array_foreach(json_object_get(res, "contained"),
			    ci, c)
				if (str(c, "id") != NULL &&
				    strcmp(str(c, "id"), ref + 1) == 0)
					med = c;
		} else
			med = fhir_refmap_get(map, ref);
		if (med != NULL)
			cc = obj(med, "code");
	}
	n = concept_inputs(t, cc, hits, TERM_MAX_HITS);
	/* Medication names by text too (configurable lists in codes.tsv). */
	txt = str(cc, "text");
	if (txt == NULL && mref != NULL)
		txt = str(mref, "display");
	k = txt != NULL ? terminology_match_text(t, txt, more,
	    TERM_MAX_HITS) : 0;
	json_array_foreach(json_object_get(cc, "coding"), ci, c) {
		if (k == 0 && str(c, "display") != NULL)
			k = terminology_match_text(t, str(c, "display"), more,
			    TERM_MAX_HITS);
	}
	n = terminology_merge_hits(hits, n, TERM_MAX_HITS, more, k);

	if (it->fi_type == FHIR_MEDSTATEMENT) {
		per = obj(res, "effectivePeriod");
		have_time = parse_time(str(res, "effectiveDateTime"), &eff) ==
		    0 || (per != NULL && parse_time(str(per, "start"), &eff) ==
		    0) || parse_time(str(res, "dateAsserted"), &eff) == 0;
		dosage = json_array_get(json_object_get(res, "dosage"), 0);
	} else {
		have_time = parse_time(str(res, "authoredOn"), &eff) == 0;
		dosage = json_array_get(json_object_get(res,
		    "dosageInstruction"), 0);
	}
	for (i = 0; i < n; i++) {
		if (hits[i].th_input != INPUT_CA_BINDER) {
			flag_facts(it, &hits[i], 1, eff, have_time, usable);
			continue;
		}
		/* Elemental calcium per day when the dose is stated
		 * (KDOQI limit 1,500 mg/day, CLINICAL.md); otherwise the
		 * binder counts with an unknown dose. */
		mg = dose_mg(dosage);
		per_day = doses_per_day(obj(dosage, "timing"));
		if (mg > 0 && per_day > 0 && hits[i].th_factor > 0)
			add_fact(it, INPUT_CA_BINDER,
			    mg * per_day * hits[i].th_factor,
			    have_time ? eff : 0,
			    have_time ? 0 : FACT_TIME_UNKNOWN, usable);
		else
			add_fact(it, INPUT_CA_BINDER, 0,
			    have_time ? eff : 0, FACT_VALUE_UNKNOWN |
			    (have_time ? 0 : FACT_TIME_UNKNOWN), usable);
		if (!usable)
			unused(it, FHIR_UNUSED_STATUS);
	}
	if (n == 0)
		unused(it, FHIR_UNUSED_CODE);
	return 0;
}

int
fhir_extract(const json_t *res, const char *put_id, const char *path,
    const struct terminology *t, const struct fhir_refmap *map,
    struct fhir_item *it, struct diag *d)
{
	const char *type = str(res, "resourceType"), *id;
	bool nopatient = false;
	int rc;

	memset(it, 0, sizeof(*it));
	it->fi_type = type != NULL ? fhir_type_from_name(type) : 0;
	if (it->fi_type == 0) {
		diag_set(d, DIAG_WRONG_TYPE, path, NULL);
		return -1;
	}
	id = put_id != NULL ? put_id : str(res, "id");
	it->fi_put = put_id != NULL;
	it->fi_codekey = fhir_code_key(res);
	collect_identifiers(it, res);
	if (make_body(it, res, d) == -1)
		goto fail;
	make_id(it, id);
	make_ref(it, res);

	if (it->fi_type == FHIR_PATIENT) {
		patient_identity(it, res, it->fi_id, it->fi_client_id, map);
		rc = extract_patient(it, res, d);
	} else {
		if ((rc = subject_identity(it, res, path, map, d)) == -1)
			goto fail;
		nopatient = rc == 1;
		switch (it->fi_type) {
		case FHIR_OBSERVATION:
			rc = extract_observation(it, res, t, path, d);
			break;
		case FHIR_CONDITION:
			rc = extract_condition(it, res, t);
			break;
		case FHIR_PROCEDURE:
			rc = extract_procedure(it, res, t);
			break;
		default:
			rc = extract_medication(it, res, t, map);
			break;
		}
	}
	if (rc == -1)
		goto fail;
	if (nopatient) {
		/* Validated like any other (bounds give 422), not used. */
		it->fi_nfacts = 0;
		it->fi_retract = false;
		it->fi_unused = FHIR_UNUSED_NOPATIENT;
	}
	return 0;
fail:
	fhir_item_free(it);
	return -1;
}

void
fhir_item_free(struct fhir_item *it)
{
	int i;

	if (it == NULL)
		return;
	free(it->fi_id);
	free(it->fi_body);
	free(it->fi_subject);
	free(it->fi_ref);
	free(it->fi_codekey);
	for (i = 0; i < it->fi_nkeys; i++)
		free(it->fi_keys[i]);
	for (i = 0; i < it->fi_nidents; i++)
		free(it->fi_idents[i]);
	memset(it, 0, sizeof(*it));
}

void
fhir_stored_json(enum fhir_rtype type, const char *id, long version,
    int64_t updated_ms, const char *body, size_t bodylen, struct buf *out)
{
	char ts[32];

	util_format_instant(updated_ms, ts, sizeof(ts));
	buf_reserve(out, bodylen + 128);
	buf_printf(out, "{\"resourceType\":\"%s\",\"id\":\"", fhir_type_name(type));
	jsonw_escape(out, id, strlen(id));
	buf_printf(out, "\",\"meta\":{\"versionId\":\"%ld\",\"lastUpdated\":\"%s\"}",
	    version, ts);
	/* body is "{...}": append its members after ours. */
	if (bodylen > 2) {
		buf_putc(out, ',');
		buf_append(out, body + 1, bodylen - 1);
	} else
		buf_putc(out, '}');
}
