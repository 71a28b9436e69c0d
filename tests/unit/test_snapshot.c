/*
 * Unit tests of storage/snapshot.c: create, read in chunks, receive,
 * install and reopen; crash safety by stopping between the install steps.
 * Each test has a temporary directory with a source environment "src" and
 * a node environment "node".
 */
#include "lib/digest.h"
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/log.h"
#include "storage/snapshot.h"
#include "storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define P 256

struct fixture {
	char root[64];
	char src[P];    /* the leader's environment */
	char snap[P];   /* snapshot_create's directory */
	char node[P];   /* the environment to replace */
	char stage[P];  /* node.install */
	struct store *s;
	struct snapshot_info info;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int append_body(struct store_txn *t, void *arg)
{
	const char **kv = arg;
	struct batch *b = batch_new(0);
	int rc = batch_put(b, STORE_META, kv[0], strlen(kv[0]), kv[1], strlen(kv[1]));

	if (rc == 0)
		rc = log_append_batch(t, 4, b, 0, false, "test", NULL);
	batch_free(b);
	return rc;
}

/* put_logged - key = val through the log, one entry, epoch 4. */
static void put_logged(struct store *s, const char *key, const char *val)
{
	const char *kv[2] = {key, val};

	assert_int_equal(store_write(s, append_body, kv), 0);
}

/* lookup - val of key in dir's environment ("" when absent); state too. */
static void lookup(const char *dir, const char *key, char *val, size_t cap, struct log_state *st)
{
	struct store *s;
	struct store_txn *t;
	struct store_val v;

	assert_int_equal(store_open(dir, NULL, &s), 0);
	assert_int_equal(store_read_begin(s, &t), 0);
	val[0] = '\0';
	if (store_get(t, STORE_META, key, strlen(key), &v) == 0) {
		assert_true(v.len < cap);
		memcpy(val, v.data, v.len);
		val[v.len] = '\0';
	}
	assert_int_equal(log_state(t, st), 0);
	store_abort(t);
	store_free(s);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* setup: src holds two logged puts; node holds one of its own (closed). */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store *node;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/kefu-snap-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->src, P, "%s/src", f->root);
	snprintf(f->snap, P, "%s/snap", f->root);
	snprintf(f->node, P, "%s/node", f->root);
	snprintf(f->stage, P, "%s/node.install", f->root);
	assert_int_equal(mkdir(f->src, 0700), 0);
	assert_int_equal(mkdir(f->node, 0700), 0);
	assert_int_equal(store_open(f->src, NULL, &f->s), 0);
	put_logged(f->s, "a", "leader-1");
	put_logged(f->s, "b", "leader-2");
	assert_int_equal(store_open(f->node, NULL, &node), 0);
	put_logged(node, "mine", "old");
	store_free(node);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void create(struct fixture *f)
{
	assert_int_equal(snapshot_create(f->s, f->snap, &f->info), 0);
}

static void assert_is_new(const char *dir)
{
	struct log_state st;
	char val[32];

	lookup(dir, "b", val, sizeof(val), &st);
	assert_string_equal(val, "leader-2");
	lookup(dir, "mine", val, sizeof(val), &st);
	assert_string_equal(val, "");
	assert_int_equal(st.applied_index, 2);
	assert_int_equal(st.applied_epoch, 4);
}

static void assert_is_old(const char *dir)
{
	struct log_state st;
	char val[32];

	lookup(dir, "mine", val, sizeof(val), &st);
	assert_string_equal(val, "old");
	lookup(dir, "b", val, sizeof(val), &st);
	assert_string_equal(val, "");
	assert_int_equal(st.applied_index, 1);
}

/* ---- create and read ---- */

static void test_create_reports_the_copy(void **state)
{
	struct fixture *f = *state;
	char sha[DIGEST_SHA256_HEX + 1];
	struct stat sb;
	uint8_t *buf;
	int fd;

	create(f);
	put_logged(f->s, "c", "after"); /* the source moves on; the copy does not */
	assert_int_equal(f->info.applied_index, 2);
	assert_int_equal(f->info.applied_epoch, 4);
	assert_int_equal(stat(f->info.path, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, f->info.size);
	assert_true(f->info.size < ((uint64_t)1 << 20)); /* compact, not the map's size */
	buf = malloc(f->info.size);
	fd = open(f->info.path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, f->info.size), (ssize_t)f->info.size);
	close(fd);
	digest_sha256_hex(buf, f->info.size, sha);
	assert_string_equal(sha, f->info.sha256);
	free(buf);
}

static void test_create_refuses_an_existing_copy(void **state)
{
	struct fixture *f = *state;
	struct snapshot_info again;

	create(f);
	assert_int_equal(snapshot_create(f->s, f->snap, &again), -EEXIST);
}

static void test_reader_and_recv_carry_the_file(void **state)
{
	struct fixture *f = *state;
	struct snapshot_reader *r;
	struct snapshot_recv *rx;
	char copy[P];
	uint8_t chunk[1000];
	uint64_t off = 0;
	size_t n;

	create(f);
	snprintf(copy, P, "%s/received", f->root);
	assert_int_equal(snapshot_reader_open(f->info.path, &r), 0);
	assert_int_equal(snapshot_reader_size(r), f->info.size);
	assert_int_equal(snapshot_recv_open(copy, f->info.size, &rx), 0);
	do {
		assert_int_equal(snapshot_reader_read(r, off, chunk, sizeof(chunk), &n), 0);
		assert_int_equal(snapshot_recv_write(rx, off, chunk, n), 0);
		off += n;
	} while (n == sizeof(chunk));
	assert_int_equal(off, f->info.size);
	assert_int_equal(snapshot_recv_finish(rx, f->info.sha256), 0);
	snapshot_recv_free(rx);
	snapshot_reader_free(r);
	assert_true(exists(copy));
	assert_int_equal(snapshot_install(f->node, copy), 0);
	assert_is_new(f->node);
}

static void test_recv_refuses_gaps_overruns_and_bad_digests(void **state)
{
	struct fixture *f = *state;
	struct snapshot_recv *rx;
	char path[P];

	snprintf(path, P, "%s/partial", f->root);
	assert_int_equal(snapshot_recv_open(path, 4, &rx), 0);
	assert_int_equal(snapshot_recv_write(rx, 1, "x", 1), KF_EPROTO);
	assert_int_equal(snapshot_recv_write(rx, 0, "abc", 3), 0);
	assert_int_equal(snapshot_recv_finish(rx, f->info.sha256), KF_EPROTO);
	assert_int_equal(snapshot_recv_write(rx, 3, "de", 2), KF_ETOOBIG);
	assert_int_equal(snapshot_recv_write(rx, 3, "d", 1), 0);
	assert_int_equal(snapshot_recv_finish(rx, "00"), KF_ECORRUPT);
	snapshot_recv_free(rx);
	assert_false(exists(path));
	assert_int_equal(snapshot_recv_open(path, SNAPSHOT_SIZE_MAX + 1, &rx), KF_ETOOBIG);
}

/* ---- install ---- */

static void test_install_replaces_the_environment(void **state)
{
	struct fixture *f = *state;

	create(f);
	assert_int_equal(snapshot_install(f->node, f->info.path), 0);
	assert_false(exists(f->stage));
	assert_false(exists(f->info.path)); /* moved */
	assert_is_new(f->node);
}

static void test_install_into_a_missing_directory(void **state)
{
	struct fixture *f = *state;
	char fresh[P];

	create(f);
	snprintf(fresh, P, "%s/fresh/", f->root); /* a trailing slash is fine */
	assert_int_equal(snapshot_install(fresh, f->info.path), 0);
	assert_is_new(fresh);
}

static void test_install_refuses_a_file_that_is_no_environment(void **state)
{
	struct fixture *f = *state;
	char junk[P];
	int fd;

	snprintf(junk, P, "%s/junk", f->root);
	fd = open(junk, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not lmdb", 8), 8);
	close(fd);
	assert_int_equal(snapshot_install(f->node, junk), KF_ECORRUPT);
	assert_false(exists(f->stage));
	assert_is_old(f->node);
}

static void test_crash_after_stage_keeps_the_old(void **state)
{
	struct fixture *f = *state;

	create(f);
	assert_int_equal(snapshot__stage(f->node, f->info.path), 0);
	assert_true(exists(f->stage));
	assert_int_equal(snapshot_recover(f->node), 0);
	assert_false(exists(f->stage));
	assert_is_old(f->node);
}

static void test_crash_after_swap_has_the_new(void **state)
{
	struct fixture *f = *state;

	create(f);
	assert_int_equal(snapshot__stage(f->node, f->info.path), 0);
	assert_int_equal(snapshot__swap(f->node), 0);
	assert_is_old(f->stage); /* the old one waits beside it for removal */
	assert_is_new(f->node);
	assert_int_equal(snapshot_recover(f->node), 0);
	assert_false(exists(f->stage));
	assert_is_new(f->node);
}

static void test_recover_without_leftovers_is_a_no_op(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(snapshot_recover(f->node), 0);
	assert_is_old(f->node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_create_reports_the_copy),
		T(test_create_refuses_an_existing_copy),
		T(test_reader_and_recv_carry_the_file),
		T(test_recv_refuses_gaps_overruns_and_bad_digests),
		T(test_install_replaces_the_environment),
		T(test_install_into_a_missing_directory),
		T(test_install_refuses_a_file_that_is_no_environment),
		T(test_crash_after_stage_keeps_the_old),
		T(test_crash_after_swap_has_the_new),
		T(test_recover_without_leftovers_is_a_no_op),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
