/*
 * The live board: the center as it is now, cluster-wide, as the routing
 * component last read it from Redis (calls waiting per tier and per skill
 * with the longest wait, every logged-in agent's state). The node owns one
 * board (struct node_ctx's board); the routing component writes it, the
 * operations component (the wallboard) and /metrics read it. This keeps
 * the readers apart from the routing component's headers.
 *
 * Reading it costs Redis work, so it is refreshed only while wanted: a
 * reader calls board_want (at most every second), and the writer refreshes
 * about every second while now < wanted_until_ms. at_ms says how old what
 * is there is; 0 means never filled (no Redis, or nobody wanted it yet).
 * Everything runs on the node's loop: no locking.
 */
#ifndef KEFU_NODE_BOARD_H
#define KEFU_NODE_BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_QUEUES_MAX 16   /* tiers or skills */
#define BOARD_NAME_MAX 32     /* bytes of a tier, skill, state or reason, NUL included */
#define BOARD_AGENT_ID_MAX 33 /* bytes of an agent id, NUL included */
#define BOARD_WANT_MS 10000   /* a board_want keeps it refreshed this long */

/* Calls waiting in one tier (name: its vip_level, "0".."4") or skill queue. */
struct board_queue {
	char name[BOARD_NAME_MAX];
	uint32_t waiting;         /* calls queued (not offered) */
	uint64_t oldest_ms;       /* arrival of the longest-waiting of them; 0 when none */
};

/* One agent that is not logged out. */
struct board_agent {
	char id[BOARD_AGENT_ID_MAX];
	char state[BOARD_NAME_MAX];   /* ready, reserved, on_call, wrap_up, not_ready */
	char reason[BOARD_NAME_MAX];  /* of not_ready; "" otherwise */
	uint64_t state_ms;            /* in this state since; 0 when unknown */
	uint64_t calls;               /* answered since its account began (Redis's count) */
	char skills[128];             /* "skill:level,..." */
};

struct board {
	uint64_t at_ms;               /* wall time of the reading; 0 = none yet */
	uint64_t version;             /* +1 at every reading that changed something */
	uint64_t wanted_until_ms;     /* refresh while the wall clock is before this */
	struct board_queue tiers[BOARD_QUEUES_MAX];
	size_t ntiers;
	struct board_queue skills[BOARD_QUEUES_MAX];
	size_t nskills;
	struct board_agent *agents;   /* malloc'd, nagents of them, ordered by id */
	size_t nagents;
};

/* board_new - an empty board (never NULL: aborts when out of memory). */
struct board *board_new(void);

/* board_free - NULL is fine. */
void board_free(struct board *b);

/* board_want - a reader wants the board kept fresh from now_ms on. */
void board_want(struct board *b, uint64_t now_ms);

/*
 * board_set - the writer's new reading replaces the board's (tiers, skills
 * and agents copied from next, whose at_ms, version and wanted_until_ms
 * are ignored); version goes up when anything but the time differs,
 * found by comparing bytes: the writer zero-fills its entries (calloc or
 * memset) before it writes their strings.
 */
void board_set(struct board *b, const struct board *next, uint64_t now_ms);

#endif
