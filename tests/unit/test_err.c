/* The error list: distinct codes and texts, -errno passed through. */
#include "lib/err.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static const struct {
	int code;
	const char *name;
} err_all[] = {
#define ERR_ROW_(name, value, text) {name, #name},
	KF_ERRORS(ERR_ROW_)
#undef ERR_ROW_
};
#define ERR_COUNT (sizeof(err_all) / sizeof(err_all[0]))

static void test_codes_are_below_errno_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < ERR_COUNT; i++)
		assert_true(err_all[i].code <= -KF_ERR_BASE);
}

static void test_codes_are_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < ERR_COUNT; i++)
		for (size_t j = i + 1; j < ERR_COUNT; j++)
			assert_int_not_equal(err_all[i].code, err_all[j].code);
}

static void test_texts_are_distinct_and_not_generic(void **state)
{
	(void)state;
	for (size_t i = 0; i < ERR_COUNT; i++) {
		const char *t = kf_strerror(err_all[i].code);

		assert_string_not_equal(t, "unknown error");
		assert_true(strlen(t) > 0);
		for (size_t j = i + 1; j < ERR_COUNT; j++)
			assert_string_not_equal(t, kf_strerror(err_all[j].code));
	}
}

static void test_names_match_the_enum(void **state)
{
	(void)state;
	for (size_t i = 0; i < ERR_COUNT; i++)
		assert_string_equal(kf_errname(err_all[i].code), err_all[i].name);
}

static void test_negative_errno_passes_through(void **state)
{
	(void)state;
	assert_string_equal(kf_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(kf_strerror(-EACCES), strerror(EACCES));
	assert_string_equal(kf_errname(-ENOENT), "ENOENT");
}

static void test_zero_and_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(kf_strerror(0), "success");
	assert_string_equal(kf_errname(0), "OK");
	assert_string_equal(kf_strerror(-KF_ERR_BASE - 999), "unknown error");
	assert_string_equal(kf_errname(-KF_ERR_BASE - 999), "EUNKNOWN");
	assert_string_equal(kf_strerror(5), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_are_below_errno_range),
		cmocka_unit_test(test_codes_are_distinct),
		cmocka_unit_test(test_texts_are_distinct_and_not_generic),
		cmocka_unit_test(test_names_match_the_enum),
		cmocka_unit_test(test_negative_errno_passes_through),
		cmocka_unit_test(test_zero_and_unknown_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
