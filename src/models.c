/*
 * models.c - a small cache of model versions keyed by digest.  Owns the
 * cached references; never decides which model new assessments use (that
 * is ingest.c).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "log.h"
#include "model.h"
#include "models.h"
#include "store.h"
#include "util.h"

#define CACHE_SLOTS	8

static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
static struct model	*cache[CACHE_SLOTS];
static unsigned		 next_slot;

struct model *
models_get(struct store *s, const char *digest)
{
	struct model *m = ingest_model(), *hit = NULL;
	struct buf text;
	int i;

	if (m != NULL && strcmp(m->m_digest, digest) == 0)
		return m;
	model_unref(m);
	pthread_mutex_lock(&mtx);
	for (i = 0; i < CACHE_SLOTS; i++)
		if (cache[i] != NULL && strcmp(cache[i]->m_digest, digest) == 0)
			hit = model_ref(cache[i]);
	pthread_mutex_unlock(&mtx);
	if (hit != NULL)
		return hit;

	buf_init(&text);
	if (s->s_ops->r_model_text(s, digest, &text) != STORE_OK) {
		log_warnx("model version %.12s is not in the store", digest);
		buf_free(&text);
		return NULL;
	}
	hit = model_load_string(text.b_data, text.b_len, "stored model",
	    stderr);
	buf_free(&text);
	if (hit == NULL) {
		log_warnx("stored model version %.12s no longer loads", digest);
		return NULL;
	}
	pthread_mutex_lock(&mtx);
	model_unref(cache[next_slot % CACHE_SLOTS]);
	cache[next_slot++ % CACHE_SLOTS] = model_ref(hit);
	pthread_mutex_unlock(&mtx);
	return hit;
}

void
models_fini(void)
{
	int i;

	pthread_mutex_lock(&mtx);
	for (i = 0; i < CACHE_SLOTS; i++) {
		model_unref(cache[i]);
		cache[i] = NULL;
	}
	pthread_mutex_unlock(&mtx);
}
