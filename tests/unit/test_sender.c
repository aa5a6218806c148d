/*
 * test_sender.c - the sender's decisions: what an answer means, how long
 * to wait (full jitter, never shorter than Retry-After), Retry-After in
 * both forms, when to give up.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sender.h"
#include "util.h"

static void
test_sender_classifies_answers_per_architecture(void **state)
{
	assert_int_equal(sender_classify(201, false, false), SENDER_DELIVERED);
	assert_int_equal(sender_classify(200, false, false), SENDER_DELIVERED);
	/* 5xx, 408, 409, 429 and no answer are retried. */
	assert_int_equal(sender_classify(0, false, false), SENDER_RETRY);
	assert_int_equal(sender_classify(500, false, false), SENDER_RETRY);
	assert_int_equal(sender_classify(503, false, false), SENDER_RETRY);
	assert_int_equal(sender_classify(408, false, false), SENDER_RETRY);
	assert_int_equal(sender_classify(409, false, false), SENDER_RETRY);
	assert_int_equal(sender_classify(429, false, false), SENDER_RETRY);
	/* Other 4xx are dead letters; 412 means duplicates at the server. */
	assert_int_equal(sender_classify(400, false, false), SENDER_DEAD);
	assert_int_equal(sender_classify(404, false, false), SENDER_DEAD);
	assert_int_equal(sender_classify(412, false, false), SENDER_DEAD);
	assert_int_equal(sender_classify(422, false, false), SENDER_DEAD);
	/* 401: renew the token once when we use one, then give up. */
	assert_int_equal(sender_classify(401, true, false), SENDER_REAUTH);
	assert_int_equal(sender_classify(401, true, true), SENDER_DEAD);
	assert_int_equal(sender_classify(401, false, false), SENDER_DEAD);
}

static void
test_sender_backoff_is_full_jitter_capped(void **state)
{
	/* attempt 0: uniform over [0, base] */
	assert_int_equal(sender_backoff_ms(0, 500, 300000, -1, 0.0), 0);
	assert_true(sender_backoff_ms(0, 500, 300000, -1, 0.999) <= 500);
	/* doubles per attempt */
	assert_true(sender_backoff_ms(3, 500, 300000, -1, 0.999) <= 4000);
	assert_true(sender_backoff_ms(3, 500, 300000, -1, 0.999) > 3900);
	/* capped */
	assert_true(sender_backoff_ms(40, 500, 300000, -1, 0.999) <= 300000);
	assert_true(sender_backoff_ms(40, 500, 300000, -1, 0.999) > 299000);
}

static void
test_sender_backoff_never_shorter_than_retry_after(void **state)
{
	assert_int_equal(sender_backoff_ms(0, 500, 300000, 7000, 0.5), 7000);
	assert_true(sender_backoff_ms(10, 500, 300000, 1000, 0.9) > 1000);
}

static void
test_sender_parses_retry_after_seconds_and_dates(void **state)
{
	int64_t now = 1795161600000LL;

	assert_int_equal(sender_retry_after_ms("120", now), 120000);
	assert_int_equal(sender_retry_after_ms("0", now), 0);
	assert_int_equal(sender_retry_after_ms("Fri, 20 Nov 2026 08:00:30 GMT",
	    now), 30000);
	/* A date in the past means "now". */
	assert_int_equal(sender_retry_after_ms("Fri, 20 Nov 2026 07:00:00 GMT",
	    now), 0);
	assert_int_equal(sender_retry_after_ms("soon", now), -1);
	assert_int_equal(sender_retry_after_ms("", now), -1);
	assert_int_equal(sender_retry_after_ms(NULL, now), -1);
	assert_int_equal(sender_retry_after_ms("-5", now), -1);
}

static void
test_sender_gives_up_after_max_retries_or_max_age(void **state)
{
	int64_t t0 = 1795161600000LL, hour = 3600000;

	/* max_retries = 3 allows three attempts: the third failure ends it. */
	assert_false(sender_give_up(1, t0, t0 + 1000, 3, 24 * hour));
	assert_false(sender_give_up(2, t0, t0 + 2000, 3, 24 * hour));
	assert_true(sender_give_up(3, t0, t0 + 3000, 3, 24 * hour));
	/* 0 means no attempt limit: only the age counts. */
	assert_false(sender_give_up(100000, t0, t0 + hour, 0, 24 * hour));
	/* The age counts from the enqueue (or requeue), inclusive. */
	assert_false(sender_give_up(1, t0, t0 + hour - 1, 0, hour));
	assert_true(sender_give_up(1, t0, t0 + hour, 0, hour));
	assert_true(sender_give_up(1, t0, t0 + 2 * hour, 5, hour));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sender_classifies_answers_per_architecture),
		cmocka_unit_test(test_sender_backoff_is_full_jitter_capped),
		cmocka_unit_test(test_sender_backoff_never_shorter_than_retry_after),
		cmocka_unit_test(test_sender_parses_retry_after_seconds_and_dates),
		cmocka_unit_test(test_sender_gives_up_after_max_retries_or_max_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
