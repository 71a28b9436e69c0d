/*
 * What the files of node/dialing/ share (see dialing.h):
 *
 *   component.c   init, stop, the rows
 *   dnc.c         the do-not-call list: changes checked and written by the
 *                 leader (forwarded by a follower), listings from the replica
 */
#ifndef KEFU_NODE_DIALING_INT_H
#define KEFU_NODE_DIALING_INT_H

#include "node/actor.h"
#include "node/component.h"

#include <stdbool.h>

struct dialing {
	struct repl_storage *sto;
	struct leader *leader;
	char self[64];
	unsigned inflight;  /* writes on their way */
	bool dead;          /* stopped; freed by the last write's completion */
};

void dialing__release(struct dialing *d);

/* dnc.c */
void dialing__on_dnc_change(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dnc_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);

#endif
