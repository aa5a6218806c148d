/*
 * units.c - conversion of measured values into each input's canonical
 * unit with the exact factors of ../shared/CLINICAL.md "Units", and the
 * physiological bounds that make absurd values a 422 instead of a silently
 * extreme risk.  Pure tables: no I/O, no allocation, no state.
 *
 * UCUM codes are case-sensitive (mg/dL is a code, mg/dl is not), so codes
 * match exactly; the free-text unit may be spelled any way labs spell it
 * and matches case-insensitively against a list of known spellings.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <string.h>

#include "units.h"
#include "util.h"

/* One accepted unit for one input: value x mul = canonical. */
struct conv {
	const char	*ucum;		/* UCUM code, exact match */
	const char	*texts[6];	/* unit text spellings, any case */
	double		 mul;
};

struct analyte {
	enum input	 in;
	const char	*display;	/* canonical unit for humans */
	double		 lo, hi;	/* plausible range, canonical units */
	struct conv	 conv[6];
};

/*
 * Bounds are wide on purpose: they catch unit mix-ups and typing errors
 * (calcium 80 mg/dL, negative albumin), not abnormal results, which are
 * exactly what the model needs to see.  Each range reaches beyond the
 * most extreme values reported in clinical literature for the analyte.
 */
static const struct analyte analytes[] = {
	/* Total calcium: critical values ~6 and ~14 mg/dL; 2-20 keeps
	 * severe hypo/hypercalcaemia and rejects mmol/L sent as mg/dL
	 * (2.4) only when far outside. */
	{ INPUT_CALCIUM, "mg/dL", 2, 20, {
	    { "mg/dL", { "mg/dl", NULL }, 1 },
	    { "mmol/L", { "mmol/l", NULL }, 4.008 },
	} },
	/* Ionised calcium is kept apart (CLINICAL.md), canonical mmol/L. */
	{ INPUT_CALCIUM_ION, "mmol/L", 0.3, 3.5, {
	    { "mmol/L", { "mmol/l", NULL }, 1 },
	    { "mg/dL", { "mg/dl", NULL }, 1 / 4.008 },
	} },
	/* Phosphate: dialysis patients reach 15+ mg/dL untreated. */
	{ INPUT_PHOSPHATE, "mg/dL", 0.3, 25, {
	    { "mg/dL", { "mg/dl", NULL }, 1 },
	    { "mmol/L", { "mmol/l", NULL }, 3.097 },
	} },
	/* Intact PTH: tertiary hyperparathyroidism exceeds 3000 pg/mL. */
	{ INPUT_PTH, "pg/mL", 0, 10000, {
	    { "pg/mL", { "pg/ml", NULL }, 1 },
	    { "ng/L", { "ng/l", NULL }, 1 },
	    { "pmol/L", { "pmol/l", NULL }, 9.425 },
	} },
	/* Albumin: below 0.5 or above 7 g/dL is not a serum value. */
	{ INPUT_ALBUMIN, "g/dL", 0.5, 7, {
	    { "g/dL", { "g/dl", NULL }, 1 },
	    { "g/L", { "g/l", NULL }, 0.1 },
	} },
	/* ALP: Paget disease and cholestasis reach several thousand U/L. */
	{ INPUT_ALP, "U/L", 1, 10000, {
	    { "U/L", { "u/l", "iu/l", "units/l", NULL }, 1 },
	    { "[IU]/L", { "[iu]/l", NULL }, 1 },
	    { "IU/L", { NULL }, 1 },
	} },
	/* 25-OH vitamin D: toxicity above 150 ng/mL, cases up to ~400. */
	{ INPUT_VITD25, "ng/mL", 0, 400, {
	    { "ng/mL", { "ng/ml", "ug/l", "µg/l", NULL }, 1 },
	    { "ug/L", { NULL }, 1 },
	    { "nmol/L", { "nmol/l", NULL }, 1 / 2.496 },
	} },
	{ INPUT_VITD125, "pg/mL", 0, 1000, {
	    { "pg/mL", { "pg/ml", "ng/l", NULL }, 1 },
	    { "ng/L", { NULL }, 1 },
	    { "pmol/L", { "pmol/l", NULL }, 1 / 2.400 },
	} },
	/* HbA1c in percent (NGSP); IFCC mmol/mol is not in CLINICAL.md and
	 * is therefore not converted. */
	{ INPUT_HBA1C, "%", 2, 25, {
	    { "%", { "%", "percent", NULL }, 1 },
	} },
	{ INPUT_CHOLESTEROL, "mg/dL", 20, 2000, {
	    { "mg/dL", { "mg/dl", NULL }, 1 },
	    { "mmol/L", { "mmol/l", NULL }, 1 / 0.02586 },
	} },
	{ INPUT_LDL, "mg/dL", 0, 1500, {
	    { "mg/dL", { "mg/dl", NULL }, 1 },
	    { "mmol/L", { "mmol/l", NULL }, 1 / 0.02586 },
	} },
	{ INPUT_HDL, "mg/dL", 0, 300, {
	    { "mg/dL", { "mg/dl", NULL }, 1 },
	    { "mmol/L", { "mmol/l", NULL }, 1 / 0.02586 },
	} },
	{ INPUT_TRIGLYCERIDES, "mg/dL", 0, 20000, {
	    { "mg/dL", { "mg/dl", NULL }, 1 },
	    { "mmol/L", { "mmol/l", NULL }, 1 / 0.01129 },
	} },
	/* Homocysteine: homocystinuria reaches 200+ umol/L. */
	{ INPUT_HOMOCYSTEINE, "µmol/L", 0, 500, {
	    { "umol/L", { "umol/l", "µmol/l", "μmol/l", "micromol/l", NULL },
	      1 },
	} },
	{ INPUT_BMI, "kg/m2", 8, 150, {
	    { "kg/m2", { "kg/m2", "kg/m^2", "kg/m²", NULL }, 1 },
	} },
	{ INPUT_WEIGHT, "kg", 0.3, 700, {
	    { "kg", { "kg", "kilogram", "kilograms", NULL }, 1 },
	    { "g", { "g", NULL }, 0.001 },
	    { "[lb_av]", { "lb", "lbs", NULL }, 0.45359237 },
	} },
	{ INPUT_HEIGHT, "cm", 20, 280, {
	    { "cm", { "cm", NULL }, 1 },
	    { "m", { "m", NULL }, 100 },
	    { "[in_i]", { "in", "inch", "inches", NULL }, 2.54 },
	} },
	{ INPUT_SYSTOLIC, "mm[Hg]", 30, 350, {
	    { "mm[Hg]", { "mmhg", "mm hg", "mm[hg]", NULL }, 1 },
	} },
	{ INPUT_DIASTOLIC, "mm[Hg]", 10, 250, {
	    { "mm[Hg]", { "mmhg", "mm hg", "mm[hg]", NULL }, 1 },
	} },
};

static const struct analyte *
find(enum input in)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(analytes); i++)
		if (analytes[i].in == in)
			return &analytes[i];
	return NULL;
}

static const struct conv *
by_code(const struct analyte *a, const char *code)
{
	int i;

	for (i = 0; i < 6 && a->conv[i].ucum != NULL; i++)
		if (strcmp(a->conv[i].ucum, code) == 0)
			return &a->conv[i];
	return NULL;
}

static const struct conv *
by_text(const struct analyte *a, const char *text)
{
	char t[32];
	size_t n;
	int c, k;

	/* Trim blanks around the text; compare case-insensitively. */
	while (*text == ' ')
		text++;
	n = strlen(text);
	while (n > 0 && text[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof(t))
		return NULL;
	memcpy(t, text, n);
	t[n] = '\0';
	for (c = 0; c < 6 && a->conv[c].ucum != NULL; c++) {
		if (strcmp(a->conv[c].ucum, t) == 0)
			return &a->conv[c];
		for (k = 0; k < 6 && a->conv[c].texts[k] != NULL; k++)
			if (util_streq_nocase(a->conv[c].texts[k], t))
				return &a->conv[c];
	}
	return NULL;
}

int
units_to_canonical(enum input in, double value, const char *system,
    const char *code, const char *unit, double *out)
{
	const struct analyte *a = find(in);
	const struct conv *c = NULL;

	if (a == NULL)
		return UNITS_UNKNOWN;
	/* A code means something only in UCUM (or when no system is said). */
	if (code != NULL && (system == NULL ||
	    strcmp(system, UNITS_UCUM_SYSTEM) == 0))
		c = by_code(a, code);
	if (c == NULL && unit != NULL)
		c = by_text(a, unit);
	if (c == NULL)
		return UNITS_UNKNOWN;
	*out = value * c->mul;
	return UNITS_OK;
}

int
units_convert_ucum(enum input in, double value, const char *ucum, double *out)
{
	const struct analyte *a = find(in);
	const struct conv *c;

	if (a == NULL) {
		/* Inputs without units (flags, derived): only "1" or "". */
		if (ucum == NULL || *ucum == '\0' || strcmp(ucum, "1") == 0 ||
		    strcmp(ucum, input_unit(in)) == 0) {
			*out = value;
			return UNITS_OK;
		}
		return UNITS_UNKNOWN;
	}
	if ((c = by_code(a, ucum)) == NULL)
		return UNITS_UNKNOWN;
	*out = value * c->mul;
	return UNITS_OK;
}

bool
units_plausible(enum input in, double v, double *lo, double *hi)
{
	const struct analyte *a = find(in);

	if (a == NULL)
		return true;
	if (lo != NULL)
		*lo = a->lo;
	if (hi != NULL)
		*hi = a->hi;
	return v >= a->lo && v <= a->hi;
}

const char *
units_display(enum input in)
{
	const struct analyte *a = find(in);

	return a != NULL ? a->display : input_unit(in);
}
