/*
 * notify.c - sd_notify with or without libsystemd.  Owns no state; must not
 * log at info level on every call (the watchdog pings often).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"
#include "util.h"

#ifndef HAVE_SYSTEMD
/* The protocol is one datagram to the AF_UNIX socket in $NOTIFY_SOCKET
 * ('@' prefix = abstract namespace). */
static void
raw_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	size_t pl;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	pl = strlen(path);
	if (pl >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, pl);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, len) == -1)
		log_debug("notify: sendto failed errno=%d", errno);
	close(fd);
}
#endif

void
notify_send(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	raw_notify(state);
#endif
}

void
notify_statusf(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(msg);
}

uint64_t
notify_watchdog_usec(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
	return 0;
#else
	const char *s = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	long long v, p;

	if (s == NULL || util_parse_ll(s, 1, INT64_MAX, &v) == -1)
		return 0;
	if (pid != NULL && (util_parse_ll(pid, 1, INT32_MAX, &p) == -1 ||
	    p != (long long)getpid()))
		return 0;
	return (uint64_t)v;
#endif
}
