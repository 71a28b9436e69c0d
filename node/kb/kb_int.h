/*
 * What the files of node/kb/ share (see kb.h):
 *
 *   component.c   init, stop, the rows, the metrics
 *   write.c       new articles and versions, submit / approve / reject /
 *                 archive, views and feedback: checked and written by the
 *                 leader in one step (leader_run), forwarded by a follower
 *   read.c        search, show, hot, the editors' queue: the local replica
 */
#ifndef KEFU_NODE_KB_INT_H
#define KEFU_NODE_KB_INT_H

#include "node/actor.h"
#include "node/component.h"
#include "lib/hist.h"
#include "storage/kb.h"

#include <stdbool.h>
#include <stdint.h>

#define KB_VIEW_QUIET_MS (10 * 60 * 1000ull) /* repeat views by one agent count once */
#define KB_SEEN_MAX 4096                     /* (agent, article) views remembered */
#define KB_WRITE_MAX 1000                    /* articles of one KbWrite */
#define KB_USED_WEIGHT 3.0                   /* a "used in reply" counts as three views */
#define KB_HOT_MAX 100

struct kb_seen {
	uint64_t article;
	uint64_t at_ms;
	char agent[MSG_SESSION_MAX + 1];
};

/* Searches answered by this node, for /metrics. */
struct kb_counts {
	uint64_t hits, empty, refused;  /* searches with results, without, refused */
	struct hist latency_us;         /* of the searches answered */
};

struct kb {
	struct loop *loop;
	struct metrics *metrics;
	struct kb_counts counts;
	struct repl_storage *sto;
	struct leader *leader;
	char self[64];
	unsigned inflight;  /* writes on their way; they own copies of their requests */
	bool dead;          /* stopped; freed by the last write's completion */
	/* Views counted lately, on the leader (a ring: the oldest is replaced). */
	struct kb_seen seen[KB_SEEN_MAX];
	unsigned seen_next;
};

uint64_t kb__now_ms(void);
void kb__release(struct kb *k);

struct metrics_out;

/* component.c: /metrics */
void kb__metrics(void *arg, struct metrics_out *o);

/* write.c */
void kb__on_write(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void kb__on_action(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void kb__on_view(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void kb__on_feedback(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* read.c */
void kb__on_search(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void kb__on_show(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void kb__on_hot(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void kb__on_queue(void *state, struct msg_peer *p, const Kefu__Envelope *e);

#endif
