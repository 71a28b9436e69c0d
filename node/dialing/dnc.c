/*
 * The do-not-call list (docs/dialing.md): a number added by an admin or a
 * supervisor (the company's list) or by an agent during a call (the
 * customer's own opt-out), removed by an admin or a supervisor. The leader
 * checks a change against the stored list and writes it, with its audit
 * entry, in one logged transaction; a follower forwards it.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "proto/frame.h"
#include "storage/dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 1000

static int dnc_body(struct store_txn *t, struct dialing__change *c)
{
	const Kefu__DncChange *rq = c->rq;
	Kefu__DncEntry en = KEFU__DNC_ENTRY__INIT, *had = NULL;
	int err;

	en.msisdn = rq->msisdn;
	en.source = rq->source && *rq->source ? rq->source : "company";
	en.reason = rq->reason ? rq->reason : "";
	en.by = c->actor;
	en.has_added_ms = 1;
	en.added_ms = c->now_ms;
	if ((!rq->add || strcmp(en.source, "company") == 0) && !c->lead)
		return dialing__refuse(c, KF_ESTATE, "only a supervisor or an admin %s the company's "
				       "list; an agent adds a customer's own opt-out (source "
				       "customer)", rq->add ? "adds to" : "removes from");
	if ((err = dial_dnc_check(&en, c->why, sizeof(c->why))))
		return err;
	err = dial_dnc_get(t, rq->msisdn, &had);
	if (err && err != KF_ENOTFOUND)
		return err;
	if (!rq->add && err == KF_ENOTFOUND)
		return dialing__refuse(c, KF_ENOTFOUND, "%s is not on the do-not-call list",
				       rq->msisdn);
	if (had)
		kefu__dnc_entry__free_unpacked(had, NULL);
	snprintf(c->detail, sizeof(c->detail), "%s source=%s %s", rq->add ? "add" : "remove",
		 en.source, en.reason);
	return rq->add ? dial_dnc_put(c->b, &en) : dial_dnc_del(c->b, rq->msisdn);
}

static void dnc_done(struct dialing__change *c, uint64_t index)
{
	const Kefu__DncChange *rq = c->rq;
	char msg[96];

	(void)index;
	snprintf(msg, sizeof(msg), "%s %s the do-not-call list", rq->msisdn,
		 rq->add ? "is on" : "is off");
	msg_ref_ack(&c->ref, true, msg);
}

static void dnc_free(struct dialing__change *c)
{
	kefu__dnc_change__free_unpacked(c->rq, NULL);
}

void dialing__on_dnc_change(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	Kefu__DncChange *rq = e->dnc_change;
	struct dialing__change *c;
	struct actor who;

	if (!dial_msisdn_is_valid(rq->msisdn)) {
		msg_error(p, e->request_id, KF_EPARSE, "the number is 5 to 20 digits");
		return;
	}
	if (!actor_route(d->leader, p, e, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
			 "do-not-call changes", &who))
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->rq = proto_copy(&rq->base, NULL);
	c->body = dnc_body;
	c->done = dnc_done;
	c->free_rq = dnc_free;
	c->action = "dnc_change";
	snprintf(c->subject, sizeof(c->subject), "%s", rq->msisdn);
	dialing__change_run(d, p, e, &who, c);
}

struct page {
	Kefu__DncEntry **e;
	size_t n;
	uint8_t next[DIAL_CURSOR_MAX];
	size_t nlen;
};

static int keep(void *arg, const Kefu__DncEntry *e)
{
	struct page *pg = arg;

	pg->e[pg->n++] = proto_copy(&e->base, NULL);
	pg->nlen = dial_dnc_cursor(e, pg->next);
	return 0;
}

void dialing__on_dnc_list(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	const Kefu__DncList *rq = e->dnc_list;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__DncListReply rep = KEFU__DNC_LIST_REPLY__INIT;
	size_t limit = rq->limit && rq->limit < LIST_PAGE ? rq->limit : LIST_PAGE;
	struct page pg = {0};
	struct store_txn *t;
	int err;

	pg.e = calloc(limit, sizeof(*pg.e));
	if (!pg.e)
		abort();
	err = store_read_begin(d->sto->store, &t);
	if (!err) {
		err = dial_dnc_list(t, rq->has_after ? rq->after.data : NULL, rq->after.len, limit,
				    keep, &pg);
		store_abort(t);
	}
	if (err) {
		msg_error(p, e->request_id, err, kf_strerror(err));
	} else {
		rep.entries = pg.e;
		rep.n_entries = pg.n;
		if (pg.n == limit) {
			rep.has_next = 1;
			rep.next = (ProtobufCBinaryData){pg.nlen, pg.next};
		}
		out.body_case = KEFU__ENVELOPE__BODY_DNC_LIST_REPLY;
		out.dnc_list_reply = &rep;
		msg_send(p, &out, e->request_id);
	}
	for (size_t i = 0; i < pg.n; i++)
		kefu__dnc_entry__free_unpacked(pg.e[i], NULL);
	free(pg.e);
}
