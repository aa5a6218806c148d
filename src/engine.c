/*
 * engine.c - the risk computation: one patient's facts, the model and the
 * assessment time in; per outcome a score, probability, band, relative
 * risk, contributing factors and missing inputs out, plus mitigations, the
 * basis and a signature of what a reader would see.
 *
 * Pure (ARCHITECTURE.md, STYLE.md "engine calls nothing"): no I/O, no
 * clock, no globals, no allocation; the same inputs give bit-identical
 * results.  Clinical rules come from ../shared/CLINICAL.md "Model v0.1";
 * the numbers live in the model file, never here.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "sha256.h"
#include "units.h"
#include "util.h"

#define MS_PER_DAY	86400000LL
#define DAYS_PER_YEAR	365.25

_Static_assert(ENGINE_MAX_FACTORS >= MODEL_MAX_TERMS,
    "every term of an outcome can fire");
_Static_assert(ENGINE_MAX_MITIGATIONS >= MODEL_MAX_MITIGATIONS,
    "every mitigation can be triggered");

/* Working state of one run; lives on the caller's stack. */
struct run {
	const struct model	*m;
	const struct facts	*f;
	int64_t			 at;
	struct engine_result	*r;
	bool			 unknown[INPUT_COUNT];	/* no quantity */
	bool			 reads[INPUT_COUNT];	/* model reads */
	enum input		 vintage_from;	/* ESRD or DIALYSIS */
	bool			 bmi_measured;
};

/* at - eff in whole days, 0 when eff is not before at; no overflow for
 * any pair of times (snapshots are parsed, so any int64 can arrive). */
static int64_t
days_between(int64_t eff, int64_t at)
{
	if (at <= eff)
		return 0;
	return (int64_t)(((uint64_t)at - (uint64_t)eff) /
	    (uint64_t)MS_PER_DAY);
}

/* --- effective inputs --------------------------------------------------- */

/*
 * Stored facts: measurements are used while fresh (CLINICAL.md "Freshness
 * and scope": labs 90 days, PTH 180, per the model); diagnoses, medicines
 * and demographics never go stale.
 */
static void
stored_inputs(struct run *x)
{
	const struct fact *ft;
	int i, days;

	for (i = 0; i < INPUT_COUNT; i++) {
		ft = &x->f->fa_f[i];
		if (!ft->f_present || input_kind((enum input)i) ==
		    INPUT_DERIVED)
			continue;
		if (input_is_measurement((enum input)i)) {
			if (ft->f_flags & FACT_VALUE_UNKNOWN)
				continue;
			days = x->m->m_fresh_days[i];
			if (days > 0) {
				if (ft->f_flags & FACT_TIME_UNKNOWN)
					continue;
				if (x->at > ft->f_eff && (uint64_t)x->at -
				    (uint64_t)ft->f_eff > (uint64_t)days *
				    MS_PER_DAY)
					continue;
			}
		}
		x->r->er_have[i] = true;
		x->r->er_value[i] = ft->f_value;
		x->unknown[i] = (ft->f_flags & FACT_VALUE_UNKNOWN) != 0;
	}
}

static void
set_derived(struct run *x, enum input in, double v)
{
	x->r->er_have[in] = true;
	x->r->er_value[in] = v;
}

/* Completed years between a birth day and the day of at. */
static bool
age_years(int64_t birth_day, int64_t at, double *out)
{
	int64_t by, ay, day = at / MS_PER_DAY;
	unsigned bm, bd, am, ad;
	int64_t years;

	if (at % MS_PER_DAY < 0)
		day--;
	if (day < birth_day)
		return false;
	util_civil_from_days(birth_day, &by, &bm, &bd);
	util_civil_from_days(day, &ay, &am, &ad);
	years = ay - by;
	if (am < bm || (am == bm && ad < bd))
		years--;
	*out = (double)years;
	return true;
}

/*
 * Derived inputs (engine.h).  Calcium: CLINICAL.md allows albumin-corrected
 * calcium, Ca + 0.8 x (4.0 - albumin) mg/dL, when albumin is recent; the
 * model switches it on (calcium_correction), the correction applies only
 * with a fresh albumin, and the assessment says which was used.  Ionised
 * calcium is never turned into total calcium.
 */
static void
derived_inputs(struct run *x)
{
	struct engine_result *r = x->r;
	const struct fact *e = &x->f->fa_f[INPUT_ESRD];
	const struct fact *d = &x->f->fa_f[INPUT_DIALYSIS];
	bool ke = e->f_present && !(e->f_flags & FACT_TIME_UNKNOWN);
	bool kd = d->f_present && !(d->f_flags & FACT_TIME_UNKNOWN);
	double v, ca, h, bd = r->er_value[INPUT_BIRTH_DATE];
	int64_t start;

	/* Days since 1970; beyond +-1e8 days (273,000 years) is no date. */
	if (r->er_have[INPUT_BIRTH_DATE] && fabs(bd) < 1e8 &&
	    age_years((int64_t)floor(bd), x->at, &v))
		set_derived(x, INPUT_AGE, v);
	/* Vintage: the earliest dialysis or ESRD evidence with a known
	 * date; a diagnosis without onset says nothing about time. */
	if (ke || kd) {
		x->vintage_from = kd && (!ke || d->f_eff < e->f_eff) ?
		    INPUT_DIALYSIS : INPUT_ESRD;
		start = x->f->fa_f[x->vintage_from].f_eff;
		set_derived(x, INPUT_VINTAGE, (double)days_between(start, x->at) /
		    DAYS_PER_YEAR);
	}
	if (r->er_have[INPUT_CALCIUM]) {
		ca = r->er_value[INPUT_CALCIUM];
		if (x->m->m_correct_calcium && r->er_have[INPUT_ALBUMIN]) {
			ca += 0.8 * (4.0 - r->er_value[INPUT_ALBUMIN]);
			r->er_calcium_corrected = true;
		}
		set_derived(x, INPUT_CALCIUM_ADJ, ca);
		if (r->er_have[INPUT_PHOSPHATE])
			set_derived(x, INPUT_CA_X_P,
			    ca * r->er_value[INPUT_PHOSPHATE]);
	}
	if (r->er_have[INPUT_BMI]) {
		set_derived(x, INPUT_BMI_EFF, r->er_value[INPUT_BMI]);
		x->bmi_measured = true;
	} else if (r->er_have[INPUT_WEIGHT] && r->er_have[INPUT_HEIGHT] &&
	    r->er_value[INPUT_HEIGHT] > 0) {
		h = r->er_value[INPUT_HEIGHT] / 100.0;
		set_derived(x, INPUT_BMI_EFF, r->er_value[INPUT_WEIGHT] /
		    (h * h));
	}
	if (r->er_have[INPUT_SYSTOLIC])
		set_derived(x, INPUT_SBP_MEAN, r->er_value[INPUT_SYSTOLIC]);
	if (r->er_have[INPUT_SEX] &&
	    r->er_value[INPUT_SEX] != INPUT_SEX_UNKNOWN) {
		set_derived(x, INPUT_FEMALE,
		    r->er_value[INPUT_SEX] == INPUT_SEX_FEMALE ? 1 : 0);
		set_derived(x, INPUT_MALE,
		    r->er_value[INPUT_SEX] == INPUT_SEX_MALE ? 1 : 0);
	}
}

/* --- factor texts ------------------------------------------------------- */

/* Short reader-facing name and unit for an input in a rationale. */
static const char *
text_name(const struct run *x, enum input in)
{
	switch (in) {
	case INPUT_CALCIUM_ADJ:
		return x->r->er_calcium_corrected ? "corrected calcium" :
		    "calcium";
	case INPUT_CA_X_P: return "Ca x P";
	case INPUT_BMI_EFF: return "BMI";
	case INPUT_SBP_MEAN: return "mean systolic BP";
	case INPUT_VINTAGE: return "time on dialysis";
	case INPUT_PTH: return "PTH";
	case INPUT_ALP: return "ALP";
	case INPUT_VITD25: return "25-OH vitamin D";
	case INPUT_VITD125: return "1,25-(OH)2 vitamin D";
	case INPUT_HBA1C: return "HbA1c";
	case INPUT_LDL: return "LDL cholesterol";
	case INPUT_CA_BINDER: return "elemental calcium from binders";
	default: return input_label(in);
	}
}

static const char *
text_unit(enum input in)
{
	switch (in) {
	case INPUT_AGE:
	case INPUT_VINTAGE: return "years";
	case INPUT_CALCIUM_ADJ: return units_display(INPUT_CALCIUM);
	case INPUT_CA_X_P: return "mg2/dL2";
	case INPUT_BMI_EFF: return units_display(INPUT_BMI);
	case INPUT_SBP_MEAN: return "mmHg";
	case INPUT_CA_BINDER: return "mg/day";
	default: return units_display(in);
	}
}

/* Decimals that make a value readable without false precision. */
static int
text_decimals(enum input in)
{
	switch (in) {
	case INPUT_AGE:
	case INPUT_PTH:
	case INPUT_ALP:
	case INPUT_VITD25:
	case INPUT_VITD125:
	case INPUT_CHOLESTEROL:
	case INPUT_LDL:
	case INPUT_HDL:
	case INPUT_TRIGLYCERIDES:
	case INPUT_SBP_MEAN:
	case INPUT_CA_X_P:
	case INPUT_CA_BINDER:
		return 0;
	default:
		return 1;
	}
}

static const char *
op_text(enum model_op op)
{
	switch (op) {
	case MODEL_OP_GT: return ">";
	case MODEL_OP_GE: return ">=";
	case MODEL_OP_LT: return "<";
	case MODEL_OP_LE: return "<=";
	case MODEL_OP_EQ: return "=";
	default: return "";
	}
}

static bool
lab_uln(const struct run *x, const struct model_pred *p)
{
	const struct fact *ft = &x->f->fa_f[p->mp_input];

	return p->mp_uln_mult > 0 && (ft->f_flags & FACT_HAS_ULN) &&
	    ft->f_aux > 0;
}

/* The comparison in force: uln.lab_op when the lab's own limit is used. */
static enum model_op
pred_op(const struct run *x, const struct model_pred *p)
{
	return lab_uln(x, p) ? p->mp_lab_op : p->mp_op;
}

/* "phosphate 7.4 mg/dL (> 5.5)" and friends. */
static void
factor_text(const struct run *x, const struct model_term *t,
    const struct model_pred *p, struct engine_factor *ef)
{
	enum input in = ef->ef_input;
	int dec = text_decimals(in);
	char thr[64];

	if (x->unknown[in]) {
		/* A medicine whose dose was not stated. */
		snprintf(ef->ef_text, sizeof(ef->ef_text), "%s, dose unknown",
		    input_label(in));
		return;
	}
	if (p != NULL && (p->mp_op == MODEL_OP_PRESENT ||
	    p->mp_op == MODEL_OP_EQ)) {
		snprintf(ef->ef_text, sizeof(ef->ef_text), "%s",
		    input_label(in));
		return;
	}
	if (p != NULL && p->mp_uln_mult > 0) {
		if (p->mp_uln_mult == 1)
			snprintf(thr, sizeof(thr), "%s ULN %.*f", op_text(
			    pred_op(x, p)), dec, ef->ef_threshold);
		else
			snprintf(thr, sizeof(thr), "%s %g x ULN = %.*f",
			    op_text(pred_op(x, p)), p->mp_uln_mult, dec,
			    ef->ef_threshold);
	} else if (p != NULL)
		snprintf(thr, sizeof(thr), "%s %.*f", op_text(p->mp_op), dec,
		    ef->ef_threshold);
	else if (t->mt_ref == 0)
		thr[0] = '\0';
	else
		snprintf(thr, sizeof(thr), "%s %.*f",
		    t->mt_type == MODEL_TERM_PER_UNIT_ABOVE ? ">" : "<", dec,
		    t->mt_ref);
	snprintf(ef->ef_text, sizeof(ef->ef_text), "%s %.*f %s%s%s%s",
	    text_name(x, in), dec, ef->ef_value, text_unit(in),
	    thr[0] != '\0' ? " (" : "", thr, thr[0] != '\0' ? ")" : "");
}

/* --- terms -------------------------------------------------------------- */

/* Threshold of a comparison: fixed, or a multiple of the lab's ULN. */
static double
threshold(const struct run *x, const struct model_pred *p)
{
	if (p->mp_uln_mult <= 0)
		return p->mp_value;
	if (lab_uln(x, p))
		return p->mp_uln_mult * x->f->fa_f[p->mp_input].f_aux;
	return p->mp_uln_mult * p->mp_uln_default;
}


static bool
pred_holds(const struct run *x, const struct model_pred *p, double *thr)
{
	enum input in = p->mp_input;
	double v = x->r->er_value[in];

	*thr = 0;
	if (!x->r->er_have[in])
		return false;
	if (p->mp_or_unknown && x->unknown[in])
		return true;
	if (p->mp_op == MODEL_OP_PRESENT)
		return v != 0 || x->unknown[in];
	*thr = threshold(x, p);
	switch (pred_op(x, p)) {
	case MODEL_OP_GT: return v > *thr;
	case MODEL_OP_GE: return v >= *thr;
	case MODEL_OP_LT: return v < *thr;
	case MODEL_OP_LE: return v <= *thr;
	case MODEL_OP_EQ: return v == *thr;
	default: return false;
	}
}

/* Evaluate one term; true and ef filled when it contributes. */
static bool
eval_term(const struct run *x, const struct model_term *t,
    struct engine_factor *ef)
{
	const struct model_pred *p;
	double v, steps, thr;
	int i;

	for (i = 0; i < t->mt_nunless; i++)
		if (x->r->er_have[t->mt_unless[i]])
			return false;
	if (t->mt_weight <= 0)
		return false;
	memset(ef, 0, sizeof(*ef));
	ef->ef_term = t;
	if (t->mt_type == MODEL_TERM_BINARY) {
		for (i = 0; i < t->mt_npreds; i++) {
			p = &t->mt_preds[i];
			if (!pred_holds(x, p, &thr))
				continue;
			ef->ef_contribution = t->mt_weight;
			ef->ef_input = p->mp_input;
			ef->ef_value = x->r->er_value[p->mp_input];
			ef->ef_threshold = thr;
			factor_text(x, t, p, ef);
			return true;
		}
		return false;
	}
	if (!x->r->er_have[t->mt_input])
		return false;
	v = x->r->er_value[t->mt_input];
	steps = (t->mt_type == MODEL_TERM_PER_UNIT_ABOVE ? v - t->mt_ref :
	    t->mt_ref - v) / t->mt_per;
	if (!(steps > 0))
		return false;
	if (steps > t->mt_cap)
		steps = t->mt_cap;
	ef->ef_contribution = t->mt_weight * steps;
	ef->ef_input = t->mt_input;
	ef->ef_value = v;
	ef->ef_threshold = t->mt_ref;
	factor_text(x, t, NULL, ef);
	return true;
}

/* Largest contribution first; ties by term id, so the order is total. */
static int
factor_before(const struct engine_factor *a, const struct engine_factor *b)
{
	if (a->ef_contribution != b->ef_contribution)
		return a->ef_contribution > b->ef_contribution;
	return strcmp(a->ef_term->mt_id, b->ef_term->mt_id) < 0;
}

static void
sort_factors(struct engine_factor *v, int n)
{
	struct engine_factor tmp;
	int i, j;

	for (i = 1; i < n; i++) {
		tmp = v[i];
		for (j = i; j > 0 && factor_before(&tmp, &v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = tmp;
	}
}

/*
 * Mark in src the stored inputs that in is (or would be) computed from:
 * the facts behind a derived input, or in itself.  The basis and the
 * missing-input list both follow it.
 */
static void
sources_of(const struct run *x, enum input in, bool *src)
{
	const struct engine_result *r = x->r;

	switch (in) {
	case INPUT_AGE:
		src[INPUT_BIRTH_DATE] = true;
		break;
	case INPUT_FEMALE:
	case INPUT_MALE:
		src[INPUT_SEX] = true;
		break;
	case INPUT_VINTAGE:
		/* Computed from whichever dated evidence came first; when
		 * there is none, "time on dialysis" itself is what lacks. */
		src[r->er_have[in] ? x->vintage_from : in] = true;
		break;
	case INPUT_CA_X_P:
		src[INPUT_PHOSPHATE] = true;
		/* FALLTHROUGH */
	case INPUT_CALCIUM_ADJ:
		src[INPUT_CALCIUM] = true;
		if (r->er_calcium_corrected)
			src[INPUT_ALBUMIN] = true;
		break;
	case INPUT_BMI_EFF:
		if (r->er_have[in] && !x->bmi_measured)
			src[INPUT_WEIGHT] = src[INPUT_HEIGHT] = true;
		else
			src[INPUT_BMI] = true;
		break;
	case INPUT_SBP_MEAN:
		src[INPUT_SYSTOLIC] = true;
		break;
	default:
		src[in] = true;
	}
}

/* The stored inputs a reader should supply for a term's main input. */
static void
mark_missing(const struct run *x, enum input in, bool *miss)
{
	bool src[INPUT_COUNT];
	int i;

	/* Absent diagnoses and medicines mean "no", not "unknown". */
	if (x->r->er_have[in] || input_kind(in) == INPUT_ANY ||
	    input_kind(in) == INPUT_EARLIEST || input_kind(in) == INPUT_SUM)
		return;
	memset(src, 0, sizeof(src));
	sources_of(x, in, src);
	for (i = 0; i < INPUT_COUNT; i++)
		if (src[i] && !x->r->er_have[i])
			miss[i] = true;
}

static void
run_outcome(struct run *x, const struct model_outcome *o,
    struct engine_outcome *eo, bool *mit)
{
	struct engine_factor cand[MODEL_MAX_TERMS];
	const struct model_term *t;
	bool fired[MODEL_MAX_TERMS], miss[INPUT_COUNT];
	const double *cuts = x->m->m_cuts;
	char tmp[64];
	int i, k, best;

	memset(miss, 0, sizeof(miss));
	for (i = 0; i < o->mo_nterms; i++) {
		t = &o->mo_terms[i];
		fired[i] = eval_term(x, t, &cand[i]);
		mark_missing(x, t->mt_input, miss);
	}
	/* Choose-highest groups: only the largest member counts. */
	for (i = 0; i < o->mo_nterms; i++) {
		if (!fired[i] || o->mo_terms[i].mt_group < 0)
			continue;
		best = i;
		for (k = 0; k < o->mo_nterms; k++)
			if (fired[k] && k != best && o->mo_terms[k].mt_group ==
			    o->mo_terms[i].mt_group &&
			    factor_before(&cand[k], &cand[best]))
				best = k;
		if (best != i)
			fired[i] = false;
	}
	eo->eo_score = o->mo_intercept;
	for (i = 0; i < o->mo_nterms; i++) {
		if (!fired[i])
			continue;
		eo->eo_score += cand[i].ef_contribution;
		eo->eo_factors[eo->eo_nfactors++] = cand[i];
		if (o->mo_terms[i].mt_mitigation != NULL &&
		    (k = model_mitigation_index(x->m,
		    o->mo_terms[i].mt_mitigation)) >= 0)
			mit[k] = true;
	}
	sort_factors(eo->eo_factors, eo->eo_nfactors);
	eo->eo_probability = 1.0 / (1.0 + exp(-eo->eo_score));
	eo->eo_reference = 1.0 / (1.0 + exp(-o->mo_intercept));
	eo->eo_relative_risk = eo->eo_probability / eo->eo_reference;
	/* The band follows the percentage the reader sees, so 9.96 % shown
	 * as 10.0 % is never called low. */
	snprintf(tmp, sizeof(tmp), "%.*f", ENGINE_PROB_DECIMALS,
	    eo->eo_probability * 100.0);
	eo->eo_percent = strtod(tmp, NULL);
	eo->eo_band = ENGINE_HIGH;
	for (i = MODEL_BANDS - 2; i >= 0; i--)
		if (eo->eo_percent < cuts[i])
			eo->eo_band = (enum engine_band)i;
	for (i = 0; i < INPUT_COUNT; i++)
		if (miss[i])
			eo->eo_missing[eo->eo_nmissing++] = (enum input)i;
}

/* --- basis and signature ------------------------------------------------ */

static void
reads_of_term(struct run *x, const struct model_term *t)
{
	int i;

	if (t->mt_type != MODEL_TERM_BINARY)
		x->reads[t->mt_input] = true;
	for (i = 0; i < t->mt_npreds; i++)
		x->reads[t->mt_preds[i].mp_input] = true;
	for (i = 0; i < t->mt_nunless; i++)
		x->reads[t->mt_unless[i]] = true;
}

/*
 * The stored facts behind every input the model reads (the basis): a
 * derived input stands for the facts it was computed from.
 */
static void
mark_used(struct run *x)
{
	struct engine_result *r = x->r;
	bool src[INPUT_COUNT];
	int i, k;

	memset(src, 0, sizeof(src));
	for (i = 0; i < MODEL_OUTCOMES; i++)
		for (k = 0; k < x->m->m_outcomes[i].mo_nterms; k++)
			reads_of_term(x, &x->m->m_outcomes[i].mo_terms[k]);
	for (i = 0; i < x->m->m_nfinal; i++)
		x->reads[x->m->m_final_inputs[i]] = true;
	for (i = 0; i < INPUT_COUNT; i++)
		if (x->reads[i])
			sources_of(x, (enum input)i, src);
	for (i = 0; i < INPUT_COUNT; i++)
		r->er_used[i] = src[i] && r->er_have[i] &&
		    input_kind((enum input)i) != INPUT_DERIVED;
}

static void
sig_str(struct sha256 *h, const char *tag, const char *s)
{
	sha256_update(h, tag, strlen(tag));
	sha256_update(h, "\t", 1);
	sha256_update(h, s, strlen(s));
	sha256_update(h, "\n", 1);
}

/*
 * What a reader sees, in a fixed order: model, status, calcium choice,
 * per outcome the shown probability, relative risk, band, factors (id and
 * text) and missing inputs, then mitigations and skipped newer results.
 */
static void
signature(const struct run *x)
{
	struct engine_result *r = x->r;
	const struct engine_outcome *eo;
	struct sha256 h;
	char tmp[96];
	int i, k;

	sha256_init(&h);
	sig_str(&h, "model", x->m->m_id);
	sig_str(&h, "version", x->m->m_version);
	sig_str(&h, "status", r->er_final ? "final" : "preliminary");
	sig_str(&h, "corrected", r->er_calcium_corrected ? "1" : "0");
	for (i = 0; i < MODEL_OUTCOMES; i++) {
		eo = &r->er_outcome[i];
		snprintf(tmp, sizeof(tmp), "%s %.*f %.*f %s",
		    x->m->m_outcomes[i].mo_key, ENGINE_PROB_DECIMALS,
		    eo->eo_percent, ENGINE_RR_DECIMALS, eo->eo_relative_risk,
		    engine_band_code(eo->eo_band));
		sig_str(&h, "outcome", tmp);
		for (k = 0; k < eo->eo_nfactors; k++) {
			sig_str(&h, "factor", eo->eo_factors[k].ef_term->mt_id);
			sig_str(&h, "text", eo->eo_factors[k].ef_text);
		}
		for (k = 0; k < eo->eo_nmissing; k++) {
			enum input in = eo->eo_missing[k];

			sig_str(&h, x->f->fa_f[in].f_present ? "stale" :
			    "missing", input_name(in));
		}
	}
	for (i = 0; i < r->er_nmitigations; i++)
		sig_str(&h, "mitigation",
		    x->m->m_mitigations[r->er_mitigations[i]].mm_id);
	for (i = 0; i < INPUT_COUNT; i++)
		if (facts_skipped_ref(x->f, (enum input)i) != NULL)
			sig_str(&h, "skipped", input_name((enum input)i));
	sha256_final(&h, r->er_signature);
}

/* --- entry points ------------------------------------------------------- */

void
engine_run(const struct model *m, const struct facts *f, int64_t at,
    struct engine_result *r)
{
	struct run x;
	bool mit[MODEL_MAX_MITIGATIONS];
	int i;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	memset(mit, 0, sizeof(mit));
	x.m = m;
	x.f = f;
	x.at = at;
	x.r = r;
	r->er_at = at;
	stored_inputs(&x);
	derived_inputs(&x);
	for (i = 0; i < MODEL_OUTCOMES; i++)
		run_outcome(&x, &m->m_outcomes[i], &r->er_outcome[i], mit);
	for (i = 0; i < m->m_nmitigations && i < MODEL_MAX_MITIGATIONS; i++)
		if (mit[i])
			r->er_mitigations[r->er_nmitigations++] = i;
	r->er_final = true;
	for (i = 0; i < m->m_nfinal; i++)
		if (!r->er_have[m->m_final_inputs[i]])
			r->er_final = false;
	mark_used(&x);
	signature(&x);
}

bool
engine_in_scope(const struct facts *f, bool scope_all, bool listed)
{
	/* CLINICAL.md "Freshness and scope": dialysis evidence is an ESRD
	 * diagnosis or a dialysis procedure, at any time. */
	return scope_all || listed || f->fa_f[INPUT_ESRD].f_present ||
	    f->fa_f[INPUT_DIALYSIS].f_present;
}

const char *
engine_band_code(enum engine_band b)
{
	switch (b) {
	case ENGINE_NEGLIGIBLE: return "negligible";
	case ENGINE_LOW: return "low";
	case ENGINE_MODERATE: return "moderate";
	case ENGINE_HIGH: return "high";
	}
	return "high";
}
