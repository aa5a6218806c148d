/*
 * util.h - small helpers shared by every module: allocation wrappers that
 * never return NULL, a growable byte buffer, range-checked number parsing
 * and FHIR/HTTP time handling.  Nothing here knows about FHIR resources,
 * the store or the network.
 */
#ifndef CALCIFY_UTIL_H
#define CALCIFY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define UTIL_MIN(a, b)		((a) < (b) ? (a) : (b))
#define UTIL_MAX(a, b)		((a) > (b) ? (a) : (b))

/*
 * Allocation wrappers.  They abort the process with a log line when memory
 * is exhausted; this never loses acknowledged data because a 2xx is sent
 * only after COMMIT.  Tests may set util_alloc_fail_countdown to make the
 * Nth following allocation fail (see util_alloc_should_fail); the wrappers
 * then abort, while the *_try variants return NULL so callers that can
 * degrade gracefully (the parser) are exercised.
 */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
void	*util_malloc_try(size_t);
void	*util_realloc_try(void *, size_t);
void	 util_free_try(void *);

/* Fault injection: when > 0, decremented per *_try allocation; at 1 the
 * allocation fails.  0 disables.  Not thread-safe: tests only. */
extern long util_alloc_fail_countdown;

/*
 * struct buf: a growable, always NUL-terminated byte buffer.  The caller
 * owns b_data after buf_steal(); buf_free() releases it otherwise.
 */
struct buf {
	char	*b_data;
	size_t	 b_len;
	size_t	 b_cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_puts(struct buf *, const char *);
void	 buf_putc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_vprintf(struct buf *, const char *, va_list);
/* Returns the data (owned by the caller, never NULL) and resets the buffer. */
char	*buf_steal(struct buf *, size_t *);

/*
 * Parse a whole string as a base-10 integer within [min, max].  Returns 0
 * and writes *out on success; -1 on syntax error or range violation.
 */
int	 util_parse_ll(const char *, long long, long long, long long *);
/* Parse a whole string as a finite double within [min, max]. */
int	 util_parse_double(const char *, double, double, double *);
/* Parse a byte size with optional k/M/G suffix (powers of 1024). */
int	 util_parse_size(const char *, uint64_t, uint64_t, uint64_t *);
/* Parse a duration with optional ms/s/m/h/d suffix into milliseconds. */
int	 util_parse_duration_ms(const char *, int64_t, int64_t, int64_t *);
/* Parse yes/no/true/false/on/off/1/0. */
int	 util_parse_bool(const char *, bool *);

/* Copy with truncation; always NUL-terminates when size > 0.  Returns
 * strlen(src) so truncation is detectable. */
size_t	 util_strlcpy(char *, const char *, size_t);
bool	 util_streq_nocase(const char *, const char *);
bool	 util_has_prefix(const char *, const char *);

/*
 * Time.  calcifyd keeps instants as int64 milliseconds since the Unix
 * epoch (UTC).  FHIR partial dates (YYYY, YYYY-MM, YYYY-MM-DD) map to the
 * start of the period in UTC.
 */
enum util_time_prec {
	UTIL_TIME_YEAR = 1,
	UTIL_TIME_MONTH,
	UTIL_TIME_DAY,
	UTIL_TIME_FULL,		/* date and time with a zone */
};

/*
 * Parse a FHIR dateTime, date or instant.  allow: bitmask of
 * UTIL_TIME_ALLOW_*.  A time must carry a zone (R4 dateTime regex).
 * Returns 0 and writes *ms (and *prec when non-NULL) on success; -1 if the
 * text breaks the R4 grammar or names an impossible date.
 */
#define UTIL_TIME_ALLOW_PARTIAL	0x1	/* YYYY and YYYY-MM */
#define UTIL_TIME_ALLOW_DATE	0x2	/* YYYY-MM-DD */
#define UTIL_TIME_ALLOW_TIME	0x4	/* full date-time with zone */
#define UTIL_TIME_DATETIME	0x7
#define UTIL_TIME_DATE		0x3
#define UTIL_TIME_INSTANT	0x4
int	 util_parse_fhir_time(const char *, unsigned, int64_t *,
	    enum util_time_prec *);
/* Format as YYYY-MM-DDThh:mm:ss[.sss]Z; out must hold 32 bytes. */
void	 util_format_instant(int64_t, char *, size_t);
/* Format as RFC 7231 IMF-fixdate; out must hold 32 bytes. */
void	 util_format_http_date(int64_t, char *, size_t);
/* Parse an RFC 7231 IMF-fixdate; returns -1 when malformed. */
int	 util_parse_http_date(const char *, int64_t *);
/* Days from civil date (proleptic Gregorian), and back. */
int64_t	 util_days_from_civil(int64_t, unsigned, unsigned);
void	 util_civil_from_days(int64_t, int64_t *, unsigned *, unsigned *);

int64_t	 util_now_ms(void);		/* CLOCK_REALTIME */
/* Name the calling thread (top -H, perf, /proc/PID/task/N/comm); at most
 * 15 characters. */
void	 util_thread_name(const char *);
int64_t	 util_mono_us(void);		/* CLOCK_MONOTONIC */

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void	 util_hex(const uint8_t *, size_t, char *);
/* Fill with cryptographically random bytes (getrandom); -1 on failure. */
int	 util_random(void *, size_t);

#endif
