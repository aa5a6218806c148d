/*
 * test_replay.c - calcify-replay's pure parts: file discovery, files to
 * requests, answer accounting, exit status, summary and rate limiting.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "replay.h"

static char dir[] = "/tmp/calcify-test-replay-XXXXXX";

static char *
put_file(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

static void
free_reqs(struct replay_req *r)
{
	struct replay_req *n;

	for (; r != NULL; r = n) {
		n = r->rr_next;
		replay_req_free(r);
	}
}

static void
test_replay_lists_json_and_ndjson_sorted_recursively(void **state)
{
	char *sub = xasprintf("%s/walk", dir), *sub2 = xasprintf("%s/walk/z", dir);
	char *paths[1] = { sub };
	char **files;
	struct replay_stats s;
	int missing;

	replay_stats_init(&s);
	mkdir(sub, 0700);
	mkdir(sub2, 0700);
	free(put_file("walk/b.json", "{}"));
	free(put_file("walk/a.ndjson", "{}"));
	free(put_file("walk/notes.txt", "x"));
	free(put_file("walk/z/c.json", "{}"));
	files = replay_list_files(paths, 1, &s, stderr, &missing);
	assert_int_equal(missing, 0);
	assert_int_equal(s.files_bad, 0);
	assert_non_null(files[0]);
	assert_non_null(strstr(files[0], "walk/a.ndjson"));
	assert_non_null(strstr(files[1], "walk/b.json"));
	assert_non_null(strstr(files[2], "walk/z/c.json"));
	assert_null(files[3]);
	for (int i = 0; files[i] != NULL; i++)
		free(files[i]);
	free(files);
	free(sub);
	free(sub2);
	replay_stats_free(&s);
}

/* A path that does not exist, next to good ones, is a bad file (exit 1)
 * named in the summary; the good ones are still listed. */
static void
test_replay_missing_path_is_a_bad_file(void **state)
{
	char *good = put_file("good.json", "{}");
	char *gone = xasprintf("%s/no-such-dir", dir);
	char *paths[2] = { gone, good };
	struct replay_stats s;
	char **files;
	int missing;

	replay_stats_init(&s);
	files = replay_list_files(paths, 2, &s, NULL, &missing);
	assert_int_equal(missing, 1);
	assert_non_null(files[0]);
	assert_string_equal(files[0], good);
	assert_null(files[1]);
	assert_int_equal(s.files_bad, 1);
	assert_non_null(strstr(s.bad[0], "no-such-dir: cannot use: No such "
	    "file or directory"));
	assert_int_equal(replay_exit_status(&s, false), 1);
	free(files[0]);
	free(files);
	free(good);
	free(gone);
	replay_stats_free(&s);
}

static void
test_replay_bundle_patients_resolve_urn_uuid(void **state)
{
	char *f = put_file("bundle.json",
	    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
	    "{\"fullUrl\":\"urn:uuid:p1\",\"resource\":{\"resourceType\":"
	    "\"Patient\",\"id\":\"abc\"},\"request\":{\"method\":\"POST\","
	    "\"url\":\"Patient\"}},"
	    "{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{"
	    "\"reference\":\"urn:uuid:p1\"}},\"request\":{\"method\":\"POST\","
	    "\"url\":\"Observation\"}},"
	    "{\"resource\":{\"resourceType\":\"Encounter\"},\"request\":{"
	    "\"method\":\"POST\",\"url\":\"Encounter\"}}]}");
	struct replay_req *h = NULL, *t = NULL;
	char err[256];
	int ignored = 0;

	assert_int_equal(replay_file_requests(f, false, &h, &t, &ignored, err,
	    sizeof(err)), 0);
	assert_non_null(h);
	assert_ptr_equal(h, t);
	assert_string_equal(h->rr_path, "");
	assert_true(h->rr_transaction);
	assert_int_equal(h->rr_nres, 3);
	assert_string_equal(h->rr_patients[0], "Patient/abc");
	assert_string_equal(h->rr_patients[1], "Patient/abc");
	assert_null(h->rr_patients[2]);
	free_reqs(h);
	free(f);
}

static void
test_replay_single_resources_unused_types_ignored_unknown_bad(void **state)
{
	char *obs = put_file("obs.json", "{\"resourceType\":\"Observation\","
	    "\"subject\":{\"reference\":\"https://h.example/fhir/Patient/9/"
	    "_history/2\"}}");
	char *enc = put_file("enc.json", "{\"resourceType\":\"Encounter\"}");
	struct replay_req *h = NULL, *t = NULL;
	char err[256];
	int ignored = 0;

	assert_int_equal(replay_file_requests(obs, false, &h, &t, &ignored,
	    err, sizeof(err)), 0);
	assert_string_equal(h->rr_path, "/Observation");
	assert_string_equal(h->rr_patients[0], "Patient/9");
	assert_int_equal(replay_file_requests(enc, false, &h, &t, &ignored,
	    err, sizeof(err)), 0);
	assert_int_equal(ignored, 1);
	assert_non_null(strstr(err, "enc.json: Encounter is not used by "
	    "calcifyd; ignored"));
	assert_null(h->rr_next);
	/* With --as-batch the unstored type travels inside a batch. */
	assert_int_equal(replay_file_requests(enc, true, &h, &t, &ignored,
	    err, sizeof(err)), 0);
	assert_non_null(h->rr_next);
	assert_string_equal(h->rr_next->rr_path, "");
	assert_non_null(strstr(h->rr_next->rr_body, "\"batch\""));
	free_reqs(h);
	free(obs);
	free(enc);
}

/* A resourceType FHIR R4 does not define makes a bad file, in both modes
 * and on an NDJSON line; it is quoted only when it looks like a name. */
static void
test_replay_unknown_resource_type_is_a_bad_file(void **state)
{
	char *typo = put_file("typo.json", "{\"resourceType\":\"Observaton\"}");
	char *odd = put_file("odd.json", "{\"resourceType\":\"SECRET 1234\"}");
	char *nd = put_file("mixed.ndjson", "{\"resourceType\":\"Patient\","
	    "\"id\":\"a\"}\n{\"resourceType\":\"Foo\"}\n");
	struct replay_req *h = NULL, *t = NULL;
	char err[256];
	int ignored = 0;

	assert_int_equal(replay_file_requests(typo, false, &h, &t, &ignored,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "typo.json: resourceType 'Observaton' is "
	    "not a FHIR R4 resource type"));
	assert_int_equal(replay_file_requests(typo, true, &h, &t, &ignored,
	    err, sizeof(err)), -1);
	assert_int_equal(replay_file_requests(odd, false, &h, &t, &ignored,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "odd.json: resourceType is not a FHIR R4"));
	assert_null(strstr(err, "SECRET"));
	assert_int_equal(replay_file_requests(nd, true, &h, &t, &ignored,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mixed.ndjson:2: resourceType 'Foo'"));
	assert_int_equal(ignored, 0);
	free_reqs(h);
	free(typo);
	free(odd);
	free(nd);
}

static void
test_replay_bad_files_named_without_content(void **state)
{
	char *a = put_file("bad.json", "{\"resourceType\": \"Observation\", "
	    "\"note\": \"SECRET-MRN-1234\" ");
	char *b = put_file("notfhir.json", "{\"hello\": \"SECRET\"}");
	char *c = put_file("lines.ndjson", "{\"resourceType\":\"Patient\"}\n"
	    "not json SECRET\n");
	struct replay_req *h = NULL, *t = NULL;
	char err[256];
	int ignored = 0;

	assert_int_equal(replay_file_requests(a, false, &h, &t, &ignored, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad.json: not JSON (line 1, column"));
	assert_null(strstr(err, "SECRET"));
	assert_int_equal(replay_file_requests(b, false, &h, &t, &ignored, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "notfhir.json: not a FHIR resource"));
	assert_int_equal(replay_file_requests(c, false, &h, &t, &ignored, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "lines.ndjson:2: not JSON"));
	assert_null(strstr(err, "SECRET"));
	free_reqs(h);
	free(a);
	free(b);
	free(c);
}

static void
test_replay_ndjson_batches_of_100_with_as_batch(void **state)
{
	struct buf b;
	struct replay_req *h = NULL, *t = NULL;
	char err[256], *f;
	int ignored = 0, i, n = 0;

	buf_init(&b);
	for (i = 0; i < 250; i++)
		buf_printf(&b, "{\"resourceType\":\"Observation\",\"subject\":{"
		    "\"reference\":\"Patient/p%d\"}}\n", i % 3);
	f = put_file("many.ndjson", b.b_data);
	assert_int_equal(replay_file_requests(f, true, &h, &t, &ignored, err,
	    sizeof(err)), 0);
	for (t = h; t != NULL; t = t->rr_next)
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(h->rr_nres, 100);
	assert_int_equal(h->rr_next->rr_next->rr_nres, 50);
	free_reqs(h);
	h = t = NULL;
	assert_int_equal(replay_file_requests(f, false, &h, &t, &ignored, err,
	    sizeof(err)), 0);
	for (n = 0, t = h; t != NULL; t = t->rr_next)
		n++;
	assert_int_equal(n, 250);
	free_reqs(h);
	buf_free(&b);
	free(f);
}

static struct replay_req *
fake_req(const char *path, int nres)
{
	struct replay_req *r = xcalloc(1, sizeof(*r));
	int i;

	r->rr_path = xstrdup(path);
	r->rr_file = xstrdup("f.json");
	for (i = 0; i < nres; i++) {
		r->rr_patients = xrealloc(r->rr_patients,
		    (size_t)(i + 1) * sizeof(char *));
		r->rr_patients[i] = xasprintf("Patient/p%d", i);
		r->rr_nres++;
	}
	return r;
}

static void
test_replay_accounts_batch_entries_ignored_and_rejected(void **state)
{
	struct replay_stats s;
	struct replay_req *r = fake_req("", 4);
	const char *body = "{\"resourceType\":\"Bundle\",\"type\":"
	    "\"batch-response\",\"entry\":["
	    "{\"response\":{\"status\":\"201 Created\"}},"
	    "{\"response\":{\"status\":\"200 OK\",\"outcome\":{\"issue\":[{"
	    "\"code\":\"informational\",\"details\":{\"coding\":[{\"code\":"
	    "\"2000\"}]}}]}}},"
	    "{\"response\":{\"status\":\"422 Unprocessable Entity\",\"outcome\":"
	    "{\"issue\":[{\"code\":\"business-rule\",\"diagnostics\":\"out of "
	    "bounds\"}]}}},"
	    "{\"response\":{\"status\":\"200 OK\",\"outcome\":{\"issue\":[{"
	    "\"code\":\"informational\",\"details\":{\"coding\":[{\"code\":"
	    "\"2001\"}]}}]}}}]}";

	replay_stats_init(&s);
	replay_account(&s, r, 200, body, strlen(body));
	assert_int_equal(s.accepted, 2);
	assert_int_equal(s.created, 1);
	assert_int_equal(s.unchanged, 1);
	assert_int_equal(s.ignored, 1);
	assert_int_equal(s.rejected, 1);
	assert_int_equal(s.nkinds, 1);
	assert_int_equal(s.kinds[0].rk_status, 422);
	assert_string_equal(s.kinds[0].rk_first, "out of bounds");
	assert_int_equal(s.npatients, 2);	/* p0 and p3 */
	assert_int_equal(replay_exit_status(&s, false), 1);
	replay_req_free(r);
	replay_stats_free(&s);
}

/* Patients are counted once however often and in whatever order they come
 * back, across the index's growth (this is the path a million-patient
 * replay takes, so it must be a hash, not a scan). */
static void
test_replay_counts_each_patient_once_across_many(void **state)
{
	struct replay_stats s;
	struct replay_req *r = fake_req("Observation", 1);
	int pass, i;

	replay_stats_init(&s);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < 20000; i++) {
			int k = pass == 0 ? i : 19999 - i;

			free(r->rr_patients[0]);
			r->rr_patients[0] = xasprintf("Patient/p%d", k);
			replay_account(&s, r, 201, NULL, 0);
		}
	assert_int_equal(s.npatients, 20000);
	assert_int_equal(s.accepted, 40000);
	assert_string_equal(s.patients[0], "Patient/p0");
	assert_string_equal(s.patients[19999], "Patient/p19999");
	replay_req_free(r);
	replay_stats_free(&s);
}

static void
test_replay_failed_transaction_rejects_every_resource(void **state)
{
	struct replay_stats s;
	struct replay_req *r = fake_req("", 3);
	const char *oo = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
	    "\"code\":\"duplicate\",\"diagnostics\":\"several match\"}]}";

	replay_stats_init(&s);
	replay_account(&s, r, 412, oo, strlen(oo));
	assert_int_equal(s.rejected, 3);
	assert_int_equal(s.accepted, 0);
	assert_int_equal(s.npatients, 0);
	replay_req_free(r);
	replay_stats_free(&s);
}

static void
test_replay_unreachable_is_exit_3(void **state)
{
	struct replay_stats s;
	struct replay_req *r = fake_req("/Observation", 1);

	replay_stats_init(&s);
	replay_account(&s, r, 0, NULL, 0);
	assert_int_equal(replay_exit_status(&s, false), 3);
	replay_req_free(r);
	r = fake_req("/Observation", 1);
	replay_account(&s, r, 201, "", 0);
	assert_int_equal(replay_exit_status(&s, false), 1);
	replay_req_free(r);
	replay_stats_free(&s);
}

static const char unchanged_outcome[] = "{\"resourceType\":"
    "\"OperationOutcome\",\"issue\":[{\"code\":\"informational\","
    "\"details\":{\"coding\":[{\"code\":\"2001\"}]}}]}";

static void
test_replay_assessment_bands_per_outcome(void **state)
{
	struct replay_stats s;
	const char *body = "{\"resourceType\":\"Bundle\",\"entry\":[{"
	    "\"resource\":{\"resourceType\":\"RiskAssessment\",\"prediction\":["
	    "{\"outcome\":{\"coding\":[{\"code\":\"237900002\"}]},"
	    "\"qualitativeRisk\":{\"coding\":[{\"code\":\"high\"}]}},"
	    "{\"outcome\":{\"text\":\"Non-cutaneous vascular calcification\"},"
	    "\"qualitativeRisk\":{\"coding\":[{\"code\":\"low\"}]}}]}}]}";
	const char *none = "{\"resourceType\":\"Bundle\",\"total\":0}";
	struct replay_req *r = fake_req("/Observation", 1);

	replay_stats_init(&s);
	/* Already stored unchanged: the newest assessment stands. */
	replay_account(&s, r, 200, unchanged_outcome, strlen(unchanged_outcome));
	replay_account_assessment(&s, 0, body, strlen(body));
	replay_account_assessment(&s, 0, none, strlen(none));
	replay_req_free(r);
	assert_int_equal(s.bands[0][3], 1);
	assert_int_equal(s.bands[1][1], 1);
	assert_int_equal(s.waited, 2);
	assert_int_equal(s.without_assessment, 1);
	replay_stats_free(&s);
}

static char *
searchset(const char *last_updated)
{
	return xasprintf("{\"resourceType\":\"Bundle\",\"entry\":[{"
	    "\"resource\":{\"resourceType\":\"RiskAssessment\",\"meta\":"
	    "{\"lastUpdated\":\"%s\"},\"prediction\":[{\"outcome\":{"
	    "\"coding\":[{\"code\":\"237900002\"}]},\"qualitativeRisk\":"
	    "{\"coding\":[{\"code\":\"high\"}]}}]}}]}", last_updated);
}

/*
 * --wait-assessments: for a patient whose data changed in this run, only
 * an assessment recorded since calcifyd's first answer (its Date, less a
 * second) counts; an older one is stale and its bands are not counted.
 * A patient whose resources were all already stored keeps its newest.
 */
static void
test_replay_wait_ignores_assessments_from_before_the_run(void **state)
{
	struct replay_stats s;
	struct replay_req *created = fake_req("/Observation", 1);
	struct replay_req *batch = fake_req("", 3);
	const char *entries = "{\"resourceType\":\"Bundle\",\"entry\":["
	    "{\"response\":{\"status\":\"200 OK\",\"outcome\":{\"issue\":"
	    "[{\"details\":{\"coding\":[{\"code\":\"2001\"}]}}]}}},"
	    "{\"response\":{\"status\":\"200 OK\",\"outcome\":{\"issue\":"
	    "[{\"details\":{\"coding\":[{\"code\":\"0\"}]}}]}}},"
	    "{\"response\":{\"status\":\"200 OK\",\"outcome\":{\"issue\":"
	    "[{\"details\":{\"coding\":[{\"code\":\"2002\"}]}}]}}}]}";
	char *old = searchset("2026-11-30T10:00:00.000Z");
	char *same_second = searchset("2026-12-01T09:59:59.500Z");
	char *fresh = searchset("2026-12-01T10:00:00.250Z");
	int64_t date;

	replay_stats_init(&s);
	assert_int_equal(util_parse_http_date("Tue, 01 Dec 2026 10:00:00 GMT",
	    &date), 0);
	/* Nothing dated yet: no assessment can be shown to be from this
	 * run. */
	replay_account(&s, created, 201, NULL, 0);	/* Patient/p0 */
	assert_int_equal(replay_assessment_state(&s, 0, fresh, strlen(fresh)),
	    REPLAY_RA_STALE);
	/* The earliest Date counts, whatever order answers come in. */
	replay_server_date(&s, date + 5000);
	replay_server_date(&s, date);
	replay_server_date(&s, date + 2000);
	assert_int_equal(replay_assessment_state(&s, 0, old, strlen(old)),
	    REPLAY_RA_STALE);
	assert_int_equal(replay_assessment_state(&s, 0, same_second,
	    strlen(same_second)), REPLAY_RA_CURRENT);
	assert_int_equal(replay_assessment_state(&s, 0, fresh, strlen(fresh)),
	    REPLAY_RA_CURRENT);
	assert_int_equal(replay_assessment_state(&s, 0, "{}", 2),
	    REPLAY_RA_NONE);
	/* In a batch: p0 unchanged (but created above), p1 a new version,
	 * p2 matched by If-None-Exist. */
	replay_account(&s, batch, 200, entries, strlen(entries));
	assert_int_equal(s.npatients, 3);
	assert_true(s.pchanged[0]);
	assert_true(s.pchanged[1]);
	assert_false(s.pchanged[2]);
	assert_int_equal(replay_assessment_state(&s, 2, old, strlen(old)),
	    REPLAY_RA_CURRENT);
	assert_int_equal(replay_assessment_state(&s, 1, old, strlen(old)),
	    REPLAY_RA_STALE);
	replay_account_assessment(&s, 1, old, strlen(old));
	replay_account_assessment(&s, 0, fresh, strlen(fresh));
	assert_int_equal(s.waited, 2);
	assert_int_equal(s.stale, 1);
	assert_int_equal(s.without_assessment, 0);
	assert_int_equal(s.bands[0][3], 1);	/* only the fresh one */
	replay_req_free(created);
	replay_req_free(batch);
	free(old);
	free(same_second);
	free(fresh);
	replay_stats_free(&s);
}

static void
test_replay_json_summary_parses(void **state)
{
	struct replay_stats s;
	char out[4096];
	FILE *fp = fmemopen(out, sizeof(out), "w");
	json_t *j;

	replay_stats_init(&s);
	s.files = 3;
	replay_bad_file(&s, "x.json: not JSON (line 1, column 2)");
	replay_summary_json(&s, true, fp);
	fclose(fp);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "files")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "exit")), 1);
	assert_non_null(json_object_get(json_object_get(j, "assessments"),
	    "vascular"));
	json_decref(j);
	replay_stats_free(&s);
}

static void
test_replay_rate_limits_requests_per_second(void **state)
{
	struct replay_rate r;
	int64_t now = 1000000, sent = 0, w;

	replay_rate_init(&r, 10, now);
	/* Over two simulated seconds about 20 requests start, not more. */
	while (now < 3000000) {
		w = replay_rate_take(&r, now);
		if (w == 0) {
			sent++;
			continue;
		}
		now += w;
	}
	assert_true(sent >= 19 && sent <= 22);
	replay_rate_init(&r, 0, now);
	assert_int_equal(replay_rate_take(&r, now), 0);
}

static void
test_replay_token_file_takes_last_field(void **state)
{
	char err[256], *t;
	char *f = put_file("tok", "# comment\nmirth  s3cr3t-token-value\n");

	t = replay_read_token(f, err, sizeof(err));
	assert_string_equal(t, "s3cr3t-token-value");
	free(t);
	free(f);
	f = put_file("tok2", "# nothing\n");
	assert_null(replay_read_token(f, err, sizeof(err)));
	free(f);
}

static int
setup(void **state)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_lists_json_and_ndjson_sorted_recursively),
		cmocka_unit_test(test_replay_bundle_patients_resolve_urn_uuid),
		cmocka_unit_test(test_replay_missing_path_is_a_bad_file),
		cmocka_unit_test(
		    test_replay_single_resources_unused_types_ignored_unknown_bad),
		cmocka_unit_test(test_replay_unknown_resource_type_is_a_bad_file),
		cmocka_unit_test(test_replay_bad_files_named_without_content),
		cmocka_unit_test(test_replay_ndjson_batches_of_100_with_as_batch),
		cmocka_unit_test(test_replay_accounts_batch_entries_ignored_and_rejected),
		cmocka_unit_test(test_replay_failed_transaction_rejects_every_resource),
		cmocka_unit_test(test_replay_counts_each_patient_once_across_many),
		cmocka_unit_test(test_replay_unreachable_is_exit_3),
		cmocka_unit_test(test_replay_assessment_bands_per_outcome),
		cmocka_unit_test(
		    test_replay_wait_ignores_assessments_from_before_the_run),
		cmocka_unit_test(test_replay_json_summary_parses),
		cmocka_unit_test(test_replay_rate_limits_requests_per_second),
		cmocka_unit_test(test_replay_token_file_takes_last_field),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
