/*
 * bundle.h - a parsed FHIR Bundle turned into ingest entries (FHIR.md
 * "Bundles"): its type decides the semantics (batch: entry by entry;
 * transaction: all or nothing; collection and searchset: entry by entry,
 * no request elements), the envelope is validated without the entries'
 * resources, fullUrls must be unique (bdl-7), batch and transaction
 * entries need POST or PUT requests whose url matches the resource, and
 * resources of the types calcifyd stores are validated and extracted while
 * other types are accepted and marked ignored.  urn:uuid references
 * resolve to the Bundle's own entries.
 *
 * No HTTP and no store here: http_fhir.c queues the entries and renders the
 * answer; the fuzz target for the Bundle handler calls this directly.
 */
#ifndef CALCIFY_BUNDLE_H
#define CALCIFY_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>

#include "diag.h"
#include "fhir.h"
#include "ingest.h"

struct terminology;

enum bundle_kind {
	BUNDLE_BATCH,
	BUNDLE_TRANSACTION,
	BUNDLE_COLLECTION,	/* collection and searchset */
};

struct bundle {
	enum bundle_kind	 bu_kind;
	int			 bu_n;
	struct ingest_entry	*bu_entries;	/* bu_n of them */
	bool			*bu_ignored;	/* type not stored */
	char			**bu_ignored_type;	/* for the outcome text */
	int			 bu_napply;	/* entries to apply */
	struct fhir_refmap	*bu_map;	/* borrows the document */
};

/*
 * Prepare doc (borrowed; it must outlive b).  Returns 0 when the request
 * goes ahead: each entry is then to be applied (ie_apply), ignored, or
 * failed with its own diag (batch).  Returns -1 with d set when the whole
 * request fails: not a Bundle, unsupported type, more than max_entries
 * entries, invalid envelope, duplicate fullUrl, or -- for a transaction --
 * the first entry that fails.  b is initialised either way and must be
 * released with bundle_free().
 */
int	bundle_prepare(const json_t *doc, long max_entries,
	    const struct terminology *, struct bundle *b, struct diag *d);
void	bundle_free(struct bundle *);

/* FHIR id syntax [A-Za-z0-9\-\.]{1,64}. */
bool	bundle_valid_id(const char *);

#endif
