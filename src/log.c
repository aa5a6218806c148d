/*
 * log.c - levels, output form (journald priority prefixes or a human
 * terminal form) and the salted patient tag.  Each line is built in memory
 * and written with one write(2) so lines from different threads never
 * interleave.  This file must not know about requests or resources.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sha256.h"
#include "util.h"

static _Atomic int	 log_level = LOG_LVL_INFO;
static bool		 log_journal;
static bool		 log_syslog;
static const char	*log_prog = "calcifyd";
static unsigned char	 log_salt[32];
static size_t		 log_salt_len;
static void		(*log_sink)(enum log_level, const char *, void *);
static void		*log_sink_arg;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARNING] = "warning",
	[LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

/* True when stderr is connected to the journal (systemd.exec(5)). */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void
log_init(enum log_level lvl, const char *progname)
{
	atomic_store(&log_level, (int)lvl);
	if (progname != NULL)
		log_prog = progname;
	log_journal = stderr_is_journal() || !isatty(STDERR_FILENO);
}

void
log_set_level(enum log_level lvl)
{
	atomic_store(&log_level, (int)lvl);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	int i;

	for (i = LOG_LVL_ERR; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warn") == 0) {
		*out = LOG_LVL_WARNING;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum log_level lvl)
{
	if (lvl < LOG_LVL_ERR || lvl > LOG_LVL_DEBUG)
		return "?";
	return level_names[lvl];
}

bool
log_enabled(enum log_level lvl)
{
	return (int)lvl <= atomic_load(&log_level);
}

void
log_use_syslog(void)
{
	openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = true;
}

void
log_set_sink(void (*fn)(enum log_level, const char *, void *), void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

static void
vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char line[2048], ts[32];
	size_t n = 0;
	int r;

	if (!log_enabled(lvl))
		return;
	if (log_sink == NULL && !log_syslog) {
		if (log_journal) {
			r = snprintf(line, sizeof(line), "<%d>", (int)lvl);
		} else {
			util_format_instant(util_now_ms(), ts, sizeof(ts));
			r = snprintf(line, sizeof(line), "%s %s[%ld] %s: ", ts,
			    log_prog, (long)getpid(), level_names[lvl]);
		}
		n = r > 0 ? (size_t)r : 0;
	}
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = UTIL_MIN(n + (size_t)r, sizeof(line) - 1);
	if (errnum != 0 && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		if (r > 0)
			n = UTIL_MIN(n + (size_t)r, sizeof(line) - 1);
	}
	/* Keep one event on one line whatever the message contains. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_sink != NULL) {
		line[n] = '\0';
		log_sink(lvl, line, log_sink_arg);
		return;
	}
	if (log_syslog) {
		line[n] = '\0';
		syslog((int)lvl, "%s", line);
		return;
	}
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
}

#define LOG_FN(name, lvl, witherr)				\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	vlog(lvl, witherr ? saved : 0, fmt, ap);		\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_notice, LOG_LVL_NOTICE, 0)
LOG_FN(log_warn, LOG_LVL_WARNING, 1)
LOG_FN(log_warnx, LOG_LVL_WARNING, 0)
LOG_FN(log_err, LOG_LVL_ERR, 0)

void
log_fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_set_patient_salt(const unsigned char *salt, size_t n)
{
	log_salt_len = UTIL_MIN(n, sizeof(log_salt));
	memcpy(log_salt, salt, log_salt_len);
}

void
log_patient_tag(const char *key, char *out, size_t size)
{
	uint8_t d[SHA256_LEN];
	struct sha256 c;
	char hex[2 * SHA256_LEN + 1];

	sha256_init(&c);
	sha256_update(&c, log_salt, log_salt_len);
	sha256_update(&c, key, strlen(key));
	sha256_final(&c, d);
	util_hex(d, 6, hex);
	snprintf(out, size, "p-%s", hex);
}
