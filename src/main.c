/*
 * main.c - calcifyd's entry point: the command line, the order in which
 * modules start and stop, signals (SIGTERM/SIGINT drain and stop, SIGHUP
 * reload) and the service manager (sd_notify readiness, status, watchdog).
 * It holds no logic of its own: every decision belongs to a module.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "models.h"
#include "notify.h"
#include "sender.h"
#include "store.h"
#include "terminology.h"
#include "util.h"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define DRAIN_SECONDS	20
#define STATUS_EVERY_US	(10 * 1000000LL)	/* STATUS= refresh */
#define SENDER_STOP_MS	5000	/* the current delivery batch may finish */
#define PROBLEMS_LOGGED	20	/* per file and load; the rest are counted */

struct options {
	const char	*config_file;
	bool		 config_given;
	const char	**overrides;
	int		 noverrides;
	bool		 foreground;
	bool		 check_only;
};

/* Configurations replaced by SIGHUP stay allocated until exit so nothing
 * that copied a pointer from them can see freed memory. */
struct config_list {
	struct config		*c;
	struct config_list	*next;
};

/* Code tables replaced by SIGHUP stay allocated until exit for the same
 * reason: requests in flight may still be reading the old one. */
struct terms_list {
	struct terminology	*t;
	struct terms_list	*next;
};

static struct config_list	*configs;
static const struct config	*cfg;
static struct terms_list	*term_tables;
static struct store		*store;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: calcifyd [-c FILE] [-o section.key=value]... [--foreground]\n"
"                [--check-config] [--version] [--help]\n"
"\n"
"  -c, --config FILE    configuration file (default %s)\n"
"  -o, --option K=V     override one key, e.g. -o http.listen=127.0.0.1:9000\n"
"  -f, --foreground     stay in the foreground and log to stderr\n"
"  -n, --check-config   check configuration, model and code table; exit 0 or 2\n"
"      --list-keys      list every configuration key with type and default\n"
"      --dump-config    print the effective configuration\n"
"  -V, --version        print the version\n"
"  -h, --help           print this help\n"
"\n"
"Exit status: 0 clean stop, 1 runtime failure, 2 usage or configuration error.\n"
"See calcifyd(8) and calcifyd.conf(5).\n", config_default_path());
}

static void
keep_config(struct config *c)
{
	struct config_list *l = xmalloc(sizeof(*l));

	l->c = c;
	l->next = configs;
	configs = l;
	cfg = c;
}

static void
free_configs(void)
{
	struct config_list *l, *n;

	for (l = configs; l != NULL; l = n) {
		n = l->next;
		config_free(l->c);
		free(l);
	}
	configs = NULL;
}

static void
keep_terms(struct terminology *t)
{
	struct terms_list *l = xmalloc(sizeof(*l));

	l->t = t;
	l->next = term_tables;
	term_tables = l;
}

static void
free_terms(void)
{
	struct terms_list *l, *n;

	for (l = term_tables; l != NULL; l = n) {
		n = l->next;
		terminology_free(l->t);
		free(l);
	}
	term_tables = NULL;
}

static struct config *
load_config(const struct options *o, FILE *errf)
{
	return config_load(o->config_file, !o->config_given, o->overrides,
	    o->noverrides, errf);
}

/* Load the inbound token set named by c; NULL with *failed = false when
 * auth is off. */
static struct auth *
load_auth(const struct config *c, bool *failed)
{
	struct auth *a;

	*failed = false;
	if (c->cf_http_auth_token_file[0] == '\0')
		return NULL;
	a = auth_load(c->cf_http_auth_token_file, stderr);
	if (a == NULL)
		*failed = true;
	return a;
}

/*
 * The loaders write their problems to a stream, one a line, as
 * "FILE: $.json.path: problem" (model), "FILE:LINE: problem" (code
 * table) or "FILE: problem".  In the daemon that stream is captured and
 * each problem becomes a warning of its own, so the reason reaches the
 * journal with a priority (or syslog once detached, when stderr is
 * /dev/null) rather than a bare stderr line.  --check-config keeps
 * writing to stderr: a person reads it.
 */
struct capture {
	char	*cp_text;
	size_t	 cp_len;
	FILE	*cp_fp;
};

/* The stream to hand the loader: the capture, or stderr when memory for
 * one is short (the reasons are then at least not lost). */
static FILE *
capture_begin(struct capture *c)
{
	c->cp_text = NULL;
	c->cp_len = 0;
	c->cp_fp = open_memstream(&c->cp_text, &c->cp_len);
	return c->cp_fp != NULL ? c->cp_fp : stderr;
}

/* One problem line as "WHAT problem file=F [line=N] [json_path=P]
 * reason="..."" at warning level.  Modifies line. */
static void
log_problem(const char *what, const char *file, char *line)
{
	size_t flen = strlen(file);
	char *p = line, *q, *end, *path = NULL;
	long ln = 0;
	struct buf b;

	for (q = line; *q != '\0'; q++)
		if (*q == '"')
			*q = '\'';
	if (strncmp(p, file, flen) == 0 && p[flen] == ':') {
		p += flen + 1;
		if (isdigit((unsigned char)*p)) {
			ln = strtol(p, &end, 10);
			if (*end == ':')
				p = end + 1;
			else
				ln = 0;
		}
		p += strspn(p, " ");
		if (*p == '$' && (q = strstr(p, ": ")) != NULL) {
			*q = '\0';
			path = p;
			p = q + 2;
		}
	}
	buf_init(&b);
	buf_printf(&b, "%s problem file=%s", what, file);
	if (ln > 0)
		buf_printf(&b, " line=%ld", ln);
	if (path != NULL)
		buf_printf(&b, " json_path=%s", path);
	buf_printf(&b, " reason=\"%s\"", p);
	log_warnx("%s", b.b_data);
	buf_free(&b);
}

/* Log what the loader wrote and release the capture. */
static void
capture_end(struct capture *c, const char *what, const char *file)
{
	char *line, *next;
	int n = 0;

	if (c->cp_fp == NULL)
		return;
	fclose(c->cp_fp);
	for (line = c->cp_text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (++n <= PROBLEMS_LOGGED)
			log_problem(what, file, line);
	}
	if (n > PROBLEMS_LOGGED)
		log_warnx("%s problem file=%s reason=\"%d more problems not "
		    "shown (calcifyd --check-config lists them all)\"", what,
		    file, n - PROBLEMS_LOGGED);
	free(c->cp_text);
	c->cp_fp = NULL;
}

static struct model *
load_model_logged(const char *path)
{
	struct capture c;
	struct model *m;

	m = model_load(path, capture_begin(&c));
	capture_end(&c, "model", path);
	return m;
}

static struct terminology *
load_terms_logged(const char *path)
{
	struct capture c;
	struct terminology *t;

	t = terminology_load(path, capture_begin(&c));
	capture_end(&c, "code table", path);
	return t;
}

/* --check-config: everything a start would read, without starting. */
static int
check_config(const struct options *o)
{
	struct config *c;
	struct auth *a;
	bool failed;
	int rc = 0;

	if ((c = load_config(o, stderr)) == NULL)
		return EXIT_USAGE;
	struct model *m;
	struct terminology *t;

	a = load_auth(c, &failed);
	if (failed)
		rc = EXIT_USAGE;
	auth_free(a);
	if ((m = model_load(c->cf_model_path, stderr)) == NULL)
		rc = EXIT_USAGE;
	model_unref(m);
	if ((t = terminology_load(c->cf_model_codes, stderr)) == NULL)
		rc = EXIT_USAGE;
	terminology_free(t);
	if (rc == 0)
		printf("%s: configuration OK\n",
		    c->cf_file != NULL ? c->cf_file : "built-in defaults");
	config_free(c);
	return rc;
}

/*
 * Detach from the terminal.  The parent waits until the child reports
 * readiness through a pipe so its exit status tells whether start-up
 * worked.  Returns the write end the child must signal, or -1.
 */
static int
daemonize(void)
{
	int pfd[2], devnull;
	pid_t pid;
	char c;

	if (pipe(pfd) == -1)
		log_fatal("pipe");
	pid = fork();
	if (pid == -1)
		log_fatal("fork");
	if (pid > 0) {
		close(pfd[1]);
		while (read(pfd[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(c == 'R' ? 0 : EXIT_RUNTIME);
	}
	close(pfd[0]);
	if (setsid() == -1)
		log_fatal("setsid");
	pid = fork();
	if (pid == -1)
		log_fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		log_fatal("chdir /");
	log_use_syslog();
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	return pfd[1];
}

/*
 * The model and the code table reload independently: a broken file keeps
 * the running one (issue 5) and says why.
 */
static void
reload_model_and_codes(bool *model_ok, bool *codes_ok)
{
	struct model *m, *cur;
	struct terminology *t;

	m = load_model_logged(cfg->cf_model_path);
	if (m == NULL) {
		metrics_inc(M_MODEL_FAIL);
		cur = ingest_model();
		log_warnx("reload: model rejected file=%s; keeping model id=%s "
		    "version=%s", cfg->cf_model_path, cur->m_id, cur->m_version);
		model_unref(cur);
	} else {
		metrics_inc(M_MODEL_OK);
		metrics_set_model(m->m_id, m->m_version);
		log_notice("model loaded id=%s version=%s digest=%.12s", m->m_id,
		    m->m_version, m->m_digest);
		ingest_set_model(m);
	}
	t = load_terms_logged(cfg->cf_model_codes);
	if (t == NULL) {
		metrics_inc(M_CODES_FAIL);
		log_warnx("reload: code table rejected file=%s; keeping the "
		    "running one", cfg->cf_model_codes);
	} else {
		metrics_inc(M_CODES_OK);
		keep_terms(t);
		ingest_set_terminology(t);
	}
	*model_ok = m != NULL;
	*codes_ok = t != NULL;
}

static void
reload(const struct options *o)
{
	struct config *nc;
	struct auth *a;
	bool failed, model_ok, codes_ok;

	log_notice("reload requested (SIGHUP)");
	notify_send("RELOADING=1");
	nc = load_config(o, stderr);
	if (nc == NULL) {
		log_warnx("reload failed: configuration invalid; keeping the "
		    "running configuration");
		notify_send("READY=1");
		return;
	}
	a = load_auth(nc, &failed);
	if (failed) {
		log_warnx("reload failed: http.auth_token_file invalid; keeping "
		    "the running configuration");
		config_free(nc);
		notify_send("READY=1");
		return;
	}
	if (strcmp(nc->cf_http_listen, cfg->cf_http_listen) != 0 ||
	    nc->cf_http_threads != cfg->cf_http_threads ||
	    nc->cf_http_max_connections != cfg->cf_http_max_connections ||
	    nc->cf_http_max_connections_per_ip !=
	    cfg->cf_http_max_connections_per_ip ||
	    nc->cf_http_request_timeout_ms !=
	    cfg->cf_http_request_timeout_ms ||
	    strcmp(nc->cf_http_tls_cert, cfg->cf_http_tls_cert) != 0 ||
	    strcmp(nc->cf_store_path, cfg->cf_store_path) != 0 ||
	    strcmp(nc->cf_hospital_base_url, cfg->cf_hospital_base_url) != 0)
		log_warnx("reload: http.listen, http.threads, "
		    "http.max_connections*, http.request_timeout_ms, "
		    "http.tls_*, store.path and hospital.base_url take effect "
		    "only after a restart");
	if (cfg->cf_hospital_base_url[0] != '\0' &&
	    sender_reconfigure(nc) == -1) {
		log_warnx("reload failed: hospital authentication material "
		    "invalid; keeping the running configuration");
		auth_free(a);
		config_free(nc);
		notify_send("READY=1");
		return;
	}
	keep_config(nc);
	log_set_level((enum log_level)cfg->cf_log_level);
	http_set_auth(a);
	http_reconfigure(cfg);
	ingest_reconfigure(cfg);
	reload_model_and_codes(&model_ok, &codes_ok);
	log_notice("reload done model=%s codes=%s", model_ok ? "ok" : "failed",
	    codes_ok ? "ok" : "failed");
	notify_send("READY=1");
}

/* Store, code table, model, writer: in this order; stop_modules() undoes
 * them in reverse. */
static int
start_modules(void)
{
	struct terminology *t;
	struct model *m;
	uint8_t salt[32];

	store = store_open(cfg, false, stderr);
	if (store == NULL)
		return -1;
	store->s_ops->salt(store, salt);
	log_set_patient_salt(salt, sizeof(salt));
	t = load_terms_logged(cfg->cf_model_codes);
	if (t == NULL) {
		log_warnx("cannot load the code table file=%s",
		    cfg->cf_model_codes);
		return -1;
	}
	keep_terms(t);
	m = load_model_logged(cfg->cf_model_path);
	if (m == NULL) {
		log_warnx("cannot load the model file=%s", cfg->cf_model_path);
		return -1;
	}
	metrics_set_model(m->m_id, m->m_version);
	log_info("model loaded id=%s version=%s digest=%.12s", m->m_id,
	    m->m_version, m->m_digest);
	if (ingest_init(store, cfg, m, t) == -1)
		return -1;
	if (cfg->cf_hospital_base_url[0] != '\0') {
		if (sender_init(store, cfg) == -1)
			return -1;
		ingest_set_outbox_hook(sender_wake);
	}
	http_fhir_init(store);
	log_info("mode=%s", cfg->cf_hospital_base_url[0] != '\0' ?
	    "delivery" : "embedded");
	return 0;
}

/* The sender's last batch, then the writer, which answers every job still
 * queued (resuming their connections): after this no request is deferred,
 * so the HTTP server may stop. */
static void
stop_workers(void)
{
	sender_fini(SENDER_STOP_MS);
	ingest_fini();
}

static void
stop_modules(void)
{
	stop_workers();
	models_fini();
	store_close(store);
	store = NULL;
	free_terms();
}

/*
 * Stop: refuse new connections, let requests in flight finish within
 * DRAIN_SECONDS (a request whose body still uploads is one of them: see
 * http_req_admissible()).  A second SIGTERM or SIGINT here ends the
 * process at once with EXIT_RUNTIME; after the drain run() hands those
 * signals their default action (calcifyd(8) SIGNALS).
 */
static void
drain(const sigset_t *set)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int64_t deadline = util_mono_us() + DRAIN_SECONDS * 1000000LL;
	int sig;

	notify_send("STOPPING=1\nSTATUS=draining requests");
	http_set_ready(false);
	http_quiesce();
	while (http_inflight() > 0 && util_mono_us() < deadline) {
		sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_warnx("second stop signal: exiting without draining");
			_exit(EXIT_RUNTIME);
		}
	}
	if (http_inflight() > 0)
		log_warnx("stop: %ld requests still in flight after %d s",
		    http_inflight(), DRAIN_SECONDS);
	else
		log_info("stop: drained; finishing the delivery batch and the "
		    "store writer");
}

/* systemctl status shows this line: counts only, never patient data. */
static void
status_line(void)
{
	uint64_t in = metrics_get(M_RES_CREATED) + metrics_get(M_RES_UPDATED);

	if (cfg->cf_hospital_base_url[0] == '\0')
		notify_statusf("ready: %" PRIu64 " resources stored or updated, "
		    "%" PRIu64 " assessments (embedded mode)", in,
		    metrics_get(M_ASSESS_NEW));
	else
		notify_statusf("ready: %" PRIu64 " resources stored or updated, "
		    "%" PRIu64 " assessments, outbox %.0f waiting (oldest "
		    "%.0f s), %.0f dead letters", in, metrics_get(M_ASSESS_NEW),
		    metrics_gauge_get(MG_OUTBOX_DEPTH),
		    metrics_gauge_get(MG_OUTBOX_AGE),
		    metrics_gauge_get(MG_DEAD_LETTERS));
}

static int
run(const struct options *o)
{
	sigset_t set, stopset;
	struct auth *a;
	struct timespec tick;
	uint64_t wd_usec;
	int64_t next_wd = 0, next_tick = 0, next_status = 0;
	int ready_fd = -1, sig;
	bool failed;

	log_init((enum log_level)cfg->cf_log_level, "calcifyd");
	a = load_auth(cfg, &failed);
	if (failed)
		return EXIT_USAGE;
	if (!o->foreground)
		ready_fd = daemonize();

	/* Signals are taken synchronously by this thread only. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	log_info("starting version=%s config=%s", PACKAGE_VERSION,
	    cfg->cf_file != NULL ? cfg->cf_file : "(defaults)");
	/* Listen first: while the store opens (a migration, a large WAL to
	 * recover) and the model loads, /healthz answers and /readyz and
	 * every patient-data route answer 503 with Retry-After. */
	http_set_auth(a);
	if (http_start(cfg) == -1) {
		http_stop();
		return EXIT_RUNTIME;
	}
	notify_send("STATUS=opening the store and loading the model");
	if (start_modules() == -1) {
		stop_workers();
		http_stop();
		stop_modules();
		return EXIT_RUNTIME;
	}
	http_set_ready(true);
	notify_send("READY=1\nSTATUS=ready");
	if (ready_fd != -1) {
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
	}
	log_info("ready");

	wd_usec = notify_watchdog_usec();
	for (;;) {
		tick.tv_sec = 1;
		tick.tv_nsec = 0;
		if (wd_usec > 0 && wd_usec < 4000000) {
			tick.tv_sec = 0;
			tick.tv_nsec = (long)(wd_usec / 4) * 1000;
		}
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_notice("stop requested signal=%s",
			    sig == SIGTERM ? "TERM" : "INT");
			break;
		}
		if (sig == SIGHUP)
			reload(o);
		if (cfg->cf_hospital_base_url[0] != '\0' &&
		    util_mono_us() >= next_tick) {
			sender_tick(cfg);
			next_tick = util_mono_us() + 1000000;
		}
		if (util_mono_us() >= next_status) {
			status_line();
			next_status = util_mono_us() + STATUS_EVERY_US;
		}
		/* Ping only while the store writer shows signs of life: a
		 * wedged writer must let systemd restart us. */
		if (wd_usec > 0 && util_mono_us() >= next_wd &&
		    util_mono_us() - ingest_heartbeat() < (int64_t)wd_usec) {
			notify_send("WATCHDOG=1");
			next_wd = util_mono_us() + (int64_t)wd_usec / 2;
		}
	}
	drain(&set);
	/* From here a second stop signal takes its default action, ending
	 * the process at once even while the delivery batch and the writer
	 * finish: every answered request is committed already. */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &stopset, NULL);
	stop_workers();
	http_stop();
	stop_modules();
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "list-keys", no_argument, NULL, 'L' },
		{ "dump-config", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o;
	struct config *c;
	bool dump = false;
	int ch, rc;

	memset(&o, 0, sizeof(o));
	o.config_file = config_default_path();
	o.overrides = xcalloc((size_t)argc, sizeof(char *));
	log_init(LOG_LVL_INFO, "calcifyd");
	while ((ch = getopt_long(argc, argv, "c:o:fnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config_file = optarg;
			o.config_given = true;
			break;
		case 'o':
			o.overrides[o.noverrides++] = optarg;
			break;
		case 'f':
			o.foreground = true;
			break;
		case 'n':
			o.check_only = true;
			break;
		case 'L':
			config_list_keys(stdout);
			free((void *)o.overrides);
			return 0;
		case 'D':
			dump = true;
			break;
		case 'V':
			printf("calcifyd %s\n", PACKAGE_VERSION);
			free((void *)o.overrides);
			return 0;
		case 'h':
			usage(stdout);
			free((void *)o.overrides);
			return 0;
		default:
			usage(stderr);
			free((void *)o.overrides);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "calcifyd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		free((void *)o.overrides);
		return EXIT_USAGE;
	}
	if (o.check_only) {
		rc = check_config(&o);
		free((void *)o.overrides);
		return rc;
	}
	if ((c = load_config(&o, stderr)) == NULL) {
		free((void *)o.overrides);
		return EXIT_USAGE;
	}
	if (dump) {
		config_dump(c, stdout);
		config_free(c);
		free((void *)o.overrides);
		return 0;
	}
	keep_config(c);
	rc = run(&o);
	free_configs();
	free((void *)o.overrides);
	return rc;
}
