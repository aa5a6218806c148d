/*
 * http.h - the HTTP server: libmicrohttpd wiring, the route table, limits,
 * authentication, content negotiation and the request context every
 * handler works on.  This layer knows HTTP and FHIR's REST conventions; it
 * must not know clinical rules.
 *
 * Request life cycle: http accumulates the body (413 past http.max_body),
 * checks route, method, media types and authentication, then calls the
 * route's handler in the MHD worker thread.  A handler either answers at
 * once (http_reply_*) or defers: it calls http_defer(), hands the request to
 * another thread, and that thread calls http_resume() when done.  On resume
 * the handler's resume function runs in an MHD thread again and answers.
 */
#ifndef CALCIFY_HTTP_H
#define CALCIFY_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "util.h"

struct config;
struct http_req;
struct auth;

typedef void (*http_handler_fn)(struct http_req *);

enum http_method {
	HTTP_GET = 0x01,
	HTTP_HEAD = 0x02,
	HTTP_POST = 0x04,
	HTTP_PUT = 0x08,
	HTTP_DELETE = 0x10,
	HTTP_PATCH = 0x20,
	HTTP_OPTIONS = 0x40,
	HTTP_OTHER = 0x80,
};

#define HTTP_MAX_PARAMS	4

/*
 * The request context.  Owned by http; handlers may read every field and
 * write rq_state/rq_state_free (their own per-request data, released with
 * the request).  Everything a handler allocates for the request hangs from
 * rq_state.
 */
struct http_req {
	uint64_t		 rq_id;		/* for logs: rid=... */
	enum http_method	 rq_method;
	const char		*rq_path;	/* borrowed from MHD */
	int			 rq_route;	/* index into the route table */
	const char		*rq_params[HTTP_MAX_PARAMS];	/* path captures */
	int			 rq_nparams;
	char			 rq_parambuf[HTTP_MAX_PARAMS][72];
	struct buf		 rq_body;
	const char		*rq_auth_name;	/* token name, NULL if none */
	void			*rq_state;
	void			(*rq_state_free)(void *);
	void			(*rq_resume_fn)(struct http_req *);
	int64_t			 rq_start_us;

	/* private to http.c */
	struct MHD_Connection	*rq_conn;
	/* The server was ready when the request head arrived: a stop that
	 * begins while the body still uploads drains this request instead
	 * of refusing it (issue 8). */
	bool			 rq_began_ready;
	int			 rq_phase;
	bool			 rq_too_large;
	bool			 rq_answered;
	int			 rq_status;
	struct http_header	*rq_headers;	/* response headers */
};

/* Start listening per cfg.  Returns 0 or -1 (logged). */
int	http_start(const struct config *);
/* Stop accepting new connections; requests in flight continue. */
void	http_quiesce(void);
/* Requests in flight (accepted, not yet completed). */
long	http_inflight(void);
/* Stop the server; deferred requests must have been resumed before. */
void	http_stop(void);
/* The store the FHIR read routes use (borrowed; set before http_start). */
struct store;
void	http_fhir_init(struct store *);
/* Readiness for /readyz and for refusing work with 503.  Handlers that
 * take patient data ask http_req_admissible() instead, so a request
 * already under way when the stop began still completes. */
void	http_set_ready(bool);
bool	http_is_ready(void);
/* True when rq began while the server was ready and the store is still
 * open for work: false for a request that arrived after a stop began (or
 * before start-up finished). */
bool	http_req_admissible(const struct http_req *);
/* Swap the inbound token set (takes ownership; NULL = no auth).  The old
 * set is released when no request uses it any more. */
void	http_set_auth(struct auth *);
/* Apply the parts of a new configuration that are safe to change live. */
void	http_reconfigure(const struct config *);

/* --- for handlers ------------------------------------------------------ */

/* Request header value or NULL (borrowed, valid during the request). */
const char *http_header(struct http_req *, const char *name);
/* Query argument value or NULL (borrowed, valid during the request). */
const char *http_query(struct http_req *, const char *name);
/* Iterate query arguments: calls fn(key, value, arg) for each. */
void	http_query_each(struct http_req *,
	    void (*fn)(const char *, const char *, void *), void *arg);
/* Base URL for Location headers: http.public_base or scheme://Host/fhir. */
void	http_base_url(struct http_req *, struct buf *);
/* Effective configuration (valid until the request completes). */
const struct config *http_config(struct http_req *);

/* Add a response header (copied). */
void	http_add_header(struct http_req *, const char *name, const char *value);
/* Answer with a body (copied) and Content-Type. */
void	http_reply(struct http_req *, int status, const char *ctype,
	    const char *body, size_t len);
/* Answer with FHIR JSON (application/fhir+json; charset=utf-8). */
void	http_reply_fhir(struct http_req *, int status, const char *json,
	    size_t len);
/* Answer with an OperationOutcome built from d (and Retry-After for 429 and
 * 503 when retry_after_s > 0). */
void	http_reply_diag(struct http_req *, const struct diag *,
	    int retry_after_s);
/* Shorthand: diag_set + http_reply_diag. */
void	http_reply_error(struct http_req *, enum diag_code, const char *expr,
	    const char *msg);

/*
 * Defer the answer: suspends the connection.  The handler must then pass
 * the request to exactly one party that later calls http_resume().
 * resume_fn runs in an MHD thread and must answer.
 */
void	http_defer(struct http_req *, void (*resume_fn)(struct http_req *));
/* Thread-safe: wake a deferred request. */
void	http_resume(struct http_req *);

/* Render an OperationOutcome for d into b (used for Bundle entries too). */
void	http_outcome_json(const struct diag *, struct buf *);
/* Render an informational OperationOutcome with one issue. */
void	http_outcome_info(enum diag_code, const char *msg, struct buf *);

#endif
