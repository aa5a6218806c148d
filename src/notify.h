/*
 * notify.h - the systemd service manager protocol (sd_notify(3)): READY,
 * STOPPING, STATUS and WATCHDOG.  Uses libsystemd when built with it and a
 * direct datagram to $NOTIFY_SOCKET otherwise; a no-op outside systemd.
 */
#ifndef CALCIFY_NOTIFY_H
#define CALCIFY_NOTIFY_H

#include <stdint.h>

/* Send a newline-separated state string ("READY=1\nSTATUS=..."). */
void	notify_send(const char *state);
void	notify_statusf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Watchdog interval requested by systemd in microseconds, 0 if none. */
uint64_t notify_watchdog_usec(void);

#endif
