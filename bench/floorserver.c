/*
 * floorserver.c - the benchmark's floor: the fastest a bare libmicrohttpd
 * server on this machine answers a POSTed FHIR Observation, parsing the
 * body with jansson and doing nothing else (no validation, no storage, no
 * fsync).  calcifyd's ingest throughput is reported as a ratio to this,
 * measured in the same run with the same client.  Adapted from
 * ../shared/bench/floor.c.
 *
 * usage: floorserver PORT THREADS   (FLOOR_PARSE=1 to parse bodies)
 */
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct body {
	char	*buf;
	size_t	 len;
};

static const char ok[] = "{\"resourceType\":\"OperationOutcome\",\"issue\":"
    "[{\"severity\":\"information\",\"code\":\"informational\"}]}";
static int parse_bodies;

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **ctx)
{
	struct body *b = *ctx;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned code = 201;
	json_error_t e;
	json_t *j;

	if (b == NULL) {
		*ctx = calloc(1, sizeof(*b));
		return *ctx != NULL ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		char *nb = realloc(b->buf, b->len + *size + 1);

		if (nb == NULL)
			return MHD_NO;
		b->buf = nb;
		memcpy(b->buf + b->len, data, *size);
		b->len += *size;
		b->buf[b->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	if (parse_bodies && strcmp(method, "POST") == 0) {
		j = json_loadb(b->buf != NULL ? b->buf : "", b->len, 0, &e);
		if (j == NULL)
			code = 400;
		json_decref(j);
	}
	r = MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)(uintptr_t)ok,
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/fhir+json");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void
done(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_RequestTerminationCode t)
{
	struct body *b = *ctx;

	if (b != NULL) {
		free(b->buf);
		free(b);
	}
	*ctx = NULL;
}

int
main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 18080;
	unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	struct MHD_Daemon *d;

	parse_bodies = getenv("FLOOR_PARSE") != NULL;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO, (uint16_t)port, NULL, NULL, handle, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "floorserver: cannot listen on %d\n", port);
		return 1;
	}
	pause();
	MHD_stop_daemon(d);
	return 0;
}
