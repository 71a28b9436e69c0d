/*
 * Unit tests of storage/batch.c: building batches, limits, and the
 * kefu.WriteBatch encoding, including input a hostile peer could send.
 */
#include "lib/err.h"
#include "proto/kefu.pb-c.h"
#include "storage/batch.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void assert_op(const struct batch *b, size_t i, enum batch_op_kind kind,
		      enum store_table table, const char *key, const char *val)
{
	struct batch_op op = batch_op(b, i);

	assert_int_equal(op.kind, kind);
	assert_int_equal(op.table, table);
	assert_int_equal(op.klen, strlen(key));
	assert_memory_equal(op.key, key, op.klen);
	if (!val) {
		assert_null(op.val);
		assert_int_equal(op.vlen, 0);
		return;
	}
	assert_non_null(op.val);
	assert_int_equal(op.vlen, strlen(val));
	assert_memory_equal(op.val, val, op.vlen);
}

/* A batch of three ops used by several tests. */
static struct batch *sample_batch(void)
{
	struct batch *b = batch_new(0);

	assert_int_equal(batch_put(b, STORE_CUST, "c1", 2, "alice", 5), 0);
	assert_int_equal(batch_del(b, STORE_USER, "u9", 2), 0);
	assert_int_equal(batch_put(b, STORE_CUST_USERS, "c1\0u1\0", 6, "", 0), 0);
	return b;
}

/* pack_msg - encode a hand-built WriteBatch; the caller frees *out. */
static size_t pack_msg(Kefu__WriteOp *ops, size_t n, uint8_t **out)
{
	Kefu__WriteBatch msg = KEFU__WRITE_BATCH__INIT;
	Kefu__WriteOp *ptrs[8];
	size_t len;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &ops[i];
	msg.n_ops = n;
	msg.ops = ptrs;
	len = kefu__write_batch__get_packed_size(&msg);
	*out = malloc(len + 1);
	assert_non_null(*out);
	kefu__write_batch__pack(&msg, *out);
	return len;
}

static Kefu__WriteOp good_op(void)
{
	Kefu__WriteOp op = KEFU__WRITE_OP__INIT;

	op.has_kind = 1;
	op.kind = KEFU__WRITE_OP__KIND__PUT;
	op.has_table = 1;
	op.table = STORE_META;
	op.has_key = 1;
	op.key = (ProtobufCBinaryData){1, (uint8_t *)"k"};
	op.has_value = 1;
	op.value = (ProtobufCBinaryData){1, (uint8_t *)"v"};
	return op;
}

/* unpack_one - unpack a message holding good_op() then op into a batch that
 * already has one op; returns batch_unpack's code and checks that a refused
 * message left the batch as it was. */
static int unpack_one(Kefu__WriteOp op)
{
	Kefu__WriteOp ops[2] = {good_op(), op};
	struct batch *b = batch_new(0);
	uint8_t *buf;
	size_t len = pack_msg(ops, 2, &buf);
	int rc;

	assert_int_equal(batch_put(b, STORE_CUST, "c1", 2, "x", 1), 0);
	rc = batch_unpack(b, buf, len, NULL, NULL);
	if (rc) {
		assert_int_equal(batch_count(b), 1);
		assert_int_equal(batch_bytes(b), 3);
		assert_op(b, 0, BATCH_PUT, STORE_CUST, "c1", "x");
	}
	free(buf);
	batch_free(b);
	return rc;
}

/* ---- building ---- */

static void test_ops_keep_order_and_content(void **state)
{
	struct batch *b = sample_batch();

	(void)state;
	assert_int_equal(batch_count(b), 3);
	assert_int_equal(batch_bytes(b), 2 + 5 + 2 + 6);
	assert_op(b, 0, BATCH_PUT, STORE_CUST, "c1", "alice");
	assert_op(b, 1, BATCH_DEL, STORE_USER, "u9", NULL);
	assert_int_equal(batch_op(b, 2).klen, 6);
	assert_non_null(batch_op(b, 2).val);
	assert_int_equal(batch_op(b, 2).vlen, 0);
	batch_free(b);
}

static void test_key_and_value_are_copied(void **state)
{
	struct batch *b = batch_new(0);
	char key[] = "k1", val[] = "v1";

	(void)state;
	assert_int_equal(batch_put(b, STORE_META, key, 2, val, 2), 0);
	key[0] = 'X';
	val[0] = 'X';
	assert_op(b, 0, BATCH_PUT, STORE_META, "k1", "v1");
	batch_free(b);
}

static void test_key_over_limit_is_etoobig(void **state)
{
	struct batch *b = batch_new(0);
	uint8_t key[STORE_KEY_MAX + 1] = {0};

	(void)state;
	assert_int_equal(batch_put(b, STORE_META, key, STORE_KEY_MAX, "", 0), 0);
	assert_int_equal(batch_put(b, STORE_META, key, STORE_KEY_MAX + 1, "", 0), KF_ETOOBIG);
	assert_int_equal(batch_del(b, STORE_META, key, STORE_KEY_MAX + 1), KF_ETOOBIG);
	assert_int_equal(batch_count(b), 1);
	batch_free(b);
}

static void test_unknown_table_or_empty_key_is_einval(void **state)
{
	struct batch *b = batch_new(0);

	(void)state;
	assert_int_equal(batch_put(b, (enum store_table)0, "k", 1, "", 0), -EINVAL);
	assert_int_equal(batch_put(b, (enum store_table)STORE_TABLE_SLOTS, "k", 1, "", 0), -EINVAL);
	assert_int_equal(batch_del(b, (enum store_table)999, "k", 1), -EINVAL);
	assert_int_equal(batch_put(b, STORE_META, "", 0, "v", 1), -EINVAL);
	assert_int_equal(batch_count(b), 0);
	batch_free(b);
}

static void test_cap_refuses_the_op_that_passes_it(void **state)
{
	struct batch *b = batch_new(10);

	(void)state;
	assert_int_equal(batch_put(b, STORE_META, "abc", 3, "defg", 4), 0);
	assert_int_equal(batch_put(b, STORE_META, "x", 1, "yzw", 3), KF_ETOOBIG);
	assert_int_equal(batch_put(b, STORE_META, "x", 1, "yz", 2), 0);
	assert_int_equal(batch_bytes(b), 10);
	assert_int_equal(batch_del(b, STORE_META, "q", 1), KF_ETOOBIG);
	assert_int_equal(batch_count(b), 2);
	batch_free(b);
}

static void test_huge_value_length_does_not_wrap(void **state)
{
	struct batch *b = batch_new(100);

	(void)state;
	assert_int_equal(batch_put(b, STORE_META, "k", 1, "v", SIZE_MAX), KF_ETOOBIG);
	assert_int_equal(batch_count(b), 0);
	batch_free(b);
}

static void test_views_stay_valid_as_batch_grows(void **state)
{
	struct batch *b = batch_new(0);
	char big[100000];
	const uint8_t *first;

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(batch_put(b, STORE_META, "first", 5, "one", 3), 0);
	first = batch_op(b, 0).key;
	for (int i = 0; i < 50; i++)
		assert_int_equal(batch_put(b, STORE_CDR, "k", 1, big, sizeof(big)), 0);
	assert_ptr_equal(batch_op(b, 0).key, first);
	assert_memory_equal(first, "first", 5);
	batch_free(b);
}

static void test_reset_empties_and_batch_is_reusable(void **state)
{
	struct batch *b = sample_batch();
	char big[200000];

	(void)state;
	memset(big, 'b', sizeof(big));
	batch_reset(b);
	assert_int_equal(batch_count(b), 0);
	assert_int_equal(batch_bytes(b), 0);
	assert_int_equal(batch_put(b, STORE_META, "k", 1, big, sizeof(big)), 0);
	assert_int_equal(batch_put(b, STORE_META, "j", 1, "v", 1), 0);
	batch_reset(b);
	/* a reused chunk too small for the next value is replaced */
	assert_int_equal(batch_put(b, STORE_META, "j", 1, "v", 1), 0);
	assert_int_equal(batch_put(b, STORE_META, "k", 1, big, sizeof(big)), 0);
	assert_int_equal(batch_count(b), 2);
	assert_op(b, 0, BATCH_PUT, STORE_META, "j", "v");
	assert_memory_equal(batch_op(b, 1).val, big, sizeof(big));
	batch_free(b);
}

/* ---- pack and unpack ---- */

static void test_pack_unpack_round_trip(void **state)
{
	struct batch *b = sample_batch(), *c = batch_new(0);
	uint64_t group = 0;
	bool end = false;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(batch_pack(b, 42, true, "node-a", &buf, &len), 0);
	assert_int_equal(batch_unpack(c, buf, len, &group, &end), 0);
	assert_int_equal(group, 42);
	assert_true(end);
	assert_int_equal(batch_count(c), 3);
	assert_int_equal(batch_bytes(c), batch_bytes(b));
	assert_op(c, 0, BATCH_PUT, STORE_CUST, "c1", "alice");
	assert_op(c, 1, BATCH_DEL, STORE_USER, "u9", NULL);
	assert_memory_equal(batch_op(c, 2).key, "c1\0u1\0", 6);
	assert_int_equal(batch_op(c, 2).vlen, 0);
	free(buf);
	batch_free(b);
	batch_free(c);
}

static void test_unpack_appends_to_existing_ops(void **state)
{
	struct batch *b = sample_batch();
	uint64_t group = 7;
	bool end = true;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(batch_pack(b, 0, false, NULL, &buf, &len), 0);
	assert_int_equal(batch_unpack(b, buf, len, &group, &end), 0);
	assert_int_equal(group, 0);
	assert_false(end);
	assert_int_equal(batch_count(b), 6);
	assert_op(b, 3, BATCH_PUT, STORE_CUST, "c1", "alice");
	free(buf);
	batch_free(b);
}

static void test_empty_batch_round_trips(void **state)
{
	struct batch *b = batch_new(0);
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(batch_pack(b, 0, false, NULL, &buf, &len), 0);
	assert_int_equal(batch_unpack(b, buf, len, NULL, NULL), 0);
	assert_int_equal(batch_count(b), 0);
	free(buf);
	batch_free(b);
}

static void test_unpack_refuses_garbage(void **state)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x80};
	static const uint8_t truncated[] = {0x0a, 0x10, 0x08, 0x00};
	struct batch *b = batch_new(0);

	(void)state;
	assert_int_equal(batch_unpack(b, junk, sizeof(junk), NULL, NULL), KF_EPARSE);
	assert_int_equal(batch_unpack(b, truncated, sizeof(truncated), NULL, NULL), KF_EPARSE);
	assert_int_equal(batch_count(b), 0);
	batch_free(b);
}

static void test_unpack_refuses_unknown_table(void **state)
{
	Kefu__WriteOp op = good_op();

	(void)state;
	op.table = 99;
	assert_int_equal(unpack_one(op), KF_EPARSE);
	op.table = 0;
	assert_int_equal(unpack_one(op), KF_EPARSE);
	op.table = UINT32_MAX;
	assert_int_equal(unpack_one(op), KF_EPARSE);
	op.has_table = 0;
	assert_int_equal(unpack_one(op), KF_EPARSE);
}

static void test_unpack_refuses_op_without_key(void **state)
{
	Kefu__WriteOp op = good_op();

	(void)state;
	op.key = (ProtobufCBinaryData){0, NULL};
	assert_int_equal(unpack_one(op), KF_EPARSE);
	op.has_key = 0;
	assert_int_equal(unpack_one(op), KF_EPARSE);
}

static void test_unpack_refuses_unknown_kind_and_del_with_value(void **state)
{
	Kefu__WriteOp op = good_op();

	(void)state;
	op.kind = (Kefu__WriteOp__Kind)7;
	assert_int_equal(unpack_one(op), KF_EPARSE);
	op.kind = KEFU__WRITE_OP__KIND__DEL;
	assert_int_equal(unpack_one(op), KF_EPARSE);
	op.has_value = 0;
	assert_int_equal(unpack_one(op), 0);
}

static void test_unpack_refuses_key_over_limit(void **state)
{
	uint8_t key[STORE_KEY_MAX + 1];
	Kefu__WriteOp op = good_op();

	(void)state;
	memset(key, 'k', sizeof(key));
	op.key = (ProtobufCBinaryData){sizeof(key), key};
	assert_int_equal(unpack_one(op), KF_ETOOBIG);
}

static void test_unpack_past_cap_is_etoobig_and_changes_nothing(void **state)
{
	struct batch *b = sample_batch(), *small = batch_new(10);
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(batch_put(small, STORE_META, "m", 1, "", 0), 0);
	assert_int_equal(batch_pack(b, 0, false, NULL, &buf, &len), 0);
	assert_int_equal(batch_unpack(small, buf, len, NULL, NULL), KF_ETOOBIG);
	assert_int_equal(batch_count(small), 1);
	assert_int_equal(batch_bytes(small), 1);
	free(buf);
	batch_free(b);
	batch_free(small);
}

static void test_put_without_value_is_empty_value(void **state)
{
	Kefu__WriteOp op = good_op();
	struct batch *b = batch_new(0);
	uint8_t *buf;
	size_t len;

	(void)state;
	op.has_value = 0;
	op.has_kind = 0; /* PUT is the default kind */
	len = pack_msg(&op, 1, &buf);
	assert_int_equal(batch_unpack(b, buf, len, NULL, NULL), 0);
	assert_op(b, 0, BATCH_PUT, STORE_META, "k", "");
	free(buf);
	batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_keep_order_and_content),
		cmocka_unit_test(test_key_and_value_are_copied),
		cmocka_unit_test(test_key_over_limit_is_etoobig),
		cmocka_unit_test(test_unknown_table_or_empty_key_is_einval),
		cmocka_unit_test(test_cap_refuses_the_op_that_passes_it),
		cmocka_unit_test(test_huge_value_length_does_not_wrap),
		cmocka_unit_test(test_views_stay_valid_as_batch_grows),
		cmocka_unit_test(test_reset_empties_and_batch_is_reusable),
		cmocka_unit_test(test_pack_unpack_round_trip),
		cmocka_unit_test(test_unpack_appends_to_existing_ops),
		cmocka_unit_test(test_empty_batch_round_trips),
		cmocka_unit_test(test_unpack_refuses_garbage),
		cmocka_unit_test(test_unpack_refuses_unknown_table),
		cmocka_unit_test(test_unpack_refuses_op_without_key),
		cmocka_unit_test(test_unpack_refuses_unknown_kind_and_del_with_value),
		cmocka_unit_test(test_unpack_refuses_key_over_limit),
		cmocka_unit_test(test_unpack_past_cap_is_etoobig_and_changes_nothing),
		cmocka_unit_test(test_put_without_value_is_empty_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
