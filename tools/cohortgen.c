/*
 * cohortgen.c - calcify-cohortgen: synthetic dialysis patients as FHIR R4
 * for load tests and the benchmark.
 *
 * Each patient is drawn from its own seeded generator (seed and patient
 * number), so any range of a cohort is reproducible on its own and the same
 * arguments give the same bytes on every platform.  Distributions follow
 * typical haemodialysis populations (DOPPS-like): calcium ~ N(9.2, 0.7)
 * mg/dL, phosphate ~ N(5.5, 1.6), PTH log-normal with median 300 pg/mL,
 * albumin ~ N(3.7, 0.45) g/dL, ALP log-normal with median 100 U/L; values
 * are clamped inside calcifyd's physiological bounds.  Output is written
 * with a buffered writer, not JSON trees, to stay fast for a million
 * patients.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

enum format { F_BUNDLE, F_BATCH, F_NDJSON };

struct opts {
	long long	 n, start;
	uint64_t	 seed;
	enum format	 format;
	const char	*out;		/* directory, or "-" */
	double		 si;		/* fraction of patients in SI units */
	int64_t		 as_of_days;	/* days since epoch */
	bool		 labs_only;	/* Patient, ESRD and four labs */
	bool		 core_only;	/* Patient, calcium and phosphate */
};

/* --- random numbers: splitmix64 seeding xoshiro256** ------------------- */

struct rng {
	uint64_t	s[4];
};

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t patient)
{
	uint64_t x = seed ^ (patient * 0xd1342543de82ef95ULL);
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
next64(struct rng *r)
{
	uint64_t res = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return res;
}

/* Uniform in [0, 1) with 53 bits. */
static double
uni(struct rng *r)
{
	return (double)(next64(r) >> 11) * 0x1.0p-53;
}

static bool
chance(struct rng *r, double p)
{
	return uni(r) < p;
}

/* Standard normal by Box-Muller (one of the pair; determinism matters
 * more than speed here). */
static double
normal(struct rng *r, double mean, double sd)
{
	double u1 = uni(r), u2 = uni(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return mean + sd * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double
clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* --- output ------------------------------------------------------------- */

static void
date_text(int64_t days, char *out, size_t n)
{
	int64_t y;
	unsigned m, d;

	util_civil_from_days(days, &y, &m, &d);
	snprintf(out, n, "%04lld-%02u-%02u", (long long)y, m, d);
}

struct gen {
	struct buf	*b;
	bool		 bundle;	/* entries with request, else ndjson */
	bool		 first;
};

/* Start one resource: as a Bundle entry (PUT type/id) or an NDJSON line. */
static void
res_open(struct gen *g, const char *type, const char *id)
{
	if (g->bundle) {
		if (!g->first)
			buf_putc(g->b, ',');
		g->first = false;
		buf_printf(g->b, "{\"request\":{\"method\":\"PUT\","
		    "\"url\":\"%s/%s\"},\"resource\":", type, id);
	}
	buf_printf(g->b, "{\"resourceType\":\"%s\",\"id\":\"%s\"", type, id);
}

static void
res_close(struct gen *g)
{
	buf_puts(g->b, g->bundle ? "}}" : "}\n");
}

static void
subject(struct gen *g, long long n)
{
	buf_printf(g->b, ",\"subject\":{\"reference\":\"Patient/cohort-%lld\"}",
	    n);
}

static void
observation(struct gen *g, long long n, const char *kind, const char *loinc,
    const char *display, double v, int decimals, const char *ucum,
    int64_t day, int minute)
{
	char id[96], date[16];

	snprintf(id, sizeof(id), "cohort-%lld-%s", n, kind);
	date_text(day, date, sizeof(date));
	res_open(g, "Observation", id);
	buf_printf(g->b, ",\"status\":\"final\",\"category\":[{\"coding\":[{"
	    "\"system\":\"http://terminology.hl7.org/CodeSystem/observation-"
	    "category\",\"code\":\"laboratory\"}]}],\"code\":{\"coding\":[{"
	    "\"system\":\"http://loinc.org\",\"code\":\"%s\",\"display\":"
	    "\"%s\"}]}", loinc, display);
	subject(g, n);
	buf_printf(g->b, ",\"effectiveDateTime\":\"%sT%02d:%02d:00Z\","
	    "\"valueQuantity\":{\"value\":%.*f,\"unit\":\"%s\",\"system\":"
	    "\"http://unitsofmeasure.org\",\"code\":\"%s\"}", date,
	    7 + minute / 60 % 10, minute % 60, decimals, v, ucum, ucum);
	res_close(g);
}

static void
condition(struct gen *g, long long n, const char *kind, const char *code,
    const char *display, int64_t onset)
{
	char id[96], date[16];

	snprintf(id, sizeof(id), "cohort-%lld-%s", n, kind);
	date_text(onset, date, sizeof(date));
	res_open(g, "Condition", id);
	buf_printf(g->b, ",\"clinicalStatus\":{\"coding\":[{\"system\":"
	    "\"http://terminology.hl7.org/CodeSystem/condition-clinical\","
	    "\"code\":\"active\"}]},\"verificationStatus\":{\"coding\":[{"
	    "\"system\":\"http://terminology.hl7.org/CodeSystem/condition-ver-"
	    "status\",\"code\":\"confirmed\"}]},\"code\":{\"coding\":[{"
	    "\"system\":\"http://snomed.info/sct\",\"code\":\"%s\","
	    "\"display\":\"%s\"}]}", code, display);
	subject(g, n);
	buf_printf(g->b, ",\"onsetDateTime\":\"%s\"", date);
	res_close(g);
}

static void
medication(struct gen *g, long long n, const char *kind, const char *text,
    double dose_mg, int per_day, int64_t start)
{
	char id[96], date[16];

	snprintf(id, sizeof(id), "cohort-%lld-%s", n, kind);
	date_text(start, date, sizeof(date));
	res_open(g, "MedicationStatement", id);
	buf_printf(g->b, ",\"status\":\"active\",\"medicationCodeableConcept\""
	    ":{\"text\":\"%s\"}", text);
	subject(g, n);
	buf_printf(g->b, ",\"effectiveDateTime\":\"%s\"", date);
	if (dose_mg > 0)
		buf_printf(g->b, ",\"dosage\":[{\"timing\":{\"repeat\":{"
		    "\"frequency\":%d,\"period\":1,\"periodUnit\":\"d\"}},"
		    "\"doseAndRate\":[{\"doseQuantity\":{\"value\":%g,"
		    "\"unit\":\"mg\",\"system\":\"http://unitsofmeasure.org\","
		    "\"code\":\"mg\"}}]}]", per_day, dose_mg);
	res_close(g);
}

/* One patient's resources, appended to g. */
static void
patient(struct gen *g, const struct opts *o, long long n)
{
	struct rng r;
	int64_t as_of = o->as_of_days, birth, start, day;
	double age, vintage, v;
	char id[64], date[16];
	bool male, si, diabetic;

	rng_seed(&r, o->seed, (uint64_t)n);
	male = chance(&r, 0.58);
	/* Ages 25-90, skewed older as in dialysis registries. */
	age = 25 + 65 * (1 - pow(1 - uni(&r), 1.8));
	birth = as_of - (int64_t)(age * 365.25);
	/* Vintage: exponential with mean 4 years, 0.1-20. */
	vintage = clamp(-4.0 * log(1 - uni(&r)), 0.1, 20);
	start = as_of - (int64_t)(vintage * 365.25);
	si = chance(&r, o->si);
	diabetic = chance(&r, 0.45);

	snprintf(id, sizeof(id), "cohort-%lld", n);
	date_text(birth, date, sizeof(date));
	res_open(g, "Patient", id);
	buf_printf(g->b, ",\"identifier\":[{\"system\":\"urn:calcify:cohort\","
	    "\"value\":\"%lld\"}],\"gender\":\"%s\",\"birthDate\":\"%s\"", n,
	    male ? "male" : "female", date);
	res_close(g);
	if (o->core_only)
		goto labs;
	condition(g, n, "esrd", "46177005", "End-stage renal disease",
	    start - (int64_t)(uni(&r) * 180));
	if (o->labs_only)
		goto labs;
	{
		char pid[96], pdate[16];

		snprintf(pid, sizeof(pid), "cohort-%lld-hd", n);
		date_text(start, pdate, sizeof(pdate));
		res_open(g, "Procedure", pid);
		buf_printf(g->b, ",\"status\":\"completed\",\"code\":{\"coding\":"
		    "[{\"system\":\"http://snomed.info/sct\",\"code\":"
		    "\"302497006\",\"display\":\"Hemodialysis\"}]}");
		subject(g, n);
		buf_printf(g->b, ",\"performedDateTime\":\"%s\"", pdate);
		res_close(g);
	}
	if (diabetic)
		condition(g, n, "dm", "44054006", "Diabetes mellitus type 2",
		    birth + (int64_t)(uni(&r) * (double)(start - birth)));
	if (chance(&r, 0.80))
		condition(g, n, "htn", "38341003", "Hypertensive disorder",
		    start - (int64_t)(uni(&r) * 3000));
	if (chance(&r, 0.20))
		condition(g, n, "pvd", "400047006", "Peripheral vascular disease",
		    start + (int64_t)(uni(&r) * (double)(as_of - start)));

labs:
	/* Labs within 60 days before as-of. */
	day = as_of - (int64_t)(uni(&r) * 60);
	v = clamp(normal(&r, 9.2, 0.7), 6.0, 14.0);
	if (si)
		observation(g, n, "ca", "2000-8", "Calcium [Moles/volume] in "
		    "Serum or Plasma", v / 4.008, 2, "mmol/L", day, 0);
	else
		observation(g, n, "ca", "17861-6", "Calcium [Mass/volume] in "
		    "Serum or Plasma", v, 1, "mg/dL", day, 0);
	v = clamp(normal(&r, 5.5, 1.6), 1.5, 14.0);
	if (si)
		observation(g, n, "p", "14879-1", "Phosphate [Moles/volume] in "
		    "Serum or Plasma", v / 3.097, 2, "mmol/L", day, 1);
	else
		observation(g, n, "p", "2777-1", "Phosphate [Mass/volume] in "
		    "Serum or Plasma", v, 1, "mg/dL", day, 1);
	if (o->core_only)
		return;
	v = clamp(300 * exp(normal(&r, 0, 0.8)), 10, 4000);
	if (si)
		observation(g, n, "pth", "14866-8", "Parathyrin.intact "
		    "[Moles/volume] in Serum or Plasma", v / 9.425, 1, "pmol/L",
		    day, 2);
	else
		observation(g, n, "pth", "2731-8", "Parathyrin.intact "
		    "[Mass/volume] in Serum or Plasma", v, 0, "pg/mL", day, 2);
	v = clamp(normal(&r, 3.7, 0.45), 1.5, 5.2);
	if (si)
		observation(g, n, "alb", "1751-7", "Albumin [Mass/volume] in "
		    "Serum or Plasma", v * 10, 0, "g/L", day, 3);
	else
		observation(g, n, "alb", "1751-7", "Albumin [Mass/volume] in "
		    "Serum or Plasma", v, 1, "g/dL", day, 3);
	if (o->labs_only)
		return;
	observation(g, n, "alp", "6768-6", "Alkaline phosphatase [Enzymatic "
	    "activity/volume] in Serum or Plasma",
	    clamp(100 * exp(normal(&r, 0, 0.5)), 30, 1500), 0, "U/L", day, 4);
	if (chance(&r, 0.60))
		observation(g, n, "ldl", "18262-6", "Cholesterol in LDL "
		    "[Mass/volume] in Serum or Plasma by Direct assay",
		    clamp(normal(&r, 95, 30), 30, 250), 0, "mg/dL", day, 5);
	if (chance(&r, 0.80))
		observation(g, n, "bmi", "39156-5", "Body mass index (BMI) "
		    "[Ratio]", clamp(normal(&r, 27, 6), 15, 60), 1, "kg/m2",
		    day, 6);
	if (diabetic)
		observation(g, n, "a1c", "4548-4", "Hemoglobin A1c/Hemoglobin."
		    "total in Blood", clamp(normal(&r, 7.2, 1.1), 4.5, 14), 1,
		    "%", day, 7);
	if (chance(&r, 0.70)) {
		char bid[96], bdate[16];

		snprintf(bid, sizeof(bid), "cohort-%lld-bp", n);
		date_text(day, bdate, sizeof(bdate));
		res_open(g, "Observation", bid);
		buf_printf(g->b, ",\"status\":\"final\",\"code\":{\"coding\":[{"
		    "\"system\":\"http://loinc.org\",\"code\":\"85354-9\","
		    "\"display\":\"Blood pressure panel\"}]}");
		subject(g, n);
		buf_printf(g->b, ",\"effectiveDateTime\":\"%sT07:30:00Z\","
		    "\"component\":[{\"code\":{\"coding\":[{\"system\":"
		    "\"http://loinc.org\",\"code\":\"8480-6\"}]},"
		    "\"valueQuantity\":{\"value\":%.0f,\"unit\":\"mmHg\","
		    "\"system\":\"http://unitsofmeasure.org\",\"code\":"
		    "\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":"
		    "\"http://loinc.org\",\"code\":\"8462-4\"}]},"
		    "\"valueQuantity\":{\"value\":%.0f,\"unit\":\"mmHg\","
		    "\"system\":\"http://unitsofmeasure.org\",\"code\":"
		    "\"mm[Hg]\"}}]", bdate, clamp(normal(&r, 140, 20), 80, 220),
		    clamp(normal(&r, 78, 12), 40, 130));
		res_close(g);
	}
	/* Medications (KDOQI binders with a stated dose). */
	if (chance(&r, 0.30))
		medication(g, n, "caco3", "Calcium carbonate 1250 MG Oral "
		    "Tablet", chance(&r, 0.5) ? 1250 : 500, 3, start);
	if (chance(&r, 0.40))
		medication(g, n, "calcitriol", "Calcitriol 0.25 MCG Oral "
		    "Capsule", 0, 0, start);
	if (chance(&r, 0.08))
		medication(g, n, "warfarin", "Warfarin Sodium 5 MG Oral Tablet",
		    0, 0, as_of - 400);
	if (chance(&r, 0.20))
		medication(g, n, "cinacalcet", "Cinacalcet 30 MG Oral Tablet", 0,
		    0, as_of - 200);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: calcify-cohortgen -n N [--seed S] [--start K] [--format bundle|batch|ndjson]\n"
"                         [--out DIR|-] [--si-fraction F] [--as-of YYYY-MM-DD]\n"
"                         [--profile full|labs|core]\n"
"\n"
"Writes N synthetic dialysis patients as FHIR R4: one batch Bundle per\n"
"patient (bundle), per 100 patients (batch), or one resource a line\n"
"(ndjson).  With --out DIR files go into DIR; with --out - (default) to\n"
"standard output, one Bundle a line.  The same arguments give the same\n"
"bytes; patient numbers start at K (default 1).  --profile labs writes only\n"
"the Patient, the ESRD diagnosis and four labs (scale tests); --profile core\n"
"only the Patient, calcium and phosphate (the million-patient benchmark).\n");
}

static int
flush_to(FILE *fp, struct buf *b)
{
	if (b->b_len > 0 && fwrite(b->b_data, 1, b->b_len, fp) != b->b_len)
		return -1;
	buf_reset(b);
	return 0;
}

static FILE *
open_out(const struct opts *o, long long first, const char *ext)
{
	char path[4096];

	if (strcmp(o->out, "-") == 0)
		return stdout;
	snprintf(path, sizeof(path), "%s/cohort-%08lld.%s", o->out, first,
	    ext);
	return fopen(path, "w");
}

static int
run(const struct opts *o)
{
	struct gen g;
	struct buf b;
	long long i, end = o->start + o->n, group;
	FILE *fp = NULL;
	int rc = 0;

	buf_init(&b);
	g.b = &b;
	if (strcmp(o->out, "-") != 0 && mkdir(o->out, 0755) == -1 &&
	    errno != EEXIST) {
		fprintf(stderr, "calcify-cohortgen: %s: %s\n", o->out,
		    strerror(errno));
		return 1;
	}
	if (o->format == F_NDJSON) {
		g.bundle = false;
		if ((fp = open_out(o, o->start, "ndjson")) == NULL)
			goto io;
		for (i = o->start; i < end; i++) {
			patient(&g, o, i);
			if (b.b_len > (1 << 20) && flush_to(fp, &b) == -1)
				goto io;
		}
		if (flush_to(fp, &b) == -1)
			goto io;
		goto out;
	}
	group = o->format == F_BATCH ? 100 : 1;
	g.bundle = true;
	for (i = o->start; i < end; i += group) {
		long long k;

		if (fp == NULL || fp != stdout) {
			if (fp != NULL && fclose(fp) != 0) {
				fp = NULL;
				goto io;
			}
			if ((fp = open_out(o, i, "json")) == NULL)
				goto io;
		}
		buf_puts(&b, "{\"resourceType\":\"Bundle\",\"type\":\"batch\","
		    "\"entry\":[");
		g.first = true;
		for (k = i; k < i + group && k < end; k++)
			patient(&g, o, k);
		buf_puts(&b, "]}\n");
		if (flush_to(fp, &b) == -1)
			goto io;
	}
	goto out;
io:
	fprintf(stderr, "calcify-cohortgen: write failed: %s\n",
	    strerror(errno));
	rc = 1;
out:
	if (fp != NULL && fp != stdout && fclose(fp) != 0 && rc == 0) {
		fprintf(stderr, "calcify-cohortgen: close failed: %s\n",
		    strerror(errno));
		rc = 1;
	}
	if (fp == stdout && fflush(stdout) != 0)
		rc = 1;
	buf_free(&b);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "start", required_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "si-fraction", required_argument, NULL, 'S' },
		{ "as-of", required_argument, NULL, 'a' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0, 1, 42, F_BUNDLE, "-", 0.3, 0, false, false };
	long long v;
	int64_t ms;
	int ch;

	if (util_parse_fhir_time("2026-11-20", UTIL_TIME_DATE, &ms, NULL) == 0)
		o.as_of_days = ms / 86400000;
	while ((ch = getopt_long(argc, argv, "n:s:k:f:o:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (util_parse_ll(optarg, 1, 100000000LL, &o.n) == -1)
				goto bad;
			break;
		case 's':
			if (util_parse_ll(optarg, 0, INT64_MAX, &v) == -1)
				goto bad;
			o.seed = (uint64_t)v;
			break;
		case 'k':
			if (util_parse_ll(optarg, 0, 1000000000000LL,
			    &o.start) == -1)
				goto bad;
			break;
		case 'f':
			if (strcmp(optarg, "bundle") == 0)
				o.format = F_BUNDLE;
			else if (strcmp(optarg, "batch") == 0)
				o.format = F_BATCH;
			else if (strcmp(optarg, "ndjson") == 0)
				o.format = F_NDJSON;
			else
				goto bad;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'S':
			if (util_parse_double(optarg, 0, 1, &o.si) == -1)
				goto bad;
			break;
		case 'a':
			if (util_parse_fhir_time(optarg, UTIL_TIME_DATE, &ms,
			    NULL) == -1)
				goto bad;
			o.as_of_days = ms / 86400000;
			break;
		case 'p':
			if (strcmp(optarg, "labs") == 0)
				o.labs_only = true;
			else if (strcmp(optarg, "core") == 0)
				o.core_only = true;
			else if (strcmp(optarg, "full") != 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (o.n == 0 || optind != argc)
		goto bad;
	return run(&o);
bad:
	usage(stderr);
	return 2;
}
