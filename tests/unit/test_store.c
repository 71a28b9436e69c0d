/*
 * Unit tests of storage/store.c: the LMDB environment, batches applied to
 * it, scans, map growth, persistence and copies. Each test works in a fresh
 * temporary directory.
 */
#include "lib/err.h"
#include "lib/log.h"
#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/unit/support/bossfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define KIB ((size_t)1024)

struct fixture {
	char dir[64];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bossfile_tmpdir("store", f->dir, sizeof(f->dir)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	bossfile_rmtree(f->dir);
	free(f);
	return 0;
}

static void open_default(struct fixture *f)
{
	assert_int_equal(store_open(f->dir, NULL, &f->s), 0);
}

/* ---- helpers: batches and lookups ---- */

static int body_apply(struct store_txn *t, void *arg)
{
	return batch_apply(t, arg);
}

static void put_str(struct store *s, enum store_table table, const char *key, const char *val)
{
	struct batch *b = batch_new(0);

	assert_int_equal(batch_put(b, table, key, strlen(key), val, strlen(val)), 0);
	assert_int_equal(store_write(s, body_apply, b), 0);
	batch_free(b);
}

static void del_str(struct store *s, enum store_table table, const char *key)
{
	struct batch *b = batch_new(0);

	assert_int_equal(batch_del(b, table, key, strlen(key)), 0);
	assert_int_equal(store_write(s, body_apply, b), 0);
	batch_free(b);
}

/* get_str - look key up; returns the lookup's code and copies the value. */
static int get_str(struct store *s, enum store_table table, const char *key, char *out,
		   size_t outsz)
{
	struct store_txn *t;
	struct store_val v;
	int rc;

	assert_int_equal(store_read_begin(s, &t), 0);
	rc = store_get(t, table, key, strlen(key), &v);
	if (rc == 0) {
		assert_true(v.len < outsz);
		memcpy(out, v.data, v.len);
		out[v.len] = 0;
	}
	store_abort(t);
	return rc;
}

/* ---- open, names, stats ---- */

static void test_open_creates_every_table_empty(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;

	open_default(f);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.map_size, 64 * KIB * KIB);
	assert_true(st.page_size > 0);
	assert_true(st.used_bytes > 0 && st.used_bytes < st.map_size);
	for (int id = 0; id < STORE_TABLE_SLOTS; id++)
		assert_int_equal(st.entries[id], 0);
}

static void test_open_missing_dir_is_enoent(void **state)
{
	struct fixture *f = *state;
	char path[128];

	snprintf(path, sizeof(path), "%s/absent", f->dir);
	assert_int_equal(store_open(path, NULL, &f->s), -ENOENT);
	assert_null(f->s);
}

static void test_open_refuses_map_above_max(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = {.map_size = 256 * KIB, .map_max = 128 * KIB};

	assert_int_equal(store_open(f->dir, &o, &f->s), -EINVAL);
}

static void test_table_names_round_trip(void **state)
{
	(void)state;
	assert_string_equal(store_table_name(STORE_CUST), "cust");
	assert_string_equal(store_table_name(STORE_BOSS_SEQ), "boss_seq");
	assert_int_equal(store_table_by_name("user_by_msisdn"), STORE_USER_BY_MSISDN);
	assert_null(store_table_name(0));
	assert_null(store_table_name(STORE_TABLE_SLOTS));
	assert_int_equal(store_table_by_name("nope"), KF_ENOTFOUND);
}

static void test_stat_counts_entries_per_table(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;

	open_default(f);
	put_str(f->s, STORE_CUST, "c1", "x");
	put_str(f->s, STORE_CUST, "c2", "y");
	put_str(f->s, STORE_PAY, "p1", "z");
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.entries[STORE_CUST], 2);
	assert_int_equal(st.entries[STORE_PAY], 1);
	assert_int_equal(st.entries[STORE_USER], 0);
}

/* ---- put, get, del ---- */

static void test_put_then_get_returns_value(void **state)
{
	struct fixture *f = *state;
	char v[32];

	open_default(f);
	put_str(f->s, STORE_USER, "u1", "alice");
	assert_int_equal(get_str(f->s, STORE_USER, "u1", v, sizeof(v)), 0);
	assert_string_equal(v, "alice");
	/* tables are separate databases */
	assert_int_equal(get_str(f->s, STORE_CUST, "u1", v, sizeof(v)), KF_ENOTFOUND);
}

static void test_put_overwrites(void **state)
{
	struct fixture *f = *state;
	char v[32];

	open_default(f);
	put_str(f->s, STORE_META, "k", "one");
	put_str(f->s, STORE_META, "k", "two");
	assert_int_equal(get_str(f->s, STORE_META, "k", v, sizeof(v)), 0);
	assert_string_equal(v, "two");
}

static void test_del_removes_and_absent_del_is_ok(void **state)
{
	struct fixture *f = *state;
	char v[32];

	open_default(f);
	put_str(f->s, STORE_META, "k", "v");
	del_str(f->s, STORE_META, "k");
	assert_int_equal(get_str(f->s, STORE_META, "k", v, sizeof(v)), KF_ENOTFOUND);
	del_str(f->s, STORE_META, "k"); /* replaying a delete succeeds */
}

static void test_get_key_too_long_is_etoobig(void **state)
{
	struct fixture *f = *state;
	struct store_txn *t;
	struct store_val v;
	uint8_t key[STORE_KEY_MAX + 1];

	memset(key, 'k', sizeof(key));
	open_default(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(store_get(t, STORE_META, key, sizeof(key), &v), KF_ETOOBIG);
	assert_int_equal(store_get(t, STORE_META, key, STORE_KEY_MAX, &v), KF_ENOTFOUND);
	store_abort(t);
}

static void test_max_length_key_is_stored(void **state)
{
	struct fixture *f = *state;
	struct batch *b = batch_new(0);
	struct store_txn *t;
	struct store_val v;
	uint8_t key[STORE_KEY_MAX];

	memset(key, 'k', sizeof(key));
	open_default(f);
	assert_int_equal(batch_put(b, STORE_META, key, sizeof(key), "v", 1), 0);
	assert_int_equal(store_write(f->s, body_apply, b), 0);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(store_get(t, STORE_META, key, sizeof(key), &v), 0);
	assert_int_equal(v.len, 1);
	store_abort(t);
	batch_free(b);
}

static int body_put_then_fail(struct store_txn *t, void *arg)
{
	int rc = batch_apply(t, arg);

	assert_int_equal(rc, 0);
	return KF_EPARSE;
}

static void test_body_error_aborts_and_is_returned(void **state)
{
	struct fixture *f = *state;
	struct batch *b = batch_new(0);
	char v[8];

	open_default(f);
	assert_int_equal(batch_put(b, STORE_META, "k", 1, "v", 1), 0);
	assert_int_equal(store_write(f->s, body_put_then_fail, b), KF_EPARSE);
	assert_int_equal(get_str(f->s, STORE_META, "k", v, sizeof(v)), KF_ENOTFOUND);
	batch_free(b);
}

static void test_apply_from_skips_earlier_ops(void **state)
{
	struct fixture *f = *state;
	struct batch *b = batch_new(0);
	struct store_txn *t;
	char v[8];

	open_default(f);
	assert_int_equal(batch_put(b, STORE_META, "a", 1, "1", 1), 0);
	assert_int_equal(batch_put(b, STORE_META, "b", 1, "2", 1), 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply_from(t, b, 1), 0);
	assert_int_equal(store_commit(t), 0);
	assert_int_equal(get_str(f->s, STORE_META, "a", v, sizeof(v)), KF_ENOTFOUND);
	assert_int_equal(get_str(f->s, STORE_META, "b", v, sizeof(v)), 0);
	batch_free(b);
}

static void test_write_in_txn_seen_by_own_get(void **state)
{
	struct fixture *f = *state;
	struct batch *b = batch_new(0);
	struct store_txn *t;
	struct store_val v;

	open_default(f);
	assert_int_equal(batch_put(b, STORE_META, "k", 1, "v", 1), 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(store_txn_attempt(t), 0);
	assert_int_equal(batch_apply(t, b), 0);
	assert_int_equal(store_get(t, STORE_META, "k", 1, &v), 0);
	store_abort(t);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(store_get(t, STORE_META, "k", 1, &v), KF_ENOTFOUND);
	store_abort(t);
	batch_free(b);
}

/* ---- scans ---- */

#define SCAN_MAX 16

struct scan_log {
	char keys[SCAN_MAX][32];
	size_t n;
	size_t stop_after; /* 0: never */
	int fail_with;     /* returned on the first key when not 0 */
};

static int scan_collect(void *arg, const struct store_val *key, const struct store_val *val)
{
	struct scan_log *l = arg;
	size_t n = key->len < sizeof(l->keys[0]) - 1 ? key->len : sizeof(l->keys[0]) - 1;

	(void)val;
	if (l->fail_with)
		return l->fail_with;
	assert_true(l->n < SCAN_MAX);
	/* parts are shown with '|' for their 0x00 terminators */
	for (size_t i = 0; i < n; i++)
		l->keys[l->n][i] = ((const char *)key->data)[i] ? ((const char *)key->data)[i] : '|';
	l->keys[l->n][n] = 0;
	l->n++;
	return l->stop_after && l->n == l->stop_after;
}

/* The scan table: keys of two parts under three users. */
static void scan_fill(struct store *s)
{
	static const char *const rows[][2] = {
		{"u1", "a"}, {"u1", "b"}, {"u1", "c"}, {"u10", "a"}, {"u2", "a"}, {"u2", "b"},
	};
	struct batch *b = batch_new(0);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct key k;

		key_init(&k);
		key_add_str(&k, rows[i][0]);
		key_add_str(&k, rows[i][1]);
		assert_int_equal(batch_put(b, STORE_USER_PAY, k.b, k.len, "", 0), 0);
	}
	assert_int_equal(store_write(s, body_apply, b), 0);
	batch_free(b);
}

/* scan_run - one scan of STORE_USER_PAY with prefix and start given as
 * strings of whole parts ("u1|" is part "u1"), NULL for none. */
static int scan_run(struct store *s, const char *prefix, const char *start, bool reverse,
		    struct scan_log *l)
{
	uint8_t p[64], st[64];
	size_t plen = prefix ? strlen(prefix) : 0, slen = start ? strlen(start) : 0;
	struct store_txn *t;
	int rc;

	for (size_t i = 0; i < plen; i++)
		p[i] = prefix[i] == '|' ? 0 : (uint8_t)prefix[i];
	for (size_t i = 0; i < slen; i++)
		st[i] = start[i] == '|' ? 0 : (uint8_t)start[i];
	assert_int_equal(store_read_begin(s, &t), 0);
	rc = store_scan(t, STORE_USER_PAY, p, plen, start ? st : NULL, slen, reverse, scan_collect,
			l);
	store_abort(t);
	return rc;
}

static void assert_scan(const struct scan_log *l, size_t n, ...)
{
	va_list ap;

	assert_int_equal(l->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->keys[i], va_arg(ap, const char *));
	va_end(ap);
}

static void test_scan_whole_table_in_order(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, NULL, NULL, false, &l), 0);
	assert_scan(&l, 6, "u1|a|", "u1|b|", "u1|c|", "u10|a|", "u2|a|", "u2|b|");
}

static void test_scan_prefix_selects_whole_part(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u1|", NULL, false, &l), 0);
	assert_scan(&l, 3, "u1|a|", "u1|b|", "u1|c|");
}

static void test_scan_prefix_reverse(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u1|", NULL, true, &l), 0);
	assert_scan(&l, 3, "u1|c|", "u1|b|", "u1|a|");
}

static void test_scan_reverse_last_prefix_in_table(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u2|", NULL, true, &l), 0);
	assert_scan(&l, 2, "u2|b|", "u2|a|");
}

static void test_scan_reverse_whole_table(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, NULL, NULL, true, &l), 0);
	assert_scan(&l, 6, "u2|b|", "u2|a|", "u10|a|", "u1|c|", "u1|b|", "u1|a|");
}

static void test_scan_prefix_without_match_is_empty(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u3|", NULL, false, &l), 0);
	assert_int_equal(scan_run(f->s, "u3|", NULL, true, &l), 0);
	assert_int_equal(scan_run(f->s, "u0|", NULL, true, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_scan_empty_table(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	assert_int_equal(scan_run(f->s, NULL, NULL, false, &l), 0);
	assert_int_equal(scan_run(f->s, NULL, NULL, true, &l), 0);
	assert_int_equal(scan_run(f->s, NULL, "u", true, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_scan_start_between_keys(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u1|", "u1|b", false, &l), 0);
	assert_scan(&l, 2, "u1|b|", "u1|c|");
}

static void test_scan_start_equal_to_key(void **state)
{
	struct fixture *f = *state;
	struct scan_log fwd = {0}, rev = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u1|", "u1|b|", false, &fwd), 0);
	assert_scan(&fwd, 2, "u1|b|", "u1|c|");
	assert_int_equal(scan_run(f->s, "u1|", "u1|b|", true, &rev), 0);
	assert_scan(&rev, 2, "u1|b|", "u1|a|");
}

static void test_scan_reverse_start_between_keys(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	/* "u1|bz" lies between "u1|b|" and "u1|c|" */
	assert_int_equal(scan_run(f->s, "u1|", "u1|bz", true, &l), 0);
	assert_scan(&l, 2, "u1|b|", "u1|a|");
}

static void test_scan_reverse_start_past_last_key(void **state)
{
	struct fixture *f = *state;
	struct scan_log all = {0}, pre = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, NULL, "zzz", true, &all), 0);
	assert_scan(&all, 6, "u2|b|", "u2|a|", "u10|a|", "u1|c|", "u1|b|", "u1|a|");
	/* a start past the prefix's range begins at the prefix's last key */
	assert_int_equal(scan_run(f->s, "u1|", "u2|", true, &pre), 0);
	assert_scan(&pre, 3, "u1|c|", "u1|b|", "u1|a|");
}

static void test_scan_start_before_prefix_begins_at_prefix(void **state)
{
	struct fixture *f = *state;
	struct scan_log fwd = {0}, rev = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u2|", "a", false, &fwd), 0);
	assert_scan(&fwd, 2, "u2|a|", "u2|b|");
	assert_int_equal(scan_run(f->s, "u2|", "a", true, &rev), 0);
	assert_int_equal(rev.n, 0);
}

static void test_scan_reverse_start_before_first_key_is_empty(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {0};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, NULL, "a", true, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_scan_prefix_of_ff_bytes_reverse(void **state)
{
	struct fixture *f = *state;
	struct batch *b = batch_new(0);
	static const uint8_t k1[] = {0xff, 0x01}, k2[] = {0xff, 0xff, 0x00}, k3[] = {0xfe};
	static const uint8_t pre[] = {0xff};
	struct store_txn *t;
	struct scan_log l = {0};

	open_default(f);
	assert_int_equal(batch_put(b, STORE_META, k1, sizeof(k1), "", 0), 0);
	assert_int_equal(batch_put(b, STORE_META, k2, sizeof(k2), "", 0), 0);
	assert_int_equal(batch_put(b, STORE_META, k3, sizeof(k3), "", 0), 0);
	assert_int_equal(store_write(f->s, body_apply, b), 0);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(store_scan(t, STORE_META, pre, 1, NULL, 0, true, scan_collect, &l), 0);
	store_abort(t);
	assert_int_equal(l.n, 2);
	assert_int_equal((uint8_t)l.keys[0][1], 0xff); /* {ff ff 00} first */
	assert_int_equal((uint8_t)l.keys[1][1], 0x01);
	batch_free(b);
}

static void test_scan_stops_early_with_zero(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {.stop_after = 2};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, NULL, NULL, false, &l), 0);
	assert_scan(&l, 2, "u1|a|", "u1|b|");
}

static void test_scan_returns_callback_error(void **state)
{
	struct fixture *f = *state;
	struct scan_log l = {.fail_with = KF_EREF};

	open_default(f);
	scan_fill(f->s);
	assert_int_equal(scan_run(f->s, "u1|", NULL, true, &l), KF_EREF);
}

/* ---- map growth ---- */

#define GROW_KEYS 5000

struct grow_arg {
	unsigned attempts;    /* runs of the body */
	unsigned last_attempt;
};

static int body_many_puts(struct store_txn *t, void *arg)
{
	struct grow_arg *g = arg;
	char key[32], val[100];

	g->attempts++;
	g->last_attempt = store_txn_attempt(t);
	memset(val, 'v', sizeof(val));
	for (int i = 0; i < GROW_KEYS; i++) {
		struct batch *b = batch_new(0);
		int n = snprintf(key, sizeof(key), "key%06d", i), rc;

		assert_int_equal(batch_put(b, STORE_CDR, key, (size_t)n, val, sizeof(val)), 0);
		rc = batch_apply(t, b);
		batch_free(b);
		if (rc)
			return rc;
	}
	return 0;
}

static void assert_grow_keys_present(struct store *s)
{
	struct store_txn *t;

	assert_int_equal(store_read_begin(s, &t), 0);
	for (int i = 0; i < GROW_KEYS; i++) {
		char key[32];
		int n = snprintf(key, sizeof(key), "key%06d", i);
		struct store_val v;

		assert_int_equal(store_get(t, STORE_CDR, key, (size_t)n, &v), 0);
		assert_int_equal(v.len, 100);
	}
	store_abort(t);
}

static void test_map_full_grows_and_reruns_body(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = {.map_size = 64 * KIB};
	struct grow_arg g = {0};
	struct store_stats st;

	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_write(f->s, body_many_puts, &g), 0);
	assert_true(g.attempts > 1);
	assert_int_equal(g.last_attempt, g.attempts - 1);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_true(st.map_size > 64 * KIB);
	assert_int_equal(st.entries[STORE_CDR], GROW_KEYS);
	assert_grow_keys_present(f->s);
}

static void test_map_full_at_max_is_emapfull(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = {.map_size = 64 * KIB, .map_max = 128 * KIB};
	struct grow_arg g = {0};
	struct store_stats st;

	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_write(f->s, body_many_puts, &g), KF_EMAPFULL);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.map_size, 128 * KIB);
	assert_int_equal(st.entries[STORE_CDR], 0);
	assert_int_equal(store_grow(f->s), KF_EMAPFULL);
}

static void test_grow_doubles_map(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = {.map_size = 64 * KIB};
	struct store_stats st;

	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	assert_int_equal(store_grow(f->s), 0);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.map_size, 128 * KIB);
}

static void test_write_begin_grows_nearly_full_map(void **state)
{
	struct fixture *f = *state;
	struct store_opts big = {.map_size = 16 * KIB * KIB}, tight = {0};
	struct grow_arg g = {0};
	struct store_stats st;
	struct store_txn *t;

	assert_int_equal(store_open(f->dir, &big, &f->s), 0);
	assert_int_equal(store_write(f->s, body_many_puts, &g), 0);
	assert_int_equal(store_stat(f->s, &st), 0);
	store_free(f->s);
	f->s = NULL;

	/* reopen with the map just above the data: over 80% used */
	tight.map_size = st.used_bytes + st.used_bytes / 10;
	assert_int_equal(store_open(f->dir, &tight, &f->s), 0);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.map_size, tight.map_size);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	store_abort(t);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.map_size, tight.map_size * 2);
}

static void test_map_grown_by_other_process_is_adopted(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = {.map_size = 64 * KIB};
	struct store_stats st;
	pid_t pid;
	int status;

	assert_int_equal(store_open(f->dir, &o, &f->s), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s2;
		struct grow_arg g = {0};

		if (store_open(f->dir, &o, &s2) != 0 || store_write(s2, body_many_puts, &g) != 0)
			_exit(1);
		store_free(s2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* our map is smaller than the data now: the next begin remaps */
	assert_grow_keys_present(f->s);
	put_str(f->s, STORE_META, "after", "resize");
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_true(st.map_size > 64 * KIB);
	assert_int_equal(st.entries[STORE_CDR], GROW_KEYS);
}

/* ---- persistence and copies ---- */

/* Close f's store, open it again with the defaults, and find key "applied". */
static void reopen_finds_applied(struct fixture *f, const char *key)
{
	char v[32];

	store_free(f->s);
	f->s = NULL;
	open_default(f);
	assert_int_equal(get_str(f->s, STORE_BOSS_FILE, key, v, sizeof(v)), 0);
	assert_string_equal(v, "applied");
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;

	open_default(f);
	put_str(f->s, STORE_BOSS_FILE, "CUST_GD_0001.dat", "applied");
	reopen_finds_applied(f, "CUST_GD_0001.dat");
}

/* The file's size on disk, in bytes. */
static uint64_t data_file_size(const char *dir)
{
	char path[160];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	assert_int_equal(stat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

/* Without map_writes (a node) the map is read-only and the file grows only
 * as pages are written; with it (the offline import) LMDB writes through
 * the map, which it sizes the file to. Either opens what the other wrote. */
static void test_map_writes_only_when_asked(void **state)
{
	struct fixture *f = *state;
	struct store_opts bulk = {.map_writes = true};
	char v[32];

	open_default(f);
	put_str(f->s, STORE_BOSS_FILE, "CUST_GD_0001.dat", "applied");
	assert_true(data_file_size(f->dir) < 64 * KIB * KIB);
	store_free(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->dir, &bulk, &f->s), 0);
	assert_int_equal(data_file_size(f->dir), 64 * KIB * KIB);
	assert_int_equal(get_str(f->s, STORE_BOSS_FILE, "CUST_GD_0001.dat", v, sizeof(v)), 0);
	assert_string_equal(v, "applied");
	put_str(f->s, STORE_BOSS_FILE, "USER_GD_0001.dat", "applied");
	reopen_finds_applied(f, "USER_GD_0001.dat");
}

/* A bulk import has the store alone: refused while it is open elsewhere,
 * and every other open refused while the import has it. */
static void test_map_writes_open_alone(void **state)
{
	struct fixture *f = *state;
	struct store_opts bulk = {.map_writes = true};
	struct store *other = NULL;

	open_default(f);
	assert_int_equal(store_open(f->dir, &bulk, &other), -EBUSY);
	assert_null(other);
	store_free(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->dir, &bulk, &f->s), 0);
	assert_int_equal(store_open(f->dir, NULL, &other), -EBUSY);
	assert_null(other);
	store_free(f->s);
	f->s = NULL;
	open_default(f);
}

static void test_copy_opens_with_same_data(void **state)
{
	struct fixture *f = *state;
	char path[128], v[32];
	struct store *copy;

	open_default(f);
	put_str(f->s, STORE_CUST, "c1", "bob");
	put_str(f->s, STORE_CUST, "c2", "eve");
	del_str(f->s, STORE_CUST, "c2");
	snprintf(path, sizeof(path), "%s/copy", f->dir);
	assert_int_equal(store_copy(f->s, path), 0);
	assert_int_equal(store_open(path, NULL, &copy), 0);
	assert_int_equal(get_str(copy, STORE_CUST, "c1", v, sizeof(v)), 0);
	assert_string_equal(v, "bob");
	assert_int_equal(get_str(copy, STORE_CUST, "c2", v, sizeof(v)), KF_ENOTFOUND);
	store_free(copy);
}

static void test_copy_into_nonempty_dir_fails(void **state)
{
	struct fixture *f = *state;
	char path[128];

	open_default(f);
	snprintf(path, sizeof(path), "%s/copy", f->dir);
	assert_int_equal(store_copy(f->s, path), 0);
	assert_int_equal(store_copy(f->s, path), -EEXIST);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_every_table_empty),
		T(test_open_missing_dir_is_enoent),
		T(test_open_refuses_map_above_max),
		T(test_table_names_round_trip),
		T(test_stat_counts_entries_per_table),
		T(test_put_then_get_returns_value),
		T(test_put_overwrites),
		T(test_del_removes_and_absent_del_is_ok),
		T(test_get_key_too_long_is_etoobig),
		T(test_max_length_key_is_stored),
		T(test_body_error_aborts_and_is_returned),
		T(test_apply_from_skips_earlier_ops),
		T(test_write_in_txn_seen_by_own_get),
		T(test_scan_whole_table_in_order),
		T(test_scan_prefix_selects_whole_part),
		T(test_scan_prefix_reverse),
		T(test_scan_reverse_last_prefix_in_table),
		T(test_scan_reverse_whole_table),
		T(test_scan_prefix_without_match_is_empty),
		T(test_scan_empty_table),
		T(test_scan_start_between_keys),
		T(test_scan_start_equal_to_key),
		T(test_scan_reverse_start_between_keys),
		T(test_scan_reverse_start_past_last_key),
		T(test_scan_start_before_prefix_begins_at_prefix),
		T(test_scan_reverse_start_before_first_key_is_empty),
		T(test_scan_prefix_of_ff_bytes_reverse),
		T(test_scan_stops_early_with_zero),
		T(test_scan_returns_callback_error),
		T(test_map_full_grows_and_reruns_body),
		T(test_map_full_at_max_is_emapfull),
		T(test_grow_doubles_map),
		T(test_write_begin_grows_nearly_full_map),
		T(test_map_grown_by_other_process_is_adopted),
		T(test_map_writes_only_when_asked),
		T(test_map_writes_open_alone),
		T(test_reopen_keeps_data),
		T(test_copy_opens_with_same_data),
		T(test_copy_into_nonempty_dir_fails),
	};

	log_set_level(-1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
