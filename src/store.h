/*
 * store.h - the storage interface: resources and their versions, patients
 * and their keys, folded patient facts, assessments, the delivery outbox
 * and dead letters, and stored model versions.
 *
 * One struct of operations per backend (store_sqlite.c is the embedded
 * default; ARCHITECTURE.md "Growing past one machine" names PostgreSQL as
 * the next).  SQL never leaves the backend.
 *
 * Threads: the w_* operations belong to the single store writer (ingest.c)
 * and run inside w_begin()/w_commit(); r_* operations may be called from
 * any thread and see the last committed state.  Return values follow
 * enum store_status: negative for errors (BUSY is retryable, ERROR is not),
 * 0 for "no row", positive for found / rows affected.
 */
#ifndef CALCIFY_STORE_H
#define CALCIFY_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "facts.h"
#include "fhir.h"
#include "util.h"

struct config;

enum store_status {
	STORE_ERROR = -2,
	STORE_BUSY = -1,
	STORE_NONE = 0,
	STORE_OK = 1,
};

/* Schema version this build writes; older stores are migrated at open,
 * newer ones refused. */
#define STORE_SCHEMA_VERSION	2

/* The current version of a stored resource. */
struct store_resinfo {
	int64_t		ri_rid;
	int64_t		ri_pid;
	long		ri_version;
	int64_t		ri_updated;	/* ms */
	bool		ri_retracted;
	uint8_t		ri_hash[SHA256_LEN];
};

enum store_outbox_state {
	STORE_OB_PENDING = 0,
	STORE_OB_DELIVERED = 1,
	STORE_OB_SUPERSEDED = 2,
	STORE_OB_DEAD = 3,
};

/*
 * What an outbox row asks of the hospital.  CREATE: make the assessment
 * exist there (conditional create, or PUT in put mode).  UPDATE: make the
 * server's copy say what the assessment says now -- entered-in-error once
 * it is withdrawn, its own status again when it is current again
 * (conditional update on the identifier, or PUT).  The body is built when
 * the row is sent, so an update never carries a stale status.
 */
enum store_outbox_kind {
	STORE_OB_CREATE = 0,
	STORE_OB_UPDATE = 1,
};

/* An assessment row, with what is needed to rebuild its JSON. */
struct store_assessment {
	int64_t		sa_aid;
	int64_t		sa_pid;
	char		sa_identifier[65];	/* hex; also the resource id */
	char		sa_model_digest[65];
	int64_t		sa_created;	/* ms, meta.lastUpdated */
	int64_t		sa_at;		/* occurrence */
	char		*sa_snapshot;	/* owned */
	char		*sa_subject;	/* owned: Reference JSON */
	char		*sa_patient_key;	/* owned: preferred key */
	bool		 sa_withdrawn;	/* rests on data entered in error */
};

void	store_assessment_clear(struct store_assessment *);

/* Engine output kept beside an assessment for summaries (calcifyctl). */
struct store_assess_summary {
	bool		ss_final;
	double		ss_prob[2];	/* percent */
	int		ss_band[2];	/* enum engine_band */
};

/* An outbox row as the sender sees it. */
struct store_outbox_row {
	int64_t		ob_oid;
	int64_t		ob_aid;
	int64_t		ob_pid;
	int		ob_state;
	int		ob_kind;	/* enum store_outbox_kind */
	long		ob_attempts;
	int64_t		ob_next_at;
	int64_t		ob_enqueued;
	int		ob_last_status;
	char		ob_last_error[256];
};

/* What the sender reports for one attempt (applied by the writer). */
struct store_outbox_result {
	int64_t		or_oid;
	int		or_state;	/* PENDING (retry), DELIVERED, DEAD */
	int64_t		or_next_at;	/* when PENDING */
	int		or_http_status;	/* 0: no HTTP answer */
	char		*or_error;	/* owned, may be NULL */
	char		*or_outcome;	/* owned: server OperationOutcome */
};

/* A dead letter as calcifyctl lists it. */
struct store_dead {
	struct store_outbox_row	 sd_row;
	char			*sd_outcome;	/* owned: server's answer */
	char			*sd_subject;	/* owned: patient Reference */
	char			 sd_identifier[65];
	int64_t			 sd_updated;
};

void	store_dead_clear(struct store_dead *);

struct store_stats {
	int64_t		st_patients;
	int64_t		st_resources;		/* every stored type */
	int64_t		st_by_type[FHIR_RTYPE_MAX + 1];	/* [enum fhir_rtype] */
	int64_t		st_retracted_obs;	/* entered-in-error */
	int64_t		st_assessments;
	int64_t		st_outbox_pending;
	int64_t		st_outbox_oldest;	/* enqueued ms, 0 if none */
	int64_t		st_dead_letters;
	/* The model version that made the newest assessment ("" if none). */
	char		st_model_id[128];
	char		st_model_version[64];
	int64_t		st_outbox_superseded;	/* kept locally, never sent */
	int64_t		st_requeued;		/* a_requeue, all time */
	int64_t		st_requeue_superseded;	/* a_requeue, all time */
	int64_t		st_withdrawn;		/* assessments withdrawn */
};

struct store;

struct store_ops {
	const char	*name;
	void	(*close)(struct store *);
	/* Per-database random salt for log tags (32 bytes). */
	void	(*salt)(struct store *, uint8_t out[32]);

	/* --- writer -------------------------------------------------- */
	int	(*w_begin)(struct store *);
	int	(*w_commit)(struct store *);
	void	(*w_rollback)(struct store *);
	/* Nested savepoints; depth is the caller's nesting level. */
	int	(*w_savepoint)(struct store *, int depth);
	int	(*w_release)(struct store *, int depth);
	void	(*w_rollback_to)(struct store *, int depth);
	/*
	 * Find or create the patient named by keys (every spelling of one
	 * reference), linking new keys.  When keys name several patients
	 * they are merged into the oldest; *merged is then true and every
	 * fact of *pid must be refolded (the backend has done that).
	 * subject: Reference JSON for RiskAssessment.subject (a literal
	 * Patient reference replaces an identifier-only one).
	 */
	int	(*w_patient)(struct store *, char *const *keys, int nkeys,
		    const char *subject, int64_t now, int64_t *pid,
		    bool *merged);
	int	(*w_get_resource)(struct store *, enum fhir_rtype,
		    const char *id, struct store_resinfo *);
	/* Resources of type carrying identifier "system|value" (or, with
	 * any_system, "value" under any system): up to max rids; returns
	 * how many match in all (may exceed max). */
	int	(*w_match_identifier)(struct store *, enum fhir_rtype,
		    const char *ident, bool any_system, int64_t *rids, int max);
	int	(*w_resinfo_by_rid)(struct store *, int64_t rid,
		    struct store_resinfo *, char **id);
	/*
	 * Candidates for "the same result under another id": resources of
	 * type stored for patient pid carrying identifier "system|value"
	 * exactly, oldest first.  Fills up to max rids and their stored
	 * bodies (owned by the caller, free each) and returns how many it
	 * filled, or a negative store status.
	 */
	int	(*w_ident_candidates)(struct store *, enum fhir_rtype,
		    const char *ident, int64_t pid, int64_t *rids,
		    char **bodies, int max);
	/*
	 * Store a new resource (old == NULL) or a new version of old, with
	 * its identifiers and facts, and fold the patient's facts.  The
	 * patient of a new version must equal old's (caller checks).  Out:
	 * the new current version.
	 */
	int	(*w_put_resource)(struct store *, const struct fhir_item *,
		    int64_t pid, const struct store_resinfo *old, int64_t now,
		    struct store_resinfo *out);
	/* The patient's current facts (only what the folds produced). */
	int	(*w_load_facts)(struct store *, int64_t pid, struct facts *);
	/* The patient's subject Reference JSON (appended to subject) and the
	 * signature of its last assessment's output (*has_sig false when it
	 * has none).  NONE when the patient does not exist. */
	int	(*w_patient_state)(struct store *, int64_t pid, uint8_t sig[32],
		    bool *has_sig, struct buf *subject);
	/* Does any key of the patient appear in the set?  (scope list) */
	int	(*w_patient_listed)(struct store *, int64_t pid,
		    bool (*in_set)(const char *key, void *), void *arg);
	/*
	 * Record an assessment (identifier unique: an existing one is reused
	 * and *aid names it), make it the patient's current one with sig,
	 * and, when enqueue, append an outbox row superseding older pending
	 * rows of the patient (*superseded counts them) -- but not the
	 * updates that withdraw other assessments at the server.  A reused
	 * assessment that was withdrawn is current again: it is no longer
	 * withdrawn and its row is an UPDATE, so that the server's copy gets
	 * its status back.
	 */
	int	(*w_add_assessment)(struct store *, int64_t pid,
		    const char *identifier, const char *model_digest,
		    const char *snapshot, int64_t at, int64_t now,
		    const struct store_assess_summary *, const uint8_t sig[32],
		    bool enqueue, int64_t *aid, int *superseded);
	/*
	 * Withdraw every assessment of pid but its current one whose facts
	 * include one taken from the resource named by ref (its Reference
	 * JSON, as fhir_item.fi_ref): that resource has just been entered in
	 * error, so they rest on data that should never have existed.  A
	 * withdrawn assessment reads as entered-in-error, here and -- with
	 * enqueue, through an UPDATE row for each that may have reached the
	 * hospital -- at the server.  *withdrawn counts them.
	 */
	int	(*w_withdraw_basis)(struct store *, int64_t pid,
		    const char *ref, int64_t now, bool enqueue,
		    int *withdrawn);
	/* Record one delivery attempt's outcome.  A create that may have
	 * reached the server after its assessment was withdrawn gets the
	 * UPDATE that withdraws it there. */
	int	(*w_outbox_result)(struct store *,
		    const struct store_outbox_result *, int64_t now);
	/* Keep the text of a model version (by digest), once. */
	int	(*w_model_record)(struct store *, const char *digest,
		    const char *id, const char *version, const char *text,
		    int64_t now);

	/* --- readers ------------------------------------------------- */
	/* Stored JSON of a version (0: current) into out. */
	int	(*r_read_resource)(struct store *, enum fhir_rtype,
		    const char *id, long version, struct buf *out,
		    struct store_resinfo *);
	int	(*r_patient_by_key)(struct store *, const char *key,
		    int64_t *pid);
	/* Assessments of a patient, newest first: up to max, *total all. */
	int	(*r_assessments)(struct store *, int64_t pid, int offset,
		    int max, struct store_assessment *out, int *n,
		    int64_t *total);
	int	(*r_assessment)(struct store *, const char *identifier,
		    struct store_assessment *);
	int	(*r_assessment_by_aid)(struct store *, int64_t aid,
		    struct store_assessment *);
	int	(*r_model_text)(struct store *, const char *digest,
		    struct buf *out);
	/* Pending outbox rows due by now, oldest first. */
	int	(*r_outbox_due)(struct store *, int64_t now, int max,
		    struct store_outbox_row *out, int *n);
	int	(*r_next_due)(struct store *, int64_t *when);
	/* Cheap outbox figures for gauges: pending rows, oldest pending
	 * enqueue time (0 if none), dead letters. */
	int	(*r_outbox_stats)(struct store *, int64_t *pending,
		    int64_t *oldest, int64_t *dead);
	/* Counts for calcifyctl status, all from one snapshot. */
	int	(*r_stats)(struct store *, struct store_stats *);
	/* The patient's folded facts, as the writer last committed them. */
	int	(*r_load_facts)(struct store *, int64_t pid, struct facts *);
	/* Dead letters, oldest first. */
	int	(*r_dead_letters)(struct store *, int offset, int max,
		    struct store_dead *out, int *n);
	/*
	 * What a_requeue has done in the life of this store, from any
	 * process: dead letters requeued, and dead letters found superseded
	 * instead.  The daemon shows these in /metrics although calcifyctl
	 * did the work.
	 */
	int	(*r_admin_counts)(struct store *, int64_t *requeued,
		    int64_t *superseded);

	/* --- administration (calcifyctl; its own short transaction) --- */
	/*
	 * Put dead letters back in the outbox (oid 0: all of them), due now
	 * with a fresh attempt count and age -- but only a patient's current
	 * assessment, so that a requeue never makes an older assessment
	 * reach the server after a newer one.  A dead letter whose patient
	 * has a newer assessment (delivered, pending or dead itself), or an
	 * older dead letter of the same assessment, becomes superseded: kept
	 * locally, never sent; *superseded counts them.  Returns how many
	 * were requeued (>= 0), or a store_status error (nothing changed).
	 */
	int	(*a_requeue)(struct store *, int64_t oid, int64_t now,
		    int *superseded);
};

struct store {
	const struct store_ops	*s_ops;
};

/*
 * Open the store named by cfg->cf_store_path (creating it 0600 and its
 * directory 0700; migrating an older schema after a backup copy; refusing
 * a newer one).  readonly: for calcifyctl while the daemon runs.  Problems
 * go to errf; NULL on failure.
 */
struct store *store_open(const struct config *, bool readonly, FILE *errf);
void	store_close(struct store *);

#endif
