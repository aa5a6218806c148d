/*
 * jschema.h - a small JSON Schema (draft 2020-12) validator for the subset
 * calcifyd's own schemas use (schemas/model.schema.json).
 *
 * Implemented keywords: type, properties, required, additionalProperties,
 * items, enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, maxLength, pattern (POSIX extended regular
 * expressions, which the schema's patterns are written in), minItems,
 * maxItems, uniqueItems, $ref (only "#/$defs/NAME"), oneOf, anyOf, allOf;
 * annotations $schema, $id, $comment, $defs, title, description.  A schema
 * that uses any other keyword is REJECTED by jschema_compile(), so a
 * schema can never silently stop being enforced.
 *
 * Problems are reported as "$.a.b[2].c: message" through a callback.  Pure:
 * no I/O, no globals; jansson values are borrowed.
 */
#ifndef CALCIFY_JSCHEMA_H
#define CALCIFY_JSCHEMA_H

#include <jansson.h>

struct jschema;

/*
 * Called once per problem.  path is the JSON path ("$" for the root) and
 * msg the problem; both are borrowed for the duration of the call.
 */
typedef void jschema_report_fn(void *arg, const char *path, const char *msg);

/*
 * Check schema (borrowed; a reference is taken and held by the result)
 * and compile its patterns.  Every problem with the schema itself is
 * reported (paths inside the schema document); NULL is returned when there
 * was any.  The result is freed with jschema_free().
 */
struct jschema *jschema_compile(json_t *schema, jschema_report_fn *report,
	    void *arg);
void	jschema_free(struct jschema *);

/*
 * Validate instance (borrowed) against the compiled schema.  Reports every
 * problem found and returns their number (0: valid).
 */
int	jschema_validate(const struct jschema *, const json_t *instance,
	    jschema_report_fn *report, void *arg);

#endif
