/*
 * Unit tests of lib/calendar.c: weekly hours and holiday files
 * parsed or refused with the reason; open time added across closed hours,
 * lunch breaks, weekends, holidays and make-up working days, in
 * Asia/Shanghai; and added time measured back to the same amount.
 */
#include "lib/err.h"
#include "lib/calendar.h"
#include "tests/unit/support/shanghai.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define MIN 60000ull
#define HOUR (60 * MIN)
#define WEEKDAYS "mon-fri 08:30-12:00 13:30-18:00; sat 09:00-12:00"
#define HOLIDAYS                                                                     \
	"# National Day 2026\n"                                                      \
	"2026-10-01 closed\n2026-10-02 closed\n2026-10-05 closed\n"                  \
	"2026-10-06 closed\n2026-10-07 closed\n\n2026-10-10 workday   \n"

static struct calendar cal; /* large: not on the stack */

static void parse_ok(const char *spec)
{
	char why[CALENDAR_WHY_MAX] = "";

	assert_int_equal(calendar_parse(spec, strlen(spec), &cal, why, sizeof(why)), 0);
}

static void holidays_ok(const char *text)
{
	char why[CALENDAR_WHY_MAX] = "";

	assert_int_equal(calendar_holidays(&cal, text, strlen(text), why, sizeof(why)), 0);
}

static void test_always_adds_plain_time(void **state)
{
	uint64_t t = at(2026, 10, 3, 23, 59);

	(void)state;
	parse_ok("always");
	assert_true(cal.always);
	assert_int_equal(calendar_add(&cal, t, 90 * MIN), t + 90 * MIN);
	assert_int_equal(calendar_open_between(&cal, t, t + HOUR), HOUR);
	calendar_always(&cal);
	assert_int_equal(calendar_add(&cal, t, 0), t);
}

static void test_weekly_hours_skip_nights_lunch_and_weekends(void **state)
{
	(void)state;
	parse_ok(WEEKDAYS);
	/* Within a span. */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 14, 9, 0), 30 * MIN), at(2026, 9, 14, 9, 30));
	/* Across lunch: 15 minutes before, 15 after. A target under an hour. */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 14, 11, 45), 30 * MIN),
			 at(2026, 9, 14, 13, 45));
	/* Started while closed: the clock starts at opening. */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 14, 6, 0), HOUR), at(2026, 9, 14, 9, 30));
	assert_int_equal(calendar_add(&cal, at(2026, 9, 14, 12, 30), 10 * MIN),
			 at(2026, 9, 14, 13, 40));
	/* Friday 17:30 + 4 h: 30 min Friday, Saturday's 3 h, 30 min Monday. */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 18, 17, 30), 4 * HOUR),
			 at(2026, 9, 21, 9, 0));
	/* Exactly at closing: the deadline is the closing minute, not the next opening. */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 14, 17, 0), HOUR), at(2026, 9, 14, 18, 0));
	assert_true(calendar_is_open(&cal, at(2026, 9, 14, 8, 30)));
	assert_false(calendar_is_open(&cal, at(2026, 9, 14, 12, 0)));
	assert_false(calendar_is_open(&cal, at(2026, 9, 20, 10, 0))); /* Sunday */
	/* A week: five days of 8 h and Saturday's 3. */
	assert_int_equal(calendar_open_between(&cal, at(2026, 9, 14, 0, 0), at(2026, 9, 21, 0, 0)),
			 (5 * 8 + 3) * HOUR);
}

static void test_holidays_and_make_up_days(void **state)
{
	(void)state;
	parse_ok(WEEKDAYS);
	holidays_ok(HOLIDAYS);
	assert_int_equal(cal.ndates, 6);
	/* A deadline that falls in the holiday moves past it: Wednesday
	 * 30 September 17:00 + 2 h = 1 h then, Thursday 1 October closed,
	 * Friday 2nd closed, Saturday 3rd 09:00-12:00 (its own hours). */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 30, 17, 0), 2 * HOUR),
			 at(2026, 10, 3, 10, 0));
	/* Monday 5th to Wednesday 7th closed; Thursday 8th opens as usual. */
	assert_int_equal(calendar_add(&cal, at(2026, 10, 3, 11, 0), 2 * HOUR),
			 at(2026, 10, 8, 9, 30));
	/* Saturday 10th is a make-up working day with Monday's hours. */
	assert_int_equal(calendar_add(&cal, at(2026, 10, 9, 17, 0), 2 * HOUR),
			 at(2026, 10, 10, 9, 30));
	assert_true(calendar_is_open(&cal, at(2026, 10, 10, 15, 0)));
	assert_false(calendar_is_open(&cal, at(2026, 10, 1, 10, 0)));
	/* Open around the clock but for the holidays. */
	parse_ok("always");
	holidays_ok("2026-10-01 closed\n");
	assert_int_equal(calendar_add(&cal, at(2026, 9, 30, 23, 0), 2 * HOUR),
			 at(2026, 10, 2, 1, 0));
}

static void test_added_time_measures_back(void **state)
{
	static const uint64_t amounts[] = {MIN, 29 * MIN, HOUR, 4 * HOUR, 24 * HOUR, 48 * HOUR,
					   7 * 24 * HOUR};
	uint64_t t = at(2026, 9, 25, 7, 13);

	(void)state;
	parse_ok("mon-fri 08:30-12:00 13:30-18:00; sat 09:00-12:00; sun 22:00-24:00");
	holidays_ok(HOLIDAYS);
	for (int i = 0; i < 200; i++, t += 73 * MIN + 11000) {
		for (size_t k = 0; k < sizeof(amounts) / sizeof(amounts[0]); k++) {
			uint64_t due = calendar_add(&cal, t, amounts[k]);

			assert_true(due > t);
			assert_int_equal(calendar_open_between(&cal, t, due), amounts[k]);
			/* The moment before it, not all of it had passed. */
			assert_true(calendar_open_between(&cal, t, due - 1) < amounts[k]);
		}
	}
}

static void test_day_ranges_wrap_and_end_at_midnight(void **state)
{
	(void)state;
	parse_ok("fri-mon 20:00-24:00");
	for (int d = 0; d < 7; d++)
		assert_int_equal(cal.week[d].n, d == 0 || d >= 4 ? 1 : 0);
	assert_int_equal(cal.week[4].span[0].to, 1440);
	/* Friday 23:00 + 2 h: 1 h Friday, 1 h from Saturday 20:00. */
	assert_int_equal(calendar_add(&cal, at(2026, 9, 18, 23, 0), 2 * HOUR),
			 at(2026, 9, 19, 21, 0));
}

static void test_nothing_open_is_unreachable(void **state)
{
	(void)state;
	parse_ok("sun 10:00-11:00");
	assert_int_equal(calendar_add(&cal, at(2026, 9, 14, 0, 0), 2 * HOUR), at(2026, 9, 27, 11, 0));
	/* A ten-year closure: no deadline. */
	{
		static char text[CALENDAR_DATES_MAX * 18];
		size_t n = 0;
		uint64_t start = at(2027, 1, 3, 0, 0); /* a Sunday */
		char why[CALENDAR_WHY_MAX];

		for (int w = 0; w < CALENDAR_DATES_MAX; w++) {
			time_t s = (time_t)(start / 1000) + (time_t)w * 7 * 86400;
			struct tm tm;

			localtime_r(&s, &tm);
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%04d-%02d-%02d closed\n",
					      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		}
		assert_int_equal(calendar_holidays(&cal, text, n, why, sizeof(why)), 0);
		assert_int_equal(calendar_add(&cal, start, HOUR), UINT64_MAX);
	}
}

static void test_bad_weekly_hours_are_refused(void **state)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{"", "no hours: always, or days and spans"},
		{"   ", "no hours"},
		{"mon-fri", "mon has no span"},
		{"monday 08:00-12:00", "is not a day"},
		{"mon-fry 08:00-12:00", "is not a day"},
		{"mon 8:00-12:00", "is not a span"},
		{"mon 08:00-24:30", "is not a span"},
		{"mon 12:00-08:00", "is not a span"},
		{"mon 08:00", "is not a span"},
		{"mon 08:00-12:00 11:00-13:00", "overlaps"},
		{"mon 13:00-14:00 08:00-12:00", "overlaps or precedes"},
		{"mon-fri 08:00-12:00; fri 13:00-14:00", "fri is named twice"},
		{"mon 08:00-12:00;; tue 08:00-09:00", "an empty group"},
		{"mon 08:00-09:00 09:00-10:00 10:00-11:00 11:00-12:00 12:00-13:00 13:00-14:00 "
		 "14:00-15:00 15:00-16:00 16:00-17:00",
		 "more than 8 spans"},
		{"mon 08:00-12:00\t", "printable ASCII"},
	};
	char why[CALENDAR_WHY_MAX];

	(void)state;
	parse_ok(WEEKDAYS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(calendar_parse(bad[i].spec, strlen(bad[i].spec), &cal, why,
						sizeof(why)),
				 KF_EPARSE);
		if (!strstr(why, bad[i].why))
			fail_msg("\"%s\": why \"%s\" lacks \"%s\"", bad[i].spec, why, bad[i].why);
	}
	assert_int_equal(cal.week[0].n, 2); /* unchanged by every refusal */
}

static void test_bad_holiday_files_are_refused(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"2026-13-01 closed\n", "line 1: \"2026-13-01\" is not a date"},
		{"2027-02-29 closed\n", "is not a date"},
		{"# c\n2026-10-01\n", "line 2: after the date, closed or workday"},
		{"2026-10-01 open\n", "closed or workday"},
		{"2026-10-01 closed now\n", "more than a date"},
		{"2026-10-01\tclosed\n", "not tabs"},
		{"2026-10-01 closed\n2026-10-01 workday\n", "2026-10-01 is listed twice"},
		{"26-10-01 closed\n", "is not a date"},
	};
	char why[CALENDAR_WHY_MAX];

	(void)state;
	parse_ok(WEEKDAYS);
	holidays_ok("2028-02-29 closed\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(calendar_holidays(&cal, bad[i].text, strlen(bad[i].text), why,
						   sizeof(why)),
				 KF_EPARSE);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: why \"%s\" lacks \"%s\"", bad[i].text, why, bad[i].why);
	}
	assert_int_equal(cal.ndates, 1); /* the earlier file's dates kept */
}

/* calendar_ymd: the day numbers the holiday file gives, as dates. */
static void test_ymd(void **state)
{
	(void)state;
	assert_int_equal(calendar_ymd(0), 19700101);
	assert_int_equal(calendar_ymd(59), 19700301);
	assert_int_equal(calendar_ymd(11016), 20000229);      /* the leap day of a 400th year */
	assert_int_equal(calendar_ymd(20523), 20260311);
	assert_int_equal(calendar_ymd(-1), 19691231);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_always_adds_plain_time),
		cmocka_unit_test(test_weekly_hours_skip_nights_lunch_and_weekends),
		cmocka_unit_test(test_holidays_and_make_up_days),
		cmocka_unit_test(test_added_time_measures_back),
		cmocka_unit_test(test_day_ranges_wrap_and_end_at_midnight),
		cmocka_unit_test(test_nothing_open_is_unreachable),
		cmocka_unit_test(test_bad_weekly_hours_are_refused),
		cmocka_unit_test(test_bad_holiday_files_are_refused),
		cmocka_unit_test(test_ymd),
	};

	return cmocka_run_group_tests(tests, tz_shanghai, NULL);
}
