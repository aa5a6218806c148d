/*
 * assessment.h - RiskAssessment JSON (FHIR R4) from a stored assessment:
 * patient reference, model, facts snapshot.  Because the engine is
 * deterministic, the builder re-runs it on the snapshot and gets exactly
 * the result that was stored; the JSON is therefore built on demand
 * (delivery, GET) and never on the ingest hot path.
 *
 * Mapping: FHIR.md "RiskAssessment we send" and CLINICAL.md "Mapping to
 * RiskAssessment".  Must not decide delivery (that is sender.c).
 */
#ifndef CALCIFY_ASSESSMENT_H
#define CALCIFY_ASSESSMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "facts.h"
#include "model.h"
#include "util.h"

#define ASSESSMENT_ID_LEN	64	/* hex SHA-256 */

/*
 * The deterministic identifier value: hex SHA-256 over patient key, model
 * id, version and digest, and the facts snapshot.  Equal inputs, equal
 * identifier: retries and replays cannot duplicate.  out holds 65 bytes.
 */
void	assessment_identifier(const char *patient_key, const struct model *,
	    const char *snapshot, char out[ASSESSMENT_ID_LEN + 1]);

/* What the builder needs besides model and facts. */
struct assessment_ctx {
	const char	*ac_id;		/* Resource.id (deterministic) */
	const char	*ac_identifier_system;	/* hospital.identifier_system */
	const char	*ac_identifier_value;	/* assessment_identifier() */
	const char	*ac_subject_json;	/* Reference JSON as received */
	int64_t		 ac_recorded_ms;	/* meta.lastUpdated */
	const char	*ac_version;	/* calcifyd version, for the Device */
	/* Withdrawn: an input it rests on was entered in error, so it is
	 * status entered-in-error (FHIR: "should never have existed"). */
	bool		 ac_withdrawn;
};

/*
 * Append the RiskAssessment for facts (as of facts_latest_eff) to out.
 * r may be NULL, then the engine is run here; when given it must be the
 * result for exactly these facts.  Returns 0, or -1 when the facts hold
 * nothing to assess or ac_subject_json is NULL or empty (R4 requires a
 * subject).  Nothing is appended on -1.
 */
int	assessment_build(const struct model *, const struct facts *,
	    const struct engine_result *r, const struct assessment_ctx *,
	    struct buf *out);

#endif
