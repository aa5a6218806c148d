/*
 * metrics.h - counters, gauges and histograms, rendered as Prometheus text
 * exposition format 0.0.4.  Every retry, drop, dead letter and rejected
 * request increments a counter here: a log line is never the only evidence
 * of a problem.  Updates are lock-free atomics and safe from any thread.
 */
#ifndef CALCIFY_METRICS_H
#define CALCIFY_METRICS_H

#include <stdint.h>

#include "util.h"

/* X(enum, family, label key, label value, help) -- rows of one family are
 * adjacent and share the help text of the first. */
#define METRICS_COUNTERS(X)						\
X(RES_CREATED,	"calcifyd_ingest_resources_total", "result", "created",	\
  "Resources received, by outcome")					\
X(RES_UPDATED,	"calcifyd_ingest_resources_total", "result", "new_version", "") \
X(RES_UNCHANGED, "calcifyd_ingest_resources_total", "result", "unchanged", "") \
X(RES_EXISTS,	"calcifyd_ingest_resources_total", "result", "if_none_exist_match", "") \
X(RES_IGNORED,	"calcifyd_ingest_resources_total", "result", "ignored_type", "") \
X(RES_REJECTED,	"calcifyd_ingest_resources_total", "result", "rejected", "") \
X(UNUSED_CODE,	"calcifyd_observations_unused_total", "reason", "unknown_code", \
  "Stored observations not used by the model, by reason")		\
X(UNUSED_UNIT,	"calcifyd_observations_unused_total", "reason", "unknown_unit", "") \
X(UNUSED_STATUS, "calcifyd_observations_unused_total", "reason", "status", "") \
X(UNUSED_ABSENT, "calcifyd_observations_unused_total", "reason", "data_absent", "") \
X(UNUSED_NOTIME, "calcifyd_observations_unused_total", "reason", "no_effective_time", "") \
X(UNUSED_NOVALUE, "calcifyd_observations_unused_total", "reason", "no_value", "") \
X(UNUSED_NOPATIENT, "calcifyd_observations_unused_total", "reason", "no_patient", "") \
X(RETRACTED,	"calcifyd_observations_retracted_total", "", "",	\
  "Observations withdrawn by entered-in-error")			\
X(WITHDRAWN,	"calcifyd_assessments_withdrawn_total", "", "",		\
  "Assessments made entered-in-error because a result they rest on was " \
  "entered in error")							\
X(ASSESS_NEW,	"calcifyd_assessments_total", "result", "new",		\
  "Engine runs after an input change, by outcome")			\
X(ASSESS_SAME,	"calcifyd_assessments_total", "result", "output_unchanged", "") \
X(ASSESS_SCOPE,	"calcifyd_assessments_total", "result", "out_of_scope", "") \
X(ASSESS_NOFACTS, "calcifyd_assessments_total", "result", "no_inputs", "") \
X(COMMITS,	"calcifyd_store_commits_total", "", "",			\
  "Store transactions committed (each may hold many requests)")	\
X(ROLLBACKS,	"calcifyd_store_rollbacks_total", "", "",		\
  "Request savepoints rolled back")					\
X(STORE_BUSY,	"calcifyd_store_busy_retries_total", "", "",		\
  "Retries after SQLITE_BUSY")						\
X(STORE_ERRORS,	"calcifyd_store_errors_total", "", "",			\
  "Store failures answered with 500")					\
X(DELIV_OK,	"calcifyd_deliveries_total", "result", "delivered",	\
  "Delivery attempts to the hospital, by result")			\
X(DELIV_EXISTS,	"calcifyd_deliveries_total", "result", "already_present", "") \
X(DELIV_RETRY,	"calcifyd_deliveries_total", "result", "retry", "")	\
X(DELIV_DEAD,	"calcifyd_deliveries_total", "result", "dead_letter", "") \
X(DELIV_DUPS,	"calcifyd_deliveries_total", "result", "duplicates_at_server", "") \
X(DELIV_GAVE_UP, "calcifyd_deliveries_total", "result", "gave_up", "") \
X(DELIV_UPDATED, "calcifyd_deliveries_total", "result", "updated", "") \
X(SUPERSEDED,	"calcifyd_outbox_superseded_total", "", "",		\
  "Undelivered assessments replaced by a newer one for the same patient") \
X(REQUEUED,	"calcifyd_dead_letters_requeued_total", "", "",		\
  "Dead letters put back in the outbox by an admin (calcifyctl requeue), " \
  "over the life of the store")						\
X(REQUEUE_SUPERSEDED, "calcifyd_dead_letters_superseded_total", "", "",	\
  "Dead letters an admin requeue left unsent because their patient has " \
  "a newer assessment, over the life of the store")			\
X(OAUTH_FETCH,	"calcifyd_oauth2_token_fetches_total", "result", "ok",	\
  "OAuth2 token requests, by result")					\
X(OAUTH_FAIL,	"calcifyd_oauth2_token_fetches_total", "result", "failed", "") \
X(TOKEN_REREAD_NEW, "calcifyd_bearer_token_rereads_total", "result", "new_token", \
  "Static bearer token file re-read after a 401, by result")		\
X(TOKEN_REREAD_SAME, "calcifyd_bearer_token_rereads_total", "result", "unchanged", "") \
X(TOKEN_REREAD_FAIL, "calcifyd_bearer_token_rereads_total", "result", "failed", "") \
X(AUTH_MISSING,	"calcifyd_http_auth_failures_total", "reason", "missing", \
  "Inbound requests refused by authentication")			\
X(AUTH_BAD,	"calcifyd_http_auth_failures_total", "reason", "invalid", "") \
X(AUTH_CERT,	"calcifyd_http_auth_failures_total", "reason", "client_certificate", "") \
X(SHED_BUSY,	"calcifyd_http_shed_total", "reason", "queue_full",	\
  "Requests refused with 429/503 to protect the store")		\
X(SHED_OUTBOX,	"calcifyd_http_shed_total", "reason", "outbox_full", "") \
X(SHED_STOP,	"calcifyd_http_shed_total", "reason", "shutting_down", "") \
X(TIMEOUT_HEAD,	"calcifyd_http_timeouts_total", "phase", "head",	\
  "Connections cut or requests answered 408 past http.request_timeout_ms") \
X(TIMEOUT_BODY,	"calcifyd_http_timeouts_total", "phase", "body", "") \
X(MODEL_OK,	"calcifyd_model_reloads_total", "result", "ok",		\
  "Model reloads (SIGHUP), by result")					\
X(MODEL_FAIL,	"calcifyd_model_reloads_total", "result", "failed", "") \
X(CODES_OK,	"calcifyd_code_table_reloads_total", "result", "ok",	\
  "Code table reloads (SIGHUP), by result")				\
X(CODES_FAIL,	"calcifyd_code_table_reloads_total", "result", "failed", "")

enum metrics_counter {
#define METRICS_CENUM(e, fam, lk, lv, help) M_##e,
	METRICS_COUNTERS(METRICS_CENUM)
#undef METRICS_CENUM
	M_COUNTER_COUNT
};

#define METRICS_GAUGES(X)						\
X(QUEUE_DEPTH,	"calcifyd_ingest_queue_depth",				\
  "Requests waiting for the store writer")				\
X(OUTBOX_DEPTH,	"calcifyd_outbox_depth",				\
  "Assessments waiting for delivery")					\
X(OUTBOX_AGE,	"calcifyd_outbox_oldest_age_seconds",			\
  "Age of the oldest assessment waiting for delivery")			\
X(DEAD_LETTERS,	"calcifyd_dead_letters",				\
  "Assessments that could not be delivered and wait for an admin")	\
X(INFLIGHT,	"calcifyd_deliveries_in_flight",			\
  "Deliveries currently in flight")					\
X(PATIENTS,	"calcifyd_patients",					\
  "Patients known to the store")					\
X(READY,	"calcifyd_ready",					\
  "1 when the store is open and a model is loaded")			\
X(HTTP_INFLIGHT, "calcifyd_http_requests_in_flight",			\
  "Inbound requests begun and not yet completed (this one included)")

enum metrics_gauge {
#define METRICS_GENUM(e, name, help) MG_##e,
	METRICS_GAUGES(METRICS_GENUM)
#undef METRICS_GENUM
	MG_GAUGE_COUNT
};

enum metrics_hist {
	MH_COMMIT_SECONDS,	/* time of one group commit (incl. fsync) */
	MH_COMMIT_BATCH,	/* requests per group commit */
	MH_DELIVERY_SECONDS,	/* one delivery attempt */
	MH_HIST_COUNT
};

/* Call once before threads start: names of the HTTP routes (index =
 * route id used below; the last one should be "other"). */
void	metrics_init(const char *const *routes, int nroutes);
void	metrics_inc(enum metrics_counter);
void	metrics_add(enum metrics_counter, uint64_t);
uint64_t metrics_get(enum metrics_counter);
void	metrics_gauge_set(enum metrics_gauge, double);
double	metrics_gauge_get(enum metrics_gauge);
void	metrics_observe(enum metrics_hist, double);
/* One finished HTTP request: route index, status, duration. */
void	metrics_http(int route, int status, double seconds);
/* Model identity shown as calcifyd_model_info{id,version}. */
void	metrics_set_model(const char *id, const char *version);
/* Append the exposition text to b. */
void	metrics_render(struct buf *b);

#endif
