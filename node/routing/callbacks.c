/*
 * Callback requests (storage/callback.h), the outbound dialer's work list:
 * one recorded through the leader when a call reaches its maximum wait
 * with "callback" to follow, and CallbackList, the pending ones paged from
 * the local replica (node/page.h). See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "node/page.h"
#include "storage/batch.h"
#include "storage/callback.h"

#include <stdio.h>
#include <stdlib.h>

static void on_callback_recorded(void *arg, int err, uint64_t index)
{
	struct op *o = arg;
	struct routing *r = o->r;

	(void)index;
	r->pending--;
	if (err)
		log_warn(LOG_ROUTING, "callback request not recorded call=%s error=\"%s\"", o->call,
			 kf_strerror(err));
	free(o);
	routing__unpend(r);
}

/*
 * The request of call c written through the leader: its id is the call's
 * key, its node this one and its time now; the subscriber is the one the
 * local replica names for the caller's number, if any. One request per
 * call: the local replica says whether the call has one already
 * (KF_EEXISTS, nothing written). Returns 0 (done(arg) will run), or the
 * refusal (it will not): KF_EEXISTS, KF_EPARSE, KF_ESTATE, KF_ETOOBIG,
 * KF_ESTORE.
 */
static int callback_request(struct routing *r, const struct rcall *c, leader_done_fn done,
			    void *arg)
{
	Kefu__CallbackRequest rq = KEFU__CALLBACK_REQUEST__INIT;
	char uid[CALLBACK_TEXT_MAX + 1];
	struct custdb_profile p;
	struct store_txn *t;
	struct batch *b;
	int err;

	uid[0] = '\0';
	if (routing__profile_get(r, c->ani, 0, &p) == 0) {
		routing__copy(uid, sizeof(uid), p.user->user_id);
		custdb_profile_release(&p);
	}
	rq.id = (char *)c->key;
	rq.gateway = (char *)c->gateway;
	rq.call_id = (char *)c->ext;
	rq.ani = (char *)c->ani;
	rq.user_id = uid[0] ? uid : NULL;
	rq.has_vip_level = 1;
	rq.vip_level = c->tier->level;
	/* the queue it waited in last */
	rq.skill = c->nskills ? (char *)c->skills[c->nskills - 1] : NULL;
	rq.service = (char *)c->service;
	rq.node = r->self;
	rq.has_requested_ms = 1;
	rq.requested_ms = loop_wall_ms();
	if ((err = store_read_begin(r->sto->store, &t)))
		return err;
	b = batch_new(16 * 1024);
	err = callback_add(t, &rq, b, NULL, 0);
	store_abort(t);
	if (!err)
		err = leader_submit(r->leader, b, done, arg);
	batch_free(b);
	return err;
}

void routing__callback_record(struct routing *r, const struct rcall *c)
{
	struct op *rec = routing__op_new(r, NULL, 0, 0);
	int err;

	routing__copy(rec->call, sizeof(rec->call), c->key);
	r->pending++;
	err = callback_request(r, c, on_callback_recorded, rec);
	if (err) {
		r->pending--;
		free(rec);
		if (err != KF_EEXISTS)
			log_warn(LOG_ROUTING, "callback request not recorded call=%s error=\"%s\"",
				 c->key, kf_strerror(err));
	}
}

static int callback_page_visit(void *arg, const Kefu__CallbackRequest *rq)
{
	return page_take(arg, &rq->base);
}

static int callback_page_list(struct store_txn *t, const Kefu__Envelope *e, struct page *p)
{
	const Kefu__CallbackListRequest *rq = e->callback_list;

	return callback_list_pending(t, rq->has_after ? rq->after.data : NULL,
				     rq->has_after ? rq->after.len : 0,
				     rq->has_limit ? rq->limit : 0, callback_page_visit, p);
}

void routing__on_callback_list(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__CallbackListReply rep = KEFU__CALLBACK_LIST_REPLY__INIT;
	uint8_t next[CALLBACK_CURSOR_MAX];
	struct page pg;

	if (page_fill(p, e, r->sto, callback_page_list, &pg) == 0) {
		rep.n_requests = pg.n;
		rep.requests = (Kefu__CallbackRequest **)pg.v;
		if (pg.more && pg.n) {
			rep.next.len = callback_cursor(rep.requests[pg.n - 1], next);
			rep.next.data = next;
			rep.has_next = rep.next.len > 0;
		}
		out.body_case = KEFU__ENVELOPE__BODY_CALLBACK_LIST_REPLY;
		out.callback_list_reply = &rep;
		msg_send(p, &out, e->request_id);
	}
	page_release(&pg);
}
