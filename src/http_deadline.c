/*
 * http_deadline.c - the request head deadline.  Owns the list of open
 * connections and the watchdog thread that shuts down those whose request
 * head is overdue.  Must not close a socket, answer a request or touch
 * anything libmicrohttpd owns beyond the socket descriptor.
 *
 * Why: libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout.
 * A client that sends one byte just before it expires holds a connection
 * for ever (slowloris), and enough of them exhaust http.max_connections.
 * The access handler runs only once the head is complete, so nothing in
 * the request path can see a head that never ends: a thread apart must.
 *
 * Threading (safe with MHD's thread pool):
 *  - MHD calls http_deadline_notify (STARTED, CLOSED) in the worker that
 *    owns the connection.  STARTED links a record with the socket and a
 *    deadline into the list; CLOSED unlinks it.  Both take dl_mtx.
 *  - libmicrohttpd closes the socket only after the CLOSED notification
 *    has returned, so while the watchdog holds dl_mtx every listed
 *    descriptor is still the connection's own: shutdown(2) on it cannot
 *    hit a reused descriptor.
 *  - The watchdog only ever calls shutdown(2), never close(2): the worker
 *    then sees end of file or an error, closes the connection its usual
 *    way and calls CLOSED.  MHD's state is never touched from outside its
 *    own threads.
 *  - The deadline is an atomic written by the owning worker (head done:
 *    0; request done: now + timeout) and read by the watchdog, so the
 *    request path takes no lock.  A head that completes in the same tick
 *    as its deadline may still be cut; it was at the deadline anyway.
 *
 * The body has its own deadline, checked in http.c's access handler as
 * data arrives (408); a body that stops arriving altogether is closed by
 * the idle timeout.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http_deadline.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* How often the watchdog looks: a head is cut at most this late. */
#define DL_TICK_MS	250

struct dl_conn {
	struct dl_conn		*dc_next, *dc_prev;
	int			 dc_fd;
	_Atomic int64_t		 dc_deadline_us;	/* 0: no head pending */
	bool			 dc_cut;	/* under dl_mtx */
};

static pthread_mutex_t	 dl_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 dl_cond;
static struct dl_conn	*dl_head;
static bool		 dl_stopping;	/* under dl_mtx */
static bool		 dl_running;
static pthread_t	 dl_thread;
static int64_t		 dl_timeout_us;

static struct dl_conn *
conn_record(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* Shut down every connection whose head is overdue.  Under dl_mtx. */
static void
sweep(int64_t now)
{
	struct dl_conn *c;
	int64_t d;

	for (c = dl_head; c != NULL; c = c->dc_next) {
		d = atomic_load(&c->dc_deadline_us);
		if (d == 0 || now < d || c->dc_cut || c->dc_fd < 0)
			continue;
		c->dc_cut = true;
		metrics_inc(M_TIMEOUT_HEAD);
		log_debug("http connection cut: request head not complete "
		    "within http.request_timeout_ms=%lld",
		    (long long)(dl_timeout_us / 1000));
		(void)shutdown(c->dc_fd, SHUT_RDWR);
	}
}

static void *
watchdog(void *arg)
{
	struct timespec ts;

	pthread_mutex_lock(&dl_mtx);
	while (!dl_stopping) {
		sweep(util_mono_us());
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += DL_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&dl_cond, &dl_mtx, &ts);
	}
	pthread_mutex_unlock(&dl_mtx);
	return NULL;
}

int
http_deadline_start(int64_t timeout_ms)
{
	pthread_condattr_t ca;

	if (dl_running)
		return 0;
	dl_timeout_us = timeout_ms * 1000;
	dl_stopping = false;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dl_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&dl_thread, NULL, watchdog, NULL) != 0) {
		log_warnx("cannot start the request deadline thread");
		pthread_cond_destroy(&dl_cond);
		return -1;
	}
	dl_running = true;
	return 0;
}

void
http_deadline_stop(void)
{
	struct dl_conn *c, *n;

	if (!dl_running)
		return;
	pthread_mutex_lock(&dl_mtx);
	dl_stopping = true;
	pthread_cond_signal(&dl_cond);
	pthread_mutex_unlock(&dl_mtx);
	pthread_join(dl_thread, NULL);
	pthread_cond_destroy(&dl_cond);
	dl_running = false;
	/* MHD_stop_daemon has closed every connection (and said so); free
	 * what a daemon that failed half-way may have left. */
	for (c = dl_head; c != NULL; c = n) {
		n = c->dc_next;
		free(c);
	}
	dl_head = NULL;
}

void
http_deadline_notify(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct dl_conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = xcalloc(1, sizeof(*c));
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		c->dc_fd = ci != NULL ? (int)ci->connect_fd : -1;
		atomic_store(&c->dc_deadline_us, util_mono_us() +
		    dl_timeout_us);
		pthread_mutex_lock(&dl_mtx);
		c->dc_next = dl_head;
		if (dl_head != NULL)
			dl_head->dc_prev = c;
		dl_head = c;
		pthread_mutex_unlock(&dl_mtx);
		*socket_context = c;
		return;
	}
	if ((c = *socket_context) == NULL)
		return;
	pthread_mutex_lock(&dl_mtx);
	if (c->dc_prev != NULL)
		c->dc_prev->dc_next = c->dc_next;
	else
		dl_head = c->dc_next;
	if (c->dc_next != NULL)
		c->dc_next->dc_prev = c->dc_prev;
	pthread_mutex_unlock(&dl_mtx);
	free(c);
	*socket_context = NULL;
}

void
http_deadline_head_done(struct MHD_Connection *conn)
{
	struct dl_conn *c = conn_record(conn);

	if (c != NULL)
		atomic_store(&c->dc_deadline_us, 0);
}

void
http_deadline_request_done(struct MHD_Connection *conn)
{
	struct dl_conn *c = conn_record(conn);

	if (c != NULL)
		atomic_store(&c->dc_deadline_us, util_mono_us() +
		    dl_timeout_us);
}
