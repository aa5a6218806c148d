/*
 * sender.c - the delivery thread: outbox rows due now become HTTP requests
 * to the hospital (libcurl multi, keep-alive, bounded concurrency), and
 * their outcomes go back to the store through the ingest writer.  Owns the
 * curl handles and the in-flight bookkeeping; never writes the store
 * itself and never blocks ingest.
 *
 * A row stays "busy" from the moment its request starts until the writer
 * has committed its outcome, so a row is never sent twice concurrently;
 * after a crash, rows still pending are simply sent again -- harmless,
 * because the identifier (If-None-Exist) or the deterministic id (PUT)
 * makes the second request a no-op at the server.
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assessment.h"
#include "config.h"
#include "facts.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "models.h"
#include "sender.h"
#include "sender_auth.h"
#include "store.h"
#include "util.h"

#define MAX_INFLIGHT	256
#define MAX_BUSY	4096
#define OUTCOME_MAX	(64 * 1024)

struct transfer {
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct store_outbox_row	 row;
	struct buf		 body;
	struct buf		 resp;
	char			 retry_after[64];
	bool			 reauthed;
	int64_t			 started_us;
	bool			 used;
};

/* A delivery outcome travelling to the writer. */
struct result_job {
	struct ingest_job		 job;
	struct store_outbox_result	 res;
};

static struct {
	struct store		*store;
	const struct config	*cfg;
	struct sender_auth	*auth;
	struct sender_auth	*new_auth;	/* from reconfigure */
	const struct config	*new_cfg;
	pthread_mutex_t		 mtx;
	pthread_t		 thread;
	bool			 running;
	atomic_bool		 stopping;
	int64_t			 stop_deadline_us;
	CURLM			*multi;
	struct transfer		 xfer[MAX_INFLIGHT];
	int			 nxfer;
	/* Rows in flight or waiting for the writer to record their outcome;
	 * guarded by mtx (the writer's done callback removes them). */
	int64_t			 busy[MAX_BUSY];
	int			 nbusy;
	int64_t			 last_warn_us;
	bool			 backlog_warned;	/* until it clears */
	/* Store-kept admin counts already added to the counters. */
	int64_t			 seen_requeued;
	int64_t			 seen_requeue_sup;
	unsigned		 rng;
} S = { .mtx = PTHREAD_MUTEX_INITIALIZER };

/* --- pure parts ------------------------------------------------------------ */

/*
 * Two stated choices here (ARCHITECTURE.md "Delivery" allows both):
 *   - any 2xx is delivered, not only 200 and 201: a server that answers
 *     202 Accepted or 204 No Content has taken the resource, and a retry
 *     of an accepted write could only produce a duplicate;
 *   - 409 Conflict is retried, not dead-lettered: FHIR servers answer 409
 *     for version or transaction conflicts that a later attempt resolves
 *     (a concurrent write to the same resource), and the identifier keeps
 *     the retry harmless.  A server that answers 409 for good is bounded
 *     by hospital.max_retries / max_age like any other retry.
 */
enum sender_verdict
sender_classify(int status, bool token_auth, bool reauthed)
{
	if (status >= 200 && status < 300)
		return SENDER_DELIVERED;
	if (status == 401 && token_auth && !reauthed)
		return SENDER_REAUTH;
	if (status == 0 || status == 408 || status == 409 || status == 429 ||
	    status >= 500)
		return SENDER_RETRY;
	return SENDER_DEAD;
}

int64_t
sender_backoff_ms(long attempts, int64_t base, int64_t max,
    int64_t retry_after_ms, double rnd)
{
	int64_t cap = base, d;
	long i;

	for (i = 0; i < attempts && cap < max; i++)
		cap *= 2;
	if (cap > max)
		cap = max;
	/* Full jitter: uniform over [0, cap]. */
	d = (int64_t)(rnd * (double)(cap + 1));
	if (retry_after_ms >= 0 && d < retry_after_ms)
		d = retry_after_ms;
	return d;
}

bool
sender_give_up(long attempts, int64_t enqueued_ms, int64_t now_ms,
    long max_retries, int64_t max_age_ms)
{
	if (max_retries > 0 && attempts >= max_retries)
		return true;
	return now_ms - enqueued_ms >= max_age_ms;
}

int64_t
sender_retry_after_ms(const char *v, int64_t now_ms)
{
	long long secs;
	int64_t when;

	if (v == NULL || *v == '\0')
		return -1;
	if (util_parse_ll(v, 0, 366LL * 86400, &secs) == 0)
		return secs * 1000;
	if (util_parse_http_date(v, &when) == 0)
		return when > now_ms ? when - now_ms : 0;
	return -1;
}

/* --- busy set ----------------------------------------------------------------- */

static bool
busy_has(int64_t oid)
{
	int i;

	for (i = 0; i < S.nbusy; i++)
		if (S.busy[i] == oid)
			return true;
	return false;
}

static void
busy_del(int64_t oid)
{
	int i;

	pthread_mutex_lock(&S.mtx);
	for (i = 0; i < S.nbusy; i++) {
		if (S.busy[i] == oid) {
			S.busy[i] = S.busy[--S.nbusy];
			break;
		}
	}
	pthread_mutex_unlock(&S.mtx);
}

static void
result_done(struct ingest_job *j)
{
	struct result_job *rj = (struct result_job *)j;

	busy_del(rj->res.or_oid);
	free(rj->res.or_error);
	free(rj->res.or_outcome);
	free(rj);
	/* The row is free again: a retry may be due. */
	if (S.multi != NULL)
		curl_multi_wakeup(S.multi);
}

/* Hand an outcome to the writer.  If it cannot take it (stopping), the row
 * stays pending in the store and is sent again after the restart. */
static void
report(int64_t oid, int state, int64_t next_at, int status,
    const char *error, const char *outcome)
{
	struct result_job *rj = xcalloc(1, sizeof(*rj));

	rj->res.or_oid = oid;
	rj->res.or_state = state;
	rj->res.or_next_at = next_at;
	rj->res.or_http_status = status;
	rj->res.or_error = error != NULL ? xstrdup(error) : NULL;
	rj->res.or_outcome = outcome != NULL ? xstrdup(outcome) : NULL;
	rj->job.ij_results = &rj->res;
	rj->job.ij_nresults = 1;
	rj->job.ij_done = result_done;
	if (ingest_submit(&rj->job) != 0) {
		busy_del(oid);
		free(rj->res.or_error);
		free(rj->res.or_outcome);
		free(rj);
	}
}

/* --- transfers ------------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;

	/* Keep the start of the server's answer (its OperationOutcome). */
	if (t->resp.b_len < OUTCOME_MAX)
		buf_append(&t->resp, p, UTIL_MIN(size * n,
		    OUTCOME_MAX - t->resp.b_len));
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n, vl;
	const char *v;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		v = p + 12;
		while (*v == ' ' || *v == '\t')
			v++;
		vl = len - (size_t)(v - p);
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
		    v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof(t->retry_after)) {
			memcpy(t->retry_after, v, vl);
			t->retry_after[vl] = '\0';
		}
	}
	return len;
}

/* The RiskAssessment JSON of a stored assessment, as it stands now
 * (entered-in-error once withdrawn); with_id false leaves Resource.id out
 * (a conditional update names the resource by its identifier, and the
 * server's id for it may differ).  Returns -1 when it cannot be rebuilt
 * (model version gone): the row is dead-lettered. */
static int
build_body(const struct store_assessment *a, bool with_id, struct buf *out)
{
	struct assessment_ctx ctx;
	struct model *m;
	struct facts *f;
	int rc = -1;

	if ((m = models_get(S.store, a->sa_model_digest)) == NULL)
		return -1;
	f = xmalloc(sizeof(*f));
	if (facts_parse_snapshot(a->sa_snapshot, f) == 0) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.ac_id = with_id ? a->sa_identifier : NULL;
		ctx.ac_identifier_system = S.cfg->cf_hospital_identifier_system;
		ctx.ac_identifier_value = a->sa_identifier;
		ctx.ac_subject_json = a->sa_subject;
		ctx.ac_recorded_ms = a->sa_created;
		ctx.ac_version = PACKAGE_VERSION;
		ctx.ac_withdrawn = a->sa_withdrawn;
		rc = assessment_build(m, f, NULL, &ctx, out);
	}
	free(f);
	model_unref(m);
	return rc;
}

static void
xfer_clear(struct transfer *t)
{
	if (t->easy != NULL) {
		curl_multi_remove_handle(S.multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->hdrs);
	buf_free(&t->body);
	buf_free(&t->resp);
	memset(t, 0, sizeof(*t));
}

static bool finish(struct transfer *, CURLcode);

/*
 * Start delivering one row (already marked busy).  Problems that end the
 * attempt before any network I/O are reported here; the slot is free again
 * when this returns without a transfer in flight.
 */
static void
start(const struct store_outbox_row *row, bool reauthed)
{
	struct transfer *t = NULL;
	struct store_assessment a;
	struct buf url, h;
	char *esys, *eval;
	bool have_a, put, cupdate;
	int i;

	for (i = 0; i < MAX_INFLIGHT; i++)
		if (!S.xfer[i].used) {
			t = &S.xfer[i];
			break;
		}
	if (t == NULL) {
		busy_del(row->ob_oid);
		return;
	}
	memset(t, 0, sizeof(*t));
	t->used = true;
	t->row = *row;
	t->reauthed = reauthed;
	t->started_us = util_mono_us();
	buf_init(&t->body);
	buf_init(&t->resp);
	put = S.cfg->cf_hospital_mode == CONFIG_MODE_PUT;
	cupdate = !put && row->ob_kind == STORE_OB_UPDATE;
	have_a = S.store->s_ops->r_assessment_by_aid(S.store, row->ob_aid,
	    &a) == STORE_OK;
	if (!have_a || build_body(&a, !cupdate, &t->body) == -1) {
		log_warnx("delivery oid=%lld cannot rebuild its assessment; "
		    "dead-lettered", (long long)row->ob_oid);
		metrics_inc(M_DELIV_DEAD);
		report(row->ob_oid, STORE_OB_DEAD, 0, 0,
		    "the assessment could not be rebuilt (model version "
		    "missing?)", NULL);
		if (have_a)
			store_assessment_clear(&a);
		xfer_clear(t);
		return;
	}
	t->easy = curl_easy_init();
	buf_init(&url);
	buf_init(&h);
	if (put) {
		buf_printf(&url, "%s/RiskAssessment/%s",
		    S.cfg->cf_hospital_base_url, a.sa_identifier);
		curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, "PUT");
	} else if (cupdate) {
		/* Conditional update on the identifier: updates the one
		 * resource that has it, creates it if none does (the
		 * server gives it its own id), 412 if several do. */
		esys = curl_easy_escape(t->easy,
		    S.cfg->cf_hospital_identifier_system, 0);
		eval = curl_easy_escape(t->easy, a.sa_identifier, 0);
		buf_printf(&url, "%s/RiskAssessment?identifier=%s%%7C%s",
		    S.cfg->cf_hospital_base_url, esys, eval);
		curl_free(esys);
		curl_free(eval);
		curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, "PUT");
	} else {
		buf_printf(&url, "%s/RiskAssessment",
		    S.cfg->cf_hospital_base_url);
		esys = curl_easy_escape(t->easy,
		    S.cfg->cf_hospital_identifier_system, 0);
		eval = curl_easy_escape(t->easy, a.sa_identifier, 0);
		buf_printf(&h, "If-None-Exist: identifier=%s|%s", esys, eval);
		curl_free(esys);
		curl_free(eval);
		t->hdrs = curl_slist_append(t->hdrs, h.b_data);
	}
	store_assessment_clear(&a);
	t->hdrs = curl_slist_append(t->hdrs,
	    "Content-Type: application/fhir+json; charset=utf-8");
	t->hdrs = curl_slist_append(t->hdrs, "Accept: application/fhir+json");
	t->hdrs = curl_slist_append(t->hdrs, "Prefer: return=minimal");
	t->hdrs = curl_slist_append(t->hdrs, "Expect:");
	if (sender_auth_apply(S.auth, &t->hdrs) == -1) {
		/* No token to be had now: back off like a network failure. */
		buf_free(&url);
		buf_free(&h);
		finish(t, CURLE_LOGIN_DENIED);
		xfer_clear(t);
		return;
	}
	curl_easy_setopt(t->easy, CURLOPT_URL, url.b_data);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body.b_data);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)t->body.b_len);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS,
	    (long)S.cfg->cf_hospital_timeout_ms);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)S.cfg->cf_hospital_connect_timeout_ms);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "calcifyd/" PACKAGE_VERSION);
	sender_tls_setup(t->easy, S.cfg);
	buf_free(&url);
	buf_free(&h);
	curl_multi_add_handle(S.multi, t->easy);
	S.nxfer++;
	metrics_gauge_set(MG_INFLIGHT, S.nxfer);
}

/* Decide and report the outcome of one finished transfer.  Returns true
 * when it has released the slot itself (a token renewal restarts the row,
 * possibly in the same slot and with an easy handle at the same address). */
static bool
finish(struct transfer *t, CURLcode cc)
{
	const struct store_outbox_row *row = &t->row;
	int64_t now = util_now_ms(), next, ra;
	enum sender_verdict v;
	long status = 0;
	char err[256];
	unsigned r;

	if (cc == CURLE_OK)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	metrics_observe(MH_DELIVERY_SECONDS,
	    (double)(util_mono_us() - t->started_us) / 1e6);
	v = sender_classify((int)status, sender_auth_uses_token(S.auth),
	    t->reauthed);
	switch (v) {
	case SENDER_DELIVERED:
		/* 200 to a conditional create: it was already there. */
		if (row->ob_kind == STORE_OB_UPDATE)
			metrics_inc(M_DELIV_UPDATED);
		else
			metrics_inc(status == 200 && S.cfg->cf_hospital_mode ==
			    CONFIG_MODE_CONDITIONAL_CREATE ? M_DELIV_EXISTS :
			    M_DELIV_OK);
		report(row->ob_oid, STORE_OB_DELIVERED, 0, (int)status, NULL,
		    NULL);
		log_debug("delivery oid=%lld kind=%s status=%ld",
		    (long long)row->ob_oid, row->ob_kind == STORE_OB_UPDATE ?
		    "update" : "create", status);
		return false;
	case SENDER_REAUTH: {
		struct store_outbox_row copy = *row;

		sender_auth_invalidate(S.auth);
		log_notice("delivery oid=%lld got 401; renewing the token once",
		    (long long)row->ob_oid);
		xfer_clear(t);
		S.nxfer--;
		metrics_gauge_set(MG_INFLIGHT, S.nxfer);
		start(&copy, true);
		return true;
	}
	case SENDER_DEAD:
		metrics_inc(status == 412 ? M_DELIV_DUPS : M_DELIV_DEAD);
		if (status == 412)
			snprintf(err, sizeof(err), "duplicates exist at server "
			    "(HTTP 412: several resources have the "
			    "identifier)");
		else
			snprintf(err, sizeof(err), "the hospital refused it "
			    "(HTTP %ld)", status);
		log_warnx("delivery dead-letter oid=%lld status=%ld reason=%s",
		    (long long)row->ob_oid, status, status == 412 ?
		    "duplicates_at_server" : "client_error");
		report(row->ob_oid, STORE_OB_DEAD, 0, (int)status, err,
		    t->resp.b_len > 0 ? t->resp.b_data : NULL);
		return false;
	case SENDER_RETRY:
		break;
	}
	if (cc != CURLE_OK)
		snprintf(err, sizeof(err), "%s", curl_easy_strerror(cc));
	else
		snprintf(err, sizeof(err), "HTTP %ld", status);
	if (sender_give_up(row->ob_attempts + 1, row->ob_enqueued, now,
	    S.cfg->cf_hospital_max_retries, S.cfg->cf_hospital_max_age_ms)) {
		char why[384];

		metrics_inc(M_DELIV_GAVE_UP);
		log_warnx("delivery dead-letter oid=%lld attempts=%ld "
		    "reason=gave_up last=%s", (long long)row->ob_oid,
		    row->ob_attempts + 1, err);
		/* The listing says why it stopped, not only the last error. */
		snprintf(why, sizeof(why), "gave up after %ld attempts over "
		    "%llds (hospital.max_retries / max_age); last: %s",
		    row->ob_attempts + 1,
		    (long long)((now - row->ob_enqueued) / 1000), err);
		report(row->ob_oid, STORE_OB_DEAD, 0, (int)status, why,
		    t->resp.b_len > 0 ? t->resp.b_data : NULL);
		return false;
	}
	ra = sender_retry_after_ms(t->retry_after, now);
	r = (unsigned)rand_r(&S.rng);
	next = now + sender_backoff_ms(row->ob_attempts,
	    S.cfg->cf_hospital_backoff_base_ms,
	    S.cfg->cf_hospital_backoff_max_ms, ra,
	    (double)r / ((double)RAND_MAX + 1.0));
	metrics_inc(M_DELIV_RETRY);
	/* A long outage retries thousands of times: log the 1st, 2nd, 4th,
	 * 8th... attempt; the counter has every one. */
	if ((row->ob_attempts & (row->ob_attempts + 1)) == 0)
		log_info("delivery retry oid=%lld attempt=%ld in_ms=%lld "
		    "last=%s", (long long)row->ob_oid, row->ob_attempts + 1,
		    (long long)(next - now), err);
	report(row->ob_oid, STORE_OB_PENDING, next, (int)status, err, NULL);
	return false;
}

static void
collect_done(void)
{
	struct transfer *t;
	CURLMsg *msg;
	CURLcode result;
	CURL *easy;
	int left;

	while ((msg = curl_multi_info_read(S.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* curl frees msg with its handle: copy before acting. */
		easy = msg->easy_handle;
		result = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
		if (!finish(t, result)) {
			xfer_clear(t);
			S.nxfer--;
		}
	}
	metrics_gauge_set(MG_INFLIGHT, S.nxfer);
}

static bool
patient_in_flight(int64_t pid)
{
	int i;

	for (i = 0; i < MAX_INFLIGHT; i++)
		if (S.xfer[i].used && S.xfer[i].row.ob_pid == pid)
			return true;
	return false;
}

/* Start what is due, up to hospital.concurrency in flight. */
static void
fill(void)
{
	struct store_outbox_row rows[64];
	int n = 0, i, want = (int)S.cfg->cf_hospital_concurrency - S.nxfer;

	if (want <= 0 || atomic_load(&S.stopping))
		return;
	if (S.store->s_ops->r_outbox_due(S.store, util_now_ms(),
	    (int)UTIL_ARRAY_LEN(rows), rows, &n) != STORE_OK)
		return;
	for (i = 0; i < n && want > 0; i++) {
		pthread_mutex_lock(&S.mtx);
		if (busy_has(rows[i].ob_oid) || S.nbusy >= MAX_BUSY ||
		    patient_in_flight(rows[i].ob_pid)) {
			pthread_mutex_unlock(&S.mtx);
			continue;
		}
		S.busy[S.nbusy++] = rows[i].ob_oid;
		pthread_mutex_unlock(&S.mtx);
		start(&rows[i], false);
		want--;
	}
}

/* Wait until the next due row, a wake-up, or a transfer event. */
static int
poll_timeout_ms(void)
{
	int64_t when, now = util_now_ms(), d = 1000;

	if (S.nxfer < S.cfg->cf_hospital_concurrency &&
	    S.store->s_ops->r_next_due(S.store, &when) == STORE_OK)
		d = UTIL_MAX(0, UTIL_MIN(d, when - now));
	return (int)UTIL_MAX(d, 10);
}

static void
apply_reconfigure(void)
{
	pthread_mutex_lock(&S.mtx);
	if (S.new_cfg != NULL) {
		sender_auth_free(S.auth);
		S.auth = S.new_auth;
		S.cfg = S.new_cfg;
		S.new_auth = NULL;
		S.new_cfg = NULL;
	}
	pthread_mutex_unlock(&S.mtx);
}

static void *
sender_main(void *arg)
{
	int running, i;

	util_thread_name("cfy-sender");
	while (!atomic_load(&S.stopping)) {
		apply_reconfigure();
		fill();
		curl_multi_perform(S.multi, &running);
		collect_done();
		curl_multi_poll(S.multi, NULL, 0, poll_timeout_ms(), NULL);
	}
	/* Let the current batch finish within the bound. */
	while (S.nxfer > 0 && util_mono_us() < S.stop_deadline_us) {
		curl_multi_perform(S.multi, &running);
		collect_done();
		if (S.nxfer > 0)
			curl_multi_poll(S.multi, NULL, 0, 50, NULL);
	}
	if (S.nxfer > 0)
		log_notice("sender stopping with %d deliveries in flight; they "
		    "resume after restart", S.nxfer);
	for (i = 0; i < MAX_INFLIGHT; i++)
		if (S.xfer[i].used)
			xfer_clear(&S.xfer[i]);
	S.nxfer = 0;
	return NULL;
}

int
sender_init(struct store *s, const struct config *c)
{
	S.store = s;
	S.cfg = c;
	S.rng = (unsigned)util_mono_us();
	atomic_store(&S.stopping, false);
	if ((S.auth = sender_auth_new(c, stderr)) == NULL)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (S.multi = curl_multi_init()) == NULL) {
		log_warnx("sender: cannot initialise libcurl");
		return -1;
	}
	curl_multi_setopt(S.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)c->cf_hospital_concurrency);
	curl_multi_setopt(S.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)c->cf_hospital_concurrency);
	if (pthread_create(&S.thread, NULL, sender_main, NULL) != 0) {
		log_warnx("sender: cannot start its thread");
		return -1;
	}
	S.running = true;
	log_info("delivery to the hospital FHIR server mode=%s concurrency=%ld",
	    c->cf_hospital_mode == CONFIG_MODE_PUT ? "put" :
	    "conditional-create", c->cf_hospital_concurrency);
	return 0;
}

void
sender_fini(int64_t bound_ms)
{
	if (S.running) {
		S.stop_deadline_us = util_mono_us() + bound_ms * 1000;
		atomic_store(&S.stopping, true);
		curl_multi_wakeup(S.multi);
		pthread_join(S.thread, NULL);
		S.running = false;
	}
	if (S.multi != NULL) {
		curl_multi_cleanup(S.multi);
		S.multi = NULL;
		curl_global_cleanup();
	}
	sender_auth_free(S.auth);
	sender_auth_free(S.new_auth);
	S.auth = S.new_auth = NULL;
}

void
sender_wake(void)
{
	if (S.multi != NULL)
		curl_multi_wakeup(S.multi);
}

int
sender_reconfigure(const struct config *c)
{
	struct sender_auth *a;

	if (!S.running)
		return 0;
	if ((a = sender_auth_new(c, stderr)) == NULL)
		return -1;
	pthread_mutex_lock(&S.mtx);
	sender_auth_free(S.new_auth);
	S.new_auth = a;
	S.new_cfg = c;
	pthread_mutex_unlock(&S.mtx);
	sender_wake();
	return 0;
}

/*
 * Requeues happen in calcifyctl, another process, so a counter bumped
 * there would never reach this daemon's /metrics.  The store keeps them
 * (meta table, in the requeue's own transaction) and this tick adds what
 * is new to the counters: they count over the life of the store, survive
 * restarts, and include requeues done while the daemon was down.
 */
static void
admin_counts(void)
{
	int64_t req, sup;

	if (S.store->s_ops->r_admin_counts(S.store, &req, &sup) != STORE_OK)
		return;
	if (req > S.seen_requeued) {
		metrics_add(M_REQUEUED, (uint64_t)(req - S.seen_requeued));
		S.seen_requeued = req;
	}
	if (sup > S.seen_requeue_sup) {
		metrics_add(M_REQUEUE_SUPERSEDED,
		    (uint64_t)(sup - S.seen_requeue_sup));
		S.seen_requeue_sup = sup;
	}
}

void
sender_tick(const struct config *c)
{
	int64_t pending = 0, oldest = 0, dead = 0, age = 0, now = util_now_ms();
	bool over_depth, over_age;

	if (S.store == NULL || S.store->s_ops->r_outbox_stats(S.store,
	    &pending, &oldest, &dead) != STORE_OK)
		return;
	if (oldest > 0)
		age = now - oldest;
	metrics_gauge_set(MG_OUTBOX_DEPTH, (double)pending);
	metrics_gauge_set(MG_OUTBOX_AGE, (double)age / 1000.0);
	metrics_gauge_set(MG_DEAD_LETTERS, (double)dead);
	admin_counts();
	/* A backlog is never silent: warn as soon as it crosses a
	 * threshold, then once a minute while it lasts, and say when it
	 * is over. */
	over_depth = pending >= c->cf_hospital_backlog_warn;
	over_age = age >= c->cf_hospital_backlog_warn_age_ms;
	if ((over_depth || over_age) && (!S.backlog_warned ||
	    util_mono_us() - S.last_warn_us >= 60 * 1000000LL)) {
		S.backlog_warned = true;
		S.last_warn_us = util_mono_us();
		log_warnx("delivery backlog pending=%lld oldest_age_s=%lld "
		    "dead_letters=%lld over=%s", (long long)pending,
		    (long long)(age / 1000), (long long)dead,
		    over_depth && over_age ? "depth,age" : over_depth ?
		    "depth" : "age");
	} else if (!over_depth && !over_age && S.backlog_warned) {
		S.backlog_warned = false;
		log_notice("delivery backlog cleared pending=%lld "
		    "oldest_age_s=%lld", (long long)pending,
		    (long long)(age / 1000));
	}
}
