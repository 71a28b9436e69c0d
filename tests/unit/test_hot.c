/*
 * The node's hot state (node/hot.h): keys, refused options, and against a
 * real Redis group (tests/cluster/redis.sh, run from the repo root: a
 * primary, 2 replicas, 3 sentinels with a password) the primary it reports,
 * a routing step defined from the caller's table and run by id, and
 * messages of the node's event channel reaching the registered callback. A watchdog child stops the servers if
 * this process dies before the group teardown.
 */
#include "node/hot.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "routing/scripts.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define REDIS_SH "tests/cluster/redis.sh"
#define PASSWORD "kefu-hot-secret"
#define WAIT_MS 10000

static char dir[64];
static char sentinels[128];
static char primary[REDIS_ADDR_MAX];

/* ---- the servers ---- */

static int redis_sh(const char *what, char *out, size_t cap)
{
	char cmd[256];
	FILE *p;
	bool got;

	snprintf(cmd, sizeof(cmd), REDIS_SH " %s --dir %s", what, dir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	got = fgets(out, (int)cap, p) != NULL;
	if (pclose(p) != 0)
		return -1;
	if (got)
		out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* A child that waits for this process to end (its pipe closes), then stops
 * the servers, unless the teardown did (it removes dir last): `redis.sh
 * down` on a directory that is gone would make it again, empty. */
static void watchdog_start(void)
{
	int p[2];
	char c;

	if (pipe(p) != 0)
		abort();
	if (fork() == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		if (access(dir, F_OK) != 0)
			_exit(0);
		execl(REDIS_SH, REDIS_SH, "down", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	fcntl(p[1], F_SETFD, FD_CLOEXEC); /* the servers must not hold it open */
}

static int group_setup(void **state)
{
	char line[256];
	int b;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kefu-test-hot-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	watchdog_start();
	if (redis_sh("up --quick --password " PASSWORD, line, sizeof(line)) != 0 ||
	    redis_sh("primary", primary, sizeof(primary)) != 0)
		return -1;
	/* r1 r2 r3 s1 s2 s3 listen on base+0..5; r1 is the primary. */
	b = 0;
	for (const char *c = strrchr(primary, ':') + 1; *c; c++)
		b = b * 10 + (*c - '0');
	snprintf(sentinels, sizeof(sentinels), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", b + 3,
		 b + 4, b + 5);
	return 0;
}

static int group_teardown(void **state)
{
	char line[256], cmd[128];

	(void)state;
	redis_sh("down", line, sizeof(line));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- a hot state on a loop ---- */

struct fx {
	struct loop *loop;
	struct loop_timer *poll;
	struct hot *hot;
	bool (*until)(struct fx *f);
	uint64_t deadline;
	/* what the callbacks saw */
	int replies, err;
	char reply[256];
	char event[256];
	int events;
};

static void on_poll(void *arg)
{
	struct fx *f = arg;

	if (f->until(f) || loop_now_ms() > f->deadline)
		loop_stop(f->loop);
}

static bool run_until(struct fx *f, bool (*until)(struct fx *f))
{
	f->until = until;
	f->deadline = loop_now_ms() + WAIT_MS;
	if (!until(f))
		loop_run(f->loop);
	return until(f);
}

static bool never(struct fx *f)
{
	(void)f;
	return false;
}

/* Runs the loop for about ms. */
static void run_ms(struct fx *f, uint64_t ms)
{
	f->until = never;
	f->deadline = loop_now_ms() + ms;
	loop_run(f->loop);
}

/* hot_new into f->hot. */
static int fx_hot(struct fx *f, const char *sents, const char *cluster, const char *node)
{
	struct hot_opts o = {
		.loop = f->loop,
		.sentinels = sents,
		.master_name = "kefu",
		.password = PASSWORD,
		.timeout_ms = 500,
		.cluster = cluster,
		.node = node,
	};

	return hot_new(&o, &f->hot);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(loop_new(&f->loop), 0);
	f->poll = loop_timer_new(f->loop, 5, on_poll, f);
	f->until = never;
	return f;
}

static void fx_free(struct fx *f)
{
	hot_free(f->hot);
	loop_timer_free(f->poll);
	run_ms(f, 0); /* one poll: closed connections are released */
	loop_free(f->loop);
	free(f);
}

static bool is_up(struct fx *f)
{
	return hot_is_up(f->hot);
}

static bool has_reply(struct fx *f)
{
	return f->replies > 0;
}

static bool has_event(struct fx *f)
{
	return f->events > 0;
}

static void on_reply(void *arg, int err, const struct redis_reply *reply)
{
	struct fx *f = arg;

	f->replies++;
	f->err = err;
	if (!err && reply->type == REDIS_TYPE_INTEGER)
		snprintf(f->reply, sizeof(f->reply), "integer:%lld", reply->integer);
	else if (!err)
		snprintf(f->reply, sizeof(f->reply), "%s:%.*s", redis_type_name(reply->type),
			 (int)(reply->str ? reply->len : 0), reply->str ? reply->str : "");
}

static void on_event(void *arg, const char *payload, size_t len)
{
	struct fx *f = arg;

	f->events++;
	snprintf(f->event, sizeof(f->event), "%.*s", (int)len, payload);
}

/* ---- without a server ---- */

static void test_key_is_prefix_and_parts(void **state)
{
	struct fx *f = fx_new();
	char key[HOT_KEY_MAX];

	(void)state;
	assert_int_equal(fx_hot(f, "127.0.0.1:1", "prov-gd", "n1"), 0);
	assert_string_equal(hot_prefix(f->hot), "kefu:prov-gd:");
	assert_int_equal(hot_key(f->hot, key, sizeof(key), "call:", "c42"), 0);
	assert_string_equal(key, "kefu:prov-gd:call:c42");
	assert_int_equal(hot_key(f->hot, key, sizeof(key), "epoch"), 0);
	assert_string_equal(key, "kefu:prov-gd:epoch");
	fx_free(f);
}

static void test_key_over_cap_or_null_part_is_refused(void **state)
{
	struct fx *f = fx_new();
	char key[24];

	(void)state;
	assert_int_equal(fx_hot(f, "127.0.0.1:1", "test", "n1"), 0);
	/* "kefu:test:" + "agent:" + 7 = 23 bytes and the NUL: fits exactly */
	assert_int_equal(hot_key(f->hot, key, sizeof(key), "agent:", "a234567"), 0);
	assert_string_equal(key, "kefu:test:agent:a234567");
	assert_int_equal(hot_key(f->hot, key, sizeof(key), "agent:", "a2345678"), KF_ETOOBIG);
	assert_string_equal(key, "");
	assert_int_equal(hot_key(f->hot, key, 5, "x"), KF_ETOOBIG);
	assert_int_equal(hot_key(f->hot, key, sizeof(key), "call:", (const char *)NULL), -EINVAL);
	assert_string_equal(key, "");
	fx_free(f);
}

static void test_bad_options_are_refused(void **state)
{
	struct fx *f = fx_new();
	char longname[HOT_KEY_MAX];

	(void)state;
	assert_int_equal(fx_hot(f, "", "test", "n1"), KF_ECONFIG);
	assert_null(f->hot);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(fx_hot(f, "127.0.0.1:1", "test", longname), KF_ECONFIG);
	assert_null(f->hot);
	assert_int_equal(fx_hot(f, "127.0.0.1:1", longname, "n1"), KF_ECONFIG);
	assert_null(f->hot);
	fx_free(f);
}

static void test_unknown_script_is_einval(void **state)
{
	struct fx *f = fx_new();
	const char *argv[] = {"k"};
	unsigned first = 99;

	(void)state;
	assert_int_equal(fx_hot(f, "127.0.0.1:1", "test", "n1"), 0);
	/* Nothing defined yet: no id runs. */
	assert_int_equal(hot_eval(f->hot, 0, 1, 1, argv, NULL, on_reply, f), -EINVAL);
	assert_int_equal(hot_define(f->hot, routing_scripts, ROUTING_SCRIPT_COUNT, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(hot_eval(f->hot, first + ROUTING_SCRIPT_COUNT, 1, 1, argv, NULL, on_reply,
				  f),
			 -EINVAL);
	assert_int_equal(hot_eval(f->hot, (unsigned)-1, 1, 1, argv, NULL, on_reply, f), -EINVAL);
	fx_free(f);
}

static void test_define_checks_and_numbers_the_tables(void **state)
{
	static const struct hot_script bad[] = {
		{"ok", "return 1", 8, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"},
		{"wrong_sha", "return 2", 8, "0000000000000000000000000000000000000000"},
	};
	static struct hot_script many[HOT_SCRIPTS_MAX];
	struct fx *f = fx_new();
	unsigned first = 99, second = 99;

	(void)state;
	assert_int_equal(fx_hot(f, "127.0.0.1:1", "test", "n1"), 0);
	assert_int_equal(hot_define(f->hot, NULL, 1, &first), -EINVAL);
	assert_int_equal(hot_define(f->hot, routing_scripts, 0, &first), -EINVAL);
	/* A SHA-1 that is not the text's refuses the whole table. */
	assert_int_equal(hot_define(f->hot, bad, 2, &first), KF_EINTERNAL);
	assert_int_equal(first, 99);
	/* Two tables: the second's ids follow the first's. */
	assert_int_equal(hot_define(f->hot, bad, 1, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(hot_define(f->hot, routing_scripts, ROUTING_SCRIPT_COUNT, &second), 0);
	assert_int_equal(second, 1);
	/* Past HOT_SCRIPTS_MAX in all. */
	for (size_t i = 0; i < HOT_SCRIPTS_MAX; i++)
		many[i] = bad[0];
	assert_int_equal(hot_define(f->hot, many, HOT_SCRIPTS_MAX - ROUTING_SCRIPT_COUNT, &first),
			 KF_ETOOBIG);
	assert_int_equal(hot_define(f->hot, many, HOT_SCRIPTS_MAX - 1 - ROUTING_SCRIPT_COUNT,
				    &first),
			 0);
	assert_int_equal(first, 1 + ROUTING_SCRIPT_COUNT);
	fx_free(f);
}

static void test_primary_is_empty_and_down_before_the_first_up(void **state)
{
	struct fx *f = fx_new();
	bool up = true;

	(void)state;
	assert_int_equal(fx_hot(f, "127.0.0.1:1", "test", "n1"), 0);
	assert_string_equal(hot_primary(f->hot, &up), "");
	assert_false(up);
	fx_free(f);
}

/* ---- against the servers ---- */

static void test_reports_the_primary_the_sentinels_name(void **state)
{
	struct fx *f = fx_new();
	bool up = false;

	(void)state;
	assert_int_equal(fx_hot(f, sentinels, "test", "n1"), 0);
	assert_true(run_until(f, is_up));
	assert_string_equal(hot_primary(f->hot, &up), primary);
	assert_true(up);
	fx_free(f);
}

static void test_routing_step_runs_by_id(void **state)
{
	struct fx *f = fx_new();
	char epoch[HOT_KEY_MAX], call[HOT_KEY_MAX], q[HOT_KEY_MAX];
	const char *argv[6];
	unsigned first;

	(void)state;
	assert_int_equal(fx_hot(f, sentinels, "unit", "n1"), 0);
	assert_int_equal(hot_define(f->hot, routing_scripts, ROUTING_SCRIPT_COUNT, &first), 0);
	assert_int_equal(hot_key(f->hot, epoch, sizeof(epoch), "epoch"), 0);
	assert_int_equal(hot_key(f->hot, call, sizeof(call), "call:", "nosuch"), 0);
	assert_int_equal(hot_key(f->hot, q, sizeof(q), "q:", "general"), 0);
	argv[0] = epoch;
	argv[1] = call;
	argv[2] = q;
	argv[3] = "1";
	argv[4] = "1000";
	argv[5] = "60000";
	/* Sent while the client is still finding the primary: queued, then run. */
	assert_int_equal(hot_eval(f->hot, first + ROUTING_SCRIPT_ESTIMATED_WAIT, 3, 6, argv, NULL,
				  on_reply, f),
			 0);
	assert_true(run_until(f, has_reply));
	assert_int_equal(f->err, 0);
	/* The step itself answered (no NOSCRIPT, no unknown command): the call is unknown. */
	assert_true(strncmp(f->reply, "error:NOTFOUND", 14) == 0);
	fx_free(f);
}

static void test_event_channel_messages_reach_the_callback(void **state)
{
	struct fx *f = fx_new();
	char channel[HOT_KEY_MAX];
	const char *pub[3];

	(void)state;
	assert_int_equal(fx_hot(f, sentinels, "unit", "n7"), 0);
	hot_on_event(f->hot, on_event, f);
	assert_true(run_until(f, is_up));
	assert_int_equal(hot_key(f->hot, channel, sizeof(channel), "events:", "n7"), 0);
	pub[0] = "PUBLISH";
	pub[1] = channel;
	pub[2] = "{\"type\":\"offer\"}";
	/* The subscription runs on a connection of its own, made once the client
	 * is up: publish until Redis counts one subscriber. */
	for (int i = 0; i < 100; i++) {
		f->replies = 0;
		assert_int_equal(hot_command(f->hot, 3, pub, NULL, on_reply, f), 0);
		assert_true(run_until(f, has_reply));
		if (strcmp(f->reply, "integer:1") == 0)
			break;
		run_ms(f, 50);
	}
	assert_string_equal(f->reply, "integer:1");
	assert_true(run_until(f, has_event));
	assert_int_equal(f->events, 1);
	assert_string_equal(f->event, "{\"type\":\"offer\"}");
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_key_is_prefix_and_parts),
		cmocka_unit_test(test_key_over_cap_or_null_part_is_refused),
		cmocka_unit_test(test_bad_options_are_refused),
		cmocka_unit_test(test_unknown_script_is_einval),
		cmocka_unit_test(test_define_checks_and_numbers_the_tables),
		cmocka_unit_test(test_primary_is_empty_and_down_before_the_first_up),
	};
	const struct CMUnitTest online[] = {
		cmocka_unit_test(test_reports_the_primary_the_sentinels_name),
		cmocka_unit_test(test_routing_step_runs_by_id),
		cmocka_unit_test(test_event_channel_messages_reach_the_callback),
	};
	int r = cmocka_run_group_tests_name("offline", offline, NULL, NULL);

	return r + cmocka_run_group_tests_name("online", online, group_setup, group_teardown);
}
