/*
 * model.h - the risk model as versioned data (conf/model.json), checked
 * against schemas/model.schema.json (embedded at build time) and then
 * semantically (input names exist, cut-points ascend, every weight has a
 * citation and an evidence grade, no negative weights).
 *
 * A loaded model is immutable and reference-counted: the store writer
 * holds a reference while it assesses, SIGHUP swaps in a new model, and
 * the old one is freed when its last user lets go.  The structs are public
 * so the engine and the assessment builder read them directly; nobody
 * writes them after model_load().
 */
#ifndef CALCIFY_MODEL_H
#define CALCIFY_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "inputs.h"

#define MODEL_OUTCOMES		2	/* cutaneous, vascular (CLINICAL.md) */
#define MODEL_BANDS		4	/* negligible, low, moderate, high */
#define MODEL_MAX_TERMS		32	/* per outcome (schema maxItems) */
#define MODEL_MAX_MITIGATIONS	16	/* (schema maxItems) */

enum model_op {
	MODEL_OP_GT,
	MODEL_OP_GE,
	MODEL_OP_LT,
	MODEL_OP_LE,
	MODEL_OP_PRESENT,	/* flag inputs: present (value != 0) */
	MODEL_OP_EQ,		/* sex == male/female coded as numbers */
};

/* One test on one input, thresholds already in canonical units. */
struct model_pred {
	enum input	 mp_input;
	enum model_op	 mp_op;
	double		 mp_value;	/* threshold */
	double		 mp_uln_mult;	/* > 0: threshold = mult x ULN */
	double		 mp_uln_default;	/* ULN when the lab gave none */
	enum model_op	 mp_lab_op;	/* comparison with the lab's own ULN */
	bool		 mp_or_unknown;	/* present with unknown value counts */
};

enum model_term_type {
	MODEL_TERM_BINARY,		/* weight when any predicate holds */
	MODEL_TERM_PER_UNIT_ABOVE,	/* weight x min(cap, (v - ref)/per) */
	MODEL_TERM_PER_UNIT_BELOW,	/* weight x min(cap, (ref - v)/per) */
};

struct model_term {
	char			*mt_id;		/* "cut.phosphate" */
	char			*mt_label;	/* "high phosphate" */
	enum model_term_type	 mt_type;
	struct model_pred	*mt_preds;	/* BINARY: any of these */
	int			 mt_npreds;
	enum input		 mt_input;	/* PER_UNIT_*: the input */
	double			 mt_ref;	/* canonical units */
	double			 mt_per;	/* canonical units per step */
	double			 mt_cap;	/* most steps counted */
	double			 mt_weight;	/* log odds; never negative */
	enum input		*mt_unless;	/* skip when any is present+fresh */
	int			 mt_nunless;
	int			 mt_group;	/* -1 or choose-highest group */
	char			*mt_mitigation;	/* mitigation id or NULL */
	char			*mt_citation;
	char			*mt_evidence;	/* grade, e.g. "B", "expert" */
	bool			 mt_unverified;	/* cut-off marked unverified */
};

struct model_coding {
	char	*mc_system;
	char	*mc_code;
	char	*mc_display;
};

struct model_outcome {
	char			*mo_key;	/* "cutaneous", "vascular" */
	char			*mo_text;	/* outcome.text */
	char			*mo_note;	/* evidence note or NULL */
	struct model_coding	*mo_codings;
	int			 mo_ncodings;
	double			 mo_intercept;	/* beta0 */
	struct model_term	*mo_terms;
	int			 mo_nterms;
	int			 mo_ngroups;
};

struct model_mitigation {
	char	*mm_id;
	char	*mm_text;
	char	*mm_citation;
};

struct model {
	_Atomic int		 m_refs;
	char			*m_id;		/* "calcifyd-calcification" */
	char			*m_version;	/* semantic version */
	char			*m_title;
	char			 m_digest[65];	/* SHA-256 hex of the file bytes */
	char			*m_text;	/* the file as loaded */
	size_t			 m_textlen;
	char			*m_method_system;	/* method CodeSystem URI */
	char			*m_method_code;
	char			*m_method_display;
	char			*m_calibration_note;	/* "uncalibrated ..." */
	char			*m_correction_note;	/* why Ca is corrected */
	/* Qualitative cut-points in percent, ascending: p < cut[0] is
	 * negligible, < cut[1] low, < cut[2] moderate, else high. */
	double			 m_cuts[MODEL_BANDS - 1];
	char			*m_band_code[MODEL_BANDS];	/* risk-probability codes */
	char			*m_band_display[MODEL_BANDS];
	int			 m_fresh_days[INPUT_COUNT];	/* 0 = never stale */
	enum input		*m_final_inputs;	/* needed for status final */
	int			 m_nfinal;
	bool			 m_correct_calcium;	/* albumin-corrected Ca */
	struct model_outcome	 m_outcomes[MODEL_OUTCOMES];
	struct model_mitigation	*m_mitigations;
	int			 m_nmitigations;
};

/*
 * Load path (or text of len bytes named name in messages).  Problems are
 * written to errf, one a line, as "NAME: $.json.path: problem"; NULL is
 * returned when there was any.  The result has one reference.
 */
struct model *model_load(const char *path, FILE *errf);
struct model *model_load_string(const char *text, size_t len,
	    const char *name, FILE *errf);
/* Take and release references; the last model_unref frees. */
struct model *model_ref(struct model *);
void	model_unref(struct model *);
/*
 * The schema the loader enforces (schemas/model.schema.json, embedded at
 * build time): borrowed, NUL-terminated, len bytes.
 */
const char *model_schema_text(size_t *len);
/* Index of a mitigation by id, -1 when unknown. */
int	model_mitigation_index(const struct model *, const char *id);

#endif
