/*
 * test_store.c - the SQLite store: facts folding (latest by effective time,
 * amendments, retraction, aggregates), versions and history, patient keys
 * and merges, assessments and the outbox state machine, schema versions
 * and the migration of an older store after a backup copy (through the
 * test-only migrations of store_sqlite_test.h).
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "fhir.h"
#include "store.h"
#include "store_sqlite_test.h"

#define STORE_STR_(x)	#x
#define STORE_STR(x)	STORE_STR_(x)

static char dir[] = "/tmp/calcify-test-store-XXXXXX";
static char dbpath[256];

struct t {
	struct config	*cfg;
	struct store	*s;
	int64_t		 now;
};

static struct store *
open_store(struct t *t)
{
	const char *ov[2];
	char opt[300];

	snprintf(opt, sizeof(opt), "store.path=%s", dbpath);
	ov[0] = opt;
	ov[1] = "log.level=error";
	t->cfg = config_load(NULL, false, ov, 2, stderr);
	assert_non_null(t->cfg);
	return store_open(t->cfg, false, stderr);
}

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	static int n;

	snprintf(dbpath, sizeof(dbpath), "%s/db%d/calcifyd.db", dir, n++);
	t->s = open_store(t);
	t->now = 1795161600000LL;
	*state = t;
	return t->s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	store_close(t->s);
	config_free(t->cfg);
	free(t);
	return 0;
}

/* A fake extracted item: one fact of one input. */
static void
item(struct fhir_item *it, enum fhir_rtype type, const char *id,
    const char *key, enum input in, double v, int64_t eff, bool usable)
{
	char body[128];

	memset(it, 0, sizeof(*it));
	it->fi_type = type;
	it->fi_id = strdup(id);
	it->fi_client_id = true;
	snprintf(body, sizeof(body), "{\"v\":%g,\"e\":%lld,\"u\":%d}", v,
	    (long long)eff, usable);
	it->fi_body = strdup(body);
	it->fi_bodylen = strlen(body);
	sha256(body, strlen(body), it->fi_hash);
	it->fi_keys[0] = strdup(key);
	it->fi_nkeys = 1;
	it->fi_subject = strdup("{\"reference\":\"Patient/x\"}");
	it->fi_ref = strdup("{\"reference\":\"Observation/x\"}");
	it->fi_facts[0].ff_input = in;
	it->fi_facts[0].ff_value = v;
	it->fi_facts[0].ff_eff = eff;
	it->fi_facts[0].ff_usable = usable;
	it->fi_nfacts = 1;
}

/* Put an item in its own transaction; returns the patient id. */
static int64_t
put(struct t *t, struct fhir_item *it)
{
	struct store_resinfo old, cur;
	const struct store_ops *o = t->s->s_ops;
	int64_t pid;
	bool merged;
	int rc;

	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_patient(t->s, it->fi_keys, it->fi_nkeys,
	    it->fi_subject, t->now, &pid, &merged), STORE_OK);
	rc = o->w_get_resource(t->s, it->fi_type, it->fi_id, &old);
	assert_true(rc >= 0);
	assert_int_equal(o->w_put_resource(t->s, it, pid,
	    rc == STORE_OK ? &old : NULL, t->now++, &cur), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	fhir_item_free(it);
	return pid;
}

static struct fact
fact_of(struct t *t, int64_t pid, enum input in)
{
	struct facts f;

	assert_int_equal(t->s->s_ops->w_load_facts(t->s, pid, &f), STORE_OK);
	return f.fa_f[in];
}

static void
test_store_latest_by_effective_time_not_arrival(void **state)
{
	struct t *t = *state;
	struct fhir_item it;
	int64_t pid;

	item(&it, FHIR_OBSERVATION, "new", "ref:Patient/a", INPUT_CALCIUM,
	    11.0, 2000, true);
	pid = put(t, &it);
	item(&it, FHIR_OBSERVATION, "old", "ref:Patient/a", INPUT_CALCIUM,
	    8.5, 1000, true);
	assert_int_equal(put(t, &it), pid);
	assert_true(fact_of(t, pid, INPUT_CALCIUM).f_value == 11.0);
	/* Equal time: the later arrival wins (an amendment keeps its time). */
	item(&it, FHIR_OBSERVATION, "same", "ref:Patient/a", INPUT_CALCIUM,
	    9.9, 2000, true);
	put(t, &it);
	assert_true(fact_of(t, pid, INPUT_CALCIUM).f_value == 9.9);
}

static void
test_store_retraction_falls_back_to_previous_value(void **state)
{
	struct t *t = *state;
	struct fhir_item it;
	int64_t pid;

	item(&it, FHIR_OBSERVATION, "o1", "ref:Patient/b", INPUT_PHOSPHATE,
	    5.0, 1000, true);
	pid = put(t, &it);
	item(&it, FHIR_OBSERVATION, "o2", "ref:Patient/b", INPUT_PHOSPHATE,
	    7.5, 2000, true);
	put(t, &it);
	assert_true(fact_of(t, pid, INPUT_PHOSPHATE).f_value == 7.5);
	/* o2 entered-in-error: a new version without facts. */
	item(&it, FHIR_OBSERVATION, "o2", "ref:Patient/b", INPUT_PHOSPHATE,
	    7.5, 2000, true);
	it.fi_retract = true;
	it.fi_nfacts = 0;
	free(it.fi_body);
	it.fi_body = strdup("{\"retracted\":true}");
	it.fi_bodylen = strlen(it.fi_body);
	sha256(it.fi_body, it.fi_bodylen, it.fi_hash);
	put(t, &it);
	assert_true(fact_of(t, pid, INPUT_PHOSPHATE).f_value == 5.0);
	/* And o1 retracted too: no phosphate at all. */
	item(&it, FHIR_OBSERVATION, "o1", "ref:Patient/b", INPUT_PHOSPHATE, 5,
	    1000, true);
	it.fi_retract = true;
	it.fi_nfacts = 0;
	free(it.fi_body);
	it.fi_body = strdup("{\"r\":1}");
	it.fi_bodylen = 7;
	sha256(it.fi_body, it.fi_bodylen, it.fi_hash);
	put(t, &it);
	assert_false(fact_of(t, pid, INPUT_PHOSPHATE).f_present);
}

static void
test_store_amendment_replaces_value_and_keeps_history(void **state)
{
	struct t *t = *state;
	struct fhir_item it;
	struct store_resinfo ri;
	struct buf b;
	int64_t pid;

	item(&it, FHIR_OBSERVATION, "am", "ref:Patient/c", INPUT_ALBUMIN, 3.9,
	    1000, true);
	pid = put(t, &it);
	item(&it, FHIR_OBSERVATION, "am", "ref:Patient/c", INPUT_ALBUMIN, 2.9,
	    1000, true);
	put(t, &it);
	assert_true(fact_of(t, pid, INPUT_ALBUMIN).f_value == 2.9);
	buf_init(&b);
	assert_int_equal(t->s->s_ops->r_read_resource(t->s, FHIR_OBSERVATION,
	    "am", 0, &b, &ri), STORE_OK);
	assert_int_equal(ri.ri_version, 2);
	assert_non_null(strstr(b.b_data, "\"versionId\":\"2\""));
	buf_reset(&b);
	assert_int_equal(t->s->s_ops->r_read_resource(t->s, FHIR_OBSERVATION,
	    "am", 1, &b, &ri), STORE_OK);
	assert_non_null(strstr(b.b_data, "\"v\":3.9"));
	buf_reset(&b);
	assert_int_equal(t->s->s_ops->r_read_resource(t->s, FHIR_OBSERVATION,
	    "am", 3, &b, &ri), STORE_NONE);
	buf_free(&b);
}

static void
test_store_unusable_result_is_not_folded_but_marked_skipped(void **state)
{
	struct t *t = *state;
	struct fhir_item it;
	struct facts f;
	int64_t pid;

	item(&it, FHIR_OBSERVATION, "u1", "ref:Patient/d", INPUT_PTH, 400, 1000,
	    true);
	pid = put(t, &it);
	item(&it, FHIR_OBSERVATION, "u2", "ref:Patient/d", INPUT_PTH, 0, 2000,
	    false);
	put(t, &it);
	assert_int_equal(t->s->s_ops->w_load_facts(t->s, pid, &f), STORE_OK);
	assert_true(f.fa_f[INPUT_PTH].f_value == 400);
	assert_true(f.fa_f[INPUT_PTH].f_flags & FACT_SKIPPED_NEWER);
	assert_non_null(facts_skipped_ref(&f, INPUT_PTH));
}

static void
test_store_mean3_and_any_and_sum_fold(void **state)
{
	struct t *t = *state;
	struct fhir_item it;
	int64_t pid;
	struct fact x;
	char id[16];
	int i;
	static const double sbp[] = { 120, 150, 160, 170 };

	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "bp%d", i);
		item(&it, FHIR_OBSERVATION, id, "ref:Patient/e", INPUT_SYSTOLIC,
		    sbp[i], 1000 + i, true);
		pid = put(t, &it);
	}
	/* Mean of the three latest: 150, 160, 170. */
	assert_true(fact_of(t, pid, INPUT_SYSTOLIC).f_value == 160);

	item(&it, FHIR_CONDITION, "d2", "ref:Patient/e", INPUT_DIABETES, 1,
	    5000, true);
	put(t, &it);
	item(&it, FHIR_CONDITION, "d1", "ref:Patient/e", INPUT_DIABETES, 1,
	    3000, true);
	put(t, &it);
	x = fact_of(t, pid, INPUT_DIABETES);
	assert_true(x.f_present);
	assert_int_equal(x.f_eff, 3000);	/* earliest onset */

	item(&it, FHIR_MEDSTATEMENT, "m1", "ref:Patient/e", INPUT_CA_BINDER,
	    600, 1000, true);
	put(t, &it);
	item(&it, FHIR_MEDSTATEMENT, "m2", "ref:Patient/e", INPUT_CA_BINDER,
	    1000, 1000, true);
	put(t, &it);
	assert_true(fact_of(t, pid, INPUT_CA_BINDER).f_value == 1600);
}

static void
test_store_patient_keys_link_and_merge(void **state)
{
	struct t *t = *state;
	const struct store_ops *o = t->s->s_ops;
	struct fhir_item it;
	int64_t p1, p2, pid;
	bool merged;
	char k1[] = "ref:Patient/m", k2[] = "ident:urn:mrn|42";
	char *keys[2] = { k1, k2 };

	item(&it, FHIR_OBSERVATION, "k1", "ref:Patient/m", INPUT_CALCIUM, 9,
	    1000, true);
	p1 = put(t, &it);
	item(&it, FHIR_OBSERVATION, "k2", "ident:urn:mrn|42", INPUT_PHOSPHATE,
	    6, 1000, true);
	p2 = put(t, &it);
	assert_true(p1 != p2);
	/* A Patient resource names both spellings: one patient from now on. */
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_patient(t->s, keys, 2,
	    "{\"reference\":\"Patient/m\"}", t->now, &pid, &merged), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	assert_true(merged);
	assert_int_equal(pid, p1 < p2 ? p1 : p2);
	assert_true(fact_of(t, pid, INPUT_CALCIUM).f_present);
	assert_true(fact_of(t, pid, INPUT_PHOSPHATE).f_present);
	assert_int_equal(o->r_patient_by_key(t->s, "ident:urn:mrn|42", &p2),
	    STORE_OK);
	assert_int_equal(p2, pid);
}

static void
test_store_assessment_identifier_is_unique_and_outbox_supersedes(void **state)
{
	struct t *t = *state;
	const struct store_ops *o = t->s->s_ops;
	struct store_assess_summary sum = { true, { 1.0, 2.0 }, { 1, 1 } };
	struct store_outbox_row rows[8];
	struct store_outbox_result res;
	uint8_t sig[32] = { 1 };
	char outcome[] = "{\"resourceType\":\"OperationOutcome\"}";
	int64_t a1, a2, a3, pend, oldest, dead;
	int sup, n;

	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_add_assessment(t->s, 7, "aa", "dig", "snap",
	    1000, t->now, &sum, sig, true, &a1, &sup), STORE_OK);
	assert_int_equal(sup, 0);
	assert_int_equal(o->w_add_assessment(t->s, 7, "bb", "dig", "snap2",
	    2000, t->now, &sum, sig, true, &a2, &sup), STORE_OK);
	assert_int_equal(sup, 1);	/* the older pending one */
	/* The same identifier again is the same assessment. */
	assert_int_equal(o->w_add_assessment(t->s, 7, "aa", "dig", "snap",
	    1000, t->now, &sum, sig, true, &a3, &sup), STORE_OK);
	assert_int_equal(a3, a1);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	assert_int_equal(o->r_outbox_due(t->s, t->now, 8, rows, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].ob_aid, a1);

	/* A retry moves next_at; a superseded row is not revived by it. */
	memset(&res, 0, sizeof(res));
	res.or_oid = rows[0].ob_oid;
	res.or_state = STORE_OB_PENDING;
	res.or_next_at = t->now + 60000;
	res.or_http_status = 503;
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_outbox_result(t->s, &res, t->now), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	assert_int_equal(o->r_outbox_due(t->s, t->now, 8, rows, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(o->r_outbox_due(t->s, t->now + 60000, 8, rows, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	res.or_state = STORE_OB_DEAD;
	res.or_outcome = outcome;
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_outbox_result(t->s, &res, t->now), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	assert_int_equal(o->r_outbox_stats(t->s, &pend, &oldest, &dead),
	    STORE_OK);
	assert_int_equal(pend, 0);
	assert_int_equal(dead, 1);
}

static void
test_store_returning_input_state_is_newest_again(void **state)
{
	struct t *t = *state;
	const struct store_ops *o = t->s->s_ops;
	struct store_assess_summary sum = { true, { 1.0, 2.0 }, { 1, 1 } };
	struct store_assessment rows[4];
	uint8_t sig[32] = { 2 };
	int64_t a1, a2, a3, total;
	int sup, n, i;

	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_add_assessment(t->s, 9, "s1", "dig", "A", 1, 1,
	    &sum, sig, false, &a1, &sup), STORE_OK);
	assert_int_equal(o->w_add_assessment(t->s, 9, "s2", "dig", "B", 2, 2,
	    &sum, sig, false, &a2, &sup), STORE_OK);
	/* A retraction brings state A back: the same row, now newest. */
	assert_int_equal(o->w_add_assessment(t->s, 9, "s1", "dig", "A", 1, 3,
	    &sum, sig, false, &a3, &sup), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	assert_int_equal(a3, a1);
	assert_int_equal(o->r_assessments(t->s, 9, 0, 4, rows, &n, &total),
	    STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(total, 2);
	assert_int_equal(rows[0].sa_aid, a1);
	assert_int_equal(rows[1].sa_aid, a2);
	for (i = 0; i < n; i++)
		store_assessment_clear(&rows[i]);
}

/* A patient of its own, for outbox tests that need patients.last_aid. */
static int64_t
patient(struct t *t, const char *key)
{
	const struct store_ops *o = t->s->s_ops;
	char *keys[1];
	int64_t pid;
	bool merged;

	keys[0] = strdup(key);
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_patient(t->s, keys, 1,
	    "{\"reference\":\"Patient/x\"}", t->now, &pid, &merged),
	    STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	free(keys[0]);
	return pid;
}

/* Record a new current assessment of pid with an outbox row; its oid. */
static int64_t
assess_enqueue(struct t *t, int64_t pid, const char *ident)
{
	const struct store_ops *o = t->s->s_ops;
	struct store_assess_summary sum = { true, { 1.0, 2.0 }, { 1, 1 } };
	struct store_outbox_row rows[64];
	uint8_t sig[32] = { 3 };
	int64_t aid, oid = 0;
	int sup, n, i;

	sig[1] = (uint8_t)ident[0];
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_add_assessment(t->s, pid, ident, "dig", ident,
	    t->now, t->now, &sum, sig, true, &aid, &sup), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	t->now++;
	assert_int_equal(o->r_outbox_due(t->s, t->now + 1000000, 64, rows, &n),
	    STORE_OK);
	for (i = 0; i < n; i++)
		if (rows[i].ob_aid == aid && rows[i].ob_oid > oid)
			oid = rows[i].ob_oid;
	assert_true(oid > 0);
	return oid;
}

static void
outcome_of(struct t *t, int64_t oid, int state)
{
	const struct store_ops *o = t->s->s_ops;
	struct store_outbox_result res;

	memset(&res, 0, sizeof(res));
	res.or_oid = oid;
	res.or_state = state;
	res.or_http_status = state == STORE_OB_DEAD ? 400 : 201;
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_outbox_result(t->s, &res, t->now), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
}

/* The state of one outbox row, straight from the file. */
static int
row_state(int64_t oid)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT state FROM outbox "
	    "WHERE oid = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, oid);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
test_store_requeue_sends_only_the_patients_newest_assessment(void **state)
{
	struct t *t = *state;
	const struct store_ops *o = t->s->s_ops;
	int64_t p1, p2, p3, p4, a1, b1, a2, b2, a3, b3, a4, b4, a4again;
	int64_t req, sup64;
	int sup;

	/* p1: A refused, then B delivered.  A must never follow B. */
	p1 = patient(t, "ref:Patient/rq1");
	a1 = assess_enqueue(t, p1, "rq1-a");
	outcome_of(t, a1, STORE_OB_DEAD);
	b1 = assess_enqueue(t, p1, "rq1-b");
	outcome_of(t, b1, STORE_OB_DELIVERED);
	/* p2: A refused, B still pending (the server is down). */
	p2 = patient(t, "ref:Patient/rq2");
	a2 = assess_enqueue(t, p2, "rq2-a");
	outcome_of(t, a2, STORE_OB_DEAD);
	b2 = assess_enqueue(t, p2, "rq2-b");
	/* p3: A and B both refused: only B, the newest, goes back. */
	p3 = patient(t, "ref:Patient/rq3");
	a3 = assess_enqueue(t, p3, "rq3-a");
	outcome_of(t, a3, STORE_OB_DEAD);
	b3 = assess_enqueue(t, p3, "rq3-b");
	outcome_of(t, b3, STORE_OB_DEAD);
	/* p4: A refused, B delivered, A current again and refused again:
	 * A is current, and only its newest dead letter goes back. */
	p4 = patient(t, "ref:Patient/rq4");
	a4 = assess_enqueue(t, p4, "rq4-a");
	outcome_of(t, a4, STORE_OB_DEAD);
	b4 = assess_enqueue(t, p4, "rq4-b");
	outcome_of(t, b4, STORE_OB_DELIVERED);
	a4again = assess_enqueue(t, p4, "rq4-a");
	outcome_of(t, a4again, STORE_OB_DEAD);

	/* One by one: p2's old one is superseded, not sent. */
	assert_int_equal(o->a_requeue(t->s, a2, t->now, &sup), 0);
	assert_int_equal(sup, 1);
	assert_int_equal(row_state(a2), STORE_OB_SUPERSEDED);
	assert_int_equal(row_state(b2), STORE_OB_PENDING);

	/* All at once: only the current assessments' newest dead letters. */
	assert_int_equal(o->a_requeue(t->s, 0, t->now, &sup), 2);
	assert_int_equal(sup, 3);
	assert_int_equal(row_state(a1), STORE_OB_SUPERSEDED);
	assert_int_equal(row_state(b1), STORE_OB_DELIVERED);
	assert_int_equal(row_state(a3), STORE_OB_SUPERSEDED);
	assert_int_equal(row_state(b3), STORE_OB_PENDING);
	assert_int_equal(row_state(a4), STORE_OB_SUPERSEDED);
	assert_int_equal(row_state(b4), STORE_OB_DELIVERED);
	assert_int_equal(row_state(a4again), STORE_OB_PENDING);

	/* Nothing is left to requeue; the counts are kept for /metrics. */
	assert_int_equal(o->a_requeue(t->s, 0, t->now, &sup), 0);
	assert_int_equal(sup, 0);
	assert_int_equal(o->r_admin_counts(t->s, &req, &sup64), STORE_OK);
	assert_int_equal(req, 2);
	assert_int_equal(sup64, 4);
}

#define REF_W1	"{\"reference\":\"Observation/w1\"}"
#define REF_WX	"{\"reference\":\"Observation/wx\"}"
/* Snapshots: A rests on w1; B on wx (newer); S uses w1 and only mentions
 * wx, a newer result it skipped (unit not recognised). */
#define SNAP_A	"calcium\t9\t1000\t0\t0\t" REF_W1 "\n"
#define SNAP_B	"calcium\t12\t2000\t0\t0\t" REF_WX "\n"
#define SNAP_S	"calcium\t9\t1000\t0\t0\t" REF_W1 "\t" REF_WX "\n"

/* Make the assessment with identifier ident and snapshot current for
 * pid (reused if it exists); enqueue as in delivery mode.  Its aid. */
static int64_t
current(struct t *t, int64_t pid, const char *ident, const char *snap,
    bool enqueue)
{
	const struct store_ops *o = t->s->s_ops;
	struct store_assess_summary sum = { true, { 1.0, 2.0 }, { 1, 1 } };
	uint8_t sig[32] = { 4 };
	int64_t aid;
	int sup;

	sig[1] = (uint8_t)ident[0];
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_add_assessment(t->s, pid, ident, "dig", snap,
	    1000, t->now, &sum, sig, enqueue, &aid, &sup), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	t->now++;
	return aid;
}

static bool
withdrawn(struct t *t, int64_t aid)
{
	struct store_assessment a;
	bool w;

	assert_int_equal(t->s->s_ops->r_assessment_by_aid(t->s, aid, &a),
	    STORE_OK);
	w = a.sa_withdrawn;
	store_assessment_clear(&a);
	return w;
}

static int
withdraw(struct t *t, int64_t pid, const char *ref, bool enqueue)
{
	const struct store_ops *o = t->s->s_ops;
	int n;

	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_withdraw_basis(t->s, pid, ref, t->now, enqueue,
	    &n), STORE_OK);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	return n;
}

/* The pending outbox rows of aid, as "kind kind ..." (oid order). */
static void
pending_kinds(struct t *t, int64_t aid, char *out, size_t n)
{
	struct store_outbox_row rows[64];
	int nr, i;

	out[0] = '\0';
	assert_int_equal(t->s->s_ops->r_outbox_due(t->s, t->now + 1000000, 64,
	    rows, &nr), STORE_OK);
	for (i = 0; i < nr; i++)
		if (rows[i].ob_aid == aid)
			snprintf(out + strlen(out), n - strlen(out), "%s%d",
			    out[0] != '\0' ? " " : "", rows[i].ob_kind);
}

/* The newest pending row of aid; 0 when none. */
static int64_t
pending_oid(struct t *t, int64_t aid)
{
	struct store_outbox_row rows[64];
	int64_t oid = 0;
	int nr, i;

	assert_int_equal(t->s->s_ops->r_outbox_due(t->s, t->now + 1000000, 64,
	    rows, &nr), STORE_OK);
	for (i = 0; i < nr; i++)
		if (rows[i].ob_aid == aid && rows[i].ob_oid > oid)
			oid = rows[i].ob_oid;
	return oid;
}

static void
test_store_retraction_withdraws_the_assessments_resting_on_it(void **state)
{
	struct t *t = *state;
	int64_t pid, a, s, b, d;
	char k[64];

	/* A (w1) delivered, S (w1, wx skipped), B (wx) delivered; wx is
	 * entered in error and the patient is back in state A. */
	pid = patient(t, "ref:Patient/wd1");
	a = current(t, pid, "wd-a", SNAP_A, true);
	outcome_of(t, pending_oid(t, a), STORE_OB_DELIVERED);
	s = current(t, pid, "wd-s", SNAP_S, true);
	b = current(t, pid, "wd-b", SNAP_B, true);
	outcome_of(t, pending_oid(t, b), STORE_OB_DELIVERED);
	assert_int_equal(current(t, pid, "wd-a", SNAP_A, true), a);
	assert_int_equal(withdraw(t, pid, REF_WX, true), 1);
	/* B rests on wx: withdrawn, and an update takes that to the server.
	 * S only mentions it; A is current and never rested on it. */
	assert_true(withdrawn(t, b));
	assert_false(withdrawn(t, s));
	assert_false(withdrawn(t, a));
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "1");
	pending_kinds(t, a, k, sizeof(k));
	assert_string_equal(k, "0");
	/* S was superseded before any attempt: it never reached the server,
	 * and it is not withdrawn anyway. */
	pending_kinds(t, s, k, sizeof(k));
	assert_string_equal(k, "");
	/* Again: nothing more to withdraw, no second update. */
	assert_int_equal(withdraw(t, pid, REF_WX, true), 0);
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "1");

	/* A newer assessment supersedes A's create, not B's withdrawal. */
	d = current(t, pid, "wd-d", SNAP_S, true);
	pending_kinds(t, a, k, sizeof(k));
	assert_string_equal(k, "");
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "1");
	pending_kinds(t, d, k, sizeof(k));
	assert_string_equal(k, "0");

	/* The retraction is undone: B's inputs are the facts again.  B is
	 * current, no longer withdrawn, and one update restores it. */
	assert_int_equal(current(t, pid, "wd-b", SNAP_B, true), b);
	assert_false(withdrawn(t, b));
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "1");
	outcome_of(t, pending_oid(t, b), STORE_OB_DELIVERED);
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "");
}

static void
test_store_withdrawn_create_delivered_late_gets_its_update(void **state)
{
	struct t *t = *state;
	int64_t pid, a, b, boid;
	char k[64];

	/* B's create is in flight (never attempted as far as the store
	 * knows) when wx is retracted: it looks as if B never reached the
	 * server, so no update is queued ... */
	pid = patient(t, "ref:Patient/wd2");
	a = current(t, pid, "wd2-a", SNAP_A, true);
	outcome_of(t, pending_oid(t, a), STORE_OB_DELIVERED);
	b = current(t, pid, "wd2-b", SNAP_B, true);
	boid = pending_oid(t, b);
	assert_true(boid > 0);
	assert_int_equal(current(t, pid, "wd2-a", SNAP_A, true), a);
	assert_int_equal(withdraw(t, pid, REF_WX, true), 1);
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "");
	/* ... until its answer comes: delivered after all, so the update
	 * that withdraws it follows. */
	outcome_of(t, boid, STORE_OB_DELIVERED);
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "1");
	/* A refused withdrawal is requeued although B is not current: it
	 * makes an old assessment stop looking current. */
	boid = pending_oid(t, b);
	outcome_of(t, boid, STORE_OB_DEAD);
	{
		int sup;

		assert_int_equal(t->s->s_ops->a_requeue(t->s, boid, t->now,
		    &sup), 1);
		assert_int_equal(sup, 0);
	}
	assert_int_equal(row_state(boid), STORE_OB_PENDING);
}

static void
test_store_embedded_mode_withdraws_without_outbox_rows(void **state)
{
	struct t *t = *state;
	int64_t pid, b;
	char k[64];

	pid = patient(t, "ref:Patient/wd3");
	(void)current(t, pid, "wd3-a", SNAP_A, false);
	b = current(t, pid, "wd3-b", SNAP_B, false);
	(void)current(t, pid, "wd3-a", SNAP_A, false);
	assert_int_equal(withdraw(t, pid, REF_WX, false), 1);
	assert_true(withdrawn(t, b));
	pending_kinds(t, b, k, sizeof(k));
	assert_string_equal(k, "");
}

static void
test_store_version_1_store_is_migrated(void **state)
{
	struct t *t = *state;
	int64_t pid, a;
	sqlite3 *db;

	pid = patient(t, "ref:Patient/mig");
	a = current(t, pid, "mig-a", SNAP_A, true);
	/* Take the file back to version 1's shape. */
	store_close(t->s);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX outbox_aid; "
	    "ALTER TABLE outbox DROP COLUMN kind; ALTER TABLE assessments "
	    "DROP COLUMN withdrawn; PRAGMA user_version = 1", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	t->s = store_open(t->cfg, false, stderr);
	assert_non_null(t->s);
	assert_false(withdrawn(t, a));
	assert_int_equal(pending_oid(t, a) > 0, 1);
	assert_int_equal(withdraw(t, pid, REF_W1, true), 0);
}

static void
test_store_file_is_private_and_newer_schema_refused(void **state)
{
	struct t *t = *state;
	struct stat st;
	sqlite3 *db;
	struct store *again;
	char err[512] = "";
	FILE *ef;

	assert_int_equal(stat(dbpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	store_close(t->s);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ef = fmemopen(err, sizeof(err), "w");
	again = store_open(t->cfg, false, ef);
	fclose(ef);
	assert_null(again);
	assert_non_null(strstr(err, "newer than this calcifyd understands"));
	/* Restore for teardown. */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA user_version = " STORE_STR(STORE_SCHEMA_VERSION),
	    NULL, NULL, NULL);
	sqlite3_close(db);
	t->s = store_open(t->cfg, false, stderr);
	assert_non_null(t->s);
}

static void
test_store_failed_savepoint_harms_nothing(void **state)
{
	struct t *t = *state;
	const struct store_ops *o = t->s->s_ops;
	struct fhir_item it;
	struct store_resinfo cur;
	int64_t pid;
	bool merged;

	item(&it, FHIR_OBSERVATION, "keep", "ref:Patient/f", INPUT_CALCIUM, 9,
	    1000, true);
	pid = put(t, &it);
	item(&it, FHIR_OBSERVATION, "drop", "ref:Patient/f", INPUT_CALCIUM, 12,
	    2000, true);
	assert_int_equal(o->w_begin(t->s), STORE_OK);
	assert_int_equal(o->w_savepoint(t->s, 1), STORE_OK);
	assert_int_equal(o->w_patient(t->s, it.fi_keys, 1, it.fi_subject,
	    t->now, &pid, &merged), STORE_OK);
	assert_int_equal(o->w_put_resource(t->s, &it, pid, NULL, t->now,
	    &cur), STORE_OK);
	o->w_rollback_to(t->s, 1);
	assert_int_equal(o->w_commit(t->s), STORE_OK);
	fhir_item_free(&it);
	assert_true(fact_of(t, pid, INPUT_CALCIUM).f_value == 9);
	assert_int_equal(o->w_get_resource(t->s, FHIR_OBSERVATION, "drop",
	    &cur), STORE_NONE);
}

/* One integer from SQL on the database file at path (-1 on error). */
static int
sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The backup copies of dbpath (PATH.pre-vTO-TIME.bak): how many, and the
 * path of the last one seen in out. */
static int
backups(int to, char *out, size_t n)
{
	char d[256], prefix[300];
	const char *base;
	struct dirent *e;
	size_t pl;
	DIR *dp;
	int count = 0;

	snprintf(d, sizeof(d), "%s", dbpath);
	*strrchr(d, '/') = '\0';
	base = strrchr(dbpath, '/') + 1;
	snprintf(prefix, sizeof(prefix), "%s.pre-v%d-", base, to);
	pl = strlen(prefix);
	assert_non_null(dp = opendir(d));
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);

		if (strncmp(e->d_name, prefix, pl) != 0 || l < pl + 5 ||
		    strcmp(e->d_name + l - 4, ".bak") != 0 ||
		    strspn(e->d_name + pl, "0123456789") != l - pl - 4)
			continue;
		snprintf(out, n, "%s/%s", d, e->d_name);
		count++;
	}
	closedir(dp);
	return count;
}

/* A store left by an older build (schema N) opened by a build that knows
 * one migration more: a backup copy of the old file comes first, then the
 * migration, and both the data and the new schema are there. */
static void
test_store_older_schema_is_backed_up_then_migrated(void **state)
{
	static const char *const extra[] = {
		"CREATE TABLE migration_probe (x INTEGER NOT NULL);"
		"INSERT INTO migration_probe VALUES (42);",
	};
	const int old = STORE_SCHEMA_VERSION, to = STORE_SCHEMA_VERSION + 1;
	struct t *t = *state;
	struct fhir_item it;
	struct stat st;
	char bak[512];
	int64_t pid;

	item(&it, FHIR_OBSERVATION, "before", "ref:Patient/m", INPUT_CALCIUM,
	    9.4, 1000, true);
	pid = put(t, &it);
	store_close(t->s);
	t->s = NULL;
	assert_int_equal(backups(to, bak, sizeof(bak)), 0);

	store_sqlite_test_migrations(extra, 1);
	t->s = store_open(t->cfg, false, stderr);
	assert_non_null(t->s);
	/* Migrated: new schema, the probe's row, the old data intact. */
	assert_int_equal(sql_int(dbpath, "PRAGMA user_version"), to);
	assert_int_equal(sql_int(dbpath, "SELECT x FROM migration_probe"), 42);
	assert_true(fact_of(t, pid, INPUT_CALCIUM).f_value == 9.4);
	/* Backed up first: one copy, private, still at the old schema,
	 * holding the data and nothing of the migration. */
	assert_int_equal(backups(to, bak, sizeof(bak)), 1);
	assert_int_equal(stat(bak, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sql_int(bak, "PRAGMA user_version"), old);
	assert_int_equal(sql_int(bak, "SELECT count(*) FROM resources WHERE "
	    "id = 'before'"), 1);
	assert_int_equal(sql_int(bak, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'migration_probe'"), 0);
	/* Opening again migrates nothing and copies nothing. */
	store_close(t->s);
	t->s = store_open(t->cfg, false, stderr);
	assert_non_null(t->s);
	assert_int_equal(backups(to, bak, sizeof(bak)), 1);
	store_close(t->s);
	t->s = NULL;
	/* The built-in build now finds a newer store and refuses it. */
	store_sqlite_test_migrations(NULL, 0);
	assert_null(store_open(t->cfg, false, stderr));
	assert_int_equal(sql_int(dbpath, "PRAGMA user_version"), to);
}

/* A migration that fails leaves the store at its old schema with nothing
 * of the failed step applied, the backup taken, and the open refused. */
static void
test_store_failed_migration_rolls_back_and_refuses_to_open(void **state)
{
	static const char *const extra[] = {
		"CREATE TABLE half_done (x INTEGER);"
		"INSERT INTO no_such_table VALUES (1);",
	};
	const int old = STORE_SCHEMA_VERSION, to = STORE_SCHEMA_VERSION + 1;
	struct t *t = *state;
	char err[512] = "", bak[512];
	FILE *ef;

	store_close(t->s);
	t->s = NULL;
	store_sqlite_test_migrations(extra, 1);
	ef = fmemopen(err, sizeof(err), "w");
	t->s = store_open(t->cfg, false, ef);
	fclose(ef);
	store_sqlite_test_migrations(NULL, 0);
	assert_null(t->s);
	assert_non_null(strstr(err, "migration to schema v"));
	assert_int_equal(sql_int(dbpath, "PRAGMA user_version"), old);
	assert_int_equal(sql_int(dbpath, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'half_done'"), 0);
	assert_int_equal(backups(to, bak, sizeof(bak)), 1);
	/* The built-in build still opens it. */
	t->s = store_open(t->cfg, false, stderr);
	assert_non_null(t->s);
}

/* calcifyctl opens read-only: an older store is neither migrated nor
 * copied; it is told to start calcifyd once. */
static void
test_store_readonly_open_does_not_migrate_an_older_store(void **state)
{
	static const char *const extra[] = {
		"CREATE TABLE migration_probe (x INTEGER);",
	};
	struct t *t = *state;
	char err[512] = "", bak[512];
	struct store *ro;
	FILE *ef;

	store_close(t->s);
	t->s = NULL;
	store_sqlite_test_migrations(extra, 1);
	ef = fmemopen(err, sizeof(err), "w");
	ro = store_open(t->cfg, true, ef);
	fclose(ef);
	store_sqlite_test_migrations(NULL, 0);
	assert_null(ro);
	assert_non_null(strstr(err, "needs migration; start calcifyd once"));
	assert_int_equal(sql_int(dbpath, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(backups(STORE_SCHEMA_VERSION + 1, bak, sizeof(bak)),
	    0);
	t->s = store_open(t->cfg, false, stderr);
	assert_non_null(t->s);
}

static int
group_setup(void **state)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_store_latest_by_effective_time_not_arrival),
		T(test_store_retraction_falls_back_to_previous_value),
		T(test_store_amendment_replaces_value_and_keeps_history),
		T(test_store_unusable_result_is_not_folded_but_marked_skipped),
		T(test_store_mean3_and_any_and_sum_fold),
		T(test_store_patient_keys_link_and_merge),
		T(test_store_assessment_identifier_is_unique_and_outbox_supersedes),
		T(test_store_returning_input_state_is_newest_again),
		T(test_store_requeue_sends_only_the_patients_newest_assessment),
		T(test_store_retraction_withdraws_the_assessments_resting_on_it),
		T(test_store_withdrawn_create_delivered_late_gets_its_update),
		T(test_store_embedded_mode_withdraws_without_outbox_rows),
		T(test_store_version_1_store_is_migrated),
		T(test_store_file_is_private_and_newer_schema_refused),
		T(test_store_failed_savepoint_harms_nothing),
		T(test_store_older_schema_is_backed_up_then_migrated),
		T(test_store_failed_migration_rolls_back_and_refuses_to_open),
		T(test_store_readonly_open_does_not_migrate_an_older_store),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
