/*
 * engine_fixture.h - shared by test_engine and test_assessment: the model
 * as shipped (conf/model.json), a fixed assessment time, fact builders and
 * the golden vignettes (tests/data/vignettes/vignettes.json).
 */
#ifndef CALCIFY_ENGINE_FIXTURE_H
#define CALCIFY_ENGINE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "facts.h"
#include "model.h"

#define FX_DAY_MS	86400000LL
/* 2025-06-01T00:00:00Z, the time every fixture patient is assessed at. */
#define FX_AT		1748736000000LL

/* A path under the source tree ($top_srcdir or "."); caller frees. */
char	*fx_srcpath(const char *rel);
/* conf/model.json, loaded (fails the test when it does not load). */
struct model *fx_model(void);
/* cmocka group setup and teardown holding conf/model.json in fx_m. */
extern struct model *fx_m;
int	fx_setup(void **);
int	fx_teardown(void **);

/* Set a lab/vital measured days_ago before FX_AT (canonical units). */
void	fx_lab(struct facts *, enum input, double value, int days_ago);
/* Set a diagnosis/medicine flag recorded days_ago before FX_AT. */
void	fx_flag(struct facts *, enum input, int days_ago);
/* Set sex (INPUT_SEX_*) and birth date ("YYYY-MM-DD"). */
void	fx_person(struct facts *, int sex, const char *birth_date);

struct fx_expect {
	char	band[2][16];		/* cutaneous, vascular */
	double	percent[2];
	bool	final;
};

struct fx_vignette {
	char			*v_name;
	char			*v_why;
	struct facts		 v_facts;
	struct fx_expect	 v_expect;
};

/* Load all vignettes; returns their number, *out owned by the caller
 * (free with fx_vignettes_free).  Fails the test on a malformed file. */
int	fx_vignettes_load(struct fx_vignette **out);
void	fx_vignettes_free(struct fx_vignette *, int);

#endif
