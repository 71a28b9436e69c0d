/*
 * Long simulated predictive runs (tests/bench/dialfloor.h): on the same
 * traffic and the same 3% cap, kefu's predictive pacing keeps the abandon
 * rate over live answers at or under the cap across whole weeks of shifts,
 * while its agents' occupancy stays above progressive dialling's and the
 * ADAPT_TAPERED-style baseline's. Seeds and floor sizes vary; the outcome
 * is a count of simulated calls, not a timing.
 */
#include "tests/bench/dialfloor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

static void floor_holds(unsigned nagents, unsigned days, uint64_t seed)
{
	struct dial_floor_run k = dial_floor_simulate(DIAL_FLOOR_KEFU, nagents, days, seed);
	struct dial_floor_run p = dial_floor_simulate(DIAL_FLOOR_PROGRESSIVE, nagents, days, seed);
	struct dial_floor_run b = dial_floor_simulate(DIAL_FLOOR_TAPERED, nagents, days, seed);
	double ok = dial_floor_occupancy(&k), ab = dial_floor_abandon(&k);

	printf("# %u agents, %u shifts, seed %llu: kefu %.4f/%.5f, progressive %.4f/%.5f, "
	       "baseline %.4f/%.5f\n", nagents, days, (unsigned long long)seed, ok, ab,
	       dial_floor_occupancy(&p), dial_floor_abandon(&p), dial_floor_occupancy(&b),
	       dial_floor_abandon(&b));
	assert_true(k.answered_live > 1000 * days);
	assert_true(k.dropped > 0); /* the pacing uses its budget, it does not avoid it */
	assert_true(ab <= DIAL_FLOOR_CAP);
	assert_true(ok > dial_floor_occupancy(&p));
	assert_true(ok > dial_floor_occupancy(&b));
	assert_true(ok > 0.75);
	/* progressive never drops: one call per ready agent */
	assert_int_equal(p.dropped, 0);
}

static void test_fifty_agents_a_week(void **state)
{
	(void)state;
	floor_holds(50, 5, 7);
	floor_holds(50, 5, 1234);
	floor_holds(50, 5, 31);
}

static void test_twenty_agents_a_week(void **state)
{
	(void)state;
	floor_holds(20, 5, 7);
	floor_holds(20, 5, 99);
	floor_holds(20, 5, 1234);
}

static void test_hundred_agents_two_weeks(void **state)
{
	(void)state;
	floor_holds(100, 10, 31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifty_agents_a_week),
		cmocka_unit_test(test_twenty_agents_a_week),
		cmocka_unit_test(test_hundred_agents_two_weeks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
