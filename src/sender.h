/*
 * sender.h - delivery of assessments from the outbox to the hospital FHIR
 * server (hospital.base_url), exactly once in effect: POST RiskAssessment
 * with If-None-Exist on the deterministic identifier, or PUT to the
 * deterministic id.  ARCHITECTURE.md "Delivery", FHIR.md "RiskAssessment we
 * send".
 *
 * One thread with a libcurl multi handle; bounded concurrency, keep-alive,
 * timeouts; at most one delivery per patient in flight, so a newer
 * assessment never overtakes an older one at the server.  Outcomes:
 *   2xx (200/201 in practice)   delivered
 *   408, 409, 429, 5xx,         retry: exponential backoff with full jitter,
 *   no answer                   at least Retry-After (seconds or HTTP-date),
 *                               until hospital.max_retries / max_age, then
 *                               dead letter "gave up"
 *   412                         dead letter: duplicates exist at the server
 *   401                         (bearer/OAuth2) token refreshed once, retried
 *   other 4xx                   dead letter, the server's OperationOutcome
 *                               kept
 * Results go to the store through the ingest writer (one writer).  Never
 * blocks ingest.
 */
#ifndef CALCIFY_SENDER_H
#define CALCIFY_SENDER_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct store;

/* Start delivering (call only when hospital.base_url is set).  store is
 * borrowed.  Returns 0 or -1 (logged: bad token file, curl failure). */
int	sender_init(struct store *, const struct config *);
/*
 * Stop: no new deliveries; transfers in flight get up to bound_ms to
 * finish, then are abandoned (they stay pending and resume after restart;
 * the identifier makes a re-send harmless).
 */
void	sender_fini(int64_t bound_ms);
/* New outbox rows were committed (called by the ingest writer). */
void	sender_wake(void);
/* Take new settings (auth material, timeouts) after SIGHUP. */
int	sender_reconfigure(const struct config *);
/* Refresh the outbox gauges and warn about a backlog (main loop tick). */
void	sender_tick(const struct config *);

/* --- pure parts, exposed for tests ------------------------------------ */

enum sender_verdict {
	SENDER_DELIVERED,
	SENDER_RETRY,
	SENDER_DEAD,
	SENDER_REAUTH,		/* 401: refresh the token once, then retry */
};

/* What an HTTP status (0 = no answer) means for a delivery. */
enum sender_verdict sender_classify(int status, bool token_auth,
	    bool reauthed);
/*
 * Delay before the next attempt (ms): full jitter over
 * min(max, base x 2^attempts), raised to Retry-After when the server gave
 * one (retry_after_ms >= 0).  rnd is uniform in [0, 1).
 */
int64_t	sender_backoff_ms(long attempts, int64_t base, int64_t max,
	    int64_t retry_after_ms, double rnd);
/*
 * Whether a delivery that has just failed for the attempts-th time (1 =
 * the first attempt) is given up and dead-lettered: after max_retries
 * attempts (0 = no limit), or once it has waited max_age_ms since it was
 * enqueued (or requeued).
 */
bool	sender_give_up(long attempts, int64_t enqueued_ms, int64_t now_ms,
	    long max_retries, int64_t max_age_ms);
/* Parse a Retry-After value (delta-seconds or HTTP-date) relative to now;
 * -1 when absent or malformed. */
int64_t	sender_retry_after_ms(const char *value, int64_t now_ms);

#endif
