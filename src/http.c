/*
 * http.c - libmicrohttpd wiring: the route table (the map of the daemon),
 * body accumulation with limits, authentication, content negotiation,
 * deferred answers and response headers.  Must not know clinical rules;
 * handlers live in http_ops.c and http_fhir.c.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#endif

#include "auth.h"
#include "config.h"
#include "http.h"
#include "http_deadline.h"
#include "http_routes.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

enum auth_need {
	NEED_NEVER,		/* /healthz, /fhir/metadata */
	NEED_ALWAYS,		/* everything that touches patient data */
	NEED_READYZ,		/* per http.auth_readyz */
	NEED_METRICS,		/* per http.auth_metrics */
};

struct route {
	const char	*r_pattern;	/* "*" = one id segment, "{type}" */
	unsigned	 r_methods;
	enum auth_need	 r_auth;
	bool		 r_fhir;	/* FHIR content negotiation applies */
	http_handler_fn	 r_fn;
	const char	*r_name;	/* metrics label */
};

/* The map of the daemon.  First row whose pattern and method match wins. */
static const struct route routes[] = {
	{ "/healthz", HTTP_GET | HTTP_HEAD, NEED_NEVER, false, ops_healthz,
	  "healthz" },
	{ "/readyz", HTTP_GET | HTTP_HEAD, NEED_READYZ, false, ops_readyz,
	  "readyz" },
	{ "/metrics", HTTP_GET | HTTP_HEAD, NEED_METRICS, false, ops_metrics,
	  "metrics" },
	{ "/fhir/metadata", HTTP_GET | HTTP_HEAD, NEED_NEVER, true,
	  ops_metadata, "metadata" },
	{ "/fhir", HTTP_POST, NEED_ALWAYS, true, fhir_route_bundle, "bundle" },
	{ "/fhir/RiskAssessment", HTTP_GET | HTTP_HEAD, NEED_ALWAYS, true,
	  fhir_route_ra_search, "riskassessment_search" },
	{ "/fhir/RiskAssessment/*", HTTP_GET | HTTP_HEAD, NEED_ALWAYS, true,
	  fhir_route_ra_read, "riskassessment_read" },
	{ "/fhir/{type}", HTTP_POST, NEED_ALWAYS, true, fhir_route_create,
	  "create" },
	{ "/fhir/{type}/*", HTTP_GET | HTTP_HEAD, NEED_ALWAYS, true,
	  fhir_route_read, "read" },
	{ "/fhir/{type}/*", HTTP_PUT, NEED_ALWAYS, true, fhir_route_update,
	  "update" },
	{ "/fhir/{type}/*/_history/*", HTTP_GET | HTTP_HEAD, NEED_ALWAYS, true,
	  fhir_route_vread, "vread" },
};
#define NROUTES		((int)UTIL_ARRAY_LEN(routes))
#define ROUTE_OTHER	NROUTES

static const char *route_names[NROUTES + 1];

struct http_header {
	struct http_header	*h_next;
	char			*h_name;
	char			*h_value;
};

enum phase {
	PH_NEW,			/* first callback not yet seen */
	PH_BODY,		/* accumulating the body */
	PH_DEFERRED,		/* suspended, waiting for http_resume */
	PH_RESUMED,		/* resumed, resume_fn pending */
	PH_ANSWERED,
};

/* Retired token sets and configurations stay alive until http_stop, so a
 * request that started before a reload never sees freed memory. */
struct retired {
	struct retired	*next;
	struct auth	*auth;
};

static struct MHD_Daemon		*daemon_;
static const struct config		*cfg;
static _Atomic(struct auth *)		 auth_set;
static struct retired			*retired;
static pthread_mutex_t			 retired_mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool			 ready;
static atomic_bool			 started;	/* modules up once */
static atomic_bool			 quiescing;
static _Atomic long			 inflight;
static _Atomic uint64_t			 next_rid = 1;
static bool				 tls_on;
static bool				 client_certs;	/* mTLS required */
/* http.request_timeout_ms as the daemon started: like MHD's idle timeout,
 * the head and body deadlines change only with a restart. */
static int64_t				 timeout_us;
/* Allowed client certificate subjects (http.tls_client_subjects). */
static pthread_mutex_t			 subj_mtx = PTHREAD_MUTEX_INITIALIZER;
static char				**subjects;
static size_t				 nsubjects;

/* --- helpers ------------------------------------------------------------ */

static enum http_method
method_of(const char *m)
{
	if (strcmp(m, "GET") == 0) return HTTP_GET;
	if (strcmp(m, "HEAD") == 0) return HTTP_HEAD;
	if (strcmp(m, "POST") == 0) return HTTP_POST;
	if (strcmp(m, "PUT") == 0) return HTTP_PUT;
	if (strcmp(m, "DELETE") == 0) return HTTP_DELETE;
	if (strcmp(m, "PATCH") == 0) return HTTP_PATCH;
	if (strcmp(m, "OPTIONS") == 0) return HTTP_OPTIONS;
	return HTTP_OTHER;
}

static const char *
method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_HEAD: return "HEAD";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_DELETE: return "DELETE";
	case HTTP_PATCH: return "PATCH";
	case HTTP_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

static void
methods_text(unsigned m, struct buf *b)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ HTTP_GET, "GET" }, { HTTP_HEAD, "HEAD" }, { HTTP_POST, "POST" },
		{ HTTP_PUT, "PUT" }, { HTTP_DELETE, "DELETE" },
	};
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		if (!(m & names[i].bit))
			continue;
		if (b->b_len > 0)
			buf_puts(b, ", ");
		buf_puts(b, names[i].name);
	}
}

/* Resource types with instance routes (path segment {type}). */
static bool
stored_type(const char *t)
{
	static const char *const types[] = { "Observation", "Patient",
	    "Condition", "Procedure", "MedicationStatement",
	    "MedicationRequest" };
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(types); i++)
		if (strcmp(types[i], t) == 0)
			return true;
	return false;
}

/* FHIR id syntax: [A-Za-z0-9\-\.]{1,64} */
static bool
id_segment(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/*
 * Match path against pattern; captures go to rq_params.  Path segments are
 * compared without a trailing slash.
 */
static bool
match(const char *pattern, const char *path, struct http_req *rq)
{
	const char *p = pattern, *s = path;
	int np = 0;
	size_t pl, sl;
	char (*seg)[72] = rq->rq_parambuf;

	for (;;) {
		if (*p == '\0' || *s == '\0')
			break;
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		pl = strcspn(p, "/");
		sl = strcspn(s, "/");
		if ((pl == 1 && *p == '*') || (pl == 6 &&
		    strncmp(p, "{type}", 6) == 0)) {
			if (!id_segment(s, sl) || np >= HTTP_MAX_PARAMS)
				return false;
			memcpy(seg[np], s, sl);
			seg[np][sl] = '\0';
			if (*p == '{' && !stored_type(seg[np]))
				return false;
			np++;
		} else if (pl != sl || strncmp(p, s, pl) != 0)
			return false;
		p += pl;
		s += sl;
	}
	if (*s == '/' && s[1] == '\0')
		s++;
	if (*p != '\0' || *s != '\0')
		return false;
	for (int i = 0; i < np; i++)
		rq->rq_params[i] = seg[i];
	rq->rq_nparams = np;
	return true;
}

static void
free_headers(struct http_header *h)
{
	struct http_header *n;

	for (; h != NULL; h = n) {
		n = h->h_next;
		free(h->h_name);
		free(h->h_value);
		free(h);
	}
}

const char *
http_header(struct http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->rq_conn, MHD_HEADER_KIND, name);
}

const char *
http_query(struct http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->rq_conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

struct query_iter {
	void	(*fn)(const char *, const char *, void *);
	void	*arg;
};

static enum MHD_Result
query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query_iter *qi = cls;

	qi->fn(key, value != NULL ? value : "", qi->arg);
	return MHD_YES;
}

void
http_query_each(struct http_req *rq,
    void (*fn)(const char *, const char *, void *), void *arg)
{
	struct query_iter qi = { fn, arg };

	MHD_get_connection_values(rq->rq_conn, MHD_GET_ARGUMENT_KIND, query_cb,
	    &qi);
}

const struct config *
http_config(struct http_req *rq)
{
	return cfg;
}

void
http_base_url(struct http_req *rq, struct buf *b)
{
	const char *host;

	if (cfg->cf_http_public_base[0] != '\0') {
		buf_puts(b, cfg->cf_http_public_base);
		return;
	}
	host = http_header(rq, MHD_HTTP_HEADER_HOST);
	if (host == NULL || host[0] == '\0' || strpbrk(host, " /\"\\") != NULL)
		host = cfg->cf_http_listen;
	buf_printf(b, "%s://%s/fhir", tls_on ? "https" : "http", host);
}

void
http_add_header(struct http_req *rq, const char *name, const char *value)
{
	struct http_header *h = xmalloc(sizeof(*h));

	h->h_name = xstrdup(name);
	h->h_value = xstrdup(value);
	h->h_next = rq->rq_headers;
	rq->rq_headers = h;
}

static void
queue(struct http_req *rq, int status, const char *ctype, char *body,
    size_t len)
{
	struct MHD_Response *resp;
	struct http_header *h;
	char rid[24];

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		log_warnx("http rid=%llu cannot create response",
		    (unsigned long long)rq->rq_id);
		return;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    ctype);
	snprintf(rid, sizeof(rid), "%llu", (unsigned long long)rq->rq_id);
	MHD_add_response_header(resp, "X-Request-Id", rid);
	for (h = rq->rq_headers; h != NULL; h = h->h_next)
		MHD_add_response_header(resp, h->h_name, h->h_value);
	if (quiescing)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	rq->rq_status = status;
	rq->rq_answered = true;
	if (MHD_queue_response(rq->rq_conn, (unsigned)status, resp) != MHD_YES)
		log_debug("http rid=%llu queue_response refused",
		    (unsigned long long)rq->rq_id);
	MHD_destroy_response(resp);
}

void
http_reply(struct http_req *rq, int status, const char *ctype,
    const char *body, size_t len)
{
	char *copy = xmalloc(len + 1);

	memcpy(copy, body, len);
	copy[len] = '\0';
	queue(rq, status, ctype, copy, len);
}

void
http_reply_fhir(struct http_req *rq, int status, const char *json, size_t len)
{
	http_reply(rq, status, "application/fhir+json; charset=utf-8", json,
	    len);
}

void
http_reply_diag(struct http_req *rq, const struct diag *d, int retry_after_s)
{
	struct buf b;
	char ra[16];
	size_t len;
	char *body;

	if (retry_after_s > 0 && (d->d_status == 429 || d->d_status == 503)) {
		snprintf(ra, sizeof(ra), "%d", retry_after_s);
		http_add_header(rq, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	buf_init(&b);
	http_outcome_json(d, &b);
	body = buf_steal(&b, &len);
	queue(rq, d->d_status, "application/fhir+json; charset=utf-8", body,
	    len);
}

void
http_reply_error(struct http_req *rq, enum diag_code code, const char *expr,
    const char *msg)
{
	struct diag d;

	diag_clear(&d);
	if (msg != NULL)
		diag_set(&d, code, expr, "%s", msg);
	else
		diag_set(&d, code, expr, NULL);
	http_reply_diag(rq, &d, code == DIAG_BUSY || code == DIAG_NOT_READY ||
	    code == DIAG_THROTTLED || code == DIAG_SHUTTING_DOWN ? 1 : 0);
}

void
http_defer(struct http_req *rq, void (*resume_fn)(struct http_req *))
{
	rq->rq_resume_fn = resume_fn;
	rq->rq_phase = PH_DEFERRED;
	MHD_suspend_connection(rq->rq_conn);
}

void
http_resume(struct http_req *rq)
{
	rq->rq_phase = PH_RESUMED;
	MHD_resume_connection(rq->rq_conn);
}

/* --- negotiation and auth --------------------------------------------- */

static bool
fhir_media_type(const char *v, size_t n)
{
	static const char *const ok[] = { "application/fhir+json",
	    "application/json", "application/json+fhir" };
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(ok); i++)
		if (n == strlen(ok[i]) && strncasecmp(v, ok[i], n) == 0)
			return true;
	return false;
}

/* Content-Type must be FHIR JSON; a charset parameter must be UTF-8. */
static bool
content_type_ok(const char *ct)
{
	const char *semi, *cs;
	size_t n;

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	semi = strchr(ct, ';');
	n = semi != NULL ? (size_t)(semi - ct) : strlen(ct);
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (!fhir_media_type(ct, n))
		return false;
	if (semi != NULL && (cs = strcasestr(semi, "charset=")) != NULL) {
		cs += 8;
		if (*cs == '"')
			cs++;
		if (strncasecmp(cs, "utf-8", 5) != 0 &&
		    strncasecmp(cs, "utf8", 4) != 0)
			return false;
	}
	return true;
}

/* Does an Accept header admit FHIR JSON?  q=0 entries do not count. */
static bool
accept_ok(const char *acc)
{
	const char *p = acc, *end, *semi, *q;
	size_t n;

	if (acc == NULL || *acc == '\0')
		return true;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ",");
		semi = memchr(p, ';', (size_t)(end - p));
		n = (size_t)((semi != NULL ? semi : end) - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		q = semi != NULL ? strstr(semi, "q=") : NULL;
		if (q != NULL && q < end && strtod(q + 2, NULL) <= 0.0) {
			p = end;
			continue;
		}
		if ((n == 3 && strncmp(p, "*/*", 3) == 0) ||
		    (n == 13 && strncasecmp(p, "application/*", 13) == 0) ||
		    fhir_media_type(p, n))
			return true;
		p = end;
	}
	return false;
}

static bool
format_ok(const char *f)
{
	return f == NULL || strcmp(f, "json") == 0 ||
	    fhir_media_type(f, strlen(f));
}

static bool
needs_auth(const struct route *r)
{
	switch (r->r_auth) {
	case NEED_NEVER: return false;
	case NEED_ALWAYS: return true;
	case NEED_READYZ: return cfg->cf_http_auth_readyz;
	case NEED_METRICS: return cfg->cf_http_auth_metrics;
	}
	return true;
}

/* Returns true when the request may proceed; otherwise answers it. */
static bool
authenticate(struct http_req *rq, const struct route *r)
{
	struct auth *a = atomic_load(&auth_set);
	const char *h, *tok;
	struct diag d;

	if (a == NULL || !needs_auth(r))
		return true;
	h = http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
	diag_clear(&d);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		metrics_inc(M_AUTH_MISSING);
		diag_set(&d, DIAG_AUTH_MISSING, NULL,
		    "a bearer token is required (Authorization: Bearer ...)");
		http_add_header(rq, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"calcifyd\"");
		http_reply_diag(rq, &d, 0);
		return false;
	}
	tok = h + 7;
	while (*tok == ' ')
		tok++;
	rq->rq_auth_name = auth_check(a, tok, strlen(tok));
	if (rq->rq_auth_name == NULL) {
		metrics_inc(M_AUTH_BAD);
		log_notice("http rid=%llu auth refused reason=invalid_token",
		    (unsigned long long)rq->rq_id);
		diag_set(&d, DIAG_AUTH_INVALID, NULL, NULL);
		http_add_header(rq, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"calcifyd\", error=\"invalid_token\"");
		http_reply_diag(rq, &d, 0);
		return false;
	}
	return true;
}

/* --- client certificates (mTLS) ---------------------------------------- */

/*
 * A distinguished name as a canonical string: its attributes (RDNs) sorted,
 * blanks around them dropped, so "CN=mirth,O=Example Hospital",
 * "O=Example Hospital, CN=mirth" and openssl's "/O=Example Hospital/CN=mirth"
 * all name the same subject.  Escaped separators ("\,") stay inside their
 * attribute.
 */
static int
cmp_rdn(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
dn_canonical(const char *dn, char *out, size_t size)
{
	char copy[1024], *parts[64], *p, *start;
	size_t n = 0, i, used = 0;

	util_strlcpy(copy, dn, sizeof(copy));
	start = copy;
	if (*start == '/')
		start++;
	for (p = start;; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == ',' || *p == '/' || *p == '+' || *p == '\0') {
			char end = *p, *t = start, *e = p;

			*p = '\0';
			while (*t == ' ')
				t++;
			while (e > t && e[-1] == ' ')
				*--e = '\0';
			if (*t != '\0' && n < UTIL_ARRAY_LEN(parts))
				parts[n++] = t;
			if (end == '\0')
				break;
			start = p + 1;
		}
	}
	qsort(parts, n, sizeof(*parts), cmp_rdn);
	out[0] = '\0';
	for (i = 0; i < n && used + 1 < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s",
		    i ? "," : "", parts[i]);
}

static void
free_subjects(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* Load the subject allow-list: one DN a line ("CN=mirth,O=Example
 * Hospital", attributes in any order, or openssl's "/O=.../CN=..."), '#'
 * comments.  -1 if the
 * file cannot be read (the running list is kept). */
static int
load_subjects(const char *path)
{
	char line[1024], **l = NULL, **old;
	size_t n = 0, len, nold;
	FILE *fp;

	if (path == NULL || path[0] == '\0') {
		l = NULL;
	} else {
		if ((fp = fopen(path, "r")) == NULL) {
			log_warn("cannot read http.tls_client_subjects path=%s",
			    path);
			return -1;
		}
		while (fgets(line, sizeof(line), fp) != NULL) {
			len = strlen(line);
			while (len > 0 && (line[len - 1] == '\n' ||
			    line[len - 1] == '\r' || line[len - 1] == ' '))
				line[--len] = '\0';
			if (len == 0 || line[0] == '#')
				continue;
			l = xrealloc(l, (n + 1) * sizeof(*l));
			{
				char canon[1024];

				dn_canonical(line, canon, sizeof(canon));
				l[n++] = xstrdup(canon);
			}
		}
		fclose(fp);
	}
	pthread_mutex_lock(&subj_mtx);
	old = subjects;
	nold = nsubjects;
	subjects = l;
	nsubjects = n;
	pthread_mutex_unlock(&subj_mtx);
	free_subjects(old, nold);
	return 0;
}

#ifdef HAVE_GNUTLS
/*
 * With http.tls_client_ca, libmicrohttpd asks for a client certificate but
 * does not insist: verify it here against the CA, and against the subject
 * allow-list when there is one.  Returns true when the client may go on.
 */
static bool
client_cert_ok(struct http_req *rq)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t sess;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t dn = { NULL, 0 };
	char canon[1024];
	unsigned int status = 0, np = 0;
	bool ok = false;
	size_t i;

	ci = MHD_get_connection_info(rq->rq_conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || (sess = ci->tls_session) == NULL)
		return false;
	peers = gnutls_certificate_get_peers(sess, &np);
	if (peers == NULL || np == 0) {
		log_debug("http rid=%llu no client certificate",
		    (unsigned long long)rq->rq_id);
		return false;
	}
	if (gnutls_certificate_verify_peers2(sess, &status) != 0 ||
	    status != 0) {
		log_debug("http rid=%llu client certificate not trusted "
		    "status=0x%x", (unsigned long long)rq->rq_id, status);
		return false;
	}
	if (gnutls_x509_crt_init(&crt) != 0)
		return false;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn2(crt, &dn) == 0) {
		dn_canonical((const char *)dn.data, canon, sizeof(canon));
		pthread_mutex_lock(&subj_mtx);
		if (subjects == NULL)
			ok = true;
		for (i = 0; i < nsubjects && !ok; i++)
			if (strcmp(subjects[i], canon) == 0)
				ok = true;
		pthread_mutex_unlock(&subj_mtx);
		if (!ok)
			log_debug("http rid=%llu client subject not allowed "
			    "subject=%s", (unsigned long long)rq->rq_id,
			    (const char *)dn.data);
	}
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	return ok;
}
#else
static bool
client_cert_ok(struct http_req *rq)
{
	/* config.c refuses client certificates without GnuTLS. */
	return false;
}
#endif

/* --- MHD callbacks ------------------------------------------------------ */

/*
 * Pick the route; answers 404/405 itself when nothing fits and returns
 * NULL then.
 */
static const struct route *
route_request(struct http_req *rq, const char *url)
{
	unsigned allowed = 0;
	struct buf b;
	char *allow;
	int i;
	bool path_hit = false;

	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].r_pattern, url, rq))
			continue;
		path_hit = true;
		allowed |= routes[i].r_methods;
		if (routes[i].r_methods & rq->rq_method) {
			rq->rq_route = i;
			return &routes[i];
		}
	}
	rq->rq_route = ROUTE_OTHER;
	if (!path_hit) {
		http_reply_error(rq, DIAG_UNKNOWN_ROUTE, NULL,
		    util_has_prefix(url, "/fhir/") ?
		    "calcifyd does not serve this resource type or path" :
		    NULL);
		return NULL;
	}
	buf_init(&b);
	methods_text(allowed, &b);
	allow = buf_steal(&b, NULL);
	http_add_header(rq, MHD_HTTP_HEADER_ALLOW, allow);
	free(allow);
	http_reply_error(rq, DIAG_METHOD, NULL, NULL);
	return NULL;
}

/* Checks made before any body byte is read.  Returns false if answered. */
static bool
precheck(struct http_req *rq, const struct route *r)
{
	const char *cl, *fmt;
	long long len;

	if (client_certs && r->r_auth != NEED_NEVER && !client_cert_ok(rq)) {
		metrics_inc(M_AUTH_CERT);
		log_notice("http rid=%llu refused: client certificate missing, "
		    "not trusted or not allowed", (unsigned long long)rq->rq_id);
		http_reply_error(rq, DIAG_FORBIDDEN, NULL,
		    "a trusted client certificate on the allow-list is required");
		return false;
	}
	if (!authenticate(rq, r))
		return false;
	/* The listener opens before the store and the model (start-up
	 * answers 503, not "connection refused"); what reads or writes
	 * patient data waits for them. */
	if (r->r_auth == NEED_ALWAYS && !atomic_load(&started)) {
		metrics_inc(M_SHED_STOP);
		http_reply_error(rq, DIAG_NOT_READY, NULL,
		    "calcifyd is starting: the store or the model is not "
		    "ready yet");
		return false;
	}
	if (r->r_fhir) {
		fmt = http_query(rq, "_format");
		if (!format_ok(fmt) ||
		    (fmt == NULL && !accept_ok(http_header(rq,
		    MHD_HTTP_HEADER_ACCEPT)))) {
			http_reply_error(rq, DIAG_NOT_ACCEPTABLE, NULL,
			    "calcifyd answers only application/fhir+json");
			return false;
		}
	}
	if (rq->rq_method & (HTTP_POST | HTTP_PUT)) {
		if (!content_type_ok(http_header(rq,
		    MHD_HTTP_HEADER_CONTENT_TYPE))) {
			http_reply_error(rq, DIAG_MEDIA_TYPE, NULL,
			    "send application/fhir+json (or application/json), "
			    "UTF-8");
			return false;
		}
		cl = http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && util_parse_ll(cl, 0, LLONG_MAX, &len) == 0 &&
		    (uint64_t)len > cfg->cf_http_max_body) {
			metrics_inc(M_RES_REJECTED);
			http_reply_error(rq, DIAG_BODY_TOO_LARGE, NULL, NULL);
			return false;
		}
	}
	return true;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http_req *rq = *con_cls;
	const struct route *r;

	if (rq == NULL) {
		rq = xcalloc(1, sizeof(*rq));
		rq->rq_id = atomic_fetch_add(&next_rid, 1);
		rq->rq_conn = conn;
		rq->rq_method = method_of(method);
		rq->rq_path = url;
		rq->rq_start_us = util_mono_us();
		rq->rq_route = ROUTE_OTHER;
		rq->rq_began_ready = http_is_ready();
		buf_init(&rq->rq_body);
		*con_cls = rq;
		atomic_fetch_add(&inflight, 1);
		/* The head is in: its deadline is met, the body's starts
		 * (rq_start_us). */
		http_deadline_head_done(conn);
		r = route_request(rq, url);
		if (r == NULL || !precheck(rq, r)) {
			rq->rq_phase = PH_ANSWERED;
			return MHD_YES;
		}
		rq->rq_phase = PH_BODY;
		return MHD_YES;
	}
	switch (rq->rq_phase) {
	case PH_BODY:
		if (*upload_size > 0 &&
		    util_mono_us() - rq->rq_start_us > timeout_us) {
			/* The body trickles in past the deadline.  MHD 0.9
			 * refuses a response while the body is still coming
			 * (queue_response only before the first body byte or
			 * after the last), so a 408 cannot be sent: MHD_NO
			 * makes MHD close the connection in its own thread. */
			rq->rq_phase = PH_ANSWERED;
			metrics_inc(M_TIMEOUT_BODY);
			log_debug("http rid=%llu connection closed: body not "
			    "complete within http.request_timeout_ms=%lld",
			    (unsigned long long)rq->rq_id,
			    (long long)(timeout_us / 1000));
			return MHD_NO;
		}
		if (*upload_size > 0) {
			if (!rq->rq_too_large &&
			    rq->rq_body.b_len + *upload_size <=
			    cfg->cf_http_max_body)
				buf_append(&rq->rq_body, upload, *upload_size);
			else
				rq->rq_too_large = true;
			*upload_size = 0;
			return MHD_YES;
		}
		rq->rq_phase = PH_ANSWERED;
		if (rq->rq_too_large) {
			metrics_inc(M_RES_REJECTED);
			http_reply_error(rq, DIAG_BODY_TOO_LARGE, NULL, NULL);
			return MHD_YES;
		}
		routes[rq->rq_route].r_fn(rq);
		if (rq->rq_phase == PH_ANSWERED && !rq->rq_answered) {
			log_warnx("http rid=%llu handler %s did not answer",
			    (unsigned long long)rq->rq_id,
			    routes[rq->rq_route].r_name);
			http_reply_error(rq, DIAG_INTERNAL, NULL, NULL);
		}
		return MHD_YES;
	case PH_RESUMED:
		rq->rq_phase = PH_ANSWERED;
		rq->rq_resume_fn(rq);
		if (!rq->rq_answered)
			http_reply_error(rq, DIAG_INTERNAL, NULL, NULL);
		return MHD_YES;
	case PH_DEFERRED:
		/* Spurious wake-up while suspended: keep waiting. */
		*upload_size = 0;
		return MHD_YES;
	default:
		/* Answered early; discard any body the client still sends. */
		*upload_size = 0;
		return MHD_YES;
	}
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_req *rq = *con_cls;
	double secs;

	if (rq == NULL)
		return;
	/* On a kept-alive connection the next head's clock starts now. */
	http_deadline_request_done(conn);
	secs = (double)(util_mono_us() - rq->rq_start_us) / 1e6;
	metrics_http(rq->rq_route, rq->rq_answered ? rq->rq_status : 0, secs);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("http rid=%llu method=%s route=%s status=%d us=%lld%s",
		    (unsigned long long)rq->rq_id, method_name(rq->rq_method),
		    route_names[rq->rq_route], rq->rq_status,
		    (long long)(secs * 1e6),
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		    " aborted=1");
	if (rq->rq_state_free != NULL)
		rq->rq_state_free(rq->rq_state);
	free_headers(rq->rq_headers);
	buf_free(&rq->rq_body);
	free(rq);
	*con_cls = NULL;
	atomic_fetch_sub(&inflight, 1);
}

/* fmt comes from libmicrohttpd: say so, so clang's -Wformat-nonliteral
 * checks the callers' side instead of warning here. */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	return buf_steal(&b, NULL);
}

int
http_start(const struct config *c)
{
	struct sockaddr_storage ss;
	struct addrinfo hints, *ai = NULL;
	char host[256], portstr[8];
	unsigned port, flags, threads;
	char *cert = NULL, *key = NULL, *ca = NULL;
	struct MHD_OptionItem opts[20];
	int n = 0, i, rc;

	cfg = c;
	for (i = 0; i < NROUTES; i++)
		route_names[i] = routes[i].r_name;
	route_names[ROUTE_OTHER] = "other";
	metrics_init(route_names, NROUTES + 1);

	if (config_split_listen(c->cf_http_listen, host, sizeof(host),
	    &port) == -1) {
		log_warnx("http.listen is malformed");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, portstr,
	    &hints, &ai);
	if (rc != 0 || ai == NULL) {
		log_warnx("http.listen host cannot be resolved: %s",
		    gai_strerror(rc));
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);

	threads = c->cf_http_threads > 0 ? (unsigned)c->cf_http_threads :
	    (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	/* The logger goes first: MHD reports problems with the options that
	 * follow (a pool of one: "Thread pool is not used") through whatever
	 * logger is set when it parses them, raw on stderr otherwise.  One
	 * thread means no pool: the internal polling thread serves alone. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
	    (intptr_t)mhd_log, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	if (threads > 1)
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_THREAD_POOL_SIZE, threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
	    (intptr_t)c->cf_http_max_connections, NULL };
	if (c->cf_http_max_connections_per_ip > 0)
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (intptr_t)c->cf_http_max_connections_per_ip, NULL };
	/* http.request_timeout_ms bounds three things: idle time (MHD's
	 * timeout, whole seconds), the request head (http_deadline.c) and
	 * the body (access_cb, 408). */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	    (intptr_t)((c->cf_http_request_timeout_ms + 999) / 1000), NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
	    (intptr_t)http_deadline_notify, NULL };
	timeout_us = c->cf_http_request_timeout_ms * 1000;
	/* The per-connection pool holds the request head; MHD answers 431
	 * when the head does not fit. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (intptr_t)(c->cf_http_max_header + 4096), NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)completed_cb, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE,
	    1024, NULL };
	if (c->cf_http_tls_cert[0] != '\0') {
		cert = slurp(c->cf_http_tls_cert);
		key = slurp(c->cf_http_tls_key);
		if (cert == NULL || key == NULL) {
			log_warn("cannot read http.tls_cert or http.tls_key");
			goto fail;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
		    0, cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
		    0, key };
		if (c->cf_http_tls_client_ca[0] != '\0') {
			ca = slurp(c->cf_http_tls_client_ca);
			if (ca == NULL) {
				log_warn("cannot read http.tls_client_ca");
				goto fail;
			}
			opts[n++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, ca };
			client_certs = true;
			if (load_subjects(c->cf_http_tls_client_subjects) ==
			    -1)
				goto fail;
		}
		tls_on = true;
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	if (http_deadline_start(c->cf_http_request_timeout_ms) == -1)
		goto fail;
	daemon_ = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
	    access_cb, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (daemon_ == NULL) {
		log_warnx("cannot listen on %s (address in use, or TLS "
		    "material invalid?)", c->cf_http_listen);
		goto fail;
	}
	/* MHD copied the key material; drop ours (the key is secret). */
	free(cert);
	if (key != NULL) {
		memset(key, 0, strlen(key));
		free(key);
	}
	free(ca);
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_,
		    MHD_DAEMON_INFO_BIND_PORT);

		/* Logged with the port actually bound: with port 0 the kernel
		 * picks one, which is how the tests avoid port races. */
		log_info("http listening host=%s port=%u threads=%u tls=%s",
		    host, di != NULL ? di->port : port, threads,
		    tls_on ? "yes" : "no");
	}
	return 0;
fail:
	http_deadline_stop();
	free(cert);
	free(key);
	free(ca);
	return -1;
}

void
http_quiesce(void)
{
	MHD_socket s;

	if (daemon_ == NULL || atomic_exchange(&quiescing, true))
		return;
	s = MHD_quiesce_daemon(daemon_);
	if (s != MHD_INVALID_SOCKET)
		close(s);
}

long
http_inflight(void)
{
	return atomic_load(&inflight);
}

void
http_stop(void)
{
	struct retired *r, *n;

	if (daemon_ != NULL) {
		MHD_stop_daemon(daemon_);
		daemon_ = NULL;
	}
	http_deadline_stop();
	auth_free(atomic_exchange(&auth_set, NULL));
	load_subjects(NULL);
	pthread_mutex_lock(&retired_mtx);
	for (r = retired; r != NULL; r = n) {
		n = r->next;
		auth_free(r->auth);
		free(r);
	}
	retired = NULL;
	pthread_mutex_unlock(&retired_mtx);
}

void
http_set_ready(bool r)
{
	atomic_store(&ready, r);
	if (r)
		atomic_store(&started, true);
	metrics_gauge_set(MG_READY, r ? 1 : 0);
}

bool
http_is_ready(void)
{
	return atomic_load(&ready) && !atomic_load(&quiescing);
}

/* The writer keeps running until the drain is over, so a request that
 * began before the stop may still be committed and answered 2xx. */
bool
http_req_admissible(const struct http_req *rq)
{
	return rq->rq_began_ready && atomic_load(&started);
}

void
http_set_auth(struct auth *a)
{
	struct auth *old = atomic_exchange(&auth_set, a);
	struct retired *r;

	if (old == NULL)
		return;
	r = xmalloc(sizeof(*r));
	r->auth = old;
	pthread_mutex_lock(&retired_mtx);
	r->next = retired;
	retired = r;
	pthread_mutex_unlock(&retired_mtx);
}

void
http_reconfigure(const struct config *c)
{
	/* Limits read per request (body, depth, entries, queue, auth flags,
	 * public base) follow the new configuration; listen address, threads,
	 * connection limits, request timeout and TLS material need a restart
	 * (main warns).  The subject
	 * allow-list is re-read. */
	if (client_certs)
		load_subjects(c->cf_http_tls_client_subjects);
	cfg = c;
}
