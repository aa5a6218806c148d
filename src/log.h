/*
 * log.h - the daemon's one way to say something: levels, journald-friendly
 * priority prefixes, key=value messages, and the PHI guard.
 *
 * Policy (see README "Logging"): at info level and above no patient data
 * appears -- no identifiers, names, values or codes.  A patient is named
 * only by log_patient_tag(), a salted hash stable for one store.  Values and
 * codes may be logged with log_debug() only.
 */
#ifndef CALCIFY_LOG_H
#define CALCIFY_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Sets the threshold and chooses the output form: journald priority
 * prefixes ("<6>") when stderr is the journal (JOURNAL_STREAM matches) or
 * not a terminal; otherwise a timestamped human form. */
void	log_init(enum log_level, const char *progname);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "notice", "warning", "error"; -1 if unknown. */
int	log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);
bool	log_enabled(enum log_level);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": <strerror(errno)>"; log_warnx does not. */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1).  log_fatal appends errno text. */
void	log_fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	log_fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Salt for patient tags; set once from the store (random per database, so
 * tags are stable across restarts but useless outside this installation).
 */
void	log_set_patient_salt(const unsigned char *, size_t);
/* Writes "p-" and 12 hex digits of HMAC-like SHA-256(salt, key) into out
 * (at least 16 bytes).  Safe to log at any level. */
void	log_patient_tag(const char *key, char *out, size_t size);

/* Send lines to syslog(3) (LOG_DAEMON) instead of stderr: used once the
 * daemon has detached from its terminal. */
void	log_use_syslog(void);

/* Redirect output for tests: lines are passed to fn instead of stderr. */
void	log_set_sink(void (*fn)(enum log_level, const char *line, void *),
	    void *arg);

#endif
