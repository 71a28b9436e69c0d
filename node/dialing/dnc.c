/*
 * The do-not-call list (docs/dialing.md): a number added by an admin or a
 * supervisor (the company's list) or by an agent during a call (the
 * customer's own opt-out), removed by an admin or a supervisor. The leader
 * checks a change against the stored list and writes it, with its audit
 * entry, in one logged transaction; a follower forwards it.
 */
#include "node/dialing/dialing_int.h"

#include "lib/err.h"
#include "lib/loop.h"
#include "node/leader.h"
#include "proto/frame.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/dial.h"
#include "storage/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 1000

struct job {
	struct dialing *d;
	struct msg_ref ref;
	Kefu__DncChange *rq;         /* an owned copy */
	char actor[AUDIT_AGENT_MAX + 1];
	bool admin;
	uint64_t now_ms, seq;
	struct batch *b;
	char why[160];
};

static void job_free(struct job *j)
{
	struct dialing *d = j->d;

	kefu__dnc_change__free_unpacked(j->rq, NULL);
	batch_free(j->b);
	free(j);
	d->inflight--;
	if (d->dead && d->inflight == 0)
		dialing__release(d);
}

/* refuse - code, with why filled for the completion's Error. */
#define refuse(j, code, ...) (kf_why((j)->why, sizeof((j)->why), __VA_ARGS__), (code))

static int body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct job *j = arg;
	const Kefu__DncChange *rq = j->rq;
	Kefu__DncEntry en = KEFU__DNC_ENTRY__INIT, *had = NULL;
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	Kefu__Agent *acc = NULL;
	bool lead = j->admin;
	char detail[DIAL_REASON_MAX + 32];
	int err;

	batch_reset(j->b);
	j->why[0] = '\0';
	if (!j->admin) {
		if ((err = accounts_get(t, j->actor, &acc)) == KF_ENOTFOUND)
			return refuse(j, KF_ESTATE, "%s has no agent account", j->actor);
		if (err)
			return err;
		lead = accounts_is_supervisor(acc);
		kefu__agent__free_unpacked(acc, NULL);
	}
	en.msisdn = rq->msisdn;
	en.source = rq->source && *rq->source ? rq->source : "company";
	en.reason = rq->reason ? rq->reason : "";
	en.by = j->actor;
	en.has_added_ms = 1;
	en.added_ms = j->now_ms;
	if ((!rq->add || strcmp(en.source, "company") == 0) && !lead)
		return refuse(j, KF_ESTATE, "only a supervisor or an admin %s the company's list; "
			      "an agent adds a customer's own opt-out (source customer)",
			      rq->add ? "adds to" : "removes from");
	if ((err = dial_dnc_check(&en, j->why, sizeof(j->why))))
		return err;
	err = dial_dnc_get(t, rq->msisdn, &had);
	if (err && err != KF_ENOTFOUND)
		return err;
	if (!rq->add && err == KF_ENOTFOUND)
		return refuse(j, KF_ENOTFOUND, "%s is not on the do-not-call list", rq->msisdn);
	if (had)
		kefu__dnc_entry__free_unpacked(had, NULL);
	err = rq->add ? dial_dnc_put(j->b, &en) : dial_dnc_del(j->b, rq->msisdn);
	snprintf(detail, sizeof(detail), "%s source=%s %s", rq->add ? "add" : "remove", en.source,
		 en.reason);
	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = j->now_ms;
	ae.seq = j->seq;
	ae.node = j->d->self;
	ae.agent = j->actor;
	ae.action = "dnc_change";
	ae.subject = rq->msisdn;
	ae.detail = detail;
	if (!err)
		err = audit_append(j->b, &ae, j->why, sizeof(j->why));
	if (!err)
		err = log_append_batch(t, epoch, j->b, 0, false, j->d->self, NULL);
	return err;
}

static void on_written(void *arg, int err, uint64_t index)
{
	struct job *j = arg;
	char msg[96];

	(void)index;
	if (!err) {
		snprintf(msg, sizeof(msg), "%s %s the do-not-call list", j->rq->msisdn,
			 j->rq->add ? "is on" : "is off");
		msg_ref_ack(&j->ref, true, msg);
	} else {
		msg_ref_error(&j->ref, err, j->why[0] ? j->why : kf_strerror(err));
	}
	job_free(j);
}

void dialing__on_dnc_change(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct dialing *d = state;
	Kefu__DncChange *rq = e->dnc_change;
	struct actor who;
	struct job *j;
	int err;

	if (!dial_msisdn_is_valid(rq->msisdn)) {
		msg_error(p, e->request_id, KF_EPARSE, "the number is 5 to 20 digits");
		return;
	}
	if (!actor_route(d->leader, p, e, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
			 "do-not-call changes", &who))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->d = d;
	j->ref = msg_ref_of(p, e->request_id);
	j->rq = proto_copy(&rq->base, NULL);
	snprintf(j->actor, sizeof(j->actor), "%s", who.name);
	j->admin = who.admin;
	j->now_ms = loop_wall_ms();
	j->seq = leader_audit_next(d->leader);
	j->b = batch_new(0);
	d->inflight++;
	if ((err = leader_run(d->leader, body, j, on_written, j))) {
		msg_ref_error(&j->ref, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		job_free(j);
	}
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
