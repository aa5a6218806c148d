/*
 * json_fixture.h - shared by the unit tests of the FHIR front door
 * (test_fhir, test_bundle, test_fhir_validate): JSON written with ' for "
 * so that test resources read as they look, and the shipped code table.
 */
#ifndef CALCIFY_JSON_FIXTURE_H
#define CALCIFY_JSON_FIXTURE_H

#include <jansson.h>

#include "terminology.h"

/* The shipped conf/codes.tsv, loaded by jfx_terms_setup for the group. */
extern struct terminology *jfx_terms;

/* cmocka group setup/teardown loading and freeing jfx_terms. */
int	jfx_terms_setup(void **state);
int	jfx_terms_teardown(void **state);

/* text with every ' turned into " (test values contain no '); caller
 * frees. */
char	*jfx_dq(const char *text);

/* jfx_dq(text) parsed with duplicate keys refused; fails the test when
 * it does not parse.  New reference. */
json_t	*jfx_json(const char *text);

#endif
