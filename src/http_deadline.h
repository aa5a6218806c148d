/*
 * http_deadline.h - the request head deadline (slowloris).  Internal to the
 * http layer: http.c registers the connection callback with libmicrohttpd
 * and tells this module when a request head is complete and when a request
 * is done; a watchdog thread here cuts connections whose head is overdue.
 */
#ifndef CALCIFY_HTTP_DEADLINE_H
#define CALCIFY_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdint.h>

/*
 * Start the watchdog: from now on a connection must deliver each request
 * head (request line and headers) within timeout_ms of opening, or of the
 * previous request's completion on a kept-alive connection, or it is shut
 * down.  Call before MHD_start_daemon.  Returns 0, or -1 if the thread
 * cannot be created.
 */
int	http_deadline_start(int64_t timeout_ms);
/* Stop and join the watchdog.  Call after MHD_stop_daemon. */
void	http_deadline_stop(void);

/* MHD_OPTION_NOTIFY_CONNECTION callback: tracks every open connection. */
void	http_deadline_notify(void *cls, struct MHD_Connection *conn,
	    void **socket_context, enum MHD_ConnectionNotificationCode toe);
/* The request head on conn is complete (first access handler call). */
void	http_deadline_head_done(struct MHD_Connection *conn);
/* The request on conn is finished; the next head's clock starts now. */
void	http_deadline_request_done(struct MHD_Connection *conn);

#endif
