/*
 * metrics.c - storage and Prometheus rendering for counters, gauges and
 * histograms.  All updates are relaxed atomics; rendering reads a slightly
 * racy but monotone view, which is what Prometheus expects.  Must not call
 * into other modules (it is called from all of them).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "util.h"

#define MAX_ROUTES	24
#define NBUCKETS	14

struct counter_row {
	const char	*family;
	const char	*lkey;
	const char	*lval;
	const char	*help;
};

static const struct counter_row counter_rows[M_COUNTER_COUNT] = {
#define METRICS_CROW(e, fam, lk, lv, help) [M_##e] = { fam, lk, lv, help },
	METRICS_COUNTERS(METRICS_CROW)
#undef METRICS_CROW
};

struct gauge_row {
	const char	*name;
	const char	*help;
};

static const struct gauge_row gauge_rows[MG_GAUGE_COUNT] = {
#define METRICS_GROW(e, name, help) [MG_##e] = { name, help },
	METRICS_GAUGES(METRICS_GROW)
#undef METRICS_GROW
};

struct hist {
	const char		*name;
	const char		*help;
	double			 bounds[NBUCKETS];
	_Atomic uint64_t	 counts[NBUCKETS + 1];	/* last = +Inf */
	_Atomic uint64_t	 sum_micro;		/* sum * 1e6 */
};

static struct hist hists[MH_HIST_COUNT] = {
	[MH_COMMIT_SECONDS] = { "calcifyd_store_commit_seconds",
	    "Duration of one group commit including fsync",
	    { .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1,
	      .25, .5, 1, 5 }, { 0 }, 0 },
	[MH_COMMIT_BATCH] = { "calcifyd_store_commit_requests",
	    "Requests sharing one group commit",
	    { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192 },
	    { 0 }, 0 },
	[MH_DELIVERY_SECONDS] = { "calcifyd_delivery_seconds",
	    "Duration of one delivery attempt to the hospital",
	    { .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10,
	      30 }, { 0 }, 0 },
};

/* HTTP requests by route and status; durations by route. */
static const int status_codes[] = { 200, 201, 204, 400, 401, 403, 404, 405,
    406, 408, 410, 412, 413, 415, 422, 429, 431, 500, 503 };
#define NSTATUS	(UTIL_ARRAY_LEN(status_codes) + 1)	/* + "other" */

static const double http_bounds[NBUCKETS] = { .0005, .001, .0025, .005, .01,
    .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };

static const char *const	*route_names;
static int			 nroutes;
static _Atomic uint64_t		 http_count[MAX_ROUTES][NSTATUS];
static _Atomic uint64_t		 http_hist[MAX_ROUTES][NBUCKETS + 1];
static _Atomic uint64_t		 http_sum_micro[MAX_ROUTES];

static _Atomic uint64_t		 counters[M_COUNTER_COUNT];
static _Atomic int64_t		 gauges_milli[MG_GAUGE_COUNT];
static double			 start_time;
static pthread_mutex_t		 model_mtx = PTHREAD_MUTEX_INITIALIZER;
static char			 model_id[128], model_version[64];

void
metrics_init(const char *const *routes, int n)
{
	route_names = routes;
	nroutes = n < MAX_ROUTES ? n : MAX_ROUTES;
	start_time = (double)util_now_ms() / 1000.0;
}

void
metrics_inc(enum metrics_counter c)
{
	atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

void
metrics_add(enum metrics_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

uint64_t
metrics_get(enum metrics_counter c)
{
	return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

void
metrics_gauge_set(enum metrics_gauge g, double v)
{
	atomic_store_explicit(&gauges_milli[g], (int64_t)(v * 1000.0),
	    memory_order_relaxed);
}

double
metrics_gauge_get(enum metrics_gauge g)
{
	return (double)atomic_load_explicit(&gauges_milli[g],
	    memory_order_relaxed) / 1000.0;
}

static int
bucket(const double *bounds, double v)
{
	int i;

	for (i = 0; i < NBUCKETS; i++)
		if (v <= bounds[i])
			return i;
	return NBUCKETS;
}

void
metrics_observe(enum metrics_hist h, double v)
{
	struct hist *x = &hists[h];

	atomic_fetch_add_explicit(&x->counts[bucket(x->bounds, v)], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&x->sum_micro, (uint64_t)(v * 1e6),
	    memory_order_relaxed);
}

void
metrics_http(int route, int status, double seconds)
{
	size_t si;

	if (route < 0 || route >= nroutes)
		route = nroutes - 1;
	if (route < 0)
		return;
	for (si = 0; si < UTIL_ARRAY_LEN(status_codes); si++)
		if (status_codes[si] == status)
			break;
	atomic_fetch_add_explicit(&http_count[route][si], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&http_hist[route][bucket(http_bounds,
	    seconds)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&http_sum_micro[route],
	    (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

void
metrics_set_model(const char *id, const char *version)
{
	pthread_mutex_lock(&model_mtx);
	util_strlcpy(model_id, id, sizeof(model_id));
	util_strlcpy(model_version, version, sizeof(model_version));
	pthread_mutex_unlock(&model_mtx);
}

/* Label values we render come from fixed tables or the model file; escape
 * the three characters the format reserves anyway. */
static void
label_value(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n') {
			buf_puts(b, "\\n");
			continue;
		}
		buf_putc(b, *s);
	}
}

static void
render_hist_lines(struct buf *b, const char *name, const char *lk,
    const char *lv, const double *bounds, _Atomic uint64_t *counts,
    uint64_t sum_micro)
{
	uint64_t cum = 0;
	char lab[96];
	int i;

	lab[0] = '\0';
	if (lk != NULL)
		snprintf(lab, sizeof(lab), "%s=\"%s\",", lk, lv);
	for (i = 0; i <= NBUCKETS; i++) {
		cum += atomic_load_explicit(&counts[i], memory_order_relaxed);
		if (i < NBUCKETS)
			buf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, lab,
			    bounds[i], (unsigned long long)cum);
		else
			buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name,
			    lab, (unsigned long long)cum);
	}
	if (lk != NULL) {
		buf_printf(b, "%s_sum{%s=\"%s\"} %.6f\n", name, lk, lv,
		    (double)sum_micro / 1e6);
		buf_printf(b, "%s_count{%s=\"%s\"} %llu\n", name, lk, lv,
		    (unsigned long long)cum);
	} else {
		buf_printf(b, "%s_sum %.6f\n", name, (double)sum_micro / 1e6);
		buf_printf(b, "%s_count %llu\n", name, (unsigned long long)cum);
	}
}

void
metrics_render(struct buf *b)
{
	const char *prev = "";
	int i, r;
	size_t s;

	buf_puts(b, "# HELP calcifyd_build_info Version of this calcifyd build\n"
	    "# TYPE calcifyd_build_info gauge\n");
	buf_printf(b, "calcifyd_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	buf_puts(b, "# HELP process_start_time_seconds Start time of the "
	    "process since unix epoch in seconds\n"
	    "# TYPE process_start_time_seconds gauge\n");
	buf_printf(b, "process_start_time_seconds %.3f\n", start_time);

	pthread_mutex_lock(&model_mtx);
	if (model_id[0] != '\0') {
		buf_puts(b, "# HELP calcifyd_model_info Risk model in use\n"
		    "# TYPE calcifyd_model_info gauge\n"
		    "calcifyd_model_info{id=\"");
		label_value(b, model_id);
		buf_puts(b, "\",version=\"");
		label_value(b, model_version);
		buf_puts(b, "\"} 1\n");
	}
	pthread_mutex_unlock(&model_mtx);

	for (i = 0; i < M_COUNTER_COUNT; i++) {
		const struct counter_row *c = &counter_rows[i];
		unsigned long long v = atomic_load_explicit(&counters[i],
		    memory_order_relaxed);

		if (strcmp(prev, c->family) != 0) {
			buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n",
			    c->family, c->help, c->family);
			prev = c->family;
		}
		if (c->lkey[0] != '\0')
			buf_printf(b, "%s{%s=\"%s\"} %llu\n", c->family,
			    c->lkey, c->lval, v);
		else
			buf_printf(b, "%s %llu\n", c->family, v);
	}
	for (i = 0; i < MG_GAUGE_COUNT; i++) {
		buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n",
		    gauge_rows[i].name, gauge_rows[i].help, gauge_rows[i].name,
		    gauge_rows[i].name, metrics_gauge_get((enum metrics_gauge)i));
	}
	for (i = 0; i < MH_HIST_COUNT; i++) {
		buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n",
		    hists[i].name, hists[i].help, hists[i].name);
		render_hist_lines(b, hists[i].name, NULL, NULL, hists[i].bounds,
		    hists[i].counts, atomic_load(&hists[i].sum_micro));
	}

	buf_puts(b, "# HELP calcifyd_http_requests_total HTTP requests by route "
	    "and status\n# TYPE calcifyd_http_requests_total counter\n");
	for (r = 0; r < nroutes; r++) {
		for (s = 0; s < NSTATUS; s++) {
			unsigned long long v = atomic_load_explicit(
			    &http_count[r][s], memory_order_relaxed);

			if (v == 0)
				continue;
			if (s < UTIL_ARRAY_LEN(status_codes))
				buf_printf(b, "calcifyd_http_requests_total"
				    "{route=\"%s\",code=\"%d\"} %llu\n",
				    route_names[r], status_codes[s], v);
			else
				buf_printf(b, "calcifyd_http_requests_total"
				    "{route=\"%s\",code=\"other\"} %llu\n",
				    route_names[r], v);
		}
	}
	buf_puts(b, "# HELP calcifyd_http_request_duration_seconds Time from "
	    "request start to response queued\n"
	    "# TYPE calcifyd_http_request_duration_seconds histogram\n");
	for (r = 0; r < nroutes; r++)
		render_hist_lines(b, "calcifyd_http_request_duration_seconds",
		    "route", route_names[r], http_bounds, http_hist[r],
		    atomic_load(&http_sum_micro[r]));
}
