/*
 * Local time in Asia/Shanghai for the tests of the business calendars and
 * the work orders' clocks: the process's timezone set (a cmocka setup),
 * and a Shanghai wall time as unix milliseconds.
 */
#ifndef KEFU_TESTS_UNIT_SUPPORT_SHANGHAI_H
#define KEFU_TESTS_UNIT_SUPPORT_SHANGHAI_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* tz_shanghai - a cmocka group setup: the process runs on Shanghai time. */
static inline int tz_shanghai(void **state)
{
	(void)state;
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	return 0;
}

/* at - unix ms of a Shanghai wall time (UTC+8, no summer time since 1991). */
static inline uint64_t at(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			.tm_min = mi, .tm_isdst = -1};

	return (uint64_t)mktime(&tm) * 1000;
}

#endif
