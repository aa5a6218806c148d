/*
 * models.h - model versions by digest, for rebuilding stored assessments.
 * An assessment is rebuilt with exactly the model that made it: the one in
 * use when digests match, otherwise the text kept in the store (loaded once
 * and cached).  Thread-safe.
 */
#ifndef CALCIFY_MODELS_H
#define CALCIFY_MODELS_H

struct model;
struct store;

/* The model with that digest, with a reference the caller releases with
 * model_unref(), or NULL when neither in use nor stored (logged). */
struct model *models_get(struct store *, const char *digest);
/* Release cached versions (at exit). */
void	models_fini(void);

#endif
