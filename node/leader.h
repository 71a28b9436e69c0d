/*
 * Writes through the leader, as a service of the node.
 *
 * Every durable change a node's services and components make is a batch
 * (storage/batch.h) submitted here. On the serving leader it goes into the
 * replicated log at once (cluster/repl.h); on a follower it travels to the
 * leader as a Write over one shared link, re-dialled when the leader
 * changes. Either way the completion runs once, from the loop, when the
 * write is acknowledged by the synchronous standbys or has failed.
 *
 * The same link forwards clients' requests that only the leader can serve
 * (leader_forward): the leader's answer goes back to the peer that asked.
 *
 * When the leader changes, calls still waiting on the old link fail with
 * KF_ESTATE ("it may or may not be applied") instead of hanging.
 * Everything runs on the node's loop.
 */
#ifndef KEFU_NODE_LEADER_H
#define KEFU_NODE_LEADER_H

#include "cluster/election.h"
#include "cluster/repl.h"
#include "cluster/rpc.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "node/msg.h"
#include "storage/batch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct leader;

struct leader_opts {
	struct loop *loop;
	const char *self;            /* this node's name; copied */
	struct repl *repl;           /* must outlive the service */
	struct election *election;   /* must outlive the service */
	struct tls_ctx *client_tls;  /* to dial the leader; must outlive the service */
	size_t max_frame;
};

/* leader_new - 0 and *out, or -EINVAL (an option missing). Free with leader_free. */
int leader_new(const struct leader_opts *o, struct leader **out);

/* leader_free - closes the link; writes still waiting complete with
 * KF_ECANCELED first. NULL is fine. */
void leader_free(struct leader *l);

/* leader_is_local - this node is the serving leader: writes go straight in. */
bool leader_is_local(const struct leader *l);

/* The completion of a write: err 0 and the log index it was appended at,
 * or the error (KF_ESTATE: leadership changed before the acknowledgment;
 * the write may or may not be applied). */
typedef void (*leader_done_fn)(void *arg, int err, uint64_t index);

/*
 * leader_submit - write the ops of b (copied; b may be freed at return) as
 * one batch of origin this node. Returns 0 (done will run once, never
 * before this returns), KF_ESTATE (no leader reachable now), KF_ETOOBIG,
 * or an error of batch_pack; then done will not run.
 */
int leader_submit(struct leader *l, const struct batch *b, leader_done_fn done, void *arg);

/* leader_submit_packed - the same for a packed kefu.WriteBatch (copied). */
int leader_submit_packed(struct leader *l, const uint8_t *packed, size_t len, leader_done_fn done,
			 void *arg);

/*
 * leader_ask - send e (its request_id is overwritten, and it is marked
 * forwarded) to the leader on the shared link, for a change the leader checks and writes itself; done as
 * for leader_submit, with the index of the WriteReply it answers, or the
 * code of its Error. Returns 0 (done will run), KF_ESTATE (this node leads
 * or no leader is reachable now), KF_ETOOBIG.
 */
int leader_ask(struct leader *l, Kefu__Envelope *e, leader_done_fn done, void *arg);

/*
 * leader_run - on the serving leader only: run body inside the transaction
 * that appends to the log (cluster/repl.h repl_run_logged), for a short
 * change whose check and write must be one step (an account change against
 * the stored account, a work order's transition). Such changes share
 * transactions and fsyncs (group commit): body may run more than once and
 * must start afresh each time (storage/writer.h); a refusal it returns
 * fails its own change only. done as for leader_submit. Returns 0 (done
 * will run), KF_ESTATE (not the serving leader: forward the request),
 * KF_ETOOBIG.
 */
int leader_run(struct leader *l, repl_logged_body_fn body, void *arg, leader_done_fn done,
	       void *done_arg);

/*
 * leader_audit - one audit entry (this node's name, the wall time and its
 * numbering; agent, action, subject, detail as storage/audit.h bounds them;
 * copied) through leader_submit. Returns as leader_submit, or KF_EPARSE (a
 * field out of bounds).
 */
int leader_audit(struct leader *l, const char *agent, const char *action, const char *subject,
		 const char *detail, leader_done_fn done, void *arg);

/* leader_audit_next - the next number of this node's audit entries, for a
 * service that builds its entries inside a logged transaction. */
uint64_t leader_audit_next(struct leader *l);

/*
 * leader_forward - send e, from peer p, to the leader, marked forwarded;
 * its answer (or an Error) goes back to p under e's request id. via NULL
 * takes the shared link; a long upload passes a link of its own
 * (leader_dial). A request already marked forwarded is refused ("not the
 * leader"): nothing is forwarded twice.
 */
void leader_forward(struct leader *l, struct msg_peer *p, const Kefu__Envelope *e,
		    struct rpc *via);

/*
 * leader_dial - a new link of the caller's own to the current leader, into
 * *out. Returns 0, or (*out NULL) KF_ESTATE (this node leads, or no
 * leader's address is known) or the error of rpc_new. Close it with
 * leader_close_link.
 */
int leader_dial(struct leader *l, struct rpc **out);

/* leader_close_link - free a link of leader_dial; requests forwarded on it
 * and not answered yet fail. NULL is fine. */
void leader_close_link(struct leader *l, struct rpc *via);

/* leader_on_election - the leader changed: re-dial, fail what waited. */
void leader_on_election(struct leader *l);

/* leader_hint - the leader's advertised address, "" when unknown. */
const char *leader_hint(const struct leader *l);

#endif
