/*
 * Business calendars, for the work orders' clocks (docs/workflow.md) and
 * the public holidays of outbound campaigns (docs/dialing.md): the
 * weekly open hours of a handling group, the dates it is closed (public
 * holidays) and the weekend dates it works (China's make-up working days),
 * in the local time of the process's timezone (kefud sets TZ from
 * wo_timezone before anything reads the clock).
 *
 * A deadline is open time added to a moment: calendar_add. Everything here
 * is pure: no clock is read, so a deadline is recomputed from an order's
 * history alone, on any node, with the same answer.
 *
 * Weekly hours, as in the configuration:
 *
 *   mon-fri 08:30-12:00 13:30-18:00; sat 09:00-12:00
 *
 * groups separated by ';', each a day or a day range (mon..sun, a range may
 * wrap: fri-mon) and one or more spans HH:MM-HH:MM (24:00 ends a day; spans
 * of a day in order, not overlapping). Days not named are closed. "always"
 * (the default) is open around the clock.
 *
 * Holidays, one date a line (# comments, blank lines allowed):
 *
 *   2026-10-01 closed
 *   2026-10-10 workday
 *
 * "closed": no open time that date whatever its weekday; "workday": a
 * make-up working day, open with the hours of the calendar's first working
 * weekday (Monday's in the example).
 */
#ifndef KEFU_LIB_CALENDAR_H
#define KEFU_LIB_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALENDAR_SPANS_MAX 8        /* open spans in one day */
#define CALENDAR_DATES_MAX 1024     /* holiday-file lines with a date */
#define CALENDAR_SPEC_MAX 512       /* bytes of a weekly-hours text */
#define CALENDAR_FILE_MAX (64 * 1024)
#define CALENDAR_WHY_MAX 160

/* One open span of a day, minutes since local midnight, [from, to). */
struct calendar_span {
	uint16_t from, to;
};

struct calendar_day {
	struct calendar_span span[CALENDAR_SPANS_MAX];
	uint8_t n;
};

/* A date of the holiday file: days since 1970-01-01 (the local date). */
struct calendar_date {
	int32_t day;
	bool workday;                   /* a make-up working day; else closed */
};

/* A calendar; plain data, copied freely. Zeroed is not valid: start from
 * calendar_always or calendar_parse. */
struct calendar {
	bool always;                    /* open around the clock; week unused */
	struct calendar_day week[7];    /* [0] Monday .. [6] Sunday */
	struct calendar_day makeup;     /* the hours of a make-up working day */
	struct calendar_date dates[CALENDAR_DATES_MAX]; /* sorted by day, unique */
	size_t ndates;
};

/* calendar_ymd - the date of day (days since 1970-01-01) as YYYYMMDD. */
uint32_t calendar_ymd(int32_t day);

/* calendar_always - c is open around the clock, with no holidays. */
void calendar_always(struct calendar *c);

/*
 * calendar_parse - weekly hours from text (len bytes, not NUL-terminated)
 * into c, with no holidays. Returns 0, or KF_EPARSE with why naming the
 * group and what is wrong (c unchanged). A calendar open no minute of the
 * week is refused: no deadline could be computed.
 */
int calendar_parse(const char *text, size_t len, struct calendar *c, char *why, size_t cap);

/*
 * calendar_holidays - the dates of a holiday file (len bytes) into c,
 * replacing any it had. Returns 0, or KF_EPARSE (why names the line),
 * KF_ETOOBIG (over CALENDAR_DATES_MAX dates or CALENDAR_FILE_MAX bytes);
 * c keeps its earlier dates then.
 */
int calendar_holidays(struct calendar *c, const char *text, size_t len, char *why, size_t cap);

/*
 * calendar_add - the moment (unix ms) when open_ms of open time has passed
 * since from_ms; from_ms itself when open_ms is 0 (even if closed then).
 * Never before from_ms. Searches at most ten years ahead; UINT64_MAX if no
 * open time is left in them (a holiday file closing everything).
 */
uint64_t calendar_add(const struct calendar *c, uint64_t from_ms, uint64_t open_ms);

/* calendar_open_between - the open time (ms) in [a_ms, b_ms); 0 if b <= a. */
uint64_t calendar_open_between(const struct calendar *c, uint64_t a_ms, uint64_t b_ms);

/* calendar_is_open - whether c is open at the moment t_ms. */
bool calendar_is_open(const struct calendar *c, uint64_t t_ms);

#endif
