/*
 * engine.h - the risk computation: a pure function from one patient's
 * facts, the model and the assessment time to two outcome predictions.
 *
 * No I/O, no clock (the time is an argument), no globals, no allocation
 * that outlives the call; the same inputs give bit-identical results.
 * Clinical source: ../shared/CLINICAL.md "Model v0.1"; each term's
 * citation lives in the model file.
 *
 * Derived inputs computed here (CLINICAL.md, issue 5): age at the
 * assessment time from birth_date; vintage from the earliest dialysis or
 * ESRD evidence; calcium_adj = albumin-corrected calcium
 * (Ca + 0.8 x (4.0 - albumin)) when albumin is fresh and the model asks for
 * it, otherwise measured calcium; ca_x_p from calcium_adj and phosphate
 * when both are fresh; bmi_eff from a BMI observation or weight and
 * height; sbp_mean from the systolic fact; female/male from sex.
 */
#ifndef CALCIFY_ENGINE_H
#define CALCIFY_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "facts.h"
#include "inputs.h"
#include "model.h"

#define ENGINE_MAX_FACTORS	32
#define ENGINE_MAX_MITIGATIONS	16
#define ENGINE_SIG_LEN		32
/* Decimals a reader sees: probabilityDecimal (percent) and relativeRisk. */
#define ENGINE_PROB_DECIMALS	1
#define ENGINE_RR_DECIMALS	2

enum engine_band {
	ENGINE_NEGLIGIBLE,
	ENGINE_LOW,
	ENGINE_MODERATE,
	ENGINE_HIGH,
};

/* A contributing factor: a model term that fired. */
struct engine_factor {
	const struct model_term	*ef_term;	/* borrowed from the model */
	double			 ef_contribution;	/* log odds added */
	enum input		 ef_input;	/* input that triggered it */
	double			 ef_value;	/* its value, canonical units */
	double			 ef_threshold;	/* canonical units */
	char			 ef_text[160];	/* "phosphate 7.4 mg/dL (> 5.5)" */
};

struct engine_outcome {
	double			 eo_score;	/* beta0 + sum w x */
	double			 eo_probability;	/* 0..1, uncalibrated */
	double			 eo_percent;	/* shown: percent, rounded to
						   ENGINE_PROB_DECIMALS; the
						   band is taken from it */
	double			 eo_reference;	/* p with no factor */
	double			 eo_relative_risk;	/* p / reference */
	enum engine_band	 eo_band;
	struct engine_factor	 eo_factors[ENGINE_MAX_FACTORS];
	int			 eo_nfactors;	/* largest contribution first */
	enum input		 eo_missing[INPUT_COUNT];	/* absent or stale */
	int			 eo_nmissing;
};

struct engine_result {
	int64_t			 er_at;		/* assessment time, ms */
	bool			 er_final;	/* all m_final_inputs fresh */
	bool			 er_calcium_corrected;
	struct engine_outcome	 er_outcome[MODEL_OUTCOMES];
	int			 er_mitigations[ENGINE_MAX_MITIGATIONS];	/* model indices */
	int			 er_nmitigations;
	/* Effective (present and fresh, or derived) values. */
	bool			 er_have[INPUT_COUNT];
	double			 er_value[INPUT_COUNT];
	/* Which stored facts were used (present and fresh): the basis. */
	bool			 er_used[INPUT_COUNT];
	/*
	 * Hash of what a reader sees: status, per outcome the probability
	 * rounded to 0.1 %, band and the ids of contributing factors,
	 * missing inputs, mitigations and the model id/version.  Equal
	 * signatures mean "no new assessment" (issue 5).
	 */
	uint8_t			 er_signature[ENGINE_SIG_LEN];
};

/*
 * Run the model on facts as of time at (ms since the epoch; callers pass
 * facts_latest_eff()).  Always succeeds for a valid model; r is fully
 * written.
 */
void	engine_run(const struct model *, const struct facts *, int64_t at,
	    struct engine_result *r);

/*
 * Scope (config model.scope): with scope_all every patient is assessed;
 * otherwise only those with dialysis evidence (ESRD or dialysis facts) or
 * listed by the admin (listed = true).
 */
bool	engine_in_scope(const struct facts *, bool scope_all, bool listed);

/* risk-probability code for a band ("negligible", "low", ...). */
const char *engine_band_code(enum engine_band);

#endif
