/* The cluster configuration's table (storage/ccfg.h): versions, the one in
 * force, the history newest first, bad records refused. */
#include "lib/err.h"
#include "storage/ccfg.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
	struct tmpstore *f = calloc(1, sizeof(*f));

	if (!f || tmpstore_open(f, "ccfg") != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	tmpstore_close(*state);
	free(*state);
	return 0;
}

static void put_version(struct tmpstore *f, uint64_t v, const char *text)
{
	Kefu__ClusterConfig c = KEFU__CLUSTER_CONFIG__INIT;
	struct store_txn *t;

	c.has_version = c.has_time_ms = 1;
	c.version = v;
	c.time_ms = 1000 * v;
	c.actor = "admin";
	c.text = (char *)text;
	assert_int_equal(ccfg_put(f->b, &c), 0);
	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(store_commit(t), 0);
	batch_reset(f->b);
}

static int collect(void *arg, const Kefu__ClusterConfig *c)
{
	uint64_t **out = arg;

	*(*out)++ = c->version;
	return 0;
}

static void test_versions(void **state)
{
	struct tmpstore *f = *state;
	Kefu__ClusterConfig *cur;
	struct store_txn *t;
	uint64_t v, seen[8] = {0}, *at = seen;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(ccfg_current(t, &cur), 0);
	assert_null(cur);
	assert_int_equal(ccfg_version(t, &v), 0);
	assert_int_equal(v, 0);
	store_abort(t);

	put_version(f, 1, "wrap_up = \"20s\"\n");
	put_version(f, 2, "wrap_up = \"30s\"\n");
	put_version(f, 3, "");
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(ccfg_current(t, &cur), 0);
	assert_non_null(cur);
	assert_int_equal(cur->version, 3);
	assert_string_equal(cur->text, "");
	kefu__cluster_config__free_unpacked(cur, NULL);
	assert_int_equal(ccfg_version(t, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(ccfg_history(t, 2, collect, &at), 0);
	assert_int_equal(at - seen, 2);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 2);
	at = seen;
	assert_int_equal(ccfg_history(t, 0, collect, &at), 0);
	assert_int_equal(at - seen, 3);
	assert_int_equal(seen[2], 1);
	store_abort(t);
}

static void test_bad_records_refused(void **state)
{
	struct tmpstore *f = *state;
	Kefu__ClusterConfig c = KEFU__CLUSTER_CONFIG__INIT;
	char *big = malloc(CCFG_TEXT_MAX + 2);

	assert_non_null(big);
	assert_int_equal(ccfg_put(f->b, &c), KF_EPARSE); /* no version */
	c.has_version = 1;
	c.version = 0;
	c.text = "";
	assert_int_equal(ccfg_put(f->b, &c), KF_EPARSE); /* version 0 */
	c.version = 1;
	c.text = NULL;
	assert_int_equal(ccfg_put(f->b, &c), KF_EPARSE); /* no text */
	memset(big, 'a', CCFG_TEXT_MAX + 1);
	big[CCFG_TEXT_MAX + 1] = '\0';
	c.text = big;
	assert_int_equal(ccfg_put(f->b, &c), KF_EPARSE); /* too long */
	assert_int_equal(batch_count(f->b), 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_records_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
