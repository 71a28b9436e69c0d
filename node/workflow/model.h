/*
 * The work order's rules (docs/workflow.md): the transition table with the
 * roles allowed to take each transition, and the three clocks computed from
 * an order's history. Pure: no clock is read, nothing is stored; the leader
 * applies a step with wo_step and every node can compute the clocks again
 * with wo_clocks and get the same answer.
 */
#ifndef KEFU_NODE_WORKFLOW_MODEL_H
#define KEFU_NODE_WORKFLOW_MODEL_H

#include "node/workflow/conf.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The roles an actor holds toward one order; a transition lists the ones
 * that may take it. */
enum {
	WO_R_OWNER = 1u << 0,      /* the order's first-contact agent */
	WO_R_HANDLER = 1u << 1,    /* an account of role handler in the order's group */
	WO_R_SUPERVISOR = 1u << 2, /* an account of role supervisor */
	WO_R_ADMIN = 1u << 3,      /* an operator's certificate (kefuctl) */
	WO_R_SYSTEM = 1u << 4,     /* the leader's escalation timer */
	WO_R_AGENT = 1u << 5,      /* any logged-in account (return visits) */
};

/* Who asks: the account as the leader's replica has it (NULL for an admin
 * or the system). */
struct wo_actor {
	const char *id;           /* agent id, admin certificate name, "system" */
	const Kefu__Agent *account;
	bool admin, system;
};

/* wo_roles - the roles of actor toward o (WO_R_* or-ed). */
unsigned wo_roles(const struct wo_actor *a, const Kefu__WorkOrder *o);

/* wo_role_name - the name of the highest role in roles ("owner", "handler", ...). */
const char *wo_role_name(unsigned roles);

/* wo_state_valid - one of the states of the table. */
bool wo_state_valid(const char *state);

/* wo_action_valid - one of the actions of the table (or "note"). */
bool wo_action_valid(const char *action);

/* The most actions wo_allowed may give: the table's distinct actions. */
#define WO_ACTIONS_MAX 16

/*
 * wo_allowed - the actions actor's roles toward o allow from o's state, in
 * the table's order, each once, into out[] (static strings, at most cap);
 * returns their number. What wo_step would refuse whatever the request
 * carries (a state, a role); not what depends on it (a note, a group).
 */
size_t wo_allowed(const struct wo_actor *actor, const Kefu__WorkOrder *o, const char **out,
		  size_t cap);

/*
 * The inputs of a step besides the order: its time, the actor, the note and
 * (dispatch) the group the rules or the dispatcher chose; for a close, the
 * return visit's decision (the caller reads the customer's last visit).
 */
struct wo_step_in {
	const char *action;
	const char *note;
	const char *group;        /* dispatch: the group it goes to */
	const char *owner;        /* reassign: the new owner (checked by the caller) */
	uint64_t now_ms;
	struct wo_actor actor;
	bool visit;               /* close: schedule a return visit (else closed at once) */
	const char *no_visit_why; /* close without a visit: why, into the step's note */
};

/*
 * wo_step - apply one transition (or a note) to o in place: the table's
 * check (the action from o's state, the actor's roles), the state, the
 * history step, the group, handler and visit fields, then the clocks
 * (wo_clocks). What it adds to o is copied with malloc: o must come from
 * kefu__work_order__unpack (default allocator) or wo_order_new, and is
 * freed with wo_order_free.
 * Returns 0, KF_ESTATE (the transition is not in the table from o's state,
 * or not allowed for the actor's roles; why names both), KF_EPARSE (a note
 * missing where the table requires one, a bad group), KF_ETOOBIG (history full).
 */
int wo_step(Kefu__WorkOrder *o, const struct wo_settings *s, const struct wo_step_in *in,
	    char *why, size_t cap);

/*
 * wo_clocks - the three clocks of o computed from its history, kind,
 * urgency, tier, group and fired escalations under settings s, into out[]
 * (name pointing to static text). Pure.
 */
void wo_clocks(const Kefu__WorkOrder *o, const struct wo_settings *s,
	       Kefu__OrderClock out[WO_CLOCKS]);

/* wo_clocks_set - o's stored clocks replaced by wo_clocks's. */
void wo_clocks_set(Kefu__WorkOrder *o, const struct wo_settings *s);

/* wo_clocks_equal - a and b agree on due, met, paused and the next level;
 * the first difference described in why. */
bool wo_clocks_equal(const Kefu__OrderClock *a, const Kefu__OrderClock *b, char *why, size_t cap);

/*
 * wo_escalate - fire the next escalation level of clock (by name) of o at
 * now_ms when it is due (next_ms <= now_ms): the escalation recorded, a
 * system step in the history, the kind turned to "escalated" for an upgrade
 * of a complaint, the clocks again. *fired the escalation added (NULL when
 * nothing was due: the index was older than the order). Returns 0,
 * KF_ETOOBIG (history full).
 */
int wo_escalate(Kefu__WorkOrder *o, const struct wo_settings *s, const char *clock,
		uint64_t now_ms, const char *node, const Kefu__OrderEscalation **fired);

/*
 * wo_order_new - a new order made of the create request rq: state "new",
 * the create step by actor at now_ms. The caller sets the subscriber's
 * fields (user_id, cust_id, vip_level, city) afterwards, then the clocks
 * with wo_clocks_set. Free with wo_order_free.
 */
Kefu__WorkOrder *wo_order_new(const Kefu__OrderCreate *rq, const char *id, const char *owner,
			      const struct wo_actor *actor, uint64_t now_ms);

/* wo_set - replace the string *field of an order with a copy of v. */
void wo_set(char **field, const char *v);

/* wo_order_free - an order of wo_order_new or kefu__work_order__unpack
 * after wo_step; NULL is fine. */
void wo_order_free(Kefu__WorkOrder *o);

/* wo_streq - a and b are both set and equal. */
static inline bool wo_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* wo_strdup - strdup that aborts on no memory; NULL stays NULL. */
char *wo_strdup(const char *s);

#endif
