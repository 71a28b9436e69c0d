/*
 * Unit tests of lib/webform.c: form pairs decoded ('+', %XX, UTF-8), empty
 * pairs skipped, a pair without '=' with an empty value; bad escapes, NUL
 * bytes, text that is not UTF-8 and empty keys refused; buffers too small
 * give KF_ETOOBIG; one cookie of a Cookie header found, or not.
 */
#include "lib/err.h"
#include "lib/webform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static int next(const char *s, size_t *pos, char *k, char *v)
{
	return webform_next(s, strlen(s), pos, k, 32, v, 32);
}

static void test_pairs(void **state)
{
	const char *s = "&a=1&&name=%E5%BC%A0+%E4%B8%89&flag&x.y=a%2Bb%26c=";
	char k[32], v[32];
	size_t pos = 0;

	(void)state;
	assert_int_equal(next(s, &pos, k, v), 1);
	assert_string_equal(k, "a");
	assert_string_equal(v, "1");
	assert_int_equal(next(s, &pos, k, v), 1);
	assert_string_equal(k, "name");
	assert_string_equal(v, "张 三");
	assert_int_equal(next(s, &pos, k, v), 1);
	assert_string_equal(k, "flag");
	assert_string_equal(v, "");
	assert_int_equal(next(s, &pos, k, v), 1);
	assert_string_equal(k, "x.y");
	assert_string_equal(v, "a+b&c=");
	assert_int_equal(next(s, &pos, k, v), 0);
	assert_int_equal(pos, strlen(s));
}

static void test_refused(void **state)
{
	static const char *const bad[] = {"a=%zz", "a=%4", "a=%00", "=v", "%ff=1", "a=%C0%AF",
					  "a=%ED%A0%80"};
	char k[32], v[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t pos = 0;

		assert_int_equal(next(bad[i], &pos, k, v), KF_EPARSE);
		assert_int_equal(pos, strlen(bad[i])); /* the walk goes on past it */
	}
}

static void test_sizes(void **state)
{
	const char *s = "key=0123456789";
	char k[32], v[32];
	size_t pos = 0;

	(void)state;
	assert_int_equal(webform_next(s, strlen(s), &pos, k, 4, v, 32), 1);
	pos = 0;
	assert_int_equal(webform_next(s, strlen(s), &pos, k, 3, v, 32), KF_ETOOBIG);
	pos = 0;
	assert_int_equal(webform_next(s, strlen(s), &pos, k, 4, v, 10), KF_ETOOBIG);
	pos = 0;
	assert_int_equal(webform_next(s, strlen(s), &pos, k, 4, v, 11), 1);
	assert_string_equal(v, "0123456789");
}

static void test_cookie(void **state)
{
	const char *h = "theme=dark; __Host-kefu-pre=aa11; __Host-kefu=bb22 ;x=1";
	char out[8];

	(void)state;
	assert_int_equal(webform_cookie(h, "__Host-kefu", out, sizeof(out)), 0);
	assert_string_equal(out, "bb22");
	assert_int_equal(webform_cookie(h, "__Host-kefu-pre", out, sizeof(out)), 0);
	assert_string_equal(out, "aa11");
	assert_int_equal(webform_cookie(h, "kefu", out, sizeof(out)), KF_ENOTFOUND);
	assert_int_equal(webform_cookie(h, "theme", out, 4), KF_ETOOBIG);
	assert_int_equal(webform_cookie("a=b\tc", "a", out, sizeof(out)), KF_EPARSE);
	assert_int_equal(webform_cookie("", "a", out, sizeof(out)), KF_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
