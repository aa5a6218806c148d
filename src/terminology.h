/*
 * terminology.h - the code -> model input table (CLINICAL.md "Seed factors
 * -> model inputs") kept as data in conf/codes.tsv so an admin can add
 * local codes without recompiling.  Loaded at start and on SIGHUP; an
 * immutable table afterwards, safe to share between threads.
 *
 * File format, one mapping a line, TAB or blanks between columns, '#'
 * starts a comment:
 *
 *   SYSTEM   CODE   INPUT   [FACTOR]
 *
 * SYSTEM is a URI or an alias (loinc, snomed, icd10cm, icd10, icd10pcs,
 * cpt, rxnorm, atc), or the word "text" for a case-insensitive phrase
 * matched inside medication names (CODE may then contain blanks if quoted:
 * "calcium carbonate").  CODE may end in '*' for a prefix (ICD-10 ranges:
 * E11*).  ICD codes match with or without the dot.  INPUT is an input name
 * from inputs.h.  FACTOR is a number used by the input, today the
 * elemental-calcium fraction of a calcium salt (calcium carbonate 0.40).
 * A code may map to several inputs (I12.0: hypertension and ESRD).
 */
#ifndef CALCIFY_TERMINOLOGY_H
#define CALCIFY_TERMINOLOGY_H

#include <stddef.h>
#include <stdio.h>

#include "inputs.h"

struct terminology;

struct term_hit {
	enum input	th_input;
	double		th_factor;	/* 0 when the row gives none */
};

#define TERM_MAX_HITS	4

/*
 * Load a table.  Every problem is written to errf as "file:line: problem"
 * (unknown input, unknown system alias, malformed line, duplicate row);
 * returns NULL when there was any.
 */
struct terminology *terminology_load(const char *path, FILE *errf);
void	terminology_free(struct terminology *);
size_t	terminology_count(const struct terminology *);

/*
 * Map one coding.  system may be NULL (matches rows of no system only).
 * Writes up to max hits and returns how many were found (0: not mapped).
 */
int	terminology_lookup(const struct terminology *, const char *system,
	    const char *code, struct term_hit *out, int max);

/* Append those of the k hits in add whose input out[0..n) lacks, up to
 * max in all; returns the new count (hits stay one per input). */
int	terminology_merge_hits(struct term_hit *out, int n, int max,
	    const struct term_hit *add, int k);

/* Match medication text (CodeableConcept.text, Coding.display) against the
 * "text" rows; same return convention. */
int	terminology_match_text(const struct terminology *, const char *text,
	    struct term_hit *out, int max);

/* Canonical URI for an alias ("loinc" -> "http://loinc.org"), or NULL. */
const char *terminology_system_uri(const char *alias);

#endif
