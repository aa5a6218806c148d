/*
 * replay_main.c - calcify-replay: replay FHIR files through calcifyd.
 * Options, the libcurl multi loop (concurrency, rate, Retry-After), the
 * progress display and polling for assessments.  See calcify-replay(1).
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "replay.h"

#define EX_OK		0
#define EX_REJECTED	1
#define EX_USAGE	2
#define EX_UNREACHABLE	3
#define MAX_CONC	256
#define MAX_TRIES	6	/* per request, for 429/503 */

struct options {
	const char	*base;
	long		 concurrency;
	double		 rate;
	bool		 as_batch, dry_run, fail_fast, wait, json, quiet;
	double		 wait_timeout;
	char		*token;
};

struct slot {
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct replay_req	*req;
	struct buf		 resp;
	char			 retry_after[32];
	int64_t			 date_ms;	/* the answer's Date, or 0 */
};

static struct options		 O;
static struct replay_stats	 S;
static struct slot		 slots[MAX_CONC];
static bool			 tty;
static int64_t			 t0, last_draw;
static long			 files_total, files_done;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: calcify-replay [options] PATH...\n"
"\n"
"Send FHIR resources and Bundles (*.json, *.ndjson; directories are walked\n"
"in name order) to calcifyd and summarise what it did with them.\n"
"\n"
"  -b, --base URL          calcifyd FHIR base (default http://127.0.0.1:8080/fhir)\n"
"  -c, --concurrency N     requests in flight (default 4)\n"
"  -r, --rate R            at most R requests per second (default unlimited)\n"
"      --as-batch          wrap single resources (and NDJSON lines, 100 at a\n"
"                          time) in batch Bundles\n"
"  -t, --token-file FILE   send 'Authorization: Bearer <token>'\n"
"  -n, --dry-run           parse and report only; send nothing\n"
"      --fail-fast         stop at the first bad file or rejected resource\n"
"  -w, --wait-assessments  afterwards, wait for each patient's RiskAssessment\n"
"      --wait-timeout S    how long to wait for them (default 30)\n"
"      --json              print the summary as JSON on standard output\n"
"  -q, --quiet             no progress output\n"
"  -h, --help              this help\n"
"\n"
"Exit status: 0 everything accepted, 1 something rejected or a bad file,\n"
"2 usage error, 3 calcifyd unreachable.  See calcify-replay(1).\n");
}

/* --- progress ------------------------------------------------------------- */

static void
progress(bool final)
{
	int64_t now = util_mono_us();
	double secs = (double)(now - t0) / 1e6, rate, eta;
	char bar[31];
	int i, fill;

	if (O.quiet || O.json)
		return;
	if (!final && now - last_draw < (tty ? 100000 : 5000000))
		return;
	last_draw = now;
	rate = secs > 0 ? (double)S.resources / secs : 0;
	eta = files_done > 0 && files_done < files_total ?
	    secs / (double)files_done * (double)(files_total - files_done) : 0;
	if (tty) {
		fill = files_total > 0 ? (int)(30 * files_done / files_total) : 30;
		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[30] = '\0';
		fprintf(stderr, "\r[%s] %ld/%ld files  %ld resources  %.0f/s  "
		    "ETA %02d:%02d ", bar, files_done, files_total,
		    S.resources, rate, (int)eta / 60, (int)eta % 60);
		if (final)
			fputc('\n', stderr);
	} else if (!final)
		fprintf(stderr, "calcify-replay: %ld/%ld files, %ld resources, "
		    "%.0f/s\n", files_done, files_total, S.resources, rate);
}

/* --- HTTP ---------------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	buf_append(b, p, size * n);
	return size * n;
}

/* The value of header "name:" in the line p (len bytes), into out. */
static bool
header_value(const char *p, size_t len, const char *name, char *out,
    size_t outsz)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (len <= nl || strncasecmp(p, name, nl) != 0)
		return false;
	v = p + nl;
	while (*v == ' ')
		v++;
	vl = len - (size_t)(v - p);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (vl >= outsz)
		return false;
	memcpy(out, v, vl);
	out[vl] = '\0';
	return true;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n;
	char date[64];
	int64_t ms;

	(void)header_value(p, len, "Retry-After:", s->retry_after,
	    sizeof(s->retry_after));
	if (header_value(p, len, "Date:", date, sizeof(date)) &&
	    util_parse_http_date(date, &ms) == 0)
		s->date_ms = ms;
	return len;
}

static void
common_opts(CURL *e, struct curl_slist **hdrs)
{
	char *h;

	*hdrs = curl_slist_append(*hdrs, "Accept: application/fhir+json");
	if (O.token != NULL) {
		h = xasprintf("Authorization: Bearer %s", O.token);
		*hdrs = curl_slist_append(*hdrs, h);
		free(h);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "calcify-replay/" PACKAGE_VERSION);
}

static void
start(CURLM *m, struct slot *s, struct replay_req *r)
{
	char *url = xasprintf("%s%s", O.base, r->rr_path);

	s->req = r;
	s->easy = curl_easy_init();
	s->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/fhir+json");
	/* The outcome says whether a 200 stored a new version or found the
	 * resource unchanged, which --wait-assessments needs to know. */
	s->hdrs = curl_slist_append(s->hdrs, "Prefer: return=OperationOutcome");
	s->hdrs = curl_slist_append(s->hdrs, "Expect:");
	common_opts(s->easy, &s->hdrs);
	buf_init(&s->resp);
	s->retry_after[0] = '\0';
	s->date_ms = 0;
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, r->rr_body);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)r->rr_len);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->resp);
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	free(url);
	r->rr_tries++;
	curl_multi_add_handle(m, s->easy);
}

static void
slot_clear(CURLM *m, struct slot *s)
{
	curl_multi_remove_handle(m, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->hdrs);
	buf_free(&s->resp);
	memset(s, 0, sizeof(*s));
}

/* Requests waiting to be (re)sent, in order; retries go to the front. */
static struct replay_req *queue_head, *queue_tail;
static struct replay_req *retry_head;
static int64_t retry_at;

static struct replay_req *
next_request(void)
{
	struct replay_req *r;

	if (retry_head != NULL && util_mono_us() >= retry_at) {
		r = retry_head;
		retry_head = r->rr_next;
		r->rr_next = NULL;
		return r;
	}
	if ((r = queue_head) != NULL) {
		queue_head = r->rr_next;
		if (queue_head == NULL)
			queue_tail = NULL;
		r->rr_next = NULL;
	}
	return r;
}

/*
 * Read files[*next] (advancing *next) and queue its requests, or account
 * for them at once in a dry run.  Returns 1 when a file was read (even a
 * bad one), 0 when there are no more files, -1 when --fail-fast stops on
 * a bad file.
 */
static int
load_file(char **files, int *next)
{
	struct replay_req *head = NULL, *tail = NULL, *n;
	char err[512];
	int ignored = 0;
	const char *f = files[*next];

	if (f == NULL)
		return 0;
	(*next)++;
	S.files++;
	err[0] = '\0';
	if (replay_file_requests(f, O.as_batch, &head, &tail, &ignored, err,
	    sizeof(err)) == -1) {
		replay_bad_file(&S, err);
		if (!O.json)
			fprintf(stderr, "%s%s\n", tty ? "\r" : "", err);
		for (; head != NULL; head = n) {
			n = head->rr_next;
			replay_req_free(head);
		}
		files_done++;
		progress(false);
		return O.fail_fast ? -1 : 1;
	}
	S.ignored += ignored;
	if (ignored > 0 && !O.quiet && !O.json)
		fprintf(stderr, "%s%s\n", tty ? "\r" : "", err);
	if (O.dry_run || head == NULL) {
		for (; head != NULL; head = n) {
			n = head->rr_next;
			S.requests++;
			S.resources += head->rr_nres;
			replay_req_free(head);
		}
		files_done++;
		progress(false);
		return 1;
	}
	tail->rr_file_end = true;
	if (queue_tail != NULL)
		queue_tail->rr_next = head;
	else
		queue_head = head;
	queue_tail = tail;
	return 1;
}

/*
 * Send every file's requests.  The next file is read while earlier ones
 * are in flight, but only when the queue has run dry, so memory stays
 * bounded by about one file's requests plus those in flight; one
 * connection pool (keep-alive) serves the whole run.  Returns false when
 * --fail-fast stopped early or the server proved unreachable before
 * anything was accepted.
 */
static bool
send_all(char **files)
{
	struct replay_rate rate;
	struct replay_req *r;
	struct slot *s;
	CURLMsg *msg;
	CURLM *m = curl_multi_init();
	long status;
	int running = 0, left, i, inflight = 0, next_file = 0, lr;
	int64_t wait;
	bool stop = false, more = true;

	replay_rate_init(&rate, O.rate, util_mono_us());
	while (!stop) {
		/* Keep the queue fed while a slot is free. */
		while (more && queue_head == NULL && inflight < O.concurrency) {
			lr = load_file(files, &next_file);
			if (lr == 0)
				more = false;
			else if (lr < 0)
				stop = true, more = false;
		}
		/* Fill free slots, within the rate. */
		for (i = 0; i < O.concurrency && !stop; i++) {
			if (slots[i].easy != NULL)
				continue;
			if (queue_head == NULL && (retry_head == NULL ||
			    util_mono_us() < retry_at))
				break;
			if ((wait = replay_rate_take(&rate,
			    util_mono_us())) > 0)
				break;
			if ((r = next_request()) == NULL)
				break;
			start(m, &slots[i], r);
			inflight++;
		}
		if (inflight == 0 && queue_head == NULL && retry_head == NULL &&
		    !more)
			break;
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
			status = 0;
			if (msg->data.result == CURLE_OK)
				curl_easy_getinfo(s->easy,
				    CURLINFO_RESPONSE_CODE, &status);
			r = s->req;
			if ((status == 429 || status == 503) &&
			    r->rr_tries < MAX_TRIES) {
				/* Back-pressure: wait as told and resend. */
				long ra = atol(s->retry_after);

				S.retries++;
				retry_at = util_mono_us() +
				    (ra > 0 ? ra : 1) * 1000000LL;
				r->rr_next = retry_head;
				retry_head = r;
				slot_clear(m, s);
				inflight--;
				continue;
			}
			if (s->date_ms > 0)
				replay_server_date(&S, s->date_ms);
			replay_account(&S, r, status, s->resp.b_data,
			    s->resp.b_len);
			if (status == 401) {
				/* Every further request would be refused the
				 * same way: say why once (on stderr, even with
				 * --json) and stop. */
				fprintf(stderr, "%scalcify-replay: calcifyd "
				    "refused %s (401 Unauthorized)\n",
				    tty ? "\r" : "", O.token != NULL ?
				    "the token from --token-file" : "the "
				    "request: it needs a token (--token-file)");
				stop = true;
			}
			if (r->rr_file_end)
				files_done++;
			if (O.fail_fast && (S.rejected > 0))
				stop = true;
			if (status == 0 && S.accepted == 0 &&
			    msg->data.result == CURLE_COULDNT_CONNECT)
				stop = true;
			replay_req_free(r);
			slot_clear(m, s);
			inflight--;
			progress(false);
		}
		if (!stop)
			curl_multi_poll(m, NULL, 0, 20, NULL);
	}
	while (queue_head != NULL) {
		r = next_request();
		replay_req_free(r);
	}
	for (i = 0; i < MAX_CONC; i++)
		if (slots[i].easy != NULL) {
			replay_req_free(slots[i].req);
			slot_clear(m, &slots[i]);
		}
	curl_multi_cleanup(m);
	return !stop;
}

/*
 * After sending: poll each patient's newest assessment until it reflects
 * this run (replay_assessment_state: recorded since calcifyd's first answer
 * of the run, or any one for a patient none of whose data changed), or the
 * wait times out.  calcifyd assesses in the transaction that stores the
 * data, so normally the first look finds it; an older one is waited past,
 * never reported as the result.
 */
static void
wait_assessments(void)
{
	CURL *e = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	int64_t deadline = util_mono_us() + (int64_t)(O.wait_timeout * 1e6);
	struct buf b;
	size_t i;
	long status;
	char *url, *esc;

	common_opts(e, &hdrs);
	buf_init(&b);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	for (i = 0; i < S.npatients; i++) {
		esc = curl_easy_escape(e, S.patients[i], 0);
		url = xasprintf("%s/RiskAssessment?subject=%s&_count=1", O.base,
		    esc);
		curl_free(esc);
		curl_easy_setopt(e, CURLOPT_URL, url);
		for (;;) {
			buf_reset(&b);
			status = 0;
			if (curl_easy_perform(e) == CURLE_OK)
				curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE,
				    &status);
			if (status == 200 && b.b_len > 0 &&
			    replay_assessment_state(&S, i, b.b_data, b.b_len) ==
			    REPLAY_RA_CURRENT)
				break;
			if (util_mono_us() >= deadline)
				break;
			usleep(200000);
		}
		replay_account_assessment(&S, i, status == 200 &&
		    b.b_data != NULL ? b.b_data : "", status == 200 ? b.b_len : 0);
		free(url);
	}
	buf_free(&b);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "as-batch", no_argument, NULL, 'B' },
		{ "token-file", required_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "fail-fast", no_argument, NULL, 'F' },
		{ "wait-assessments", no_argument, NULL, 'w' },
		{ "wait-timeout", required_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **files, err[512], *base;
	long long ll;
	int ch, missing, i, rc;
	size_t bl;

	O.base = "http://127.0.0.1:8080/fhir";
	O.concurrency = 4;
	O.wait_timeout = 30;
	while ((ch = getopt_long(argc, argv, "b:c:r:t:nwqh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			O.base = optarg;
			break;
		case 'c':
			if (util_parse_ll(optarg, 1, MAX_CONC, &ll) == -1) {
				fprintf(stderr, "calcify-replay: --concurrency "
				    "must be 1-%d\n", MAX_CONC);
				return EX_USAGE;
			}
			O.concurrency = (long)ll;
			break;
		case 'r':
			if (util_parse_double(optarg, 0.001, 1e7, &O.rate) ==
			    -1) {
				fprintf(stderr, "calcify-replay: --rate must be "
				    "a positive number\n");
				return EX_USAGE;
			}
			break;
		case 'B':
			O.as_batch = true;
			break;
		case 't':
			if ((O.token = replay_read_token(optarg, err,
			    sizeof(err))) == NULL) {
				fprintf(stderr, "calcify-replay: %s\n", err);
				return EX_USAGE;
			}
			break;
		case 'n':
			O.dry_run = true;
			break;
		case 'F':
			O.fail_fast = true;
			break;
		case 'w':
			O.wait = true;
			break;
		case 'W':
			if (util_parse_double(optarg, 0, 86400,
			    &O.wait_timeout) == -1) {
				fprintf(stderr, "calcify-replay: --wait-timeout "
				    "must be seconds\n");
				return EX_USAGE;
			}
			break;
		case 'J':
			O.json = true;
			break;
		case 'q':
			O.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "calcify-replay: no files or directories "
		    "given\n");
		usage(stderr);
		return EX_USAGE;
	}
	if (!util_has_prefix(O.base, "http://") &&
	    !util_has_prefix(O.base, "https://")) {
		fprintf(stderr, "calcify-replay: --base must be an http(s) "
		    "URL\n");
		return EX_USAGE;
	}
	/* No trailing slash: paths are appended. */
	base = xstrdup(O.base);
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		base[--bl] = '\0';
	O.base = base;
	tty = isatty(STDERR_FILENO);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	replay_stats_init(&S);
	/* A path that does not exist is a bad file (exit 1); if nothing
	 * named exists, there is nothing to do: a usage error. */
	files = replay_list_files(argv + optind, argc - optind, &S,
	    O.json ? NULL : stderr, &missing);
	if (missing == argc - optind) {
		if (O.json)
			fprintf(stderr, "calcify-replay: %s\n", S.bad[0]);
		rc = EX_USAGE;
		goto out;
	}
	for (files_total = 0; files[files_total] != NULL; files_total++)
		;
	t0 = util_mono_us();
	if (O.dry_run) {
		int next = 0;

		while (load_file(files, &next) > 0)
			;
	} else
		(void)send_all(files);
	S.seconds = (double)(util_mono_us() - t0) / 1e6;
	progress(true);
	if (O.wait && !O.dry_run && S.accepted > 0)
		wait_assessments();
	rc = replay_exit_status(&S, O.dry_run);
	if (rc == EX_UNREACHABLE)
		fprintf(stderr, "calcify-replay: calcifyd is unreachable at "
		    "%s\n", O.base);
	if (O.json)
		replay_summary_json(&S, O.wait, stdout);
	else
		replay_summary_text(&S, O.wait, stdout);
out:
	for (i = 0; files[i] != NULL; i++)
		free(files[i]);
	free(files);
	replay_stats_free(&S);
	free(O.token);
	free(base);
	curl_global_cleanup();
	return rc;
}
