/*
 * test_config.c - the key table, INI parsing, -o overrides and the
 * file:line error messages --check-config relies on.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"

static char tmpdir[] = "/tmp/calcify-test-config-XXXXXX";

static char *
write_file(const char *name, const char *text)
{
	char *path;
	FILE *fp;

	path = malloc(strlen(tmpdir) + strlen(name) + 2);
	sprintf(path, "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Load and capture the error text. */
static struct config *
load(const char *file, const char *const *ov, int nov, char *err,
    size_t errsz)
{
	struct config *c;
	FILE *ef = fmemopen(err, errsz, "w");

	assert_non_null(ef);
	c = config_load(file, false, ov, nov, ef);
	fclose(ef);
	return c;
}

static void
test_config_defaults_are_valid_and_embedded(void **state)
{
	struct config *c = config_load(NULL, false, NULL, 0, stderr);

	assert_non_null(c);
	assert_string_equal(c->cf_http_listen, "127.0.0.1:8080");
	assert_string_equal(c->cf_hospital_base_url, "");
	assert_int_equal(c->cf_hospital_mode, CONFIG_MODE_CONDITIONAL_CREATE);
	assert_int_equal(c->cf_store_synchronous, CONFIG_SYNC_FULL);
	assert_int_equal(c->cf_model_scope, CONFIG_SCOPE_DIALYSIS);
	assert_int_equal(c->cf_http_max_body, 32u << 20);
	assert_int_equal(c->cf_hospital_max_age_ms, 7LL * 86400000);
	assert_int_equal(c->cf_log_level, LOG_LVL_INFO);
	config_free(c);
}

static void
test_config_file_values_and_relative_paths(void **state)
{
	char err[1024] = "";
	char *f = write_file("ok.conf",
	    "# comment\n"
	    "[http]\n"
	    "listen = [::1]:9000   # inline note\n"
	    "max_body = 1M\n"
	    "[store]\n"
	    "path = \"data dir/x.db\"\n"
	    "[hospital]\n"
	    "base_url = https://fhir.example.org/r4/\n"
	    "timeout_ms = 2s\n"
	    "max_age = 2d\n"
	    "[log]\n"
	    "level = debug\n");
	struct config *c = load(f, NULL, 0, err, sizeof(err));
	char expect[512];

	assert_non_null(c);
	assert_string_equal(c->cf_http_listen, "[::1]:9000");
	assert_int_equal(c->cf_http_max_body, 1u << 20);
	snprintf(expect, sizeof(expect), "%s/data dir/x.db", tmpdir);
	assert_string_equal(c->cf_store_path, expect);
	/* Trailing slash removed so paths can be appended. */
	assert_string_equal(c->cf_hospital_base_url,
	    "https://fhir.example.org/r4");
	assert_int_equal(c->cf_hospital_timeout_ms, 2000);
	assert_int_equal(c->cf_hospital_max_age_ms, 2LL * 86400000);
	assert_int_equal(c->cf_log_level, LOG_LVL_DEBUG);
	config_free(c);
	free(f);
}

static void
test_config_typo_names_file_line_and_suggests(void **state)
{
	char err[1024] = "";
	char *f = write_file("typo.conf", "[http]\nlisten = 127.0.0.1:1\n"
	    "max_bdoy = 12\n");
	struct config *c = load(f, NULL, 0, err, sizeof(err));
	char expect[512];

	assert_null(c);
	snprintf(expect, sizeof(expect),
	    "%s:3: http.max_bdoy: unknown key (did you mean http.max_body?)",
	    f);
	assert_non_null(strstr(err, expect));
	free(f);
}

static void
test_config_reports_every_error_not_just_first(void **state)
{
	char err[2048] = "";
	char *f = write_file("many.conf",
	    "[http]\n"
	    "threads = lots\n"
	    "max_depth = 2\n"
	    "[nosuch]\n"
	    "x = 1\n"
	    "[hospital]\n"
	    "mode = sometimes\n"
	    "mode = put\n"
	    "base_url = ftp://x\n"
	    "garbage line\n");
	struct config *c = load(f, NULL, 0, err, sizeof(err));

	assert_null(c);
	assert_non_null(strstr(err, ":2: http.threads: expected an integer"));
	assert_non_null(strstr(err, ":3: http.max_depth:"));
	assert_non_null(strstr(err, ":4: unknown section [nosuch]"));
	assert_non_null(strstr(err, ":5: x: key outside a known [section]"));
	assert_non_null(strstr(err, ":7: hospital.mode: value not among the "
	    "allowed ones (one of: conditional-create, put)"));
	assert_non_null(strstr(err, ":9: hospital.base_url:"));
	assert_non_null(strstr(err, ":10: expected 'key = value'"));
	free(f);
}

static void
test_config_duplicate_key_is_an_error(void **state)
{
	char err[1024] = "";
	char *f = write_file("dup.conf", "[log]\nlevel = info\nlevel = debug\n");
	struct config *c = load(f, NULL, 0, err, sizeof(err));

	assert_null(c);
	assert_non_null(strstr(err, ":3: log.level: set twice (first on line 2)"));
	free(f);
}

static void
test_config_overrides_win_over_file(void **state)
{
	char err[1024] = "";
	char *f = write_file("ov.conf", "[http]\nlisten = 127.0.0.1:1\n");
	const char *ov[] = { "http.listen=127.0.0.1:2", "model.scope=all" };
	struct config *c = load(f, ov, 2, err, sizeof(err));

	assert_non_null(c);
	assert_string_equal(c->cf_http_listen, "127.0.0.1:2");
	assert_int_equal(c->cf_model_scope, CONFIG_SCOPE_ALL);
	config_free(c);
	free(f);
}

static void
test_config_bad_override_is_named(void **state)
{
	char err[1024] = "";
	const char *ov[] = { "http.listen", "store.cache_mb=0" };
	struct config *c = load(NULL, ov, 2, err, sizeof(err));

	assert_null(c);
	assert_non_null(strstr(err, "-o: http.listen: expected section.key=value"));
	assert_non_null(strstr(err, "-o: store.cache_mb: expected an integer"));
}

static void
test_config_cross_checks_outbound_auth(void **state)
{
	char err[1024] = "";
	const char *ov[] = { "hospital.auth=oauth2" };
	struct config *c = load(NULL, ov, 1, err, sizeof(err));

	assert_null(c);
	assert_non_null(strstr(err, "hospital.oauth2_token_url: required"));
	assert_non_null(strstr(err, "hospital.oauth2_secret_file: required"));
}

static void
test_config_missing_file_is_an_error_unless_optional(void **state)
{
	char err[1024] = "";
	struct config *c = load("/nonexistent/calcifyd.conf", NULL, 0, err,
	    sizeof(err));

	assert_null(c);
	assert_non_null(strstr(err, "/nonexistent/calcifyd.conf: cannot open"));
	c = config_load("/nonexistent/calcifyd.conf", true, NULL, 0, stderr);
	assert_non_null(c);
	config_free(c);
}

static void
test_config_split_listen_handles_v4_v6_and_junk(void **state)
{
	char host[64];
	unsigned port;

	assert_int_equal(config_split_listen("127.0.0.1:8080", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(config_split_listen("[::1]:0", host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(config_split_listen("::1:80", host, sizeof(host),
	    &port), -1);
	assert_int_equal(config_split_listen("host", host, sizeof(host),
	    &port), -1);
	assert_int_equal(config_split_listen("h:70000", host, sizeof(host),
	    &port), -1);
}

static void
test_config_list_keys_names_every_section(void **state)
{
	char out[16384];
	FILE *fp = fmemopen(out, sizeof(out), "w");

	config_list_keys(fp);
	fclose(fp);
	assert_non_null(strstr(out, "http.listen\thost:port\t127.0.0.1:8080\t"));
	assert_non_null(strstr(out, "hospital.timeout_ms\tmilliseconds\t"));
	assert_non_null(strstr(out, "model.scope\tenum\tdialysis\t"));
	assert_non_null(strstr(out, "log.level\tlevel\tinfo\t"));
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_are_valid_and_embedded),
		cmocka_unit_test(test_config_file_values_and_relative_paths),
		cmocka_unit_test(test_config_typo_names_file_line_and_suggests),
		cmocka_unit_test(test_config_reports_every_error_not_just_first),
		cmocka_unit_test(test_config_duplicate_key_is_an_error),
		cmocka_unit_test(test_config_overrides_win_over_file),
		cmocka_unit_test(test_config_bad_override_is_named),
		cmocka_unit_test(test_config_cross_checks_outbound_auth),
		cmocka_unit_test(test_config_missing_file_is_an_error_unless_optional),
		cmocka_unit_test(test_config_split_listen_handles_v4_v6_and_junk),
		cmocka_unit_test(test_config_list_keys_names_every_section),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
