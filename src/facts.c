/*
 * facts.c - the inputs table lookups and the facts snapshot codec.  Pure:
 * no I/O, no clock, no globals beyond the constant table.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "inputs.h"

struct input_row {
	const char	*name;
	enum input_kind	 kind;
	const char	*unit;
	int		 fresh;
	const char	*label;
};

static const struct input_row inputs[INPUT_COUNT] = {
#define INPUT_ROW(e, n, k, u, f, l) [INPUT_##e] = { n, k, u, f, l },
	INPUT_LIST(INPUT_ROW)
#undef INPUT_ROW
};

int
input_by_name(const char *name)
{
	int i;

	for (i = 0; i < INPUT_COUNT; i++)
		if (strcmp(inputs[i].name, name) == 0)
			return i;
	return -1;
}

const char *
input_name(enum input in)
{
	return (unsigned)in < INPUT_COUNT ? inputs[in].name : "?";
}

const char *
input_label(enum input in)
{
	return (unsigned)in < INPUT_COUNT ? inputs[in].label : "?";
}

enum input_kind
input_kind(enum input in)
{
	return inputs[in].kind;
}

const char *
input_unit(enum input in)
{
	return inputs[in].unit;
}

int
input_default_fresh_days(enum input in)
{
	return inputs[in].fresh;
}

bool
input_is_measurement(enum input in)
{
	return inputs[in].unit[0] != '\0' && inputs[in].kind != INPUT_DERIVED &&
	    inputs[in].kind != INPUT_SUM && in != INPUT_BIRTH_DATE;
}

void
facts_init(struct facts *f)
{
	memset(f->fa_f, 0, sizeof(f->fa_f));
	f->fa_pool[0] = '\0';
	f->fa_used = 1;		/* offset 0 means "no reference" */
}

/* Copy s into the pool; *off = 0 when s is empty.  -1 when full. */
static int
pool_put(struct facts *f, const char *s, uint32_t *off)
{
	size_t n;

	*off = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	n = strlen(s) + 1;
	if (f->fa_used + n > sizeof(f->fa_pool))
		return -1;
	memcpy(f->fa_pool + f->fa_used, s, n);
	*off = (uint32_t)f->fa_used;
	f->fa_used += n;
	return 0;
}

int
facts_set(struct facts *f, enum input in, double value, int64_t eff,
    uint32_t flags, double aux, const char *ref_json)
{
	struct fact *x = &f->fa_f[in];
	uint32_t skip = x->f_skip;

	x->f_present = true;
	x->f_value = value;
	x->f_eff = eff;
	x->f_flags = flags | (skip != 0 ? FACT_SKIPPED_NEWER : 0);
	x->f_aux = aux;
	x->f_skip = skip;
	return pool_put(f, ref_json, &x->f_ref);
}

int
facts_set_skipped(struct facts *f, enum input in, const char *ref_json)
{
	struct fact *x = &f->fa_f[in];

	if (pool_put(f, ref_json, &x->f_skip) == -1)
		return -1;
	if (x->f_skip != 0)
		x->f_flags |= FACT_SKIPPED_NEWER;
	return 0;
}

void
facts_clear(struct facts *f, enum input in)
{
	memset(&f->fa_f[in], 0, sizeof(f->fa_f[in]));
}

const char *
facts_ref(const struct facts *f, enum input in)
{
	if (!f->fa_f[in].f_present || f->fa_f[in].f_ref == 0)
		return NULL;
	return f->fa_pool + f->fa_f[in].f_ref;
}

const char *
facts_skipped_ref(const struct facts *f, enum input in)
{
	if (f->fa_f[in].f_skip == 0)
		return NULL;
	return f->fa_pool + f->fa_f[in].f_skip;
}

int64_t
facts_latest_eff(const struct facts *f)
{
	int64_t best = INT64_MIN, any = INT64_MIN;
	int i;

	for (i = 0; i < INPUT_COUNT; i++) {
		const struct fact *x = &f->fa_f[i];

		if (!x->f_present || i == INPUT_BIRTH_DATE || i == INPUT_SEX ||
		    (x->f_flags & FACT_TIME_UNKNOWN))
			continue;
		if (x->f_eff > any)
			any = x->f_eff;
		if (input_is_measurement((enum input)i) && x->f_eff > best)
			best = x->f_eff;
	}
	return best != INT64_MIN ? best : any;
}

void
facts_snapshot(const struct facts *f, struct buf *b)
{
	const char *ref, *skip;
	int i;

	for (i = 0; i < INPUT_COUNT; i++) {
		const struct fact *x = &f->fa_f[i];

		if (!x->f_present)
			continue;
		ref = facts_ref(f, (enum input)i);
		skip = facts_skipped_ref(f, (enum input)i);
		buf_printf(b, "%s\t%.17g\t%lld\t%u\t%.17g\t%s", inputs[i].name,
		    x->f_value, (long long)x->f_eff, (unsigned)x->f_flags,
		    x->f_aux, ref != NULL ? ref : "{}");
		if (skip != NULL)
			buf_printf(b, "\t%s", skip);
		buf_putc(b, '\n');
	}
}

/* Split off the next TAB-terminated field; NULL when missing. */
static char *
field(char **pp)
{
	char *s = *pp, *t;

	if (s == NULL)
		return NULL;
	t = strchr(s, '\t');
	if (t == NULL)
		return NULL;
	*t = '\0';
	*pp = t + 1;
	return s;
}

int
facts_parse_snapshot(const char *text, struct facts *f)
{
	char *copy, *line, *next, *p, *name, *val, *eff, *flags, *aux, *end;
	char *skip;
	int in, rc = -1;
	double v, a;
	long long e;
	unsigned long fl;

	facts_init(f);
	copy = xstrdup(text);
	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next == NULL)
			goto out;
		*next++ = '\0';
		p = line;
		if ((name = field(&p)) == NULL || (val = field(&p)) == NULL ||
		    (eff = field(&p)) == NULL || (flags = field(&p)) == NULL ||
		    (aux = field(&p)) == NULL)
			goto out;
		if ((in = input_by_name(name)) < 0 ||
		    inputs[in].kind == INPUT_DERIVED)
			goto out;
		errno = 0;
		v = strtod(val, &end);
		if (*end != '\0' || errno != 0)
			goto out;
		e = strtoll(eff, &end, 10);
		if (*end != '\0' || errno != 0)
			goto out;
		fl = strtoul(flags, &end, 10);
		if (*end != '\0' || errno != 0)
			goto out;
		a = strtod(aux, &end);
		if (*end != '\0' || errno != 0)
			goto out;
		skip = strchr(p, '\t');
		if (skip != NULL)
			*skip++ = '\0';
		if (facts_set(f, (enum input)in, v, e,
		    (uint32_t)fl & ~(uint32_t)FACT_SKIPPED_NEWER, a,
		    strcmp(p, "{}") == 0 ? NULL : p) == -1)
			goto out;
		if (skip != NULL &&
		    facts_set_skipped(f, (enum input)in, skip) == -1)
			goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}
