/*
 * e2e.c - end-to-end latency: Observation in, RiskAssessment out.
 *
 * One process plays both ends so a single monotonic clock times them: it
 * POSTs Observations to calcifyd at a fixed rate (each for a new patient,
 * with a value that makes an assessment), and runs the "hospital" sink
 * calcifyd delivers to.  The sink matches each RiskAssessment to the
 * Observation named in its basis and records POST-to-receipt latency.
 *
 * usage: e2e BASE SINK_PORT RATE SECONDS RUNID
 * prints: e2e sent=N delivered=M post_p50_ms= post_p99_ms= e2e_p50_ms=
 *         e2e_p99_ms= e2e_max_ms=
 */
#define _GNU_SOURCE	/* asprintf */
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_OBS		1000000
#define MAX_INFLIGHT	256

static int64_t		*sent_us, *recv_us, *post_us;
static _Atomic long	 delivered;
static char		 runid[32];

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct body {
	char	*buf;
	size_t	 len;
};

/* The sink: record when each Observation's assessment arrives. */
static enum MHD_Result
sink(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **ctx)
{
	static const char created[] = "{\"resourceType\":\"RiskAssessment\"}";
	struct body *b = *ctx;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char needle[64];
	const char *p;
	long i;

	if (b == NULL) {
		*ctx = calloc(1, sizeof(*b));
		return MHD_YES;
	}
	if (*size > 0) {
		b->buf = realloc(b->buf, b->len + *size + 1);
		memcpy(b->buf + b->len, data, *size);
		b->len += *size;
		b->buf[b->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	snprintf(needle, sizeof(needle), "Observation/e2e-%s-", runid);
	if (b->buf != NULL && (p = strstr(b->buf, needle)) != NULL) {
		i = strtol(p + strlen(needle), NULL, 10);
		if (i >= 0 && i < MAX_OBS && recv_us[i] == 0) {
			recv_us[i] = now_us();
			atomic_fetch_add(&delivered, 1);
		}
	}
	r = MHD_create_response_from_buffer(sizeof(created) - 1,
	    (void *)(uintptr_t)created, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/fhir+json");
	ret = MHD_queue_response(c, 201, r);
	MHD_destroy_response(r);
	return ret;
}

static void
sink_done(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_RequestTerminationCode t)
{
	struct body *b = *ctx;

	if (b != NULL) {
		free(b->buf);
		free(b);
	}
	*ctx = NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(int64_t *v, long n, double p)
{
	long k;

	if (n == 0)
		return 0;
	k = (long)(p * (double)(n - 1));
	return (double)v[k] / 1000.0;
}

struct xfer {
	CURL		*e;
	char		*body;
	long		 i;
};

int
main(int argc, char **argv)
{
	struct curl_slist *hdrs = NULL;
	struct MHD_Daemon *d;
	struct xfer *xf;
	CURLM *m;
	CURLMsg *msg;
	const char *base;
	double rate, secs;
	int64_t t0, *lat, *pl;
	long n, i, next = 0, nl = 0, np = 0;
	int running, left, port, inflight = 0;
	char url[512];

	if (argc != 6) {
		fprintf(stderr, "usage: e2e BASE SINK_PORT RATE SECONDS RUNID\n");
		return 2;
	}
	base = argv[1];
	port = atoi(argv[2]);
	rate = atof(argv[3]);
	secs = atof(argv[4]);
	snprintf(runid, sizeof(runid), "%s", argv[5]);
	n = (long)(rate * secs);
	if (n <= 0 || n > MAX_OBS)
		return 2;
	sent_us = calloc((size_t)n, sizeof(int64_t));
	recv_us = calloc((size_t)n, sizeof(int64_t));
	post_us = calloc((size_t)n, sizeof(int64_t));
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
	    (uint16_t)port, NULL, NULL, sink, NULL, MHD_OPTION_THREAD_POOL_SIZE,
	    1u, MHD_OPTION_NOTIFY_COMPLETED, sink_done, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "e2e: cannot listen on %d\n", port);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	hdrs = curl_slist_append(hdrs, "Content-Type: application/fhir+json");
	hdrs = curl_slist_append(hdrs, "Prefer: return=minimal");
	hdrs = curl_slist_append(hdrs, "Expect:");
	snprintf(url, sizeof(url), "%s/Observation", base);
	t0 = now_us();
	while (next < n || inflight > 0) {
		/* Start every request whose time has come (fixed rate). */
		while (next < n && inflight < MAX_INFLIGHT &&
		    now_us() >= t0 + (int64_t)((double)next / rate * 1e6)) {
			xf = calloc(1, sizeof(*xf));
			xf->i = next;
			if (asprintf(&xf->body, "{\"resourceType\":\"Observation\","
			    "\"id\":\"e2e-%s-%ld\",\"status\":\"final\",\"code\":{"
			    "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
			    "\"17861-6\"}]},\"subject\":{\"reference\":"
			    "\"Patient/e2e-%s-%ld\"},\"effectiveDateTime\":"
			    "\"2026-11-20T08:00:00Z\",\"valueQuantity\":{\"value\":"
			    "10.8,\"unit\":\"mg/dL\",\"system\":"
			    "\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"}}",
			    runid, next, runid, next) < 0)
				return 1;
			xf->e = curl_easy_init();
			curl_easy_setopt(xf->e, CURLOPT_URL, url);
			curl_easy_setopt(xf->e, CURLOPT_HTTPHEADER, hdrs);
			curl_easy_setopt(xf->e, CURLOPT_POSTFIELDS, xf->body);
			curl_easy_setopt(xf->e, CURLOPT_PRIVATE, xf);
			curl_easy_setopt(xf->e, CURLOPT_NOSIGNAL, 1L);
			sent_us[next] = now_us();
			curl_multi_add_handle(m, xf->e);
			inflight++;
			next++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &xf);
			curl_easy_getinfo(xf->e, CURLINFO_RESPONSE_CODE, &code);
			if (code == 201 || code == 200)
				post_us[xf->i] = now_us() - sent_us[xf->i];
			curl_multi_remove_handle(m, xf->e);
			curl_easy_cleanup(xf->e);
			free(xf->body);
			free(xf);
			inflight--;
		}
		curl_multi_poll(m, NULL, 0, 1, NULL);
	}
	/* Let the last deliveries arrive (at most 10 s). */
	for (i = 0; i < 1000 && atomic_load(&delivered) < n; i++)
		usleep(10000);
	lat = calloc((size_t)n, sizeof(int64_t));
	pl = calloc((size_t)n, sizeof(int64_t));
	for (i = 0; i < n; i++) {
		if (recv_us[i] > 0)
			lat[nl++] = recv_us[i] - sent_us[i];
		if (post_us[i] > 0)
			pl[np++] = post_us[i];
	}
	qsort(lat, (size_t)nl, sizeof(int64_t), cmp64);
	qsort(pl, (size_t)np, sizeof(int64_t), cmp64);
	printf("e2e sent=%ld acknowledged=%ld delivered=%ld post_p50_ms=%.2f "
	    "post_p99_ms=%.2f e2e_p50_ms=%.2f e2e_p99_ms=%.2f e2e_max_ms=%.2f\n",
	    n, np, nl, pct(pl, np, .5), pct(pl, np, .99), pct(lat, nl, .5),
	    pct(lat, nl, .99), nl > 0 ? (double)lat[nl - 1] / 1000 : 0);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	MHD_stop_daemon(d);
	free(sent_us);
	free(recv_us);
	free(post_us);
	free(lat);
	free(pl);
	return 0;
}
