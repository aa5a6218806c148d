/*
 * sender_auth.c - outbound bearer and OAuth2 client-credentials tokens.
 * Owns the secrets read from files and the cached access token; must not
 * log either.  OAuth2 uses client_secret_basic (RFC 6749 section 2.3.1).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "sender_auth.h"
#include "util.h"

struct sender_auth {
	int		 kind;		/* enum config_hospital_auth */
	char		*static_token;
	char		*token_url;
	char		*client_id;
	char		*secret;
	char		*scope;
	char		*access;	/* cached OAuth2 token */
	int64_t		 access_until;	/* mono us */
	const struct config *cfg;
};

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	memset(s, 0, strlen(s));
	free(s);
}

/* First line of a secret file, blanks trimmed; NULL with why in err. */
static char *
read_secret(const char *path, const char *what, char *err, size_t errlen)
{
	char line[4096], *s, *e;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read %s: %s", path, what,
		    strerror(errno));
		return NULL;
	}
	s = fgets(line, sizeof(line), fp);
	fclose(fp);
	if (s == NULL) {
		snprintf(err, errlen, "%s: %s file is empty", path, what);
		return NULL;
	}
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*s == '\0') {
		snprintf(err, errlen, "%s: %s file is empty", path, what);
		memset(line, 0, sizeof(line));
		return NULL;
	}
	s = xstrdup(s);
	memset(line, 0, sizeof(line));
	return s;
}

struct sender_auth *
sender_auth_new(const struct config *c, FILE *errf)
{
	struct sender_auth *a = xcalloc(1, sizeof(*a));
	char err[512];

	a->kind = c->cf_hospital_auth;
	a->cfg = c;
	switch (a->kind) {
	case CONFIG_AUTH_BEARER:
		a->static_token = read_secret(c->cf_hospital_token_file,
		    "bearer token", err, sizeof(err));
		if (a->static_token == NULL)
			goto fail;
		break;
	case CONFIG_AUTH_OAUTH2:
		a->secret = read_secret(c->cf_hospital_oauth2_secret_file,
		    "OAuth2 client secret", err, sizeof(err));
		if (a->secret == NULL)
			goto fail;
		a->token_url = xstrdup(c->cf_hospital_oauth2_token_url);
		a->client_id = xstrdup(c->cf_hospital_oauth2_client_id);
		a->scope = xstrdup(c->cf_hospital_oauth2_scope);
		break;
	default:
		break;
	}
	return a;
fail:
	fprintf(errf, "%s\n", err);
	sender_auth_free(a);
	return NULL;
}

void
sender_auth_free(struct sender_auth *a)
{
	if (a == NULL)
		return;
	wipe_free(a->static_token);
	wipe_free(a->secret);
	wipe_free(a->access);
	free(a->token_url);
	free(a->client_id);
	free(a->scope);
	free(a);
}

bool
sender_auth_uses_token(const struct sender_auth *a)
{
	return a->kind != CONFIG_AUTH_NONE;
}

void
sender_tls_setup(CURL *e, const struct config *c)
{
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
	    c->cf_hospital_tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
	    c->cf_hospital_tls_verify ? 2L : 0L);
	if (c->cf_hospital_ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, c->cf_hospital_ca_file);
	if (c->cf_hospital_client_cert[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cf_hospital_client_cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->cf_hospital_client_key);
	}
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->b_len + size * n > 1 << 20)
		return 0;	/* a token response is small */
	buf_append(b, p, size * n);
	return size * n;
}

/* Fetch an access token from the token endpoint (blocking). */
static int
fetch_token(struct sender_auth *a)
{
	CURL *e = curl_easy_init();
	struct buf resp, form;
	json_t *j = NULL;
	json_error_t jerr;
	const char *tok;
	long status = 0;
	double expires = 300;
	char *esc;
	int rc = -1;
	CURLcode cc;

	buf_init(&resp);
	buf_init(&form);
	if (e == NULL)
		goto out;
	buf_puts(&form, "grant_type=client_credentials");
	if (a->scope[0] != '\0') {
		esc = curl_easy_escape(e, a->scope, 0);
		buf_printf(&form, "&scope=%s", esc);
		curl_free(esc);
	}
	curl_easy_setopt(e, CURLOPT_URL, a->token_url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, form.b_data);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, a->client_id);
	curl_easy_setopt(e, CURLOPT_PASSWORD, a->secret);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)a->cfg->cf_hospital_timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)a->cfg->cf_hospital_connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	sender_tls_setup(e, a->cfg);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK || status != 200) {
		log_warnx("oauth2 token request failed status=%ld error=%s",
		    status, curl_easy_strerror(cc));
		goto out;
	}
	j = json_loadb(resp.b_data != NULL ? resp.b_data : "", resp.b_len, 0,
	    &jerr);
	tok = json_string_value(json_object_get(j, "access_token"));
	if (tok == NULL || tok[0] == '\0') {
		log_warnx("oauth2 token response has no access_token");
		goto out;
	}
	if (json_is_number(json_object_get(j, "expires_in")))
		expires = json_number_value(json_object_get(j, "expires_in"));
	wipe_free(a->access);
	a->access = xstrdup(tok);
	/* Renew 30 s early so a token never expires in flight. */
	a->access_until = util_mono_us() +
	    (int64_t)((expires > 60 ? expires - 30 : expires / 2) * 1e6);
	log_info("oauth2 token obtained expires_in=%.0f", expires);
	rc = 0;
out:
	metrics_inc(rc == 0 ? M_OAUTH_FETCH : M_OAUTH_FAIL);
	json_decref(j);
	if (resp.b_data != NULL)
		memset(resp.b_data, 0, resp.b_len);
	buf_free(&resp);
	buf_free(&form);
	curl_easy_cleanup(e);
	return rc;
}

int
sender_auth_apply(struct sender_auth *a, struct curl_slist **hdrs)
{
	struct buf h;
	const char *tok;
	struct curl_slist *n;

	switch (a->kind) {
	case CONFIG_AUTH_BEARER:
		tok = a->static_token;
		break;
	case CONFIG_AUTH_OAUTH2:
		if (a->access == NULL || util_mono_us() >= a->access_until)
			if (fetch_token(a) == -1)
				return -1;
		tok = a->access;
		break;
	default:
		return 0;
	}
	buf_init(&h);
	buf_printf(&h, "Authorization: Bearer %s", tok);
	n = curl_slist_append(*hdrs, h.b_data);
	memset(h.b_data, 0, h.b_len);
	buf_free(&h);
	if (n == NULL)
		return -1;
	*hdrs = n;
	return 0;
}

/*
 * A static token is renewed by whoever rotates the file: a 401 is the
 * sign that the server has moved on, so read the file again rather than
 * fail every delivery until a SIGHUP.  A file caught half-written (empty)
 * or unreadable keeps the token we have; the retry then gets its 401 and
 * the row is dead-lettered as before.  Rotate by writing a new file and
 * renaming it over the old one.
 */
void
sender_auth_invalidate(struct sender_auth *a)
{
	char err[512], *tok;

	switch (a->kind) {
	case CONFIG_AUTH_OAUTH2:
		wipe_free(a->access);
		a->access = NULL;
		break;
	case CONFIG_AUTH_BEARER:
		tok = read_secret(a->cfg->cf_hospital_token_file,
		    "bearer token", err, sizeof(err));
		if (tok == NULL) {
			log_warnx("bearer token not re-read after a 401: %s",
			    err);
			metrics_inc(M_TOKEN_REREAD_FAIL);
			break;
		}
		metrics_inc(strcmp(tok, a->static_token) == 0 ?
		    M_TOKEN_REREAD_SAME : M_TOKEN_REREAD_NEW);
		wipe_free(a->static_token);
		a->static_token = tok;
		break;
	default:
		break;
	}
}
