/*
 * config.c - the key table and the INI / -o parser.  Every path that
 * touches configuration goes through the table below: defaults, bounds,
 * allowed values and help live here once.  This file must not open
 * network connections or any file other than the configuration file.
 *
 * Relative paths in the file are resolved against the file's directory;
 * relative paths given with -o against the working directory.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR	"/var"
#endif

enum ktype {
	K_STRING,
	K_PATH,		/* "" allowed; relative to the config file */
	K_URL,		/* "" or http(s)://... */
	K_URI,		/* any absolute URI */
	K_LISTEN,	/* host:port */
	K_INT,		/* long */
	K_SIZE,		/* uint64_t, k/M/G suffixes */
	K_MS,		/* int64_t ms; bare numbers are ms */
	K_DURATION,	/* int64_t ms; bare numbers are seconds */
	K_BOOL,
	K_ENUM,		/* int index into enumv */
	K_LOGLEVEL,	/* int enum log_level */
};

struct key {
	const char		*k_name;
	enum ktype		 k_type;
	const char		*k_def;
	long long		 k_min, k_max;
	const char *const	*k_enumv;
	size_t			 k_off;
	const char		*k_help;
};

static const char *const modes[] = { "conditional-create", "put", NULL };
static const char *const auths[] = { "none", "bearer", "oauth2", NULL };
static const char *const scopes[] = { "dialysis", "all", NULL };
static const char *const syncs[] = { "full", "normal", NULL };

#define OFF(f)	offsetof(struct config, f)
#define DAY	(86400LL * 1000)

static const struct key keys[] = {
	{ "http.listen", K_LISTEN, "127.0.0.1:8080", 0, 0, NULL,
	  OFF(cf_http_listen), "address and port to listen on (host:port, [v6]:port)" },
	{ "http.threads", K_INT, "0", 0, 256, NULL, OFF(cf_http_threads),
	  "HTTP worker threads; 0 = one per CPU" },
	{ "http.max_body", K_SIZE, "32M", 1024, 1LL << 30, NULL,
	  OFF(cf_http_max_body), "largest request body accepted (413 above)" },
	{ "http.max_depth", K_INT, "64", 16, 1000, NULL, OFF(cf_http_max_depth),
	  "deepest JSON nesting accepted (400 above)" },
	{ "http.max_entries", K_INT, "10000", 1, 1000000, NULL,
	  OFF(cf_http_max_entries), "most Bundle entries accepted (413 above)" },
	{ "http.max_header", K_SIZE, "16k", 4096, 1 << 20, NULL,
	  OFF(cf_http_max_header), "largest request head (request line and headers)" },
	{ "http.max_connections", K_INT, "1024", 1, 100000, NULL,
	  OFF(cf_http_max_connections),
	  "most concurrent client connections; more wait unaccepted" },
	{ "http.max_connections_per_ip", K_INT, "256", 0, 100000, NULL,
	  OFF(cf_http_max_connections_per_ip),
	  "most concurrent connections from one address (more are closed "
	  "unanswered); 0 = no limit" },
	{ "http.request_timeout_ms", K_MS, "30000", 1000, 3600000, NULL,
	  OFF(cf_http_request_timeout_ms),
	  "limit on idle time, on the whole request head and on the whole "
	  "body (slowloris)" },
	{ "http.max_queue", K_INT, "4096", 1, 1000000, NULL,
	  OFF(cf_http_max_queue),
	  "requests waiting for the store before answering 503 with Retry-After" },
	{ "http.public_base", K_URL, "", 0, 0, NULL, OFF(cf_http_public_base),
	  "base URL used in Location headers; empty = from the Host header" },
	{ "http.auth_token_file", K_PATH, "", 0, 0, NULL,
	  OFF(cf_http_auth_token_file),
	  "inbound bearer tokens, one 'NAME TOKEN' a line; empty = no auth" },
	{ "http.auth_readyz", K_BOOL, "no", 0, 0, NULL, OFF(cf_http_auth_readyz),
	  "require a token for /readyz (/healthz is always open)" },
	{ "http.auth_metrics", K_BOOL, "yes", 0, 0, NULL,
	  OFF(cf_http_auth_metrics), "require a token for /metrics" },
	{ "http.tls_cert", K_PATH, "", 0, 0, NULL, OFF(cf_http_tls_cert),
	  "PEM server certificate; set with tls_key to serve HTTPS" },
	{ "http.tls_key", K_PATH, "", 0, 0, NULL, OFF(cf_http_tls_key),
	  "PEM private key for tls_cert" },
	{ "http.tls_client_ca", K_PATH, "", 0, 0, NULL,
	  OFF(cf_http_tls_client_ca),
	  "PEM CA bundle; when set, clients must present a certificate it signed" },
	{ "http.tls_client_subjects", K_PATH, "", 0, 0, NULL,
	  OFF(cf_http_tls_client_subjects),
	  "file of allowed client certificate subject DNs, one a line" },

	{ "store.path", K_PATH, LOCALSTATEDIR "/lib/calcifyd/calcifyd.db", 0, 0,
	  NULL, OFF(cf_store_path),
	  "SQLite database file (created 0600); under systemd the default is "
	  "$STATE_DIRECTORY/calcifyd.db" },
	{ "store.synchronous", K_ENUM, "full", 0, 0, syncs,
	  OFF(cf_store_synchronous),
	  "full: fsync every commit (acknowledged = on disk); normal: no fsync "
	  "per commit (survives a crash of calcifyd, not a power loss)" },
	{ "store.cache_mb", K_INT, "16", 1, 4096, NULL, OFF(cf_store_cache_mb),
	  "SQLite page cache per connection, MiB" },
	{ "store.batch_max", K_INT, "512", 1, 100000, NULL,
	  OFF(cf_store_batch_max), "most requests sharing one commit (group commit)" },
	{ "store.busy_timeout_ms", K_MS, "5000", 0, 600000, NULL,
	  OFF(cf_store_busy_timeout_ms),
	  "wait this long for a lock held by another process (calcifyctl)" },

	{ "hospital.base_url", K_URL, "", 0, 0, NULL, OFF(cf_hospital_base_url),
	  "hospital FHIR server base; empty = embedded mode (keep assessments locally)" },
	{ "hospital.mode", K_ENUM, "conditional-create", 0, 0, modes,
	  OFF(cf_hospital_mode),
	  "conditional-create (POST with If-None-Exist) or put (PUT to a deterministic id)" },
	{ "hospital.auth", K_ENUM, "none", 0, 0, auths, OFF(cf_hospital_auth),
	  "outbound authentication: none, bearer or oauth2 (client credentials)" },
	{ "hospital.token_file", K_PATH, "", 0, 0, NULL,
	  OFF(cf_hospital_token_file), "file holding the static bearer token" },
	{ "hospital.oauth2_token_url", K_URL, "", 0, 0, NULL,
	  OFF(cf_hospital_oauth2_token_url), "OAuth2 token endpoint" },
	{ "hospital.oauth2_client_id", K_STRING, "", 0, 0, NULL,
	  OFF(cf_hospital_oauth2_client_id), "OAuth2 client id" },
	{ "hospital.oauth2_secret_file", K_PATH, "", 0, 0, NULL,
	  OFF(cf_hospital_oauth2_secret_file), "file holding the OAuth2 client secret" },
	{ "hospital.oauth2_scope", K_STRING, "", 0, 0, NULL,
	  OFF(cf_hospital_oauth2_scope), "OAuth2 scope requested (may be empty)" },
	{ "hospital.tls_verify", K_BOOL, "yes", 0, 0, NULL,
	  OFF(cf_hospital_tls_verify), "verify the hospital server's certificate" },
	{ "hospital.ca_file", K_PATH, "", 0, 0, NULL, OFF(cf_hospital_ca_file),
	  "PEM CA bundle for the hospital server; empty = system store" },
	{ "hospital.client_cert", K_PATH, "", 0, 0, NULL,
	  OFF(cf_hospital_client_cert), "PEM client certificate for mTLS" },
	{ "hospital.client_key", K_PATH, "", 0, 0, NULL,
	  OFF(cf_hospital_client_key), "PEM private key for client_cert" },
	{ "hospital.timeout_ms", K_MS, "10000", 100, 600000, NULL,
	  OFF(cf_hospital_timeout_ms), "whole-request timeout for one delivery" },
	{ "hospital.connect_timeout_ms", K_MS, "5000", 100, 600000, NULL,
	  OFF(cf_hospital_connect_timeout_ms), "connection timeout for one delivery" },
	{ "hospital.max_retries", K_INT, "0", 0, 10000000, NULL,
	  OFF(cf_hospital_max_retries),
	  "attempts before dead-lettering; 0 = retry until max_age" },
	{ "hospital.max_age", K_DURATION, "7d", 60000, 366 * DAY, NULL,
	  OFF(cf_hospital_max_age_ms),
	  "dead-letter an assessment still undelivered after this long" },
	{ "hospital.concurrency", K_INT, "4", 1, 256, NULL,
	  OFF(cf_hospital_concurrency), "deliveries in flight at once" },
	{ "hospital.backoff_base_ms", K_MS, "500", 10, 3600000, NULL,
	  OFF(cf_hospital_backoff_base_ms), "first retry delay (doubles, full jitter)" },
	{ "hospital.backoff_max_ms", K_MS, "300000", 10, 86400000, NULL,
	  OFF(cf_hospital_backoff_max_ms), "longest retry delay" },
	{ "hospital.identifier_system", K_URI, "urn:calcifyd:risk-assessment",
	  0, 0, NULL, OFF(cf_hospital_identifier_system),
	  "RiskAssessment.identifier.system" },
	{ "hospital.max_outbox", K_INT, "1000000", 0, 1000000000, NULL,
	  OFF(cf_hospital_max_outbox),
	  "undelivered assessments before ingest answers 429; 0 = no limit" },
	{ "hospital.backlog_warn", K_INT, "1000", 1, 1000000000, NULL,
	  OFF(cf_hospital_backlog_warn), "warn when this many assessments wait" },
	{ "hospital.backlog_warn_age", K_DURATION, "1h", 1000, 366 * DAY, NULL,
	  OFF(cf_hospital_backlog_warn_age_ms),
	  "warn when the oldest waiting assessment is this old" },

	{ "model.path", K_PATH, SYSCONFDIR "/calcifyd/model.json", 0, 0, NULL,
	  OFF(cf_model_path), "risk model (validated against model.schema.json)" },
	{ "model.codes", K_PATH, SYSCONFDIR "/calcifyd/codes.tsv", 0, 0, NULL,
	  OFF(cf_model_codes), "code -> model input table (local codes may be added)" },
	{ "model.scope", K_ENUM, "dialysis", 0, 0, scopes, OFF(cf_model_scope),
	  "dialysis: assess only patients with dialysis evidence; all: everyone" },
	{ "model.dialysis_patients", K_PATH, "", 0, 0, NULL,
	  OFF(cf_model_dialysis_patients),
	  "file of patient references treated as on dialysis, one a line" },

	{ "log.level", K_LOGLEVEL, "info", 0, 0, NULL, OFF(cf_log_level),
	  "debug, info, notice, warning or error (patient data only at debug)" },
};

static const char *const sections[] = { "http", "store", "hospital", "model",
    "log", NULL };

/* Per-load bookkeeping: where each key was set, for messages. */
struct loadctx {
	const char	*file;
	char		*dir;		/* directory of file, for relative paths */
	FILE		*errf;
	int		 errors;
	int		 line_of[UTIL_ARRAY_LEN(keys)];
};

static void
problem(struct loadctx *lc, const char *where, int line, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
problem(struct loadctx *lc, const char *where, int line, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	lc->errors++;
	if (lc->errf == NULL)
		return;
	if (line > 0)
		fprintf(lc->errf, "%s:%d: ", where, line);
	else
		fprintf(lc->errf, "%s: ", where);
	if (key != NULL)
		fprintf(lc->errf, "%s: ", key);
	va_start(ap, fmt);
	vfprintf(lc->errf, fmt, ap);
	va_end(ap);
	fputc('\n', lc->errf);
}

const char *
config_default_path(void)
{
	return SYSCONFDIR "/calcifyd/calcifyd.conf";
}

static const struct key *
find_key(const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		if (strcmp(keys[i].k_name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

/* Levenshtein distance, for "did you mean" on typos. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = UTIL_MIN(sub, UTIL_MIN(del, ins));
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static const char *
suggest(const char *name)
{
	size_t i, best = 4, d;
	const char *hit = NULL;

	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		d = distance(name, keys[i].k_name);
		if (d < best) {
			best = d;
			hit = keys[i].k_name;
		}
	}
	return hit;
}

static int
check_url(const char *v, bool allow_empty)
{
	if (*v == '\0')
		return allow_empty ? 0 : -1;
	if (!util_has_prefix(v, "http://") && !util_has_prefix(v, "https://"))
		return -1;
	if (strchr(v, ' ') != NULL || strlen(v) < 10)
		return -1;
	return 0;
}

int
config_split_listen(const char *v, char *host, size_t hostsz, unsigned *port)
{
	const char *colon;
	long long p;
	size_t hl;

	if (v[0] == '[') {
		const char *rb = strchr(v, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - v - 1);
		if (hl == 0 || hl >= hostsz)
			return -1;
		memcpy(host, v + 1, hl);
		host[hl] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - v);
		if (hl == 0 || hl >= hostsz || memchr(v, ':', hl) != NULL)
			return -1;
		memcpy(host, v, hl);
		host[hl] = '\0';
	}
	if (util_parse_ll(colon + 1, 0, 65535, &p) == -1)
		return -1;
	*port = (unsigned)p;
	return 0;
}

/* Resolve a relative path against dir (NULL: the working directory). */
static char *
resolve_path(const char *v, const char *dir)
{
	char cwd[PATH_MAX];

	if (*v == '\0' || v[0] == '/')
		return xstrdup(v);
	if (dir != NULL)
		return xasprintf("%s/%s", dir, v);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(v);
	return xasprintf("%s/%s", cwd, v);
}

/*
 * Parse v for key k into c.  dir is the base for relative paths.  Returns
 * NULL on success or a static description of the problem.
 */
static const char *
set_value(struct config *c, const struct key *k, const char *v,
    const char *dir)
{
	char *base = (char *)c + k->k_off, host[256];
	long long ll;
	uint64_t u64;
	int64_t i64;
	unsigned port;
	bool b;
	int i;
	enum log_level lvl;

	switch (k->k_type) {
	case K_STRING:
		free(*(char **)base);
		*(char **)base = xstrdup(v);
		return NULL;
	case K_PATH:
		free(*(char **)base);
		*(char **)base = resolve_path(v, dir);
		return NULL;
	case K_URL:
		if (check_url(v, true) == -1)
			return "expected empty or an http:// or https:// URL";
		free(*(char **)base);
		*(char **)base = xstrdup(v);
		/* A trailing slash would double up when paths are appended. */
		{
			char *s = *(char **)base;
			size_t n = strlen(s);

			while (n > 0 && s[n - 1] == '/')
				s[--n] = '\0';
		}
		return NULL;
	case K_URI:
		if (strchr(v, ':') == NULL || strchr(v, ' ') != NULL ||
		    v[0] == ':')
			return "expected an absolute URI (scheme:...)";
		free(*(char **)base);
		*(char **)base = xstrdup(v);
		return NULL;
	case K_LISTEN:
		if (config_split_listen(v, host, sizeof(host), &port) == -1)
			return "expected host:port or [ipv6]:port";
		free(*(char **)base);
		*(char **)base = xstrdup(v);
		return NULL;
	case K_INT:
		if (util_parse_ll(v, k->k_min, k->k_max, &ll) == -1)
			return "expected an integer within the allowed range";
		*(long *)base = (long)ll;
		return NULL;
	case K_SIZE:
		if (util_parse_size(v, (uint64_t)k->k_min, (uint64_t)k->k_max,
		    &u64) == -1)
			return "expected a size (e.g. 512k, 16M) within the allowed range";
		*(uint64_t *)base = u64;
		return NULL;
	case K_MS:
		/* Bare numbers are milliseconds for *_ms keys. */
		if (util_parse_ll(v, k->k_min, k->k_max, &ll) == 0) {
			*(int64_t *)base = ll;
			return NULL;
		}
		/* FALLTHROUGH */
	case K_DURATION:
		if (util_parse_duration_ms(v, k->k_min, k->k_max, &i64) == -1)
			return "expected a duration (e.g. 500ms, 30s, 5m, 7d) within the allowed range";
		*(int64_t *)base = i64;
		return NULL;
	case K_BOOL:
		if (util_parse_bool(v, &b) == -1)
			return "expected yes or no";
		*(bool *)base = b;
		return NULL;
	case K_ENUM:
		for (i = 0; k->k_enumv[i] != NULL; i++) {
			if (strcmp(k->k_enumv[i], v) == 0) {
				*(int *)base = i;
				return NULL;
			}
		}
		return "value not among the allowed ones";
	case K_LOGLEVEL:
		if (log_level_parse(v, &lvl) == -1)
			return "expected debug, info, notice, warning or error";
		*(int *)base = (int)lvl;
		return NULL;
	}
	return "internal: unknown key type";
}

static void
describe_allowed(const struct key *k, char *out, size_t n)
{
	size_t i, used = 0;

	out[0] = '\0';
	switch (k->k_type) {
	case K_ENUM:
		for (i = 0; k->k_enumv[i] != NULL && used < n; i++)
			used += (size_t)snprintf(out + used, n - used, "%s%s",
			    i ? ", " : " (one of: ", k->k_enumv[i]);
		if (used < n)
			snprintf(out + used, n - used, ")");
		break;
	case K_INT:
		snprintf(out, n, " (%lld..%lld)", k->k_min, k->k_max);
		break;
	default:
		break;
	}
}

/* Remove surrounding blanks in place; returns the trimmed start. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Unquote "..." values (\" and \\ escapes) or strip a trailing " # note". */
static int
parse_value(char *v)
{
	char *r, *w;

	if (*v == '"') {
		for (r = v + 1, w = v; *r != '\0' && *r != '"'; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r;
		}
		if (*r != '"' || *trim(r + 1) != '\0')
			return -1;
		*w = '\0';
		return 0;
	}
	for (r = v; *r != '\0'; r++) {
		if ((*r == '#' || *r == ';') && r > v &&
		    (r[-1] == ' ' || r[-1] == '\t')) {
			*r = '\0';
			break;
		}
	}
	trim(v);
	return 0;
}

static void
apply(struct config *c, struct loadctx *lc, const char *where, int line,
    const char *name, char *value, const char *dir)
{
	const struct key *k;
	const char *why, *hint;
	char allowed[160];
	size_t idx;

	if ((k = find_key(name, &idx)) == NULL) {
		hint = suggest(name);
		if (hint != NULL)
			problem(lc, where, line, name,
			    "unknown key (did you mean %s?)", hint);
		else
			problem(lc, where, line, name, "unknown key");
		return;
	}
	if (parse_value(value) == -1) {
		problem(lc, where, line, name, "unterminated or malformed quoted value");
		return;
	}
	if (line > 0 && lc->line_of[idx] > 0) {
		problem(lc, where, line, name, "set twice (first on line %d)",
		    lc->line_of[idx]);
		return;
	}
	if ((why = set_value(c, k, value, dir)) != NULL) {
		describe_allowed(k, allowed, sizeof(allowed));
		problem(lc, where, line, name, "%s%s", why, allowed);
		return;
	}
	if (line > 0)
		lc->line_of[idx] = line;
}

static int
parse_file(struct config *c, struct loadctx *lc, FILE *fp)
{
	char line[4096], section[32] = "", name[128], *s, *eq, *rb;
	int lineno = 0;
	size_t i;
	bool known;

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			problem(lc, lc->file, lineno, NULL, "line too long");
			return -1;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			rb = strchr(s, ']');
			if (rb == NULL || *trim(rb + 1) != '\0') {
				problem(lc, lc->file, lineno, NULL,
				    "malformed section header");
				continue;
			}
			*rb = '\0';
			s = trim(s + 1);
			known = false;
			for (i = 0; sections[i] != NULL; i++)
				if (strcmp(sections[i], s) == 0)
					known = true;
			if (!known) {
				problem(lc, lc->file, lineno, NULL,
				    "unknown section [%s] (sections: http, store, hospital, model, log)",
				    s);
				section[0] = '\0';
				continue;
			}
			util_strlcpy(section, s, sizeof(section));
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			problem(lc, lc->file, lineno, NULL,
			    "expected 'key = value'");
			continue;
		}
		*eq = '\0';
		s = trim(s);
		if (section[0] == '\0') {
			problem(lc, lc->file, lineno, s,
			    "key outside a known [section]");
			continue;
		}
		snprintf(name, sizeof(name), "%s.%s", section, s);
		apply(c, lc, lc->file, lineno, name, trim(eq + 1), lc->dir);
	}
	if (ferror(fp)) {
		problem(lc, lc->file, 0, NULL, "read error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Checks that involve several keys. */
static void
cross_check(const struct config *c, struct loadctx *lc)
{
	const char *w = lc->file != NULL ? lc->file : "configuration";

	if (c->cf_hospital_auth == CONFIG_AUTH_BEARER &&
	    c->cf_hospital_token_file[0] == '\0')
		problem(lc, w, 0, "hospital.token_file",
		    "required when hospital.auth = bearer");
	if (c->cf_hospital_auth == CONFIG_AUTH_OAUTH2) {
		if (c->cf_hospital_oauth2_token_url[0] == '\0')
			problem(lc, w, 0, "hospital.oauth2_token_url",
			    "required when hospital.auth = oauth2");
		if (c->cf_hospital_oauth2_client_id[0] == '\0')
			problem(lc, w, 0, "hospital.oauth2_client_id",
			    "required when hospital.auth = oauth2");
		if (c->cf_hospital_oauth2_secret_file[0] == '\0')
			problem(lc, w, 0, "hospital.oauth2_secret_file",
			    "required when hospital.auth = oauth2");
	}
	if ((c->cf_hospital_client_cert[0] == '\0') !=
	    (c->cf_hospital_client_key[0] == '\0'))
		problem(lc, w, 0, "hospital.client_cert",
		    "client_cert and client_key go together");
	if ((c->cf_http_tls_cert[0] == '\0') != (c->cf_http_tls_key[0] == '\0'))
		problem(lc, w, 0, "http.tls_cert",
		    "tls_cert and tls_key go together");
	if (c->cf_http_tls_client_ca[0] != '\0' && c->cf_http_tls_cert[0] == '\0')
		problem(lc, w, 0, "http.tls_client_ca",
		    "needs http.tls_cert and http.tls_key (HTTPS)");
	if (c->cf_http_tls_client_subjects[0] != '\0' &&
	    c->cf_http_tls_client_ca[0] == '\0')
		problem(lc, w, 0, "http.tls_client_subjects",
		    "needs http.tls_client_ca (client certificates)");
#ifndef HAVE_GNUTLS
	if (c->cf_http_tls_client_ca[0] != '\0')
		problem(lc, w, 0, "http.tls_client_ca",
		    "this build has no GnuTLS support for client certificates");
#endif
	if (c->cf_hospital_backoff_base_ms > c->cf_hospital_backoff_max_ms)
		problem(lc, w, 0, "hospital.backoff_base_ms",
		    "larger than hospital.backoff_max_ms");
	if (c->cf_store_path[0] == '\0')
		problem(lc, w, 0, "store.path", "must not be empty");
	if (c->cf_model_path[0] == '\0')
		problem(lc, w, 0, "model.path", "must not be empty");
	if (c->cf_model_codes[0] == '\0')
		problem(lc, w, 0, "model.codes", "must not be empty");
}

/*
 * Under systemd, StateDirectory= makes the service's writable state
 * directory and names it in $STATE_DIRECTORY (a colon-separated list; the
 * first is ours).  With ProtectSystem=strict nothing else is writable, so
 * there the built-in store.path lives in it, whatever --localstatedir the
 * build had.  The file and -o still override it.
 */
static void
state_directory_default(struct config *c)
{
	const char *sd = getenv("STATE_DIRECTORY");
	size_t n;
	char *p;

	if (sd == NULL || sd[0] != '/')
		return;
	n = strcspn(sd, ":");
	p = xmalloc(n + sizeof("/calcifyd.db"));
	memcpy(p, sd, n);
	memcpy(p + n, "/calcifyd.db", sizeof("/calcifyd.db"));
	free(c->cf_store_path);
	c->cf_store_path = p;
}

struct config *
config_load(const char *file, bool file_optional,
    const char *const *overrides,
    int noverrides, FILE *errf)
{
	struct loadctx lc;
	struct config *c;
	char *copy, *eq, *slash;
	size_t i;
	int j;
	FILE *fp;

	memset(&lc, 0, sizeof(lc));
	lc.errf = errf;
	c = xcalloc(1, sizeof(*c));
	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		char *def = xstrdup(keys[i].k_def);
		const char *why = set_value(c, &keys[i], def, NULL);

		free(def);
		if (why != NULL)
			log_fatalx("built-in default for %s is invalid: %s",
			    keys[i].k_name, why);
	}
	state_directory_default(c);
	if (file != NULL) {
		lc.file = file;
		c->cf_file = xstrdup(file);
		copy = xstrdup(file);
		slash = strrchr(copy, '/');
		if (slash == NULL) {
			char cwd[PATH_MAX];

			lc.dir = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
		} else if (slash == copy) {
			lc.dir = xstrdup("/");
		} else {
			*slash = '\0';
			lc.dir = resolve_path(copy, NULL);
		}
		free(copy);
		fp = fopen(file, "r");
		if (fp == NULL) {
			if (!(file_optional && errno == ENOENT))
				problem(&lc, file, 0, NULL, "cannot open: %s",
				    strerror(errno));
		} else {
			parse_file(c, &lc, fp);
			fclose(fp);
		}
	}
	for (j = 0; j < noverrides; j++) {
		copy = xstrdup(overrides[j]);
		eq = strchr(copy, '=');
		if (eq == NULL) {
			problem(&lc, "-o", 0, copy,
			    "expected section.key=value");
		} else {
			*eq = '\0';
			apply(c, &lc, "-o", 0, trim(copy), eq + 1, NULL);
		}
		free(copy);
	}
	cross_check(c, &lc);
	free(lc.dir);
	if (lc.errors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		switch (keys[i].k_type) {
		case K_STRING: case K_PATH: case K_URL: case K_URI:
		case K_LISTEN:
			free(*(char **)((char *)c + keys[i].k_off));
			break;
		default:
			break;
		}
	}
	free(c->cf_file);
	free(c);
}

static const char *
type_name(enum ktype t)
{
	switch (t) {
	case K_STRING: return "string";
	case K_PATH: return "path";
	case K_URL: return "url";
	case K_URI: return "uri";
	case K_LISTEN: return "host:port";
	case K_INT: return "integer";
	case K_SIZE: return "size";
	case K_MS: return "milliseconds";
	case K_DURATION: return "duration";
	case K_BOOL: return "boolean";
	case K_ENUM: return "enum";
	case K_LOGLEVEL: return "level";
	}
	return "?";
}

void
config_list_keys(FILE *fp)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		fprintf(fp, "%s\t%s\t%s\t%s\n", keys[i].k_name,
		    type_name(keys[i].k_type), keys[i].k_def, keys[i].k_help);
}

void
config_dump(const struct config *c, FILE *fp)
{
	const char *prev = "", *dot;
	const char *base;
	size_t i, sl;

	for (i = 0; i < UTIL_ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];

		dot = strchr(k->k_name, '.');
		sl = (size_t)(dot - k->k_name);
		if (strncmp(prev, k->k_name, sl) != 0 || prev[sl] != '.')
			fprintf(fp, "%s[%.*s]\n", i ? "\n" : "", (int)sl,
			    k->k_name);
		prev = k->k_name;
		base = (const char *)c + k->k_off;
		fprintf(fp, "%s = ", dot + 1);
		switch (k->k_type) {
		case K_STRING: case K_PATH: case K_URL: case K_URI:
		case K_LISTEN:
			fprintf(fp, "\"%s\"\n", *(char *const *)base);
			break;
		case K_INT:
			fprintf(fp, "%ld\n", *(const long *)base);
			break;
		case K_SIZE:
			fprintf(fp, "%llu\n",
			    (unsigned long long)*(const uint64_t *)base);
			break;
		case K_MS:
			fprintf(fp, "%lld\n", (long long)*(const int64_t *)base);
			break;
		case K_DURATION:
			fprintf(fp, "%llds\n",
			    (long long)*(const int64_t *)base / 1000);
			break;
		case K_BOOL:
			fprintf(fp, "%s\n", *(const bool *)base ? "yes" : "no");
			break;
		case K_ENUM:
			fprintf(fp, "%s\n", k->k_enumv[*(const int *)base]);
			break;
		case K_LOGLEVEL:
			fprintf(fp, "%s\n",
			    log_level_name((enum log_level)*(const int *)base));
			break;
		}
	}
}
