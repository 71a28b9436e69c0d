/*
 * Unit tests of the exposition writer of node/metrics.c: HELP and TYPE
 * lines, escaped label values, histograms with cumulative buckets, +Inf,
 * _sum and _count, and the output bound.
 */
#include "node/metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_family_and_escaping(void **state)
{
	struct metrics_out o;
	struct metrics_label l[] = {{"member", "a\"b\\c\nd"}, {"x", ""}};

	(void)state;
	metrics_out_init(&o, 0);
	metrics_family(&o, "kefu_t", "gauge", "Help with \\ and\nnewline \"quoted\".");
	metrics_sample_u64(&o, "kefu_t", l, 2, 18446744073709551615u);
	metrics_sample(&o, "kefu_t", NULL, 0, 0.5);
	metrics_sample(&o, "kefu_t", NULL, 0, 57.0 / 100);
	metrics_sample(&o, "kefu_t", NULL, 0, 0.1 + 0.2);
	assert_string_equal(o.buf,
			    "# HELP kefu_t Help with \\\\ and\\nnewline \"quoted\".\n"
			    "# TYPE kefu_t gauge\n"
			    "kefu_t{member=\"a\\\"b\\\\c\\nd\",x=\"\"} 18446744073709551615\n"
			    "kefu_t 0.5\n"
			    "kefu_t 0.57\n"
			    "kefu_t 0.30000000000000004\n");
	assert_false(o.overflow);
	metrics_out_release(&o);
}

static void test_histogram(void **state)
{
	static struct hist h;
	static const uint64_t bounds[] = {64, 1024};
	struct metrics_out o;
	struct metrics_label l = {"k", "v"};

	(void)state;
	memset(&h, 0, sizeof(h));
	hist_add(&h, 10);
	hist_add(&h, 63);
	hist_add(&h, 64);
	hist_add(&h, 2000000);
	metrics_out_init(&o, 0);
	metrics_histogram_us(&o, "kefu_h_seconds", &l, 1, &h, bounds, 2);
	assert_string_equal(o.buf,
			    "kefu_h_seconds_bucket{k=\"v\",le=\"0.000064\"} 2\n"
			    "kefu_h_seconds_bucket{k=\"v\",le=\"0.001024\"} 3\n"
			    "kefu_h_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"
			    "kefu_h_seconds_sum{k=\"v\"} 2.000137\n"
			    "kefu_h_seconds_count{k=\"v\"} 4\n");
	metrics_out_release(&o);
}

static void test_bounded(void **state)
{
	struct metrics_out o;

	(void)state;
	metrics_out_init(&o, 64);
	for (int i = 0; i < 10; i++)
		metrics_sample_u64(&o, "kefu_something_long", NULL, 0, 1);
	assert_true(o.overflow);
	assert_true(o.len <= 64);
	metrics_out_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
