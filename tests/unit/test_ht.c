/*
 * Unit tests of lib/ht.c: bucket counts, string and u64 keys through the
 * typed helpers, chains in a one-bucket table, removal (also of an element
 * not linked), a walk that visits each element once and survives removing
 * the current one, and the hash functions' known values.
 */
#include "lib/ht.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct named {
	int tag;
	struct ht_node hn; /* not first: ht_entry must step back */
	char name[16];
};

struct numbered {
	struct ht_node hn;
	uint64_t id;
};

HT_DEFINE_STR(named, struct named, hn, name)
HT_DEFINE_U64(numbered, struct numbered, hn, id)

static void test_buckets_round_up_and_bad_sizes_are_refused(void **state)
{
	struct ht t;

	(void)state;
	assert_int_equal(ht_init(&t, 0), -EINVAL);
	assert_int_equal(ht_init(&t, HT_BUCKETS_MAX + 1), -EINVAL);
	assert_int_equal(ht_init(&t, 1000), 0);
	assert_int_equal(t.mask, 1023);
	assert_int_equal(ht_count(&t), 0);
	assert_null(ht_first(&t));
	ht_release(&t);
	assert_int_equal(ht_init(&t, 1), 0);
	assert_int_equal(t.mask, 0);
	ht_release(&t);
}

static void test_string_keys_find_insert_remove(void **state)
{
	struct named e[3] = {{1, {0}, "alice"}, {2, {0}, "bob"}, {3, {0}, "carol"}};
	struct ht t;

	(void)state;
	assert_int_equal(ht_init(&t, 8), 0);
	for (int i = 0; i < 3; i++)
		named_insert(&t, &e[i]);
	assert_int_equal(ht_count(&t), 3);
	assert_ptr_equal(named_find(&t, "bob"), &e[1]);
	assert_int_equal(named_find(&t, "carol")->tag, 3);
	assert_null(named_find(&t, "dave"));
	assert_null(named_find(&t, ""));
	named_remove(&t, &e[1]);
	assert_null(named_find(&t, "bob"));
	assert_ptr_equal(named_find(&t, "alice"), &e[0]);
	assert_int_equal(ht_count(&t), 2);
	/* Removing what is not linked changes nothing. */
	named_remove(&t, &e[1]);
	assert_int_equal(ht_count(&t), 2);
	ht_release(&t);
}

static void test_u64_keys_and_one_bucket_chains(void **state)
{
	struct numbered e[50];
	struct ht t;

	(void)state;
	assert_int_equal(ht_init(&t, 1), 0); /* every element in one chain */
	for (uint64_t i = 0; i < 50; i++) {
		e[i].id = i * 1000;
		numbered_insert(&t, &e[i]);
	}
	for (uint64_t i = 0; i < 50; i++)
		assert_ptr_equal(numbered_find(&t, i * 1000), &e[i]);
	assert_null(numbered_find(&t, 1));
	/* From the middle, the head and the tail of the chain. */
	numbered_remove(&t, &e[25]);
	numbered_remove(&t, &e[49]);
	numbered_remove(&t, &e[0]);
	assert_int_equal(ht_count(&t), 47);
	assert_null(numbered_find(&t, 25000));
	assert_null(numbered_find(&t, 49000));
	assert_null(numbered_find(&t, 0));
	assert_ptr_equal(numbered_find(&t, 24000), &e[24]);
	assert_ptr_equal(numbered_find(&t, 26000), &e[26]);
	ht_release(&t);
}

static void test_walk_visits_each_once(void **state)
{
	struct numbered e[300];
	int seen[300] = {0};
	size_t n = 0;
	struct ht t;

	(void)state;
	assert_int_equal(ht_init(&t, 64), 0);
	for (uint64_t i = 0; i < 300; i++) {
		e[i].id = i;
		numbered_insert(&t, &e[i]);
	}
	for (struct numbered *x = numbered_first(&t); x; x = numbered_next(&t, x)) {
		seen[x->id]++;
		n++;
	}
	assert_int_equal(n, 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(seen[i], 1);
	ht_release(&t);
}

static void test_walk_may_remove_the_current_element(void **state)
{
	struct named e[100];
	struct ht t;
	size_t left = 0;

	(void)state;
	assert_int_equal(ht_init(&t, 16), 0);
	for (int i = 0; i < 100; i++) {
		e[i].tag = i;
		snprintf(e[i].name, sizeof(e[i].name), "n%d", i);
		named_insert(&t, &e[i]);
	}
	for (struct named *x = named_first(&t), *next; x; x = next) {
		next = named_next(&t, x);
		if (x->tag % 2 == 0)
			named_remove(&t, x);
	}
	assert_int_equal(ht_count(&t), 50);
	for (struct named *x = named_first(&t); x; x = named_next(&t, x)) {
		assert_int_equal(x->tag % 2, 1);
		left++;
	}
	assert_int_equal(left, 50);
	for (int i = 0; i < 100; i++)
		assert_true((named_find(&t, e[i].name) != NULL) == (i % 2 == 1));
	ht_release(&t);
}

static void test_hash_values(void **state)
{
	static char used[1024];
	int nused = 0;

	(void)state;
	/* FNV-1a 64 test vectors. */
	assert_true(ht_hash_str("") == 0xcbf29ce484222325u);
	assert_true(ht_hash_str("a") == 0xaf63dc4c8601ec8cu);
	assert_true(ht_hash_str("foobar") == 0x85944171f73967e8u);
	/* Consecutive ids (connection numbers) spread over the buckets. */
	for (uint64_t i = 1; i <= 1024; i++)
		used[ht_hash_u64(i) & 1023] = 1;
	for (int i = 0; i < 1024; i++)
		nused += used[i];
	assert_true(nused > 550); /* a uniform spread fills about 647 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_round_up_and_bad_sizes_are_refused),
		cmocka_unit_test(test_string_keys_find_insert_remove),
		cmocka_unit_test(test_u64_keys_and_one_bucket_chains),
		cmocka_unit_test(test_walk_visits_each_once),
		cmocka_unit_test(test_walk_may_remove_the_current_element),
		cmocka_unit_test(test_hash_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
