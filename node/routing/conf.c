/* The routing's settings from kefud's configuration. See conf.h. */
#include "node/routing/conf.h"

#include "lib/conf.h"
#include "lib/err.h"
#include "node/config_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const routing_skill_names[ROUTING_NSKILLS + 1] = {
#define SKILL_NAME_(sk, def) #sk,
	ROUTING_SKILLS(SKILL_NAME_)
#undef SKILL_NAME_
	NULL,
};

/* What node/routing/lua/prelude.lua implements (its STRATEGIES table);
 * tests/unit/test_routing_conf.c checks that the two lists agree. */
const char *const routing_strategies[] = {
	"longest-idle-agent",
	"agent-with-least-talk-time",
	"agent-with-fewest-calls",
	"round-robin",
	"top-down",
	"sequentially-by-agent-order",
	"random",
	"ring-all",
	"ring-progressively",
	NULL,
};

static const char *const at_max_kinds[] = {"callback", "voicemail", NULL};
static const char *const no_answer_states[] = {"not_ready", "ready", NULL};

/* The entry of list equal to s, or NULL: the settings keep the list's
 * own text, never the configuration's. */
static const char *one_of(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && strncmp(list[i], s, n) == 0)
			return list[i];
	return NULL;
}

const char *routing_skill_named(const char *s, size_t n)
{
	return one_of(routing_skill_names, s, n);
}

bool routing_strategy_known(const char *name)
{
	return one_of(routing_strategies, name, strlen(name)) != NULL;
}

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t cap, const char *fmt,
						       ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return KF_ECONFIG;
}

/* An IVR plan name goes to gateways as is: letters, digits, '-', '_'. */
static bool plan_ok(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

/*
 * "skill:after,skill:after,...": 1 to ROUTING_LADDER_MAX steps, known
 * skills each once, the first after 0s, the others later than the one
 * before.
 */
static int ladder_parse(const char *opt, const char *text, struct routing_tier *t, char *why,
			size_t cap)
{
	const char *p = text;

	t->nladder = 0;
	while (*p) {
		const char *colon = strchr(p, ':'), *end = strchr(p, ',');
		char after[24];
		int64_t ms;
		size_t alen;

		if (!end)
			end = p + strlen(p);
		if (!colon || colon > end)
			return fail(why, cap, "%s: \"%.*s\" is not skill:after", opt, (int)(end - p), p);
		if (t->nladder == ROUTING_LADDER_MAX)
			return fail(why, cap, "%s: more than %d steps", opt, ROUTING_LADDER_MAX);
		t->ladder[t->nladder].skill = routing_skill_named(p, (size_t)(colon - p));
		if (!t->ladder[t->nladder].skill)
			return fail(why, cap, "%s: unknown skill \"%.*s\" (vip, billing, general)", opt,
				    (int)(colon - p), p);
		for (size_t i = 0; i < t->nladder; i++)
			if (t->ladder[i].skill == t->ladder[t->nladder].skill)
				return fail(why, cap, "%s: skill %s given twice", opt,
					    t->ladder[i].skill);
		alen = (size_t)(end - colon - 1);
		if (alen >= sizeof(after))
			return fail(why, cap, "%s: \"%.*s\" is not a duration", opt, (int)alen,
				    colon + 1);
		memcpy(after, colon + 1, alen);
		after[alen] = '\0';
		if (conf_number(CONF_DURATION, after, &ms) || ms < 0)
			return fail(why, cap, "%s: \"%s\" is not a duration (e.g. 30s)", opt, after);
		if (t->nladder == 0 && ms != 0)
			return fail(why, cap, "%s: the first step must start at 0s", opt);
		if (t->nladder > 0 && (uint64_t)ms <= t->ladder[t->nladder - 1].after_ms)
			return fail(why, cap, "%s: step %s must start after the one before it", opt,
				    t->ladder[t->nladder].skill);
		t->ladder[t->nladder++].after_ms = (uint64_t)ms;
		p = *end ? end + 1 : end;
	}
	if (t->nladder == 0)
		return fail(why, cap, "%s: empty", opt);
	return 0;
}

/*
 * "key:skill,key:skill,...": at most ROUTING_MENU_MAX choices, each key
 * (0-9, * or #) once, known skills; empty: no menu.
 */
static int menu_parse(const char *opt, const char *text, struct routing_tier *t, char *why,
		      size_t cap)
{
	const char *p = text;

	t->nmenu = 0;
	while (*p) {
		const char *end = strchr(p, ',');

		if (!end)
			end = p + strlen(p);
		if (*end == ',' && !end[1])
			return fail(why, cap, "%s: ends with a comma", opt);
		if (end - p < 3 || p[1] != ':' || !strchr("0123456789*#", p[0]))
			return fail(why, cap, "%s: \"%.*s\" is not key:skill (a key 0-9, * or #)", opt,
				    (int)(end - p), p);
		if (t->nmenu == ROUTING_MENU_MAX)
			return fail(why, cap, "%s: more than %d choices", opt, ROUTING_MENU_MAX);
		for (size_t i = 0; i < t->nmenu; i++)
			if (t->menu[i].digit == p[0])
				return fail(why, cap, "%s: key %c given twice", opt, p[0]);
		t->menu[t->nmenu].digit = p[0];
		t->menu[t->nmenu].skill = routing_skill_named(p + 2, (size_t)(end - p - 2));
		if (!t->menu[t->nmenu].skill)
			return fail(why, cap, "%s: unknown skill \"%.*s\" (vip, billing, general)", opt,
				    (int)(end - p - 2), p + 2);
		t->nmenu++;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* One tier's rows, by name, from c. */
struct tier_rows {
	const char *name;
	unsigned level;
	const char *plan;
	bool greeting;
	int64_t weight, sl, max_wait;
	const char *ladder, *at_max, *menu;
};

static int tier_from(const struct tier_rows *row, struct routing_tier *t, char *why, size_t cap)
{
	char opt[48];

	t->level = row->level;
	t->name = row->name;
	snprintf(opt, sizeof(opt), "%s_plan", row->name);
	if (!plan_ok(row->plan) || strlen(row->plan) >= sizeof(t->plan))
		return fail(why, cap, "%s: \"%.40s\" is not a plan name (letters, digits, - and _)",
			    opt, row->plan);
	snprintf(t->plan, sizeof(t->plan), "%s", row->plan);
	t->greeting = row->greeting;
	t->weight_ms = (uint64_t)row->weight;
	t->sl_ms = (uint64_t)row->sl;
	t->max_wait_ms = (uint64_t)row->max_wait;
	snprintf(opt, sizeof(opt), "%s_ladder", row->name);
	if (ladder_parse(opt, row->ladder, t, why, cap))
		return KF_ECONFIG;
	if (t->ladder[t->nladder - 1].after_ms >= t->max_wait_ms)
		return fail(why, cap, "%s: its last step starts at or after %s_max_wait", opt,
			    row->name);
	t->at_max = one_of(at_max_kinds, row->at_max, strlen(row->at_max));
	if (!t->at_max)
		return fail(why, cap, "%s_at_max: \"%.20s\" is not callback or voicemail", row->name,
			    row->at_max);
	snprintf(opt, sizeof(opt), "%s_menu", row->name);
	return menu_parse(opt, row->menu, t, why, cap);
}

int routing_settings_from(const struct config *c, struct routing_settings *out, char *why,
			  size_t cap)
{
	/* By name through the table: a component may not include node/config.h. */
	const struct tier_rows rows[ROUTING_NTIERS] = {
#define TIER_ROW_(n, lvl, plan, greet, weight, sl, ladder, maxw, atmax, menu)                \
	{#n, lvl, config_table_text(c, #n "_plan"), config_table_bool(c, #n "_greeting"),     \
	 config_table_number(c, #n "_weight"), config_table_number(c, #n "_service_level"),   \
	 config_table_number(c, #n "_max_wait"), config_table_text(c, #n "_ladder"),          \
	 config_table_text(c, #n "_at_max"), config_table_text(c, #n "_menu")},
		ROUTING_TIERS(TIER_ROW_)
#undef TIER_ROW_
	};
	const char *strategies[ROUTING_NSKILLS] = {
#define SKILL_ROW_(sk, def) config_table_text(c, #sk "_strategy"),
		ROUTING_SKILLS(SKILL_ROW_)
#undef SKILL_ROW_
	};
	const char *no_answer = config_table_text(c, "no_answer_state");

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ROUTING_NTIERS; i++)
		if (tier_from(&rows[i], &out->tiers[i], why, cap))
			return KF_ECONFIG;
	for (size_t i = 0; i < ROUTING_NSKILLS; i++) {
		out->strategy[i] = one_of(routing_strategies, strategies[i], strlen(strategies[i]));
		if (!out->strategy[i])
			return fail(why, cap, "%s_strategy: unknown strategy \"%.40s\"",
				    routing_skill_names[i], strategies[i]);
	}
	out->no_answer = one_of(no_answer_states, no_answer, strlen(no_answer));
	if (!out->no_answer)
		return fail(why, cap, "no_answer_state: \"%.20s\" is not not_ready or ready",
			    no_answer);
	out->offer_ms = (uint64_t)config_table_number(c, "offer_timeout");
	out->wrap_ms = (uint64_t)config_table_number(c, "wrap_up");
	out->ring_step_ms = (uint64_t)config_table_number(c, "ring_progressive_step");
	out->stats_iv_ms = (uint64_t)config_table_number(c, "stats_interval");
	out->lost_grace_ms = (uint64_t)config_table_number(c, "gateway_grace");
	out->lock_after = (uint64_t)config_table_number(c, "login_lock_after");
	out->lock_ms = (uint64_t)config_table_number(c, "login_lock_time");
	out->busy_at = (uint64_t)config_table_number(c, "busy_at");
	out->menu_ms = (uint64_t)config_table_number(c, "menu_timeout");
	out->session_max_ms = (uint64_t)config_table_number(c, "session_max_age");
	return 0;
}
