/*
 * terminology.c - the code -> model input table from conf/codes.tsv:
 * exact codes in a hash table, ICD-10 ranges as prefixes, medication names
 * as word-bounded phrases.  Immutable after load and shared by every HTTP
 * thread; lookups allocate nothing.  It must not guess: a code that is not
 * in the table maps to nothing.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "terminology.h"
#include "util.h"

#define KEY_MAX		256

struct row {
	char		*system;	/* canonical URI; "" for text rows */
	char		*code;		/* normalised; lower case for text */
	bool		 prefix;
	struct term_hit	 hit;
	int		 next;		/* next row with the same key, -1 */
};

struct terminology {
	struct row	*rows;
	size_t		 nrows;
	int		*slots;		/* hash -> first row, -1 empty */
	size_t		 nslots;
	int		*prefixes;	/* rows with prefix codes */
	size_t		 nprefixes;
	int		*texts;		/* "text" rows */
	size_t		 ntexts;
};

static const struct {
	const char	*alias;
	const char	*uri;
} aliases[] = {
	{ "loinc", "http://loinc.org" },
	{ "snomed", "http://snomed.info/sct" },
	{ "icd10cm", "http://hl7.org/fhir/sid/icd-10-cm" },
	{ "icd10", "http://hl7.org/fhir/sid/icd-10" },
	{ "icd10pcs", "http://www.cms.gov/Medicare/Coding/ICD10" },
	{ "cpt", "http://www.ama-assn.org/go/cpt" },
	{ "rxnorm", "http://www.nlm.nih.gov/research/umls/rxnorm" },
	{ "atc", "http://www.whocc.no/atc" },
};

/* Other spellings of the same code systems seen in the wild. */
static const struct {
	const char	*from;
	const char	*to;
} synonyms[] = {
	{ "urn:oid:2.16.840.1.113883.6.1", "http://loinc.org" },
	{ "urn:oid:2.16.840.1.113883.6.96", "http://snomed.info/sct" },
	{ "urn:oid:2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10-cm" },
	{ "urn:oid:2.16.840.1.113883.6.3", "http://hl7.org/fhir/sid/icd-10" },
	{ "urn:oid:2.16.840.1.113883.6.4", "http://www.cms.gov/Medicare/Coding/ICD10" },
	{ "urn:oid:2.16.840.1.113883.6.12", "http://www.ama-assn.org/go/cpt" },
	{ "urn:oid:2.16.840.1.113883.6.88", "http://www.nlm.nih.gov/research/umls/rxnorm" },
	{ "http://www.whocc.no/atc/", "http://www.whocc.no/atc" },
};

const char *
terminology_system_uri(const char *alias)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(aliases); i++)
		if (strcmp(aliases[i].alias, alias) == 0)
			return aliases[i].uri;
	return NULL;
}

static const char *
canonical_system(const char *s)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(synonyms); i++)
		if (strcmp(synonyms[i].from, s) == 0)
			return synonyms[i].to;
	return s;
}

static bool
is_icd(const char *system)
{
	return strstr(system, "icd-10") != NULL ||
	    strstr(system, "ICD10") != NULL;
}

/* ICD codes match with or without the dot and in any case. */
static void
normalise(const char *system, const char *code, char *out, size_t size)
{
	size_t n = 0;

	if (!is_icd(system)) {
		util_strlcpy(out, code, size);
		return;
	}
	for (; *code != '\0' && n + 1 < size; code++) {
		if (*code == '.')
			continue;
		out[n++] = (char)toupper((unsigned char)*code);
	}
	out[n] = '\0';
}

static uint64_t
fnv(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	h = (h ^ '|') * 1099511628211ULL;
	for (; *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return h;
}

static void
index_rows(struct terminology *t)
{
	size_t i, s;
	int *slot;

	t->nslots = 16;
	while (t->nslots < t->nrows * 2)
		t->nslots *= 2;
	t->slots = xmalloc(t->nslots * sizeof(int));
	for (s = 0; s < t->nslots; s++)
		t->slots[s] = -1;
	t->prefixes = xcalloc(t->nrows + 1, sizeof(int));
	t->texts = xcalloc(t->nrows + 1, sizeof(int));
	for (i = 0; i < t->nrows; i++) {
		struct row *r = &t->rows[i];

		if (r->system[0] == '\0') {
			t->texts[t->ntexts++] = (int)i;
			continue;
		}
		if (r->prefix) {
			t->prefixes[t->nprefixes++] = (int)i;
			continue;
		}
		/* Open addressing; rows of one key chain through next. */
		s = fnv(r->system, r->code) & (t->nslots - 1);
		for (;;) {
			slot = &t->slots[s];
			if (*slot == -1) {
				*slot = (int)i;
				break;
			}
			if (strcmp(t->rows[*slot].system, r->system) == 0 &&
			    strcmp(t->rows[*slot].code, r->code) == 0) {
				int k = *slot;

				while (t->rows[k].next != -1)
					k = t->rows[k].next;
				t->rows[k].next = (int)i;
				break;
			}
			s = (s + 1) & (t->nslots - 1);
		}
	}
}

/* Split one line into up to 4 fields (blank-separated, "quoted"). */
static int
fields(char *s, char **f, int max)
{
	int n = 0;

	while (n < max) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			break;
		if (*s == '"') {
			f[n++] = ++s;
			while (*s != '\0' && *s != '"')
				s++;
			if (*s != '"')
				return -1;
			*s++ = '\0';
			continue;
		}
		f[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' && *s != '#')
		return -1;
	return n;
}

struct terminology *
terminology_load(const char *path, FILE *errf)
{
	struct terminology *t;
	char line[1024], *f[4], *nl, *end, code[KEY_MAX];
	const char *sys;
	int lineno = 0, errors = 0, n, in;
	double factor;
	size_t cap = 0, i, len;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(errf, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		else if (!feof(fp)) {
			fprintf(errf, "%s:%d: line too long\n", path, lineno);
			errors++;
			break;
		}
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		n = fields(line, f, 4);
		if (n == 0)
			continue;
		if (n < 3) {
			fprintf(errf, "%s:%d: expected SYSTEM CODE INPUT "
			    "[FACTOR]\n", path, lineno);
			errors++;
			continue;
		}
		if ((in = input_by_name(f[2])) < 0 ||
		    input_kind((enum input)in) == INPUT_DERIVED) {
			fprintf(errf, "%s:%d: unknown model input '%s'\n", path,
			    lineno, f[2]);
			errors++;
			continue;
		}
		factor = 0;
		if (n == 4 && (util_parse_double(f[3], 0, 1e9, &factor) == -1)) {
			fprintf(errf, "%s:%d: factor must be a number\n", path,
			    lineno);
			errors++;
			continue;
		}
		if (strcmp(f[0], "text") == 0)
			sys = "";
		else if (strchr(f[0], ':') != NULL)
			sys = canonical_system(f[0]);
		else if ((sys = terminology_system_uri(f[0])) == NULL) {
			fprintf(errf, "%s:%d: unknown system alias '%s' (use a "
			    "URI, text, or one of loinc snomed icd10cm icd10 "
			    "icd10pcs cpt rxnorm atc)\n", path, lineno, f[0]);
			errors++;
			continue;
		}
		if (*f[1] == '\0' || strlen(f[1]) >= KEY_MAX) {
			fprintf(errf, "%s:%d: empty or overlong code\n", path,
			    lineno);
			errors++;
			continue;
		}
		if (sys[0] == '\0') {
			for (end = f[1]; *end != '\0'; end++)
				*end = (char)tolower((unsigned char)*end);
			util_strlcpy(code, f[1], sizeof(code));
		} else
			normalise(sys, f[1], code, sizeof(code));
		len = strlen(code);
		for (i = 0; i < t->nrows; i++) {
			struct row *r = &t->rows[i];

			if (r->hit.th_input == (enum input)in &&
			    strcmp(r->system, sys) == 0 &&
			    strcmp(r->code, code) == 0) {
				fprintf(errf, "%s:%d: duplicate row for %s %s\n",
				    path, lineno, f[0], f[1]);
				errors++;
				break;
			}
		}
		if (i < t->nrows)
			continue;
		if (t->nrows == cap) {
			cap = cap ? cap * 2 : 128;
			t->rows = xrealloc(t->rows, cap * sizeof(*t->rows));
		}
		t->rows[t->nrows].system = xstrdup(sys);
		t->rows[t->nrows].prefix = sys[0] != '\0' && len > 1 &&
		    code[len - 1] == '*';
		if (t->rows[t->nrows].prefix)
			code[len - 1] = '\0';
		t->rows[t->nrows].code = xstrdup(code);
		t->rows[t->nrows].hit.th_input = (enum input)in;
		t->rows[t->nrows].hit.th_factor = factor;
		t->rows[t->nrows].next = -1;
		t->nrows++;
	}
	fclose(fp);
	if (errors == 0 && t->nrows == 0) {
		fprintf(errf, "%s: no mappings: no observation could feed the "
		    "model\n", path);
		errors++;
	}
	if (errors > 0) {
		terminology_free(t);
		return NULL;
	}
	index_rows(t);
	return t;
}

void
terminology_free(struct terminology *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows; i++) {
		free(t->rows[i].system);
		free(t->rows[i].code);
	}
	free(t->rows);
	free(t->slots);
	free(t->prefixes);
	free(t->texts);
	free(t);
}

size_t
terminology_count(const struct terminology *t)
{
	return t != NULL ? t->nrows : 0;
}

static int
add_hit(struct term_hit *out, int n, int max, const struct term_hit *h)
{
	int i;

	for (i = 0; i < n; i++)
		if (out[i].th_input == h->th_input)
			return n;
	if (n < max)
		out[n++] = *h;
	return n;
}

int
terminology_merge_hits(struct term_hit *out, int n, int max,
    const struct term_hit *add, int k)
{
	int i;

	for (i = 0; i < k; i++)
		n = add_hit(out, n, max, &add[i]);
	return n;
}

int
terminology_lookup(const struct terminology *t, const char *system,
    const char *code, struct term_hit *out, int max)
{
	char norm[KEY_MAX];
	const char *sys;
	size_t s, i, pl;
	int n = 0, k;

	if (t == NULL || code == NULL || t->nslots == 0)
		return 0;
	sys = system != NULL ? canonical_system(system) : "-";
	if (strlen(code) >= sizeof(norm))
		return 0;
	normalise(sys, code, norm, sizeof(norm));
	s = fnv(sys, norm) & (t->nslots - 1);
	while ((k = t->slots[s]) != -1) {
		if (strcmp(t->rows[k].system, sys) == 0 &&
		    strcmp(t->rows[k].code, norm) == 0) {
			for (; k != -1; k = t->rows[k].next)
				n = add_hit(out, n, max, &t->rows[k].hit);
			break;
		}
		s = (s + 1) & (t->nslots - 1);
	}
	for (i = 0; i < t->nprefixes; i++) {
		const struct row *r = &t->rows[t->prefixes[i]];

		pl = strlen(r->code);
		if (strcmp(r->system, sys) == 0 &&
		    strncmp(r->code, norm, pl) == 0)
			n = add_hit(out, n, max, &r->hit);
	}
	return n;
}

/* Case-insensitive phrase match on word boundaries ("warfarin" in
 * "Warfarin Sodium 5 MG Oral Tablet", not in "nowarfarinx"). */
static bool
phrase_in(const char *text, const char *phrase)
{
	size_t pl = strlen(phrase), i;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if (p != text && isalnum((unsigned char)p[-1]))
			continue;
		for (i = 0; i < pl; i++)
			if (p[i] == '\0' ||
			    tolower((unsigned char)p[i]) != phrase[i])
				break;
		if (i == pl && !isalnum((unsigned char)p[pl]))
			return true;
	}
	return false;
}

int
terminology_match_text(const struct terminology *t, const char *text,
    struct term_hit *out, int max)
{
	size_t i;
	int n = 0;

	if (t == NULL || text == NULL)
		return 0;
	for (i = 0; i < t->ntexts; i++) {
		const struct row *r = &t->rows[t->texts[i]];

		if (phrase_in(text, r->code))
			n = add_hit(out, n, max, &r->hit);
	}
	return n;
}
