/*
 * replay_core.c - calcify-replay's pure parts: files to requests, answers
 * to counts, counts to a summary, and the rate limiter.  Messages about
 * files name the file and the problem, never the content: sample data may
 * be real patient data.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fhir_validate.h"
#include "jsonw.h"
#include "replay.h"

static const char *const stored_types[] = { "Observation", "Patient",
    "Condition", "Procedure", "MedicationStatement", "MedicationRequest" };

static bool
stored_type(const char *t)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(stored_types); i++)
		if (strcmp(stored_types[i], t) == 0)
			return true;
	return false;
}

void
replay_req_free(struct replay_req *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->rr_nres; i++)
		free(r->rr_patients[i]);
	free(r->rr_patients);
	free(r->rr_path);
	free(r->rr_body);
	free(r->rr_file);
	free(r);
}

/* --- files ------------------------------------------------------------------ */

static bool
wanted(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".json") == 0) ||
	    (n > 7 && strcmp(name + n - 7, ".ndjson") == 0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
push(char ***list, size_t *n, size_t *cap, char *s)
{
	if (*n + 1 >= *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*list = xrealloc(*list, *cap * sizeof(**list));
	}
	(*list)[(*n)++] = s;
	(*list)[*n] = NULL;
}

/* A path that cannot be used: said at once and kept for the summary. */
static void
unusable(struct replay_stats *s, FILE *errf, const char *path,
    const char *what, int *missing)
{
	char msg[384];

	snprintf(msg, sizeof(msg), "%s: %s: %s", path, what, strerror(errno));
	if (errf != NULL)
		fprintf(errf, "%s\n", msg);
	replay_bad_file(s, msg);
	if (missing != NULL)
		(*missing)++;
}

static void
walk(const char *dir, char ***list, size_t *n, size_t *cap,
    struct replay_stats *s, FILE *errf)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	char *p;

	if (d == NULL) {
		unusable(s, errf, dir, "cannot read the directory", NULL);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			walk(p, list, n, cap, s, errf);
			free(p);
		} else if (wanted(de->d_name))
			push(list, n, cap, p);
		else
			free(p);
	}
	closedir(d);
}

char **
replay_list_files(char *const *paths, int npaths, struct replay_stats *s,
    FILE *errf, int *missing)
{
	char **list = NULL;
	size_t n = 0, cap = 0, first;
	struct stat st;
	int i;

	*missing = 0;
	push(&list, &n, &cap, NULL);
	n = 0;
	for (i = 0; i < npaths; i++) {
		if (stat(paths[i], &st) == -1) {
			unusable(s, errf, paths[i], "cannot use", missing);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			/* Each directory's files in name order. */
			first = n;
			walk(paths[i], &list, &n, &cap, s, errf);
			qsort(list + first, n - first, sizeof(*list), cmp_str);
		} else
			push(&list, &n, &cap, xstrdup(paths[i]));
	}
	return list;
}

/* --- requests ----------------------------------------------------------- */

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The Patient a resource is about, as "Patient/ID", or NULL. */
static char *
patient_of(const json_t *res, const json_t *bundle)
{
	const char *type = str(res, "resourceType"), *ref, *p;
	const json_t *e, *r;
	size_t i;

	if (type != NULL && strcmp(type, "Patient") == 0)
		return str(res, "id") != NULL ? xasprintf("Patient/%s",
		    str(res, "id")) : NULL;
	ref = str(json_object_get(res, "subject"), "reference");
	if (ref == NULL)
		return NULL;
	if (util_has_prefix(ref, "urn:") && bundle != NULL) {
		/* Resolve inside the Bundle to the Patient entry's id. */
		json_array_foreach(json_object_get(bundle, "entry"), i, e) {
			r = json_object_get(e, "resource");
			if (str(e, "fullUrl") != NULL &&
			    strcmp(str(e, "fullUrl"), ref) == 0)
				return str(r, "id") != NULL ? xasprintf(
				    "Patient/%s", str(r, "id")) : NULL;
		}
		return NULL;
	}
	p = strstr(ref, "Patient/");
	if (p == NULL)
		return NULL;
	{
		const char *end = strstr(p, "/_history");
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		return xstrndup(p, len);
	}
}

static struct replay_req *
req_new(const char *file, const char *path, char *body, size_t len)
{
	struct replay_req *r = xcalloc(1, sizeof(*r));

	r->rr_file = xstrdup(file);
	r->rr_path = xstrdup(path);
	r->rr_body = body;
	r->rr_len = len;
	return r;
}

static void
req_add_patient(struct replay_req *r, char *p)
{
	r->rr_patients = xrealloc(r->rr_patients,
	    (size_t)(r->rr_nres + 1) * sizeof(char *));
	r->rr_patients[r->rr_nres++] = p;
}

static void
append(struct replay_req **head, struct replay_req **tail,
    struct replay_req *r)
{
	if (*tail != NULL)
		(*tail)->rr_next = r;
	else
		*head = r;
	*tail = r;
}

/* A batch Bundle around resources (each POSTed to its type). */
static char *
wrap_batch(json_t *const *res, int n, size_t *len)
{
	json_t *b = json_object(), *entries = json_array(), *e;
	char *text;
	int i;

	json_object_set_new(b, "resourceType", json_string("Bundle"));
	json_object_set_new(b, "type", json_string("batch"));
	for (i = 0; i < n; i++) {
		e = json_object();
		json_object_set(e, "resource", res[i]);
		json_object_set_new(e, "request", json_pack("{s:s,s:s}",
		    "method", "POST", "url", str(res[i], "resourceType")));
		json_array_append_new(entries, e);
	}
	json_object_set_new(b, "entry", entries);
	text = json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(b);
	*len = strlen(text);
	return text;
}

/*
 * Does t look like a type name?  Only then is it quoted in a message: a
 * message names the file and the problem, and a resourceType that is not
 * a name may be anything the file holds.
 */
static bool
quotable_type(const char *t)
{
	size_t i;

	if (t[0] < 'A' || t[0] > 'Z' || strlen(t) > 64)
		return false;
	for (i = 1; t[i] != '\0'; i++)
		if (!isalpha((unsigned char)t[i]))
			return false;
	return true;
}

static void
bad_type(const char *where, const char *type, char *err, size_t errsz)
{
	if (quotable_type(type))
		snprintf(err, errsz, "%s: resourceType '%s' is not a FHIR R4 "
		    "resource type", where, type);
	else
		snprintf(err, errsz, "%s: resourceType is not a FHIR R4 "
		    "resource type", where);
}

/* One parsed resource or Bundle from a file or an NDJSON line (where,
 * "file" or "file:line", names it in messages). */
static int
one_document(const char *file, const char *where, json_t *doc,
    bool as_batch, struct replay_req **head, struct replay_req **tail,
    int *ignored, char *err, size_t errsz)
{
	const char *type = str(doc, "resourceType");
	const json_t *e;
	struct replay_req *r;
	char *body, *path;
	size_t len, i;

	if (type == NULL) {
		snprintf(err, errsz, "%s: not a FHIR resource (no "
		    "resourceType)", where);
		return -1;
	}
	/* calcifyd would take an unknown type inside a Bundle and ignore
	 * it; a file of its own is far likelier a typo or not FHIR at all,
	 * and sending it would hide that. */
	if (!fhir_validate_known_type(type)) {
		bad_type(where, type, err, errsz);
		return -1;
	}
	if (strcmp(type, "Bundle") == 0) {
		body = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
		len = strlen(body);
		r = req_new(file, "", body, len);
		r->rr_transaction = str(doc, "type") != NULL &&
		    strcmp(str(doc, "type"), "transaction") == 0;
		json_array_foreach(json_object_get(doc, "entry"), i, e)
			req_add_patient(r, patient_of(json_object_get(e,
			    "resource"), doc));
		append(head, tail, r);
		return 0;
	}
	if (as_batch) {
		body = wrap_batch(&doc, 1, &len);
		r = req_new(file, "", body, len);
		req_add_patient(r, patient_of(doc, NULL));
		append(head, tail, r);
		return 0;
	}
	if (!stored_type(type)) {
		/* What calcifyd does with it in a Bundle (200, "not used"):
		 * ignored, and accepted as far as the exit status goes. */
		(*ignored)++;
		snprintf(err, errsz, "%s: %s is not used by calcifyd; ignored "
		    "(not sent)", where, type);
		return 0;
	}
	body = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
	len = strlen(body);
	path = xasprintf("/%s", type);
	r = req_new(file, path, body, len);
	free(path);
	req_add_patient(r, patient_of(doc, NULL));
	append(head, tail, r);
	return 0;
}

static json_t *
parse(const char *text, size_t len, const char *file, long line, char *err,
    size_t errsz)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL) {
		if (line > 0)
			snprintf(err, errsz, "%s:%ld: not JSON (column %d)",
			    file, line, je.column);
		else
			snprintf(err, errsz, "%s: not JSON (line %d, column "
			    "%d)", file, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errsz, "%s: not a FHIR resource (not a JSON "
		    "object)", file);
		return NULL;
	}
	return j;
}

static int
ndjson(const char *file, FILE *fp, bool as_batch, struct replay_req **head,
    struct replay_req **tail, int *ignored, char *err, size_t errsz)
{
	json_t *group[REPLAY_BATCH_MAX];
	struct replay_req *r;
	char *line = NULL, *body, where[320];
	size_t cap = 0, blen;
	ssize_t n;
	long lineno = 0;
	int ng = 0, i, rc = 0, ignored0 = *ignored;

	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *j;

		lineno++;
		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((j = parse(line, (size_t)n, file, lineno, err,
		    errsz)) == NULL) {
			rc = -1;
			break;
		}
		snprintf(where, sizeof(where), "%s:%ld", file, lineno);
		if (str(j, "resourceType") == NULL) {
			snprintf(err, errsz, "%s: not a FHIR resource (no "
			    "resourceType)", where);
			json_decref(j);
			rc = -1;
			break;
		}
		if (!fhir_validate_known_type(str(j, "resourceType"))) {
			bad_type(where, str(j, "resourceType"), err, errsz);
			json_decref(j);
			rc = -1;
			break;
		}
		if (!as_batch) {
			rc = one_document(file, where, j, false, head, tail,
			    ignored, err, errsz);
			json_decref(j);
			if (rc == -1)
				break;
			continue;
		}
		group[ng++] = j;
		if (ng == REPLAY_BATCH_MAX) {
			body = wrap_batch(group, ng, &blen);
			r = req_new(file, "", body, blen);
			for (i = 0; i < ng; i++) {
				req_add_patient(r, patient_of(group[i], NULL));
				json_decref(group[i]);
			}
			append(head, tail, r);
			ng = 0;
		}
	}
	if (ng > 0 && rc == 0) {
		body = wrap_batch(group, ng, &blen);
		r = req_new(file, "", body, blen);
		for (i = 0; i < ng; i++)
			req_add_patient(r, patient_of(group[i], NULL));
		append(head, tail, r);
	}
	for (i = 0; i < ng; i++)
		json_decref(group[i]);
	free(line);
	if (rc == 0 && *ignored - ignored0 > 1)
		snprintf(err, errsz, "%s: %d resources of types calcifyd does "
		    "not use; ignored (not sent)", file, *ignored - ignored0);
	return rc;
}

int
replay_file_requests(const char *file, bool as_batch,
    struct replay_req **head, struct replay_req **tail, int *ignored,
    char *err, size_t errsz)
{
	size_t n = strlen(file), len;
	struct buf b;
	char chunk[65536];
	json_t *doc;
	FILE *fp;
	int rc;

	if ((fp = fopen(file, "r")) == NULL) {
		snprintf(err, errsz, "%s: cannot read: %s", file,
		    strerror(errno));
		return -1;
	}
	if (n > 7 && strcmp(file + n - 7, ".ndjson") == 0) {
		rc = ndjson(file, fp, as_batch, head, tail, ignored, err,
		    errsz);
		fclose(fp);
		return rc;
	}
	buf_init(&b);
	while ((len = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, len);
	fclose(fp);
	doc = parse(b.b_data != NULL ? b.b_data : "", b.b_len, file, 0, err,
	    errsz);
	buf_free(&b);
	if (doc == NULL)
		return -1;
	rc = one_document(file, file, doc, as_batch, head, tail, ignored, err,
	    errsz);
	json_decref(doc);
	return rc;
}

/* --- accounting ----------------------------------------------------------- */

void
replay_stats_init(struct replay_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void
replay_stats_free(struct replay_stats *s)
{
	size_t i;

	for (i = 0; i < s->npatients; i++)
		free(s->patients[i]);
	free(s->patients);
	free(s->pchanged);
	free(s->pindex);
	s->patients = NULL;
	s->pchanged = NULL;
	s->pindex = NULL;
	s->npatients = s->cappatients = s->npindex = 0;
}

void
replay_bad_file(struct replay_stats *s, const char *msg)
{
	s->files_bad++;
	if (s->nbad < REPLAY_MAX_BAD)
		util_strlcpy(s->bad[s->nbad++], msg, sizeof(s->bad[0]));
}

/* FNV-1a: patient references are short and this only spreads them over
 * the index. */
static size_t
hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static size_t *
index_slot(size_t *idx, size_t n, char *const *patients, const char *p)
{
	size_t i = hash_str(p) & (n - 1);

	while (idx[i] != 0 && strcmp(patients[idx[i] - 1], p) != 0)
		i = (i + 1) & (n - 1);
	return &idx[i];
}

static void
grow_index(struct replay_stats *s)
{
	size_t n = s->npindex ? s->npindex * 2 : 128, i;
	size_t *idx = xcalloc(n, sizeof(*idx));

	for (i = 0; i < s->npatients; i++)
		*index_slot(idx, n, s->patients, s->patients[i]) = i + 1;
	free(s->pindex);
	s->pindex = idx;
	s->npindex = n;
}

/* Constant time per patient: a replay of a million patients must not
 * spend its time here.  changed: calcifyd stored something new for p. */
static void
touch_patient(struct replay_stats *s, const char *p, bool changed)
{
	size_t *slot;

	if (p == NULL)
		return;
	if (2 * (s->npatients + 1) > s->npindex)
		grow_index(s);
	slot = index_slot(s->pindex, s->npindex, s->patients, p);
	if (*slot != 0) {
		s->pchanged[*slot - 1] |= changed;
		return;
	}
	if (s->npatients == s->cappatients) {
		s->cappatients = s->cappatients ? s->cappatients * 2 : 64;
		s->patients = xrealloc(s->patients,
		    s->cappatients * sizeof(char *));
		s->pchanged = xrealloc(s->pchanged,
		    s->cappatients * sizeof(bool));
	}
	s->pchanged[s->npatients] = changed;
	s->patients[s->npatients++] = xstrdup(p);
	*slot = s->npatients;
}

/* Count a rejection of kind (status, issue code). */
static void
reject(struct replay_stats *s, const struct replay_req *r, int status,
    const json_t *outcome, long n)
{
	const json_t *issue = json_array_get(json_object_get(outcome, "issue"),
	    0);
	const char *code = str(issue, "code"), *diag = str(issue,
	    "diagnostics");
	struct replay_kind *k = NULL;
	int i;

	s->rejected += n;
	if (code == NULL)
		code = status == 0 ? "no-answer" : "unknown";
	for (i = 0; i < s->nkinds; i++)
		if (s->kinds[i].rk_status == status &&
		    strcmp(s->kinds[i].rk_code, code) == 0)
			k = &s->kinds[i];
	if (k == NULL && s->nkinds < REPLAY_MAX_KINDS) {
		k = &s->kinds[s->nkinds++];
		k->rk_status = status;
		util_strlcpy(k->rk_code, code, sizeof(k->rk_code));
		util_strlcpy(k->rk_first, diag != NULL ? diag : "",
		    sizeof(k->rk_first));
		util_strlcpy(k->rk_file, r->rr_file, sizeof(k->rk_file));
	}
	if (k != NULL)
		k->rk_count += n;
}

/* calcifyd's informational codes (diag.h) on a successful answer. */
#define CODE_IGNORED	2000	/* type not used by calcifyd */
#define CODE_UNCHANGED	2001	/* identical to the stored version */
#define CODE_EXISTS	2002	/* If-None-Exist matched */

/* The stable calcifyd code of an informational outcome, or 0. */
static int
outcome_code(const json_t *outcome)
{
	const json_t *c = json_array_get(json_object_get(json_object_get(
	    json_array_get(json_object_get(outcome, "issue"), 0), "details"),
	    "coding"), 0);
	const char *code = str(c, "code");

	return code != NULL ? atoi(code) : 0;
}

void
replay_account(struct replay_stats *s, const struct replay_req *r,
    long status, const char *body, size_t len)
{
	json_t *doc = NULL, *entries, *e, *resp;
	const char *st;
	size_t i;
	int es;

	s->requests++;
	s->resources += r->rr_nres;
	if (body != NULL && len > 0)
		doc = json_loadb(body, len, 0, NULL);
	if (status == 0)
		s->unreachable += r->rr_nres;
	if (r->rr_path[0] != '\0') {
		/* A single resource; with Prefer: return=OperationOutcome
		 * a 200 says whether it was already stored. */
		if (status == 200 || status == 201) {
			int oc = outcome_code(doc);

			s->accepted++;
			if (status == 201)
				s->created++;
			else
				s->unchanged++;
			touch_patient(s, r->rr_nres > 0 ? r->rr_patients[0] :
			    NULL, status == 201 || (oc != CODE_UNCHANGED &&
			    oc != CODE_EXISTS));
		} else
			reject(s, r, (int)status, doc, 1);
		json_decref(doc);
		return;
	}
	entries = json_object_get(doc, "entry");
	if (status != 200 || !json_is_array(entries)) {
		/* A transaction that failed, or no usable answer: every
		 * resource of the Bundle shares the fate. */
		reject(s, r, (int)status, doc, r->rr_nres);
		json_decref(doc);
		return;
	}
	json_array_foreach(entries, i, e) {
		resp = json_object_get(e, "response");
		st = str(resp, "status");
		es = st != NULL ? atoi(st) : 0;
		if (es >= 200 && es < 300) {
			int oc = outcome_code(json_object_get(resp, "outcome"));

			if (oc == CODE_IGNORED) {
				s->ignored++;
				continue;
			}
			s->accepted++;
			if (es == 201)
				s->created++;
			else
				s->unchanged++;
			if ((int)i < r->rr_nres)
				touch_patient(s, r->rr_patients[i], es == 201 ||
				    (oc != CODE_UNCHANGED && oc != CODE_EXISTS));
		} else
			reject(s, r, es, json_object_get(resp, "outcome"), 1);
	}
	json_decref(doc);
}

static const char *const bands[4] = { "negligible", "low", "moderate",
    "high" };

/* 0 cutaneous, 1 vascular, -1 unknown: by SNOMED code or by text. */
static int
which_outcome(const json_t *pred)
{
	const json_t *oc = json_object_get(pred, "outcome"), *c;
	const char *text = str(oc, "text");
	size_t i;

	json_array_foreach(json_object_get(oc, "coding"), i, c) {
		const char *code = str(c, "code");

		if (code == NULL)
			continue;
		if (strcmp(code, "237900002") == 0 || strcmp(code, "L94.2") == 0)
			return 0;
		if (strcmp(code, "396336006") == 0 || strcmp(code, "I70.0") == 0)
			return 1;
	}
	/* "Non-cutaneous vascular calcification" names the vascular
	 * outcome: look for it before the cutaneous words. */
	if (text != NULL && (strcasestr(text, "non-cutaneous") != NULL ||
	    strcasestr(text, "vascular") != NULL))
		return 1;
	if (text != NULL && (strcasestr(text, "cutane") != NULL ||
	    strcasestr(text, "calciphylaxis") != NULL))
		return 0;
	return -1;
}

void
replay_server_date(struct replay_stats *s, int64_t date_ms)
{
	/* The header has whole seconds: an assessment made in the same
	 * second as the first answer, just before the header was written,
	 * belongs to this run. */
	date_ms -= 1000;
	if (date_ms > 0 && (s->server_t0_ms == 0 || date_ms < s->server_t0_ms))
		s->server_t0_ms = date_ms;
}

/* The newest assessment of a searchset, and its state. */
static enum replay_ra
newest(const struct replay_stats *s, size_t i, const json_t *doc,
    json_t **ra_out)
{
	json_t *ra;
	int64_t at;

	ra = json_object_get(json_array_get(json_object_get(doc, "entry"), 0),
	    "resource");
	*ra_out = ra;
	if (ra == NULL || !json_is_object(ra))
		return REPLAY_RA_NONE;
	if (i < s->npatients && !s->pchanged[i])
		return REPLAY_RA_CURRENT;
	if (s->server_t0_ms > 0 && util_parse_fhir_time(str(json_object_get(
	    ra, "meta"), "lastUpdated") != NULL ? str(json_object_get(ra,
	    "meta"), "lastUpdated") : "", UTIL_TIME_INSTANT, &at, NULL) == 0 &&
	    at >= s->server_t0_ms)
		return REPLAY_RA_CURRENT;
	return REPLAY_RA_STALE;
}

enum replay_ra
replay_assessment_state(const struct replay_stats *s, size_t i,
    const char *body, size_t len)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *ra;
	enum replay_ra st = newest(s, i, doc, &ra);

	json_decref(doc);
	return st;
}

void
replay_account_assessment(struct replay_stats *s, size_t pi, const char *body,
    size_t len)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *ra, *p;
	enum replay_ra st = newest(s, pi, doc, &ra);
	const char *band;
	size_t i;
	int o, b;

	s->waited++;
	if (st != REPLAY_RA_CURRENT) {
		if (st == REPLAY_RA_NONE)
			s->without_assessment++;
		else
			s->stale++;
		json_decref(doc);
		return;
	}
	json_array_foreach(json_object_get(ra, "prediction"), i, p) {
		o = which_outcome(p);
		band = str(json_array_get(json_object_get(json_object_get(p,
		    "qualitativeRisk"), "coding"), 0), "code");
		if (o < 0 || band == NULL)
			continue;
		for (b = 0; b < 4; b++)
			if (strcmp(bands[b], band) == 0)
				s->bands[o][b]++;
	}
	json_decref(doc);
}

int
replay_exit_status(const struct replay_stats *s, bool dry_run)
{
	if (!dry_run && s->requests > 0 && s->unreachable == s->resources &&
	    s->accepted == 0)
		return 3;
	if (s->files_bad > 0 || s->rejected > 0)
		return 1;
	return 0;
}

void
replay_summary_text(const struct replay_stats *s, bool waited, FILE *fp)
{
	int i;

	fprintf(fp, "calcify-replay: %ld files, %ld resources in %ld requests,"
	    " %.1f s (%.0f resources/s)\n", s->files, s->resources,
	    s->requests, s->seconds, s->seconds > 0 ?
	    (double)s->resources / s->seconds : 0.0);
	fprintf(fp, "  accepted      %ld (created %ld, already there or new "
	    "version %ld)\n", s->accepted, s->created, s->unchanged);
	if (s->ignored > 0)
		fprintf(fp, "  ignored       %ld (resource types calcifyd does "
		    "not use)\n", s->ignored);
	fprintf(fp, "  rejected      %ld\n", s->rejected);
	for (i = 0; i < s->nkinds; i++) {
		const struct replay_kind *k = &s->kinds[i];

		fprintf(fp, "    %3d %-14s x%-5ld first: %s%s[%s]\n",
		    k->rk_status, k->rk_code, k->rk_count, k->rk_first,
		    k->rk_first[0] != '\0' ? " " : "", k->rk_file);
	}
	if (s->retries > 0)
		fprintf(fp, "  retries       %ld (429/503 with Retry-After)\n",
		    s->retries);
	if (s->files_bad > 0) {
		fprintf(fp, "  bad files     %ld\n", s->files_bad);
		for (i = 0; i < s->nbad; i++)
			fprintf(fp, "    %s\n", s->bad[i]);
	}
	fprintf(fp, "  patients      %zu\n", s->npatients);
	if (waited) {
		fprintf(fp, "  assessments   %ld patients checked, %ld without "
		    "an assessment", s->waited, s->without_assessment);
		if (s->stale > 0)
			fprintf(fp, ", %ld with only one from before this run\n"
			    "                (new data that left the risk as it "
			    "was, or took them out of scope;\n"
			    "                not counted below)", s->stale);
		fputc('\n', fp);
		fprintf(fp, "    %-12s %10s %10s %10s %10s\n", "outcome",
		    "negligible", "low", "moderate", "high");
		fprintf(fp, "    %-12s %10ld %10ld %10ld %10ld\n", "cutaneous",
		    s->bands[0][0], s->bands[0][1], s->bands[0][2],
		    s->bands[0][3]);
		fprintf(fp, "    %-12s %10ld %10ld %10ld %10ld\n", "vascular",
		    s->bands[1][0], s->bands[1][1], s->bands[1][2],
		    s->bands[1][3]);
	}
}

void
replay_summary_json(const struct replay_stats *s, bool waited, FILE *fp)
{
	struct buf b;
	struct jsonw w;
	char st[16];
	int i, o, k;

	buf_init(&b);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	jsonw_kint(&w, "files", s->files);
	jsonw_kint(&w, "files_bad", s->files_bad);
	jsonw_kint(&w, "requests", s->requests);
	jsonw_kint(&w, "resources", s->resources);
	jsonw_kint(&w, "accepted", s->accepted);
	jsonw_kint(&w, "created", s->created);
	jsonw_kint(&w, "unchanged", s->unchanged);
	jsonw_kint(&w, "ignored", s->ignored);
	jsonw_kint(&w, "rejected", s->rejected);
	jsonw_kint(&w, "retries", s->retries);
	jsonw_kint(&w, "patients", (long long)s->npatients);
	jsonw_key(&w, "seconds");
	jsonw_fixed(&w, s->seconds, 3);
	jsonw_key(&w, "rejected_by_status");
	jsonw_obj_open(&w);
	for (i = 0; i < s->nkinds; i++) {
		long total = 0;
		int j;

		snprintf(st, sizeof(st), "%d", s->kinds[i].rk_status);
		for (j = 0; j < i; j++)
			if (s->kinds[j].rk_status == s->kinds[i].rk_status)
				break;
		if (j < i)
			continue;
		for (j = i; j < s->nkinds; j++)
			if (s->kinds[j].rk_status == s->kinds[i].rk_status)
				total += s->kinds[j].rk_count;
		jsonw_kint(&w, st, total);
	}
	jsonw_obj_close(&w);
	jsonw_key(&w, "rejections");
	jsonw_arr_open(&w);
	for (i = 0; i < s->nkinds; i++) {
		jsonw_obj_open(&w);
		jsonw_kint(&w, "status", s->kinds[i].rk_status);
		jsonw_kstr(&w, "code", s->kinds[i].rk_code);
		jsonw_kint(&w, "count", s->kinds[i].rk_count);
		jsonw_kstr(&w, "first_diagnostics", s->kinds[i].rk_first);
		jsonw_kstr(&w, "first_file", s->kinds[i].rk_file);
		jsonw_obj_close(&w);
	}
	jsonw_arr_close(&w);
	jsonw_key(&w, "bad_files");
	jsonw_arr_open(&w);
	for (i = 0; i < s->nbad; i++)
		jsonw_str(&w, s->bad[i]);
	jsonw_arr_close(&w);
	if (waited) {
		jsonw_key(&w, "assessments");
		jsonw_obj_open(&w);
		jsonw_kint(&w, "patients_checked", s->waited);
		jsonw_kint(&w, "without_assessment", s->without_assessment);
		jsonw_kint(&w, "stale", s->stale);
		for (o = 0; o < 2; o++) {
			jsonw_key(&w, o == 0 ? "cutaneous" : "vascular");
			jsonw_obj_open(&w);
			for (k = 0; k < 4; k++)
				jsonw_kint(&w, bands[k], s->bands[o][k]);
			jsonw_obj_close(&w);
		}
		jsonw_obj_close(&w);
	}
	jsonw_kint(&w, "exit", replay_exit_status(s, false));
	jsonw_obj_close(&w);
	fprintf(fp, "%s\n", b.b_data);
	buf_free(&b);
}

/* --- rate --------------------------------------------------------------------- */

void
replay_rate_init(struct replay_rate *r, double rate, int64_t now_us)
{
	r->rate = rate;
	r->tokens = 1;
	r->last_us = now_us;
}

int64_t
replay_rate_take(struct replay_rate *r, int64_t now_us)
{
	double burst;

	if (r->rate <= 0)
		return 0;
	/* Bursts of up to a tenth of a second's worth (at least one). */
	burst = r->rate / 10 > 1 ? r->rate / 10 : 1;
	r->tokens += (double)(now_us - r->last_us) / 1e6 * r->rate;
	if (r->tokens > burst)
		r->tokens = burst;
	r->last_us = now_us;
	if (r->tokens >= 1) {
		r->tokens -= 1;
		return 0;
	}
	return (int64_t)((1 - r->tokens) / r->rate * 1e6) + 1;
}

char *
replay_read_token(const char *path, char *err, size_t errsz)
{
	char line[4096], *s, *last = NULL, *tok;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		for (tok = strtok(line, " \t\r\n"); tok != NULL;
		    tok = strtok(NULL, " \t\r\n"))
			last = tok;
		if (last != NULL)
			break;
	}
	fclose(fp);
	if (last == NULL) {
		snprintf(err, errsz, "%s: no token in the file", path);
		return NULL;
	}
	s = xstrdup(last);
	memset(line, 0, sizeof(line));
	return s;
}
