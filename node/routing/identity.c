/*
 * Bills: the caller's bills and CDRs, shown only for a call the node
 * verified (by caller id or an ID check, verify.c) and only once the
 * access is in the audit log (written through the leader, node/leader.h).
 * See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "storage/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The CDRs of user_id in the months of the bill view, newest first: this
 * month (local time) and the months - 1 before it. An error leaves cd empty:
 * the bills are shown without them. */
static void cdrs_get(struct routing *r, const char *user_id, size_t months,
		     struct custdb_cdrs *cd)
{
	char now[8], from[7];
	time_t secs = time(NULL);
	struct store_txn *t;
	struct tm tm;
	int err;

	memset(cd, 0, sizeof(*cd));
	if (!localtime_r(&secs, &tm) || strftime(now, sizeof(now), "%Y%m", &tm) != 6 ||
	    custdb_months_back(now, months ? (unsigned)months - 1 : 0, from) ||
	    store_read_begin(r->sto->store, &t))
		return;
	err = custdb_list_cdrs(t, user_id, from, NULL, CUSTDB_MAX_CDRS, cd);
	store_abort(t);
	if (err)
		log_warn(LOG_ROUTING, "CDRs not read user=%s error=\"%s\"", user_id,
			 kf_strerror(err));
}

/* Bills, step 3: the access is in the audit log; show the bills and CDRs. */
static void on_bills_audited(void *arg, int err, uint64_t index)
{
	struct op *o = arg;
	struct routing *r = o->r;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__BillsReply br = KEFU__BILLS_REPLY__INIT;
	struct custdb_profile p;
	struct custdb_cdrs cd;

	(void)index;
	if (!routing__audited(r, o, err,
			      "the access could not be written to the audit log; no bills shown"))
		goto out;
	if (routing__profile_get(r, o->text, o->n, &p) != 0) {
		routing__error(r, o->conn, o->request_id, KF_ENOTFOUND, "no such subscriber");
		goto out;
	}
	cdrs_get(r, p.user->user_id, o->n, &cd);
	br.n_bills = p.nbill;
	br.bills = p.bill;
	br.n_cdrs = cd.n;
	br.cdrs = cd.cdr;
	e.body_case = KEFU__ENVELOPE__BODY_BILLS_REPLY;
	e.bills_reply = &br;
	routing__send(r, o->conn, &e, o->request_id);
	custdb_profile_release(&p);
	custdb_cdrs_release(&cd);
out:
	free(o);
	routing__unpend(r);
}

bool routing__audited(struct routing *r, const struct op *o, int err, const char *msg)
{
	r->pending--;
	if (r->dead)
		return false;
	if (err) {
		routing__error(r, o->conn, o->request_id, err, msg);
		return false;
	}
	return true;
}

void routing__audit(struct routing *r, const char *who, const char *action, const char *subject,
		    const char *detail, leader_done_fn done, struct op *o)
{
	int err;

	r->pending++;
	err = leader_audit(r->leader, who, action, subject, detail, done, o);
	if (err) {
		r->pending--;
		routing__error(r, o->conn, o->request_id, err, "the audit log cannot be written now");
		free(o);
	}
}

/* Bills, step 2: how the call was verified, if it was. */
static void on_verified_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char detail[AUDIT_DETAIL_MAX + 1];
	struct op *next;

	if (err) {
		routing__error(r, o->conn, o->request_id, err, "routing state unavailable; retry");
		return;
	}
	if (rep->type != REDIS_TYPE_STRING || !routing__verified_is_known(rep->str)) {
		routing__error(r, o->conn, o->request_id, KF_ESTATE,
			       "identity not verified: bills and CDRs need a verified caller");
		return;
	}
	snprintf(detail, sizeof(detail), "call=%s months=%llu verified=%s", o->call,
		 (unsigned long long)o->n, rep->str);
	next = routing__op_new(r, NULL, o->conn, o->request_id);
	routing__copy(next->text, sizeof(next->text), o->text);
	next->n = o->n;
	routing__audit(r, o->agent, "view_bills", o->text, detail, on_bills_audited, next);
}

void routing__on_bills_request(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const Kefu__BillsRequest *br = e->bills_request;
	struct ragent *a;
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HGET", k, "verified"};
	struct op *o;

	if (!routing__conn_get(r, p, e->request_id) ||
	    !(a = routing__agent_on(r, p, br->call_id, e->request_id)))
		return;
	o = routing__op_new(r, on_verified_read, msg_peer_id(p), e->request_id);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__copy(o->call, sizeof(o->call), a->call);
	routing__copy(o->text, sizeof(o->text), a->ani);
	o->n = br->has_months && br->months ? (br->months > 24 ? 24 : br->months) : 3;
	hot_key(r->hot, k, sizeof(k), "call:", a->call);
	routing__command(r, 3, argv, o);
}
