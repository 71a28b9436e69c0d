/*
 * A change of the dialing tables, as the leader makes it: the account of
 * who asks read (supervisor or not), the kind's own check and ops, its
 * audit entry, all in one logged transaction (leader_run); the kind's
 * completion answers. Campaigns and the do-not-call list share it.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "node/leader.h"
#include "storage/accounts.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void change_free(struct dialing__change *c)
{
	struct dialing *d = c->d;

	c->free_rq(c);
	batch_free(c->b);
	free(c);
	dialing__unref(d);
}

static int change_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct dialing__change *c = arg;
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	Kefu__Agent *acc = NULL;
	int err;

	batch_reset(c->b);
	c->why[0] = '\0';
	c->detail[0] = '\0';
	c->lead = c->admin;
	if (!c->admin) {
		if ((err = accounts_get(t, c->actor, &acc)) == KF_ENOTFOUND)
			return dialing__refuse(c, KF_ESTATE, "%s has no agent account", c->actor);
		if (err)
			return err;
		c->lead = accounts_is_supervisor(acc);
		kefu__agent__free_unpacked(acc, NULL);
	}
	if ((err = c->body(t, c)))
		return err;
	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = c->now_ms;
	ae.seq = c->seq;
	ae.node = c->d->self;
	ae.agent = c->actor;
	ae.action = (char *)c->action;
	ae.subject = c->subject;
	ae.detail = c->detail;
	if (!(err = audit_append(c->b, &ae, c->why, sizeof(c->why))))
		err = log_append_batch(t, epoch, c->b, 0, false, c->d->self, NULL);
	return err;
}

static void change_done(void *arg, int err, uint64_t index)
{
	struct dialing__change *c = arg;

	if (err && c->why[0])
		msg_ref_error(&c->ref, err, c->why);
	else if (err)
		msg_ref_error(&c->ref, err,
			      err == KF_ESTATE ? "leadership changed before the change was "
						 "acknowledged; it may or may not be applied"
					       : kf_strerror(err));
	else
		c->done(c, index);
	change_free(c);
}

void dialing__change_run(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e,
			 const struct actor *who, struct dialing__change *c)
{
	int err;

	c->d = d;
	c->ref = msg_ref_of(p, e->request_id);
	snprintf(c->actor, sizeof(c->actor), "%s", who->name);
	c->admin = who->admin;
	c->now_ms = loop_wall_ms();
	c->seq = leader_audit_next(d->leader);
	c->b = batch_new(0);
	d->inflight++;
	if ((err = leader_run(d->leader, change_body, c, change_done, c))) {
		msg_ref_error(&c->ref, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		change_free(c);
	}
}
