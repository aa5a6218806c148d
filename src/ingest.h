/*
 * ingest.h - the store writer: one thread that applies requests to the
 * store in group commits, runs the engine once per affected patient and
 * appends changed assessments to the outbox, all in the same transaction
 * (ARCHITECTURE.md "One request = one database transaction").
 *
 * HTTP threads parse and validate, then submit a job and suspend; the
 * writer takes every queued job (up to store.batch_max), gives each its own
 * savepoint inside one transaction, commits once (one fsync for the lot),
 * and only then calls each job's done callback.  A job that fails rolls
 * back to its savepoint and harms nothing else.  The sender's delivery
 * results come through the same queue, so there is a single writer.
 */
#ifndef CALCIFY_INGEST_H
#define CALCIFY_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "fhir.h"
#include "store.h"

struct config;
struct model;
struct terminology;

enum ingest_outcome {
	INGEST_NONE,		/* not applied (invalid, ignored, failed) */
	INGEST_CREATED,		/* 201 */
	INGEST_UPDATED,		/* 200, new version */
	INGEST_UNCHANGED,	/* 200, identical to the stored version */
	INGEST_EXISTS,		/* 200, If-None-Exist matched */
};

/* One resource of a request. */
struct ingest_entry {
	/* in */
	bool			 ie_apply;	/* extracted: apply it */
	struct fhir_item	 ie_item;	/* valid when ie_apply */
	char			*ie_if_none_exist;	/* owned, or NULL */
	/* out (also set by the HTTP layer for entries it rejects) */
	enum ingest_outcome	 ie_outcome;
	struct diag		 ie_diag;	/* 4xx/5xx when failed */
	struct store_resinfo	 ie_info;	/* version stored or matched */
	char			*ie_resid;	/* owned: id of that version */
	bool			 ie_retracted;	/* this version retracts it */
};

struct ingest_job;
typedef void (*ingest_done_fn)(struct ingest_job *);

struct ingest_job {
	struct ingest_entry	*ij_entries;
	int			 ij_n;
	bool			 ij_atomic;	/* transaction: all or nothing */
	int64_t			 ij_now;	/* set by the writer */
	/* Failure of the whole job (atomic entry failure, store failure):
	 * d_status >= 400 and ij_failed_entry names the entry or -1. */
	struct diag		 ij_diag;
	int			 ij_failed_entry;
	/* Delivery results from the sender (instead of entries). */
	struct store_outbox_result *ij_results;
	int			 ij_nresults;
	ingest_done_fn		 ij_done;	/* runs in the writer thread */
	void			*ij_arg;
	struct ingest_job	*ij_next;	/* queue link, private */
	uint64_t		 ij_assess[6];	/* engine outcomes, private:
						 * counted after COMMIT */
};

/*
 * Start the writer.  store and terms are borrowed and must outlive
 * ingest_fini(); model's reference is taken over.  Returns 0 or -1.
 */
int	ingest_init(struct store *, const struct config *, struct model *,
	    const struct terminology *);
/* Finish every queued job, then stop the writer. */
void	ingest_fini(void);

/*
 * Queue a job.  Returns 0 (ij_done will be called exactly once), -1 when
 * the queue is over http.max_queue (answer 503 with Retry-After), -2 when
 * stopping.
 */
int	ingest_submit(struct ingest_job *);

/* Swap the model (takes over the reference); assessments made after the
 * next commit use it. */
void	ingest_set_model(struct model *);
/* The model in use, with a reference the caller must release. */
struct model *ingest_model(void);
/* Swap the code table (borrowed; the caller keeps the old one alive). */
void	ingest_set_terminology(const struct terminology *);
const struct terminology *ingest_terminology(void);
/* Apply config changes that are safe live (scope, queue limit, list). */
void	ingest_reconfigure(const struct config *);
/* Called after a commit that appended outbox rows (the sender's wake). */
void	ingest_set_outbox_hook(void (*fn)(void));

long	ingest_queue_depth(void);
/* Monotonic time (us) of the writer's last sign of life: it is idle or
 * finished a batch recently.  The watchdog pings only when it is fresh. */
int64_t	ingest_heartbeat(void);

#endif
