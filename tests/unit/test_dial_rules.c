/*
 * Unit tests of node/dialing/rules.c in Asia/Shanghai: the calling window
 * (open at 20:59, closed at 21:00, the next morning at 08:00), working days
 * only for marketing with make-up working days, public holidays off for
 * every campaign, retries by result up to their maximum, no redial within
 * 72 hours of a dropped call, a callback at the time asked for.
 */
#include "node/dialing/rules.h"
#include "tests/unit/support/shanghai.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define MIN 60000ull
#define HOUR (60 * MIN)

/* National Day 2026: Oct 1-7 off (Thu-Wed), Sat Oct 10 worked. */
static const uint32_t holidays[] = {20261001, 20261002, 20261005, 20261006, 20261007};
static const uint32_t workdays[] = {20261010};

static void test_window_closes_at_21(void **state)
{
	struct dial_rules r;

	(void)state;
	dial_rules_default(&r, false);
	/* Friday 2026-12-04 */
	assert_true(dial_rules_is_open(&r, at(2026, 12, 4, 20, 59)));
	assert_false(dial_rules_is_open(&r, at(2026, 12, 4, 21, 0)));
	assert_false(dial_rules_is_open(&r, at(2026, 12, 4, 7, 59)));
	assert_int_equal(dial_rules_next_allowed(&r, at(2026, 12, 4, 21, 0)),
			 at(2026, 12, 5, 8, 0));
	assert_int_equal(dial_rules_next_allowed(&r, at(2026, 12, 4, 3, 0)),
			 at(2026, 12, 4, 8, 0));
	/* care and arrears call on Saturday too */
	assert_true(dial_rules_is_open(&r, at(2026, 12, 5, 10, 0)));
}

static void test_marketing_working_days(void **state)
{
	struct dial_rules r;

	(void)state;
	dial_rules_default(&r, true);
	/* Friday evening: the next call on Monday morning */
	assert_int_equal(dial_rules_next_allowed(&r, at(2026, 12, 4, 21, 0)),
			 at(2026, 12, 7, 8, 0));
	assert_false(dial_rules_is_open(&r, at(2026, 12, 6, 10, 0)));
	/* a make-up working Saturday is worked */
	r.workdays = workdays;
	r.nworkdays = 1;
	assert_true(dial_rules_is_open(&r, at(2026, 10, 10, 10, 0)));
}

static void test_holidays_off(void **state)
{
	struct dial_rules r;

	(void)state;
	dial_rules_default(&r, false);
	r.holidays = holidays;
	r.nholidays = 5;
	assert_false(dial_rules_is_open(&r, at(2026, 10, 1, 10, 0)));
	/* Sat Oct 3 and Sun Oct 4 are not listed: open for arrears */
	assert_int_equal(dial_rules_next_allowed(&r, at(2026, 9, 30, 21, 30)),
			 at(2026, 10, 3, 8, 0));
	r.working_days_only = true;
	r.workdays = workdays;
	r.nworkdays = 1;
	assert_int_equal(dial_rules_next_allowed(&r, at(2026, 9, 30, 21, 30)),
			 at(2026, 10, 8, 8, 0));
}

static void test_retries_by_result(void **state)
{
	struct dial_rules r;
	struct dial_contact c = {0};
	uint64_t t = at(2026, 12, 4, 10, 0);

	(void)state;
	dial_rules_default(&r, false);
	assert_int_equal(dial_rules_next_attempt(&r, &c, t), t);
	c.attempts = 1;
	c.last_ms = t;
	c.last = DIAL_BUSY;
	assert_int_equal(dial_rules_next_attempt(&r, &c, t), t + 10 * MIN);
	c.last = DIAL_NOANSWER;
	assert_int_equal(dial_rules_next_attempt(&r, &c, t), t + HOUR);
	c.last = DIAL_MACHINE;
	assert_int_equal(dial_rules_next_attempt(&r, &c, t), t + 2 * HOUR);
	c.last = DIAL_FAILED;
	assert_int_equal(dial_rules_next_attempt(&r, &c, t + 40 * MIN), t + 40 * MIN);
	/* a retry that falls after 21:00 waits for the morning */
	c.last = DIAL_MACHINE;
	c.last_ms = at(2026, 12, 4, 20, 0);
	assert_int_equal(dial_rules_next_attempt(&r, &c, c.last_ms), at(2026, 12, 5, 8, 0));
	c.attempts = 3;
	assert_int_equal(dial_rules_next_attempt(&r, &c, t), DIAL_NEVER);
}

/* next_default - the next attempt of c at now under the default rules. */
static uint64_t next_default(const struct dial_contact *c, uint64_t now)
{
	struct dial_rules r;

	dial_rules_default(&r, false);
	return dial_rules_next_attempt(&r, c, now);
}

static void test_no_redial_72h_after_drop(void **state)
{
	struct dial_contact c = {.attempts = 1, .last_ms = at(2026, 12, 1, 10, 0),
				 .last = DIAL_BUSY, .dropped_ms = at(2026, 12, 1, 10, 0)};

	(void)state;
	assert_int_equal(next_default(&c, at(2026, 12, 1, 11, 0)), at(2026, 12, 4, 10, 0));
	/* a callback inside the 72 hours waits too */
	c.callback_ms = at(2026, 12, 2, 15, 0);
	assert_int_equal(next_default(&c, at(2026, 12, 1, 11, 0)), at(2026, 12, 4, 10, 0));
	/* after them, the busy retry is long past: at once */
	assert_int_equal(next_default(&c, at(2026, 12, 4, 10, 1)), at(2026, 12, 4, 10, 1));
}

static void test_callback_at_its_time(void **state)
{
	struct dial_contact c = {.attempts = 3, .last_ms = at(2026, 12, 4, 10, 0),
				 .callback_ms = at(2026, 12, 4, 16, 30)};

	(void)state;
	/* attempts spent, but the customer asked: called at 16:30 */
	assert_int_equal(next_default(&c, at(2026, 12, 4, 10, 5)), at(2026, 12, 4, 16, 30));
	/* asked for 22:00: the window still holds */
	c.callback_ms = at(2026, 12, 4, 22, 0);
	assert_int_equal(next_default(&c, at(2026, 12, 4, 10, 5)), at(2026, 12, 5, 8, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_closes_at_21),
		cmocka_unit_test(test_marketing_working_days),
		cmocka_unit_test(test_holidays_off),
		cmocka_unit_test(test_retries_by_result),
		cmocka_unit_test(test_no_redial_72h_after_drop),
		cmocka_unit_test(test_callback_at_its_time),
	};

	return cmocka_run_group_tests(tests, tz_shanghai, NULL);
}
