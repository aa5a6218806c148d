/*
 * inputs.h - the model inputs calcifyd knows, as one table.  Terminology
 * maps codes to these names (conf/codes.tsv), units converts values into
 * each input's canonical unit, the store keeps one fact per (patient,
 * input), the model refers to inputs by name and the engine reads them.
 *
 * Source: ../shared/CLINICAL.md "Seed factors -> model inputs".  Adding an
 * input means adding a row here; names are part of the model file format
 * and of conf/codes.tsv, so they never change once released.
 *
 * Kinds say how the store folds several resources into one fact:
 *   LATEST    the used resource with the latest effective time wins; ties go
 *             to the later arrival (an amended result usually keeps the time)
 *   MEAN3     mean of the three latest used values (blood pressure)
 *   ANY       present while any used resource says so; eff = earliest onset
 *   EARLIEST  present when any used resource exists; eff = earliest start
 *             (dialysis vintage)
 *   SUM       sum of values over used resources (elemental calcium mg/day);
 *             FACT_VALUE_UNKNOWN when any contributor has no known dose
 *   DERIVED   computed by the engine from other inputs, never stored
 */
#ifndef CALCIFY_INPUTS_H
#define CALCIFY_INPUTS_H

#include <stdbool.h>

enum input_kind {
	INPUT_LATEST,
	INPUT_MEAN3,
	INPUT_ANY,
	INPUT_EARLIEST,
	INPUT_SUM,
	INPUT_DERIVED,
};

/* Default freshness in days (0: never stale).  The model file may override
 * per input (CLINICAL.md "Freshness and scope": labs 90 days, PTH 180).
 * Body measurements are not labs and change slowly in adults: BMI a year,
 * height ten years (unverified, configurable); weight and blood pressure
 * follow the labs. */

/* X(ENUM, "name", kind, "canonical UCUM unit", freshness days, "label") */
#define INPUT_LIST(X)							\
X(CALCIUM,	"calcium",	INPUT_LATEST, "mg/dL",	90, "total calcium") \
X(CALCIUM_ION,	"calcium_ionised", INPUT_LATEST, "mmol/L", 90, "ionised calcium") \
X(PHOSPHATE,	"phosphate",	INPUT_LATEST, "mg/dL",	90, "phosphate") \
X(PTH,		"pth",		INPUT_LATEST, "pg/mL", 180, "intact PTH") \
X(ALBUMIN,	"albumin",	INPUT_LATEST, "g/dL",	90, "albumin") \
X(ALP,		"alp",		INPUT_LATEST, "U/L",	90, "alkaline phosphatase") \
X(VITD25,	"vitd25",	INPUT_LATEST, "ng/mL", 90, "25-hydroxyvitamin D") \
X(VITD125,	"vitd125",	INPUT_LATEST, "pg/mL",	90, "1,25-dihydroxyvitamin D") \
X(HBA1C,	"hba1c",	INPUT_LATEST, "%",     90, "HbA1c") \
X(CHOLESTEROL,	"cholesterol",	INPUT_LATEST, "mg/dL", 90, "total cholesterol") \
X(LDL,		"ldl",		INPUT_LATEST, "mg/dL", 90, "LDL cholesterol") \
X(HDL,		"hdl",		INPUT_LATEST, "mg/dL", 90, "HDL cholesterol") \
X(TRIGLYCERIDES, "triglycerides", INPUT_LATEST, "mg/dL", 90, "triglycerides") \
X(HOMOCYSTEINE,	"homocysteine",	INPUT_LATEST, "umol/L", 90, "homocysteine") \
X(BMI,		"bmi",		INPUT_LATEST, "kg/m2", 365, "body mass index") \
X(WEIGHT,	"weight",	INPUT_LATEST, "kg",	90, "body weight") \
X(HEIGHT,	"height",	INPUT_LATEST, "cm",   3650, "body height") \
X(SYSTOLIC,	"systolic",	INPUT_MEAN3,  "mm[Hg]", 90, "systolic blood pressure") \
X(DIASTOLIC,	"diastolic",	INPUT_LATEST, "mm[Hg]", 90, "diastolic blood pressure") \
X(VASCULAR_DISEASE, "vascular_disease", INPUT_ANY, "", 0, "peripheral vascular disease") \
X(SHPT,		"shpt_condition", INPUT_ANY, "", 0, "secondary hyperparathyroidism (diagnosis)") \
X(DIABETES,	"diabetes_condition", INPUT_ANY, "", 0, "diabetes mellitus (diagnosis)") \
X(DYSLIPIDAEMIA, "dyslipidaemia_condition", INPUT_ANY, "", 0, "dyslipidaemia (diagnosis)") \
X(HYPERTENSION,	"hypertension_condition", INPUT_ANY, "", 0, "arterial hypertension (diagnosis)") \
X(HYPERHOMOCYSTEINAEMIA, "hyperhomocysteinaemia_condition", INPUT_ANY, "", 0, "hyperhomocysteinaemia (diagnosis)") \
X(MORBID_OBESITY, "morbid_obesity_condition", INPUT_ANY, "", 0, "morbid obesity (diagnosis)") \
X(HYPERVITAMINOSIS_D, "hypervitaminosis_d_condition", INPUT_ANY, "", 0, "hypervitaminosis D (diagnosis)") \
X(ESRD,		"esrd",		INPUT_EARLIEST, "", 0, "end-stage renal disease") \
X(DIALYSIS,	"dialysis",	INPUT_EARLIEST, "", 0, "dialysis") \
X(CA_BINDER,	"calcium_binder", INPUT_SUM, "mg/d", 0, "calcium-based phosphate binder (elemental calcium)") \
X(ACTIVE_VITD,	"active_vitamin_d", INPUT_ANY, "", 0, "active vitamin D therapy") \
X(VKA,		"vitamin_k_antagonist", INPUT_ANY, "", 0, "vitamin K antagonist (warfarin)") \
X(CALCIMIMETIC,	"calcimimetic",	INPUT_ANY, "", 0, "calcimimetic therapy") \
X(SEX,		"sex",		INPUT_LATEST, "", 0, "administrative sex") \
X(BIRTH_DATE,	"birth_date",	INPUT_LATEST, "d", 0, "birth date (days since 1970)") \
X(AGE,		"age",		INPUT_DERIVED, "a", 0, "age") \
X(VINTAGE,	"vintage",	INPUT_DERIVED, "a", 0, "time on dialysis") \
X(CALCIUM_ADJ,	"calcium_adj",	INPUT_DERIVED, "mg/dL", 0, "calcium (albumin-corrected when albumin is fresh)") \
X(CA_X_P,	"ca_x_p",	INPUT_DERIVED, "mg2/dL2", 0, "calcium x phosphate product") \
X(BMI_EFF,	"bmi_eff",	INPUT_DERIVED, "kg/m2", 0, "body mass index (measured or from weight and height)") \
X(SBP_MEAN,	"sbp_mean",	INPUT_DERIVED, "mm[Hg]", 0, "mean systolic blood pressure") \
X(FEMALE,	"female",	INPUT_DERIVED, "", 0, "female sex") \
X(MALE,		"male",		INPUT_DERIVED, "", 0, "male sex")

enum input {
#define INPUT_ENUM(e, name, kind, unit, fresh, label) INPUT_##e,
	INPUT_LIST(INPUT_ENUM)
#undef INPUT_ENUM
	INPUT_COUNT
};

/* Values of the SEX fact (FHIR AdministrativeGender). */
#define INPUT_SEX_UNKNOWN	0
#define INPUT_SEX_MALE		1
#define INPUT_SEX_FEMALE	2
#define INPUT_SEX_OTHER		3

/* Lookups over the table.  input_by_name returns -1 when unknown. */
int		 input_by_name(const char *);
const char	*input_name(enum input);
const char	*input_label(enum input);
enum input_kind	 input_kind(enum input);
const char	*input_unit(enum input);
int		 input_default_fresh_days(enum input);
/* True for inputs holding a measured number (labs and vitals). */
bool		 input_is_measurement(enum input);

#endif
