/*
 * jsonw.h - a streaming JSON writer into a struct buf.  Used on hot paths
 * (responses, RiskAssessment) where building a jansson tree per node would
 * cost an allocation each.  It tracks nesting to place commas; it does not
 * validate that keys are only used inside objects beyond an assert.
 *
 * Numbers: jsonw_double() writes the shortest text that round-trips
 * ("%.17g" trimmed), jsonw_fixed() a fixed number of decimals.  Non-finite
 * values are a caller bug (asserted).
 */
#ifndef CALCIFY_JSONW_H
#define CALCIFY_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define JSONW_MAX_DEPTH	32

struct jsonw {
	struct buf	*jw_buf;	/* borrowed */
	int		 jw_depth;
	bool		 jw_first[JSONW_MAX_DEPTH];
	bool		 jw_after_key;
};

void	jsonw_init(struct jsonw *, struct buf *);
void	jsonw_obj_open(struct jsonw *);
void	jsonw_obj_close(struct jsonw *);
void	jsonw_arr_open(struct jsonw *);
void	jsonw_arr_close(struct jsonw *);
void	jsonw_key(struct jsonw *, const char *);
void	jsonw_str(struct jsonw *, const char *);
void	jsonw_strn(struct jsonw *, const char *, size_t);
void	jsonw_int(struct jsonw *, long long);
void	jsonw_double(struct jsonw *, double);
void	jsonw_fixed(struct jsonw *, double, int decimals);
void	jsonw_bool(struct jsonw *, bool);
void	jsonw_null(struct jsonw *);
/* Insert already-serialised JSON text as one value (trusted input). */
void	jsonw_raw(struct jsonw *, const char *, size_t);

/* key + value shorthands */
void	jsonw_kstr(struct jsonw *, const char *, const char *);
void	jsonw_kint(struct jsonw *, const char *, long long);
void	jsonw_kbool(struct jsonw *, const char *, bool);

/* Append s JSON-escaped (without quotes) to b. */
void	jsonw_escape(struct buf *, const char *, size_t);

#endif
