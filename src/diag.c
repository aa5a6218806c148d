/*
 * diag.c - the error catalogue's lookups and struct diag helpers.  Owns no
 * state; must not render HTTP or JSON (that is http_outcome.c).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "util.h"

struct entry {
	enum diag_code	 code;
	int		 status;
	const char	*type;
	const char	*severity;
	const char	*text;
};

static const struct entry catalogue[] = {
#define DIAG_ROW(name, num, st, ty, sev, tx) { DIAG_##name, st, ty, sev, tx },
	DIAG_LIST(DIAG_ROW)
#undef DIAG_ROW
};

static const struct entry *
find(enum diag_code c)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(catalogue); i++)
		if (catalogue[i].code == c)
			return &catalogue[i];
	return NULL;
}

void
diag_clear(struct diag *d)
{
	d->d_code = DIAG_OK;
	d->d_status = 200;
	d->d_expr[0] = '\0';
	d->d_msg[0] = '\0';
}

void
diag_set(struct diag *d, enum diag_code c, const char *expr,
    const char *fmt, ...)
{
	va_list ap;

	d->d_code = c;
	d->d_status = diag_http_status(c);
	util_strlcpy(d->d_expr, expr != NULL ? expr : "", sizeof(d->d_expr));
	if (fmt == NULL) {
		util_strlcpy(d->d_msg, diag_text(c), sizeof(d->d_msg));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(d->d_msg, sizeof(d->d_msg), fmt, ap);
	va_end(ap);
}

bool
diag_failed(const struct diag *d)
{
	return d->d_status >= 300;
}

int
diag_http_status(enum diag_code c)
{
	const struct entry *e = find(c);

	return e != NULL ? e->status : 500;
}

const char *
diag_issue_type(enum diag_code c)
{
	const struct entry *e = find(c);

	return e != NULL ? e->type : "exception";
}

const char *
diag_severity(enum diag_code c)
{
	const struct entry *e = find(c);

	return e != NULL ? e->severity : "error";
}

const char *
diag_text(enum diag_code c)
{
	const struct entry *e = find(c);

	return e != NULL ? e->text : "unknown error";
}

const char *
diag_status_line(int status)
{
	switch (status) {
	case 200: return "200 OK";
	case 201: return "201 Created";
	case 204: return "204 No Content";
	case 400: return "400 Bad Request";
	case 401: return "401 Unauthorized";
	case 403: return "403 Forbidden";
	case 404: return "404 Not Found";
	case 405: return "405 Method Not Allowed";
	case 406: return "406 Not Acceptable";
	case 408: return "408 Request Timeout";
	case 409: return "409 Conflict";
	case 410: return "410 Gone";
	case 412: return "412 Precondition Failed";
	case 413: return "413 Payload Too Large";
	case 415: return "415 Unsupported Media Type";
	case 422: return "422 Unprocessable Entity";
	case 429: return "429 Too Many Requests";
	case 500: return "500 Internal Server Error";
	case 503: return "503 Service Unavailable";
	default: return "500 Internal Server Error";
	}
}
