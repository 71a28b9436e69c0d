/*
 * The routing's settings: the tiers (IVR plan, head start, service level,
 * overflow ladder, maximum wait), each skill queue's selection strategy and
 * the timers of offers, wrap-up, logins and lost gateways. They are rows of
 * kefud's configuration (node/config.c); routing_settings_from checks them
 * and turns them into what the routing component (node/routing/) reads.
 * docs/routing.md has the meaning of each.
 */
#ifndef KEFU_NODE_ROUTING_CONF_H
#define KEFU_NODE_ROUTING_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * X(name, vip_level, plan, greeting, head start, service level, ladder,
 *   maximum wait, at the maximum, menu) - the tiers by vip_level, with their
 * defaults as they would be written in the configuration. No tier has a
 * menu by default: its calls are queued at once.
 */
#define ROUTING_TIERS(X)                                                                     \
	X(ordinary, 0, "full-menu", "false", "0s", "60s", "general:0s,billing:2m", "15m",    \
	  "voicemail", "")                                                                   \
	X(silver, 1, "full-menu", "false", "30s", "30s", "general:0s,billing:90s", "15m",    \
	  "voicemail", "")                                                                   \
	X(gold, 2, "vip-menu", "false", "60s", "20s", "billing:0s,general:30s", "10m",       \
	  "callback", "")                                                                    \
	X(platinum, 3, "vip-direct", "true", "90s", "15s", "vip:0s,billing:30s,general:60s", \
	  "5m", "callback", "")                                                              \
	X(diamond, 4, "vip-direct", "true", "2m", "10s", "vip:0s,billing:20s,general:40s",   \
	  "5m", "callback", "")

/* X(skill, default strategy) - the skill queues. */
#define ROUTING_SKILLS(X)                      \
	X(vip, "longest-idle-agent")           \
	X(billing, "agent-with-fewest-calls")  \
	X(general, "longest-idle-agent")

#define ROUTING_NTIERS 5
#define ROUTING_NSKILLS 3
#define ROUTING_LADDER_MAX 4
#define ROUTING_PLAN_MAX 32      /* bytes of an IVR plan name, NUL included */
#define ROUTING_LADDER_TEXT 128  /* bytes of a ladder as written */
#define ROUTING_NAME_MAX 32      /* bytes of a strategy, skill or state name */
#define ROUTING_MENU_MAX 12      /* choices of a tier's IVR menu (0-9, * and #) */
#define ROUTING_MENU_TEXT 160    /* bytes of a menu as written */

struct routing_tier {
	unsigned level;                  /* vip_level */
	const char *name;                /* "ordinary" ... "diamond" */
	char plan[ROUTING_PLAN_MAX];     /* IVR plan returned to the gateway */
	bool greeting;                   /* greet the caller by name */
	uint64_t weight_ms;              /* head start in the queue */
	uint64_t sl_ms;                  /* answered within this counts for the service level */
	struct {
		uint64_t after_ms;
		const char *skill;       /* one of routing_skill_names */
	} ladder[ROUTING_LADDER_MAX];    /* skills the call may be served by after after_ms */
	size_t nladder;                  /* 1..ROUTING_LADDER_MAX, the first after 0 */
	uint64_t max_wait_ms;            /* then: */
	const char *at_max;              /* "callback" or "voicemail" */
	struct {
		char digit;              /* 0-9, * or # */
		const char *skill;       /* one of routing_skill_names */
	} menu[ROUTING_MENU_MAX];        /* the IVR menu: a key chooses the queue */
	size_t nmenu;                    /* 0: no menu, the call is queued at once */
};

struct routing_settings {
	struct routing_tier tiers[ROUTING_NTIERS];         /* by vip_level */
	const char *strategy[ROUTING_NSKILLS];             /* by skill, as routing_skill_names */
	uint64_t offer_ms;          /* an agent answers an offer within this */
	uint64_t ring_step_ms;      /* ring-progressively: one more agent rung this often */
	const char *no_answer;      /* "not_ready" or "ready": the agent after an unanswered offer */
	uint64_t wrap_ms;           /* wrap-up after a call */
	uint64_t lost_grace_ms;     /* a gateway gone this long without GatewayResume: its calls end */
	uint64_t lock_after;        /* failed logins in a row that lock an account */
	uint64_t lock_ms;           /* for this long */
	uint64_t busy_at;           /* Redis steps in flight from which a new call is refused */
	uint64_t session_max_ms;    /* an agent session's absolute lifetime */
	uint64_t stats_iv_ms;       /* interval statistics (node/ops): calls and agents carry it; 0 = off */
	uint64_t menu_ms;           /* a tier with a menu: the call waits this long for the choice */
};

/* The skill queues' names, in ROUTING_SKILLS order, then NULL. */
extern const char *const routing_skill_names[ROUTING_NSKILLS + 1];
/* routing_skill_named - the entry of routing_skill_names spelled as the n
 * bytes at s; NULL when none is. */
const char *routing_skill_named(const char *s, size_t n);

/* routing_strategy_known - whether name is one of the selection strategies
 * the routing scripts implement (node/routing/lua/prelude.lua). */
bool routing_strategy_known(const char *name);

/* The selection strategies, NULL-terminated (docs and tests). */
extern const char *const routing_strategies[];

struct config;

/*
 * routing_settings_from - check the routing rows of c and fill out (which
 * keeps no pointer into c: its texts are the program's own). On KF_ECONFIG, why says
 * which option and what is wrong with it.
 */
int routing_settings_from(const struct config *c, struct routing_settings *out, char *why,
			  size_t cap);

#endif
