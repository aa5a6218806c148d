/*
 * fhir_validate.c - structural validation of FHIR R4 JSON, the checks the
 * official R4 validator makes from the StructureDefinitions: known
 * elements, JSON types, cardinality, primitive formats, one value[x],
 * primitive extensions, ele-1, ext-1, ref-1, required bindings and the
 * contained-resource rules dom-2..dom-5.  The element tables are generated
 * (fhir_defs.c, tools/gen-fhir-defs.mjs); this file only walks them.
 *
 * It runs on the ingest hot path, so it allocates nothing per element (a
 * resource with more than CONTAINED_STACK contained resources is the only
 * allocation: their sorted ids), looks elements and local references up
 * by binary search and builds FHIRPath expressions in one fixed buffer.  It must not log, keep state or put
 * values from the document into messages: diagnostics name elements and
 * limits only (FHIR.md, no patient data).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fhir_defs.h"
#include "fhir_validate.h"
#include "util.h"

#define STRING_MAX	1048576	/* R4: a string is at most 1 MB (chars) */
#define ID_MAX		64
#define DEPTH_MAX	256	/* objects; the caller bounds JSON depth too */
#define CONTAINED_STACK	16	/* contained ids sorted on the stack */

/* A contained resource's id, and whether a local reference names it. */
struct cid {
	const char	*id;		/* borrowed from the document */
	size_t		 idx;		/* index in the contained array */
	bool		 hit;
};

/*
 * dom-3 bookkeeping for one resource and everything it contains: which of
 * its contained resources some "#id" reference (or a reference "#" from
 * inside a contained resource to its container) points at.  ids is sorted
 * by id so that many references to many contained resources stay
 * O(n log n).
 */
struct rctx {
	const json_t	*contained;	/* the resource's contained array */
	struct cid	*ids;
	size_t		 nids;
	long		 cur;		/* contained index walked, or -1 */
};

struct walk {
	struct diag	*d;
	struct rctx	*rc;
	bool		 envelope;	/* skip non-contained resources */
	int		 depth;
	size_t		 len;
	char		 path[DIAG_EXPR_MAX];
};

static int	walk_resource(struct walk *, const json_t *, bool);
static int	walk_object(struct walk *, const json_t *,
		    const struct fhir_def_table *);

/* --- expressions --------------------------------------------------------- */

/*
 * Append sep and s to the expression; returns the length to pop back to.
 * A path longer than the buffer is cut (and stays NUL-terminated).
 */
static size_t
push(struct walk *w, char sep, const char *s)
{
	size_t old = w->len, room = sizeof(w->path) - 1 - w->len, n;

	if (sep != '\0' && room > 0) {
		w->path[w->len++] = sep;
		room--;
	}
	n = strlen(s);
	if (n > room)
		n = room;
	memcpy(w->path + w->len, s, n);
	w->len += n;
	w->path[w->len] = '\0';
	return old;
}

static size_t
push_index(struct walk *w, size_t i)
{
	char num[24], *p = num + sizeof(num);

	*--p = '\0';
	*--p = ']';
	do {
		*--p = (char)('0' + i % 10);
		i /= 10;
	} while (i > 0);
	*--p = '[';
	return push(w, '\0', p);
}

static void
pop(struct walk *w, size_t len)
{
	w->len = len;
	w->path[len] = '\0';
}

#define FAIL(w, code, ...)	(diag_set((w)->d, (code), (w)->path, \
				    __VA_ARGS__), -1)

/* --- table lookups ------------------------------------------------------- */

static const char *
def_name(uint16_t off)
{
	return fhir_defs_names + off;
}

/* strcmp, with the first byte compared inline: most probes end there. */
static inline int
namecmp(const char *a, const char *b)
{
	if (*a != *b)
		return (unsigned char)*a - (unsigned char)*b;
	return strcmp(a, b);
}

/* The hot lookup: an element of a table by JSON name. */
static const struct fhir_def_elem *
find_elem(const struct fhir_def_table *t, const char *name)
{
	size_t lo = t->first, hi = (size_t)t->first + t->count, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = namecmp(name, def_name(fhir_defs_elems[mid].name));
		if (c == 0)
			return &fhir_defs_elems[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
resource_cmp(const void *key, const void *row)
{
	return strcmp(key,
	    def_name(((const struct fhir_def_resource *)row)->name));
}

static const struct fhir_def_resource *
find_resource(const char *type)
{
	return bsearch(type, fhir_defs_resources, FHIR_DEFS_NRESOURCES,
	    sizeof(fhir_defs_resources[0]), resource_cmp);
}

bool
fhir_validate_known_type(const char *type)
{
	return type != NULL && find_resource(type) != NULL;
}

static bool
is_primitive(const struct fhir_def_elem *e)
{
	return e->kind != FHIR_K_COMPLEX && e->kind != FHIR_K_RESOURCE;
}

/* Is code (from system, or any system when system is NULL) in the set? */
static bool
vs_has(const struct fhir_def_vs *vs, const char *code, const char *system)
{
	size_t lo = vs->first, hi = (size_t)vs->first + vs->count, mid;
	const struct fhir_def_code *c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(fhir_defs_values + fhir_defs_codes[mid].code,
		    code) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (c = &fhir_defs_codes[lo]; c < fhir_defs_codes + vs->first +
	    vs->count && strcmp(fhir_defs_values + c->code, code) == 0; c++)
		if (system == NULL || strcmp(fhir_defs_values +
		    fhir_defs_systems[c->system], system) == 0)
			return true;
	return false;
}

static bool
vs_has_system(const struct fhir_def_vs *vs, const char *system)
{
	size_t i;

	for (i = vs->sys; i < (size_t)vs->sys + vs->nsys; i++)
		if (strcmp(fhir_defs_values +
		    fhir_defs_systems[fhir_defs_vs_systems[i]], system) == 0)
			return true;
	return false;
}

static const char *
vs_url(const struct fhir_def_vs *vs)
{
	return fhir_defs_values + vs->url;
}

/* --- primitive formats --------------------------------------------------- */

/* Java's \s, which the R4 regexes use. */
static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex_lower(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* id: [A-Za-z0-9\-\.]{1,64} */
static bool
valid_id(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return false;
	return true;
}

/* code: [^\s]+(\s[^\s]+)* */
static bool
valid_code(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || is_space((unsigned char)s[0]) ||
	    is_space((unsigned char)s[n - 1]))
		return false;
	for (i = 1; i < n; i++)
		if (is_space((unsigned char)s[i]) &&
		    is_space((unsigned char)s[i - 1]))
			return false;
	return true;
}

/* uri, url, canonical: \S* */
static bool
valid_uri(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_space((unsigned char)s[i]))
			return false;
	return true;
}

/* oid after its urn:oid: prefix: [0-2](\.(0|[1-9][0-9]*))+ */
static bool
valid_oid_digits(const char *p)
{
	int arcs = 0;

	if (*p < '0' || *p > '2')
		return false;
	p++;
	while (*p == '.') {
		p++;
		if (!is_digit((unsigned char)*p))
			return false;
		if (*p == '0' && is_digit((unsigned char)p[1]))
			return false;
		while (is_digit((unsigned char)*p))
			p++;
		arcs++;
	}
	return *p == '\0' && arcs > 0;
}

/*
 * uuid: urn:uuid: and 8-4-4-4-12 lower-case hex digits (R4 regex); any
 * case when any_case (references, which the validator reads leniently).
 */
static bool
valid_uuid_digits(const char *p, bool any_case)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t g;
	int i;

	for (g = 0; g < UTIL_ARRAY_LEN(groups); g++) {
		if (g > 0 && *p++ != '-')
			return false;
		for (i = 0; i < groups[g]; i++, p++) {
			unsigned char c = (unsigned char)*p;

			if (any_case && c >= 'A' && c <= 'F')
				continue;
			if (!is_hex_lower(c))
				return false;
		}
	}
	return *p == '\0';
}

/* time: ([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)? */
static bool
valid_time(const char *s)
{
	if (!is_digit((unsigned char)s[0]) || !is_digit((unsigned char)s[1]) ||
	    (s[0] - '0') * 10 + (s[1] - '0') > 23 || s[2] != ':' ||
	    s[3] < '0' || s[3] > '5' || !is_digit((unsigned char)s[4]) ||
	    s[5] != ':' || !is_digit((unsigned char)s[6]) ||
	    !is_digit((unsigned char)s[7]) ||
	    (s[6] - '0') * 10 + (s[7] - '0') > 60)
		return false;
	s += 8;
	if (*s == '.') {
		s++;
		if (!is_digit((unsigned char)*s))
			return false;
		while (is_digit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/*
 * base64Binary: base64 with optional whitespace, padded to a multiple of
 * four; '=' only as the last one or two characters.  (The R4 regex omits
 * '/', a known erratum; the official validator decodes instead.)
 */
static bool
valid_base64(const char *s, size_t n)
{
	size_t i, k = 0, pad = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (is_space(c))
			continue;
		if (c == '=') {
			pad++;
		} else if (is_alnum(c) || c == '+' || c == '/') {
			if (pad > 0)
				return false;
		} else
			return false;
		k++;
	}
	return k > 0 && k % 4 == 0 && pad <= 2;
}

/*
 * Narrative.div: an XHTML <div> in the XHTML namespace (txt-1 and the
 * validator's namespace check); the content itself is not parsed.
 */
static bool
valid_xhtml(const char *s, size_t n)
{
	const char *gt;

	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	if (strncmp(s, "<div", 4) != 0 || (s[4] != ' ' && s[4] != '\t' &&
	    s[4] != '\n' && s[4] != '\r') || n < 11 ||
	    strncmp(s + n - 6, "</div>", 6) != 0 ||
	    (gt = strchr(s, '>')) == NULL)
		return false;
	return memmem(s, (size_t)(gt - s),
	    "xmlns=\"http://www.w3.org/1999/xhtml\"", 36) != NULL ||
	    memmem(s, (size_t)(gt - s),
	    "xmlns='http://www.w3.org/1999/xhtml'", 36) != NULL;
}

/*
 * Control characters (C0 except tab, CR and LF; DEL; C1 as UTF-8) are not
 * allowed in any string value.
 */
static bool
has_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	unsigned char c;

	for (; p < end; p++) {
		c = *p;
		/* One test keeps printable ASCII, the common case, fast. */
		if ((unsigned char)(c - 0x20) < 0x5f)
			continue;
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return true;
		if (c == 0x7f || (c == 0xc2 && p + 1 < end && p[1] >= 0x80 &&
		    p[1] <= 0x9f))
			return true;
	}
	return false;
}

/* Characters (UTF-8 sequences) in a valid UTF-8 string. */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

static bool
all_space(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_space((unsigned char)s[i]))
			return false;
	return true;
}

/* --- references and dom-3 ------------------------------------------------ */

static int
cid_cmp(const void *a, const void *b)
{
	const struct cid *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Mark the contained resources with this id; false if there is none. */
static bool
mark_id(struct rctx *rc, const char *id)
{
	size_t lo = 0, hi = rc->nids, mid;
	bool found = false;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(rc->ids[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rc->nids && strcmp(rc->ids[lo].id, id) == 0; lo++)
		found = rc->ids[lo].hit = true;
	return found;
}

/*
 * A local reference ("#id", or "#" from a contained resource to its
 * container) marks the contained resource as referenced (dom-3).  Returns
 * false when "#id" names no contained resource (ref-1).
 */
static bool
mark_local(struct walk *w, const char *s)
{
	const char *id;

	if (w->rc == NULL)
		return false;
	if (s[1] != '\0')
		return mark_id(w->rc, s + 1);
	if (w->rc->cur >= 0) {
		id = json_string_value(json_object_get(json_array_get(
		    w->rc->contained, (size_t)w->rc->cur), "id"));
		if (id != NULL)
			(void)mark_id(w->rc, id);
	}
	return true;
}

/* The scheme of an absolute URI: ALPHA *( ALPHA / DIGIT / + / - / . ) ":" */
static bool
has_scheme(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while (is_alnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.')
		p++;
	return *p == ':' && p[1] != '\0';
}

/*
 * Reference.reference: a local "#id", urn:uuid:, urn:oid:, an absolute
 * URI, a relative "Type/id[/_history/vid]" or, in transactions, a
 * conditional "Type?search".
 */
static bool
valid_reference(const char *s, size_t n)
{
	char type[64];
	const char *p, *slash;
	size_t tl;

	if (!valid_uri(s, n))
		return false;
	if (s[0] == '#')
		return s[1] == '\0' || valid_id(s + 1, n - 1);
	if (util_has_prefix(s, "urn:uuid:"))
		return valid_uuid_digits(s + 9, true);
	if (util_has_prefix(s, "urn:oid:"))
		return valid_oid_digits(s + 8);
	if (has_scheme(s))
		return true;
	for (p = s; is_alnum((unsigned char)*p); p++)
		continue;
	tl = (size_t)(p - s);
	if (tl == 0 || tl >= sizeof(type))
		return false;
	memcpy(type, s, tl);
	type[tl] = '\0';
	if (find_resource(type) == NULL)
		return false;
	if (*p == '?')
		return p[1] != '\0';
	if (*p++ != '/')
		return false;
	slash = strchr(p, '/');
	if (slash == NULL)
		return valid_id(p, strlen(p));
	if (!valid_id(p, (size_t)(slash - p)) ||
	    !util_has_prefix(slash, "/_history/"))
		return false;
	return valid_id(slash + 10, strlen(slash + 10));
}

/* --- values -------------------------------------------------------------- */

/* What a value of each kind must be, for messages. */
static const char *const format_names[] = {
	[FHIR_K_BASE64BINARY] = "base64Binary",
	[FHIR_K_CANONICAL] = "canonical (no whitespace)",
	[FHIR_K_CODE] = "code (no leading, trailing or double whitespace)",
	[FHIR_K_DATE] = "date (YYYY, YYYY-MM or YYYY-MM-DD)",
	[FHIR_K_DATETIME] = "dateTime (a real date; a time needs seconds "
	    "and a zone)",
	[FHIR_K_INSTANT] = "instant (date, time with seconds and a zone)",
	[FHIR_K_OID] = "oid (urn:oid:)",
	[FHIR_K_TIME] = "time (hh:mm:ss)",
	[FHIR_K_URI] = "uri (no whitespace)",
	[FHIR_K_URL] = "url (no whitespace)",
	[FHIR_K_UUID] = "uuid (urn:uuid: and lower-case hex)",
	[FHIR_K_XHTML] = "XHTML div (<div xmlns=\"http://www.w3.org/1999/"
	    "xhtml\">...</div>)",
};

static int
check_string(struct walk *w, const json_t *v, const struct fhir_def_elem *e)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	int64_t ms;
	bool ok = true;

	if (n == 0)
		return FAIL(w, DIAG_EMPTY_ELEMENT,
		    "an empty string is not a value (ele-1)");
	if (has_control(s, n))
		return FAIL(w, DIAG_BAD_VALUE,
		    "the value contains a control character");
	switch (e->kind) {
	case FHIR_K_STRING:
	case FHIR_K_MARKDOWN:
		if (n > STRING_MAX && utf8_chars(s, n) > STRING_MAX)
			return FAIL(w, DIAG_STRING_TOO_LONG,
			    "the string is longer than %d characters",
			    STRING_MAX);
		if (e->kind == FHIR_K_STRING && all_space(s, n))
			return FAIL(w, DIAG_EMPTY_ELEMENT,
			    "a string of whitespace only is not a value");
		break;
	case FHIR_K_CODE:
		ok = valid_code(s, n);
		break;
	case FHIR_K_ID:
		if (!valid_id(s, n))
			return FAIL(w, (e->flags & FHIR_EF_RESID) ?
			    DIAG_BAD_ID : DIAG_BAD_VALUE,
			    "an id must match [A-Za-z0-9-.]{1,%d}", ID_MAX);
		break;
	case FHIR_K_URI:
	case FHIR_K_URL:
	case FHIR_K_CANONICAL:
		ok = valid_uri(s, n);
		break;
	case FHIR_K_OID:
		ok = util_has_prefix(s, "urn:oid:") && valid_oid_digits(s + 8);
		break;
	case FHIR_K_UUID:
		ok = util_has_prefix(s, "urn:uuid:") &&
		    valid_uuid_digits(s + 9, false);
		break;
	case FHIR_K_DATE:
		ok = util_parse_fhir_time(s, UTIL_TIME_DATE, &ms, NULL) == 0;
		break;
	case FHIR_K_DATETIME:
		ok = util_parse_fhir_time(s, UTIL_TIME_DATETIME, &ms,
		    NULL) == 0;
		break;
	case FHIR_K_INSTANT:
		ok = util_parse_fhir_time(s, UTIL_TIME_INSTANT, &ms, NULL) == 0;
		break;
	case FHIR_K_TIME:
		ok = valid_time(s);
		break;
	case FHIR_K_BASE64BINARY:
		ok = valid_base64(s, n);
		break;
	case FHIR_K_XHTML:
		ok = valid_xhtml(s, n);
		break;
	default:
		break;
	}
	if (!ok)
		return FAIL(w, DIAG_BAD_VALUE, "the value is not a valid %s",
		    e->kind < UTIL_ARRAY_LEN(format_names) &&
		    format_names[e->kind] != NULL ? format_names[e->kind] :
		    "value");
	if (e->flags & FHIR_EF_REF) {
		if (!valid_reference(s, n))
			return FAIL(w, DIAG_BAD_REFERENCE, "the reference is "
			    "not a local, relative, absolute, urn:uuid or "
			    "urn:oid reference");
		if (s[0] == '#' && !mark_local(w, s))
			return FAIL(w, DIAG_BAD_REFERENCE, "a local reference "
			    "must name a contained resource (ref-1)");
	} else if (s[0] == '#' && (e->kind == FHIR_K_URI ||
	    e->kind == FHIR_K_URL || e->kind == FHIR_K_CANONICAL))
		(void)mark_local(w, s);
	if (e->vs != 0 && !vs_has(&fhir_defs_vs[e->vs - 1], s, NULL))
		return FAIL(w, DIAG_BAD_CODE, "the code is not in the "
		    "required value set %s", vs_url(&fhir_defs_vs[e->vs - 1]));
	return 0;
}

static int
check_primitive(struct walk *w, const json_t *v,
    const struct fhir_def_elem *e)
{
	json_int_t x, lo;

	switch (e->kind) {
	case FHIR_K_BOOLEAN:
		if (!json_is_boolean(v))
			return FAIL(w, DIAG_ELEMENT_TYPE,
			    "a boolean must be JSON true or false");
		return 0;
	case FHIR_K_DECIMAL:
		if (!json_is_number(v))
			return FAIL(w, DIAG_ELEMENT_TYPE,
			    "a decimal must be a JSON number");
		return 0;
	case FHIR_K_INTEGER:
	case FHIR_K_POSITIVEINT:
	case FHIR_K_UNSIGNEDINT:
		lo = e->kind == FHIR_K_POSITIVEINT ? 1 :
		    e->kind == FHIR_K_UNSIGNEDINT ? 0 : INT32_MIN;
		if (!json_is_integer(v))
			return FAIL(w, DIAG_ELEMENT_TYPE,
			    "an integer must be a JSON number without a "
			    "fraction or exponent");
		x = json_integer_value(v);
		if (x < lo || x > INT32_MAX)
			return FAIL(w, DIAG_BAD_VALUE,
			    "the integer must be between %lld and %d",
			    (long long)lo, INT32_MAX);
		return 0;
	default:
		if (!json_is_string(v))
			return FAIL(w, DIAG_ELEMENT_TYPE,
			    "the value must be a JSON string");
		return check_string(w, v, e);
	}
}

/* Required binding on a Coding: a coding from a bound system needs a
 * listed code (the validator cannot judge codings from other systems). */
static int
check_coding(struct walk *w, const json_t *coding,
    const struct fhir_def_vs *vs)
{
	const char *sys = json_string_value(json_object_get(coding, "system"));
	const char *code = json_string_value(json_object_get(coding, "code"));
	size_t old;
	int rc;

	if (sys == NULL || code == NULL || !vs_has_system(vs, sys) ||
	    vs_has(vs, code, sys))
		return 0;
	old = push(w, '.', "code");
	rc = FAIL(w, DIAG_BAD_CODE, "the code is not in the required value "
	    "set %s", vs_url(vs));
	pop(w, old);
	return rc;
}

static int
check_binding(struct walk *w, const json_t *v, const struct fhir_def_elem *e)
{
	const struct fhir_def_table *t = &fhir_defs_tables[e->table];
	const struct fhir_def_vs *vs = &fhir_defs_vs[e->vs - 1];
	const json_t *codings;
	size_t i, old, old2;
	int rc = 0;

	if (t->flags & FHIR_TF_CODING)
		return check_coding(w, v, vs);
	if (!(t->flags & FHIR_TF_CODEABLE))
		return 0;
	codings = json_object_get(v, "coding");
	old = push(w, '.', "coding");
	for (i = 0; rc == 0 && i < json_array_size(codings); i++) {
		old2 = push_index(w, i);
		rc = check_coding(w, json_array_get(codings, i), vs);
		pop(w, old2);
	}
	pop(w, old);
	return rc;
}

/* ele-1 for a complex element: some child other than id. */
static bool
empty_object(const json_t *v)
{
	size_t n = json_object_size(v);

	return n == 0 || (n == 1 && json_object_get(v, "id") != NULL);
}

/* dom-2, dom-4, dom-5 and the id dom-3 needs, for contained[i]. */
static int
check_contained(struct walk *w, const json_t *v, size_t i)
{
	const json_t *meta;
	long saved = w->rc->cur;
	int rc;

	w->rc->cur = (long)i;
	rc = walk_resource(w, v, true);
	w->rc->cur = saved;
	if (rc == -1)
		return -1;
	if (!json_is_string(json_object_get(v, "id")))
		return FAIL(w, DIAG_CONTAINED,
		    "a contained resource must have an id (dom-3)");
	meta = json_object_get(v, "meta");
	if (json_object_get(meta, "versionId") != NULL ||
	    json_object_get(meta, "lastUpdated") != NULL)
		return FAIL(w, DIAG_CONTAINED, "a contained resource must not "
		    "have meta.versionId or meta.lastUpdated (dom-4)");
	if (json_object_get(meta, "security") != NULL)
		return FAIL(w, DIAG_CONTAINED, "a contained resource must not "
		    "have security labels (dom-5)");
	return 0;
}

/* One value (not an array) of element e. */
static int
check_one(struct walk *w, const json_t *v, const struct fhir_def_elem *e,
    size_t i)
{
	if (json_is_null(v))
		return FAIL(w, DIAG_ELEMENT_TYPE, "null is not a value");
	switch (e->kind) {
	case FHIR_K_COMPLEX:
		if (!json_is_object(v))
			return FAIL(w, DIAG_ELEMENT_TYPE,
			    "the element must be a JSON object");
		if (empty_object(v))
			return FAIL(w, DIAG_EMPTY_ELEMENT, "an element must "
			    "have a value or children (ele-1)");
		if (walk_object(w, v, &fhir_defs_tables[e->table]) == -1)
			return -1;
		return e->vs != 0 ? check_binding(w, v, e) : 0;
	case FHIR_K_RESOURCE:
		if (!json_is_object(v))
			return FAIL(w, DIAG_ELEMENT_TYPE,
			    "a resource must be a JSON object");
		if (e->flags & FHIR_EF_CONTAINED)
			return check_contained(w, v, i);
		return w->envelope ? 0 : walk_resource(w, v, false);
	default:
		return check_primitive(w, v, e);
	}
}

/* Is item i of the "_name" array an object (so value i may be null)? */
static bool
ext_at(const json_t *obj, const char *name, size_t i)
{
	char key[128];

	if (snprintf(key, sizeof(key), "_%s", name) >= (int)sizeof(key))
		return false;
	return json_is_object(json_array_get(json_object_get(obj, key), i));
}

/*
 * An array where the element repeats, a single value where it does not,
 * never an empty array.  Returns 1 for an array, 0 for a single value, -1
 * (with the diag set) otherwise.
 */
static int
check_shape(struct walk *w, const json_t *v, const struct fhir_def_elem *e)
{
	if (!(e->flags & FHIR_EF_MANY)) {
		if (json_is_array(v))
			return FAIL(w, DIAG_CARDINALITY, "the element allows "
			    "one value, not an array");
		return 0;
	}
	if (!json_is_array(v))
		return FAIL(w, DIAG_CARDINALITY,
		    "the element repeats and must be a JSON array");
	if (json_array_size(v) == 0)
		return FAIL(w, DIAG_EMPTY_ELEMENT,
		    "an empty array is not a value (ele-1)");
	return 1;
}

/* The value of element e, named name in obj: an array or a single value. */
static int
check_value(struct walk *w, const json_t *obj, const char *name,
    const json_t *v, const struct fhir_def_elem *e)
{
	const json_t *item;
	size_t i, n, old;
	int rc;

	if ((rc = check_shape(w, v, e)) <= 0)
		return rc == 0 ? check_one(w, v, e, 0) : -1;
	n = json_array_size(v);
	for (i = 0, rc = 0; rc == 0 && i < n; i++) {
		item = json_array_get(v, i);
		old = push_index(w, i);
		if (json_is_null(item) && is_primitive(e) &&
		    ext_at(obj, name, i))
			rc = 0;		/* value carried by _name[i] alone */
		else
			rc = check_one(w, item, e, i);
		pop(w, old);
	}
	return rc;
}

/* One "_name" object: id and extension of a primitive (ele-1 applies). */
static int
check_ext_object(struct walk *w, const json_t *v, bool has_value)
{
	if (!json_is_object(v))
		return FAIL(w, DIAG_ELEMENT_TYPE, "a primitive's extension "
		    "part must be a JSON object");
	if (json_object_size(v) == 0)
		return FAIL(w, DIAG_EMPTY_ELEMENT, "an element must have a "
		    "value or children (ele-1)");
	if (walk_object(w, v,
	    &fhir_defs_tables[FHIR_DEFS_ELEMENT_TABLE]) == -1)
		return -1;
	if (!has_value && json_object_get(v, "extension") == NULL)
		return FAIL(w, DIAG_EMPTY_ELEMENT, "a primitive needs a value "
		    "or extensions (ele-1)");
	return 0;
}

/* "_name": primitive extensions, aligned with name's values. */
static int
check_primext(struct walk *w, const json_t *obj, const char *name,
    const json_t *v, const struct fhir_def_elem *e)
{
	const json_t *val = json_object_get(obj, name), *item, *vi;
	size_t i, n, old;
	int rc;

	if ((rc = check_shape(w, v, e)) <= 0)
		return rc == 0 ? check_ext_object(w, v,
		    val != NULL && !json_is_null(val)) : -1;
	n = json_array_size(v);
	rc = 0;
	if (json_is_array(val) && json_array_size(val) != n)
		return FAIL(w, DIAG_CARDINALITY, "the extension array must "
		    "have one item per value");
	for (i = 0; rc == 0 && i < n; i++) {
		item = json_array_get(v, i);
		vi = json_array_get(val, i);
		old = push_index(w, i);
		if (json_is_null(item)) {
			if (vi == NULL || json_is_null(vi))
				rc = FAIL(w, DIAG_EMPTY_ELEMENT, "neither a "
				    "value nor extensions (ele-1)");
		} else
			rc = check_ext_object(w, item,
			    vi != NULL && !json_is_null(vi));
		pop(w, old);
	}
	return rc;
}

/* --- objects and resources ----------------------------------------------- */

/*
 * Could key be an element name ([a-z][A-Za-z]*, '_' first for a primitive's
 * extension)?  An unknown key is the client's text: it is named in the
 * expression only when it has that shape (a misspelt "valueQuantty"), never
 * when it could be a name, a date or an identifier a broken mapping turned
 * into a key.
 */
static bool
element_like(const char *key)
{
	size_t i = key[0] == '_' ? 1 : 0, start = i;

	if (key[i] < 'a' || key[i] > 'z')
		return false;
	for (; key[i] != '\0'; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= 'A' && key[i] <= 'Z')))
			return false;
	return i - start <= 64;
}

static int
walk_object(struct walk *w, const json_t *obj, const struct fhir_def_table *t)
{
	json_t *o = (json_t *)(uintptr_t)obj;	/* jansson iterators */
	const struct fhir_def_elem *e, *chosen[FHIR_DEFS_MAX_CHOICE];
	const char *key, *name;
	uint64_t reqseen = 0, all;
	bool value = false, ext = false, prim;
	json_t *v;
	size_t old;
	void *it;
	int rc = 0, i;

	if (++w->depth > DEPTH_MAX) {
		w->depth--;
		return FAIL(w, DIAG_JSON_DEPTH, "the resource nests deeper "
		    "than %d objects", DEPTH_MAX);
	}
	memset(chosen, 0, sizeof(chosen));
	for (it = json_object_iter(o); it != NULL && rc == 0;
	    it = json_object_iter_next(o, it)) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if ((t->flags & FHIR_TF_RESOURCE) &&
		    strcmp(key, "resourceType") == 0)
			continue;
		prim = key[0] == '_';
		name = prim ? key + 1 : key;
		e = find_elem(t, name);
		if (e == NULL || (prim && !is_primitive(e))) {
			if (!element_like(key)) {
				rc = FAIL(w, DIAG_UNKNOWN_ELEMENT, "an element "
				    "here is not defined in FHIR R4 (its name is "
				    "not a FHIR element name and is not "
				    "repeated)");
				break;
			}
			old = push(w, '.', key);
			rc = FAIL(w, DIAG_UNKNOWN_ELEMENT, "the element is "
			    "not defined here in FHIR R4");
			pop(w, old);
			break;
		}
		old = push(w, '.', name);
		if (e->flags & FHIR_EF_MAX0) {
			rc = FAIL(w, DIAG_CARDINALITY,
			    "the element is not allowed here (max 0)");
		} else if (e->choice != 0 && chosen[e->choice - 1] != NULL &&
		    chosen[e->choice - 1] != e) {
			rc = FAIL(w, DIAG_MULTI_VALUE,
			    "only one type of a choice element is allowed");
		} else if ((e->flags & FHIR_EF_CONTAINED) && w->rc != NULL &&
		    w->rc->cur >= 0) {
			rc = FAIL(w, DIAG_CONTAINED, "a contained resource "
			    "must not contain resources (dom-2)");
		} else {
			if (e->choice != 0)
				chosen[e->choice - 1] = e;
			if (e->req != 0)
				reqseen |= UINT64_C(1) << (e->req - 1);
			if (e->choice != 0)
				value = true;
			else if (strcmp(name, "extension") == 0)
				ext = true;
			rc = prim ? check_primext(w, obj, name, v, e) :
			    check_value(w, obj, name, v, e);
		}
		pop(w, old);
	}
	if (rc == 0 && t->nreq > 0) {
		all = t->nreq >= 64 ? UINT64_MAX :
		    (UINT64_C(1) << t->nreq) - 1;
		for (i = 0; i < t->nreq; i++)
			if (!(reqseen & (UINT64_C(1) << i)))
				break;
		if ((reqseen & all) != all) {
			old = push(w, '.',
			    def_name(fhir_defs_req[t->req + i]));
			rc = FAIL(w, DIAG_REQUIRED, "a required element is "
			    "missing");
			pop(w, old);
		}
	}
	/* ext-1: an extension has a value[x] or extensions, not both. */
	if (rc == 0 && (t->flags & FHIR_TF_EXTENSION) && value && ext)
		rc = FAIL(w, DIAG_MULTI_VALUE, "an extension must not have "
		    "both a value[x] and extensions (ext-1)");
	else if (rc == 0 && (t->flags & FHIR_TF_EXTENSION) && !value && !ext)
		rc = FAIL(w, DIAG_EMPTY_ELEMENT, "an extension needs a "
		    "value[x] or extensions (ext-1)");
	w->depth--;
	return rc;
}

/*
 * A resource: its own object (a new dom-3 scope unless it is contained,
 * when references inside it count for its container).
 */
static int
walk_resource(struct walk *w, const json_t *obj, bool contained)
{
	struct cid small[CONTAINED_STACK];
	const struct fhir_def_resource *r;
	struct rctx rc, *saved = w->rc;
	size_t i, n, old, first;
	const json_t *rt;
	const char *id;
	int res;

	rt = json_object_get(obj, "resourceType");
	if (!json_is_string(rt))
		return FAIL(w, DIAG_NOT_RESOURCE,
		    "a resource needs a resourceType string");
	if ((r = find_resource(json_string_value(rt))) == NULL) {
		old = push(w, '.', "resourceType");
		res = FAIL(w, DIAG_WRONG_TYPE,
		    "resourceType is not an R4 resource type");
		pop(w, old);
		return res;
	}
	if (contained)
		return walk_object(w, obj, &fhir_defs_tables[r->table]);

	memset(&rc, 0, sizeof(rc));
	rc.cur = -1;
	rc.contained = json_object_get(obj, "contained");
	n = json_array_size(rc.contained);
	rc.ids = small;
	if (n > CONTAINED_STACK &&
	    (rc.ids = util_malloc_try(n * sizeof(*rc.ids))) == NULL)
		return FAIL(w, DIAG_NO_MEMORY, NULL);
	for (i = 0; i < n; i++) {
		id = json_string_value(json_object_get(
		    json_array_get(rc.contained, i), "id"));
		if (id != NULL) {
			rc.ids[rc.nids].id = id;
			rc.ids[rc.nids].idx = i;
			rc.ids[rc.nids++].hit = false;
		}
	}
	qsort(rc.ids, rc.nids, sizeof(*rc.ids), cid_cmp);
	w->rc = &rc;
	res = walk_object(w, obj, &fhir_defs_tables[r->table]);
	/* dom-3: the first contained resource nothing references. */
	for (i = 0, first = SIZE_MAX; res == 0 && i < rc.nids; i++)
		if (!rc.ids[i].hit && rc.ids[i].idx < first)
			first = rc.ids[i].idx;
	if (res == 0 && first != SIZE_MAX) {
		old = push(w, '.', "contained");
		push_index(w, first);
		res = FAIL(w, DIAG_CONTAINED, "a contained resource must be "
		    "referenced from its container (dom-3)");
		pop(w, old);
	}
	if (rc.ids != small)
		util_free_try(rc.ids);
	w->rc = saved;
	return res;
}

static int
validate(const json_t *resource, const char *path, bool envelope,
    struct diag *d)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.d = d;
	w.envelope = envelope;
	util_strlcpy(w.path, path != NULL ? path : "", sizeof(w.path));
	w.len = strlen(w.path);
	if (!json_is_object(resource)) {
		diag_set(d, DIAG_NOT_RESOURCE, w.path,
		    "a resource must be a JSON object");
		return -1;
	}
	return walk_resource(&w, resource, false);
}

int
fhir_validate(const json_t *resource, const char *path, struct diag *d)
{
	return validate(resource, path, false, d);
}

int
fhir_validate_envelope(const json_t *resource, const char *path,
    struct diag *d)
{
	return validate(resource, path, true, d);
}
