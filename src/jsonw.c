/*
 * jsonw.c - streaming JSON writer.  Owns no state beyond the caller's
 * struct jsonw; never allocates except through the caller's buffer.
 */
#include "autoconfig.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void
jsonw_init(struct jsonw *w, struct buf *b)
{
	w->jw_buf = b;
	w->jw_depth = 0;
	w->jw_first[0] = true;
	w->jw_after_key = false;
}

/* Emit the separator a new value needs at the current position. */
static void
sep(struct jsonw *w)
{
	if (w->jw_after_key) {
		w->jw_after_key = false;
		return;
	}
	if (!w->jw_first[w->jw_depth])
		buf_putc(w->jw_buf, ',');
	w->jw_first[w->jw_depth] = false;
}

static void
nest_open(struct jsonw *w, char c)
{
	sep(w);
	buf_putc(w->jw_buf, c);
	assert(w->jw_depth + 1 < JSONW_MAX_DEPTH);
	w->jw_first[++w->jw_depth] = true;
}

static void
nest_close(struct jsonw *w, char c)
{
	assert(w->jw_depth > 0 && !w->jw_after_key);
	w->jw_depth--;
	buf_putc(w->jw_buf, c);
}

void jsonw_obj_open(struct jsonw *w) { nest_open(w, '{'); }
void jsonw_obj_close(struct jsonw *w) { nest_close(w, '}'); }
void jsonw_arr_open(struct jsonw *w) { nest_open(w, '['); }
void jsonw_arr_close(struct jsonw *w) { nest_close(w, ']'); }

void
jsonw_escape(struct buf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i, run = 0;

	buf_reserve(b, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			if (c < 0x20) {
				memcpy(u, "\\u00", 4);
				u[4] = hx[c >> 4];
				u[5] = hx[c & 15];
				u[6] = '\0';
				esc = u;
			}
		}
		if (esc == NULL)
			continue;
		buf_append(b, s + run, i - run);
		buf_puts(b, esc);
		run = i + 1;
	}
	buf_append(b, s + run, n - run);
}

void
jsonw_key(struct jsonw *w, const char *k)
{
	assert(!w->jw_after_key);
	sep(w);
	buf_putc(w->jw_buf, '"');
	jsonw_escape(w->jw_buf, k, strlen(k));
	buf_append(w->jw_buf, "\":", 2);
	w->jw_after_key = true;
}

void
jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	buf_putc(w->jw_buf, '"');
	jsonw_escape(w->jw_buf, s, n);
	buf_putc(w->jw_buf, '"');
}

void
jsonw_str(struct jsonw *w, const char *s)
{
	jsonw_strn(w, s, strlen(s));
}

void
jsonw_int(struct jsonw *w, long long v)
{
	sep(w);
	buf_printf(w->jw_buf, "%lld", v);
}

void
jsonw_double(struct jsonw *w, double v)
{
	char tmp[40];
	int prec;

	assert(isfinite(v));
	sep(w);
	/* Shortest of %.15g..%.17g that reads back to the same double. */
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	buf_puts(w->jw_buf, tmp);
}

void
jsonw_fixed(struct jsonw *w, double v, int decimals)
{
	assert(isfinite(v));
	sep(w);
	if (v == 0)
		v = 0;		/* no "-0.0" */
	buf_printf(w->jw_buf, "%.*f", decimals, v);
}

void
jsonw_bool(struct jsonw *w, bool v)
{
	sep(w);
	buf_puts(w->jw_buf, v ? "true" : "false");
}

void
jsonw_null(struct jsonw *w)
{
	sep(w);
	buf_puts(w->jw_buf, "null");
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	buf_append(w->jw_buf, s, n);
}

void
jsonw_kstr(struct jsonw *w, const char *k, const char *v)
{
	jsonw_key(w, k);
	jsonw_str(w, v);
}

void
jsonw_kint(struct jsonw *w, const char *k, long long v)
{
	jsonw_key(w, k);
	jsonw_int(w, v);
}

void
jsonw_kbool(struct jsonw *w, const char *k, bool v)
{
	jsonw_key(w, k);
	jsonw_bool(w, v);
}
