/*
 * http_outcome.c - the one place a struct diag becomes a FHIR
 * OperationOutcome.  The diagnostics text comes from the catalogue or from
 * validation messages that name elements and limits, never patient data.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "diag.h"
#include "http.h"
#include "jsonw.h"

static void
issue(struct jsonw *w, enum diag_code code, const char *severity,
    const char *type, const char *msg, const char *expr)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", (int)code);
	jsonw_obj_open(w);
	jsonw_kstr(w, "severity", severity);
	jsonw_kstr(w, "code", type);
	jsonw_key(w, "details");
	jsonw_obj_open(w);
	jsonw_key(w, "coding");
	jsonw_arr_open(w);
	jsonw_obj_open(w);
	jsonw_kstr(w, "system", DIAG_CODE_SYSTEM);
	jsonw_kstr(w, "code", num);
	jsonw_obj_close(w);
	jsonw_arr_close(w);
	jsonw_kstr(w, "text", diag_text(code));
	jsonw_obj_close(w);
	if (msg != NULL && msg[0] != '\0')
		jsonw_kstr(w, "diagnostics", msg);
	if (expr != NULL && expr[0] != '\0') {
		jsonw_key(w, "expression");
		jsonw_arr_open(w);
		jsonw_str(w, expr);
		jsonw_arr_close(w);
	}
	jsonw_obj_close(w);
}

void
http_outcome_json(const struct diag *d, struct buf *b)
{
	struct jsonw w;

	jsonw_init(&w, b);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "resourceType", "OperationOutcome");
	jsonw_key(&w, "issue");
	jsonw_arr_open(&w);
	issue(&w, d->d_code, diag_severity(d->d_code),
	    diag_issue_type(d->d_code), d->d_msg, d->d_expr);
	jsonw_arr_close(&w);
	jsonw_obj_close(&w);
}

void
http_outcome_info(enum diag_code code, const char *msg, struct buf *b)
{
	struct diag d;

	diag_clear(&d);
	if (msg != NULL)
		diag_set(&d, code, NULL, "%s", msg);
	else
		diag_set(&d, code, NULL, NULL);
	http_outcome_json(&d, b);
}
