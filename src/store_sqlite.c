/*
 * store_sqlite.c - the embedded SQLite backend of store.h.
 *
 * One writer connection (used only by the store writer thread), one read
 * connection per reading thread, and a checkpoint thread so the writer
 * never pays for WAL checkpoints on its commit path.  WAL mode; synchronous
 * FULL by default, so a COMMIT is on disk before any request in it is
 * answered (ARCHITECTURE.md "Acknowledged means durable").
 *
 * Facts are folded here (inputs.h kinds): rfacts keeps every fact every
 * resource version contributes; facts keeps the folded value per (patient,
 * input).  A new latest result takes a fast path (compare and replace);
 * amendments, retractions, merges and aggregate kinds recompute from
 * rfacts.  No SQL leaves this file.
 */
#include "autoconfig.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "inputs.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_sqlite_test.h"
#include "util.h"

/* --- schema ------------------------------------------------------------- */

/* migrations[i] takes a store from user_version i to i + 1.  Never edit a
 * released migration; append a new one and bump STORE_SCHEMA_VERSION. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: initial schema */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
	"CREATE TABLE patients ("
	"  pid INTEGER PRIMARY KEY,"
	"  subject TEXT NOT NULL,"
	"  literal INTEGER NOT NULL DEFAULT 0,"
	"  sig BLOB,"
	"  last_aid INTEGER,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE patient_keys (key TEXT PRIMARY KEY,"
	"  pid INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX patient_keys_pid ON patient_keys(pid);"
	"CREATE TABLE resources ("
	"  rid INTEGER PRIMARY KEY,"
	"  type INTEGER NOT NULL,"
	"  id TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  retracted INTEGER NOT NULL,"
	"  body TEXT NOT NULL);"
	"CREATE UNIQUE INDEX resources_id ON resources(type, id);"
	"CREATE INDEX resources_pid ON resources(pid);"
	"CREATE TABLE history (rid INTEGER NOT NULL, version INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL, body TEXT NOT NULL,"
	"  PRIMARY KEY (rid, version)) WITHOUT ROWID;"
	"CREATE TABLE idents (ident TEXT NOT NULL, type INTEGER NOT NULL,"
	"  rid INTEGER NOT NULL, PRIMARY KEY (ident, type, rid)) WITHOUT ROWID;"
	"CREATE INDEX idents_rid ON idents(rid);"
	"CREATE TABLE rfacts (pid INTEGER NOT NULL, input INTEGER NOT NULL,"
	"  eff INTEGER NOT NULL, rid INTEGER NOT NULL, value REAL NOT NULL,"
	"  flags INTEGER NOT NULL, aux REAL NOT NULL, usable INTEGER NOT NULL,"
	"  ref TEXT, PRIMARY KEY (pid, input, eff, rid)) WITHOUT ROWID;"
	"CREATE INDEX rfacts_rid ON rfacts(rid);"
	"CREATE TABLE facts (pid INTEGER NOT NULL, input INTEGER NOT NULL,"
	"  value REAL NOT NULL, eff INTEGER NOT NULL, flags INTEGER NOT NULL,"
	"  aux REAL NOT NULL, rid INTEGER, ref TEXT, skip_eff INTEGER,"
	"  skip_ref TEXT, PRIMARY KEY (pid, input)) WITHOUT ROWID;"
	"CREATE TABLE models (digest TEXT PRIMARY KEY, id TEXT NOT NULL,"
	"  version TEXT NOT NULL, body TEXT NOT NULL,"
	"  first_used INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE assessments ("
	"  aid INTEGER PRIMARY KEY,"
	"  pid INTEGER NOT NULL,"
	"  identifier TEXT NOT NULL UNIQUE,"
	"  model TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  final INTEGER NOT NULL,"
	"  prob_c REAL, prob_v REAL, band_c INTEGER, band_v INTEGER,"
	"  ord INTEGER NOT NULL,"
	"  snapshot TEXT NOT NULL);"
	"CREATE INDEX assessments_pid ON assessments(pid, ord);"
	"CREATE TABLE outbox ("
	"  oid INTEGER PRIMARY KEY,"
	"  aid INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  enqueued INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  last_status INTEGER, last_error TEXT, outcome TEXT);"
	"CREATE INDEX outbox_due ON outbox(next_at, oid) WHERE state = 0;"
	"CREATE INDEX outbox_pid ON outbox(pid) WHERE state = 0;"
	"CREATE INDEX outbox_dead ON outbox(oid) WHERE state = 3;",
	/* 1 -> 2: withdrawn assessments (they rest on data entered in
	 * error) and the outbox rows that update the server's copy; the
	 * index finds an assessment's rows, which withdrawing and requeue
	 * ask for. */
	"ALTER TABLE assessments ADD COLUMN withdrawn INTEGER NOT NULL "
	"  DEFAULT 0;"
	"ALTER TABLE outbox ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX outbox_aid ON outbox(aid);",
};

/* Migrations a unit test appends after the built-in ones (see
 * store_sqlite_test.h); none in the daemon. */
static const char *const	*extra_migrations;
static int			 nextra_migrations;

void
store_sqlite_test_migrations(const char *const *extra, int n)
{
	extra_migrations = n > 0 ? extra : NULL;
	nextra_migrations = n > 0 ? n : 0;
}

/* The schema version this build migrates to. */
static int
schema_version(void)
{
	return STORE_SCHEMA_VERSION + nextra_migrations;
}

/* The SQL taking a store from version i to i + 1. */
static const char *
migration(int i)
{
	assert(i >= 0 && i < schema_version());
	if (i < STORE_SCHEMA_VERSION)
		return migrations[i];
	return extra_migrations[i - STORE_SCHEMA_VERSION];
}

/* --- statements ----------------------------------------------------------- */

enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_KEY_GET, S_KEY_PUT, S_PAT_NEW, S_PAT_SUBJ_GET, S_PAT_SUBJ_SET,
	S_RES_GET, S_RES_BY_RID, S_RES_INS, S_RES_TO_HIST, S_RES_UPD,
	S_IDENT_DEL, S_IDENT_INS, S_IDENT_MATCH, S_IDENT_SAME,
	S_RF_INPUTS_OF, S_RF_DEL, S_RF_INS,
	S_F_GET, S_F_PUT, S_F_DEL, S_F_SKIP, S_F_LOAD,
	S_RF_LATEST, S_RF_LATEST_SKIP, S_RF_ALL,
	S_SIG_GET, S_KEYS_OF,
	S_A_INS, S_A_REVIVE, S_PAT_SET_SIG, S_OB_SUPERSEDE, S_OB_INS,
	S_OB_DELIVERED, S_OB_RETRY, S_OB_DEAD, S_OB_FOLLOW_UP, S_MODEL_INS,
	S_W_CANDIDATES, S_W_MARK, S_W_AT_SERVER,
	S_COUNT
};

/*
 * Writes say OR FAIL: inside a transaction SQLite otherwise wraps every
 * statement that touches an index in a statement savepoint (so ABORT can
 * undo half a statement), and opening and releasing those was a fifth of
 * the writer's time.  A failed statement fails its request, and the
 * request's own savepoint (or the batch) is rolled back, so partial
 * changes never survive.
 */
static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_KEY_GET] = "SELECT pid FROM patient_keys WHERE key = ?1",
	[S_KEY_PUT] = "INSERT OR FAIL INTO patient_keys (key, pid) "
	    "VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET pid = excluded.pid",
	[S_PAT_NEW] = "INSERT OR FAIL INTO patients (subject, literal, created) "
	    "VALUES (?1, ?2, ?3)",
	[S_PAT_SUBJ_GET] = "SELECT literal FROM patients WHERE pid = ?1",
	[S_PAT_SUBJ_SET] = "UPDATE OR FAIL patients SET subject = ?2, literal = 1 "
	    "WHERE pid = ?1",
	[S_RES_GET] = "SELECT rid, pid, version, updated, retracted, hash "
	    "FROM resources WHERE type = ?1 AND id = ?2",
	[S_RES_BY_RID] = "SELECT rid, pid, version, updated, retracted, hash, "
	    "id FROM resources WHERE rid = ?1",
	[S_RES_INS] = "INSERT OR FAIL INTO resources (type, id, version, pid, hash, "
	    "updated, retracted, body) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
	[S_RES_TO_HIST] = "INSERT OR FAIL INTO history (rid, version, "
	    "updated, body) SELECT rid, version, updated, body FROM resources "
	    "WHERE rid = ?1 ON CONFLICT (rid, version) DO UPDATE SET "
	    "updated = excluded.updated, body = excluded.body",
	[S_RES_UPD] = "UPDATE OR FAIL resources SET version = ?2, hash = ?3, "
	    "updated = ?4, retracted = ?5, body = ?6 WHERE rid = ?1",
	[S_IDENT_DEL] = "DELETE FROM idents WHERE rid = ?1",
	[S_IDENT_INS] = "INSERT OR IGNORE INTO idents (ident, type, rid) "
	    "VALUES (?1, ?2, ?3)",
	[S_IDENT_MATCH] = "SELECT rid FROM idents WHERE ident = ?1 AND "
	    "type = ?2 ORDER BY rid LIMIT ?3",
	[S_IDENT_SAME] = "SELECT r.rid, r.body FROM idents i JOIN resources r "
	    "ON r.rid = i.rid WHERE i.ident = ?1 AND i.type = ?2 AND "
	    "r.pid = ?3 ORDER BY r.rid LIMIT ?4",
	[S_RF_INPUTS_OF] = "SELECT DISTINCT input FROM rfacts WHERE rid = ?1",
	[S_RF_DEL] = "DELETE FROM rfacts WHERE rid = ?1",
	[S_RF_INS] = "INSERT OR FAIL INTO rfacts (pid, input, eff, rid, "
	    "value, flags, aux, usable, ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9) ON CONFLICT (pid, input, eff, rid) DO UPDATE SET "
	    "value = excluded.value, flags = excluded.flags, aux = "
	    "excluded.aux, usable = excluded.usable, ref = excluded.ref",
	[S_F_GET] = "SELECT eff, rid, skip_eff FROM facts WHERE pid = ?1 AND "
	    "input = ?2",
	[S_F_PUT] = "INSERT OR FAIL INTO facts (pid, input, value, eff, flags, aux, "
	    "rid, ref, skip_eff, skip_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10) ON CONFLICT (pid, input) DO UPDATE SET "
	    "value = excluded.value, eff = excluded.eff, flags = "
	    "excluded.flags, aux = excluded.aux, rid = excluded.rid, ref = "
	    "excluded.ref, skip_eff = CASE WHEN facts.skip_eff > excluded.eff "
	    "THEN facts.skip_eff ELSE excluded.skip_eff END, skip_ref = CASE "
	    "WHEN facts.skip_eff > excluded.eff THEN facts.skip_ref ELSE "
	    "excluded.skip_ref END",
	[S_F_DEL] = "DELETE FROM facts WHERE pid = ?1 AND input = ?2",
	[S_F_SKIP] = "UPDATE OR FAIL facts SET skip_eff = ?3, skip_ref = ?4 WHERE "
	    "pid = ?1 AND input = ?2",
	[S_F_LOAD] = "SELECT input, value, eff, flags, aux, ref, skip_ref "
	    "FROM facts WHERE pid = ?1",
	[S_RF_LATEST] = "SELECT value, eff, flags, aux, rid, ref FROM rfacts "
	    "WHERE pid = ?1 AND input = ?2 AND usable = 1 ORDER BY eff DESC, "
	    "rid DESC LIMIT ?3",
	[S_RF_LATEST_SKIP] = "SELECT eff, ref FROM rfacts WHERE pid = ?1 AND "
	    "input = ?2 AND usable = 0 ORDER BY eff DESC, rid DESC LIMIT 1",
	[S_RF_ALL] = "SELECT value, eff, flags, aux, rid, ref FROM rfacts "
	    "WHERE pid = ?1 AND input = ?2 AND usable = 1 ORDER BY "
	    "(flags & 8), eff ASC, rid ASC",
	[S_SIG_GET] = "SELECT sig, subject FROM patients WHERE pid = ?1",
	[S_KEYS_OF] = "SELECT key FROM patient_keys WHERE pid = ?1",
	/* ord: the patient's assessments in the order they became current,
	 * so an earlier input state that returns (a retraction) is newest
	 * again in searches. */
	[S_A_INS] = "INSERT OR FAIL INTO assessments (pid, identifier, model, created, "
	    "at, final, prob_c, prob_v, band_c, band_v, snapshot, ord) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT "
	    "coalesce(max(ord), 0) + 1 FROM assessments WHERE pid = ?1)) ON "
	    "CONFLICT (identifier) DO UPDATE SET ord = (SELECT max(ord) + 1 "
	    "FROM assessments WHERE pid = ?1) RETURNING aid, withdrawn",
	[S_A_REVIVE] = "UPDATE OR FAIL assessments SET withdrawn = 0 WHERE "
	    "aid = ?1",
	[S_PAT_SET_SIG] = "UPDATE OR FAIL patients SET sig = ?2, last_aid = ?3 WHERE "
	    "pid = ?1",
	/* Withdrawing updates are corrections, not versions of the current
	 * assessment: a newer one does not make them moot. */
	[S_OB_SUPERSEDE] = "UPDATE OR FAIL outbox SET state = 2, updated = ?2 WHERE "
	    "pid = ?1 AND state = 0 AND NOT (kind = 1 AND aid IN (SELECT aid "
	    "FROM assessments WHERE pid = ?1 AND withdrawn = 1))",
	[S_OB_INS] = "INSERT OR FAIL INTO outbox (aid, pid, state, next_at, enqueued, "
	    "updated, kind) VALUES (?1, ?2, 0, ?3, ?3, ?3, ?4)",
	/* Delivered wins over superseded: it happened. */
	[S_OB_DELIVERED] = "UPDATE OR FAIL outbox SET state = 1, attempts = attempts "
	    "+ 1, updated = ?2, last_status = ?3, last_error = ?4 WHERE "
	    "oid = ?1",
	/* A retry or dead letter changes the state only while still pending:
	 * a superseded row stays superseded, but its attempt is counted, for
	 * a request whose answer was lost may have reached the server. */
	[S_OB_RETRY] = "UPDATE OR FAIL outbox SET attempts = attempts + 1, next_at = "
	    "CASE WHEN state = 0 THEN ?3 ELSE next_at END, updated = ?2, "
	    "last_status = ?4, last_error = ?5 WHERE oid = ?1 AND state IN "
	    "(0, 2)",
	[S_OB_DEAD] = "UPDATE OR FAIL outbox SET state = 3, attempts = attempts + 1, "
	    "updated = ?2, last_status = ?3, last_error = ?4, outcome = ?5 "
	    "WHERE oid = ?1 AND state = 0",
	/* A create that reached (or may have reached) the server after its
	 * assessment was withdrawn -- it was in flight meanwhile -- needs the
	 * update that withdraws it there, unless one is waiting already. */
	[S_OB_FOLLOW_UP] = "INSERT OR FAIL INTO outbox (aid, pid, state, next_at, "
	    "enqueued, updated, kind) SELECT o.aid, o.pid, 0, ?2, ?2, ?2, 1 "
	    "FROM outbox o JOIN assessments a ON a.aid = o.aid WHERE o.oid = "
	    "?1 AND o.kind = 0 AND a.withdrawn = 1 AND NOT EXISTS (SELECT 1 "
	    "FROM outbox u WHERE u.aid = o.aid AND u.kind = 1 AND u.state = 0)",
	[S_MODEL_INS] = "INSERT OR IGNORE INTO models (digest, id, version, "
	    "body, first_used) VALUES (?1, ?2, ?3, ?4, ?5)",
	/* instr() narrows; the snapshot is then parsed to match the
	 * reference of a used fact exactly (not a skipped result's). */
	[S_W_CANDIDATES] = "SELECT aid, snapshot FROM assessments WHERE pid = ?1 "
	    "AND withdrawn = 0 AND aid IS NOT (SELECT last_aid FROM patients "
	    "WHERE pid = ?1) AND instr(snapshot, ?2) > 0",
	[S_W_MARK] = "UPDATE OR FAIL assessments SET withdrawn = 1 WHERE aid = "
	    "?1",
	/* May the server hold it?  Delivered, waiting (perhaps in flight),
	 * or attempted with the answer unknown.  And no update waits yet. */
	[S_W_AT_SERVER] = "SELECT EXISTS (SELECT 1 FROM outbox WHERE aid = ?1 "
	    "AND (state IN (0, 1) OR attempts > 0)) AND NOT EXISTS (SELECT 1 "
	    "FROM outbox WHERE aid = ?1 AND kind = 1 AND state = 0)",
};

enum rstmt {
	R_RES_CUR, R_RES_HIST, R_KEY_GET, R_A_LIST, R_A_COUNT, R_A_GET,
	R_A_BY_AID, R_A_PATIENT, R_MODEL, R_OB_DUE, R_OB_NEXT, R_OB_STATS,
	R_F_LOAD, R_DEAD,
	R_COUNT
};

static const char *const rstmt_sql[R_COUNT] = {
	[R_RES_CUR] = "SELECT rid, pid, version, updated, retracted, hash, body "
	    "FROM resources WHERE type = ?1 AND id = ?2",
	[R_RES_HIST] = "SELECT h.updated, h.body FROM history h JOIN "
	    "resources r ON r.rid = h.rid WHERE r.type = ?1 AND r.id = ?2 "
	    "AND h.version = ?3",
	[R_KEY_GET] = "SELECT pid FROM patient_keys WHERE key = ?1",
	[R_A_LIST] = "SELECT aid FROM assessments WHERE pid = ?1 ORDER BY ord "
	    "DESC, aid DESC LIMIT ?2 OFFSET ?3",
	[R_A_COUNT] = "SELECT count(*) FROM assessments WHERE pid = ?1",
	[R_A_GET] = "SELECT a.aid, a.pid, a.identifier, a.model, a.created, "
	    "a.at, a.snapshot, p.subject, a.withdrawn FROM assessments a LEFT "
	    "JOIN patients p ON p.pid = a.pid WHERE a.identifier = ?1",
	[R_A_BY_AID] = "SELECT a.aid, a.pid, a.identifier, a.model, a.created, "
	    "a.at, a.snapshot, p.subject, a.withdrawn FROM assessments a LEFT "
	    "JOIN patients p ON p.pid = a.pid WHERE a.aid = ?1",
	[R_A_PATIENT] = "SELECT key FROM patient_keys WHERE pid = ?1 ORDER BY "
	    "key LIMIT 1",
	[R_MODEL] = "SELECT body FROM models WHERE digest = ?1",
	[R_OB_DUE] = "SELECT oid, aid, pid, state, attempts, next_at, enqueued, "
	    "coalesce(last_status, 0), coalesce(last_error, ''), kind FROM "
	    "outbox WHERE state = 0 AND next_at <= ?1 ORDER BY next_at, oid "
	    "LIMIT ?2",
	[R_OB_NEXT] = "SELECT min(next_at) FROM outbox WHERE state = 0",
	[R_OB_STATS] = "SELECT (SELECT count(*) FROM outbox WHERE state = 0), "
	    "(SELECT coalesce(min(enqueued), 0) FROM outbox WHERE state = 0), "
	    "(SELECT count(*) FROM outbox WHERE state = 3)",
	[R_F_LOAD] = "SELECT input, value, eff, flags, aux, ref, skip_ref "
	    "FROM facts WHERE pid = ?1",
	[R_DEAD] = "SELECT o.oid, o.aid, o.pid, o.attempts, o.enqueued, "
	    "coalesce(o.last_status, 0), coalesce(o.last_error, ''), o.outcome, "
	    "o.updated, p.subject, a.identifier, o.kind FROM outbox o JOIN "
	    "assessments a ON a.aid = o.aid LEFT JOIN patients p ON p.pid = "
	    "o.pid WHERE o.state = 3 ORDER BY o.oid LIMIT ?1 OFFSET ?2",
};

/* A read connection, one per thread that reads. */
struct reader {
	sqlite3		*db;
	sqlite3_stmt	*st[R_COUNT];
	struct reader	*next;
};

#define SP_CACHED	4

struct sqlite_store {
	struct store		 base;		/* first: cast target */
	char			*path;
	int			 sync;
	long			 cache_kb;
	int64_t			 busy_ms;
	bool			 readonly;
	sqlite3			*w;		/* writer connection */
	sqlite3_stmt		*st[S_COUNT];
	/* SAVEPOINT, RELEASE, ROLLBACK TO sp<depth>, prepared on first use */
	sqlite3_stmt		*sp[3][SP_CACHED];
	pthread_key_t		 tls;
	pthread_mutex_t		 readers_mtx;
	struct reader		*readers;
	uint8_t			 salt[32];
	/* checkpointer */
	pthread_t		 ckpt_thread;
	bool			 ckpt_running;
	pthread_mutex_t		 ckpt_mtx;
	pthread_cond_t		 ckpt_cv;
	bool			 ckpt_stop;
	_Atomic int		 wal_pages;
};

#define SS(s)	((struct sqlite_store *)(s))

/* facts.flags bit (store-private): the row holds only a skipped newer
 * result, no usable value. */
#define ROW_SKIP_ONLY	0x100

/* --- helpers --------------------------------------------------------------- */

static int
map_rc(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		metrics_inc(M_STORE_BUSY);
		return STORE_BUSY;
	default:
		return STORE_ERROR;
	}
}

/* The cached prepared statement in *slot, reset and unbound, prepared on
 * first use. */
static sqlite3_stmt *
cached_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql, int i)
{
	if (*slot == NULL && sqlite3_prepare_v3(db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
		log_warnx("store: cannot prepare statement %d: %s", i,
		    sqlite3_errmsg(db));
		return NULL;
	}
	sqlite3_reset(*slot);
	sqlite3_clear_bindings(*slot);
	return *slot;
}

static sqlite3_stmt *
wst(struct sqlite_store *ss, enum stmt i)
{
	return cached_stmt(ss->w, &ss->st[i], stmt_sql[i], (int)i);
}

/* Step a statement that returns no rows; reset it. */
static int
exec_stmt(struct sqlite_store *ss, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("store: %s", sqlite3_errmsg(ss->w));
		return map_rc(rc) == STORE_BUSY ? STORE_BUSY : STORE_ERROR;
	}
	return STORE_OK;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		log_warnx("store: %s", err != NULL ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
	}
	return rc;
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? xstrdup((const char *)t) : NULL;
}

/* --- connections ------------------------------------------------------------ */

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sqlite_store *ss = arg;

	atomic_store(&ss->wal_pages, pages);
	if (pages >= 1000) {
		pthread_mutex_lock(&ss->ckpt_mtx);
		pthread_cond_signal(&ss->ckpt_cv);
		pthread_mutex_unlock(&ss->ckpt_mtx);
	}
	return SQLITE_OK;
}

static int
configure_conn(struct sqlite_store *ss, sqlite3 *db, bool writer)
{
	char sql[256];

	sqlite3_busy_timeout(db, (int)ss->busy_ms);
	snprintf(sql, sizeof(sql),
	    "PRAGMA synchronous = %s; PRAGMA cache_size = -%ld; "
	    "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;",
	    ss->sync == CONFIG_SYNC_FULL ? "FULL" : "NORMAL", ss->cache_kb);
	if (exec_sql(db, sql) != SQLITE_OK)
		return -1;
	if (writer)
		sqlite3_wal_hook(db, wal_hook, ss);
	return 0;
}

static struct reader *
reader_get(struct sqlite_store *ss)
{
	struct reader *r = pthread_getspecific(ss->tls);
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;

	if (r != NULL)
		return r;
	r = xcalloc(1, sizeof(*r));
	if (sqlite3_open_v2(ss->path, &r->db, flags, NULL) != SQLITE_OK ||
	    configure_conn(ss, r->db, false) == -1) {
		log_warnx("store: cannot open a read connection: %s",
		    r->db != NULL ? sqlite3_errmsg(r->db) : "out of memory");
		sqlite3_close(r->db);
		free(r);
		return NULL;
	}
	pthread_setspecific(ss->tls, r);
	pthread_mutex_lock(&ss->readers_mtx);
	r->next = ss->readers;
	ss->readers = r;
	pthread_mutex_unlock(&ss->readers_mtx);
	return r;
}

static sqlite3_stmt *
rst(struct reader *r, enum rstmt i)
{
	return cached_stmt(r->db, &r->st[i], rstmt_sql[i], 100 + (int)i);
}

/*
 * Checkpoints run here, not on the writer's commit path: PASSIVE never
 * blocks the writer or readers, so ingest latency does not spike when the
 * WAL is copied back.
 */
static void *
ckpt_main(void *arg)
{
	struct sqlite_store *ss = arg;
	sqlite3 *db = NULL;
	struct timespec ts;
	int logged, done;

	util_thread_name("cfy-checkpoint");
	if (sqlite3_open_v2(ss->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("store: checkpointer cannot open the database");
		sqlite3_close(db);
		return NULL;
	}
	configure_conn(ss, db, false);
	pthread_mutex_lock(&ss->ckpt_mtx);
	while (!ss->ckpt_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ss->ckpt_cv, &ss->ckpt_mtx, &ts);
		if (ss->ckpt_stop || atomic_load(&ss->wal_pages) < 64)
			continue;
		pthread_mutex_unlock(&ss->ckpt_mtx);
		if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		    &logged, &done) == SQLITE_OK && logged == done)
			atomic_store(&ss->wal_pages, 0);
		pthread_mutex_lock(&ss->ckpt_mtx);
	}
	pthread_mutex_unlock(&ss->ckpt_mtx);
	sqlite3_close(db);
	return NULL;
}

/* mkdir -p with mode 0700 for the components we create. */
static int
make_parent_dirs(const char *path)
{
	char *copy = xstrdup(path), *p;
	int rc = 0;

	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0700) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(copy);
	return rc;
}

/* Copy the database with the online backup API before a migration from
 * schema from to schema to: PATH.pre-vTO-UNIXTIME.bak, mode 0600. */
static int
backup_copy(sqlite3 *src, const char *path, int from, int to)
{
	char *bpath = xasprintf("%s.pre-v%d-%lld.bak", path, to,
	    (long long)(util_now_ms() / 1000));
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc = -1;

	if (sqlite3_open(bpath, &dst) == SQLITE_OK &&
	    (b = sqlite3_backup_init(dst, "main", src, "main")) != NULL) {
		sqlite3_backup_step(b, -1);
		if (sqlite3_backup_finish(b) == SQLITE_OK)
			rc = 0;
	}
	sqlite3_close(dst);
	if (rc == 0) {
		chmod(bpath, 0600);
		log_notice("store: backed up schema v%d database to %s", from,
		    bpath);
	} else
		log_warnx("store: cannot back up to %s", bpath);
	free(bpath);
	return rc;
}

static int
migrate(struct sqlite_store *ss, FILE *errf)
{
	sqlite3_stmt *st;
	int v = -1, i, to = schema_version();
	char sql[64];

	if (sqlite3_prepare_v2(ss->w, "PRAGMA user_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0) {
		fprintf(errf, "%s: cannot read the schema version: %s\n",
		    ss->path, sqlite3_errmsg(ss->w));
		return -1;
	}
	if (v > to) {
		fprintf(errf, "%s: schema version %d is newer than this "
		    "calcifyd understands (%d); refusing to start (use the "
		    "newer calcifyd or restore a backup)\n", ss->path, v, to);
		return -1;
	}
	if (v == to)
		return 0;
	if (ss->readonly) {
		fprintf(errf, "%s: schema version %d needs migration; start "
		    "calcifyd once to migrate it\n", ss->path, v);
		return -1;
	}
	/* Version 0 is a new, empty file: nothing to keep. */
	if (v > 0 && backup_copy(ss->w, ss->path, v, to) == -1) {
		fprintf(errf, "%s: backup before migration failed; not "
		    "migrating\n", ss->path);
		return -1;
	}
	for (i = v; i < to; i++) {
		if (exec_sql(ss->w, "BEGIN IMMEDIATE") != SQLITE_OK)
			return -1;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		if (exec_sql(ss->w, migration(i)) != SQLITE_OK ||
		    exec_sql(ss->w, sql) != SQLITE_OK) {
			exec_sql(ss->w, "ROLLBACK");
			fprintf(errf, "%s: migration to schema v%d failed: %s\n",
			    ss->path, i + 1, sqlite3_errmsg(ss->w));
			return -1;
		}
		if (exec_sql(ss->w, "COMMIT") != SQLITE_OK)
			return -1;
		log_info("store: schema migrated to v%d", i + 1);
	}
	return 0;
}

/* The per-database salt for log tags, made once. */
static int
load_salt(struct sqlite_store *ss)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(ss->w, "SELECT value FROM meta WHERE key = "
	    "'salt'", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == 32) {
		memcpy(ss->salt, sqlite3_column_blob(st, 0), 32);
		rc = 0;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (ss->readonly || util_random(ss->salt, sizeof(ss->salt)) == -1)
		goto out;
	if (sqlite3_prepare_v2(ss->w, "INSERT OR REPLACE INTO meta (key, "
	    "value) VALUES ('salt', ?1)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, ss->salt, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static void
reader_free(void *p)
{
	/* Connections are closed by sq_close; nothing per-thread to do. */
	(void)p;
}

static const struct store_ops sqlite_ops;

/* Before SQLite initialises: no global allocation statistics (nothing
 * reads them, and they take a process-wide mutex on every malloc and
 * free: 5% of the writer's time in the bundle benchmark). */
static void
sqlite_global_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct store *
store_open(const struct config *c, bool readonly, FILE *errf)
{
	struct sqlite_store *ss;
	const char *path = c->cf_store_path;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int fd, flags;

	pthread_once(&once, sqlite_global_config);
	if (util_has_prefix(path, "postgresql:") ||
	    util_has_prefix(path, "postgres:")) {
		fprintf(errf, "store.path: the PostgreSQL backend is not part "
		    "of this build\n");
		return NULL;
	}
	ss = xcalloc(1, sizeof(*ss));
	ss->base.s_ops = &sqlite_ops;
	ss->path = xstrdup(path);
	ss->sync = c->cf_store_synchronous;
	ss->cache_kb = c->cf_store_cache_mb * 1024;
	ss->busy_ms = c->cf_store_busy_timeout_ms;
	ss->readonly = readonly;
	pthread_mutex_init(&ss->readers_mtx, NULL);
	pthread_mutex_init(&ss->ckpt_mtx, NULL);
	pthread_cond_init(&ss->ckpt_cv, NULL);
	pthread_key_create(&ss->tls, reader_free);

	if (!readonly) {
		if (make_parent_dirs(path) == -1) {
			fprintf(errf, "%s: cannot create its directory: %s\n",
			    path, strerror(errno));
			goto fail;
		}
		/* Create the file 0600 ourselves: it holds patient data. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd == -1) {
			fprintf(errf, "%s: cannot open: %s\n", path,
			    strerror(errno));
			goto fail;
		}
		close(fd);
	}
	flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &ss->w, flags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		fprintf(errf, "%s: cannot open database: %s\n", path,
		    ss->w != NULL ? sqlite3_errmsg(ss->w) : "out of memory");
		goto fail;
	}
	/* Another process (calcifyctl, a backup, a daemon not yet gone)
	 * may hold the lock: wait for it here too, as for every write. */
	sqlite3_busy_timeout(ss->w, (int)ss->busy_ms);
	if (!readonly && exec_sql(ss->w, "PRAGMA journal_mode = WAL") !=
	    SQLITE_OK) {
		fprintf(errf, "%s: cannot switch to WAL mode: %s%s\n", path,
		    sqlite3_errmsg(ss->w),
		    sqlite3_errcode(ss->w) == SQLITE_BUSY ?
		    " (another process holds it; see store.busy_timeout_ms)" :
		    "");
		goto fail;
	}
	if (configure_conn(ss, ss->w, true) == -1 || migrate(ss, errf) == -1)
		goto fail;
	if (load_salt(ss) == -1 && !readonly) {
		fprintf(errf, "%s: cannot initialise the log salt: %s\n", path,
		    sqlite3_errmsg(ss->w));
		goto fail;
	}
	if (!readonly) {
		if (pthread_create(&ss->ckpt_thread, NULL, ckpt_main, ss) != 0) {
			fprintf(errf, "cannot start the checkpoint thread\n");
			goto fail;
		}
		ss->ckpt_running = true;
	}
	log_info("store open path=%s schema=%d synchronous=%s", path,
	    schema_version(), ss->sync == CONFIG_SYNC_FULL ? "full" :
	    "normal");
	return &ss->base;
fail:
	sqlite3_close(ss->w);
	ss->w = NULL;
	ss->base.s_ops->close(&ss->base);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->s_ops->close(s);
}

static void
sq_close(struct store *s)
{
	struct sqlite_store *ss = SS(s);
	struct reader *r, *n;
	int i;

	if (ss->ckpt_running) {
		pthread_mutex_lock(&ss->ckpt_mtx);
		ss->ckpt_stop = true;
		pthread_cond_signal(&ss->ckpt_cv);
		pthread_mutex_unlock(&ss->ckpt_mtx);
		pthread_join(ss->ckpt_thread, NULL);
	}
	for (r = ss->readers; r != NULL; r = n) {
		n = r->next;
		for (i = 0; i < R_COUNT; i++)
			sqlite3_finalize(r->st[i]);
		sqlite3_close(r->db);
		free(r);
	}
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(ss->st[i]);
	for (i = 0; i < 3 * SP_CACHED; i++)
		sqlite3_finalize(ss->sp[i / SP_CACHED][i % SP_CACHED]);
	if (ss->w != NULL) {
		/* Leave a small, self-contained file behind. */
		if (!ss->readonly)
			sqlite3_wal_checkpoint_v2(ss->w, NULL,
			    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_close(ss->w);
	}
	pthread_key_delete(ss->tls);
	pthread_mutex_destroy(&ss->readers_mtx);
	pthread_mutex_destroy(&ss->ckpt_mtx);
	pthread_cond_destroy(&ss->ckpt_cv);
	free(ss->path);
	free(ss);
}

static void
sq_salt(struct store *s, uint8_t out[32])
{
	memcpy(out, SS(s)->salt, 32);
}

/* --- writer: transactions ----------------------------------------------------- */

static int
sq_begin(struct store *s)
{
	struct sqlite_store *ss = SS(s);
	int rc, tries;

	/* The one BUSY retry loop: another process (calcifyctl requeue)
	 * may hold the write lock briefly; busy_timeout waits inside. */
	for (tries = 0; tries < 3; tries++) {
		rc = exec_stmt(ss, wst(ss, S_BEGIN));
		if (rc != STORE_BUSY)
			return rc;
	}
	return rc;
}

static int
sq_commit(struct store *s)
{
	struct sqlite_store *ss = SS(s);
	int rc = exec_stmt(ss, wst(ss, S_COMMIT));

	if (rc == STORE_OK)
		metrics_inc(M_COMMITS);
	return rc;
}

static void
sq_rollback(struct store *s)
{
	struct sqlite_store *ss = SS(s);

	if (!sqlite3_get_autocommit(ss->w))
		exec_stmt(ss, wst(ss, S_ROLLBACK));
}

static const char *const sp_verbs[3] = { "SAVEPOINT", "RELEASE",
    "ROLLBACK TO" };

/* Savepoints run once or twice per request: keep them prepared rather
 * than parse "SAVEPOINT sp1" each time. */
static int
savepoint_sql(struct sqlite_store *ss, int verb, int depth)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "%s sp%d", sp_verbs[verb], depth);
	if (depth < 0 || depth >= SP_CACHED)
		return exec_sql(ss->w, sql) == SQLITE_OK ? STORE_OK :
		    STORE_ERROR;
	if (cached_stmt(ss->w, &ss->sp[verb][depth], sql, 200 + depth) ==
	    NULL)
		return STORE_ERROR;
	return exec_stmt(ss, ss->sp[verb][depth]);
}

static int
sq_savepoint(struct store *s, int depth)
{
	return savepoint_sql(SS(s), 0, depth);
}

static int
sq_release(struct store *s, int depth)
{
	return savepoint_sql(SS(s), 1, depth);
}

static void
sq_rollback_to(struct store *s, int depth)
{
	struct sqlite_store *ss = SS(s);

	savepoint_sql(ss, 2, depth);
	savepoint_sql(ss, 1, depth);
	metrics_inc(M_ROLLBACKS);
}

/* --- writer: facts ------------------------------------------------------------- */

static int
fact_put(struct sqlite_store *ss, int64_t pid, int input, double value,
    int64_t eff, int64_t flags, double aux, int64_t rid, const char *ref)
{
	sqlite3_stmt *st = wst(ss, S_F_PUT);

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, input);
	sqlite3_bind_double(st, 3, value);
	sqlite3_bind_int64(st, 4, eff);
	sqlite3_bind_int64(st, 5, flags);
	sqlite3_bind_double(st, 6, aux);
	sqlite3_bind_int64(st, 7, rid);
	bind_text(st, 8, ref);
	sqlite3_bind_null(st, 9);
	sqlite3_bind_null(st, 10);
	return exec_stmt(ss, st);
}

static int
fact_del(struct sqlite_store *ss, int64_t pid, int input)
{
	sqlite3_stmt *st = wst(ss, S_F_DEL);

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, input);
	return exec_stmt(ss, st);
}

static int
fact_skip(struct sqlite_store *ss, int64_t pid, int input, int64_t eff,
    const char *ref)
{
	sqlite3_stmt *st = wst(ss, S_F_SKIP);

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, input);
	if (ref != NULL)
		sqlite3_bind_int64(st, 3, eff);
	else
		sqlite3_bind_null(st, 3);
	bind_text(st, 4, ref);
	return exec_stmt(ss, st);
}

/* Recompute the folded fact of one (patient, input) from rfacts. */
static int
refold(struct sqlite_store *ss, int64_t pid, int input)
{
	enum input_kind kind = input_kind((enum input)input);
	sqlite3_stmt *st;
	double v, sum = 0, aux = 0;
	int64_t eff = 0, rid = 0, flags = 0, first_known = 0;
	char *ref = NULL, *sref = NULL;
	int n = 0, rc;
	int64_t seff = 0;
	bool have_known = false, have_sref = false;

	if (kind == INPUT_LATEST || kind == INPUT_MEAN3) {
		st = wst(ss, S_RF_LATEST);
		if (st == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int(st, 2, input);
		sqlite3_bind_int(st, 3, kind == INPUT_MEAN3 ? 3 : 1);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			v = sqlite3_column_double(st, 0);
			sum += v;
			if (n == 0) {
				eff = sqlite3_column_int64(st, 1);
				flags = sqlite3_column_int64(st, 2);
				aux = sqlite3_column_double(st, 3);
				rid = sqlite3_column_int64(st, 4);
				ref = col_dup(st, 5);
			}
			n++;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto err;
		/* The newest result that could not be used, if newer. */
		st = wst(ss, S_RF_LATEST_SKIP);
		if (st == NULL)
			goto err;
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int(st, 2, input);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    (n == 0 || sqlite3_column_int64(st, 0) > eff)) {
			seff = sqlite3_column_int64(st, 0);
			sref = col_dup(st, 1);
			have_sref = true;
		}
		sqlite3_reset(st);
		if (n > 0)
			v = sum / n;
	} else {
		/* ANY, EARLIEST, SUM: over every usable row, earliest known
		 * time first (rows with unknown time sort last). */
		st = wst(ss, S_RF_ALL);
		if (st == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int(st, 2, input);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t f = sqlite3_column_int64(st, 2);

			sum += sqlite3_column_double(st, 0);
			if (f & FACT_VALUE_UNKNOWN)
				flags |= FACT_VALUE_UNKNOWN;
			if (n == 0) {
				rid = sqlite3_column_int64(st, 4);
				ref = col_dup(st, 5);
				if (!(f & FACT_TIME_UNKNOWN)) {
					first_known = sqlite3_column_int64(st,
					    1);
					have_known = true;
				}
			}
			n++;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto err;
		eff = have_known ? first_known : 0;
		if (!have_known)
			flags |= FACT_TIME_UNKNOWN;
		v = kind == INPUT_SUM ? sum : 1;
	}
	if (n == 0 && !have_sref)
		rc = fact_del(ss, pid, input);
	else {
		if (n > 0)
			rc = fact_put(ss, pid, input, v, eff, flags, aux, rid,
			    ref);
		else	/* only an unusable result: keep it visible */
			rc = fact_put(ss, pid, input, 0, seff,
			    FACT_VALUE_UNKNOWN | ROW_SKIP_ONLY, 0, 0, NULL);
		if (rc == STORE_OK)
			rc = fact_skip(ss, pid, input, seff,
			    have_sref ? sref : NULL);
	}
	free(ref);
	free(sref);
	return rc;
err:
	free(ref);
	free(sref);
	log_warnx("store: refold failed: %s", sqlite3_errmsg(ss->w));
	return STORE_ERROR;
}

/*
 * Fold one new fact of a brand-new resource.  The common case -- a result
 * newer than what we have -- replaces the folded value with one upsert;
 * everything else recomputes.
 */
static int
fold_new(struct sqlite_store *ss, int64_t pid, int64_t rid,
    const struct fhir_fact *f, const char *ref)
{
	sqlite3_stmt *st;
	bool have;
	int64_t cur_eff = 0, skip_eff = INT64_MIN;
	int rc;

	if (input_kind(f->ff_input) != INPUT_LATEST)
		return refold(ss, pid, (int)f->ff_input);
	st = wst(ss, S_F_GET);
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, (int)f->ff_input);
	rc = sqlite3_step(st);
	have = rc == SQLITE_ROW;
	if (have) {
		cur_eff = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			skip_eff = sqlite3_column_int64(st, 2);
		/* A row with no source (rid 0) holds only a skipped result. */
		if (sqlite3_column_int64(st, 1) == 0)
			have = false;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return STORE_ERROR;
	if (!f->ff_usable) {
		if (have && f->ff_eff <= cur_eff)
			return STORE_OK;	/* older than the value in use */
		if (skip_eff != INT64_MIN && f->ff_eff < skip_eff)
			return STORE_OK;
		if (!have)
			return refold(ss, pid, (int)f->ff_input);
		return fact_skip(ss, pid, (int)f->ff_input, f->ff_eff, ref);
	}
	/* Latest by effective time, not arrival; ties go to the newcomer. */
	if (have && f->ff_eff < cur_eff)
		return STORE_OK;
	return fact_put(ss, pid, (int)f->ff_input, f->ff_value, f->ff_eff,
	    (int64_t)f->ff_flags, f->ff_aux, rid, ref);
}

/* --- writer: patients -------------------------------------------------------- */

static int
key_get(struct sqlite_store *ss, const char *key, int64_t *pid)
{
	sqlite3_stmt *st = wst(ss, S_KEY_GET);
	int rc;

	if (st == NULL)
		return STORE_ERROR;
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*pid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
key_put(struct sqlite_store *ss, const char *key, int64_t pid)
{
	sqlite3_stmt *st = wst(ss, S_KEY_PUT);

	if (st == NULL)
		return STORE_ERROR;
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, pid);
	return exec_stmt(ss, st);
}

/* Move everything of patient from to patient to, then refold to. */
static int
merge_patients(struct sqlite_store *ss, int64_t to, int64_t from, int64_t now)
{
	static const char *const moves[] = {
		"UPDATE patient_keys SET pid = ?1 WHERE pid = ?2",
		"UPDATE resources SET pid = ?1 WHERE pid = ?2",
		"UPDATE rfacts SET pid = ?1 WHERE pid = ?2",
		"UPDATE assessments SET pid = ?1 WHERE pid = ?2",
		"UPDATE outbox SET state = 2, updated = ?3 WHERE pid = ?2 AND "
		    "state = 0",
		"UPDATE outbox SET pid = ?1 WHERE pid = ?2",
		"DELETE FROM facts WHERE pid = ?2 OR pid = ?1",
		"UPDATE patients SET subject = (SELECT subject FROM patients "
		    "WHERE pid = ?2), literal = 1 WHERE pid = ?1 AND literal = 0 "
		    "AND (SELECT literal FROM patients WHERE pid = ?2) = 1",
		"DELETE FROM patients WHERE pid = ?2",
	};
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, input;

	for (i = 0; i < UTIL_ARRAY_LEN(moves); i++) {
		if (sqlite3_prepare_v2(ss->w, moves[i], -1, &st, NULL) !=
		    SQLITE_OK)
			goto err;
		sqlite3_bind_int64(st, 1, to);
		sqlite3_bind_int64(st, 2, from);
		if (sqlite3_bind_parameter_count(st) >= 3)
			sqlite3_bind_int64(st, 3, now);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			goto err;
	}
	for (input = 0; input < INPUT_COUNT; input++) {
		if (input_kind((enum input)input) == INPUT_DERIVED)
			continue;
		if (refold(ss, to, input) != STORE_OK)
			return STORE_ERROR;
	}
	return STORE_OK;
err:
	sqlite3_finalize(st);
	log_warnx("store: patient merge failed: %s", sqlite3_errmsg(ss->w));
	return STORE_ERROR;
}

static int
sq_patient(struct store *s, char *const *keys, int nkeys, const char *subject,
    int64_t now, int64_t *pidp, bool *merged)
{
	struct sqlite_store *ss = SS(s);
	int64_t pids[16], pid = 0, p = 0;
	bool found[16], literal = strstr(subject, "\"reference\"") != NULL;
	sqlite3_stmt *st;
	char tag[24];
	int i, j, rc, npids = 0;

	*merged = false;
	if (nkeys > 16)
		nkeys = 16;
	for (i = 0; i < nkeys; i++) {
		rc = key_get(ss, keys[i], &p);
		if (rc < 0)
			return rc;
		found[i] = rc == STORE_OK;
		if (!found[i])
			continue;
		for (j = 0; j < npids && pids[j] != p; j++)
			;
		if (j == npids)
			pids[npids++] = p;
	}
	if (npids == 0) {
		st = wst(ss, S_PAT_NEW);
		if (st == NULL)
			return STORE_ERROR;
		bind_text(st, 1, subject);
		sqlite3_bind_int(st, 2, literal);
		sqlite3_bind_int64(st, 3, now);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			return rc;
		pid = sqlite3_last_insert_rowid(ss->w);
	} else {
		pid = pids[0];
		for (j = 1; j < npids; j++)
			if (pids[j] < pid)
				pid = pids[j];
		for (j = 0; j < npids; j++) {
			if (pids[j] == pid)
				continue;
			if (merge_patients(ss, pid, pids[j], now) != STORE_OK)
				return STORE_ERROR;
			*merged = true;
		}
		if (*merged) {
			log_patient_tag(keys[0], tag, sizeof(tag));
			log_notice("store: merged %d patient records into one "
			    "patient=%s", npids, tag);
		}
		/* A literal Patient reference beats an identifier-only one
		 * as RiskAssessment.subject. */
		if (literal) {
			st = wst(ss, S_PAT_SUBJ_GET);
			if (st == NULL)
				return STORE_ERROR;
			sqlite3_bind_int64(st, 1, pid);
			rc = sqlite3_step(st);
			j = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1;
			sqlite3_reset(st);
			if (j == 0) {
				st = wst(ss, S_PAT_SUBJ_SET);
				sqlite3_bind_int64(st, 1, pid);
				bind_text(st, 2, subject);
				if ((rc = exec_stmt(ss, st)) != STORE_OK)
					return rc;
			}
		}
	}
	for (i = 0; i < nkeys; i++) {
		if (found[i] && !*merged)
			continue;
		if ((rc = key_put(ss, keys[i], pid)) != STORE_OK)
			return rc;
	}
	*pidp = pid;
	return STORE_OK;
}

/* --- writer: resources -------------------------------------------------------- */

static int
resinfo_row(sqlite3_stmt *st, struct store_resinfo *ri)
{
	ri->ri_rid = sqlite3_column_int64(st, 0);
	ri->ri_pid = sqlite3_column_int64(st, 1);
	ri->ri_version = (long)sqlite3_column_int64(st, 2);
	ri->ri_updated = sqlite3_column_int64(st, 3);
	ri->ri_retracted = sqlite3_column_int(st, 4) != 0;
	memset(ri->ri_hash, 0, sizeof(ri->ri_hash));
	if (sqlite3_column_bytes(st, 5) == SHA256_LEN)
		memcpy(ri->ri_hash, sqlite3_column_blob(st, 5), SHA256_LEN);
	return STORE_OK;
}

static int
sq_get_resource(struct store *s, enum fhir_rtype type, const char *id,
    struct store_resinfo *ri)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_RES_GET);
	int rc;

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int(st, 1, (int)type);
	bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		resinfo_row(st, ri);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
sq_resinfo_by_rid(struct store *s, int64_t rid, struct store_resinfo *ri,
    char **id)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_RES_BY_RID);
	int rc;

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, rid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		resinfo_row(st, ri);
		if (id != NULL)
			*id = col_dup(st, 6);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
sq_match_identifier(struct store *s, enum fhir_rtype type, const char *ident,
    bool any_system, int64_t *rids, int max)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_IDENT_MATCH);
	char *key;
	int rc, n = 0;

	if (st == NULL)
		return STORE_ERROR;
	key = xasprintf("%c:%s", any_system ? 'v' : 's', ident);
	bind_text(st, 1, key);
	sqlite3_bind_int(st, 2, (int)type);
	sqlite3_bind_int(st, 3, max + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n < max)
			rids[n] = sqlite3_column_int64(st, 0);
		n++;
	}
	sqlite3_reset(st);
	free(key);
	return rc == SQLITE_DONE ? n : map_rc(rc);
}

static int
sq_ident_candidates(struct store *s, enum fhir_rtype type, const char *ident,
    int64_t pid, int64_t *rids, char **bodies, int max)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_IDENT_SAME);
	char *key;
	int rc, n = 0;

	if (st == NULL)
		return STORE_ERROR;
	key = xasprintf("s:%s", ident);
	bind_text(st, 1, key);
	sqlite3_bind_int(st, 2, (int)type);
	sqlite3_bind_int64(st, 3, pid);
	sqlite3_bind_int(st, 4, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rids[n] = sqlite3_column_int64(st, 0);
		bodies[n] = col_dup(st, 1);
		n++;
	}
	if (n == max)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	free(key);
	if (rc != SQLITE_DONE) {
		while (n > 0)
			free(bodies[--n]);
		return map_rc(rc);
	}
	return n;
}

static int
put_idents(struct sqlite_store *ss, const struct fhir_item *it, int64_t rid)
{
	sqlite3_stmt *st;
	const char *bar;
	char *key;
	int i, rc;

	for (i = 0; i < it->fi_nidents; i++) {
		bar = strchr(it->fi_idents[i], '|');
		/* "s:system|value" for exact, "v:value" for any-system. */
		key = xasprintf("s:%s", it->fi_idents[i]);
		st = wst(ss, S_IDENT_INS);
		bind_text(st, 1, key);
		sqlite3_bind_int(st, 2, (int)it->fi_type);
		sqlite3_bind_int64(st, 3, rid);
		rc = exec_stmt(ss, st);
		free(key);
		if (rc != STORE_OK)
			return rc;
		key = xasprintf("v:%s", bar != NULL ? bar + 1 : it->fi_idents[i]);
		st = wst(ss, S_IDENT_INS);
		bind_text(st, 1, key);
		sqlite3_bind_int(st, 2, (int)it->fi_type);
		sqlite3_bind_int64(st, 3, rid);
		rc = exec_stmt(ss, st);
		free(key);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static int
sq_put_resource(struct store *s, const struct fhir_item *it, int64_t pid,
    const struct store_resinfo *old, int64_t now, struct store_resinfo *out)
{
	struct sqlite_store *ss = SS(s);
	struct buf body;
	sqlite3_stmt *st;
	bool dirty[INPUT_COUNT];
	long version = old != NULL ? old->ri_version + 1 : 1;
	int64_t rid;
	int i, rc;

	memset(dirty, 0, sizeof(dirty));
	buf_init(&body);
	fhir_stored_json(it->fi_type, it->fi_id, version, now, it->fi_body,
	    it->fi_bodylen, &body);
	if (old == NULL) {
		st = wst(ss, S_RES_INS);
		if (st == NULL)
			goto err;
		sqlite3_bind_int(st, 1, (int)it->fi_type);
		bind_text(st, 2, it->fi_id);
		sqlite3_bind_int64(st, 3, pid);
		sqlite3_bind_blob(st, 4, it->fi_hash, SHA256_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_int(st, 6, it->fi_retract);
		sqlite3_bind_text(st, 7, body.b_data, (int)body.b_len,
		    SQLITE_STATIC);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			goto out;
		rid = sqlite3_last_insert_rowid(ss->w);
	} else {
		rid = old->ri_rid;
		/* Keep the replaced version for vread, then replace. */
		st = wst(ss, S_RES_TO_HIST);
		sqlite3_bind_int64(st, 1, rid);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			goto out;
		st = wst(ss, S_RES_UPD);
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_int64(st, 2, version);
		sqlite3_bind_blob(st, 3, it->fi_hash, SHA256_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_int(st, 5, it->fi_retract);
		sqlite3_bind_text(st, 6, body.b_data, (int)body.b_len,
		    SQLITE_STATIC);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			goto out;
		/* The old version's facts go; their inputs are refolded. */
		st = wst(ss, S_RF_INPUTS_OF);
		sqlite3_bind_int64(st, 1, rid);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			i = sqlite3_column_int(st, 0);
			if (i >= 0 && i < INPUT_COUNT)
				dirty[i] = true;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto err;
		st = wst(ss, S_RF_DEL);
		sqlite3_bind_int64(st, 1, rid);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			goto out;
		st = wst(ss, S_IDENT_DEL);
		sqlite3_bind_int64(st, 1, rid);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			goto out;
	}
	if ((rc = put_idents(ss, it, rid)) != STORE_OK)
		goto out;
	if (!it->fi_retract) {
		for (i = 0; i < it->fi_nfacts; i++) {
			const struct fhir_fact *f = &it->fi_facts[i];

			st = wst(ss, S_RF_INS);
			sqlite3_bind_int64(st, 1, pid);
			sqlite3_bind_int(st, 2, (int)f->ff_input);
			sqlite3_bind_int64(st, 3, f->ff_eff);
			sqlite3_bind_int64(st, 4, rid);
			sqlite3_bind_double(st, 5, f->ff_value);
			sqlite3_bind_int64(st, 6, f->ff_flags);
			sqlite3_bind_double(st, 7, f->ff_aux);
			sqlite3_bind_int(st, 8, f->ff_usable);
			bind_text(st, 9, it->fi_ref);
			if ((rc = exec_stmt(ss, st)) != STORE_OK)
				goto out;
			if (old == NULL) {
				rc = fold_new(ss, pid, rid, f, it->fi_ref);
				if (rc != STORE_OK)
					goto out;
			} else
				dirty[f->ff_input] = true;
		}
	}
	for (i = 0; i < INPUT_COUNT; i++) {
		if (dirty[i] && (rc = refold(ss, pid, i)) != STORE_OK)
			goto out;
	}
	out->ri_rid = rid;
	out->ri_pid = pid;
	out->ri_version = version;
	out->ri_updated = now;
	out->ri_retracted = it->fi_retract;
	memcpy(out->ri_hash, it->fi_hash, SHA256_LEN);
	rc = STORE_OK;
out:
	buf_free(&body);
	return rc;
err:
	buf_free(&body);
	log_warnx("store: put resource failed: %s", sqlite3_errmsg(ss->w));
	return STORE_ERROR;
}

/* Fill f from a statement over facts (input, value, eff, flags, aux, ref,
 * skip_ref) bound to one patient. */
static int
facts_rows(sqlite3_stmt *st, struct facts *f)
{
	int rc, in;
	int64_t flags;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		in = sqlite3_column_int(st, 0);
		if (in < 0 || in >= INPUT_COUNT)
			continue;
		flags = sqlite3_column_int64(st, 3);
		if (!(flags & ROW_SKIP_ONLY))
			facts_set(f, (enum input)in,
			    sqlite3_column_double(st, 1),
			    sqlite3_column_int64(st, 2),
			    (uint32_t)flags & ~(uint32_t)FACT_SKIPPED_NEWER,
			    sqlite3_column_double(st, 4),
			    (const char *)sqlite3_column_text(st, 5));
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			facts_set_skipped(f, (enum input)in,
			    (const char *)sqlite3_column_text(st, 6));
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : map_rc(rc);
}

static int
sq_load_facts(struct store *s, int64_t pid, struct facts *f)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_F_LOAD);

	facts_init(f);
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	return facts_rows(st, f);
}

static int
sq_patient_state(struct store *s, int64_t pid, uint8_t sig[32], bool *has_sig,
    struct buf *subject)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_SIG_GET);
	int rc;

	*has_sig = false;
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) == 32) {
			memcpy(sig, sqlite3_column_blob(st, 0), 32);
			*has_sig = true;
		}
		buf_append(subject, sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
sq_patient_listed(struct store *s, int64_t pid,
    bool (*in_set)(const char *, void *), void *arg)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_KEYS_OF);
	int rc, hit = STORE_NONE;

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (in_set((const char *)sqlite3_column_text(st, 0), arg))
			hit = STORE_OK;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? hit : map_rc(rc);
}

/* Append a pending outbox row of kind for aid, due now. */
static int
outbox_add(struct sqlite_store *ss, int64_t aid, int64_t pid, int64_t now,
    enum store_outbox_kind kind)
{
	sqlite3_stmt *st = wst(ss, S_OB_INS);

	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, aid);
	sqlite3_bind_int64(st, 2, pid);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int(st, 4, (int)kind);
	return exec_stmt(ss, st);
}

static int
sq_add_assessment(struct store *s, int64_t pid, const char *identifier,
    const char *digest, const char *snapshot, int64_t at, int64_t now,
    const struct store_assess_summary *sum, const uint8_t sig[32],
    bool enqueue, int64_t *aidp, int *superseded)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_A_INS);
	int64_t aid;
	bool revived;
	int rc;

	*superseded = 0;
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	bind_text(st, 2, identifier);
	bind_text(st, 3, digest);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, at);
	sqlite3_bind_int(st, 6, sum->ss_final);
	sqlite3_bind_double(st, 7, sum->ss_prob[0]);
	sqlite3_bind_double(st, 8, sum->ss_prob[1]);
	sqlite3_bind_int(st, 9, sum->ss_band[0]);
	sqlite3_bind_int(st, 10, sum->ss_band[1]);
	bind_text(st, 11, snapshot);
	/* New or reused, RETURNING names the row. */
	rc = sqlite3_step(st);
	aid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	revived = rc == SQLITE_ROW && sqlite3_column_int(st, 1) != 0;
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || aid == 0) {
		log_warnx("store: cannot record an assessment: %s",
		    sqlite3_errmsg(ss->w));
		return map_rc(rc) == STORE_BUSY ? STORE_BUSY : STORE_ERROR;
	}
	/* Withdrawn, and now its inputs are the patient's facts again (the
	 * retraction was itself undone): current, and no longer withdrawn.
	 * Cleared before superseding, so that its own pending withdrawal
	 * is superseded by the update below. */
	if (revived) {
		st = wst(ss, S_A_REVIVE);
		sqlite3_bind_int64(st, 1, aid);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			return rc;
	}
	st = wst(ss, S_PAT_SET_SIG);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_blob(st, 2, sig, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, aid);
	if ((rc = exec_stmt(ss, st)) != STORE_OK)
		return rc;
	if (enqueue) {
		st = wst(ss, S_OB_SUPERSEDE);
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int64(st, 2, now);
		if ((rc = exec_stmt(ss, st)) != STORE_OK)
			return rc;
		*superseded = sqlite3_changes(ss->w);
		if ((rc = outbox_add(ss, aid, pid, now, revived ?
		    STORE_OB_UPDATE : STORE_OB_CREATE)) != STORE_OK)
			return rc;
	}
	*aidp = aid;
	return STORE_OK;
}

/* Does ref (a Reference JSON) name the source of a fact of snapshot? */
static bool
snapshot_rests_on(const char *snapshot, const char *ref)
{
	struct facts *f = xmalloc(sizeof(*f));
	const char *r;
	bool hit = false;
	int i;

	if (facts_parse_snapshot(snapshot, f) == 0)
		for (i = 0; i < INPUT_COUNT && !hit; i++)
			hit = (r = facts_ref(f, (enum input)i)) != NULL &&
			    strcmp(r, ref) == 0;
	free(f);
	return hit;
}

/*
 * Two passes: collect the matching assessments, then mark them, since
 * marking while the candidate query is stepping would change what it
 * reads.  The current assessment (last_aid) is never withdrawn: the
 * patient's facts no longer hold the withdrawn resource, so the current
 * one rests on it only when the retraction changed nothing a reader
 * would see (issue 5) -- then it stays as it is.
 */
static int
sq_withdraw_basis(struct store *s, int64_t pid, const char *ref, int64_t now,
    bool enqueue, int *withdrawn)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_W_CANDIDATES);
	int64_t *aids = NULL;
	size_t n = 0, cap = 0, i;
	int rc, at_server;

	*withdrawn = 0;
	if (st == NULL || ref == NULL || ref[0] == '\0')
		return st == NULL ? STORE_ERROR : STORE_OK;
	sqlite3_bind_int64(st, 1, pid);
	bind_text(st, 2, ref);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!snapshot_rests_on((const char *)sqlite3_column_text(st, 1),
		    ref))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			aids = xrealloc(aids, cap * sizeof(*aids));
		}
		aids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(aids);
		return map_rc(rc);
	}
	rc = STORE_OK;
	for (i = 0; i < n && rc == STORE_OK; i++) {
		st = wst(ss, S_W_MARK);
		sqlite3_bind_int64(st, 1, aids[i]);
		if ((rc = exec_stmt(ss, st)) != STORE_OK || !enqueue)
			continue;
		st = wst(ss, S_W_AT_SERVER);
		sqlite3_bind_int64(st, 1, aids[i]);
		rc = sqlite3_step(st);
		at_server = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
		sqlite3_reset(st);
		rc = rc == SQLITE_ROW ? STORE_OK : map_rc(rc);
		if (rc == STORE_OK && at_server)
			rc = outbox_add(ss, aids[i], pid, now, STORE_OB_UPDATE);
	}
	if (rc == STORE_OK)
		*withdrawn = (int)n;
	free(aids);
	return rc;
}

static int
sq_outbox_result(struct store *s, const struct store_outbox_result *r,
    int64_t now)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st;
	int rc;

	switch (r->or_state) {
	case STORE_OB_DELIVERED:
		st = wst(ss, S_OB_DELIVERED);
		sqlite3_bind_int64(st, 1, r->or_oid);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, r->or_http_status);
		bind_text(st, 4, r->or_error);
		break;
	case STORE_OB_PENDING:
		st = wst(ss, S_OB_RETRY);
		sqlite3_bind_int64(st, 1, r->or_oid);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, r->or_next_at);
		sqlite3_bind_int(st, 4, r->or_http_status);
		bind_text(st, 5, r->or_error);
		break;
	case STORE_OB_DEAD:
		st = wst(ss, S_OB_DEAD);
		sqlite3_bind_int64(st, 1, r->or_oid);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, r->or_http_status);
		bind_text(st, 4, r->or_error);
		bind_text(st, 5, r->or_outcome);
		break;
	default:
		return STORE_ERROR;
	}
	if ((rc = exec_stmt(ss, st)) != STORE_OK ||
	    r->or_state == STORE_OB_DEAD)
		return rc;
	st = wst(ss, S_OB_FOLLOW_UP);
	sqlite3_bind_int64(st, 1, r->or_oid);
	sqlite3_bind_int64(st, 2, now);
	return exec_stmt(ss, st);
}

static int
sq_model_record(struct store *s, const char *digest, const char *id,
    const char *version, const char *text, int64_t now)
{
	struct sqlite_store *ss = SS(s);
	sqlite3_stmt *st = wst(ss, S_MODEL_INS);

	if (st == NULL)
		return STORE_ERROR;
	bind_text(st, 1, digest);
	bind_text(st, 2, id);
	bind_text(st, 3, version);
	bind_text(st, 4, text);
	sqlite3_bind_int64(st, 5, now);
	return exec_stmt(ss, st);
}

/* --- readers --------------------------------------------------------------------- */

static int
sq_read_resource(struct store *s, enum fhir_rtype type, const char *id,
    long version, struct buf *out, struct store_resinfo *ri)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	if (r == NULL || (st = rst(r, R_RES_CUR)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int(st, 1, (int)type);
	bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		resinfo_row(st, ri);
		if (version == 0 || version == ri->ri_version)
			buf_append(out, sqlite3_column_text(st, 6),
			    (size_t)sqlite3_column_bytes(st, 6));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
	if (version == 0 || version == ri->ri_version)
		return STORE_OK;
	if (version > ri->ri_version || version < 1)
		return STORE_NONE;
	if ((st = rst(r, R_RES_HIST)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int(st, 1, (int)type);
	bind_text(st, 2, id);
	sqlite3_bind_int64(st, 3, version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ri->ri_version = version;
		ri->ri_updated = sqlite3_column_int64(st, 0);
		ri->ri_retracted = false;
		buf_append(out, sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
sq_patient_by_key(struct store *s, const char *key, int64_t *pid)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	if (r == NULL || (st = rst(r, R_KEY_GET)) == NULL)
		return STORE_ERROR;
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*pid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

void
store_assessment_clear(struct store_assessment *a)
{
	free(a->sa_snapshot);
	free(a->sa_subject);
	free(a->sa_patient_key);
	memset(a, 0, sizeof(*a));
}

static int
assessment_row(struct reader *r, sqlite3_stmt *st, struct store_assessment *a)
{
	sqlite3_stmt *k;

	memset(a, 0, sizeof(*a));
	a->sa_aid = sqlite3_column_int64(st, 0);
	a->sa_pid = sqlite3_column_int64(st, 1);
	util_strlcpy(a->sa_identifier, (const char *)sqlite3_column_text(st, 2),
	    sizeof(a->sa_identifier));
	util_strlcpy(a->sa_model_digest,
	    (const char *)sqlite3_column_text(st, 3),
	    sizeof(a->sa_model_digest));
	a->sa_created = sqlite3_column_int64(st, 4);
	a->sa_at = sqlite3_column_int64(st, 5);
	a->sa_snapshot = col_dup(st, 6);
	a->sa_subject = col_dup(st, 7);
	a->sa_withdrawn = sqlite3_column_int(st, 8) != 0;
	if ((k = rst(r, R_A_PATIENT)) != NULL) {
		sqlite3_bind_int64(k, 1, a->sa_pid);
		if (sqlite3_step(k) == SQLITE_ROW)
			a->sa_patient_key = col_dup(k, 0);
		sqlite3_reset(k);
	}
	return STORE_OK;
}

static int
one_assessment(struct store *s, enum rstmt which, const char *ident,
    int64_t aid, struct store_assessment *a)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	if (r == NULL || (st = rst(r, which)) == NULL)
		return STORE_ERROR;
	if (ident != NULL)
		bind_text(st, 1, ident);
	else
		sqlite3_bind_int64(st, 1, aid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		assessment_row(r, st, a);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
sq_assessment(struct store *s, const char *identifier,
    struct store_assessment *a)
{
	return one_assessment(s, R_A_GET, identifier, 0, a);
}

static int
sq_assessment_by_aid(struct store *s, int64_t aid, struct store_assessment *a)
{
	return one_assessment(s, R_A_BY_AID, NULL, aid, a);
}

static int
sq_assessments(struct store *s, int64_t pid, int offset, int max,
    struct store_assessment *out, int *n, int64_t *total)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int64_t aids[256];
	int rc, k = 0, i;

	*n = 0;
	if (r == NULL || (st = rst(r, R_A_COUNT)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	rc = sqlite3_step(st);
	*total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (max > (int)UTIL_ARRAY_LEN(aids))
		max = (int)UTIL_ARRAY_LEN(aids);
	if ((st = rst(r, R_A_LIST)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, max);
	sqlite3_bind_int(st, 3, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < max)
		aids[k++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (i = 0; i < k; i++) {
		if (sq_assessment_by_aid(s, aids[i], &out[*n]) == STORE_OK)
			(*n)++;
	}
	return STORE_OK;
}

static int
sq_model_text(struct store *s, const char *digest, struct buf *out)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	if (r == NULL || (st = rst(r, R_MODEL)) == NULL)
		return STORE_ERROR;
	bind_text(st, 1, digest);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		buf_append(out, sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NONE : map_rc(rc);
}

static int
sq_outbox_due(struct store *s, int64_t now, int max,
    struct store_outbox_row *out, int *n)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (r == NULL || (st = rst(r, R_OB_DUE)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct store_outbox_row *o = &out[(*n)++];

		o->ob_oid = sqlite3_column_int64(st, 0);
		o->ob_aid = sqlite3_column_int64(st, 1);
		o->ob_pid = sqlite3_column_int64(st, 2);
		o->ob_state = sqlite3_column_int(st, 3);
		o->ob_attempts = (long)sqlite3_column_int64(st, 4);
		o->ob_next_at = sqlite3_column_int64(st, 5);
		o->ob_enqueued = sqlite3_column_int64(st, 6);
		o->ob_last_status = sqlite3_column_int(st, 7);
		util_strlcpy(o->ob_last_error,
		    (const char *)sqlite3_column_text(st, 8),
		    sizeof(o->ob_last_error));
		o->ob_kind = sqlite3_column_int(st, 9);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : map_rc(rc);
}

static int
sq_next_due(struct store *s, int64_t *when)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc, found = STORE_NONE;

	if (r == NULL || (st = rst(r, R_OB_NEXT)) == NULL)
		return STORE_ERROR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*when = sqlite3_column_int64(st, 0);
		found = STORE_OK;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : map_rc(rc);
}

static int
sq_outbox_stats(struct store *s, int64_t *pending, int64_t *oldest,
    int64_t *dead)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	if (r == NULL || (st = rst(r, R_OB_STATS)) == NULL)
		return STORE_ERROR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*pending = sqlite3_column_int64(st, 0);
		*oldest = sqlite3_column_int64(st, 1);
		*dead = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? STORE_OK : map_rc(rc);
}

static int
sq_r_load_facts(struct store *s, int64_t pid, struct facts *f)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;

	facts_init(f);
	if (r == NULL || (st = rst(r, R_F_LOAD)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, pid);
	return facts_rows(st, f);
}

void
store_dead_clear(struct store_dead *d)
{
	free(d->sd_outcome);
	free(d->sd_subject);
	memset(d, 0, sizeof(*d));
}

static int
sq_dead_letters(struct store *s, int offset, int max, struct store_dead *out,
    int *n)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (r == NULL || (st = rst(r, R_DEAD)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int(st, 1, max);
	sqlite3_bind_int(st, 2, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct store_dead *d = &out[(*n)++];

		memset(d, 0, sizeof(*d));
		d->sd_row.ob_oid = sqlite3_column_int64(st, 0);
		d->sd_row.ob_aid = sqlite3_column_int64(st, 1);
		d->sd_row.ob_pid = sqlite3_column_int64(st, 2);
		d->sd_row.ob_state = STORE_OB_DEAD;
		d->sd_row.ob_attempts = (long)sqlite3_column_int64(st, 3);
		d->sd_row.ob_enqueued = sqlite3_column_int64(st, 4);
		d->sd_row.ob_last_status = sqlite3_column_int(st, 5);
		util_strlcpy(d->sd_row.ob_last_error,
		    (const char *)sqlite3_column_text(st, 6),
		    sizeof(d->sd_row.ob_last_error));
		d->sd_outcome = col_dup(st, 7);
		d->sd_updated = sqlite3_column_int64(st, 8);
		d->sd_subject = col_dup(st, 9);
		util_strlcpy(d->sd_identifier,
		    (const char *)sqlite3_column_text(st, 10),
		    sizeof(d->sd_identifier));
		d->sd_row.ob_kind = sqlite3_column_int(st, 11);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : map_rc(rc);
}

/*
 * Counters of administrative work kept in meta, because the process that
 * does the work (calcifyctl) is not the one whose /metrics people watch:
 * the daemon reads them back (r_admin_counts) and shows them as counters
 * over the life of the store, so nothing is lost when a requeue runs while
 * the daemon is down.  Call inside the caller's transaction.
 */
static const char *const META_REQUEUED = "requeued_total";
static const char *const META_REQUEUE_SUPERSEDED = "requeue_superseded_total";

static int
meta_add(sqlite3 *db, const char *key, int64_t n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO meta (key, value) VALUES (?1, "
	    "?2) ON CONFLICT (key) DO UPDATE SET value = coalesce(value, 0) + "
	    "?2", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int64_t
meta_int(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1,
	    &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Run one statement binding ?1 = now, ?2 = oid; rows changed or -1. */
static int
requeue_step(sqlite3 *db, const char *sql, int64_t now, int64_t oid)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, oid);
	if (sqlite3_step(st) == SQLITE_DONE)
		n = sqlite3_changes(db);
	sqlite3_finalize(st);
	return n;
}

/*
 * Runs in calcifyctl while the daemon may be writing: a short IMMEDIATE
 * transaction that waits for the writer's lock (busy timeout) instead of
 * failing, so the writer cannot add a newer assessment between the check
 * and the requeue.  Requeued rows are picked up by the daemon's next poll.
 *
 * Only the patient's current assessment (patients.last_aid) goes back:
 * any newer assessment -- delivered, pending, or a dead letter itself --
 * makes an older dead letter superseded, exactly as a newer assessment
 * supersedes an older pending one.  Of several dead letters of one
 * assessment (it was current, abandoned, and current again) only the
 * newest goes back; the others would only repeat it.  The exception is
 * an update withdrawing an assessment: it is sent whatever is current,
 * because it makes an old assessment stop looking current.
 */
static int
sq_requeue(struct store *s, int64_t oid, int64_t now, int *superseded)
{
	struct sqlite_store *ss = SS(s);
	int sup, n = -1;

	*superseded = 0;
	if (exec_sql(ss->w, "BEGIN IMMEDIATE") != SQLITE_OK)
		return STORE_BUSY;
	sup = requeue_step(ss->w, "UPDATE outbox SET state = 2, updated = ?1 "
	    "WHERE state = 3 AND (?2 = 0 OR oid = ?2) AND (oid < (SELECT "
	    "max(d.oid) FROM outbox d WHERE d.state = 3 AND d.aid = "
	    "outbox.aid) OR (aid IS NOT (SELECT p.last_aid FROM patients p "
	    "WHERE p.pid = outbox.pid) AND NOT (kind = 1 AND (SELECT "
	    "a.withdrawn FROM assessments a WHERE a.aid = outbox.aid) = 1)))",
	    now, oid);
	if (sup < 0)
		goto out;
	n = requeue_step(ss->w, "UPDATE outbox SET state = 0, attempts = 0, "
	    "next_at = ?1, updated = ?1, enqueued = ?1 WHERE state = 3 AND "
	    "(?2 = 0 OR oid = ?2)", now, oid);
	if (n < 0)
		goto out;
	if ((n > 0 && meta_add(ss->w, META_REQUEUED, n) == -1) ||
	    (sup > 0 && meta_add(ss->w, META_REQUEUE_SUPERSEDED, sup) == -1))
		n = -1;
out:
	if (n < 0 || exec_sql(ss->w, "COMMIT") != SQLITE_OK) {
		exec_sql(ss->w, "ROLLBACK");
		return STORE_ERROR;
	}
	*superseded = sup;
	return n;
}

static int
sq_admin_counts(struct store *s, int64_t *requeued, int64_t *superseded)
{
	struct reader *r = reader_get(SS(s));
	int64_t a, b;

	if (r == NULL)
		return STORE_ERROR;
	a = meta_int(r->db, META_REQUEUED);
	b = meta_int(r->db, META_REQUEUE_SUPERSEDED);
	if (a < 0 || b < 0)
		return STORE_ERROR;
	*requeued = a;
	*superseded = b;
	return STORE_OK;
}

static int64_t
count_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
sq_stats(struct store *s, struct store_stats *st)
{
	struct reader *r = reader_get(SS(s));
	sqlite3_stmt *q = NULL;
	char sql[128];
	int type;

	if (r == NULL)
		return STORE_ERROR;
	memset(st, 0, sizeof(*st));
	/* One read transaction: every figure from the same snapshot, however
	 * busy the writer is (WAL readers never wait for it). */
	if (exec_sql(r->db, "BEGIN") != SQLITE_OK)
		return STORE_ERROR;
	st->st_patients = count_of(r->db, "SELECT count(*) FROM patients");
	st->st_resources = count_of(r->db, "SELECT count(*) FROM resources");
	if (sqlite3_prepare_v2(r->db, "SELECT type, count(*) FROM resources "
	    "GROUP BY type", -1, &q, NULL) == SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			type = sqlite3_column_int(q, 0);
			if (type >= 0 && type <= FHIR_RTYPE_MAX)
				st->st_by_type[type] = sqlite3_column_int64(q, 1);
		}
	}
	sqlite3_finalize(q);
	q = NULL;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM resources WHERE "
	    "type = %d AND retracted != 0", FHIR_OBSERVATION);
	st->st_retracted_obs = count_of(r->db, sql);
	/* assessments.model is the digest of the models row. */
	if (sqlite3_prepare_v2(r->db, "SELECT m.id, m.version FROM assessments "
	    "a JOIN models m ON m.digest = a.model ORDER BY a.aid DESC LIMIT 1",
	    -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		util_strlcpy(st->st_model_id, (const char *)
		    sqlite3_column_text(q, 0), sizeof(st->st_model_id));
		util_strlcpy(st->st_model_version, (const char *)
		    sqlite3_column_text(q, 1), sizeof(st->st_model_version));
	}
	sqlite3_finalize(q);
	exec_sql(r->db, "COMMIT");
	st->st_assessments = count_of(r->db,
	    "SELECT count(*) FROM assessments");
	st->st_outbox_pending = count_of(r->db,
	    "SELECT count(*) FROM outbox WHERE state = 0");
	st->st_outbox_oldest = count_of(r->db,
	    "SELECT coalesce(min(enqueued), 0) FROM outbox WHERE state = 0");
	st->st_dead_letters = count_of(r->db,
	    "SELECT count(*) FROM outbox WHERE state = 3");
	/* No index on this state: a full scan, fine for an admin command. */
	st->st_outbox_superseded = count_of(r->db,
	    "SELECT count(*) FROM outbox WHERE state = 2");
	st->st_requeued = meta_int(r->db, META_REQUEUED);
	st->st_requeue_superseded = meta_int(r->db, META_REQUEUE_SUPERSEDED);
	st->st_withdrawn = count_of(r->db,
	    "SELECT count(*) FROM assessments WHERE withdrawn = 1");
	return st->st_patients < 0 ? STORE_ERROR : STORE_OK;
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.salt = sq_salt,
	.w_begin = sq_begin,
	.w_commit = sq_commit,
	.w_rollback = sq_rollback,
	.w_savepoint = sq_savepoint,
	.w_release = sq_release,
	.w_rollback_to = sq_rollback_to,
	.w_patient = sq_patient,
	.w_get_resource = sq_get_resource,
	.w_match_identifier = sq_match_identifier,
	.w_resinfo_by_rid = sq_resinfo_by_rid,
	.w_ident_candidates = sq_ident_candidates,
	.w_put_resource = sq_put_resource,
	.w_load_facts = sq_load_facts,
	.w_patient_state = sq_patient_state,
	.w_patient_listed = sq_patient_listed,
	.w_add_assessment = sq_add_assessment,
	.w_withdraw_basis = sq_withdraw_basis,
	.w_outbox_result = sq_outbox_result,
	.w_model_record = sq_model_record,
	.r_read_resource = sq_read_resource,
	.r_patient_by_key = sq_patient_by_key,
	.r_assessments = sq_assessments,
	.r_assessment = sq_assessment,
	.r_assessment_by_aid = sq_assessment_by_aid,
	.r_model_text = sq_model_text,
	.r_outbox_due = sq_outbox_due,
	.r_next_due = sq_next_due,
	.r_outbox_stats = sq_outbox_stats,
	.r_load_facts = sq_r_load_facts,
	.r_dead_letters = sq_dead_letters,
	.r_admin_counts = sq_admin_counts,
	.a_requeue = sq_requeue,
	.r_stats = sq_stats,
};
