/*
 * replay.h - calcify-replay's pure parts: turning files into HTTP requests,
 * accounting for calcifyd's answers, the summary, and rate limiting.  No
 * network and no terminal here (replay_main.c), so tests can pin them.
 */
#ifndef CALCIFY_REPLAY_H
#define CALCIFY_REPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define REPLAY_BATCH_MAX	100	/* NDJSON lines per --as-batch Bundle */

/* One HTTP request to calcifyd. */
struct replay_req {
	char		*rr_path;	/* "" (Bundle) or "/Observation" ... */
	char		*rr_body;
	size_t		 rr_len;
	char		*rr_file;	/* for messages */
	int		 rr_nres;	/* resources inside */
	/* Per resource: the Patient/ID it concerns, or NULL. */
	char		**rr_patients;
	bool		 rr_transaction;
	int		 rr_tries;
	bool		 rr_file_end;	/* its file's last request */
	struct replay_req *rr_next;
};

void	replay_req_free(struct replay_req *);

struct replay_stats;

/*
 * Files under the paths (.json and .ndjson), directories walked, sorted.
 * Returns a NULL-terminated list (caller frees each and the list).  A path
 * that does not exist, or a directory that cannot be read, is reported to
 * errf (when not NULL) and recorded in s as a bad file; *missing counts the
 * paths given that do not exist.
 */
char	**replay_list_files(char *const *paths, int n,
	    struct replay_stats *s, FILE *errf, int *missing);

/*
 * Turn one file into requests (appended to the head and tail list).
 * as_batch wraps single resources (and groups NDJSON lines) into batch
 * Bundles.  On a bad file -- not JSON, not a FHIR resource, a resourceType
 * FHIR R4 does not define -- returns -1 and writes a message naming the
 * file and the problem, never its content, into err.  A single resource
 * of an R4 type calcifyd does not use (Encounter, Claim, ...) is not sent
 * without as_batch: it is counted in *ignored, as calcifyd would ignore it
 * in a Bundle, and err then holds a note naming the file and the type.
 */
int	replay_file_requests(const char *file, bool as_batch,
	    struct replay_req **head, struct replay_req **tail, int *ignored,
	    char *err, size_t errsz);

/* --- accounting --------------------------------------------------------- */

#define REPLAY_MAX_KINDS	32
#define REPLAY_MAX_BAD		64

struct replay_kind {
	int	rk_status;
	char	rk_code[32];		/* OperationOutcome issue code */
	long	rk_count;
	char	rk_first[256];		/* first diagnostics seen */
	char	rk_file[256];
};

struct replay_stats {
	long	files, files_bad;
	long	requests, resources;
	long	accepted, created, unchanged, ignored, rejected;
	long	retries, unreachable;
	struct replay_kind kinds[REPLAY_MAX_KINDS];
	int	nkinds;
	char	bad[REPLAY_MAX_BAD][384];	/* "file: problem" */
	int	nbad;
	/* Patients touched (accepted resources), deduplicated through an
	 * open-addressing index of patients[] positions plus one (0 = free
	 * slot), kept at most half full.  pchanged[i]: calcifyd stored
	 * something new for patients[i] in this run (created or a new
	 * version), so an assessment from before the run is stale. */
	char	**patients;
	bool	*pchanged;
	size_t	npatients, cappatients;
	size_t	*pindex;
	size_t	npindex;	/* slots, a power of two */
	/* calcifyd's clock (ms) at the start of the run: the earliest Date
	 * of its answers, less a second for the header's resolution; 0 if
	 * none came. */
	int64_t	server_t0_ms;
	/* Assessments seen after --wait-assessments: [outcome][band]. */
	long	bands[2][4];
	long	waited, without_assessment, stale;
	double	seconds;
};

void	replay_stats_init(struct replay_stats *);
void	replay_stats_free(struct replay_stats *);
void	replay_bad_file(struct replay_stats *, const char *msg);
/*
 * Account for calcifyd's answer to one request (status 0: no answer).
 * body may be NULL.
 */
void	replay_account(struct replay_stats *, const struct replay_req *,
	    long status, const char *body, size_t len);
/* Note the Date header (ms) of one of calcifyd's answers. */
void	replay_server_date(struct replay_stats *, int64_t date_ms);

/*
 * How the newest assessment in a RiskAssessment searchset for
 * s->patients[i] relates to this run.  CURRENT: recorded (meta.lastUpdated)
 * at or after s->server_t0_ms, or any assessment when nothing of the
 * patient's changed in this run (calcifyd re-assesses only on a change, so
 * the newest one stands).  STALE: only an older one.  NONE: no assessment.
 */
enum replay_ra {
	REPLAY_RA_NONE,
	REPLAY_RA_STALE,
	REPLAY_RA_CURRENT,
};
enum replay_ra replay_assessment_state(const struct replay_stats *, size_t i,
	    const char *body, size_t len);
/* Record what was found for s->patients[i]: bands only from a current
 * assessment; otherwise counted as without one or stale. */
void	replay_account_assessment(struct replay_stats *, size_t i,
	    const char *body, size_t len);

/* Exit status per calcify-replay(1). */
int	replay_exit_status(const struct replay_stats *, bool dry_run);
void	replay_summary_text(const struct replay_stats *, bool waited,
	    FILE *);
void	replay_summary_json(const struct replay_stats *, bool waited, FILE *);

/* --- rate ----------------------------------------------------------------- */

/* At most rate requests per second (0: unlimited).  Returns how long to
 * wait (microseconds) before the next request may start at now_us;
 * consumes a slot when it returns 0. */
struct replay_rate {
	double	rate;
	double	tokens;
	int64_t	last_us;
};

void	replay_rate_init(struct replay_rate *, double rate, int64_t now_us);
int64_t	replay_rate_take(struct replay_rate *, int64_t now_us);

/* The last whitespace-separated field of the first non-comment line of a
 * token file (so calcifyd's "NAME TOKEN" files work too).  NULL if none. */
char	*replay_read_token(const char *path, char *err, size_t errsz);

#endif
