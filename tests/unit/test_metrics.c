/*
 * test_metrics.c - Prometheus text exposition: families, labels and
 * cumulative histogram buckets.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static const char *const routes[] = { "healthz", "create", "other" };

static void
test_metrics_counters_render_with_labels_and_help_once(void **state)
{
	struct buf b;
	const char *p;

	metrics_inc(M_RES_CREATED);
	metrics_add(M_RES_CREATED, 2);
	metrics_inc(M_UNUSED_UNIT);
	buf_init(&b);
	metrics_render(&b);
	assert_non_null(strstr(b.b_data,
	    "calcifyd_ingest_resources_total{result=\"created\"} 3\n"));
	assert_non_null(strstr(b.b_data,
	    "calcifyd_observations_unused_total{reason=\"unknown_unit\"} 1\n"));
	p = strstr(b.b_data, "# TYPE calcifyd_ingest_resources_total counter");
	assert_non_null(p);
	assert_null(strstr(p + 1, "# TYPE calcifyd_ingest_resources_total"));
	assert_non_null(strstr(b.b_data, "calcifyd_build_info{version=\""));
	assert_non_null(strstr(b.b_data, "process_start_time_seconds "));
	buf_free(&b);
}

static void
test_metrics_http_histogram_buckets_are_cumulative(void **state)
{
	struct buf b;

	metrics_http(1, 201, 0.0007);
	metrics_http(1, 201, 0.2);
	metrics_http(1, 499, 0.2);	/* unknown status goes to "other" */
	buf_init(&b);
	metrics_render(&b);
	assert_non_null(strstr(b.b_data,
	    "calcifyd_http_requests_total{route=\"create\",code=\"201\"} 2\n"));
	assert_non_null(strstr(b.b_data,
	    "calcifyd_http_requests_total{route=\"create\",code=\"other\"} 1\n"));
	assert_non_null(strstr(b.b_data, "calcifyd_http_request_duration_"
	    "seconds_bucket{route=\"create\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(b.b_data, "calcifyd_http_request_duration_"
	    "seconds_bucket{route=\"create\",le=\"0.25\"} 3\n"));
	assert_non_null(strstr(b.b_data, "calcifyd_http_request_duration_"
	    "seconds_bucket{route=\"create\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(b.b_data, "calcifyd_http_request_duration_"
	    "seconds_count{route=\"create\"} 3\n"));
	buf_free(&b);
}

static void
test_metrics_model_info_escapes_label_values(void **state)
{
	struct buf b;

	metrics_set_model("calc\"ify", "0.1.0");
	buf_init(&b);
	metrics_render(&b);
	assert_non_null(strstr(b.b_data,
	    "calcifyd_model_info{id=\"calc\\\"ify\",version=\"0.1.0\"} 1\n"));
	buf_free(&b);
}

static int
setup(void **state)
{
	metrics_init(routes, 3);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_counters_render_with_labels_and_help_once),
		cmocka_unit_test(test_metrics_http_histogram_buckets_are_cumulative),
		cmocka_unit_test(test_metrics_model_info_escapes_label_values),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
