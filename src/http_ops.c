/*
 * http_ops.c - operational endpoints (/healthz, /readyz, /metrics) and the
 * CapabilityStatement at /fhir/metadata.  The CapabilityStatement is built
 * from the capability table below, which must list only what http_fhir.c
 * really serves (tests/integration/012-capability-served.sh compares the
 * two: every advertised interaction is exercised, and one it has no check
 * for fails it).
 */
#include "autoconfig.h"

#include <string.h>

#include "http.h"
#include "http_routes.h"
#include "jsonw.h"
#include "metrics.h"
#include "util.h"

/* What /fhir/metadata advertises, resource by resource. */
struct capability {
	const char	*type;
	const char	*interactions[6];
	const char	*search[4];	/* "name:type" */
	bool		 cond_create;
	const char	*doc;
};

static const struct capability caps[] = {
	{ "Observation", { "create", "read", "vread", "update", NULL },
	  { NULL }, true,
	  "Labs and vitals; conditional create on identifier; re-sent "
	  "content is stored once; amended/corrected make a new version; "
	  "entered-in-error withdraws the value" },
	{ "Patient", { "create", "read", "vread", "update", NULL }, { NULL },
	  true, "gender and birthDate feed the model; identifiers link "
	  "references" },
	{ "Condition", { "create", "read", "vread", "update", NULL }, { NULL },
	  true, "diagnoses that are model inputs (ESRD, diabetes, ...)" },
	{ "Procedure", { "create", "read", "vread", "update", NULL }, { NULL },
	  true, "dialysis procedures (time on dialysis)" },
	{ "MedicationStatement", { "create", "read", "vread", "update", NULL },
	  { NULL }, true, "calcium-based binders, active vitamin D, warfarin" },
	{ "MedicationRequest", { "create", "read", "vread", "update", NULL },
	  { NULL }, true, "calcium-based binders, active vitamin D, warfarin" },
	{ "RiskAssessment", { "read", "search-type", NULL },
	  { "subject:reference", "patient:reference", "_count:number",
	    "_offset:number" }, false,
	  "calcification risk, two predictions (cutaneous, vascular); "
	  "newest first" },
};

static int64_t started_ms;

void
ops_healthz(struct http_req *rq)
{
	static const char body[] = "{\"status\":\"alive\"}";

	http_reply(rq, 200, "application/json", body, sizeof(body) - 1);
}

void
ops_readyz(struct http_req *rq)
{
	static const char body[] = "{\"status\":\"ready\"}";

	if (!http_is_ready()) {
		http_reply_error(rq, DIAG_NOT_READY, NULL,
		    "the store or the model is not ready yet (or calcifyd is "
		    "stopping)");
		return;
	}
	http_reply(rq, 200, "application/json", body, sizeof(body) - 1);
}

void
ops_metrics(struct http_req *rq)
{
	struct buf b;

	/* Read at scrape time: what a drain still waits for. */
	metrics_gauge_set(MG_HTTP_INFLIGHT, (double)http_inflight());
	buf_init(&b);
	metrics_render(&b);
	http_reply(rq, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.b_data, b.b_len);
	buf_free(&b);
}

static void
capability_resource(struct jsonw *w, const struct capability *c)
{
	bool update = false;
	int i;

	for (i = 0; i < 6 && c->interactions[i] != NULL; i++)
		if (strcmp(c->interactions[i], "update") == 0)
			update = true;
	jsonw_obj_open(w);
	jsonw_kstr(w, "type", c->type);
	if (c->doc != NULL)
		jsonw_kstr(w, "documentation", c->doc);
	jsonw_key(w, "interaction");
	jsonw_arr_open(w);
	for (i = 0; i < 6 && c->interactions[i] != NULL; i++) {
		jsonw_obj_open(w);
		jsonw_kstr(w, "code", c->interactions[i]);
		jsonw_obj_close(w);
	}
	jsonw_arr_close(w);
	jsonw_kstr(w, "versioning", "versioned");
	jsonw_kbool(w, "readHistory", false);
	jsonw_kbool(w, "updateCreate", update);
	jsonw_kbool(w, "conditionalCreate", c->cond_create);
	if (c->search[0] != NULL) {
		jsonw_key(w, "searchParam");
		jsonw_arr_open(w);
		for (i = 0; i < 4 && c->search[i] != NULL; i++) {
			const char *colon = strchr(c->search[i], ':');

			jsonw_obj_open(w);
			jsonw_key(w, "name");
			jsonw_strn(w, c->search[i],
			    (size_t)(colon - c->search[i]));
			jsonw_kstr(w, "type", colon + 1);
			jsonw_obj_close(w);
		}
		jsonw_arr_close(w);
	}
	jsonw_obj_close(w);
}

void
ops_metadata(struct http_req *rq)
{
	struct jsonw w;
	struct buf b, base;
	char date[32];
	size_t i;
	bool any_interaction = false;

	if (started_ms == 0)
		started_ms = util_now_ms();
	util_format_instant(started_ms, date, sizeof(date));
	buf_init(&b);
	buf_init(&base);
	http_base_url(rq, &base);
	jsonw_init(&w, &b);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "resourceType", "CapabilityStatement");
	jsonw_kstr(&w, "status", "active");
	jsonw_kstr(&w, "date", date);
	jsonw_kstr(&w, "publisher", "calcifyd");
	jsonw_kstr(&w, "kind", "instance");
	jsonw_key(&w, "software");
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "name", "calcifyd");
	jsonw_kstr(&w, "version", PACKAGE_VERSION);
	jsonw_obj_close(&w);
	jsonw_key(&w, "implementation");
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "description", "calcifyd calcification risk service");
	jsonw_kstr(&w, "url", base.b_data);
	jsonw_obj_close(&w);
	jsonw_kstr(&w, "fhirVersion", "4.0.1");
	jsonw_key(&w, "format");
	jsonw_arr_open(&w);
	jsonw_str(&w, "json");
	jsonw_str(&w, "application/fhir+json");
	jsonw_arr_close(&w);
	jsonw_key(&w, "rest");
	jsonw_arr_open(&w);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "mode", "server");
	jsonw_key(&w, "resource");
	jsonw_arr_open(&w);
	for (i = 0; i < UTIL_ARRAY_LEN(caps); i++) {
		if (caps[i].type == NULL)
			continue;
		capability_resource(&w, &caps[i]);
		any_interaction = true;
	}
	jsonw_arr_close(&w);
	if (any_interaction) {
		jsonw_key(&w, "interaction");
		jsonw_arr_open(&w);
		jsonw_obj_open(&w);
		jsonw_kstr(&w, "code", "batch");
		jsonw_obj_close(&w);
		jsonw_obj_open(&w);
		jsonw_kstr(&w, "code", "transaction");
		jsonw_obj_close(&w);
		jsonw_arr_close(&w);
	}
	jsonw_obj_close(&w);
	jsonw_arr_close(&w);
	jsonw_obj_close(&w);
	http_reply_fhir(rq, 200, b.b_data, b.b_len);
	buf_free(&b);
	buf_free(&base);
}
