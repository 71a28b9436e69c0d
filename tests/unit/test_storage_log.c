/*
 * Unit tests of storage/log.c, the replicated log: append and apply in one
 * transaction, index continuity, epochs and fencing, groups, reading and
 * truncation. (tests/unit/test_log.c is the logger's.) Each test works in a
 * fresh temporary environment.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/log.h"
#include "storage/store.h"
#include "tests/unit/support/bossfile.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fixture {
	char dir[64];
	struct store *s;
	struct store_txn *t; /* a write transaction, aborted at teardown when open */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bossfile_tmpdir("log", f->dir, sizeof(f->dir)), 0);
	assert_int_equal(store_open(f->dir, NULL, &f->s), 0);
	assert_int_equal(store_write_begin(f->s, &f->t), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_abort(f->t);
	store_free(f->s);
	bossfile_rmtree(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* A batch that puts key = val in the meta table (not a log key). */
static struct batch *one_put(const char *key, const char *val)
{
	struct batch *b = batch_new(0);

	assert_int_equal(batch_put(b, STORE_META, key, strlen(key), val, strlen(val)), 0);
	return b;
}

static int append_put(struct store_txn *t, uint64_t epoch, const char *key, const char *val,
		      uint64_t *index)
{
	struct batch *b = one_put(key, val);
	int rc = log_append_batch(t, epoch, b, 0, false, "test", index);

	batch_free(b);
	return rc;
}

/* A LogEntry as a leader would send it; free with entry_free. */
static Kefu__LogEntry *entry_new(uint64_t index, uint64_t epoch, const char *key,
				 const char *val, uint64_t group, bool group_end)
{
	Kefu__LogEntry *e = calloc(1, sizeof(*e));
	struct batch *b = one_put(key, val);

	assert_non_null(e);
	kefu__log_entry__init(e);
	e->has_index = e->has_epoch = e->has_batch = 1;
	e->index = index;
	e->epoch = epoch;
	assert_int_equal(batch_pack(b, group, group_end, "leader", &e->batch.data, &e->batch.len),
			 0);
	batch_free(b);
	return e;
}

static void entry_free(Kefu__LogEntry *e)
{
	free(e->batch.data);
	free(e);
}

static int apply_put(struct store_txn *t, uint64_t leader_epoch, uint64_t index, uint64_t epoch,
		     const char *key, const char *val)
{
	Kefu__LogEntry *e = entry_new(index, epoch, key, val, 0, false);
	int rc = log_apply_entry(t, leader_epoch, e);

	entry_free(e);
	return rc;
}

static bool has_key(struct store_txn *t, const char *key)
{
	struct store_val v;

	return store_get(t, STORE_META, key, strlen(key), &v) == 0;
}

static struct log_state state_of(struct store_txn *t)
{
	struct log_state st;

	assert_int_equal(log_state(t, &st), 0);
	return st;
}

static void commit(struct fixture *f)
{
	assert_int_equal(store_commit(f->t), 0);
	f->t = NULL;
}

/* What log_read handed out. */
struct seen {
	uint64_t index[16];
	uint64_t epoch[16];
	size_t n;
};

static int collect(void *arg, const Kefu__LogEntry *e, const uint8_t *packed, size_t len)
{
	struct seen *s = arg;
	Kefu__LogEntry *again = kefu__log_entry__unpack(NULL, len, packed);

	assert_non_null(again);
	assert_int_equal(again->index, e->index);
	kefu__log_entry__free_unpacked(again, NULL);
	assert_true(s->n < 16);
	s->index[s->n] = e->index;
	s->epoch[s->n] = e->epoch;
	s->n++;
	return 0;
}

/* ---- state ---- */

static void test_fresh_state_is_empty(void **state)
{
	struct fixture *f = *state;
	struct log_state st = state_of(f->t);

	assert_int_equal(st.applied_index, 0);
	assert_int_equal(st.applied_epoch, 0);
	assert_int_equal(st.epoch_seen, 0);
	assert_int_equal(st.log_start, 1);
	assert_int_equal(st.open_group, 0);
}

static void test_state_of_wrong_size_is_corrupt(void **state)
{
	struct fixture *f = *state;
	struct batch *b = one_put(LOG_META_PREFIX "epoch_seen", "abc");
	struct log_state st;

	assert_int_equal(batch_apply(f->t, b), 0);
	assert_int_equal(log_state(f->t, &st), KF_ECORRUPT);
	batch_free(b);
}

/* ---- leader: append ---- */

static void test_append_applies_in_the_same_txn(void **state)
{
	struct fixture *f = *state;
	uint64_t index = 0, epoch;
	struct log_state st;

	assert_int_equal(append_put(f->t, 3, "k", "v", &index), 0);
	assert_int_equal(index, 1);
	assert_true(has_key(f->t, "k"));
	st = state_of(f->t);
	assert_int_equal(st.applied_index, 1);
	assert_int_equal(st.applied_epoch, 3);
	assert_int_equal(st.epoch_seen, 3);
	assert_int_equal(log_entry_epoch(f->t, 1, &epoch), 0);
	assert_int_equal(epoch, 3);
}

static void test_append_indexes_are_consecutive(void **state)
{
	struct fixture *f = *state;
	struct seen seen = {0};
	uint64_t index;

	for (uint64_t i = 1; i <= 3; i++) {
		assert_int_equal(append_put(f->t, 2, "k", "v", &index), 0);
		assert_int_equal(index, i);
	}
	commit(f);
	assert_int_equal(store_read_begin(f->s, &f->t), 0);
	assert_int_equal(log_read(f->t, 1, SIZE_MAX, collect, &seen), 0);
	assert_int_equal(seen.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(seen.index[i], i + 1);
		assert_int_equal(seen.epoch[i], 2);
	}
}

static void test_append_packed_batch(void **state)
{
	struct fixture *f = *state;
	struct batch *b = one_put("packed", "yes");
	uint8_t *buf;
	size_t len;
	uint64_t index;

	assert_int_equal(batch_pack(b, 0, false, "client", &buf, &len), 0);
	assert_int_equal(log_append(f->t, 1, buf, len, &index), 0);
	assert_int_equal(index, 1);
	assert_true(has_key(f->t, "packed"));
	free(buf);
	batch_free(b);
}

static void test_append_refuses_garbage_and_writes_nothing(void **state)
{
	struct fixture *f = *state;
	const uint8_t junk[] = {0xff, 0xff, 0xff};

	assert_int_equal(log_append(f->t, 1, junk, sizeof(junk), NULL), KF_EPARSE);
	assert_int_equal(state_of(f->t).applied_index, 0);
}

static void test_append_refuses_batches_on_log_keys(void **state)
{
	struct fixture *f = *state;
	struct batch *meta = one_put(LOG_META_PREFIX "applied_index", "12345678");
	struct batch *log = batch_new(0);

	assert_int_equal(batch_put(log, STORE_LOG, "12345678", 8, "x", 1), 0);
	assert_int_equal(log_append_batch(f->t, 1, meta, 0, false, NULL, NULL), KF_EPROTO);
	assert_int_equal(log_append_batch(f->t, 1, log, 0, false, NULL, NULL), KF_EPROTO);
	assert_int_equal(state_of(f->t).applied_index, 0);
	batch_free(meta);
	batch_free(log);
}

static void test_append_refuses_a_fenced_epoch(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(log_set_epoch_seen(f->t, 7), 0);
	assert_int_equal(append_put(f->t, 6, "k", "v", NULL), KF_ESTATE);
	assert_false(has_key(f->t, "k"));
	assert_int_equal(append_put(f->t, 7, "k", "v", NULL), 0);
}

/* ---- fencing ---- */

static void test_epoch_seen_never_lowers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(log_set_epoch_seen(f->t, 7), 0);
	assert_int_equal(log_set_epoch_seen(f->t, 3), 0);
	assert_int_equal(state_of(f->t).epoch_seen, 7);
}

static void test_epoch_seen_survives_commit(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(log_set_epoch_seen(f->t, 11), 0);
	commit(f);
	assert_int_equal(store_read_begin(f->s, &f->t), 0);
	assert_int_equal(state_of(f->t).epoch_seen, 11);
}

/* ---- follower: apply ---- */

static void test_apply_refuses_an_index_gap(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply_put(f->t, 1, 2, 1, "k", "v"), KF_ESTATE);
	assert_false(has_key(f->t, "k"));
	assert_int_equal(apply_put(f->t, 1, 1, 1, "k", "v"), 0);
	assert_int_equal(apply_put(f->t, 1, 1, 1, "k", "v"), KF_ESTATE);
	assert_int_equal(state_of(f->t).applied_index, 1);
}

static void test_apply_refuses_a_deposed_leader(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(log_set_epoch_seen(f->t, 5), 0);
	assert_int_equal(apply_put(f->t, 4, 1, 4, "k", "v"), KF_ESTATE);
	assert_false(has_key(f->t, "k"));
}

static void test_apply_takes_older_entries_from_a_newer_leader(void **state)
{
	struct fixture *f = *state;
	struct log_state st;

	assert_int_equal(log_set_epoch_seen(f->t, 9), 0);
	assert_int_equal(apply_put(f->t, 9, 1, 4, "k", "v"), 0);
	st = state_of(f->t);
	assert_int_equal(st.applied_epoch, 4);
	assert_int_equal(st.epoch_seen, 9);
}

static void test_apply_raises_epoch_seen(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply_put(f->t, 12, 1, 12, "k", "v"), 0);
	assert_int_equal(state_of(f->t).epoch_seen, 12);
}

static void test_apply_refuses_epochs_going_back(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(apply_put(f->t, 5, 1, 5, "a", "1"), 0);
	assert_int_equal(apply_put(f->t, 5, 2, 4, "b", "2"), KF_EPROTO);
	assert_int_equal(apply_put(f->t, 5, 2, 6, "b", "2"), KF_EPROTO); /* above its leader */
	assert_false(has_key(f->t, "b"));
}

/* ---- groups ---- */

static void test_group_end_predicate(void **state)
{
	Kefu__LogEntry *alone = entry_new(1, 1, "a", "1", 0, false);
	Kefu__LogEntry *chunk = entry_new(2, 1, "b", "2", 4, false);
	Kefu__LogEntry *last = entry_new(3, 1, "c", "3", 4, true);

	(void)state;
	assert_true(log_entry_is_group_end(alone));
	assert_false(log_entry_is_group_end(chunk));
	assert_true(log_entry_is_group_end(last));
	entry_free(alone);
	entry_free(chunk);
	entry_free(last);
}

static void test_group_is_invisible_until_commit(void **state)
{
	struct fixture *f = *state;
	Kefu__LogEntry *c1 = entry_new(1, 2, "g1", "1", 8, false);
	Kefu__LogEntry *c2 = entry_new(2, 2, "g2", "2", 8, false);
	Kefu__LogEntry *c3 = entry_new(3, 2, "g3", "3", 8, true);
	struct store_txn *r;

	assert_int_equal(log_apply_entry(f->t, 2, c1), 0);
	assert_int_equal(log_apply_entry(f->t, 2, c2), 0);
	assert_int_equal(state_of(f->t).open_group, 8);

	assert_int_equal(store_read_begin(f->s, &r), 0);
	assert_false(has_key(r, "g1"));
	assert_int_equal(state_of(r).applied_index, 0);
	store_abort(r);

	assert_int_equal(log_apply_entry(f->t, 2, c3), 0);
	assert_int_equal(state_of(f->t).open_group, 0);
	commit(f);
	assert_int_equal(store_read_begin(f->s, &f->t), 0);
	assert_true(has_key(f->t, "g1") && has_key(f->t, "g2") && has_key(f->t, "g3"));
	assert_int_equal(state_of(f->t).applied_index, 3);
	entry_free(c1);
	entry_free(c2);
	entry_free(c3);
}

static void test_group_refuses_an_interleaved_entry(void **state)
{
	struct fixture *f = *state;
	Kefu__LogEntry *c1 = entry_new(1, 2, "g1", "1", 8, false);
	Kefu__LogEntry *other = entry_new(2, 2, "x", "1", 0, false);
	Kefu__LogEntry *foreign = entry_new(2, 2, "y", "1", 9, false);

	assert_int_equal(log_apply_entry(f->t, 2, c1), 0);
	assert_int_equal(log_apply_entry(f->t, 2, other), KF_ESTATE);
	assert_int_equal(log_apply_entry(f->t, 2, foreign), KF_ESTATE);
	assert_false(has_key(f->t, "x") || has_key(f->t, "y"));
	entry_free(c1);
	entry_free(other);
	entry_free(foreign);
}

static void test_leader_group_chunks_append(void **state)
{
	struct fixture *f = *state;
	struct batch *b = one_put("chunk", "1");

	assert_int_equal(log_append_batch(f->t, 1, b, 3, false, NULL, NULL), 0);
	assert_int_equal(state_of(f->t).open_group, 3);
	assert_int_equal(append_put(f->t, 1, "k", "v", NULL), KF_ESTATE);
	assert_int_equal(log_append_batch(f->t, 1, b, 3, true, NULL, NULL), 0);
	assert_int_equal(state_of(f->t).open_group, 0);
	batch_free(b);
}

/* ---- reading ---- */

static void test_read_respects_max_bytes_but_gives_one(void **state)
{
	struct fixture *f = *state;
	struct seen seen = {0};

	for (int i = 0; i < 5; i++)
		assert_int_equal(append_put(f->t, 1, "k", "v", NULL), 0);
	assert_int_equal(log_read(f->t, 2, 1, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.index[0], 2);
	seen.n = 0;
	assert_int_equal(log_read(f->t, 6, SIZE_MAX, collect, &seen), 0);
	assert_int_equal(seen.n, 0);
}

static void test_entry_epoch_edges(void **state)
{
	struct fixture *f = *state;
	uint64_t epoch = 99;

	assert_int_equal(log_entry_epoch(f->t, 0, &epoch), 0);
	assert_int_equal(epoch, 0);
	assert_int_equal(log_entry_epoch(f->t, 1, &epoch), KF_ENOTFOUND);
	assert_int_equal(append_put(f->t, 4, "k", "v", NULL), 0);
	assert_int_equal(append_put(f->t, 6, "k", "v", NULL), 0);
	assert_int_equal(log_entry_epoch(f->t, 1, &epoch), 0);
	assert_int_equal(epoch, 4);
	assert_int_equal(log_entry_epoch(f->t, 3, &epoch), KF_ENOTFOUND);
}

/* ---- truncation ---- */

static void test_truncate_moves_log_start(void **state)
{
	struct fixture *f = *state;
	struct seen seen = {0};
	uint64_t epoch;
	bool more = true;

	for (int i = 0; i < 10; i++)
		assert_int_equal(append_put(f->t, 2, "k", "v", NULL), 0);
	assert_int_equal(log_truncate(f->t, 5, &more), 0);
	assert_false(more);
	assert_int_equal(state_of(f->t).log_start, 5);
	assert_int_equal(log_read(f->t, 4, SIZE_MAX, collect, &seen), KF_ENOTFOUND);
	assert_int_equal(log_entry_epoch(f->t, 4, &epoch), KF_ENOTFOUND);
	assert_int_equal(log_read(f->t, 5, SIZE_MAX, collect, &seen), 0);
	assert_int_equal(seen.n, 6);
	assert_int_equal(seen.index[0], 5);
}

static void test_truncate_stops_past_applied(void **state)
{
	struct fixture *f = *state;
	uint64_t epoch;

	for (int i = 0; i < 3; i++)
		assert_int_equal(append_put(f->t, 2, "k", "v", NULL), 0);
	assert_int_equal(log_truncate(f->t, 100, NULL), 0);
	assert_int_equal(state_of(f->t).log_start, 4);
	assert_int_equal(log_entry_epoch(f->t, 3, &epoch), 0); /* from the state */
	assert_int_equal(epoch, 2);
	assert_int_equal(append_put(f->t, 2, "k", "v", NULL), 0);
	assert_int_equal(state_of(f->t).applied_index, 4);
}

static void test_truncate_is_bounded_per_call(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;
	bool more = false;

	for (int i = 0; i < LOG_TRUNCATE_MAX + 10; i++)
		assert_int_equal(append_put(f->t, 1, "k", "v", NULL), 0);
	assert_int_equal(log_truncate(f->t, LOG_TRUNCATE_MAX + 11, &more), 0);
	assert_true(more);
	assert_int_equal(state_of(f->t).log_start, LOG_TRUNCATE_MAX + 1);
	assert_int_equal(log_truncate(f->t, LOG_TRUNCATE_MAX + 11, &more), 0);
	assert_false(more);
	commit(f);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.entries[STORE_LOG], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_fresh_state_is_empty),
		T(test_state_of_wrong_size_is_corrupt),
		T(test_append_applies_in_the_same_txn),
		T(test_append_indexes_are_consecutive),
		T(test_append_packed_batch),
		T(test_append_refuses_garbage_and_writes_nothing),
		T(test_append_refuses_batches_on_log_keys),
		T(test_append_refuses_a_fenced_epoch),
		T(test_epoch_seen_never_lowers),
		T(test_epoch_seen_survives_commit),
		T(test_apply_refuses_an_index_gap),
		T(test_apply_refuses_a_deposed_leader),
		T(test_apply_takes_older_entries_from_a_newer_leader),
		T(test_apply_raises_epoch_seen),
		T(test_apply_refuses_epochs_going_back),
		T(test_group_end_predicate),
		T(test_group_is_invisible_until_commit),
		T(test_group_refuses_an_interleaved_entry),
		T(test_leader_group_chunks_append),
		T(test_read_respects_max_bytes_but_gives_one),
		T(test_entry_epoch_edges),
		T(test_truncate_moves_log_start),
		T(test_truncate_stops_past_applied),
		T(test_truncate_is_bounded_per_call),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
