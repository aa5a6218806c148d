/*
 * units.h - UCUM conversion of a measured value into its model input's
 * canonical unit (inputs.h), with the exact factors of CLINICAL.md "Units",
 * and physiological bounds per input.  Pure: no I/O, no allocation.
 *
 * Rules (CLINICAL.md): match valueQuantity.code when system is
 * http://unitsofmeasure.org (or when system is absent), then the unit text.
 * A unit that is not known for the input is never guessed: the caller
 * stores the observation, does not use it, and counts it.
 */
#ifndef CALCIFY_UNITS_H
#define CALCIFY_UNITS_H

#include <stdbool.h>

#include "inputs.h"

#define UNITS_UCUM_SYSTEM	"http://unitsofmeasure.org"

enum units_status {
	UNITS_OK = 0,
	UNITS_UNKNOWN = -1,	/* unit not recognised for this input */
};

/*
 * Convert value into input's canonical unit.  system, code and unit are
 * valueQuantity.system/.code/.unit and may each be NULL.  For inputs whose
 * canonical unit is dimensionless (%) a missing unit is accepted only where
 * CLINICAL.md allows it.  Returns UNITS_OK and writes *out, or
 * UNITS_UNKNOWN and leaves *out alone.
 */
int	units_to_canonical(enum input, double value, const char *system,
	    const char *code, const char *unit, double *out);

/* Convert a value stated with a UCUM code (the model file states
 * thresholds in the literature's unit, e.g. LDL in mmol/L). */
int	units_convert_ucum(enum input, double value, const char *ucum,
	    double *out);

/*
 * Physiological plausibility in canonical units: true when v lies inside
 * the input's bounds (or the input has none).  lo and hi, when non-NULL,
 * receive the bounds.  Values outside are answered with 422, never used.
 */
bool	units_plausible(enum input, double v, double *lo, double *hi);

/* The canonical unit as display text ("mg/dL", "µmol/L"); never NULL. */
const char *units_display(enum input);

#endif
