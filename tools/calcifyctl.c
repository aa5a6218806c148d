/*
 * calcifyctl.c - the admin view of a calcifyd installation: status, dead
 * letters and their requeue, and a per-patient explanation for clinicians'
 * questions.  It reads the store directly (WAL: safe while the daemon
 * writes) and asks the running daemon for what only it knows (uptime).
 * Requeue is the one write: a short transaction that waits for the
 * daemon's lock.  See calcifyctl(8).
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "facts.h"
#include "fhir.h"
#include "log.h"
#include "model.h"
#include "store.h"
#include "units.h"
#include "util.h"

#define EX_OK		0
#define EX_FAIL		1
#define EX_USAGE	2

static const struct config *cfg;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: calcifyctl [-c FILE] [-o section.key=value]... COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  status                   store, delivery and daemon figures\n"
"  dead-letters [-n LIMIT]  assessments the hospital server refused\n"
"  requeue OID... | --all   put dead letters back in the delivery outbox\n"
"  explain PATIENT          latest facts and the last assessment's factors\n"
"                           (PATIENT: Patient/ID, ID, or system|value)\n"
"\n"
"calcifyctl reads the store named by the configuration (default %s)\n"
"while calcifyd runs.  explain prints patient data: use it for clinical\n"
"questions only.  See calcifyctl(8).\n", config_default_path());
}

static void
when(int64_t ms, char *out, size_t n)
{
	if (ms <= 0)
		util_strlcpy(out, "-", n);
	else
		util_format_instant(ms, out, n);
}

static void
human_age(int64_t ms, char *out, size_t n)
{
	int64_t s = ms / 1000;

	if (s < 120)
		snprintf(out, n, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(out, n, "%lldm", (long long)(s / 60));
	else if (s < 172800)
		snprintf(out, n, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, n, "%lldd", (long long)(s / 86400));
}

/* --- the running daemon ---------------------------------------------------- */

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* First token of the inbound token file, for /metrics when it needs one. */
static char *
admin_token(void)
{
	char line[1024], *name, *tok;
	FILE *fp;

	if (cfg->cf_http_auth_token_file[0] == '\0' ||
	    (fp = fopen(cfg->cf_http_auth_token_file, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#')
			continue;
		name = strtok(line, " \t\r\n");
		tok = strtok(NULL, " \t\r\n");
		if (name != NULL && tok != NULL) {
			fclose(fp);
			return xstrdup(tok);
		}
	}
	fclose(fp);
	return NULL;
}

/* GET /metrics from the daemon; false when it does not answer. */
static bool
daemon_metrics(struct buf *out)
{
	char host[256], url[512], *tok, *h;
	struct curl_slist *hdrs = NULL;
	unsigned port;
	long status = 0;
	CURL *e;
	bool ok;

	if (config_split_listen(cfg->cf_http_listen, host, sizeof(host),
	    &port) == -1 || port == 0)
		return false;
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
		util_strlcpy(host, "127.0.0.1", sizeof(host));
	if (strchr(host, ':') != NULL)
		snprintf(url, sizeof(url), "%s://[%s]:%u/metrics",
		    cfg->cf_http_tls_cert[0] ? "https" : "http",
		    strcmp(host, "::") == 0 ? "::1" : host, port);
	else
		snprintf(url, sizeof(url), "%s://%s:%u/metrics",
		    cfg->cf_http_tls_cert[0] ? "https" : "http", host, port);
	if ((e = curl_easy_init()) == NULL)
		return false;
	if ((tok = admin_token()) != NULL) {
		h = xasprintf("Authorization: Bearer %s", tok);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
		free(tok);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 3L);
	/* The daemon's own certificate may be self-signed on loopback. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	ok = curl_easy_perform(e) == CURLE_OK &&
	    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status == 200;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	return ok;
}

/* Value of a metric line "name{labels} value" (labels optional). */
static bool
metric(const char *text, const char *name, double *v, char *labels, size_t n)
{
	const char *p = text;
	size_t nl = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[nl] == ' ' ||
		    p[nl] == '{')) {
			const char *sp = strchr(p, ' ');

			if (labels != NULL) {
				size_t ll = (size_t)(sp - p);

				snprintf(labels, n, "%.*s", (int)ll, p);
			}
			*v = strtod(sp + 1, NULL);
			return true;
		}
		p += nl;
	}
	return false;
}

/* --- commands ------------------------------------------------------------------ */

/* Value of label key in labels ("{a=\"x\",b=\"y\"}") into out. */
static bool
label(const char *labels, const char *key, char *out, size_t n)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "%s=\"", key);
	if ((p = strstr(labels, pat)) == NULL)
		return false;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL)
		return false;
	snprintf(out, n, "%.*s", (int)(e - p), p);
	return true;
}

/*
 * What the store says (one snapshot) and, when the daemon answers, what
 * only it knows: uptime, the model in use, readiness.  Without the daemon
 * the model is the one that made the newest assessment.
 */
static int
cmd_status(struct store *s)
{
	struct store_stats st;
	struct buf m;
	double v;
	char age[32], labels[256], id[128], ver[64], start[40];
	int64_t now = util_now_ms();
	bool up, shown = false;
	int t;

	if (s->s_ops->r_stats(s, &st) != STORE_OK) {
		fprintf(stderr, "calcifyctl: cannot read the store\n");
		return EX_FAIL;
	}
	buf_init(&m);
	printf("store          %s\n", cfg->cf_store_path);
	up = daemon_metrics(&m);
	if (up && metric(m.b_data, "process_start_time_seconds", &v, NULL,
	    0)) {
		human_age(now - (int64_t)(v * 1000), age, sizeof(age));
		when((int64_t)(v * 1000), start, sizeof(start));
		printf("daemon         running at %s, up %s (since %s)\n",
		    cfg->cf_http_listen, age, start);
	} else
		printf("daemon         not answering at %s\n",
		    cfg->cf_http_listen);
	if (up && metric(m.b_data, "calcifyd_model_info", &v, labels,
	    sizeof(labels)) && label(labels, "id", id, sizeof(id)) &&
	    label(labels, "version", ver, sizeof(ver)))
		printf("model          %s %s (in use)\n", id, ver);
	else if (st.st_model_id[0] != '\0')
		printf("model          %s %s (made the newest assessment)\n",
		    st.st_model_id, st.st_model_version);
	else
		printf("model          -\n");
	if (up && metric(m.b_data, "calcifyd_ready", &v, NULL, 0))
		printf("ready          %s\n", v > 0 ? "yes" : "no");
	buf_free(&m);
	printf("mode           %s\n", cfg->cf_hospital_base_url[0] != '\0' ?
	    cfg->cf_hospital_base_url : "embedded (no hospital server)");
	printf("patients       %lld\n", (long long)st.st_patients);
	printf("observations   %lld", (long long)st.st_by_type[FHIR_OBSERVATION]);
	if (st.st_retracted_obs > 0)
		printf(" (%lld entered-in-error)", (long long)st.st_retracted_obs);
	printf("\n");
	printf("resources      %lld in all", (long long)st.st_resources);
	for (t = 1; t <= FHIR_RTYPE_MAX; t++) {
		if (st.st_by_type[t] == 0)
			continue;
		printf("%s%s %lld", shown ? ", " : " (",
		    fhir_type_name((enum fhir_rtype)t),
		    (long long)st.st_by_type[t]);
		shown = true;
	}
	printf("%s\n", shown ? ")" : "");
	printf("assessments    %lld\n", (long long)st.st_assessments);
	if (st.st_outbox_oldest > 0)
		human_age(now - st.st_outbox_oldest, age, sizeof(age));
	else
		util_strlcpy(age, "-", sizeof(age));
	printf("outbox         %lld waiting, oldest %s\n",
	    (long long)st.st_outbox_pending, age);
	printf("superseded     %lld (replaced by a newer assessment of the "
	    "same patient; kept locally, not sent)\n",
	    (long long)st.st_outbox_superseded);
	printf("withdrawn      %lld (entered-in-error: a result they rest on "
	    "was entered in error)\n", (long long)st.st_withdrawn);
	printf("dead letters   %lld%s\n", (long long)st.st_dead_letters,
	    st.st_dead_letters > 0 ? " (calcifyctl dead-letters)" : "");
	printf("requeues       %lld dead letters requeued, %lld found "
	    "superseded (life of the store)\n", (long long)st.st_requeued,
	    (long long)st.st_requeue_superseded);
	return EX_OK;
}

static int
cmd_dead(struct store *s, int limit)
{
	struct store_dead *d = xcalloc((size_t)limit, sizeof(*d));
	char enq[40], upd[40];
	json_t *oo, *issue;
	const char *diag;
	int n = 0, i;

	if (s->s_ops->r_dead_letters(s, 0, limit, d, &n) != STORE_OK) {
		fprintf(stderr, "calcifyctl: cannot read the store\n");
		free(d);
		return EX_FAIL;
	}
	if (n == 0)
		printf("no dead letters\n");
	for (i = 0; i < n; i++) {
		when(d[i].sd_row.ob_enqueued, enq, sizeof(enq));
		when(d[i].sd_updated, upd, sizeof(upd));
		printf("oid %lld  assessment %.16s...  attempts %ld  last HTTP "
		    "%d\n", (long long)d[i].sd_row.ob_oid, d[i].sd_identifier,
		    d[i].sd_row.ob_attempts, d[i].sd_row.ob_last_status);
		if (d[i].sd_row.ob_kind == STORE_OB_UPDATE)
			printf("  sends     an update of the server's copy "
			    "(entered-in-error when withdrawn)\n");
		printf("  patient   %s\n", d[i].sd_subject != NULL ?
		    d[i].sd_subject : "?");
		printf("  queued    %s, given up %s\n", enq, upd);
		printf("  reason    %s\n", d[i].sd_row.ob_last_error);
		oo = d[i].sd_outcome != NULL ? json_loads(d[i].sd_outcome, 0,
		    NULL) : NULL;
		issue = json_array_get(json_object_get(oo, "issue"), 0);
		/* Servers put their explanation in diagnostics or in
		 * details.text; show what there is. */
		diag = json_string_value(json_object_get(issue, "diagnostics"));
		if (diag == NULL)
			diag = json_string_value(json_object_get(json_object_get(
			    issue, "details"), "text"));
		if (diag != NULL || json_string_value(json_object_get(issue,
		    "code")) != NULL)
			printf("  server    %s%s%s\n",
			    json_string_value(json_object_get(issue, "code")) ?
			    json_string_value(json_object_get(issue, "code")) :
			    "", diag != NULL ? ": " : "",
			    diag != NULL ? diag : "");
		else if (d[i].sd_outcome != NULL)
			printf("  server    (answer was not an OperationOutcome)"
			    "\n");
		json_decref(oo);
		store_dead_clear(&d[i]);
	}
	free(d);
	return EX_OK;
}

static void
requeue_summary(int requeued, int superseded)
{
	printf("requeued %d dead letters\n", requeued);
	if (superseded > 0)
		printf("superseded %d dead letters: their patient has a newer "
		    "assessment, so they stay in the store and are not sent\n",
		    superseded);
}

static int
cmd_requeue(struct store *s, int argc, char **argv)
{
	long long oid;
	int i, n, sup, total = 0, tsup = 0;

	if (argc == 1 && strcmp(argv[0], "--all") == 0) {
		n = s->s_ops->a_requeue(s, 0, util_now_ms(), &sup);
		if (n < 0)
			goto fail;
		requeue_summary(n, sup);
		return EX_OK;
	}
	for (i = 0; i < argc; i++) {
		if (util_parse_ll(argv[i], 1, INT64_MAX, &oid) == -1) {
			fprintf(stderr, "calcifyctl: '%s' is not an outbox id\n",
			    argv[i]);
			return EX_USAGE;
		}
	}
	for (i = 0; i < argc; i++) {
		(void)util_parse_ll(argv[i], 1, INT64_MAX, &oid);
		n = s->s_ops->a_requeue(s, oid, util_now_ms(), &sup);
		if (n < 0)
			goto fail;
		if (n == 0 && sup == 0)
			fprintf(stderr, "calcifyctl: oid %lld is not a dead "
			    "letter\n", oid);
		total += n;
		tsup += sup;
	}
	requeue_summary(total, tsup);
	/* A superseded dead letter is settled too: nothing is left to do. */
	return total + tsup == argc ? EX_OK : EX_FAIL;
fail:
	fprintf(stderr, "calcifyctl: the store did not take the change (busy "
	    "for longer than store.busy_timeout_ms?)\n");
	return EX_FAIL;
}

/* The value column: 19 characters, a number and its unit or a word. */
static void
print_value(enum input in, const struct fact *x)
{
	if (x->f_flags & FACT_VALUE_UNKNOWN)
		printf("%-19s", "yes (dose unknown)");
	else if (input_kind(in) == INPUT_ANY || input_kind(in) ==
	    INPUT_EARLIEST)
		printf("%-19s", "yes");
	else if (in == INPUT_SEX)
		printf("%-19s", x->f_value == INPUT_SEX_MALE ? "male" :
		    x->f_value == INPUT_SEX_FEMALE ? "female" : "other");
	else if (in == INPUT_BIRTH_DATE) {
		char d[32];

		util_format_instant((int64_t)x->f_value * 86400000, d,
		    sizeof(d));
		d[10] = '\0';
		printf("%-19s", d);
	} else
		printf("%-10.4g %-8s", x->f_value, units_display(in));
}

/* The source column: a stored Reference's "reference" (or display), else
 * the JSON as stored. */
static void
print_ref(const char *ref)
{
	json_t *j = ref != NULL ? json_loads(ref, 0, NULL) : NULL;
	const char *r = json_string_value(json_object_get(j, "reference"));

	if (r == NULL)
		r = json_string_value(json_object_get(j, "display"));
	printf("%s\n", r != NULL ? r : ref != NULL ? ref : "");
	json_decref(j);
}

static int
cmd_explain(struct store *s, const char *who)
{
	struct store_assessment a;
	struct engine_result *r = NULL;
	struct facts *f = xmalloc(sizeof(*f)), *af = xmalloc(sizeof(*af));
	struct model *m = NULL;
	struct buf key, text;
	char k[200], d[40];
	int64_t pid, total, at;
	int n = 0, i, o, rc = EX_FAIL;

	buf_init(&key);
	buf_init(&text);
	memset(&a, 0, sizeof(a));
	if (strchr(who, '|') != NULL)
		snprintf(k, sizeof(k), "ident:%s", who);
	else {
		if (strchr(who, '/') == NULL)
			buf_printf(&key, "Patient/%s", who);
		else
			buf_puts(&key, who);
		if (fhir_patient_key(key.b_data, k, sizeof(k)) == -1) {
			fprintf(stderr, "calcifyctl: '%s' is not a Patient "
			    "reference\n", who);
			rc = EX_USAGE;
			goto out;
		}
	}
	if (s->s_ops->r_patient_by_key(s, k, &pid) != STORE_OK) {
		fprintf(stderr, "calcifyctl: no patient %s in the store\n", who);
		goto out;
	}
	if (s->s_ops->r_load_facts(s, pid, f) != STORE_OK)
		goto out;
	at = facts_latest_eff(f);
	when(at, d, sizeof(d));
	printf("patient %s: latest facts (as of %s)\n", who, d);
	for (i = 0; i < INPUT_COUNT; i++) {
		const struct fact *x = &f->fa_f[i];
		const char *ref = facts_ref(f, (enum input)i);

		if (!x->f_present)
			continue;
		printf("  %-28s ", input_label((enum input)i));
		print_value((enum input)i, x);
		if (x->f_flags & FACT_TIME_UNKNOWN)
			util_strlcpy(d, "(time unknown)", sizeof(d));
		else if (i == INPUT_SEX || i == INPUT_BIRTH_DATE)
			d[0] = '\0';
		else
			when(x->f_eff, d, sizeof(d));
		printf("  %-24s ", d);
		print_ref(ref);
		if (x->f_flags & FACT_SKIPPED_NEWER)
			printf("  %-28s a newer result was not used (unit not "
			    "recognised): %s\n", "",
			    facts_skipped_ref(f, (enum input)i));
	}
	if (s->s_ops->r_assessments(s, pid, 0, 1, &a, &n, &total) !=
	    STORE_OK || n == 0) {
		printf("no assessment yet (out of scope, or no model input)\n");
		rc = EX_OK;
		goto out;
	}
	if (s->s_ops->r_model_text(s, a.sa_model_digest, &text) != STORE_OK ||
	    (m = model_load_string(text.b_data, text.b_len, "stored model",
	    stderr)) == NULL || facts_parse_snapshot(a.sa_snapshot, af) == -1) {
		fprintf(stderr, "calcifyctl: the last assessment cannot be "
		    "rebuilt (its model version is missing)\n");
		goto out;
	}
	r = xmalloc(sizeof(*r));
	engine_run(m, af, facts_latest_eff(af), r);
	when(a.sa_created, d, sizeof(d));
	printf("\nlast assessment %s (%s, model %s %s, made %s, %lld in all)\n",
	    a.sa_identifier, r->er_final ? "final" : "preliminary", m->m_id,
	    m->m_version, d, (long long)total);
	for (o = 0; o < MODEL_OUTCOMES; o++) {
		const struct engine_outcome *eo = &r->er_outcome[o];

		printf("  %s: %.1f %% (%s), %.1f x the reference patient\n",
		    m->m_outcomes[o].mo_key, eo->eo_probability * 100,
		    engine_band_code(eo->eo_band), eo->eo_relative_risk);
		for (i = 0; i < eo->eo_nfactors; i++)
			printf("    +%.2f  %s\n", eo->eo_factors[i].ef_contribution,
			    eo->eo_factors[i].ef_text);
		if (eo->eo_nmissing > 0) {
			printf("    missing or stale:");
			for (i = 0; i < eo->eo_nmissing; i++)
				printf(" %s", input_name(eo->eo_missing[i]));
			printf("\n");
		}
	}
	for (i = 0; i < r->er_nmitigations; i++)
		printf("  mitigation: %s\n",
		    m->m_mitigations[r->er_mitigations[i]].mm_text);
	printf("  (probabilities are uncalibrated)\n");
	rc = EX_OK;
out:
	store_assessment_clear(&a);
	model_unref(m);
	buf_free(&key);
	buf_free(&text);
	free(f);
	free(af);
	free(r);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = config_default_path(), **ov;
	struct config *c;
	struct store *s;
	long long limit = 50;
	int ch, nov = 0, rc;
	bool given = false, write;

	ov = xcalloc((size_t)argc, sizeof(*ov));
	log_init(LOG_LVL_WARNING, "calcifyctl");
	while ((ch = getopt_long(argc, argv, "+c:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			given = true;
			break;
		case 'o':
			ov[nov++] = optarg;
			break;
		case 'h':
			usage(stdout);
			free(ov);
			return EX_OK;
		default:
			usage(stderr);
			free(ov);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		free(ov);
		return EX_USAGE;
	}
	if ((c = config_load(file, !given, ov, nov, stderr)) == NULL) {
		free(ov);
		return EX_USAGE;
	}
	cfg = c;
	argv += optind;
	argc -= optind;
	if (strcmp(argv[0], "dead-letters") == 0 && argc == 3 &&
	    strcmp(argv[1], "-n") == 0 &&
	    util_parse_ll(argv[2], 1, 100000, &limit) == -1) {
		fprintf(stderr, "calcifyctl: -n takes a number\n");
		rc = EX_USAGE;
		goto out_cfg;
	}
	write = strcmp(argv[0], "requeue") == 0;
	if (!(strcmp(argv[0], "status") == 0 && argc == 1) &&
	    !(strcmp(argv[0], "dead-letters") == 0 && (argc == 1 ||
	    argc == 3)) && !(write && argc >= 2) &&
	    !(strcmp(argv[0], "explain") == 0 && argc == 2)) {
		usage(stderr);
		rc = EX_USAGE;
		goto out_cfg;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((s = store_open(c, !write, stderr)) == NULL) {
		rc = EX_FAIL;
		goto out_curl;
	}
	if (strcmp(argv[0], "status") == 0)
		rc = cmd_status(s);
	else if (strcmp(argv[0], "dead-letters") == 0)
		rc = cmd_dead(s, (int)limit);
	else if (write)
		rc = cmd_requeue(s, argc - 1, argv + 1);
	else
		rc = cmd_explain(s, argv[1]);
	store_close(s);
out_curl:
	curl_global_cleanup();
out_cfg:
	config_free(c);
	free(ov);
	return rc;
}
