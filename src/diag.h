/*
 * diag.h - request-level failures.  Every error calcifyd can report to a
 * client is listed once below with a stable numeric code (carried in the
 * OperationOutcome as issue.details.coding, system DIAG_CODE_SYSTEM), its
 * HTTP status, its FHIR issue type and its meaning.  Code numbers never
 * change meaning; new errors get new numbers.
 *
 * Modules below http fill a struct diag; only the http layer turns one into
 * an OperationOutcome (http_outcome.c).  Messages are static text plus
 * element paths and limits: they must never contain patient data.
 */
#ifndef CALCIFY_DIAG_H
#define CALCIFY_DIAG_H

#include <stdbool.h>

#define DIAG_CODE_SYSTEM	"urn:calcifyd:error"

/* X(name, number, http status, FHIR issue type, severity, meaning) */
#define DIAG_LIST(X)							\
X(OK,              0, 200, "informational", "information", "success")	\
/* 1000-1099: the request body as a whole */				\
X(BODY_EMPTY,   1000, 400, "required",   "error", "the request has no body") \
X(BAD_JSON,     1001, 400, "structure",  "error", "the body is not well-formed JSON") \
X(JSON_DUP_KEY, 1002, 400, "structure",  "error", "a JSON object repeats a key") \
X(JSON_UTF8,    1003, 400, "structure",  "error", "the body is not valid UTF-8") \
X(JSON_DEPTH,   1004, 400, "too-costly", "error", "JSON nesting deeper than http.max_depth") \
X(JSON_NUMBER,  1005, 400, "structure",  "error", "a number is out of range (NaN, infinite or overflowing)") \
X(JSON_NUL,     1006, 400, "structure",  "error", "a string contains a NUL character") \
X(BODY_TOO_LARGE, 1007, 413, "too-costly", "error", "the body is larger than http.max_body") \
X(TOO_MANY_ENTRIES, 1008, 413, "too-costly", "error", "the Bundle has more entries than http.max_entries") \
/* 1100-1199: FHIR structure (what the official validator reports) */	\
X(NOT_RESOURCE, 1100, 400, "structure",  "error", "the JSON is not a FHIR resource (no resourceType)") \
X(WRONG_TYPE,   1101, 400, "invalid",    "error", "this endpoint does not accept that resourceType") \
X(UNKNOWN_ELEMENT, 1102, 400, "structure", "error", "an element is not defined in FHIR R4") \
X(ELEMENT_TYPE, 1103, 400, "structure",  "error", "an element has the wrong JSON type") \
X(REQUIRED,     1104, 400, "required",   "error", "a required element is missing") \
X(CARDINALITY,  1105, 400, "structure",  "error", "an element is repeated or not repeated against its cardinality") \
X(BAD_VALUE,    1106, 400, "value",      "error", "a value breaks its FHIR datatype's rules") \
X(BAD_CODE,     1107, 400, "code-invalid", "error", "a code is not in its required value set") \
X(BAD_ID,       1108, 400, "value",      "error", "a resource id does not match [A-Za-z0-9-.]{1,64}") \
X(MULTI_VALUE,  1109, 400, "invariant",  "error", "more than one value[x] is present") \
X(CONTAINED,    1110, 400, "invariant",  "error", "a contained resource breaks dom-2 or dom-3") \
X(STRING_TOO_LONG, 1111, 400, "value",   "error", "a string is longer than the 1 MB R4 allows") \
X(EMPTY_ELEMENT, 1112, 400, "invariant", "error", "an element is empty (ele-1)") \
X(BAD_REFERENCE, 1113, 400, "value",     "error", "a reference is not a valid FHIR reference") \
X(UNRESOLVED_REF, 1114, 400, "not-found", "error", "a urn:uuid reference does not resolve inside the Bundle") \
X(BUNDLE_TYPE,  1115, 400, "not-supported", "error", "this Bundle type is not accepted") \
X(ENTRY_REQUEST, 1116, 400, "invalid",   "error", "a Bundle entry's request is missing or malformed") \
X(ENTRY_METHOD, 1117, 405, "not-supported", "error", "a Bundle entry uses a method calcifyd does not support") \
X(DUP_FULLURL,  1118, 400, "invariant",  "error", "two Bundle entries share a fullUrl (bdl-7)") \
X(ID_MISMATCH,  1119, 400, "invalid",    "error", "the resource id differs from the id in the URL") \
/* 1200-1299: business rules (valid FHIR calcifyd cannot use safely) */ \
X(NO_PATIENT,   1200, 422, "business-rule", "error", "reserved: resources without an identifiable Patient are now stored, not used") \
X(OUT_OF_BOUNDS, 1201, 422, "business-rule", "error", "a value is outside physiological bounds") \
X(PATIENT_CONFLICT, 1202, 422, "business-rule", "error", "an update moves a resource to another patient") \
/* 1300-1399: conditional operations */				\
X(IF_NONE_EXIST, 1300, 400, "invalid",   "error", "If-None-Exist is not identifier=[system|]value") \
X(MULTIPLE_MATCHES, 1301, 412, "duplicate", "error", "several resources match If-None-Exist") \
/* 1400-1499: routing and protocol */					\
X(NOT_FOUND,    1400, 404, "not-found",  "error", "no resource with that id") \
X(UNKNOWN_ROUTE, 1401, 404, "not-supported", "error", "calcifyd serves no such path") \
X(METHOD,       1402, 405, "not-supported", "error", "the method is not allowed on this path") \
X(MEDIA_TYPE,   1403, 415, "not-supported", "error", "the body's Content-Type is not FHIR JSON") \
X(NOT_ACCEPTABLE, 1404, 406, "not-supported", "error", "the client does not accept FHIR JSON") \
X(BAD_PARAM,    1405, 400, "invalid",    "error", "a search parameter is malformed or unsupported") \
X(GONE,         1406, 410, "deleted",    "error", "the resource was retracted") \
/* 1500-1599: security and load */					\
X(AUTH_MISSING, 1500, 401, "login",      "error", "no bearer token was presented") \
X(AUTH_INVALID, 1501, 401, "login",      "error", "the bearer token is not valid") \
X(FORBIDDEN,    1502, 403, "forbidden",  "error", "the client certificate is not on the allow-list") \
X(THROTTLED,    1503, 429, "throttled",  "error", "the delivery backlog is over hospital.max_outbox") \
X(BUSY,         1504, 503, "transient",  "error", "the ingest queue is full") \
X(NOT_READY,    1505, 503, "transient",  "error", "the store or model is not ready") \
X(SHUTTING_DOWN, 1506, 503, "transient", "error", "calcifyd is shutting down") \
X(REQUEST_TIMEOUT, 1507, 408, "timeout", "error", "the request took longer than http.request_timeout_ms (reserved: MHD 0.9 closes the connection instead)") \
/* 1600-1699: our failures */						\
X(INTERNAL,     1600, 500, "exception",  "error", "an internal error occurred") \
X(STORE,        1601, 500, "exception",  "error", "the store failed; nothing was stored") \
X(NO_MEMORY,    1602, 503, "transient",  "error", "calcifyd ran out of memory for this request") \
/* 2000-2099: information that rides in successful responses */	\
X(IGNORED,      2000, 200, "informational", "information", "the resource type is not used by calcifyd and was not stored") \
X(UNCHANGED,    2001, 200, "informational", "information", "the resource is identical to the stored version") \
X(EXISTS,       2002, 200, "informational", "information", "a resource matching If-None-Exist already exists")

enum diag_code {
#define DIAG_ENUM(name, num, st, type, sev, text) DIAG_##name = num,
	DIAG_LIST(DIAG_ENUM)
#undef DIAG_ENUM
};

#define DIAG_EXPR_MAX	256
#define DIAG_MSG_MAX	384

struct diag {
	enum diag_code	d_code;
	int		d_status;	/* HTTP status */
	char		d_expr[DIAG_EXPR_MAX];	/* FHIRPath, may be "" */
	char		d_msg[DIAG_MSG_MAX];	/* human text, no PHI */
};

/* Clear to DIAG_OK. */
void	diag_clear(struct diag *);
/*
 * Record an error.  expr may be NULL.  fmt may be NULL to use the catalogue
 * text.  The catalogue decides the HTTP status.
 */
void	diag_set(struct diag *, enum diag_code, const char *expr,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool	diag_failed(const struct diag *);

/* Catalogue lookups; unknown codes give NULL / 500. */
int	diag_http_status(enum diag_code);
const char *diag_issue_type(enum diag_code);
const char *diag_severity(enum diag_code);
const char *diag_text(enum diag_code);
/* "400 Bad Request" style status line text for Bundle responses. */
const char *diag_status_line(int status);

#endif
