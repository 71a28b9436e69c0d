/*
 * What the files of node/workflow/ share (see workflow.h): the component's
 * state and the `workflow__` functions between its files.
 *
 *   component.c   init (settings, timezone), stop, the rows, the timers
 *   orders.c      create, transition, update: checked and written by the
 *                 leader in one step (leader_run), forwarded by a follower
 *   read.c        show, list, categories, check: the local replica, every
 *                 read audited first
 *   escalate.c    the leader's timer over the deadline index
 *   notices.c     escalation notices to the sessions on this node
 */
#ifndef KEFU_NODE_WORKFLOW_INT_H
#define KEFU_NODE_WORKFLOW_INT_H

#include "node/actor.h"
#include "node/component.h"
#include "node/workflow/conf.h"
#include "node/workflow/model.h"

#include "storage/workorder.h"

#include <stdbool.h>
#include <stdint.h>

#define WORKFLOW_TICK_MS 200          /* the escalation timer and notice delivery */
#define WORKFLOW_DUE_BATCH 64         /* escalations fired per transaction */
#define WORKFLOW_NOTICE_KEEP_MS (24 * 3600 * 1000ull) /* notices are kept a day */
#define WORKFLOW_NOTICE_LOOKBACK_MS 10000 /* a notice applied late is still delivered */
#define WORKFLOW_SEEN_MAX 1024       /* more than one escalation round fires */

struct workflow {
	struct loop *loop;
	struct repl_storage *sto;
	struct leader *leader;
	struct msg_hub *hub;
	struct wo_settings set;
	char self[64];
	unsigned inflight;         /* writes on their way; stop waits for none: they own their copies */
	bool firing;               /* an escalation round is being written */
	bool dead;                 /* stopped; freed by the last write's completion */
	uint64_t last_prune_ms;
	/* The last id given to a create made ahead (orders.c): its date and
	 * the day's sequence, so that creates made on one snapshot differ. */
	char ahead_date[9];
	uint64_t ahead_seq;
	/* Notices delivered (their keys), the last WORKFLOW_SEEN_MAX of them. */
	uint64_t notice_from_ms;
	char seen[WORKFLOW_SEEN_MAX][WO_ID_MAX + 40];
	unsigned nseen;
};

/* The time a step is written at, and the local date of the order ids. */
uint64_t workflow__now_ms(void);

/* orders.c: the write rows. */
void workflow__on_create(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void workflow__on_transition(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void workflow__on_update(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* read.c: the read rows. */
void workflow__on_show(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void workflow__on_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void workflow__on_categories(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void workflow__on_check(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* escalate.c: the leader's round (on the tick). */
void workflow__escalate_tick(struct workflow *w);

/* notices.c: notices to this node's sessions (on the tick). */
void workflow__notices_tick(struct workflow *w);


/* workflow__release - free w once nothing refers to it. */
void workflow__release(struct workflow *w);

#endif
