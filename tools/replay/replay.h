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

/* Files under the paths (.json and .ndjson), directories walked, sorted.
 * Returns a NULL-terminated list (caller frees each and the list); paths
 * that do not exist are reported to errf and counted in *missing. */
char	**replay_list_files(char *const *paths, int n, FILE *errf,
	    int *missing);

/*
 * Turn one file into requests (appended to the head and tail list).  as_batch wraps
 * single resources (and groups NDJSON lines) into batch Bundles.  On a bad
 * file returns -1 and writes a message naming the file and the problem,
 * never its content, into err.  *skipped counts single resources of types
 * calcifyd does not store (sent only with as_batch).
 */
int	replay_file_requests(const char *file, bool as_batch,
	    struct replay_req **head, struct replay_req **tail, int *skipped,
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
	long	files, files_bad, skipped;
	long	requests, resources;
	long	accepted, created, unchanged, ignored, rejected;
	long	retries, unreachable;
	struct replay_kind kinds[REPLAY_MAX_KINDS];
	int	nkinds;
	char	bad[REPLAY_MAX_BAD][384];	/* "file: problem" */
	int	nbad;
	/* Patients touched (accepted resources), deduplicated through an
	 * open-addressing index of patients[] positions plus one (0 = free
	 * slot), kept at most half full. */
	char	**patients;
	size_t	npatients, cappatients;
	size_t	*pindex;
	size_t	npindex;	/* slots, a power of two */
	/* Assessments seen after --wait-assessments: [outcome][band]. */
	long	bands[2][4];
	long	waited, without_assessment;
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
/* Record assessments found for one patient (a searchset body). */
void	replay_account_assessment(struct replay_stats *, const char *body,
	    size_t len);

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
