/*
 * Campaign rules (rules.h): the calling window over local days, retries,
 * the 72-hour rule after a dropped call, callbacks.
 */
#include "node/dialing/rules.h"

#include <string.h>
#include <time.h>

void dial_rules_default(struct dial_rules *r, bool marketing)
{
	memset(r, 0, sizeof(*r));
	r->open_min = 8 * 60;
	r->close_min = 21 * 60;
	r->working_days_only = marketing;
	r->max_attempts = 3;
	r->retry_s[DIAL_BUSY] = 600;
	r->retry_s[DIAL_NOANSWER] = 3600;
	r->retry_s[DIAL_MACHINE] = 7200;
	r->retry_s[DIAL_FAILED] = 1800;
}

static bool listed(const uint32_t *days, size_t n, uint32_t ymd)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (days[mid] == ymd)
			return true;
		if (days[mid] < ymd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* day_open - whether the local day of tm is one the campaign calls on. */
static bool day_open(const struct dial_rules *r, const struct tm *tm)
{
	uint32_t ymd = (uint32_t)((tm->tm_year + 1900) * 10000 + (tm->tm_mon + 1) * 100 +
				  tm->tm_mday);

	if (listed(r->holidays, r->nholidays, ymd))
		return false;
	if (!r->working_days_only)
		return true;
	return (tm->tm_wday >= 1 && tm->tm_wday <= 5) || listed(r->workdays, r->nworkdays, ymd);
}

/* at_minute - unix ms of minute m of the local day of tm (tm copied). */
static uint64_t at_minute(const struct tm *day, unsigned m)
{
	struct tm t = *day;
	time_t s;

	t.tm_hour = (int)(m / 60);
	t.tm_min = (int)(m % 60);
	t.tm_sec = 0;
	t.tm_isdst = -1;
	s = mktime(&t);
	return s < 0 ? 0 : (uint64_t)s * 1000;
}

bool dial_rules_is_open(const struct dial_rules *r, uint64_t ms)
{
	return dial_rules_next_allowed(r, ms) == ms;
}

uint64_t dial_rules_next_allowed(const struct dial_rules *r, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&s, &tm))
		return DIAL_NEVER;
	for (int d = 0; d < 400; d++) {
		if (day_open(r, &tm)) {
			uint64_t open = at_minute(&tm, r->open_min);
			uint64_t close = at_minute(&tm, r->close_min);

			if (ms < open)
				return open;
			if (ms < close)
				return ms;
		}
		/* the next local day, at noon so a summer-time change cannot skip it */
		tm.tm_mday++;
		tm.tm_hour = 12;
		tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		s = mktime(&tm);
		if (s < 0 || !localtime_r(&s, &tm))
			return DIAL_NEVER;
	}
	return DIAL_NEVER;
}

uint64_t dial_rules_next_attempt(const struct dial_rules *r, const struct dial_contact *c,
				 uint64_t now_ms)
{
	uint64_t at = now_ms;

	if (c->callback_ms) {
		if (c->callback_ms > at)
			at = c->callback_ms;
	} else if (c->attempts >= r->max_attempts) {
		return DIAL_NEVER;
	} else if (c->attempts && c->last < DIAL_NRESULTS) {
		uint64_t t = c->last_ms + (uint64_t)r->retry_s[c->last] * 1000;

		if (t > at)
			at = t;
	}
	if (c->dropped_ms && c->dropped_ms + DIAL_NO_REDIAL_AFTER_DROP_MS > at)
		at = c->dropped_ms + DIAL_NO_REDIAL_AFTER_DROP_MS;
	return dial_rules_next_allowed(r, at);
}
