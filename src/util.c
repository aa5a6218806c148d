/*
 * util.c - allocation wrappers, growable buffers, bounded parsing of
 * numbers and times.  This file owns no state except the allocation fault
 * counter used by tests; it must not log except on fatal allocation
 * failure, and must not know about FHIR resources.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "util.h"

long util_alloc_fail_countdown;

static bool
alloc_should_fail(void)
{
	if (util_alloc_fail_countdown <= 0)
		return false;
	return --util_alloc_fail_countdown == 0;
}

static void
oom(size_t n)
{
	log_fatalx("out of memory allocating %zu bytes", n);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b, NULL);
}

void *
util_malloc_try(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *
util_realloc_try(void *old, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(old, n ? n : 1);
}

void
util_free_try(void *p)
{
	free(p);
}

/* --- buffers ---------------------------------------------------------- */

void
buf_init(struct buf *b)
{
	b->b_data = NULL;
	b->b_len = 0;
	b->b_cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->b_data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->b_len + extra + 1;
	size_t cap;

	if (need <= b->b_cap)
		return;
	cap = b->b_cap ? b->b_cap : 64;
	while (cap < need)
		cap *= 2;
	b->b_data = xrealloc(b->b_data, cap);
	b->b_cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->b_data + b->b_len, p, n);
	b->b_len += n;
	b->b_data[b->b_len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->b_data[b->b_len++] = c;
	b->b_data[b->b_len] = '\0';
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	buf_reserve(b, 64);
	va_copy(ap2, ap);
	n = vsnprintf(b->b_data + b->b_len, b->b_cap - b->b_len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		log_fatalx("vsnprintf failed on format %s", fmt);
	if ((size_t)n >= b->b_cap - b->b_len) {
		buf_reserve(b, (size_t)n);
		n = vsnprintf(b->b_data + b->b_len, b->b_cap - b->b_len,
		    fmt, ap);
	}
	b->b_len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *
buf_steal(struct buf *b, size_t *lenp)
{
	char *p;

	if (b->b_data == NULL) {
		/* Nothing written yet: still a string, "" not garbage. */
		buf_reserve(b, 0);
		b->b_data[0] = '\0';
	}
	p = b->b_data;
	if (lenp != NULL)
		*lenp = b->b_len;
	buf_init(b);
	return p;
}

/* --- numbers ---------------------------------------------------------- */

int
util_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char num[32], *end;
	unsigned long long v, mul = 1;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': mul = 1024ULL; num[--n] = '\0'; break;
	case 'm': case 'M': mul = 1024ULL * 1024; num[--n] = '\0'; break;
	case 'g': case 'G': mul = 1024ULL * 1024 * 1024; num[--n] = '\0'; break;
	default: break;
	}
	if (n == 0 || !isdigit((unsigned char)num[0]))
		return -1;
	errno = 0;
	v = strtoull(num, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT64_MAX / mul)
		return -1;
	v *= mul;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_duration_ms(const char *s, int64_t min, int64_t max, int64_t *out)
{
	static const struct {
		const char	*sfx;
		int64_t		 mul;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	char num[32], *end;
	long long v;
	int64_t mul = 1000;	/* bare numbers are seconds */
	size_t n, i, sl;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	for (i = 0; i < UTIL_ARRAY_LEN(units); i++) {
		sl = strlen(units[i].sfx);
		if (n > sl && strcmp(num + n - sl, units[i].sfx) == 0 &&
		    isdigit((unsigned char)num[n - sl - 1])) {
			mul = units[i].mul;
			num[n - sl] = '\0';
			break;
		}
	}
	if (!isdigit((unsigned char)num[0]))
		return -1;
	errno = 0;
	v = strtoll(num, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT64_MAX / mul)
		return -1;
	v *= mul;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(yes); i++) {
		if (util_streq_nocase(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (util_streq_nocase(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

bool
util_streq_nocase(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
	return *a == *b;
}

bool
util_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --- time ------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar over the whole int64 range we use. */
int64_t
util_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
util_civil_from_days(int64_t z, int64_t *yp, unsigned *mp, unsigned *dp)
{
	int64_t era, doe, yoe, y, doy, mp0;
	unsigned d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp0 = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp0 + 2) / 5 + 1);
	m = (unsigned)(mp0 < 10 ? mp0 + 3 : mp0 - 9);
	*yp = y + (m <= 2);
	*mp = m;
	*dp = d;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };

	return m == 2 && leap(y) ? 29 : md[m - 1];
}

/*
 * R4 dateTime: ([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)
 * (-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):
 * [0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]
 * |14:00)))?)?)?  A leap second (:60) is accepted and folded into :59.
 */
int
util_parse_fhir_time(const char *s, unsigned allow, int64_t *msp,
    enum util_time_prec *precp)
{
	int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0, zh, zm, sign;
	enum util_time_prec prec;
	const char *p = s;
	int64_t days, t;
	size_t len = strlen(s);

	if (len < 4 || digits(p, 4, &y) == -1 || y == 0)
		return -1;
	p += 4;
	prec = UTIL_TIME_YEAR;
	if (*p == '-') {
		if (digits(p + 1, 2, &mo) == -1 || mo < 1 || mo > 12)
			return -1;
		p += 3;
		prec = UTIL_TIME_MONTH;
		if (*p == '-') {
			if (digits(p + 1, 2, &d) == -1 || d < 1 ||
			    (unsigned)d > month_days(y, (unsigned)mo))
				return -1;
			p += 3;
			prec = UTIL_TIME_DAY;
			if (*p == 'T') {
				if (digits(p + 1, 2, &h) == -1 || h > 23 ||
				    p[3] != ':' ||
				    digits(p + 4, 2, &mi) == -1 || mi > 59 ||
				    p[6] != ':' ||
				    digits(p + 7, 2, &sec) == -1 || sec > 60)
					return -1;
				if (sec == 60)
					sec = 59;
				p += 9;
				if (*p == '.') {
					int nd = 0;

					p++;
					while (isdigit((unsigned char)*p)) {
						if (nd < 3)
							ms = ms * 10 + (*p - '0');
						nd++;
						p++;
					}
					if (nd == 0)
						return -1;
					while (nd < 3) {
						ms *= 10;
						nd++;
					}
				}
				if (*p == 'Z') {
					zh = zm = 0;
					sign = 1;
					p++;
				} else if (*p == '+' || *p == '-') {
					sign = *p == '+' ? 1 : -1;
					if (digits(p + 1, 2, &zh) == -1 ||
					    p[3] != ':' ||
					    digits(p + 4, 2, &zm) == -1 ||
					    zm > 59 || zh > 14 ||
					    (zh == 14 && zm != 0))
						return -1;
					p += 6;
				} else
					return -1;	/* a time needs a zone */
				prec = UTIL_TIME_FULL;
				days = util_days_from_civil(y, (unsigned)mo,
				    (unsigned)d);
				t = ((days * 24 + h) * 60 + mi) * 60 + sec;
				t -= sign * (zh * 3600 + zm * 60);
				if (*p != '\0' || !(allow & UTIL_TIME_ALLOW_TIME))
					return -1;
				*msp = t * 1000 + ms;
				if (precp != NULL)
					*precp = prec;
				return 0;
			}
		}
	}
	if (*p != '\0')
		return -1;
	if (prec == UTIL_TIME_DAY && !(allow & UTIL_TIME_ALLOW_DATE))
		return -1;
	if (prec < UTIL_TIME_DAY && !(allow & UTIL_TIME_ALLOW_PARTIAL))
		return -1;
	days = util_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*msp = days * 86400000LL;
	if (precp != NULL)
		*precp = prec;
	return 0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

void
util_format_instant(int64_t ms, char *out, size_t size)
{
	int64_t secs = floor_div(ms, 1000), days = floor_div(secs, 86400), y;
	int64_t rem = secs - days * 86400;
	int msr = (int)(ms - secs * 1000);
	unsigned mo, d;

	util_civil_from_days(days, &y, &mo, &d);
	if (msr != 0)
		snprintf(out, size, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
		    (long long)y, mo, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60), msr);
	else
		snprintf(out, size, "%04lld-%02u-%02uT%02d:%02d:%02dZ",
		    (long long)y, mo, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60));
}

static const char *const wkday[] = { "Thu", "Fri", "Sat", "Sun", "Mon",
    "Tue", "Wed" };
static const char *const month[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void
util_format_http_date(int64_t ms, char *out, size_t size)
{
	int64_t secs = floor_div(ms, 1000), days = floor_div(secs, 86400), y;
	int64_t rem = secs - days * 86400;
	unsigned mo, d;
	int wd = (int)(((days % 7) + 7) % 7);

	util_civil_from_days(days, &y, &mo, &d);
	snprintf(out, size, "%s, %02u %s %04lld %02d:%02d:%02d GMT",
	    wkday[wd], d, month[mo - 1], (long long)y, (int)(rem / 3600),
	    (int)(rem / 60 % 60), (int)(rem % 60));
}

int
util_parse_http_date(const char *s, int64_t *out)
{
	char wd[4], mon[4], zone[4];
	int d, y, h, mi, sec, mo = -1, i;

	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s", wd, &d, mon, &y, &h,
	    &mi, &sec, zone) != 8 || strcmp(zone, "GMT") != 0)
		return -1;
	for (i = 0; i < 12; i++)
		if (strcmp(mon, month[i]) == 0)
			mo = i + 1;
	if (mo < 0 || d < 1 || (unsigned)d > month_days(y, (unsigned)mo) ||
	    h > 23 || mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return -1;
	*out = ((util_days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 +
	    h) * 60 + mi) * 60000LL + sec * 1000LL;
	return 0;
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
util_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
util_random(void *p, size_t n)
{
	uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		r = getrandom(b, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

void
util_thread_name(const char *name)
{
	char n[16];

	snprintf(n, sizeof(n), "%s", name);
	(void)pthread_setname_np(pthread_self(), n);
}
