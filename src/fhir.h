/*
 * fhir.h - from request bytes to typed items the store can apply.
 *
 *   fhir_parse()    bytes -> json_t under the body limits: nesting depth,
 *                   UTF-8, duplicate keys, NUL characters, number range.
 *   fhir_extract()  one validated resource -> struct fhir_item: server id and
 *                   logical identity, content hash, the stored body, the
 *                   patient it belongs to (all spellings of its reference),
 *                   and the model facts it contributes (terminology + units).
 *
 * Structural validation is fhir_validate.h; business rules that make a
 * resource unusable are reported here (422: no Patient subject, values
 * outside physiological bounds).  This module allocates per item, never per
 * field on the hot path beyond what jansson does; it must not touch the
 * store or the network.
 */
#ifndef CALCIFY_FHIR_H
#define CALCIFY_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "facts.h"
#include "inputs.h"
#include "sha256.h"
#include "util.h"

struct terminology;

/* Resource types calcifyd stores.  Values are stored in the database:
 * never renumber. */
enum fhir_rtype {
	FHIR_OBSERVATION = 1,
	FHIR_PATIENT = 2,
	FHIR_CONDITION = 3,
	FHIR_PROCEDURE = 4,
	FHIR_MEDSTATEMENT = 5,
	FHIR_MEDREQUEST = 6,
};
#define FHIR_RTYPE_MAX	6

/* NULL for values outside the enum. */
const char *fhir_type_name(enum fhir_rtype);
/* 0 when the name is not a stored type. */
enum fhir_rtype fhir_type_from_name(const char *);

/*
 * Parse a body.  Returns a new reference, or NULL with d set: BODY_EMPTY,
 * BAD_JSON, JSON_DUP_KEY, JSON_UTF8, JSON_DEPTH (deeper than max_depth),
 * JSON_NUMBER, JSON_NUL, NO_MEMORY.  The top level must be an object.
 */
json_t	*fhir_parse(const char *body, size_t len, int max_depth,
	    struct diag *d);

/* Why a stored resource does not feed the model (metrics, notes). */
enum fhir_unused {
	FHIR_USED = 0,
	FHIR_UNUSED_CODE,	/* no code maps to a model input */
	FHIR_UNUSED_UNIT,	/* unit not recognised for the input */
	FHIR_UNUSED_STATUS,	/* preliminary, cancelled, resolved, stopped... */
	FHIR_UNUSED_ABSENT,	/* dataAbsentReason */
	FHIR_UNUSED_NOTIME,	/* no effective time */
	FHIR_UNUSED_NOVALUE,	/* no numeric value for a measured input */
	FHIR_UNUSED_NOPATIENT,	/* subject is no Patient calcifyd can name */
};


/* One fact a resource contributes to its patient. */
struct fhir_fact {
	enum input	ff_input;
	double		ff_value;	/* canonical unit */
	int64_t		ff_eff;		/* ms since epoch */
	uint32_t	ff_flags;	/* FACT_* */
	double		ff_aux;		/* ULN for ALP/PTH when the lab gave one */
	bool		ff_usable;	/* false: stored, not used */
};

#define FHIR_MAX_FACTS		8
#define FHIR_MAX_KEYS		8
#define FHIR_MAX_IDENTS		8

/*
 * A resource ready for the store.  Everything is owned by the item and
 * released by fhir_item_free().
 */
struct fhir_item {
	enum fhir_rtype	 fi_type;
	char		*fi_id;		/* server id (client id when given) */
	bool		 fi_client_id;	/* fi_id came from the client */
	char		*fi_body;	/* JSON without resourceType/id/meta: "{...}" */
	size_t		 fi_bodylen;
	uint8_t		 fi_hash[SHA256_LEN];	/* over type and fi_body */
	/* Patient identity: "ref:Patient/123", "ident:system|value",
	 * "ref:urn:uuid:..." -- every spelling names one internal patient. */
	char		*fi_keys[FHIR_MAX_KEYS];
	int		 fi_nkeys;	/* 0: no patient; stored, not used */
	char		*fi_subject;	/* Reference JSON as received, for
					 * RiskAssessment.subject */
	char		*fi_ref;	/* Reference JSON naming this resource
					 * in an assessment's basis */
	char		*fi_idents[FHIR_MAX_IDENTS];	/* "system|value" */
	int		 fi_nidents;
	char		*fi_codekey;	/* fhir_code_key() of the resource */
	bool		 fi_put;	/* id from the URL (PUT): identity is
					 * that id, never an identifier match */
	struct fhir_fact fi_facts[FHIR_MAX_FACTS];
	int		 fi_nfacts;
	bool		 fi_retract;	/* entered-in-error: withdraw facts */
	enum fhir_unused fi_unused;	/* first reason a fact is unusable */
};

/*
 * How references inside a Bundle resolve: fullUrl (urn:uuid:..., or an
 * absolute URL) -> the entry's resource.  NULL outside Bundles.
 */
struct fhir_refmap;
struct fhir_refmap *fhir_refmap_new(const json_t *bundle);
void	fhir_refmap_free(struct fhir_refmap *);
/* Borrowed resource for a reference, or NULL. */
const json_t *fhir_refmap_get(const struct fhir_refmap *, const char *ref);

/*
 * Extract one structurally valid resource of a stored type.  put_id, when
 * non-NULL, is the id from the URL (PUT) and wins over the body's.  path is
 * the FHIRPath prefix for messages ("Observation",
 * "Bundle.entry[3].resource").  map resolves urn:uuid references (may be
 * NULL).  Returns 0 and fills *it (to be released with fhir_item_free), or
 * -1 with d set (NO_PATIENT, OUT_OF_BOUNDS, BAD_REFERENCE,
 * UNRESOLVED_REF).
 */
int	fhir_extract(const json_t *res, const char *put_id, const char *path,
	    const struct terminology *, const struct fhir_refmap *map,
	    struct fhir_item *it, struct diag *d);
void	fhir_item_free(struct fhir_item *);

/*
 * What a resource is about, for telling results apart: the sorted,
 * de-duplicated "system|code" pairs of its code (Observation, Condition,
 * Procedure) or medicationCodeableConcept, space-separated; "text:..."
 * when there is only text; "" when there is neither.  Independent of key
 * order and coding order.  Returns an owned string.
 */
char	*fhir_code_key(const json_t *res);

/*
 * Normalise a Patient reference (relative, absolute URL, with _history) to
 * a patient key ("ref:Patient/123").  Returns 0 or -1 if it is not a
 * Patient reference.  out holds at least 160 bytes.
 */
int	fhir_patient_key(const char *reference, char *out, size_t size);

/*
 * The stored JSON of a version: {"resourceType":T,"id":I,"meta":{...},...}
 * built by splicing body (fhir_item.fi_body) after the server fields.
 */
void	fhir_stored_json(enum fhir_rtype, const char *id, long version,
	    int64_t updated_ms, const char *body, size_t bodylen,
	    struct buf *out);

#endif
