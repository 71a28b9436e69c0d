/*
 * Order changes: create, transition, update. A follower forwards the
 * request to the leader with the actor it vouches for; the leader checks
 * and writes in one step inside its logging transaction (leader_run), so
 * two changes of one order can never both pass against the same state.
 * A change is first made on the leader's loop against a read snapshot
 * (made_ahead); the writer then only checks that what it was made from
 * still holds (made_still: the stored form, the order and the accounts
 * byte for byte; for a create, that its id and its client_ref are still
 * free and the subscriber's profile gives the same) and logs the ops, or
 * else makes the change again in its transaction. The single writer
 * thread, which every write of the cluster waits for, so spends about
 * half the time on an order change (docs/workflow.md). See workflow_int.h.
 */
#include "node/workflow/workflow_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "proto/frame.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/custdb.h"
#include "storage/format.h"
#include "storage/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum job_kind { J_CREATE, J_TRANSITION, J_UPDATE };

struct job {
	struct workflow *w;
	struct msg_ref ref;
	enum job_kind kind;
	Kefu__OrderCreate *create;      /* owned copies of the request */
	Kefu__OrderTransition *tr;
	Kefu__OrderUpdate *up;
	char actor[AUDIT_AGENT_MAX + 1];
	bool admin;
	uint64_t now_ms, seq;
	uint64_t form;                  /* the stored form the change was made in */
	struct batch *b;
	/* written by the body, read by the completion */
	char why[WO_WHY_MAX];
	char id[WO_ID_MAX + 1];
	uint8_t *reply;                 /* the order after the change, packed */
	size_t reply_len;
	/* made ahead on a snapshot (made_ahead): the batch and the reply hold
	 * while the stored order and account are these bytes */
	bool made;
	uint8_t *had_order, *had_acc, *had_owner;
	size_t had_order_len, had_acc_len, had_owner_len;
	struct profile_use *prof;       /* a create's: what the profile gave */
};

/* What a create takes from the subscriber's profile (NULL: nothing). */
struct profile_use {
	char *user_id, *cust_id, *city;
	bool has_vip;
	uint32_t vip;
};

static void profile_use_free(struct profile_use *u)
{
	if (!u)
		return;
	free(u->user_id);
	free(u->cust_id);
	free(u->city);
	free(u);
}

/* The profile of msisdn as a create uses it; an msisdn that is no
 * subscriber of ours (or a profile that cannot be read) gives nothing. */
static struct profile_use *profile_use_read(struct store_txn *t, const char *msisdn)
{
	struct profile_use *u = calloc(1, sizeof(*u));
	struct custdb_profile p;
	char city[WO_TEXT_MAX + 1];

	if (!u)
		abort();
	memset(&p, 0, sizeof(p));
	if (custdb_lookup_msisdn(t, msisdn, 0, 0, &p) == 0) {
		u->user_id = wo_strdup(p.user->user_id);
		u->cust_id = wo_strdup(p.user->cust_id);
		if (p.cust) {
			u->has_vip = true;
			u->vip = p.cust->vip_level;
			custdb_city(p.cust->address, city, sizeof(city));
			u->city = city[0] ? wo_strdup(city) : NULL;
		}
	}
	custdb_profile_release(&p);
	return u;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool profile_use_same(const struct profile_use *a, const struct profile_use *b)
{
	return same_str(a->user_id, b->user_id) && same_str(a->cust_id, b->cust_id) &&
	       same_str(a->city, b->city) && a->has_vip == b->has_vip && a->vip == b->vip;
}

static void job_free(struct job *j)
{
	struct workflow *w = j->w;

	if (j->create)
		kefu__order_create__free_unpacked(j->create, NULL);
	if (j->tr)
		kefu__order_transition__free_unpacked(j->tr, NULL);
	if (j->up)
		kefu__order_update__free_unpacked(j->up, NULL);
	batch_free(j->b);
	free(j->reply);
	free(j->had_order);
	free(j->had_acc);
	free(j->had_owner);
	profile_use_free(j->prof);
	free(j);
	w->inflight--;
	if (w->dead && w->inflight == 0)
		workflow__release(w);
}

/* ---- the body, on the leader's writer thread ---- */

__attribute__((format(printf, 3, 4)))
static int refuse(struct job *j, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	return code;
}

/* The audit entry of a change, in the change's batch. */
static int audit_change(struct job *j, const char *action, const char *subject,
			const char *detail)
{
	Kefu__AuditEntry ae = KEFU__AUDIT_ENTRY__INIT;
	char act[AUDIT_ACTION_MAX + 1], det[AUDIT_DETAIL_MAX + 1];
	size_t n = strlen(detail);

	snprintf(act, sizeof(act), "order_%s", action);
	/* A detail too long is cut before a character, never inside one. */
	if (n > AUDIT_DETAIL_MAX) {
		n = AUDIT_DETAIL_MAX;
		while (n > 0 && ((unsigned char)detail[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(det, detail, n);
	det[n] = '\0';
	ae.has_time_ms = ae.has_seq = 1;
	ae.time_ms = j->now_ms;
	ae.seq = j->seq;
	ae.node = j->w->self;
	ae.agent = j->actor;
	ae.action = act;
	ae.subject = (char *)subject;
	ae.detail = det;
	return audit_append(j->b, &ae, j->why, sizeof(j->why));
}

/* The order's local date, for its id: YYYYMMDD in the leader's timezone. */
static void local_date(uint64_t ms, char out[9])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&s, &tm);
	snprintf(out, 9, "%04u%02u%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

static bool digits(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n >= min && n <= max && strspn(s, "0123456789") == n;
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static int check_attachments(struct job *j, Kefu__OrderAttachment *const *a, size_t n,
			     uint32_t had)
{
	if (had + n > WO_ATTACH_MAX)
		return refuse(j, KF_ETOOBIG, "an order keeps at most %d attachments (it has %u)",
			      WO_ATTACH_MAX, had);
	for (size_t i = 0; i < n; i++) {
		if (!wo_attach_name_ok(a[i]->name))
			return refuse(j, KF_EPARSE, "attachment name \"%s\" is not a plain file "
				      "name", a[i]->name ? a[i]->name : "");
		if (a[i]->data.len > WO_ATTACH_BYTES)
			return refuse(j, KF_ETOOBIG, "attachment %s is over 48 KiB", a[i]->name);
	}
	return 0;
}

/* An order's owner (on a create or a reassign) must be an enabled agent. */
static int owner_enabled(struct store_txn *t, struct job *j, const char *want)
{
	Kefu__Agent *o = NULL;
	int err = accounts_get(t, want, &o);

	if (err == KF_ENOTFOUND || (err == 0 && o->has_enabled && !o->enabled)) {
		if (o)
			kefu__agent__free_unpacked(o, NULL);
		return refuse(j, KF_ENOTFOUND, "the owner %s is no enabled agent", want);
	}
	if (err)
		return err;
	kefu__agent__free_unpacked(o, NULL);
	return 0;
}

/* The owner an order is created for: the agent itself, or one an admin or
 * a supervisor names. */
static int create_owner(struct store_txn *t, struct job *j, const Kefu__Agent *acc,
			char out[AUDIT_AGENT_MAX + 1])
{
	const char *want = j->create->owner && *j->create->owner ? j->create->owner : NULL;
	int err;

	if (!want && j->admin)
		return refuse(j, KF_EPARSE, "an admin's create names the owner (--owner AGENT)");
	if (!want)
		want = j->actor;
	if (!j->admin && strcmp(want, j->actor) != 0 && !accounts_is_supervisor(acc))
		return refuse(j, KF_ESTATE, "only a supervisor or an admin creates an order for "
			      "another agent (%s asked for %s)", j->actor, want);
	if ((err = owner_enabled(t, j, want)))
		return err;
	snprintf(out, AUDIT_AGENT_MAX + 1, "%s", want);
	return 0;
}

/*
 * The id of a create made ahead: the snapshot's next id of the day, or past
 * the last one given ahead, which the writer may not have written yet.
 * Only in stored form 2 up to the day's 999,999th order, where the next id
 * needs no "q" key: else the writer numbers it (KF_ESTATE).
 */
static int id_ahead(struct workflow *w, const char *date, uint64_t form, char id[WO_ID_MAX + 1])
{
	uint64_t seq = strtoull(id + 10, NULL, 10);

	if (form < 2)
		return KF_ESTATE;
	if (strcmp(w->ahead_date, date) == 0 && w->ahead_seq >= seq)
		seq = w->ahead_seq + 1;
	if (seq > 999999)
		return KF_ESTATE;
	snprintf(id + 10, WO_ID_MAX + 1 - 10, "%06" PRIu64, seq);
	snprintf(w->ahead_date, sizeof(w->ahead_date), "%s", date);
	w->ahead_seq = seq;
	return 0;
}

/* ahead: made on the loop's snapshot (made_ahead), numbered by id_ahead. */
static int create_body(struct store_txn *t, struct job *j, const struct wo_actor *a,
		       uint64_t form, bool ahead, Kefu__WorkOrder **out)
{
	static const char *const channels[] = {"phone", "web", "sms", "email", "letter", "walk-in"};
	const Kefu__OrderCreate *rq = j->create;
	const struct wo_settings *s = &j->w->set;
	char owner[AUDIT_AGENT_MAX + 1], date[9];
	struct profile_use *u;
	Kefu__WorkOrder *o;
	int kind, err;

	if (wo_by_ref(t, form, rq->msisdn, rq->client_ref, j->now_ms, j->id) == 0)
		return KF_EEXISTS; /* a retry: answered with the order it made */
	if ((kind = wo_kind_by_name(rq->kind)) < 0)
		return refuse(j, KF_EPARSE, "kind \"%s\" is none of complaint, fault, request, "
			      "consult, suggestion, escalated, appeal",
			      rq->kind ? rq->kind : "");
	if (!rq->category || !wo_category_valid(s, (enum wo_kind)kind, rq->category))
		return refuse(j, KF_EPARSE, "category \"%s\" is not in the tree of %s "
			      "(kefuctl order categories)", rq->category ? rq->category : "", rq->kind);
	if (!digits(rq->msisdn, 5, 20))
		return refuse(j, KF_EPARSE, "msisdn \"%s\" is not a number of 5 to 20 digits",
			      rq->msisdn ? rq->msisdn : "");
	if (rq->urgency && *rq->urgency && strcmp(rq->urgency, "normal") &&
	    strcmp(rq->urgency, "urgent"))
		return refuse(j, KF_EPARSE, "urgency \"%s\" is normal or urgent", rq->urgency);
	if (rq->channel && *rq->channel && !one_of(rq->channel, channels, 6))
		return refuse(j, KF_EPARSE, "channel \"%s\" is none of phone, web, sms, email, "
			      "letter, walk-in", rq->channel);
	if (!rq->description || !*rq->description ||
	    !audit_text_is_valid(rq->description, WO_DESC_MAX) ||
	    (rq->call_id && !audit_text_is_valid(rq->call_id, WO_TEXT_MAX)))
		return refuse(j, KF_EPARSE, "the description is required: text without control "
			      "characters, at most %d bytes", WO_DESC_MAX);
	if ((err = check_attachments(j, rq->attachments, rq->n_attachments, 0)))
		return err;
	if ((err = create_owner(t, j, a->account, owner)))
		return err;
	local_date(j->now_ms, date);
	if ((err = wo_next_id(t, s->province, date, form, j->b, j->id)))
		return err;
	if (ahead && (err = id_ahead(j->w, date, form, j->id)))
		return err;
	o = wo_order_new(rq, j->id, owner, a, j->now_ms);
	u = profile_use_read(t, rq->msisdn);
	if (u->user_id)
		wo_set(&o->user_id, u->user_id);
	if (u->cust_id)
		wo_set(&o->cust_id, u->cust_id);
	o->has_vip_level = u->has_vip;
	o->vip_level = u->vip;
	if (u->city)
		wo_set(&o->city, u->city);
	profile_use_free(j->prof);
	j->prof = u;
	wo_clocks_set(o, s);
	for (size_t i = 0; i < rq->n_attachments && !err; i++)
		err = wo_attach_put(j->id, (unsigned)i, rq->attachments[i], j->b);
	*out = o;
	return err;
}

/* A close: the return visit, unless the kind has none or the customer had
 * one within wo_visit_quiet. */
static int visit_decision(struct store_txn *t, struct job *j, const Kefu__WorkOrder *o,
			  struct wo_step_in *in, char *why, size_t cap)
{
	const struct wo_settings *s = &j->w->set;
	int kind = wo_kind_by_name(o->first_kind ? o->first_kind : o->kind);
	/* One visit per customer: all of a customer's numbers count as one;
	 * a caller who is no subscriber of ours is counted by number. */
	char who[WO_TEXT_MAX + 8];
	uint64_t last = 0;
	int err;

	if (o->cust_id && *o->cust_id)
		snprintf(who, sizeof(who), "cust:%s", o->cust_id);
	else
		snprintf(who, sizeof(who), "%s", o->msisdn ? o->msisdn : "");
	in->visit = true;
	if (kind >= 0 && wo_visit_excluded(s, (enum wo_kind)kind)) {
		snprintf(why, cap, "kind %s has none (wo_visit_exclude)", o->first_kind);
		in->visit = false;
	} else if ((err = wo_last_visit(t, who, &last))) {
		return err;
	} else if (last && j->now_ms < last + (uint64_t)s->visit_quiet_ms) {
		snprintf(why, cap, "the customer had one %llu h ago (wo_visit_quiet)",
			 (unsigned long long)((j->now_ms - last) / 3600000));
		in->visit = false;
	}
	in->no_visit_why = why;
	return in->visit ? wo_visit_mark(who, j->now_ms, j->b) : 0;
}

static int transition_body(struct store_txn *t, struct job *j, const struct wo_actor *a,
			   Kefu__WorkOrder *o)
{
	const Kefu__OrderTransition *rq = j->tr;
	struct wo_step_in in = {.action = rq->action, .note = rq->note, .now_ms = j->now_ms,
				.actor = *a};
	char group[WO_TEXT_MAX + 1], nowhy[160];
	int kind = wo_kind_by_name(o->kind);
	int err;

	if (rq->action && strcmp(rq->action, "dispatch") == 0) {
		snprintf(group, sizeof(group), "%s",
			 rq->group && *rq->group ? rq->group
			 : wo_dispatch_group(&j->w->set, kind < 0 ? WO_COMPLAINT : (enum wo_kind)kind,
					     o->category, o->city ? o->city : ""));
		in.group = group;
	}
	if (rq->action && strcmp(rq->action, "close") == 0 && o->state &&
	    strcmp(o->state, "replied") == 0 &&
	    (err = visit_decision(t, j, o, &in, nowhy, sizeof(nowhy))))
		return err;
	in.owner = rq->owner;
	if ((err = wo_step(o, &j->w->set, &in, j->why, sizeof(j->why))))
		return err;
	/* After the table's check: who may not reassign learns that first. */
	return rq->action && strcmp(rq->action, "reassign") == 0 ? owner_enabled(t, j, rq->owner)
								 : 0;
}

static int update_body(struct job *j, const struct wo_actor *a, Kefu__WorkOrder *o)
{
	const Kefu__OrderUpdate *rq = j->up;
	struct wo_step_in in = {.action = "note", .note = rq->note, .now_ms = j->now_ms,
				.actor = *a};
	char note[WO_DESC_MAX + 1];
	uint32_t had = o->attachments;
	int err;

	if ((err = check_attachments(j, rq->attachments, rq->n_attachments, had)))
		return err;
	if ((!rq->note || !*rq->note) && rq->n_attachments) {
		snprintf(note, sizeof(note), "attachment %s added", rq->attachments[0]->name);
		in.note = note;
	}
	if ((err = wo_step(o, &j->w->set, &in, j->why, sizeof(j->why))))
		return err;
	for (size_t i = 0; i < rq->n_attachments && !err; i++)
		err = wo_attach_put(o->id, had + (unsigned)i, rq->attachments[i], j->b);
	o->has_attachments = 1;
	o->attachments = had + (uint32_t)rq->n_attachments;
	return err;
}

/* The new owner of a reassigned order is told on whatever node they are
 * logged in (notices.c): a notice of action "reassign", clock "owner",
 * level the step's number (so a later reassign is a notice of its own). */
static int reassign_notice(struct job *j, const Kefu__WorkOrder *o)
{
	Kefu__OrderEscalation e = KEFU__ORDER_ESCALATION__INIT;

	e.clock = "owner";
	e.has_level = 1;
	e.level = (uint32_t)o->n_history;
	e.action = "reassign";
	e.has_at_ms = 1;
	e.at_ms = j->now_ms;
	e.id = o->id;
	e.node = (char *)j->w->self;
	return wo_notice_put(&e, j->b);
}

/*
 * job_make - check the change against t and make it into j->b and
 * j->reply; with log, also log and apply it (the writer's transaction).
 * Without, t may be a read snapshot: nothing is written through it.
 */
static int job_make(struct store_txn *t, uint64_t epoch, struct job *j, bool log)
{
	Kefu__Agent *acc = NULL;
	Kefu__WorkOrder *o = NULL;
	struct wo_was *was = NULL;
	struct wo_actor a = {j->actor, NULL, j->admin, false};
	char detail[AUDIT_DETAIL_MAX + 1], from[WO_TEXT_MAX + 1];
	const char *action;
	uint64_t form;
	int err;

	batch_reset(j->b);
	j->why[0] = '\0';
	free(j->reply);
	j->reply = NULL;
	if ((err = store_format_get(t, &form)))
		return err;
	j->form = form;
	if (!j->admin) {
		err = accounts_get(t, j->actor, &acc);
		if (err == KF_ENOTFOUND)
			return refuse(j, KF_ESTATE, "%s has no agent account", j->actor);
		if (err)
			return err;
		a.account = acc;
	}
	if (j->kind == J_CREATE) {
		err = create_body(t, j, &a, form, !log, &o);
		action = "create";
		if (!err)
			snprintf(detail, sizeof(detail), "kind=%s category=%s msisdn=%s owner=%s",
				 o->kind, o->category, o->msisdn, o->owner);
	} else {
		const char *id = j->kind == J_TRANSITION ? j->tr->id : j->up->id;

		snprintf(j->id, sizeof(j->id), "%s", id ? id : "");
		/* One read: the stored index entries are kept, the order changed in place. */
		err = wo_get(t, id, &o);
		if (err == KF_ENOTFOUND)
			err = refuse(j, KF_ENOTFOUND, "no order %s", id ? id : "");
		action = j->kind == J_TRANSITION ? j->tr->action : "update";
		if (!err) {
			was = wo_was_new(o, form);
			snprintf(from, sizeof(from), "%s", o->state ? o->state : "");
			err = j->kind == J_TRANSITION ? transition_body(t, j, &a, o)
						      : update_body(j, &a, o);
			if (!err)
				snprintf(detail, sizeof(detail), "from=%s to=%s%s%s owner=%s", from,
					 o->state, o->group && *o->group ? " group=" : "",
					 o->group ? o->group : "", o->owner ? o->owner : "");
		}
	}
	if (!err)
		err = wo_put_was(was, o, form, j->b);
	if (!err && j->kind == J_TRANSITION && strcmp(action, "reassign") == 0)
		err = reassign_notice(j, o);
	if (!err)
		err = audit_change(j, action, o->id, detail);
	if (!err) {
		j->reply_len = kefu__work_order__get_packed_size(o);
		j->reply = malloc(j->reply_len ? j->reply_len : 1);
		if (!j->reply)
			abort();
		kefu__work_order__pack(o, j->reply);
		if (log)
			err = log_append_batch(t, epoch, j->b, 0, false, j->w->self, NULL);
	}
	if (acc)
		kefu__agent__free_unpacked(acc, NULL);
	wo_was_free(was);
	wo_order_free(o);
	return err;
}

static int job_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	return job_make(t, epoch, arg, true);
}

/* A read of stored bytes, 0 when found: wo_get_packed, accounts_get_packed. */
typedef int (*packed_fn)(struct store_txn *t, const char *id, struct store_val *out);

/* What get finds for id in t is exactly had[0..len). */
static bool still(struct store_txn *t, packed_fn get, const char *id, const uint8_t *had,
		  size_t len)
{
	struct store_val v;

	return get(t, id, &v) == 0 && v.len == len && memcmp(v.data, had, len) == 0;
}

/* The owner a create names, when it is not the actor itself; else NULL. */
static const char *other_owner(const struct job *j)
{
	const char *want = j->create->owner;

	return want && *want && (j->admin || strcmp(want, j->actor) != 0) ? want : NULL;
}

/*
 * What a change made ahead read still holds in t: the stored form, the
 * actor's account, and the order (a change of the same order in between,
 * by another request or an escalation round, shows in its bytes); for a
 * create, the named owner's account, its id and its client_ref still free
 * (another create made on the same snapshot, or a retry, took them), and
 * the same profile of the subscriber.
 */
static bool made_still(struct store_txn *t, struct job *j)
{
	const Kefu__OrderCreate *rq = j->create;
	struct profile_use *u;
	struct store_val v;
	char other[WO_ID_MAX + 1];
	uint64_t form;
	bool same;

	if (store_format_get(t, &form) != 0 || form != j->form ||
	    (!j->admin && !still(t, accounts_get_packed, j->actor, j->had_acc, j->had_acc_len)))
		return false;
	if (j->kind != J_CREATE)
		return still(t, wo_get_packed, j->id, j->had_order, j->had_order_len);
	if ((other_owner(j) &&
	     !still(t, accounts_get_packed, other_owner(j), j->had_owner, j->had_owner_len)) ||
	    wo_get_packed(t, j->id, &v) != KF_ENOTFOUND ||
	    wo_by_ref(t, form, rq->msisdn, rq->client_ref, j->now_ms, other) != KF_ENOTFOUND)
		return false;
	u = profile_use_read(t, rq->msisdn);
	same = j->prof && profile_use_same(u, j->prof);
	profile_use_free(u);
	return same;
}

/* The writer's body of a change made ahead: logged as made while what it
 * was made from holds, else made again here. */
static int made_body(struct store_txn *t, uint64_t epoch, void *arg)
{
	struct job *j = arg;

	if (j->made && made_still(t, j))
		return log_append_batch(t, epoch, j->b, 0, false, j->w->self, NULL);
	j->made = false;
	return job_make(t, epoch, j, true);
}

/* A copy of what get finds for id in t into *out; false when nothing. */
static bool copy_of(struct store_txn *t, packed_fn get, const char *id, uint8_t **out,
		    size_t *len)
{
	struct store_val v;

	if (get(t, id, &v) != 0)
		return false;
	*out = malloc(v.len ? v.len : 1);
	if (!*out)
		abort();
	memcpy(*out, v.data, v.len);
	*len = v.len;
	return true;
}

/*
 * made_ahead - make a change on a snapshot, on the loop. Those that read
 * more than made_still checks (a close reads the customer's last return
 * visit, a reassign the new owner's account) and those the snapshot
 * refuses are left to the writer.
 */
static void made_ahead(struct job *j)
{
	const char *action = j->kind == J_TRANSITION ? j->tr->action : "update";
	bool create = j->kind == J_CREATE;
	struct store_txn *t;

	if (!create && (!action || strcmp(action, "close") == 0 || strcmp(action, "reassign") == 0))
		return;
	if (!create)
		snprintf(j->id, sizeof(j->id), "%s",
			 (j->kind == J_TRANSITION ? j->tr->id : j->up->id) ?: "");
	if (store_read_begin(j->w->sto->store, &t) != 0)
		return;
	if ((create || copy_of(t, wo_get_packed, j->id, &j->had_order, &j->had_order_len)) &&
	    (j->admin || copy_of(t, accounts_get_packed, j->actor, &j->had_acc, &j->had_acc_len)) &&
	    (!create || !other_owner(j) ||
	     copy_of(t, accounts_get_packed, other_owner(j), &j->had_owner, &j->had_owner_len)))
		j->made = job_make(t, 0, j, false) == 0;
	store_abort(t);
}

/* ---- on the loop ---- */

/* The order of a create retried, from the leader's replica. */
static void reply_existing(struct job *j)
{
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__OrderReply rep = KEFU__ORDER_REPLY__INIT;
	Kefu__WorkOrder *o = NULL;
	struct store_txn *t;
	int err = store_read_begin(j->w->sto->store, &t);

	if (!err) {
		err = wo_get(t, j->id, &o);
		store_abort(t);
	}
	if (err) {
		msg_ref_error(&j->ref, err, kf_strerror(err));
		return;
	}
	rep.order = o;
	out.body_case = KEFU__ENVELOPE__BODY_ORDER_REPLY;
	out.order_reply = &rep;
	msg_ref_send(&j->ref, &out);
	wo_order_free(o);
}

static void on_written(void *arg, int err, uint64_t index)
{
	struct job *j = arg;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__OrderReply rep = KEFU__ORDER_REPLY__INIT;

	if (err == 0 && j->reply) {
		rep.order = kefu__work_order__unpack(NULL, j->reply_len, j->reply);
		rep.has_index = 1;
		rep.index = index;
		out.body_case = KEFU__ENVELOPE__BODY_ORDER_REPLY;
		out.order_reply = &rep;
		if (rep.order)
			msg_ref_send(&j->ref, &out);
		else
			msg_ref_error(&j->ref, KF_EINTERNAL, "the order written cannot be shown");
		wo_order_free(rep.order);
	} else if (err == KF_EEXISTS) {
		reply_existing(j);
	} else if (j->why[0]) {
		msg_ref_error(&j->ref, err, j->why);
	} else {
		msg_ref_error(&j->ref, err,
			      err == KF_ESTATE ? "leadership changed before the change was "
						 "acknowledged; it may or may not be applied "
						 "(a create with the same client_ref is safe to send again)"
					       : kf_strerror(err));
	}
	job_free(j);
}

static void job_run(struct workflow *w, struct msg_peer *p, const Kefu__Envelope *e,
		    struct job *j, const struct actor *who)
{
	int err;

	j->w = w;
	j->ref = msg_ref_of(p, e->request_id);
	snprintf(j->actor, sizeof(j->actor), "%s", who->name);
	j->admin = who->admin;
	j->now_ms = workflow__now_ms();
	j->b = batch_new(512 * 1024);
	j->seq = leader_audit_next(w->leader);
	w->inflight++;
	made_ahead(j);
	err = leader_run(w->leader, j->made ? made_body : job_body, j, on_written, j);
	if (err) {
		msg_ref_error(&j->ref, err, err == KF_ESTATE ? "not the leader" : kf_strerror(err));
		job_free(j);
	}
}

/* A change: checked and written here on the leader, else forwarded with
 * the actor this node vouches for (actor_route). */
static void change(struct workflow *w, struct msg_peer *p, const Kefu__Envelope *e,
		   enum job_kind kind, char **actor, protobuf_c_boolean *admin,
		   protobuf_c_boolean *has_admin, const ProtobufCMessage *m)
{
	struct actor who;
	struct job *j;

	if (!actor_route(w->leader, p, e, actor, admin, has_admin, "work orders", &who))
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->kind = kind;
	if (kind == J_CREATE)
		j->create = proto_copy(m, NULL);
	else if (kind == J_TRANSITION)
		j->tr = proto_copy(m, NULL);
	else
		j->up = proto_copy(m, NULL);
	job_run(w, p, e, j, &who);
}

void workflow__on_create(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__OrderCreate *rq = e->order_create;

	if (rq->client_ref && strlen(rq->client_ref) > WO_REF_MAX) {
		msg_error(p, e->request_id, KF_EPARSE, "client_ref is over 64 bytes");
		return;
	}
	change(state, p, e, J_CREATE, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}

void workflow__on_transition(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__OrderTransition *rq = e->order_transition;

	if (!rq->id || !*rq->id || !rq->action || !*rq->action) {
		msg_error(p, e->request_id, KF_EPARSE, "a transition needs the order id and an "
			  "action");
		return;
	}
	if (!wo_action_valid(rq->action)) {
		msg_error(p, e->request_id, KF_EPARSE, "the action is one of dispatch, accept, "
			  "start, wait, resume, reply, return, close, satisfied, unsatisfied, "
			  "reopen, escalate, cancel, note");
		return;
	}
	change(state, p, e, J_TRANSITION, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}

void workflow__on_update(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	Kefu__OrderUpdate *rq = e->order_update;

	if (!rq->id || !*rq->id || ((!rq->note || !*rq->note) && !rq->n_attachments)) {
		msg_error(p, e->request_id, KF_EPARSE, "an update needs the order id and a note "
			  "or attachments");
		return;
	}
	change(state, p, e, J_UPDATE, &rq->actor, &rq->actor_admin, &rq->has_actor_admin,
	       &rq->base);
}
