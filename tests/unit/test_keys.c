/* Unit tests of storage/keys.c: part encoding, limits and decoding. */
#include "lib/err.h"
#include "storage/keys.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

static void test_parts_are_zero_terminated(void **state)
{
	struct key k;

	(void)state;
	key_init(&k);
	assert_int_equal(key_add_str(&k, "u1"), 0);
	assert_int_equal(key_add(&k, "202401", 6), 0);
	assert_int_equal(k.len, 10);
	assert_memory_equal(k.b, "u1\0" "202401\0", 10);
	assert_true(key_ok(&k));
}

static void test_empty_part_is_one_terminator(void **state)
{
	struct key k;

	(void)state;
	key_init(&k);
	assert_int_equal(key_add(&k, "", 0), 0);
	assert_int_equal(k.len, 1);
	assert_int_equal(k.b[0], 0);
}

static void test_whole_part_prefix_does_not_match_longer_part(void **state)
{
	struct key shorter, longer;

	(void)state;
	key_init(&shorter);
	key_add_str(&shorter, "8800012");
	key_init(&longer);
	key_add_str(&longer, "88000123");
	key_add_str(&longer, "x");
	assert_true(longer.len >= shorter.len);
	assert_int_not_equal(memcmp(longer.b, shorter.b, shorter.len), 0);
}

static void test_order_is_part_by_part(void **state)
{
	struct key a, b;

	(void)state;
	/* ("u1","z") sorts before ("u10","a") because 0x00 < '0' */
	key_init(&a);
	key_add_str(&a, "u1");
	key_add_str(&a, "z");
	key_init(&b);
	key_add_str(&b, "u10");
	key_add_str(&b, "a");
	assert_true(memcmp(a.b, b.b, a.len < b.len ? a.len : b.len) < 0);
}

static void test_key_fills_to_the_limit(void **state)
{
	char part[STORE_KEY_MAX];
	struct key k;

	(void)state;
	memset(part, 'p', sizeof(part));
	key_init(&k);
	assert_int_equal(key_add(&k, part, STORE_KEY_MAX - 1), 0);
	assert_int_equal(k.len, STORE_KEY_MAX);
	assert_true(key_ok(&k));
}

static void test_one_byte_over_the_limit_overflows(void **state)
{
	char part[STORE_KEY_MAX];
	struct key k;

	(void)state;
	memset(part, 'p', sizeof(part));
	key_init(&k);
	assert_int_equal(key_add(&k, part, STORE_KEY_MAX), KF_ETOOBIG);
	assert_false(key_ok(&k));
}

static void test_overflow_sticks(void **state)
{
	char part[STORE_KEY_MAX];
	struct key k;

	(void)state;
	memset(part, 'p', sizeof(part));
	key_init(&k);
	assert_int_equal(key_add(&k, part, 300), 0);
	assert_int_equal(key_add(&k, part, 300), KF_ETOOBIG);
	assert_int_equal(key_add(&k, "a", 1), KF_ETOOBIG);
	assert_false(key_ok(&k));
	key_init(&k);
	assert_true(key_ok(&k));
}

static void test_part_with_nul_spoils_key(void **state)
{
	struct key k;

	(void)state;
	key_init(&k);
	assert_int_equal(key_add(&k, "a\0b", 3), KF_EPARSE);
	assert_false(key_ok(&k));
}

static void test_part_reads_each_part_back(void **state)
{
	const uint8_t *p;
	size_t n;
	struct key k;

	(void)state;
	key_init(&k);
	key_add_str(&k, "u1");
	key_add(&k, "", 0);
	key_add_str(&k, "item");
	assert_int_equal(key_part(k.b, k.len, 0, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(p, "u1", 2);
	assert_int_equal(key_part(k.b, k.len, 1, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(key_part(k.b, k.len, 2, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "item", 4);
	assert_int_equal(key_part(k.b, k.len, 3, &p, &n), KF_ENOTFOUND);
}

static void test_part_ignores_unterminated_tail(void **state)
{
	const uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(key_part("ab\0cd", 5, 0, &p, &n), 0);
	assert_int_equal(key_part("ab\0cd", 5, 1, &p, &n), KF_ENOTFOUND);
	assert_int_equal(key_part("", 0, 0, &p, &n), KF_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts_are_zero_terminated),
		cmocka_unit_test(test_empty_part_is_one_terminator),
		cmocka_unit_test(test_whole_part_prefix_does_not_match_longer_part),
		cmocka_unit_test(test_order_is_part_by_part),
		cmocka_unit_test(test_key_fills_to_the_limit),
		cmocka_unit_test(test_one_byte_over_the_limit_overflows),
		cmocka_unit_test(test_overflow_sticks),
		cmocka_unit_test(test_part_with_nul_spoils_key),
		cmocka_unit_test(test_part_reads_each_part_back),
		cmocka_unit_test(test_part_ignores_unterminated_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
