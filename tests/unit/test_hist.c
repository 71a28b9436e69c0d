/*
 * Unit tests of lib/hist.c: quantiles within 1/8 of the exact value,
 * exact below 8, never above the largest value; merging adds counts.
 */
#include "lib/hist.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_empty_is_zero(void **state)
{
	struct hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_quantile(&h, 500), 0);
	assert_int_equal(hist_quantile(&h, 990), 0);
}

static void test_small_values_are_exact(void **state)
{
	struct hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 0; v < 8; v++)
		hist_add(&h, v);
	assert_int_equal(h.count, 8);
	assert_int_equal(hist_quantile(&h, 500), 3); /* the 4th of 0..7 */
	assert_int_equal(hist_quantile(&h, 1000), 7);
	assert_int_equal(hist_quantile(&h, 0), 0);
}

/* 1..100000 once each: every quantile within 1/8 above the exact one. */
static void test_quantiles_within_an_eighth(void **state)
{
	static struct hist h;
	static const unsigned pm[] = {10, 250, 500, 900, 990, 999, 1000};

	(void)state;
	for (uint64_t v = 1; v <= 100000; v++)
		hist_add(&h, v);
	for (size_t i = 0; i < sizeof(pm) / sizeof(pm[0]); i++) {
		uint64_t exact = 100000 * pm[i] / 1000, got = hist_quantile(&h, pm[i]);

		assert_true(got >= exact);
		assert_true(got <= exact + exact / 8);
	}
	assert_int_equal(hist_quantile(&h, 1000), 100000);
}

static void test_never_above_max_and_huge_values(void **state)
{
	static struct hist h;

	(void)state;
	hist_add(&h, 1000);
	assert_int_equal(hist_quantile(&h, 990), 1000);
	hist_add(&h, UINT64_MAX);
	assert_true(hist_quantile(&h, 1000) == UINT64_MAX);
	/* the top of 1000's bucket now that the largest value is above it */
	assert_true(hist_quantile(&h, 500) >= 1000 && hist_quantile(&h, 500) <= 1000 + 1000 / 8);
}

static void test_merge_adds(void **state)
{
	static struct hist a, b;

	(void)state;
	for (int i = 0; i < 99; i++)
		hist_add(&a, 100);
	hist_add(&b, 50000);
	hist_add(&b, 100);
	hist_merge(&a, &b);
	assert_int_equal(a.count, 101);
	assert_int_equal(a.max, 50000);
	assert_true(hist_quantile(&a, 990) >= 100 && hist_quantile(&a, 990) <= 100 + 100 / 8);
	assert_true(hist_quantile(&a, 1000) == 50000);
}

/* Counts below a power of two are exact; the sum adds every value. */
static void test_count_below_and_sum(void **state)
{
	static struct hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 0; v < 5000; v++)
		hist_add(&h, v);
	assert_int_equal(h.sum, 5000 * 4999 / 2);
	assert_int_equal(hist_count_below(&h, 0), 0);
	assert_int_equal(hist_count_below(&h, 1), 1);
	for (unsigned k = 1; k < 13; k++)
		assert_int_equal(hist_count_below(&h, UINT64_C(1) << k), UINT64_C(1) << k);
	assert_int_equal(hist_count_below(&h, UINT64_C(1) << 13), 5000);
	assert_true(hist_count_below(&h, 1000) <= 1000);
	assert_true(hist_count_below(&h, 1000) >= 1000 - 1000 / 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_zero),
		cmocka_unit_test(test_small_values_are_exact),
		cmocka_unit_test(test_quantiles_within_an_eighth),
		cmocka_unit_test(test_never_above_max_and_huge_values),
		cmocka_unit_test(test_merge_adds),
		cmocka_unit_test(test_count_below_and_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
