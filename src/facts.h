/*
 * facts.h - one patient's model inputs at one moment, as the store derives
 * them and the engine reads them, plus the canonical text snapshot that is
 * stored with every assessment.
 *
 * The snapshot is the assessment's input state: the identifier is a hash of
 * patient, model and snapshot (ARCHITECTURE.md "One assessment per distinct
 * input state"), and the RiskAssessment is rebuilt from it bit for bit
 * because the engine is deterministic.  Its format is therefore stable:
 *
 *   one line per present input, in enum order:
 *   name TAB value TAB eff TAB flags TAB aux TAB reference-json
 *   [TAB skipped-reference-json] LF
 *
 * value and aux are printed with "%.17g" (exact round trip), eff in
 * milliseconds since the epoch, flags in decimal, reference-json is the
 * RiskAssessment.basis Reference for the source resource (or "{}"), and
 * the optional last field names a newer result for the same input that
 * could not be used (unit not recognised, CLINICAL.md "Units"), so the
 * assessment can say it was skipped.
 * Pure module: no I/O, no clock, no globals.
 */
#ifndef CALCIFY_FACTS_H
#define CALCIFY_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inputs.h"
#include "util.h"

#define FACT_VALUE_UNKNOWN	0x01	/* present, quantity unknown (dose) */
#define FACT_HAS_ULN		0x02	/* aux is the lab's upper limit */
#define FACT_SKIPPED_NEWER	0x04	/* f_skip names a newer, unusable result */
#define FACT_TIME_UNKNOWN	0x08	/* present, f_eff unknown (no onset) */

#define FACTS_POOL	8192

struct fact {
	bool		f_present;
	double		f_value;	/* canonical unit of the input */
	int64_t		f_eff;		/* ms since epoch, UTC */
	uint32_t	f_flags;
	double		f_aux;		/* ALP: upper limit of normal */
	uint32_t	f_ref;		/* offset into fa_pool; 0 = none */
	uint32_t	f_skip;		/* offset into fa_pool; 0 = none */
};

struct facts {
	struct fact	fa_f[INPUT_COUNT];
	char		fa_pool[FACTS_POOL];	/* NUL-separated strings */
	size_t		fa_used;
};

void	facts_init(struct facts *);
/*
 * Set an input.  ref_json is copied into the pool (may be NULL); returns -1
 * if the pool is full (the fact is still set, without a reference).
 */
int	facts_set(struct facts *, enum input, double value, int64_t eff,
	    uint32_t flags, double aux, const char *ref_json);
/* Record a newer result that could not be used (sets FACT_SKIPPED_NEWER;
 * the input need not be present).  Returns -1 if the pool is full. */
int	facts_set_skipped(struct facts *, enum input, const char *ref_json);
void	facts_clear(struct facts *, enum input);
/* Borrowed, valid while the struct lives; NULL when absent. */
const char *facts_ref(const struct facts *, enum input);
const char *facts_skipped_ref(const struct facts *, enum input);
/* Latest effective time over measurements, or over any input when there is
 * no measurement; INT64_MIN when the patient has no facts at all. */
int64_t	facts_latest_eff(const struct facts *);

/* Append the canonical snapshot (see above) to b. */
void	facts_snapshot(const struct facts *, struct buf *b);
/*
 * Parse a snapshot into f (initialised here).  Unknown input names fail:
 * a snapshot is written by this code and never by hand.  Returns 0 or -1.
 */
int	facts_parse_snapshot(const char *, struct facts *);

#endif
