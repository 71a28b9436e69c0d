/*
 * What the files of node/dialing/ share (see dialing.h):
 *
 *   component.c   init, stop, the rows
 *   change.c      a change checked and written by the leader, with its audit entry
 *   campaigns.c   campaigns made, started, paused, resumed, stopped (checked
 *                 and written by the leader; contacts frozen), shown, listed
 *   dnc.c         the do-not-call list: changes checked and written by the
 *                 leader (forwarded by a follower), listings from the replica
 */
#ifndef KEFU_NODE_DIALING_INT_H
#define KEFU_NODE_DIALING_INT_H

#include "lib/err.h"
#include "node/actor.h"
#include "node/component.h"
#include "storage/audit.h"
#include "storage/batch.h"

#include <stdbool.h>

struct dialing {
	struct repl_storage *sto;
	struct leader *leader;
	char self[64];
	unsigned inflight;  /* writes on their way */
	bool dead;          /* stopped; freed by the last write's completion */
};

void dialing__release(struct dialing *d);

/*
 * A change the leader checks and writes (change.c). The kind fills body
 * (on the writer thread: check against t, ops into c->b, the audit's
 * subject and detail; it may run more than once), done (on the loop, the
 * answer after the write) and free_rq, and sets action and subject;
 * dialing__change_run does the rest and frees c.
 */
struct dialing__change {
	struct dialing *d;
	struct msg_ref ref;
	char actor[AUDIT_AGENT_MAX + 1];
	bool admin;
	bool lead;                 /* an admin or a supervisor (set before body runs) */
	uint64_t now_ms, seq;
	struct batch *b;
	char why[200];             /* a refusal's reason */
	const char *action;        /* the audit entry's */
	char subject[64];
	char detail[AUDIT_DETAIL_MAX + 1];
	int (*body)(struct store_txn *t, struct dialing__change *c);
	void (*done)(struct dialing__change *c, uint64_t index);
	void (*free_rq)(struct dialing__change *c);
	void *rq;                  /* the kind's owned copy of the request */
};
void dialing__change_run(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e,
			 const struct actor *who, struct dialing__change *c);

/* dialing__refuse - code, with why filled for the answer's Error. */
#define dialing__refuse(c, code, ...) (kf_why((c)->why, sizeof((c)->why), __VA_ARGS__), (code))

/* campaigns.c */
void dialing__on_campaign_create(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_campaign_action(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_campaign_show(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_campaign_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* dnc.c */
void dialing__on_dnc_change(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dnc_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);

#endif
