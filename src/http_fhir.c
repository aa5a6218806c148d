/*
 * http_fhir.c - the FHIR REST routes: create and update of the stored
 * resource types, Bundles (batch, transaction, collection, searchset),
 * read and vread, and RiskAssessment read and search.  Follows FHIR.md
 * "Requests and responses".  Parsing, validation and extraction happen
 * here in the HTTP thread; the store writer applies the result and the
 * answer is rendered on resume, after COMMIT.  No clinical rules here.
 */
#include "autoconfig.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "config.h"
#include "facts.h"
#include "fhir.h"
#include "fhir_validate.h"
#include "http.h"
#include "http_routes.h"
#include "ingest.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "models.h"
#include "store.h"
#include "util.h"

#define SEARCH_DEFAULT_COUNT	10
#define SEARCH_MAX_COUNT	100

static struct store *store;

void
http_fhir_init(struct store *s)
{
	store = s;
}

enum prefer {
	PREFER_REPRESENTATION,
	PREFER_MINIMAL,
	PREFER_OUTCOME,
};

enum bundle_kind {
	BK_SINGLE,		/* POST/PUT of one resource */
	BK_BATCH,
	BK_TRANSACTION,
	BK_COLLECTION,		/* collection and searchset: like batch */
};

/* Per-request state, released with the request. */
struct fhir_state {
	struct ingest_job	 job;
	enum bundle_kind	 kind;
	enum prefer		 prefer;
	bool			 prefer_given;
	enum fhir_rtype		 type;		/* single */
	bool			*ignored;	/* per entry: type not stored */
	char			**ignored_type;
	json_t			*doc;
	struct fhir_refmap	*map;
	struct http_req		*rq;
};

static void
state_free(void *p)
{
	struct fhir_state *st = p;
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < st->job.ij_n; i++) {
		struct ingest_entry *e = &st->job.ij_entries[i];

		if (e->ie_apply)
			fhir_item_free(&e->ie_item);
		free(e->ie_if_none_exist);
		free(e->ie_resid);
		if (st->ignored_type != NULL)
			free(st->ignored_type[i]);
	}
	free(st->job.ij_entries);
	free(st->ignored);
	free(st->ignored_type);
	fhir_refmap_free(st->map);
	json_decref(st->doc);
	free(st);
}

static struct fhir_state *
state_new(struct http_req *rq, int nentries)
{
	struct fhir_state *st = xcalloc(1, sizeof(*st));
	const char *p = http_header(rq, "Prefer");
	int i;

	st->rq = rq;
	st->job.ij_n = nentries;
	st->job.ij_entries = xcalloc((size_t)(nentries > 0 ? nentries : 1),
	    sizeof(*st->job.ij_entries));
	for (i = 0; i < nentries; i++)
		diag_clear(&st->job.ij_entries[i].ie_diag);
	st->ignored = xcalloc((size_t)(nentries > 0 ? nentries : 1),
	    sizeof(bool));
	st->ignored_type = xcalloc((size_t)(nentries > 0 ? nentries : 1),
	    sizeof(char *));
	st->job.ij_arg = rq;
	if (p != NULL) {
		if (strstr(p, "return=minimal") != NULL) {
			st->prefer = PREFER_MINIMAL;
			st->prefer_given = true;
		} else if (strstr(p, "return=OperationOutcome") != NULL) {
			st->prefer = PREFER_OUTCOME;
			st->prefer_given = true;
		} else if (strstr(p, "return=representation") != NULL)
			st->prefer_given = true;
	}
	rq->rq_state = st;
	rq->rq_state_free = state_free;
	return st;
}

static void
job_done(struct ingest_job *j)
{
	http_resume(j->ij_arg);
}

/* Refuse work when the store or the outbox is over its threshold
 * (back-pressure): answers and returns false. */
static bool
admit(struct http_req *rq)
{
	const struct config *c = http_config(rq);

	if (!http_is_ready()) {
		metrics_inc(M_SHED_STOP);
		http_reply_error(rq, DIAG_NOT_READY, NULL, NULL);
		return false;
	}
	if (c->cf_hospital_base_url[0] != '\0' && c->cf_hospital_max_outbox > 0 &&
	    metrics_gauge_get(MG_OUTBOX_DEPTH) >=
	    (double)c->cf_hospital_max_outbox) {
		metrics_inc(M_SHED_OUTBOX);
		http_reply_error(rq, DIAG_THROTTLED, NULL,
		    "the delivery backlog is over hospital.max_outbox; retry "
		    "later");
		return false;
	}
	return true;
}

static bool
submit(struct http_req *rq, struct fhir_state *st,
    void (*resume)(struct http_req *))
{
	int rc;

	st->job.ij_done = job_done;
	/* Suspend before handing over: the writer may finish first. */
	http_defer(rq, resume);
	rc = ingest_submit(&st->job);
	if (rc == 0)
		return true;
	http_resume(rq);
	return false;
}

static json_t *
parse_body(struct http_req *rq, struct diag *d)
{
	return fhir_parse(rq->rq_body.b_data != NULL ? rq->rq_body.b_data : "",
	    rq->rq_body.b_len, (int)http_config(rq)->cf_http_max_depth, d);
}

/* --- rendering ---------------------------------------------------------------- */

static const char *
outcome_text(enum ingest_outcome o)
{
	switch (o) {
	case INGEST_CREATED: return "created";
	case INGEST_UPDATED: return "stored as a new version";
	case INGEST_UNCHANGED: return diag_text(DIAG_UNCHANGED);
	case INGEST_EXISTS: return diag_text(DIAG_EXISTS);
	default: return "";
	}
}

static int
outcome_status(enum ingest_outcome o)
{
	return o == INGEST_CREATED ? 201 : 200;
}

/* The stored JSON of an applied entry. */
static bool
entry_json(const struct ingest_entry *e, enum fhir_rtype type, struct buf *b)
{
	struct store_resinfo ri;

	if (e->ie_outcome == INGEST_EXISTS)
		return store->s_ops->r_read_resource(store, type, e->ie_resid,
		    e->ie_info.ri_version, b, &ri) == STORE_OK;
	fhir_stored_json(type, e->ie_resid, e->ie_info.ri_version,
	    e->ie_info.ri_updated, e->ie_item.fi_body, e->ie_item.fi_bodylen, b);
	return true;
}

static void
resume_single(struct http_req *rq)
{
	struct fhir_state *st = rq->rq_state;
	struct ingest_entry *e = &st->job.ij_entries[0];
	struct buf b, loc;
	char tag[32], date[40];
	int status;

	if (diag_failed(&st->job.ij_diag) && !diag_failed(&e->ie_diag))
		e->ie_diag = st->job.ij_diag;
	if (e->ie_outcome == INGEST_NONE) {
		if (!diag_failed(&e->ie_diag))
			diag_set(&e->ie_diag, st->job.ij_n == 0 ?
			    DIAG_INTERNAL : DIAG_BUSY, NULL, NULL);
		http_reply_diag(rq, &e->ie_diag, e->ie_diag.d_status == 503 ?
		    1 : 0);
		return;
	}
	status = outcome_status(e->ie_outcome);
	buf_init(&loc);
	http_base_url(rq, &loc);
	buf_printf(&loc, "/%s/%s/_history/%ld", fhir_type_name(st->type),
	    e->ie_resid, e->ie_info.ri_version);
	http_add_header(rq, "Location", loc.b_data);
	buf_free(&loc);
	snprintf(tag, sizeof(tag), "W/\"%ld\"", e->ie_info.ri_version);
	http_add_header(rq, "ETag", tag);
	util_format_http_date(e->ie_info.ri_updated, date, sizeof(date));
	http_add_header(rq, "Last-Modified", date);
	buf_init(&b);
	switch (st->prefer) {
	case PREFER_MINIMAL:
		http_reply(rq, status, NULL, "", 0);
		break;
	case PREFER_OUTCOME:
		http_outcome_info(e->ie_outcome == INGEST_EXISTS ? DIAG_EXISTS :
		    e->ie_outcome == INGEST_UNCHANGED ? DIAG_UNCHANGED : DIAG_OK,
		    outcome_text(e->ie_outcome), &b);
		http_reply_fhir(rq, status, b.b_data, b.b_len);
		break;
	default:
		if (entry_json(e, st->type, &b))
			http_reply_fhir(rq, status, b.b_data, b.b_len);
		else
			http_reply(rq, status, NULL, "", 0);
		break;
	}
	buf_free(&b);
}

/* --- single resources ----------------------------------------------------------- */

static void
create_or_update(struct http_req *rq, const char *put_id)
{
	const char *type = rq->rq_params[0], *rt, *bid;
	struct fhir_state *st;
	struct ingest_entry *e;
	const char *ine;
	struct diag d;
	json_t *doc;

	diag_clear(&d);
	if (!admit(rq))
		return;
	if ((doc = parse_body(rq, &d)) == NULL)
		goto reject;
	rt = json_string_value(json_object_get(doc, "resourceType"));
	if (rt == NULL) {
		diag_set(&d, DIAG_NOT_RESOURCE, NULL, NULL);
		goto reject_doc;
	}
	if (strcmp(rt, type) != 0) {
		diag_set(&d, DIAG_WRONG_TYPE, "resourceType",
		    "the body is a %s, the URL names %s",
		    fhir_validate_known_type(rt) ? rt : "different type",
		    type);
		goto reject_doc;
	}
	bid = json_string_value(json_object_get(doc, "id"));
	if (put_id != NULL && bid != NULL && strcmp(bid, put_id) != 0) {
		diag_set(&d, DIAG_ID_MISMATCH, "id",
		    "the body's id must match the id in the URL");
		goto reject_doc;
	}
	if (fhir_validate(doc, type, &d) == -1)
		goto reject_doc;
	st = state_new(rq, 1);
	st->kind = BK_SINGLE;
	st->type = fhir_type_from_name(type);
	st->doc = doc;
	e = &st->job.ij_entries[0];
	if (fhir_extract(doc, put_id, type, ingest_terminology(), NULL,
	    &e->ie_item, &d) == -1) {
		metrics_inc(M_RES_REJECTED);
		http_reply_diag(rq, &d, 0);
		return;
	}
	e->ie_apply = true;
	ine = http_header(rq, "If-None-Exist");
	if (ine != NULL && put_id == NULL)
		e->ie_if_none_exist = xstrdup(ine);
	if (!submit(rq, st, resume_single)) {
		diag_set(&e->ie_diag, DIAG_BUSY, NULL, NULL);
		metrics_inc(M_SHED_BUSY);
	}
	return;
reject_doc:
	json_decref(doc);
reject:
	metrics_inc(M_RES_REJECTED);
	http_reply_diag(rq, &d, 0);
}

void
fhir_route_create(struct http_req *rq)
{
	create_or_update(rq, NULL);
}

void
fhir_route_update(struct http_req *rq)
{
	create_or_update(rq, rq->rq_params[1]);
}

/* --- Bundles ----------------------------------------------------------------------- */

static void
entry_expr(char *out, size_t n, size_t i, const char *tail)
{
	snprintf(out, n, "Bundle.entry[%zu]%s", i, tail);
}

/* bdl-7: fullUrls are unique in a Bundle. */
static bool
fullurls_unique(const json_t *entries, size_t *dup)
{
	const json_t *e;
	const char **urls;
	size_t i, j, n = 0;
	bool ok = true;

	urls = xcalloc(json_array_size(entries) + 1, sizeof(*urls));
	json_array_foreach(entries, i, e) {
		const char *u = json_string_value(json_object_get(e, "fullUrl"));

		if (u == NULL)
			continue;
		for (j = 0; j < n && ok; j++) {
			if (strcmp(urls[j], u) == 0) {
				ok = false;
				*dup = i;
			}
		}
		urls[n++] = u;
	}
	free(urls);
	return ok;
}

/*
 * The Bundle without its entries' resources, for structural validation of
 * the envelope (resources of stored types are validated one by one, the
 * others are not stored and not checked).
 */
static json_t *
envelope(const json_t *bundle)
{
	json_t *copy = json_copy((json_t *)(uintptr_t)bundle);
	json_t *entries = json_object_get(bundle, "entry"), *ne, *e, *ec;
	size_t i;

	if (copy == NULL || !json_is_array(entries))
		return copy;
	ne = json_array();
	json_array_foreach(entries, i, e) {
		if (json_is_object(e)) {
			ec = json_copy(e);
			json_object_del(ec, "resource");
			json_array_append_new(ne, ec);
		} else
			json_array_append(ne, e);
	}
	json_object_set_new(copy, "entry", ne);
	return copy;
}

/*
 * Prepare entry i: request, type, validation, extraction.  A problem is
 * recorded in the entry's diag (batch) -- the caller decides what a
 * transaction does with it.
 */
static void
prepare_entry(struct fhir_state *st, size_t i, const json_t *entry,
    bool needs_request)
{
	struct ingest_entry *e = &st->job.ij_entries[i];
	const json_t *res = json_object_get(entry, "resource");
	const json_t *req = json_object_get(entry, "request");
	const char *rt = json_string_value(json_object_get(res, "resourceType"));
	const char *method = NULL, *url = NULL, *put_id = NULL, *ine = NULL;
	char expr[DIAG_EXPR_MAX], urlid[72];
	enum fhir_rtype type;

	if (needs_request) {
		method = json_string_value(json_object_get(req, "method"));
		url = json_string_value(json_object_get(req, "url"));
		ine = json_string_value(json_object_get(req, "ifNoneExist"));
		if (method == NULL || url == NULL) {
			entry_expr(expr, sizeof(expr), i, ".request");
			diag_set(&e->ie_diag, DIAG_ENTRY_REQUEST, expr,
			    "batch and transaction entries need request.method "
			    "and request.url (bdl-3)");
			return;
		}
		if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
			entry_expr(expr, sizeof(expr), i, ".request.method");
			diag_set(&e->ie_diag, DIAG_ENTRY_METHOD, expr,
			    "calcifyd accepts POST and PUT entries only");
			return;
		}
	}
	if (!json_is_object(res) || rt == NULL) {
		entry_expr(expr, sizeof(expr), i, ".resource");
		diag_set(&e->ie_diag, DIAG_REQUIRED, expr,
		    "the entry has no resource");
		return;
	}
	type = fhir_type_from_name(rt);
	if (type == 0) {
		/* Accepted and ignored (FHIR.md, issue 4): not stored. */
		st->ignored[i] = true;
		st->ignored_type[i] = xstrdup(fhir_validate_known_type(rt) ?
		    rt : "resource");
		metrics_inc(M_RES_IGNORED);
		return;
	}
	if (needs_request) {
		/* url is "Type" for POST, "Type/id" for PUT. */
		const char *slash = strchr(url, '/');
		size_t tl = slash != NULL ? (size_t)(slash - url) : strlen(url);

		if (tl != strlen(rt) || strncmp(url, rt, tl) != 0 ||
		    (strcmp(method, "PUT") == 0) != (slash != NULL)) {
			entry_expr(expr, sizeof(expr), i, ".request.url");
			diag_set(&e->ie_diag, DIAG_ENTRY_REQUEST, expr,
			    "request.url must be '%s' for POST or '%s/{id}' "
			    "for PUT", rt, rt);
			return;
		}
		if (slash != NULL) {
			util_strlcpy(urlid, slash + 1, sizeof(urlid));
			put_id = urlid;
		}
	}
	entry_expr(expr, sizeof(expr), i, ".resource");
	if (fhir_validate(res, expr, &e->ie_diag) == -1)
		return;
	if (put_id != NULL && json_string_value(json_object_get(res, "id")) !=
	    NULL && strcmp(put_id, json_string_value(json_object_get(res,
	    "id"))) != 0) {
		entry_expr(expr, sizeof(expr), i, ".resource.id");
		diag_set(&e->ie_diag, DIAG_ID_MISMATCH, expr, NULL);
		return;
	}
	if (fhir_extract(res, put_id, expr, ingest_terminology(), st->map,
	    &e->ie_item, &e->ie_diag) == -1)
		return;
	e->ie_apply = true;
	if (ine != NULL && put_id == NULL)
		e->ie_if_none_exist = xstrdup(ine);
}

static void
render_bundle(struct http_req *rq, struct fhir_state *st)
{
	struct buf b, res, base;
	struct jsonw w;
	struct diag info;
	char line[128], date[40];
	int i;

	buf_init(&b);
	buf_init(&res);
	buf_init(&base);
	http_base_url(rq, &base);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "resourceType", "Bundle");
	jsonw_kstr(&w, "type", st->kind == BK_TRANSACTION ?
	    "transaction-response" : "batch-response");
	jsonw_key(&w, "entry");
	jsonw_arr_open(&w);
	for (i = 0; i < st->job.ij_n; i++) {
		struct ingest_entry *e = &st->job.ij_entries[i];
		enum fhir_rtype type = e->ie_apply ? e->ie_item.fi_type : 0;

		jsonw_obj_open(&w);
		if (e->ie_outcome != INGEST_NONE && st->prefer_given &&
		    st->prefer == PREFER_REPRESENTATION) {
			buf_reset(&res);
			if (entry_json(e, type, &res)) {
				jsonw_key(&w, "resource");
				jsonw_raw(&w, res.b_data, res.b_len);
			}
		}
		jsonw_key(&w, "response");
		jsonw_obj_open(&w);
		if (st->ignored[i]) {
			jsonw_kstr(&w, "status", "200 OK");
			buf_reset(&res);
			snprintf(line, sizeof(line), "%s is not used by "
			    "calcifyd and was not stored", st->ignored_type[i]);
			diag_clear(&info);
			diag_set(&info, DIAG_IGNORED, NULL, "%s", line);
			http_outcome_json(&info, &res);
			jsonw_key(&w, "outcome");
			jsonw_raw(&w, res.b_data, res.b_len);
		} else if (e->ie_outcome == INGEST_NONE) {
			if (!diag_failed(&e->ie_diag))
				diag_set(&e->ie_diag, DIAG_INTERNAL, NULL, NULL);
			jsonw_kstr(&w, "status",
			    diag_status_line(e->ie_diag.d_status));
			buf_reset(&res);
			http_outcome_json(&e->ie_diag, &res);
			jsonw_key(&w, "outcome");
			jsonw_raw(&w, res.b_data, res.b_len);
		} else {
			jsonw_kstr(&w, "status", diag_status_line(
			    outcome_status(e->ie_outcome)));
			snprintf(line, sizeof(line), "%s/%s/_history/%ld",
			    fhir_type_name(type), e->ie_resid,
			    e->ie_info.ri_version);
			jsonw_kstr(&w, "location", line);
			snprintf(line, sizeof(line), "W/\"%ld\"",
			    e->ie_info.ri_version);
			jsonw_kstr(&w, "etag", line);
			util_format_instant(e->ie_info.ri_updated, date,
			    sizeof(date));
			jsonw_kstr(&w, "lastModified", date);
			if (e->ie_outcome != INGEST_CREATED) {
				buf_reset(&res);
				http_outcome_info(e->ie_outcome == INGEST_EXISTS ?
				    DIAG_EXISTS : e->ie_outcome ==
				    INGEST_UNCHANGED ? DIAG_UNCHANGED : DIAG_OK,
				    outcome_text(e->ie_outcome), &res);
				jsonw_key(&w, "outcome");
				jsonw_raw(&w, res.b_data, res.b_len);
			}
		}
		jsonw_obj_close(&w);
		jsonw_obj_close(&w);
	}
	jsonw_arr_close(&w);
	jsonw_obj_close(&w);
	http_reply_fhir(rq, 200, b.b_data, b.b_len);
	buf_free(&b);
	buf_free(&res);
	buf_free(&base);
}

static void
resume_bundle(struct http_req *rq)
{
	struct fhir_state *st = rq->rq_state;

	/* A transaction either stored everything or nothing. */
	if (st->kind == BK_TRANSACTION && diag_failed(&st->job.ij_diag)) {
		http_reply_diag(rq, &st->job.ij_diag, 0);
		return;
	}
	render_bundle(rq, st);
}

void
fhir_route_bundle(struct http_req *rq)
{
	const struct config *c = http_config(rq);
	const json_t *entries, *e;
	const char *rt, *bt;
	enum bundle_kind kind;
	struct fhir_state *st;
	struct diag d;
	json_t *doc, *env;
	size_t i, n, dup;
	int napply = 0;
	char expr[DIAG_EXPR_MAX];

	diag_clear(&d);
	if (!admit(rq))
		return;
	if ((doc = parse_body(rq, &d)) == NULL)
		goto reject;
	rt = json_string_value(json_object_get(doc, "resourceType"));
	if (rt == NULL || strcmp(rt, "Bundle") != 0) {
		diag_set(&d, rt == NULL ? DIAG_NOT_RESOURCE : DIAG_WRONG_TYPE,
		    rt == NULL ? NULL : "resourceType",
		    "POST to the base expects a Bundle; send single resources "
		    "to their type's endpoint");
		goto reject_doc;
	}
	bt = json_string_value(json_object_get(doc, "type"));
	if (bt != NULL && strcmp(bt, "transaction") == 0)
		kind = BK_TRANSACTION;
	else if (bt != NULL && strcmp(bt, "batch") == 0)
		kind = BK_BATCH;
	else if (bt != NULL && (strcmp(bt, "collection") == 0 ||
	    strcmp(bt, "searchset") == 0))
		kind = BK_COLLECTION;
	else {
		diag_set(&d, DIAG_BUNDLE_TYPE, "Bundle.type",
		    "accepted Bundle types: batch, transaction, collection, "
		    "searchset");
		goto reject_doc;
	}
	entries = json_object_get(doc, "entry");
	n = json_array_size(entries);
	if (n > (size_t)c->cf_http_max_entries) {
		diag_set(&d, DIAG_TOO_MANY_ENTRIES, "Bundle.entry",
		    "the Bundle has more than %ld entries (http.max_entries)",
		    c->cf_http_max_entries);
		goto reject_doc;
	}
	env = envelope(doc);
	if (env == NULL || fhir_validate(env, "Bundle", &d) == -1) {
		if (env == NULL)
			diag_set(&d, DIAG_NO_MEMORY, NULL, NULL);
		json_decref(env);
		goto reject_doc;
	}
	json_decref(env);
	if (!fullurls_unique(entries, &dup)) {
		entry_expr(expr, sizeof(expr), dup, ".fullUrl");
		diag_set(&d, DIAG_DUP_FULLURL, expr, NULL);
		goto reject_doc;
	}
	st = state_new(rq, (int)n);
	st->doc = doc;
	st->kind = kind;
	st->job.ij_atomic = st->kind == BK_TRANSACTION;
	st->map = fhir_refmap_new(doc);
	json_array_foreach(entries, i, e) {
		struct ingest_entry *ie = &st->job.ij_entries[i];

		prepare_entry(st, i, e, st->kind != BK_COLLECTION);
		if (ie->ie_apply)
			napply++;
		else if (diag_failed(&ie->ie_diag)) {
			metrics_inc(M_RES_REJECTED);
			/* Transaction: nothing is stored when one fails. */
			if (st->job.ij_atomic) {
				http_reply_diag(rq, &ie->ie_diag, 0);
				return;
			}
		}
	}
	if (napply == 0) {
		render_bundle(rq, st);
		return;
	}
	if (!submit(rq, st, resume_bundle)) {
		metrics_inc(M_SHED_BUSY);
		diag_set(&st->job.ij_diag, DIAG_BUSY, NULL, NULL);
		for (i = 0; i < n; i++)
			if (st->job.ij_entries[i].ie_apply)
				diag_set(&st->job.ij_entries[i].ie_diag,
				    DIAG_BUSY, NULL, NULL);
	}
	return;
reject_doc:
	json_decref(doc);
reject:
	metrics_inc(M_RES_REJECTED);
	http_reply_diag(rq, &d, 0);
}

/* --- reads ------------------------------------------------------------------------------ */

static void
read_version(struct http_req *rq, long version)
{
	enum fhir_rtype type = fhir_type_from_name(rq->rq_params[0]);
	struct store_resinfo ri;
	struct buf b;
	char tag[32], date[40];
	int rc;

	buf_init(&b);
	rc = store->s_ops->r_read_resource(store, type, rq->rq_params[1],
	    version, &b, &ri);
	if (rc == STORE_NONE) {
		http_reply_error(rq, DIAG_NOT_FOUND, NULL, NULL);
	} else if (rc != STORE_OK) {
		metrics_inc(M_STORE_ERRORS);
		http_reply_error(rq, DIAG_STORE, NULL,
		    "the store could not be read");
	} else {
		snprintf(tag, sizeof(tag), "W/\"%ld\"", ri.ri_version);
		http_add_header(rq, "ETag", tag);
		util_format_http_date(ri.ri_updated, date, sizeof(date));
		http_add_header(rq, "Last-Modified", date);
		http_reply_fhir(rq, 200, b.b_data, b.b_len);
	}
	buf_free(&b);
}

void
fhir_route_read(struct http_req *rq)
{
	read_version(rq, 0);
}

void
fhir_route_vread(struct http_req *rq)
{
	long long v;

	if (util_parse_ll(rq->rq_params[2], 1, 1LL << 40, &v) == -1) {
		http_reply_error(rq, DIAG_NOT_FOUND, NULL,
		    "version ids are positive integers");
		return;
	}
	read_version(rq, (long)v);
}

/* --- RiskAssessment ------------------------------------------------------------------- */

/* Append one stored assessment as a RiskAssessment; false on failure. */
static bool
build_ra(struct http_req *rq, const struct store_assessment *a, struct buf *b)
{
	struct model *m = models_get(store, a->sa_model_digest);
	struct assessment_ctx ctx;
	struct facts *f;
	bool ok = false;

	if (m == NULL)
		return false;
	f = xmalloc(sizeof(*f));
	if (facts_parse_snapshot(a->sa_snapshot, f) == 0) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.ac_id = a->sa_identifier;
		ctx.ac_identifier_system =
		    http_config(rq)->cf_hospital_identifier_system;
		ctx.ac_identifier_value = a->sa_identifier;
		ctx.ac_subject_json = a->sa_subject;
		ctx.ac_recorded_ms = a->sa_created;
		ctx.ac_version = PACKAGE_VERSION;
		ok = assessment_build(m, f, NULL, &ctx, b) == 0;
	}
	if (!ok)
		log_warnx("cannot rebuild assessment aid=%lld",
		    (long long)a->sa_aid);
	free(f);
	model_unref(m);
	return ok;
}

void
fhir_route_ra_read(struct http_req *rq)
{
	struct store_assessment a;
	struct buf b;
	char date[40];
	int rc;

	rc = store->s_ops->r_assessment(store, rq->rq_params[0], &a);
	if (rc == STORE_NONE) {
		http_reply_error(rq, DIAG_NOT_FOUND, NULL, NULL);
		return;
	}
	if (rc != STORE_OK) {
		http_reply_error(rq, DIAG_STORE, NULL,
		    "the store could not be read");
		return;
	}
	buf_init(&b);
	if (build_ra(rq, &a, &b)) {
		http_add_header(rq, "ETag", "W/\"1\"");
		util_format_http_date(a.sa_created, date, sizeof(date));
		http_add_header(rq, "Last-Modified", date);
		http_reply_fhir(rq, 200, b.b_data, b.b_len);
	} else
		http_reply_error(rq, DIAG_INTERNAL, NULL,
		    "the assessment could not be rebuilt");
	buf_free(&b);
	store_assessment_clear(&a);
}

struct search_args {
	const char	*subject;
	const char	*count;
	const char	*offset;
	const char	*bad;
};

static void
search_arg(const char *k, const char *v, void *arg)
{
	struct search_args *sa = arg;

	if (strcmp(k, "subject") == 0 || strcmp(k, "patient") == 0)
		sa->subject = v;
	else if (strcmp(k, "_count") == 0)
		sa->count = v;
	else if (strcmp(k, "_offset") == 0)
		sa->offset = v;
	else if (strcmp(k, "_format") != 0 && strcmp(k, "_sort") != 0 &&
	    sa->bad == NULL)
		sa->bad = k;
}

void
fhir_route_ra_search(struct http_req *rq)
{
	struct search_args sa;
	struct store_assessment rows[SEARCH_MAX_COUNT];
	struct buf b, base, ra, key;
	struct jsonw w;
	long long count = SEARCH_DEFAULT_COUNT, offset = 0;
	int64_t pid, total = 0;
	int n = 0, i, rc;
	char kbuf[200];

	memset(&sa, 0, sizeof(sa));
	http_query_each(rq, search_arg, &sa);
	if (sa.bad != NULL) {
		http_reply_error(rq, DIAG_BAD_PARAM, NULL,
		    "supported search parameters: subject (or patient), "
		    "_count, _offset");
		return;
	}
	if (sa.subject == NULL) {
		http_reply_error(rq, DIAG_BAD_PARAM, NULL,
		    "subject=Patient/{id} is required");
		return;
	}
	if ((sa.count != NULL && util_parse_ll(sa.count, 0, SEARCH_MAX_COUNT,
	    &count) == -1) || (sa.offset != NULL && util_parse_ll(sa.offset, 0,
	    1LL << 30, &offset) == -1)) {
		http_reply_error(rq, DIAG_BAD_PARAM, NULL,
		    "_count must be 0-100 and _offset a non-negative integer");
		return;
	}
	buf_init(&key);
	if (strchr(sa.subject, '/') == NULL)
		buf_printf(&key, "Patient/%s", sa.subject);
	else
		buf_puts(&key, sa.subject);
	if (fhir_patient_key(key.b_data, kbuf, sizeof(kbuf)) == -1) {
		buf_free(&key);
		http_reply_error(rq, DIAG_BAD_PARAM, NULL,
		    "subject must name a Patient (Patient/{id})");
		return;
	}
	buf_free(&key);
	rc = store->s_ops->r_patient_by_key(store, kbuf, &pid);
	if (rc == STORE_OK && count > 0)
		rc = store->s_ops->r_assessments(store, pid, (int)offset,
		    (int)count, rows, &n, &total);
	else if (rc == STORE_OK)
		rc = store->s_ops->r_assessments(store, pid, 0, 0, rows, &n,
		    &total);
	if (rc < 0) {
		http_reply_error(rq, DIAG_STORE, NULL,
		    "the store could not be read");
		return;
	}
	buf_init(&b);
	buf_init(&base);
	buf_init(&ra);
	http_base_url(rq, &base);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "resourceType", "Bundle");
	jsonw_kstr(&w, "type", "searchset");
	jsonw_kint(&w, "total", total);
	jsonw_key(&w, "link");
	jsonw_arr_open(&w);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "relation", "self");
	buf_reset(&ra);
	buf_printf(&ra, "%s/RiskAssessment?subject=%s&_count=%lld&_offset=%lld",
	    base.b_data, kbuf + 4, count, offset);
	jsonw_kstr(&w, "url", ra.b_data);
	jsonw_obj_close(&w);
	if (offset + count < total) {
		jsonw_obj_open(&w);
		jsonw_kstr(&w, "relation", "next");
		buf_reset(&ra);
		buf_printf(&ra, "%s/RiskAssessment?subject=%s&_count=%lld&"
		    "_offset=%lld", base.b_data, kbuf + 4, count,
		    offset + count);
		jsonw_kstr(&w, "url", ra.b_data);
		jsonw_obj_close(&w);
	}
	jsonw_arr_close(&w);
	if (n > 0) {
		jsonw_key(&w, "entry");
		jsonw_arr_open(&w);
		for (i = 0; i < n; i++) {
			buf_reset(&ra);
			if (!build_ra(rq, &rows[i], &ra))
				continue;
			jsonw_obj_open(&w);
			buf_reset(&key);
			buf_printf(&key, "%s/RiskAssessment/%s", base.b_data,
			    rows[i].sa_identifier);
			jsonw_kstr(&w, "fullUrl", key.b_data);
			buf_free(&key);
			jsonw_key(&w, "resource");
			jsonw_raw(&w, ra.b_data, ra.b_len);
			jsonw_key(&w, "search");
			jsonw_obj_open(&w);
			jsonw_kstr(&w, "mode", "match");
			jsonw_obj_close(&w);
			jsonw_obj_close(&w);
		}
		jsonw_arr_close(&w);
	}
	jsonw_obj_close(&w);
	http_reply_fhir(rq, 200, b.b_data, b.b_len);
	for (i = 0; i < n; i++)
		store_assessment_clear(&rows[i]);
	buf_free(&b);
	buf_free(&base);
	buf_free(&ra);
}
