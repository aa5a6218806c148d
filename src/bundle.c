/*
 * bundle.c - Bundle semantics before anything is stored: type, envelope,
 * bdl-7, entry requests, per-entry validation and extraction.  Owns the
 * prepared entries until bundle_free(); must not touch HTTP or the store.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "fhir_validate.h"
#include "metrics.h"
#include "util.h"

bool
bundle_valid_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return n >= 1 && n <= 64;
}

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
		if (!ok)
			break;
		urls[n++] = u;
	}
	free(urls);
	return ok;
}

/*
 * Prepare entry i: request, type, validation, extraction.  A problem is
 * recorded in the entry's diag.
 */
static void
prepare_entry(struct bundle *b, size_t i, const json_t *entry,
    const struct terminology *t)
{
	struct ingest_entry *e = &b->bu_entries[i];
	const json_t *res = json_object_get(entry, "resource");
	const json_t *req = json_object_get(entry, "request");
	const char *rt = json_string_value(json_object_get(res, "resourceType"));
	const char *method = NULL, *url = NULL, *put_id = NULL, *ine = NULL;
	const char *bid;
	char expr[DIAG_EXPR_MAX], urlid[72];
	bool needs_request = b->bu_kind != BUNDLE_COLLECTION;
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
	if (type == 0 && !fhir_validate_known_type(rt)) {
		/* Not a resource R4 defines: invalid FHIR, not "another
		 * type" (the type itself is not echoed: it may be anything). */
		entry_expr(expr, sizeof(expr), i, ".resource.resourceType");
		diag_set(&e->ie_diag, DIAG_WRONG_TYPE, expr,
		    "resourceType is not a resource defined in FHIR R4");
		return;
	}
	if (type == 0) {
		/* An R4 type calcifyd does not use: accepted and ignored
		 * (FHIR.md, issue 4), not stored. */
		b->bu_ignored[i] = true;
		b->bu_ignored_type[i] = xstrdup(rt);
		metrics_inc(M_RES_IGNORED);
		return;
	}
	if (needs_request) {
		/* url is "Type" for POST, "Type/id" for PUT. */
		const char *slash = strchr(url, '/');
		size_t tl = slash != NULL ? (size_t)(slash - url) : strlen(url);

		if (tl != strlen(rt) || strncmp(url, rt, tl) != 0 ||
		    (strcmp(method, "PUT") == 0) != (slash != NULL) ||
		    (slash != NULL && !bundle_valid_id(slash + 1))) {
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
	bid = json_string_value(json_object_get(res, "id"));
	if (put_id != NULL && bid != NULL && strcmp(put_id, bid) != 0) {
		entry_expr(expr, sizeof(expr), i, ".resource.id");
		diag_set(&e->ie_diag, DIAG_ID_MISMATCH, expr, NULL);
		return;
	}
	if (fhir_extract(res, put_id, expr, t, b->bu_map, &e->ie_item,
	    &e->ie_diag) == -1)
		return;
	e->ie_apply = true;
	if (ine != NULL && put_id == NULL)
		e->ie_if_none_exist = xstrdup(ine);
}

int
bundle_prepare(const json_t *doc, long max_entries,
    const struct terminology *t, struct bundle *b, struct diag *d)
{
	const json_t *entries, *e;
	const char *rt, *bt;
	char expr[DIAG_EXPR_MAX];
	size_t i, n, dup;

	memset(b, 0, sizeof(*b));
	rt = json_string_value(json_object_get(doc, "resourceType"));
	if (rt == NULL || strcmp(rt, "Bundle") != 0) {
		diag_set(d, rt == NULL ? DIAG_NOT_RESOURCE : DIAG_WRONG_TYPE,
		    rt == NULL ? NULL : "resourceType",
		    "POST to the base expects a Bundle; send single resources "
		    "to their type's endpoint");
		return -1;
	}
	bt = json_string_value(json_object_get(doc, "type"));
	if (bt != NULL && strcmp(bt, "transaction") == 0)
		b->bu_kind = BUNDLE_TRANSACTION;
	else if (bt != NULL && strcmp(bt, "batch") == 0)
		b->bu_kind = BUNDLE_BATCH;
	else if (bt != NULL && (strcmp(bt, "collection") == 0 ||
	    strcmp(bt, "searchset") == 0))
		b->bu_kind = BUNDLE_COLLECTION;
	else {
		diag_set(d, DIAG_BUNDLE_TYPE, "Bundle.type",
		    "accepted Bundle types: batch, transaction, collection, "
		    "searchset");
		return -1;
	}
	entries = json_object_get(doc, "entry");
	n = json_array_size(entries);
	if (n > (size_t)max_entries) {
		diag_set(d, DIAG_TOO_MANY_ENTRIES, "Bundle.entry",
		    "the Bundle has more than %ld entries (http.max_entries)",
		    max_entries);
		return -1;
	}
	/* The envelope only: entries' resources are validated one by one
	 * below, and only those of the types calcifyd stores. */
	if (fhir_validate_envelope(doc, "Bundle", d) == -1)
		return -1;
	if (!fullurls_unique(entries, &dup)) {
		entry_expr(expr, sizeof(expr), dup, ".fullUrl");
		diag_set(d, DIAG_DUP_FULLURL, expr, NULL);
		return -1;
	}
	b->bu_n = (int)n;
	b->bu_entries = xcalloc(n > 0 ? n : 1, sizeof(*b->bu_entries));
	b->bu_ignored = xcalloc(n > 0 ? n : 1, sizeof(bool));
	b->bu_ignored_type = xcalloc(n > 0 ? n : 1, sizeof(char *));
	b->bu_map = fhir_refmap_new(doc);
	json_array_foreach(entries, i, e) {
		struct ingest_entry *ie = &b->bu_entries[i];

		diag_clear(&ie->ie_diag);
		prepare_entry(b, i, e, t);
		if (ie->ie_apply) {
			b->bu_napply++;
			continue;
		}
		if (!diag_failed(&ie->ie_diag))
			continue;
		metrics_inc(M_RES_REJECTED);
		/* A transaction stores nothing when one entry fails. */
		if (b->bu_kind == BUNDLE_TRANSACTION) {
			*d = ie->ie_diag;
			return -1;
		}
	}
	return 0;
}

void
bundle_free(struct bundle *b)
{
	int i;

	if (b == NULL)
		return;
	for (i = 0; i < b->bu_n; i++) {
		struct ingest_entry *e = &b->bu_entries[i];

		if (e->ie_apply)
			fhir_item_free(&e->ie_item);
		free(e->ie_if_none_exist);
		free(e->ie_resid);
		free(b->bu_ignored_type[i]);
	}
	free(b->bu_entries);
	free(b->bu_ignored);
	free(b->bu_ignored_type);
	fhir_refmap_free(b->bu_map);
	memset(b, 0, sizeof(*b));
}
