/*
 * ingest.c - the store writer thread: group commit, per-request
 * savepoints, facts folded by the store, the engine run once per affected
 * patient, assessments and outbox rows in the same transaction, and the
 * sender's delivery results.  It owns the current model reference.  It
 * must not do HTTP (it calls the job's done callback) nor network I/O.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assessment.h"
#include "config.h"
#include "engine.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "terminology.h"
#include "util.h"

#define MAX_PATIENTS_PER_JOB	4096
#define IDLE_BEAT_MS		1000	/* the idle writer's heartbeat period */

static struct {
	struct store			*store;
	pthread_t			 thread;
	bool				 running;
	pthread_mutex_t			 mtx;
	pthread_cond_t			 cv;
	struct ingest_job		*head, *tail;
	long				 depth;
	bool				 stopping;
	long				 max_queue;
	long				 batch_max;
	atomic_bool			 scope_all;
	bool				 delivery;	/* hospital.base_url set */
	pthread_rwlock_t		 list_lock;
	char				**listed;	/* sorted dialysis list */
	size_t				 nlisted;
	struct model			*model;		/* under mtx */
	_Atomic(const struct terminology *) terms;
	void				(*outbox_hook)(void);
	_Atomic int64_t			 heartbeat;
	char				 recorded_digest[65];
} W = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.list_lock = PTHREAD_RWLOCK_INITIALIZER,
};

/* --- the dialysis patient list (model.dialysis_patients) ---------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/*
 * Lines are Patient references ("Patient/123", absolute URLs) or
 * identifiers "system|value"; '#' starts a comment.  Unreadable file:
 * logged, list kept empty (scope then relies on dialysis evidence).
 */
static void
load_list(const char *path, char ***out, size_t *nout)
{
	char line[1024], key[200], *s, *e;
	char **l = NULL;
	size_t n = 0;
	FILE *fp;

	*out = NULL;
	*nout = 0;
	if (path == NULL || path[0] == '\0')
		return;
	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("cannot read model.dialysis_patients path=%s", path);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (fhir_patient_key(s, key, sizeof(key)) == -1)
			snprintf(key, sizeof(key), "ident:%s", s);
		l = xrealloc(l, (n + 1) * sizeof(*l));
		l[n++] = xstrdup(key);
	}
	fclose(fp);
	qsort(l, n, sizeof(*l), cmp_str);
	*out = l;
	*nout = n;
}

static bool
listed_cb(const char *key, void *arg)
{
	const char *k = key;

	return bsearch(&k, W.listed, W.nlisted, sizeof(*W.listed),
	    cmp_str) != NULL;
}

/* --- assessment of one patient --------------------------------------------- */

/*
 * Run the engine for a patient whose inputs changed and record a new
 * assessment when what a reader would see changed (issue 5: same
 * probabilities, bands and factors -> nothing new).
 */
/* What assess() did, counted after COMMIT (ij_assess). */
enum { A_NOFACTS, A_SCOPE, A_SAME, A_NEW, A_SUPERSEDED, A_WITHDRAWN };

static int
assess(struct store *s, const struct model *m, int64_t pid, int64_t now,
    uint64_t *count)
{
	struct facts *f = xmalloc(sizeof(*f));
	struct engine_result *r = xmalloc(sizeof(*r));
	struct store_assess_summary sum;
	struct buf snap, subject;
	uint8_t old[32];
	char ident[ASSESSMENT_ID_LEN + 1], tag[24];
	bool has_sig, listed = false, in_scope;
	int64_t at, aid;
	int rc, superseded, i;

	buf_init(&snap);
	buf_init(&subject);
	rc = s->s_ops->w_load_facts(s, pid, f);
	if (rc < 0)
		goto out;
	at = facts_latest_eff(f);
	if (at == INT64_MIN) {
		count[A_NOFACTS]++;
		rc = STORE_OK;
		goto out;
	}
	in_scope = engine_in_scope(f, W.scope_all, false);
	if (!in_scope) {
		pthread_rwlock_rdlock(&W.list_lock);
		rc = W.nlisted > 0 ? s->s_ops->w_patient_listed(s, pid,
		    listed_cb, NULL) : STORE_NONE;
		pthread_rwlock_unlock(&W.list_lock);
		if (rc < 0)
			goto out;
		listed = rc == STORE_OK;
		in_scope = engine_in_scope(f, W.scope_all, listed);
	}
	if (!in_scope) {
		count[A_SCOPE]++;
		rc = STORE_OK;
		goto out;
	}
	engine_run(m, f, at, r);
	rc = s->s_ops->w_patient_state(s, pid, old, &has_sig, &subject);
	if (rc < 0)
		goto out;
	if (has_sig && memcmp(old, r->er_signature, sizeof(old)) == 0) {
		count[A_SAME]++;
		rc = STORE_OK;
		goto out;
	}
	facts_snapshot(f, &snap);
	/* The patient is named by the hospital's own reference. */
	assessment_identifier(subject.b_data != NULL ? subject.b_data : "",
	    m, snap.b_data != NULL ? snap.b_data : "", ident);
	sum.ss_final = r->er_final;
	for (i = 0; i < 2 && i < MODEL_OUTCOMES; i++) {
		sum.ss_prob[i] = r->er_outcome[i].eo_probability * 100.0;
		sum.ss_band[i] = (int)r->er_outcome[i].eo_band;
	}
	rc = s->s_ops->w_add_assessment(s, pid, ident, m->m_digest,
	    snap.b_data != NULL ? snap.b_data : "", at, now, &sum,
	    r->er_signature, W.delivery, &aid, &superseded);
	if (rc < 0)
		goto out;
	count[A_NEW]++;
	if (superseded > 0)
		count[A_SUPERSEDED] += (uint64_t)superseded;
	if (log_enabled(LOG_LVL_DEBUG)) {
		log_patient_tag(subject.b_data != NULL ? subject.b_data : "",
		    tag, sizeof(tag));
		log_debug("assessment new patient=%s aid=%lld status=%s "
		    "cutaneous=%.1f%% vascular=%.1f%%", tag, (long long)aid,
		    r->er_final ? "final" : "preliminary", sum.ss_prob[0],
		    sum.ss_prob[1]);
	}
	rc = STORE_OK;
out:
	buf_free(&snap);
	buf_free(&subject);
	free(f);
	free(r);
	return rc;
}

/* --- applying one entry ------------------------------------------------------- */

/* Parse "identifier=[system|]value" (the only If-None-Exist we serve). */
static int
parse_if_none_exist(const char *q, char **ident, bool *any_system)
{
	const char *v;
	char *dec, *w;
	size_t i;

	if (!util_has_prefix(q, "identifier=") || strchr(q, '&') != NULL)
		return -1;
	v = q + 11;
	if (*v == '\0')
		return -1;
	/* Percent-decode: the header carries a query string. */
	dec = w = xmalloc(strlen(v) + 1);
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '%' && isxdigit((unsigned char)v[i + 1]) &&
		    isxdigit((unsigned char)v[i + 2])) {
			char hx[3] = { v[i + 1], v[i + 2], '\0' };

			*w++ = (char)strtol(hx, NULL, 16);
			i += 2;
		} else
			*w++ = v[i];
	}
	*w = '\0';
	*any_system = strchr(dec, '|') == NULL;
	*ident = dec;
	return 0;
}

/* Returns 0 when the entry is settled (success or its own 4xx in
 * ie_diag), -1 on a store failure. */
#define MAX_SAME_CANDIDATES	8

/*
 * A create under an id calcifyd has not seen may still be a result it
 * has: integration engines often mint a new id per message (a resend, an
 * amendment, an entered-in-error notice), while the lab's identifier
 * stays.  When exactly one stored resource of the type, for the same
 * patient, carries one of the identifiers exactly and has the same code
 * (fhir_code_key), the item becomes a new version of it: it->fi_id takes
 * that resource's id.  None or several: nothing is guessed, it is a new
 * resource.  PUT (an id the client asserts) never gets here.
 * Returns 1 when adopted, 0 when not, -1 on a store failure.
 */
static int
adopt_same_result(struct store *s, struct fhir_item *it, int64_t pid)
{
	int64_t rids[MAX_SAME_CANDIDATES], found = 0;
	char *bodies[MAX_SAME_CANDIDATES], *key, *id = NULL;
	struct store_resinfo info;
	json_t *doc;
	int i, k, n, rc = 0;

	for (i = 0; i < it->fi_nidents && rc == 0; i++) {
		n = s->s_ops->w_ident_candidates(s, it->fi_type,
		    it->fi_idents[i], pid, rids, bodies, MAX_SAME_CANDIDATES);
		if (n < 0)
			return -1;
		for (k = 0; k < n; k++) {
			doc = json_loads(bodies[k], 0, NULL);
			key = doc != NULL ? fhir_code_key(doc) : NULL;
			if (key != NULL && strcmp(key, it->fi_codekey) == 0) {
				if (found != 0 && found != rids[k])
					rc = -2;	/* several: no guess */
				else
					found = rids[k];
			}
			free(key);
			json_decref(doc);
			free(bodies[k]);
		}
	}
	if (rc == -2 || found == 0)
		return 0;
	if (s->s_ops->w_resinfo_by_rid(s, found, &info, &id) != STORE_OK)
		return -1;
	free(it->fi_id);
	it->fi_id = id;
	return 1;
}

static int
apply_entry(struct store *s, struct ingest_entry *e, int64_t now,
    int64_t *pid_out, bool *affects)
{
	struct fhir_item *it = &e->ie_item;
	struct store_resinfo old, cur;
	int64_t pid, rids[2];
	char *ident = NULL, *id = NULL;
	bool any, merged;
	int rc;

	*affects = false;
	*pid_out = 0;
	if (e->ie_if_none_exist != NULL) {
		if (parse_if_none_exist(e->ie_if_none_exist, &ident,
		    &any) == -1) {
			diag_set(&e->ie_diag, DIAG_IF_NONE_EXIST, NULL, NULL);
			return 0;
		}
		rc = s->s_ops->w_match_identifier(s, it->fi_type, ident, any,
		    rids, 2);
		free(ident);
		if (rc < 0)
			return -1;
		if (rc > 1) {
			diag_set(&e->ie_diag, DIAG_MULTIPLE_MATCHES, NULL, NULL);
			return 0;
		}
		if (rc == 1) {
			if (s->s_ops->w_resinfo_by_rid(s, rids[0], &cur,
			    &id) != STORE_OK)
				return -1;
			e->ie_outcome = INGEST_EXISTS;
			e->ie_info = cur;
			e->ie_resid = id;
			return 0;
		}
	}
	/* No patient (a Group subject, none at all): stored under pid 0,
	 * never assessed. */
	pid = 0;
	merged = false;
	if (it->fi_nkeys > 0 && s->s_ops->w_patient(s, it->fi_keys,
	    it->fi_nkeys, it->fi_subject != NULL ? it->fi_subject : "{}", now,
	    &pid, &merged) < 0)
		return -1;
	rc = s->s_ops->w_get_resource(s, it->fi_type, it->fi_id, &old);
	if (rc < 0)
		return -1;
	if (rc != STORE_OK && pid != 0 && !it->fi_put && it->fi_nidents > 0) {
		if ((rc = adopt_same_result(s, it, pid)) < 0)
			return -1;
		if (rc == 1 && (rc = s->s_ops->w_get_resource(s, it->fi_type,
		    it->fi_id, &old)) < 0)
			return -1;
	}
	if (rc == STORE_OK) {
		if (old.ri_pid != pid) {
			diag_set(&e->ie_diag, DIAG_PATIENT_CONFLICT, NULL,
			    "this id is already stored for another patient; "
			    "a new version cannot move it");
			return 0;
		}
		if (memcmp(old.ri_hash, it->fi_hash, SHA256_LEN) == 0) {
			/* Retries and replays store nothing new. */
			e->ie_outcome = INGEST_UNCHANGED;
			e->ie_info = old;
			e->ie_resid = xstrdup(it->fi_id);
			*pid_out = pid;
			*affects = merged;
			return 0;
		}
		if (s->s_ops->w_put_resource(s, it, pid, &old, now, &cur) < 0)
			return -1;
		e->ie_outcome = INGEST_UPDATED;
		e->ie_retracted = it->fi_retract && !old.ri_retracted;
		*affects = true;
	} else {
		if (s->s_ops->w_put_resource(s, it, pid, NULL, now, &cur) < 0)
			return -1;
		e->ie_outcome = INGEST_CREATED;
		*affects = it->fi_nfacts > 0 || merged;
	}
	e->ie_info = cur;
	e->ie_resid = xstrdup(it->fi_id);
	*pid_out = pid;
	if (pid == 0)
		*affects = false;
	return 0;
}

/* Count what a committed job stored and assessed (after COMMIT: a request
 * rolled back or redone inside the writer is not counted twice). */
static void
count_outcomes(const struct ingest_job *j)
{
	static const enum metrics_counter unused[] = {
		[FHIR_UNUSED_CODE] = M_UNUSED_CODE,
		[FHIR_UNUSED_UNIT] = M_UNUSED_UNIT,
		[FHIR_UNUSED_STATUS] = M_UNUSED_STATUS,
		[FHIR_UNUSED_ABSENT] = M_UNUSED_ABSENT,
		[FHIR_UNUSED_NOTIME] = M_UNUSED_NOTIME,
		[FHIR_UNUSED_NOVALUE] = M_UNUSED_NOVALUE,
		[FHIR_UNUSED_NOPATIENT] = M_UNUSED_NOPATIENT,
	};
	static const enum metrics_counter assessed[] = {
		[A_NOFACTS] = M_ASSESS_NOFACTS,
		[A_SCOPE] = M_ASSESS_SCOPE,
		[A_SAME] = M_ASSESS_SAME,
		[A_NEW] = M_ASSESS_NEW,
		[A_SUPERSEDED] = M_SUPERSEDED,
		[A_WITHDRAWN] = M_WITHDRAWN,
	};
	const struct ingest_entry *e;
	size_t k;
	int i;

	for (k = 0; k < UTIL_ARRAY_LEN(assessed); k++)
		if (j->ij_assess[k] > 0)
			metrics_add(assessed[k], j->ij_assess[k]);
	for (i = 0; i < j->ij_n; i++) {
		e = &j->ij_entries[i];
		if (!e->ie_apply)
			continue;
		switch (e->ie_outcome) {
		case INGEST_EXISTS:
			metrics_inc(M_RES_EXISTS);
			continue;
		case INGEST_UNCHANGED:
			metrics_inc(M_RES_UNCHANGED);
			continue;
		case INGEST_UPDATED:
			metrics_inc(M_RES_UPDATED);
			if (e->ie_retracted)
				metrics_inc(M_RETRACTED);
			break;
		case INGEST_CREATED:
			metrics_inc(M_RES_CREATED);
			break;
		default:
			continue;
		}
		if ((size_t)e->ie_item.fi_unused < UTIL_ARRAY_LEN(unused) &&
		    e->ie_item.fi_unused != FHIR_USED)
			metrics_inc(unused[e->ie_item.fi_unused]);
	}
}

static void
add_pid(int64_t *pids, int *n, int64_t pid)
{
	int i;

	for (i = 0; i < *n; i++)
		if (pids[i] == pid)
			return;
	if (*n < MAX_PATIENTS_PER_JOB)
		pids[(*n)++] = pid;
}

/* Forget what an attempt at a job left in its entries: it was rolled
 * back, and runs again (DIAG_OK) or fails with code. */
static void
reset_entries(struct ingest_job *j, enum diag_code code, const char *msg)
{
	int i;

	for (i = 0; i < j->ij_n; i++) {
		struct ingest_entry *e = &j->ij_entries[i];

		if (!e->ie_apply)
			continue;
		e->ie_outcome = INGEST_NONE;
		e->ie_retracted = false;
		free(e->ie_resid);
		e->ie_resid = NULL;
		if (code == DIAG_OK)
			diag_clear(&e->ie_diag);
		else
			diag_set(&e->ie_diag, code, NULL, "%s", msg);
	}
}

enum attempt { ATTEMPT_OK, ATTEMPT_STORE_FAILED, ATTEMPT_REJECTED,
    ATTEMPT_AGAIN };

/*
 * One attempt at a job's entries and engine runs, inside savepoint 1.
 * careful: a batch's entries each get a nested savepoint, so a failing
 * entry is undone alone.  Not careful (the common case, and the fast
 * one: SQLite copies every page a savepoint touches): the first failing
 * entry returns ATTEMPT_AGAIN and the caller redoes the job carefully.
 * A transaction's failing entry returns ATTEMPT_REJECTED either way.
 */
static enum attempt
attempt_job(struct store *s, const struct model *m, struct ingest_job *j,
    int64_t now, bool careful, int64_t *pids)
{
	int npids = 0, i, rc;
	int64_t pid;
	bool affects;

	memset(j->ij_assess, 0, sizeof(j->ij_assess));
	for (i = 0; i < j->ij_nresults; i++)
		if (s->s_ops->w_outbox_result(s, &j->ij_results[i], now) < 0)
			return ATTEMPT_STORE_FAILED;
	for (i = 0; i < j->ij_n; i++) {
		struct ingest_entry *e = &j->ij_entries[i];

		if (!e->ie_apply)
			continue;
		if (careful && s->s_ops->w_savepoint(s, 2) != STORE_OK)
			return ATTEMPT_STORE_FAILED;
		rc = apply_entry(s, e, now, &pid, &affects);
		if (rc == -1 && (j->ij_atomic || !careful))
			return j->ij_atomic ? ATTEMPT_STORE_FAILED :
			    ATTEMPT_AGAIN;
		if (rc == -1) {
			s->s_ops->w_rollback_to(s, 2);
			metrics_inc(M_STORE_ERRORS);
			diag_set(&e->ie_diag, DIAG_STORE, NULL, NULL);
			continue;
		}
		if (diag_failed(&e->ie_diag)) {
			if (j->ij_atomic) {
				metrics_inc(M_RES_REJECTED);
				j->ij_diag = e->ie_diag;
				j->ij_failed_entry = i;
				return ATTEMPT_REJECTED;
			}
			if (!careful)
				return ATTEMPT_AGAIN;
			metrics_inc(M_RES_REJECTED);
			s->s_ops->w_rollback_to(s, 2);
			continue;
		}
		if (careful && s->s_ops->w_release(s, 2) != STORE_OK)
			return ATTEMPT_STORE_FAILED;
		if (affects)
			add_pid(pids, &npids, pid);
	}
	/* One engine run per affected patient, whatever the entry count. */
	for (i = 0; i < npids; i++)
		if (assess(s, m, pids[i], now, j->ij_assess) < 0)
			return ATTEMPT_STORE_FAILED;
	/* Then, with each patient's current assessment settled, withdraw
	 * the older ones that rest on what was just entered in error. */
	for (i = 0; i < j->ij_n; i++) {
		struct ingest_entry *e = &j->ij_entries[i];
		int n;

		if (!e->ie_apply || !e->ie_retracted ||
		    e->ie_info.ri_pid == 0 || diag_failed(&e->ie_diag))
			continue;
		if (s->s_ops->w_withdraw_basis(s, e->ie_info.ri_pid,
		    e->ie_item.fi_ref, now, W.delivery, &n) < 0)
			return ATTEMPT_STORE_FAILED;
		j->ij_assess[A_WITHDRAWN] += (uint64_t)n;
	}
	return ATTEMPT_OK;
}

/*
 * Apply one job inside the open transaction, under its own savepoint.
 * A transaction's first failing entry rolls the whole job back; a batch's
 * failing entry is undone alone (by redoing the job carefully).
 */
static void
run_job(struct store *s, const struct model *m, struct ingest_job *j,
    int64_t now)
{
	int64_t *pids;
	enum attempt a;
	int i;

	j->ij_now = now;
	j->ij_failed_entry = -1;
	pids = xmalloc(sizeof(*pids) * (size_t)UTIL_MIN(j->ij_n + 1,
	    MAX_PATIENTS_PER_JOB));
	if (s->s_ops->w_savepoint(s, 1) != STORE_OK)
		goto store_failed;
	a = attempt_job(s, m, j, now, false, pids);
	if (a == ATTEMPT_AGAIN) {
		s->s_ops->w_rollback_to(s, 1);
		reset_entries(j, DIAG_OK, NULL);
		if (s->s_ops->w_savepoint(s, 1) != STORE_OK)
			goto store_failed;
		a = attempt_job(s, m, j, now, true, pids);
	}
	switch (a) {
	case ATTEMPT_OK:
		if (s->s_ops->w_release(s, 1) != STORE_OK)
			goto store_failed;
		free(pids);
		return;
	case ATTEMPT_REJECTED:
		s->s_ops->w_rollback_to(s, 1);
		for (i = 0; i < j->ij_n; i++)
			if (i != j->ij_failed_entry)
				j->ij_entries[i].ie_outcome = INGEST_NONE;
		free(pids);
		return;
	case ATTEMPT_STORE_FAILED:
	case ATTEMPT_AGAIN:
		break;
	}
	s->s_ops->w_rollback_to(s, 1);
store_failed:
	free(pids);
	metrics_inc(M_STORE_ERRORS);
	log_warnx("ingest: a request failed in the store and was rolled back");
	diag_set(&j->ij_diag, DIAG_STORE, NULL, NULL);
	reset_entries(j, DIAG_STORE, diag_text(DIAG_STORE));
}

/* --- the writer thread ---------------------------------------------------------- */

static struct model *
current_model(void)
{
	struct model *m;

	pthread_mutex_lock(&W.mtx);
	m = model_ref(W.model);
	pthread_mutex_unlock(&W.mtx);
	return m;
}

static void
run_batch(struct ingest_job *jobs, long n)
{
	struct store *s = W.store;
	struct model *m = current_model();
	struct ingest_job *j;
	int64_t now = util_now_ms(), t0 = util_mono_us();
	bool ok;

	ok = s->s_ops->w_begin(s) == STORE_OK;
	/* Keep every model version that assessments refer to. */
	if (ok && strcmp(W.recorded_digest, m->m_digest) != 0) {
		if (s->s_ops->w_model_record(s, m->m_digest, m->m_id,
		    m->m_version, m->m_text, now) == STORE_OK)
			util_strlcpy(W.recorded_digest, m->m_digest,
			    sizeof(W.recorded_digest));
		else
			ok = false;
	}
	if (ok) {
		for (j = jobs; j != NULL; j = j->ij_next)
			run_job(s, m, j, now);
		ok = s->s_ops->w_commit(s) == STORE_OK;
	}
	for (j = jobs; ok && j != NULL; j = j->ij_next)
		if (!diag_failed(&j->ij_diag))
			count_outcomes(j);
	if (!ok) {
		/* Nothing of this batch is stored: say so to everyone. */
		s->s_ops->w_rollback(s);
		W.recorded_digest[0] = '\0';
		metrics_inc(M_STORE_ERRORS);
		log_warnx("ingest: commit failed; %ld requests answered 500, "
		    "nothing of them stored", n);
		for (j = jobs; j != NULL; j = j->ij_next) {
			diag_set(&j->ij_diag, DIAG_STORE, NULL, NULL);
			j->ij_failed_entry = -1;
			reset_entries(j, DIAG_STORE, diag_text(DIAG_STORE));
		}
	}
	metrics_observe(MH_COMMIT_SECONDS, (double)(util_mono_us() - t0) / 1e6);
	metrics_observe(MH_COMMIT_BATCH, (double)n);
	model_unref(m);
}

/* Wait on W.cv (W.mtx held) for at most IDLE_BEAT_MS of CLOCK_MONOTONIC,
 * so that a jump of the wall clock cannot stretch the wait. */
static void
wait_for_work(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += IDLE_BEAT_MS / 1000;
	ts.tv_nsec += (long)(IDLE_BEAT_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&W.cv, &W.mtx, &ts);
}

static void *
writer_main(void *arg)
{
	struct ingest_job *batch, *j, *next, *last;
	bool outbox_rows;
	long n;

	util_thread_name("cfy-writer");
	for (;;) {
		pthread_mutex_lock(&W.mtx);
		/* Idle, the writer still beats once a second: the watchdog
		 * pings only while it does (see main.c), so an idle daemon
		 * stays alive and a wedged writer does not. */
		while (W.head == NULL && !W.stopping) {
			atomic_store(&W.heartbeat, util_mono_us());
			wait_for_work();
		}
		/* Stopping with an empty queue: every job was answered. */
		batch = W.head;
		if (batch == NULL) {
			pthread_mutex_unlock(&W.mtx);
			break;
		}
		/* Take up to batch_max jobs: they share one commit. */
		last = batch;
		for (n = 1; last->ij_next != NULL && n < W.batch_max; n++)
			last = last->ij_next;
		W.head = last->ij_next;
		if (W.head == NULL)
			W.tail = NULL;
		last->ij_next = NULL;
		W.depth -= n;
		metrics_gauge_set(MG_QUEUE_DEPTH, (double)W.depth);
		pthread_mutex_unlock(&W.mtx);

		run_batch(batch, n);
		outbox_rows = false;
		for (j = batch; j != NULL; j = next) {
			next = j->ij_next;
			j->ij_next = NULL;
			if (W.delivery && j->ij_n > 0)
				outbox_rows = true;
			j->ij_done(j);
		}
		if (outbox_rows && W.outbox_hook != NULL)
			W.outbox_hook();
		atomic_store(&W.heartbeat, util_mono_us());
	}
	return NULL;
}

static void
apply_config(const struct config *c)
{
	char **l, **old;
	size_t n, nold;

	load_list(c->cf_model_dialysis_patients, &l, &n);
	pthread_mutex_lock(&W.mtx);
	W.max_queue = c->cf_http_max_queue;
	W.batch_max = c->cf_store_batch_max;
	W.scope_all = c->cf_model_scope == CONFIG_SCOPE_ALL;
	pthread_mutex_unlock(&W.mtx);
	pthread_rwlock_wrlock(&W.list_lock);
	old = W.listed;
	nold = W.nlisted;
	W.listed = l;
	W.nlisted = n;
	pthread_rwlock_unlock(&W.list_lock);
	free_list(old, nold);
}

int
ingest_init(struct store *s, const struct config *c, struct model *m,
    const struct terminology *t)
{
	pthread_condattr_t ca;

	/* The idle wait is timed on CLOCK_MONOTONIC (wait_for_work). */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&W.cv);
	pthread_cond_init(&W.cv, &ca);
	pthread_condattr_destroy(&ca);
	W.store = s;
	W.model = m;
	W.delivery = c->cf_hospital_base_url[0] != '\0';
	W.stopping = false;
	atomic_store(&W.terms, t);
	apply_config(c);
	atomic_store(&W.heartbeat, util_mono_us());
	if (pthread_create(&W.thread, NULL, writer_main, NULL) != 0) {
		log_warnx("ingest: cannot start the writer thread");
		return -1;
	}
	W.running = true;
	return 0;
}

void
ingest_fini(void)
{
	if (W.running) {
		pthread_mutex_lock(&W.mtx);
		W.stopping = true;
		pthread_cond_signal(&W.cv);
		pthread_mutex_unlock(&W.mtx);
		pthread_join(W.thread, NULL);
		W.running = false;
	}
	if (W.model != NULL) {
		model_unref(W.model);
		W.model = NULL;
	}
	free_list(W.listed, W.nlisted);
	W.listed = NULL;
	W.nlisted = 0;
}

int
ingest_submit(struct ingest_job *j)
{
	pthread_mutex_lock(&W.mtx);
	if (W.stopping || !W.running) {
		pthread_mutex_unlock(&W.mtx);
		return -2;
	}
	/* Delivery results are never refused: they only shrink work. */
	if (j->ij_nresults == 0 && W.depth >= W.max_queue) {
		pthread_mutex_unlock(&W.mtx);
		return -1;
	}
	diag_clear(&j->ij_diag);
	j->ij_next = NULL;
	if (W.tail != NULL)
		W.tail->ij_next = j;
	else
		W.head = j;
	W.tail = j;
	W.depth++;
	metrics_gauge_set(MG_QUEUE_DEPTH, (double)W.depth);
	pthread_cond_signal(&W.cv);
	pthread_mutex_unlock(&W.mtx);
	return 0;
}

void
ingest_set_model(struct model *m)
{
	struct model *old;

	pthread_mutex_lock(&W.mtx);
	old = W.model;
	W.model = m;
	pthread_mutex_unlock(&W.mtx);
	model_unref(old);
}

struct model *
ingest_model(void)
{
	return current_model();
}

void
ingest_set_terminology(const struct terminology *t)
{
	atomic_store(&W.terms, t);
}

const struct terminology *
ingest_terminology(void)
{
	return atomic_load(&W.terms);
}

void
ingest_reconfigure(const struct config *c)
{
	apply_config(c);
}

void
ingest_set_outbox_hook(void (*fn)(void))
{
	W.outbox_hook = fn;
}

long
ingest_queue_depth(void)
{
	long d;

	pthread_mutex_lock(&W.mtx);
	d = W.depth;
	pthread_mutex_unlock(&W.mtx);
	return d;
}

int64_t
ingest_heartbeat(void)
{
	return atomic_load(&W.heartbeat);
}
