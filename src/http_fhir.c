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
#include "bundle.h"
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

/* Per-request state, released with the request. */
struct fhir_state {
	struct ingest_job	 job;
	bool			 is_bundle;
	struct bundle		 bu;		/* when is_bundle */
	enum prefer		 prefer;
	bool			 prefer_given;
	enum fhir_rtype		 type;		/* single */
	json_t			*doc;
	struct http_req		*rq;
};

static void
state_free(void *p)
{
	struct fhir_state *st = p;
	struct ingest_entry *e;

	if (st == NULL)
		return;
	if (st->is_bundle)
		bundle_free(&st->bu);
	else {
		e = &st->job.ij_entries[0];
		if (e->ie_apply)
			fhir_item_free(&e->ie_item);
		free(e->ie_if_none_exist);
		free(e->ie_resid);
		free(st->job.ij_entries);
	}
	json_decref(st->doc);
	free(st);
}

/* Request state; a single resource gets its one entry here, a Bundle's
 * entries come from bundle_prepare(). */
static struct fhir_state *
state_new(struct http_req *rq, bool is_bundle)
{
	struct fhir_state *st = xcalloc(1, sizeof(*st));
	const char *p = http_header(rq, "Prefer");

	st->rq = rq;
	st->is_bundle = is_bundle;
	if (!is_bundle) {
		st->job.ij_n = 1;
		st->job.ij_entries = xcalloc(1, sizeof(*st->job.ij_entries));
		diag_clear(&st->job.ij_entries[0].ie_diag);
	}
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

	if (!http_req_admissible(rq)) {
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
	st = state_new(rq, false);
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
	jsonw_kstr(&w, "type", st->bu.bu_kind == BUNDLE_TRANSACTION ?
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
		if (st->bu.bu_ignored[i]) {
			jsonw_kstr(&w, "status", "200 OK");
			buf_reset(&res);
			snprintf(line, sizeof(line), "%s is not used by "
			    "calcifyd and was not stored",
			    st->bu.bu_ignored_type[i]);
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
	if (st->bu.bu_kind == BUNDLE_TRANSACTION &&
	    diag_failed(&st->job.ij_diag)) {
		http_reply_diag(rq, &st->job.ij_diag, 0);
		return;
	}
	render_bundle(rq, st);
}

void
fhir_route_bundle(struct http_req *rq)
{
	struct fhir_state *st;
	struct diag d;
	json_t *doc;
	int i;

	diag_clear(&d);
	if (!admit(rq))
		return;
	if ((doc = parse_body(rq, &d)) == NULL) {
		metrics_inc(M_RES_REJECTED);
		http_reply_diag(rq, &d, 0);
		return;
	}
	st = state_new(rq, true);
	st->doc = doc;
	if (bundle_prepare(doc, http_config(rq)->cf_http_max_entries,
	    ingest_terminology(), &st->bu, &d) == -1) {
		if (st->bu.bu_n == 0)
			metrics_inc(M_RES_REJECTED);
		http_reply_diag(rq, &d, 0);
		return;
	}
	st->job.ij_entries = st->bu.bu_entries;
	st->job.ij_n = st->bu.bu_n;
	st->job.ij_atomic = st->bu.bu_kind == BUNDLE_TRANSACTION;
	if (st->bu.bu_napply == 0) {
		render_bundle(rq, st);
		return;
	}
	if (!submit(rq, st, resume_bundle)) {
		metrics_inc(M_SHED_BUSY);
		diag_set(&st->job.ij_diag, DIAG_BUSY, NULL, NULL);
		for (i = 0; i < st->bu.bu_n; i++)
			if (st->bu.bu_entries[i].ie_apply)
				diag_set(&st->bu.bu_entries[i].ie_diag,
				    DIAG_BUSY, NULL, NULL);
	}
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
		ctx.ac_withdrawn = a->sa_withdrawn;
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
