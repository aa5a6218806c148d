/*
 * model_schema.h - schemas/model.schema.json as bytes, generated at build
 * time into model_schema.c by tools/embed.sh, so the validator enforces
 * exactly the schema the package ships.  Read it through
 * model_schema_text() (model.h).
 */
#ifndef CALCIFY_MODEL_SCHEMA_H
#define CALCIFY_MODEL_SCHEMA_H

#include <stddef.h>

extern const unsigned char model_schema_json[];	/* NUL-terminated */
extern const size_t model_schema_json_len;	/* without the NUL */

#endif
