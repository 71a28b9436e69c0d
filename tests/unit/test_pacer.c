/*
 * Unit tests of node/dialing/pacer.c: the rolling abandonment window (old
 * counts leave after 30 days or 24 hours), the handle-time distribution
 * conditioned on how long a call has lasted, and the decision: nothing
 * with no ready agent, one call per ready agent when progressive, more
 * when talking calls are about to end and fewer when the budget is spent.
 */
#include "node/dialing/pacer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define HOUR 3600000ull
#define DAY (24 * HOUR)

static struct dial_window win;
static struct dial_handle ht;

static void test_window_30_days(void **state)
{
	uint64_t a, b, t0 = 1000 * DAY;

	(void)state;
	dial_window_init(&win, DIAL_WINDOW_30D);
	dial_window_add(&win, t0, 100, 5);
	dial_window_add(&win, t0 + 10 * DAY, 200, 1);
	dial_window_counts(&win, t0 + 29 * DAY, &a, &b);
	assert_int_equal(a, 300);
	assert_int_equal(b, 6);
	dial_window_counts(&win, t0 + 30 * DAY + HOUR, &a, &b);
	assert_int_equal(a, 200);
	assert_int_equal(b, 1);
	dial_window_counts(&win, t0 + 41 * DAY, &a, &b);
	assert_int_equal(a, 0);
	assert_int_equal(b, 0);
	/* a count older than the window is not taken */
	dial_window_add(&win, t0, 7, 7);
	dial_window_counts(&win, t0 + 41 * DAY, &a, &b);
	assert_int_equal(a + b, 0);
}

static void test_window_24_hours(void **state)
{
	uint64_t a, b, t0 = 1000 * DAY + 5 * HOUR;

	(void)state;
	dial_window_init(&win, DIAL_WINDOW_24H);
	dial_window_add(&win, t0, 10, 1);
	dial_window_add(&win, t0 + 23 * HOUR, 10, 0);
	dial_window_counts(&win, t0 + 23 * HOUR + 50 * 60000, &a, &b);
	assert_int_equal(a, 20);
	assert_int_equal(b, 1);
	dial_window_counts(&win, t0 + DAY + 3 * 60000, &a, &b);
	assert_int_equal(a, 10);
	assert_int_equal(b, 0);
}

static void test_handle_conditional(void **state)
{
	(void)state;
	dial_handle_init(&ht);
	/* half the calls last 60 s, half 600 s */
	for (int i = 0; i < 100; i++)
		dial_handle_add(&ht, i % 2 ? 60 : 600);
	/* at 50 s, half end by 70 s */
	assert_true(fabs(dial_handle_ends_within(&ht, 50, 20, 180) - 0.5) < 1e-9);
	/* past 60 s, all survivors last to 600: none ends in the next 20 s */
	assert_true(dial_handle_ends_within(&ht, 100, 20, 180) < 1e-9);
	/* at 590 s they all end within 20 */
	assert_true(dial_handle_ends_within(&ht, 590, 20, 180) > 1 - 1e-9);
	/* nothing measured past t: the prior */
	assert_true(fabs(dial_handle_ends_within(&ht, 5000, 20, 180) -
			 (1 - exp(-20.0 / 180))) < 1e-9);
}

static struct dial_pace_in base(enum dial_mode mode)
{
	struct dial_pace_in in = {.mode = mode, .prior_answer = 0.35, .prior_weight = 100,
				  .handle = &ht, .prior_handle_s = 180, .ring_s = 20,
				  .cap = 0.03, .max_lines = 200};
	return in;
}

static void test_no_ready_agent_no_call(void **state)
{
	static const uint32_t talking[] = {599, 599, 599};
	struct dial_pace_in in = base(DIAL_PREDICTIVE);

	(void)state;
	in.talking_s = talking;
	in.ntalking = 3;
	assert_int_equal(dial_pace(&in), 0);
	in.mode = DIAL_PROGRESSIVE;
	assert_int_equal(dial_pace(&in), 0);
	in.ready = 4;
	in.mode = DIAL_PREVIEW;
	assert_int_equal(dial_pace(&in), 0);
}

static void test_progressive_one_per_ready(void **state)
{
	struct dial_pace_in in = base(DIAL_PROGRESSIVE);

	(void)state;
	in.ready = 5;
	assert_int_equal(dial_pace(&in), 5);
	in.ringing = 2;
	assert_int_equal(dial_pace(&in), 3);
	in.ringing = 9;
	assert_int_equal(dial_pace(&in), 0);
}

static void test_predictive_more_when_calls_end(void **state)
{
	static const uint32_t early[10] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100};
	static const uint32_t ending[10] = {590, 590, 590, 590, 590, 590, 590, 590, 590, 590};
	struct dial_pace_in in = base(DIAL_PREDICTIVE);
	unsigned alone, soon, late;

	(void)state;
	dial_handle_init(&ht);
	for (int i = 0; i < 100; i++)
		dial_handle_add(&ht, i % 2 ? 60 : 600);
	in.ready = 10;
	in.placed = 1000;
	in.human = 350;
	in.win_answered = 1000; /* a window with its budget untouched */
	alone = dial_pace(&in);
	/* ten ready agents at a 35% answer rate: more than ten calls */
	assert_true(alone > 10);
	in.talking_s = early;
	in.ntalking = 10;
	late = dial_pace(&in);
	assert_true(late >= alone);
	in.talking_s = ending;
	soon = dial_pace(&in);
	assert_true(soon > late);
	assert_true(soon >= 20);
	/* no more than the lines */
	in.max_lines = 12;
	in.ringing = 4;
	assert_int_equal(dial_pace(&in), 8);
}

/* A window without answers has no room for a drop: one abandoned call
 * would be the whole of it. The campaign starts as progressive does. */
static void test_predictive_fresh_window_no_overdial(void **state)
{
	struct dial_pace_in in = base(DIAL_PREDICTIVE);

	(void)state;
	dial_handle_init(&ht);
	in.ready = 10;
	assert_int_equal(dial_pace(&in), 10);
	in.win_answered = 20; /* 0.6 drops of room: less than the reserve */
	assert_int_equal(dial_pace(&in), 10);
	in.win_answered = 2000;
	assert_true(dial_pace(&in) > 10);
}

static void test_predictive_less_when_budget_spent(void **state)
{
	struct dial_pace_in in = base(DIAL_PREDICTIVE);
	unsigned fresh, spent;

	(void)state;
	dial_handle_init(&ht);
	in.ready = 5;
	in.win_answered = 1000;
	in.win_abandoned = 10;
	fresh = dial_pace(&in);
	in.win_abandoned = 40; /* 4% already: over the cap */
	spent = dial_pace(&in);
	assert_true(fresh > spent);
	/* over the cap, still one call per ready agent: those cannot drop */
	assert_int_equal(spent, 5);
	assert_true(dial_expected_drops(5, 0.35, 5, NULL, 0) == 0);
	assert_true(dial_expected_drops(20, 0.35, 5, NULL, 0) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_30_days),
		cmocka_unit_test(test_window_24_hours),
		cmocka_unit_test(test_handle_conditional),
		cmocka_unit_test(test_no_ready_agent_no_call),
		cmocka_unit_test(test_progressive_one_per_ready),
		cmocka_unit_test(test_predictive_more_when_calls_end),
		cmocka_unit_test(test_predictive_fresh_window_no_overdial),
		cmocka_unit_test(test_predictive_less_when_budget_spent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
