/* The sync set and sync key logic: steps, commit index, and the invariant
 * that every promotable standby holds every acknowledged write. */
#include "cluster/syncset.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define TIMEOUT 1000

/* Run plan/apply until nothing is left to do; returns the steps taken. */
static int settle(struct syncset *s, uint64_t now, struct syncset_step *log, int max)
{
	int n = 0;

	while (n < max) {
		struct syncset_step st = syncset_plan(s, now, TIMEOUT);

		if (st.kind == SYNCSET_NONE)
			break;
		syncset_apply(s, &st);
		if (log)
			log[n] = st;
		n++;
	}
	return n;
}

static void test_first_follower_becomes_standby(void **state)
{
	struct syncset s;
	struct syncset_step steps[8];

	(void)state;
	syncset_init(&s, 1);
	assert_int_equal(syncset_plan(&s, 0, TIMEOUT).kind, SYNCSET_NONE);
	syncset_link(&s, "node2", true, 0);
	assert_int_equal(settle(&s, 0, steps, 8), 2);
	assert_int_equal(steps[0].kind, SYNCSET_ADD_TO_SET);
	assert_int_equal(steps[1].kind, SYNCSET_ADD_TO_KEY);
	assert_string_equal(steps[1].name, "node2");
	assert_true(syncset_find(&s, "node2")->in_key);
}

static void test_commit_waits_for_the_set(void **state)
{
	struct syncset s;

	(void)state;
	syncset_init(&s, 1);
	s.local_durable = 10;
	assert_int_equal(syncset_commit_index(&s), 0); /* no standby: nothing acknowledged */
	syncset_link(&s, "node2", true, 0);
	settle(&s, 0, NULL, 8);
	assert_int_equal(syncset_commit_index(&s), 0);
	syncset_ack(&s, "node2", 7, 1);
	assert_int_equal(syncset_commit_index(&s), 7);
	syncset_ack(&s, "node2", 12, 2);
	assert_int_equal(syncset_commit_index(&s), 10); /* bounded by the leader's own disk */
}

static void test_no_standby_wanted_commits_locally(void **state)
{
	struct syncset s;

	(void)state;
	syncset_init(&s, 0);
	s.local_durable = 5;
	assert_int_equal(syncset_commit_index(&s), 5);
}

static void test_local_writes_durable_as_the_writer_says(void **state)
{
	static struct syncset s;

	(void)state;
	syncset_init(&s, 0);
	syncset_local_committed(&s, 10, 1);
	syncset_local_committed(&s, 11, 2);
	syncset_local_committed(&s, 14, 3);
	/* committed is not durable: nothing may be acknowledged yet */
	assert_int_equal(syncset_commit_index(&s), 0);
	assert_false(syncset_local_durable(&s, 9));
	assert_true(syncset_local_durable(&s, 11));
	assert_int_equal(s.local_durable, 2);
	assert_int_equal(syncset_commit_index(&s), 2);
	assert_false(syncset_local_durable(&s, 13));
	assert_true(syncset_local_durable(&s, 20));
	assert_int_equal(s.local_durable, 3);
	assert_int_equal(s.local_n, 0);
}

static void test_local_ring_full_delays_never_advances(void **state)
{
	static struct syncset s;

	(void)state;
	syncset_init(&s, 0);
	for (uint64_t i = 1; i <= SYNCSET_LOCAL_MAX + 5; i++)
		syncset_local_committed(&s, 100 + i, i);
	assert_int_equal(s.local_n, SYNCSET_LOCAL_MAX);
	/* the entries past the ring's room merged into its newest: index
	 * LOCAL_MAX - 1 is durable with its own job, the rest only with the last */
	assert_true(syncset_local_durable(&s, 100 + SYNCSET_LOCAL_MAX - 1));
	assert_int_equal(s.local_durable, SYNCSET_LOCAL_MAX - 1);
	assert_false(syncset_local_durable(&s, 100 + SYNCSET_LOCAL_MAX + 4));
	assert_int_equal(s.local_durable, SYNCSET_LOCAL_MAX - 1);
	assert_true(syncset_local_durable(&s, 100 + SYNCSET_LOCAL_MAX + 5));
	assert_int_equal(s.local_durable, SYNCSET_LOCAL_MAX + 5);
}

static void test_candidate_joins_key_only_when_caught_up(void **state)
{
	struct syncset s;

	(void)state;
	syncset_init(&s, 1);
	s.local_durable = 100;
	s.acked = 90;
	syncset_link(&s, "node2", true, 0);
	syncset_ack(&s, "node2", 50, 0);
	assert_int_equal(syncset_plan(&s, 0, TIMEOUT).kind, SYNCSET_ADD_TO_SET);
	syncset_apply(&s, &(struct syncset_step){SYNCSET_ADD_TO_SET, "node2"});
	assert_int_equal(syncset_plan(&s, 10, TIMEOUT).kind, SYNCSET_NONE);
	syncset_ack(&s, "node2", 89, 20);
	assert_int_equal(syncset_plan(&s, 20, TIMEOUT).kind, SYNCSET_NONE);
	syncset_ack(&s, "node2", 90, 30);
	assert_int_equal(syncset_plan(&s, 30, TIMEOUT).kind, SYNCSET_ADD_TO_KEY);
}

static void test_stalled_standby_is_replaced_key_first(void **state)
{
	struct syncset s;
	struct syncset_step steps[8];

	(void)state;
	syncset_init(&s, 1);
	syncset_link(&s, "node2", true, 0);
	syncset_link(&s, "node3", true, 0);
	syncset_ack(&s, "node2", 10, 0);
	syncset_ack(&s, "node3", 5, 0);
	s.local_durable = 10;
	settle(&s, 0, NULL, 8);
	assert_true(syncset_find(&s, "node2")->in_key);
	s.acked = syncset_commit_index(&s);
	assert_int_equal(s.acked, 10);

	/* node2 stops (SIGSTOP): links stay up, acks stop, writes pile up. */
	s.local_durable = 20;
	assert_int_equal(syncset_plan(&s, 500, TIMEOUT).kind, SYNCSET_NONE);
	assert_int_equal(syncset_commit_index(&s), 10); /* writes wait */

	/* Past the timeout, node3 (streaming) joins S; it must catch up before K changes. */
	syncset_ack(&s, "node3", 8, 1400);
	assert_int_equal(settle(&s, 1500, steps, 8), 1);
	assert_int_equal(steps[0].kind, SYNCSET_ADD_TO_SET);
	assert_string_equal(steps[0].name, "node3");
	assert_true(syncset_find(&s, "node2")->in_key);
	syncset_ack(&s, "node3", 20, 1600);
	assert_int_equal(settle(&s, 1600, steps, 8), 3);
	assert_int_equal(steps[0].kind, SYNCSET_ADD_TO_KEY);
	assert_string_equal(steps[0].name, "node3");
	assert_int_equal(steps[1].kind, SYNCSET_REMOVE_FROM_KEY);
	assert_string_equal(steps[1].name, "node2");
	assert_int_equal(steps[2].kind, SYNCSET_REMOVE_FROM_SET);
	assert_string_equal(steps[2].name, "node2");
	assert_int_equal(syncset_commit_index(&s), 20);
}

static void test_lone_dead_standby_keeps_writes_waiting(void **state)
{
	struct syncset s;

	(void)state;
	syncset_init(&s, 1);
	syncset_link(&s, "node2", true, 0);
	settle(&s, 0, NULL, 8);
	s.local_durable = 5;
	syncset_link(&s, "node2", false, 10);
	assert_int_equal(settle(&s, 5000, NULL, 8), 0);
	assert_true(syncset_find(&s, "node2")->in_key);
	assert_int_equal(syncset_commit_index(&s), 0);
}

/* Random links, acks and time, following the plan: whatever happens, every
 * member of K is in S and holds every index acknowledged so far. */
static void test_key_members_hold_every_acked_write(void **state)
{
	static const char *names[] = {"n2", "n3", "n4"};
	uint64_t x = 0x9e3779b97f4a7c15ULL, now = 0;
	struct syncset s;

	(void)state;
	syncset_init(&s, 1);
	for (int round = 0; round < 20000; round++) {
		const char *who;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		who = names[x % 3];
		now += x % 300;
		switch ((x >> 8) % 4) {
		case 0:
			syncset_link(&s, who, (x >> 12) % 3 != 0, now);
			break;
		case 1:
			if (syncset_member(&s, who)->connected)
				syncset_ack(&s, who,
					    syncset_member(&s, who)->durable + (x >> 16) % 4 >
							    s.local_durable
						    ? s.local_durable
						    : syncset_member(&s, who)->durable + (x >> 16) % 4,
					    now);
			break;
		default:
			s.local_durable += (x >> 20) % 3;
			break;
		}
		settle(&s, now, NULL, 16);
		s.acked = syncset_commit_index(&s);
		for (size_t i = 0; i < s.n; i++) {
			if (!s.m[i].in_key)
				continue;
			assert_true(s.m[i].in_set);
			assert_true(s.m[i].durable >= s.acked);
		}
	}
	assert_true(s.acked > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_follower_becomes_standby),
		cmocka_unit_test(test_commit_waits_for_the_set),
		cmocka_unit_test(test_no_standby_wanted_commits_locally),
		cmocka_unit_test(test_local_writes_durable_as_the_writer_says),
		cmocka_unit_test(test_local_ring_full_delays_never_advances),
		cmocka_unit_test(test_candidate_joins_key_only_when_caught_up),
		cmocka_unit_test(test_stalled_standby_is_replaced_key_first),
		cmocka_unit_test(test_lone_dead_standby_keeps_writes_waiting),
		cmocka_unit_test(test_key_members_hold_every_acked_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
