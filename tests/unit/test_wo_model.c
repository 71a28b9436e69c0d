/*
 * Unit tests of node/workflow/model.c with an injected clock (every step
 * carries its own time) in Asia/Shanghai: the transition table and its
 * refusals (a state the action does not leave, a role not allowed, a
 * handler of another group, an agent not the owner, a note missing), the
 * lifecycle to a return visit, and the clocks on business calendars —
 * a weekend, a holiday and a make-up working day, a target under an hour
 * across lunch, a pause before the first response, an order reopened
 * after close, a deadline that falls in a holiday — each checked against
 * times worked out by hand and against wo_clocks computed again from the
 * history; then escalations, each level exactly once, an upgrade turning
 * a complaint into an escalated complaint.
 */
#include "lib/err.h"
#include "lib/calendar.h"
#include "node/workflow/conf.h"
#include "node/workflow/model.h"
#include "tests/unit/support/shanghai.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define MIN (60 * 1000ull)
#define HOUR (60 * MIN)

struct fix {
	struct wo_settings s;
	Kefu__Agent owner, handler, other_handler, agent, sup;
	char *g1[1], *g2[1];
};

static void agent_init(Kefu__Agent *a, const char *id, const char *role, char **groups,
		       size_t n)
{
	Kefu__Agent x = KEFU__AGENT__INIT;

	x.id = (char *)id;
	x.role = (char *)role;
	x.groups = groups;
	x.n_groups = n;
	*a = x;
}

/* Settings as wo_settings_from would make them, with hours and holidays. */
static void settings(struct fix *f, const char *hours, const char *holidays)
{
	char why[WO_WHY_MAX];
	struct wo_settings *s = &f->s;

	memset(s, 0, sizeof(*s));
	snprintf(s->province, sizeof(s->province), "SC");
	snprintf(s->default_group, sizeof(s->default_group), "backoffice");
	s->calendar = calloc(1, sizeof(*s->calendar));
	assert_non_null(s->calendar);
	if (hours)
		assert_int_equal(calendar_parse(hours, strlen(hours), s->calendar, why, sizeof(why)), 0);
	else
		calendar_always(s->calendar);
	if (holidays)
		assert_int_equal(calendar_holidays(s->calendar, holidays, strlen(holidays), why,
						   sizeof(why)), 0);
	for (int k = 0; k < WO_KINDS; k++)
		for (int c = 0; c < WO_CLOCKS; c++)
			s->target_ms[k][c] = 2 * HOUR;
	s->urgent_factor = 500;
	for (int i = 0; i < WO_TIERS; i++)
		s->tier_factor[i] = 1000;
	assert_int_equal(wo_escalate_parse("80%:lead,100%:supervisor,150%:upgrade", 37,
					   s->escalate, &s->nescalate, why, sizeof(why)), 0);
	s->visit_quiet_ms = 30 * 24 * HOUR;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tz_shanghai(NULL);
	f->g1[0] = "cd-billing";
	f->g2[0] = "gz-network";
	agent_init(&f->owner, "a01", "agent", NULL, 0);
	agent_init(&f->agent, "a02", "agent", NULL, 0);
	agent_init(&f->handler, "h01", "handler", f->g1, 1);
	agent_init(&f->other_handler, "h02", "handler", f->g2, 1);
	agent_init(&f->sup, "s01", "supervisor", f->g1, 1);
	settings(f, NULL, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	free(f->s.calendar);
	free(f);
	return 0;
}

static struct wo_actor as(const Kefu__Agent *a)
{
	struct wo_actor x = {a->id, a, false, false};

	return x;
}

static Kefu__WorkOrder *order_new(struct fix *f, uint64_t t0, const char *kind)
{
	Kefu__OrderCreate rq = KEFU__ORDER_CREATE__INIT;
	struct wo_actor a = as(&f->owner);
	Kefu__WorkOrder *o;

	rq.msisdn = "13900000001";
	rq.kind = (char *)kind;
	rq.category = "话费/计费争议";
	rq.description = "多扣了月租";
	o = wo_order_new(&rq, "SC20261204000001", "a01", &a, t0);
	wo_clocks_set(o, &f->s);
	return o;
}

/* The stored clocks equal those computed again from the history. */
static void recomputes(struct fix *f, const Kefu__WorkOrder *o)
{
	Kefu__OrderClock now[WO_CLOCKS];
	char why[256];

	wo_clocks(o, &f->s, now);
	assert_int_equal(o->n_clocks, WO_CLOCKS);
	for (int c = 0; c < WO_CLOCKS; c++)
		if (!wo_clocks_equal(o->clocks[c], &now[c], why, sizeof(why)))
			fail_msg("%s", why);
}

static int step(struct fix *f, Kefu__WorkOrder *o, const Kefu__Agent *who, const char *action,
		uint64_t t, const char *note, char *why)
{
	struct wo_step_in in = {.action = action, .note = note, .now_ms = t, .actor = as(who),
				.group = "cd-billing", .owner = f->agent.id, .visit = true};
	int err = wo_step(o, &f->s, &in, why, WO_WHY_MAX);

	if (err == 0)
		recomputes(f, o);
	return err;
}

static void step_ok(struct fix *f, Kefu__WorkOrder *o, const Kefu__Agent *who,
		    const char *action, uint64_t t, const char *note)
{
	char why[WO_WHY_MAX] = "";
	int err = step(f, o, who, action, t, note, why);

	if (err)
		fail_msg("%s by %s: %s", action, who->id, why);
}

static void test_lifecycle(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = at(2026, 12, 7, 9, 0);
	Kefu__WorkOrder *o = order_new(f, t0, "complaint");

	assert_string_equal(o->state, "new");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, t0 + 2 * HOUR);
	step_ok(f, o, &f->owner, "dispatch", t0 + MIN, NULL);
	assert_string_equal(o->group, "cd-billing");
	step_ok(f, o, &f->handler, "accept", t0 + 20 * MIN, NULL);
	assert_string_equal(o->handler, "h01");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->met_ms, t0 + 20 * MIN);
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, 0);
	step_ok(f, o, &f->handler, "start", t0 + 30 * MIN, NULL);
	/* a note keeps the state and restarts the update clock */
	step_ok(f, o, &f->handler, "note", t0 + 40 * MIN, "已核实计费记录");
	assert_string_equal(o->state, "processing");
	assert_int_equal(o->clocks[WO_UPDATE]->due_ms, t0 + 40 * MIN + 2 * HOUR);
	step_ok(f, o, &f->handler, "reply", t0 + HOUR, "已退还多扣的月租");
	assert_int_equal(o->clocks[WO_SOLUTION]->met_ms, t0 + HOUR);
	step_ok(f, o, &f->owner, "close", t0 + 2 * HOUR, NULL);
	assert_string_equal(o->state, "visiting");
	assert_int_equal(o->visit_due_ms, t0 + 2 * HOUR);
	step_ok(f, o, &f->agent, "satisfied", t0 + 3 * HOUR, NULL);
	assert_string_equal(o->state, "closed");
	assert_string_equal(o->satisfaction, "satisfied");
	assert_int_equal(o->n_history, 8);
	assert_string_equal(o->history[5]->from, "processing");
	assert_string_equal(o->history[5]->to, "replied");
	assert_string_equal(o->history[5]->by, "h01");
	assert_string_equal(o->history[5]->role, "handler");
	/* a closed order has no clock running and nothing to escalate */
	for (int c = 0; c < WO_CLOCKS; c++) {
		assert_int_equal(o->clocks[c]->due_ms, 0);
		assert_int_equal(o->clocks[c]->next_ms, 0);
	}
	wo_order_free(o);
}

static void test_refusals(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = at(2026, 12, 7, 9, 0);
	Kefu__WorkOrder *o = order_new(f, t0, "complaint");
	char why[WO_WHY_MAX];

	/* not from this state: named with the state and what it allows */
	assert_int_equal(step(f, o, &f->handler, "reply", t0 + MIN, "x", why), KF_ESTATE);
	assert_non_null(strstr(why, "\"reply\""));
	assert_non_null(strstr(why, "state new"));
	assert_non_null(strstr(why, "dispatch"));
	/* no such action */
	assert_int_equal(step(f, o, &f->owner, "finish", t0 + MIN, NULL, why), KF_EPARSE);
	assert_non_null(strstr(why, "finish"));
	/* an agent who is not the owner cannot dispatch (nor close) it */
	assert_int_equal(step(f, o, &f->agent, "dispatch", t0 + MIN, NULL, why), KF_ESTATE);
	assert_non_null(strstr(why, "a02"));
	assert_non_null(strstr(why, "not the owner"));
	step_ok(f, o, &f->owner, "dispatch", t0 + MIN, NULL);
	/* a handler of another group cannot accept it; the refusal names both */
	assert_int_equal(step(f, o, &f->other_handler, "accept", t0 + 2 * MIN, NULL, why),
			 KF_ESTATE);
	assert_non_null(strstr(why, "\"accept\""));
	assert_non_null(strstr(why, "h02 (handler of groups gz-network"));
	assert_non_null(strstr(why, "group cd-billing"));
	/* the owner is no handler: accept is not the owner's */
	assert_int_equal(step(f, o, &f->owner, "accept", t0 + 2 * MIN, NULL, why), KF_ESTATE);
	/* a return needs its reason */
	step_ok(f, o, &f->handler, "accept", t0 + 3 * MIN, NULL);
	assert_int_equal(step(f, o, &f->handler, "return", t0 + 4 * MIN, NULL, why), KF_EPARSE);
	assert_non_null(strstr(why, "note"));
	step_ok(f, o, &f->handler, "reply", t0 + 5 * MIN, "处理完毕");
	/* an agent cannot close an order it does not own; a supervisor can */
	assert_int_equal(step(f, o, &f->agent, "close", t0 + 6 * MIN, NULL, why), KF_ESTATE);
	assert_non_null(strstr(why, "\"close\""));
	assert_non_null(strstr(why, "a02 (agent, not the owner)"));
	step_ok(f, o, &f->sup, "close", t0 + 7 * MIN, NULL);
	assert_string_equal(o->history[o->n_history - 1]->role, "supervisor");
	wo_order_free(o);
}

/* A supervisor hands an order to another agent (who owns it from then on:
 * the first-contact rights go with it); nobody else may, and it needs the
 * new owner, another than the one now, and a reason. */
static void test_reassign(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = at(2026, 12, 7, 9, 0);
	Kefu__WorkOrder *o = order_new(f, t0, "complaint");
	struct wo_step_in in = {.action = "reassign", .note = "a01 休假", .now_ms = t0 + MIN,
				.actor = as(&f->sup), .owner = "a01"};
	char why[WO_WHY_MAX];

	/* the owner itself, a handler or another agent may not */
	assert_int_equal(step(f, o, &f->owner, "reassign", t0 + MIN, "休假", why), KF_ESTATE);
	assert_non_null(strstr(why, "\"reassign\""));
	assert_int_equal(step(f, o, &f->agent, "reassign", t0 + MIN, "休假", why), KF_ESTATE);
	/* a reason, a new owner, and not the one it has */
	assert_int_equal(step(f, o, &f->sup, "reassign", t0 + MIN, NULL, why), KF_EPARSE);
	assert_int_equal(wo_step(o, &f->s, &in, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "a01 owns it already"));
	in.owner = NULL;
	assert_int_equal(wo_step(o, &f->s, &in, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "--owner"));
	assert_string_equal(o->owner, "a01");
	assert_int_equal(o->n_history, 1);
	/* the supervisor hands it to a02: state kept, the step says from whom */
	step_ok(f, o, &f->sup, "reassign", t0 + 2 * MIN, "a01 休假");
	assert_string_equal(o->owner, "a02");
	assert_string_equal(o->state, "new");
	assert_string_equal(o->history[1]->action, "reassign");
	assert_string_equal(o->history[1]->owner, "a02");
	assert_string_equal(o->history[1]->note, "from a01: a01 休假");
	assert_string_equal(o->history[1]->role, "supervisor");
	/* a01 has lost the owner's rights, a02 has them */
	assert_int_equal(step(f, o, &f->owner, "dispatch", t0 + 3 * MIN, NULL, why), KF_ESTATE);
	assert_non_null(strstr(why, "not the owner"));
	step_ok(f, o, &f->agent, "dispatch", t0 + 4 * MIN, NULL);
	wo_order_free(o);
}

/* A copy of o to try a step on. */
static Kefu__WorkOrder *order_copy(const Kefu__WorkOrder *o)
{
	size_t n = kefu__work_order__get_packed_size(o);
	uint8_t *buf = malloc(n ? n : 1);
	Kefu__WorkOrder *c;

	assert_non_null(buf);
	kefu__work_order__pack(o, buf);
	c = kefu__work_order__unpack(NULL, n, buf);
	free(buf);
	assert_non_null(c);
	return c;
}

static bool listed(const char **v, size_t n, const char *action)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], action) == 0)
			return true;
	return false;
}

/* What wo_allowed offers each actor is exactly what wo_step takes from it
 * (a note and a group given), in each state an order goes through. */
static void test_allowed_matches_step(void **state)
{
	static const char *const actions[] = {
		"dispatch", "accept", "start", "wait", "resume", "reply", "return", "close",
		"satisfied", "unsatisfied", "reopen", "escalate", "cancel", "note", "reassign"};
	static const char *const path[][2] = {
		{"owner", "dispatch"}, {"handler", "accept"}, {"handler", "wait"},
		{"handler", "resume"}, {"handler", "reply"}, {"owner", "close"},
		{"agent", "satisfied"}, {NULL, NULL}};
	struct fix *f = *state;
	const Kefu__Agent *who[] = {&f->owner, &f->handler, &f->other_handler, &f->agent, &f->sup};
	uint64_t t0 = at(2026, 12, 7, 9, 0), t = t0;
	Kefu__WorkOrder *o = order_new(f, t0, "complaint");
	const char *v[WO_ACTIONS_MAX];
	char why[WO_WHY_MAX];

	for (size_t p = 0;; p++) {
		for (size_t w = 0; w < sizeof(who) / sizeof(who[0]); w++) {
			struct wo_actor a = as(who[w]);
			size_t n = wo_allowed(&a, o, v, WO_ACTIONS_MAX);

			for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++) {
				Kefu__WorkOrder *c = order_copy(o);
				int err = step(f, c, who[w], actions[k], t + MIN, "说明", why);

				if ((err == 0) != listed(v, n, actions[k]))
					fail_msg("%s by %s in %s: listed %d, step %d (%s)", actions[k],
						 who[w]->id, o->state, listed(v, n, actions[k]), err,
						 why);
				wo_order_free(c);
			}
		}
		if (!path[p][0])
			break;
		t += 10 * MIN;
		step_ok(f, o, strcmp(path[p][0], "owner") == 0     ? &f->owner
			      : strcmp(path[p][0], "handler") == 0 ? &f->handler
								   : &f->agent,
			path[p][1], t, "说明");
	}
	assert_string_equal(o->state, "closed");
	/* the owner of a new order dispatches or cancels it, never accepts it */
	{
		struct wo_actor a = as(&f->owner);
		Kefu__WorkOrder *n = order_new(f, t0, "fault");
		size_t k = wo_allowed(&a, n, v, WO_ACTIONS_MAX);

		assert_true(listed(v, k, "dispatch") && listed(v, k, "cancel") &&
			    !listed(v, k, "accept"));
		wo_order_free(n);
	}
	wo_order_free(o);
}

/* Weekly hours with lunch, a weekend, a holiday and a make-up day. */
#define HOURS "mon-fri 08:30-12:00 13:30-18:00"

static void test_calendar_deadlines(void **state)
{
	struct fix *f = *state;
	Kefu__WorkOrder *o;

	free(f->s.calendar);
	settings(f, HOURS, "2026-12-07 closed\n2026-12-12 workday\n");
	/* Friday 17:00 + 2h: 1h on Friday, 1h after the weekend; Monday is a
	 * holiday, so Tuesday 09:30. */
	o = order_new(f, at(2026, 12, 4, 17, 0), "complaint");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, at(2026, 12, 8, 9, 30));
	recomputes(f, o);
	wo_order_free(o);
	/* Friday 12-11 17:00 + 2h: the make-up Saturday opens at 08:30. */
	o = order_new(f, at(2026, 12, 11, 17, 0), "complaint");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, at(2026, 12, 12, 9, 30));
	wo_order_free(o);
	/* A target of 30 minutes at 11:50 spans lunch: 13:50. */
	f->s.target_ms[WO_CONSULT][WO_FIRST_RESPONSE] = 30 * MIN;
	o = order_new(f, at(2026, 12, 8, 11, 50), "consult");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->target_ms, 30 * MIN);
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, at(2026, 12, 8, 13, 50));
	/* ...and its 80% level (24 minutes) at 13:44 */
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->next_level, 80);
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->next_ms, at(2026, 12, 8, 13, 44));
	wo_order_free(o);
	/* Urgent halves it; a VIP's tier factor shortens it further. */
	f->s.tier_factor[4] = 500;
	{
		Kefu__OrderCreate rq = KEFU__ORDER_CREATE__INIT;
		struct wo_actor a = as(&f->owner);

		rq.msisdn = "1";
		rq.kind = "complaint";
		rq.category = "话费";
		rq.urgency = "urgent";
		o = wo_order_new(&rq, "SC20261208000002", "a01", &a, at(2026, 12, 8, 9, 0));
		o->has_vip_level = 1;
		o->vip_level = 4;
		wo_clocks_set(o, &f->s);
		assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->target_ms, 30 * MIN);
		assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, at(2026, 12, 8, 9, 30));
		wo_order_free(o);
	}
}

static void test_pause_before_first_response(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = at(2026, 12, 8, 9, 0);
	Kefu__WorkOrder *o = order_new(f, t0, "fault");
	const Kefu__OrderClock *fr;

	step_ok(f, o, &f->owner, "dispatch", t0 + MIN, NULL);
	step_ok(f, o, &f->handler, "wait", t0 + 10 * MIN, "请客户提供故障时间");
	fr = o->clocks[WO_FIRST_RESPONSE];
	assert_true(fr->paused);
	assert_int_equal(fr->due_ms, 0);
	assert_int_equal(fr->next_ms, 0);
	assert_int_equal(fr->used_ms, 10 * MIN);
	/* the customer answers three hours later: 1h50 left from then */
	step_ok(f, o, &f->owner, "resume", t0 + 3 * HOUR, NULL);
	assert_string_equal(o->state, "dispatched");
	fr = o->clocks[WO_FIRST_RESPONSE];
	assert_false(fr->paused);
	assert_int_equal(fr->due_ms, t0 + 3 * HOUR + 110 * MIN);
	/* the solution clock paused as long */
	assert_int_equal(o->clocks[WO_SOLUTION]->due_ms, t0 + 3 * HOUR + 110 * MIN);
	wo_order_free(o);
}

static void test_reopened_after_close(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = at(2026, 12, 8, 9, 0);
	Kefu__WorkOrder *o = order_new(f, t0, "complaint");

	step_ok(f, o, &f->owner, "dispatch", t0 + MIN, NULL);
	step_ok(f, o, &f->handler, "accept", t0 + 2 * MIN, NULL);
	step_ok(f, o, &f->handler, "reply", t0 + HOUR, "已处理");
	step_ok(f, o, &f->owner, "close", t0 + 2 * HOUR, NULL);
	step_ok(f, o, &f->agent, "satisfied", t0 + 3 * HOUR, NULL);
	assert_int_equal(o->clocks[WO_SOLUTION]->met_ms, t0 + HOUR);
	/* the customer calls again: a new period of the solution clock */
	step_ok(f, o, &f->owner, "reopen", t0 + 24 * HOUR, "客户仍被多扣费");
	assert_string_equal(o->state, "reopened");
	assert_int_equal(o->reopens, 1);
	assert_int_equal(o->clocks[WO_SOLUTION]->cycle, 1);
	assert_int_equal(o->clocks[WO_SOLUTION]->met_ms, 0);
	assert_int_equal(o->clocks[WO_SOLUTION]->due_ms, t0 + 26 * HOUR);
	/* the first response stays met */
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->met_ms, t0 + 2 * MIN);
	/* an unsatisfied visit reopens too */
	step_ok(f, o, &f->owner, "dispatch", t0 + 25 * HOUR, NULL);
	step_ok(f, o, &f->handler, "accept", t0 + 25 * HOUR, NULL);
	step_ok(f, o, &f->handler, "reply", t0 + 26 * HOUR, "再次处理");
	step_ok(f, o, &f->owner, "close", t0 + 27 * HOUR, NULL);
	step_ok(f, o, &f->agent, "unsatisfied", t0 + 28 * HOUR, "仍不满意");
	assert_int_equal(o->clocks[WO_SOLUTION]->cycle, 2);
	assert_string_equal(o->satisfaction, "unsatisfied");
	wo_order_free(o);
}

static void test_due_in_holiday(void **state)
{
	struct fix *f = *state;
	Kefu__WorkOrder *o;

	free(f->s.calendar);
	settings(f, HOURS, "2026-10-01 closed\n2026-10-02 closed\n2026-10-05 closed\n"
			   "2026-10-06 closed\n2026-10-07 closed\n2026-10-08 closed\n"
			   "2026-10-10 workday\n");
	/* Wednesday 09-30 17:00 + 2h: one hour that day; the deadline would
	 * fall on the holiday of 10-01, which is closed like the rest of the
	 * National Day week and the weekend: Friday 10-09 09:30. */
	o = order_new(f, at(2026, 9, 30, 17, 0), "complaint");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->due_ms, at(2026, 10, 9, 9, 30));
	recomputes(f, o);
	wo_order_free(o);
}

static void test_escalation_once(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = at(2026, 12, 8, 9, 0);
	const Kefu__OrderEscalation *e;
	Kefu__WorkOrder *o;

	for (int k = 0; k < WO_KINDS; k++)
		f->s.target_ms[k][WO_FIRST_RESPONSE] = 10000;
	o = order_new(f, t0, "complaint");
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->next_ms, t0 + 8000);
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 7999, "n1", &e), 0);
	assert_null(e);
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 8000, "n1", &e), 0);
	assert_non_null(e);
	assert_int_equal(e->level, 80);
	assert_string_equal(e->action, "lead");
	assert_int_equal(e->due_ms, t0 + 8000);
	recomputes(f, o);
	/* fired: the same moment again fires nothing */
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 8000, "n1", &e), 0);
	assert_null(e);
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->next_level, 100);
	/* late (a leader that died): each level still once, in order */
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 60000, "n2", &e), 0);
	assert_int_equal(e->level, 100);
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 60000, "n2", &e), 0);
	assert_int_equal(e->level, 150);
	assert_string_equal(o->kind, "escalated");
	assert_string_equal(o->first_kind, "complaint");
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 60000, "n2", &e), 0);
	assert_null(e);
	assert_int_equal(o->n_escalations, 3);
	assert_int_equal(o->clocks[WO_FIRST_RESPONSE]->next_level, 0);
	assert_string_equal(o->history[o->n_history - 1]->action, "upgrade");
	assert_string_equal(o->history[o->n_history - 1]->by, "system");
	recomputes(f, o);
	/* a met clock escalates no more */
	step_ok(f, o, &f->owner, "dispatch", t0 + 61000, NULL);
	step_ok(f, o, &f->handler, "accept", t0 + 62000, NULL);
	assert_int_equal(wo_escalate(o, &f->s, "first_response", t0 + 999999, "n2", &e), 0);
	assert_null(e);
	wo_order_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reassign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowed_matches_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calendar_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_before_first_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopened_after_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_due_in_holiday, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalation_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
