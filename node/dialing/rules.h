/*
 * The rules of a campaign: when a contact may be called and when again.
 * Pure: the time in, the next allowed time out; local time is the zone in
 * TZ (localtime_r/mktime), as everywhere in the node.
 *
 *   calling window   [open_min, close_min) minutes after local midnight,
 *                    default 08:00-21:00, on every day, or on working
 *                    days only (marketing): Monday to Friday plus the
 *                    make-up working days, minus the public holidays.
 *                    Public holidays are closed for every campaign.
 *   retries          per result (busy, no answer, machine, failed): at
 *                    most max_attempts attempts in all, the next one
 *                    retry_s seconds after the last.
 *   abandoned        a contact whose call was dropped (answered with no
 *                    agent free) is not dialled again within 72 hours.
 *   callback         a time the customer asked for: the next attempt is
 *                    then, not counted against max_attempts, still inside
 *                    the calling window and the 72-hour rule.
 *
 * The do-not-call list is checked at dial time by the caller, not here.
 * The holiday and make-up day lists are the caller's, sorted ascending,
 * as YYYYMMDD numbers; they must outlive the rules.
 */
#ifndef KEFU_NODE_DIALING_RULES_H
#define KEFU_NODE_DIALING_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIAL_NO_REDIAL_AFTER_DROP_MS (72ull * 3600 * 1000)
#define DIAL_NEVER UINT64_MAX

enum dial_result { DIAL_BUSY, DIAL_NOANSWER, DIAL_MACHINE, DIAL_FAILED, DIAL_NRESULTS };

struct dial_rules {
	unsigned open_min, close_min;     /* local minutes, open < close <= 1440 */
	bool working_days_only;           /* marketing */
	const uint32_t *holidays;         /* YYYYMMDD, sorted; closed days */
	size_t nholidays;
	const uint32_t *workdays;         /* YYYYMMDD, sorted; weekend days worked */
	size_t nworkdays;
	unsigned max_attempts;            /* attempts in all, callbacks aside */
	uint32_t retry_s[DIAL_NRESULTS];  /* wait after each result */
};

/* What a contact has been through (the caller keeps it with the contact). */
struct dial_contact {
	unsigned attempts;
	uint64_t last_ms;                 /* the last attempt, 0 if none */
	enum dial_result last;            /* its result when it was not answered */
	uint64_t dropped_ms;              /* the last abandoned call, 0 if none */
	uint64_t callback_ms;             /* the time asked for, 0 if none */
};

/* dial_rules_default - 08:00-21:00, 3 attempts, busy 10 min, no answer 1 h,
 * machine 2 h, failed 30 min; working days only for marketing. */
void dial_rules_default(struct dial_rules *r, bool marketing);

/* dial_rules_is_open - whether a call may be placed at ms (unix ms). */
bool dial_rules_is_open(const struct dial_rules *r, uint64_t ms);

/* dial_rules_next_allowed - ms when open, else the next opening; DIAL_NEVER
 * when none within 400 days (e.g. every day a holiday). */
uint64_t dial_rules_next_allowed(const struct dial_rules *r, uint64_t ms);

/* dial_rules_next_attempt - when c may be dialled next, no earlier than
 * now_ms: the callback, else the retry interval of the last result; then
 * the 72-hour rule and the calling window. DIAL_NEVER when its attempts
 * are spent and no callback is pending. */
uint64_t dial_rules_next_attempt(const struct dial_rules *r, const struct dial_contact *c,
				 uint64_t now_ms);

#endif
