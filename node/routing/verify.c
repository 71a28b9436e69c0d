/*
 * The identity check of a caller (docs/security.md, "Verification and
 * customer data"): the node, not the agent, decides whether a call is
 * verified. A call from the subscriber's own number is verified when it
 * arrives (calls.c, caller-id); otherwise the agent sends the last
 * characters of the ID number the caller says, and the node compares them
 * with the customer record of its local replica.
 *
 * Each check first counts itself on the call (HINCRBY verify_tries, shared
 * by every node) and is compared only while its count is at most
 * VERIFY_TRIES: checks sent in parallel or pipelined get no more
 * comparisons than that. Every check, passed, failed or locked, is in the
 * audit log (never the characters said) before the agent hears the
 * outcome. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "node/leader.h"
#include "storage/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks compared per call; the next ones are answered "locked". */
#define VERIFY_TRIES 3
#define VERIFY_METHOD "id-digits"

/* op->verdict: what a check came to. A call verified before the check
 * (by caller id, or by an earlier check) is not counted again. */
enum { VERDICT_FAILED, VERDICT_LOCKED, VERDICT_PASSED, VERDICT_BY_CALLER_ID, VERDICT_BY_DIGITS };

static const char *const verdict_result[] = {"failed", "locked", "verified", "verified",
					     "verified"};
static const char *const verdict_action[] = {"verify_fail", "verify_locked", "verify_pass",
					     "verify_pass", "verify_pass"};
static const char *const verdict_how[] = {NULL, NULL, ROUTING_VERIFIED_ID_DIGITS,
					  ROUTING_VERIFIED_CALLER_ID, ROUTING_VERIFIED_ID_DIGITS};

bool routing__verified_is_known(const char *how)
{
	return how && (strcmp(how, ROUTING_VERIFIED_CALLER_ID) == 0 ||
		       strcmp(how, ROUTING_VERIFIED_ID_DIGITS) == 0);
}

/* The VerifyReply to o's request; a passed check carries the caller's
 * full profile, read from the replica now. */
static void verify_reply(struct routing *r, const struct op *o)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__VerifyReply vr = KEFU__VERIFY_REPLY__INIT;
	struct custdb_profile p;
	bool full = o->verdict >= VERDICT_PASSED;
	bool known = full && routing__profile_get(r, o->text, 0, &p) == 0;

	vr.call_id = (char *)o->call;
	vr.result = (char *)verdict_result[o->verdict];
	vr.verified = (char *)verdict_how[o->verdict];
	vr.has_attempts_left = o->verdict == VERDICT_FAILED;
	vr.attempts_left = o->verdict == VERDICT_FAILED && o->n < VERIFY_TRIES
				   ? (uint32_t)(VERIFY_TRIES - o->n) : 0;
	if (known) {
		vr.user = p.user;
		vr.customer = p.cust;
	}
	e.body_case = KEFU__ENVELOPE__BODY_VERIFY_REPLY;
	e.verify_reply = &vr;
	routing__send(r, o->conn, &e, o->request_id);
	if (known)
		custdb_profile_release(&p);
}

/* The check is in the audit log: a pass is recorded on the call, then the
 * agent hears the outcome. A check that could not be audited changes
 * nothing and shows nothing. */
static void on_check_audited(void *arg, int err, uint64_t index)
{
	struct op *o = arg;
	struct routing *r = o->r;
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HSET", k, "verified", ROUTING_VERIFIED_ID_DIGITS};

	(void)index;
	if (!routing__audited(r, o, err, "the check could not be written to the audit log; try again"))
		goto out;
	if (o->verdict == VERDICT_PASSED) {
		hot_key(r->hot, k, sizeof(k), "call:", o->call);
		routing__command(r, 4, argv, NULL);
	}
	verify_reply(r, o);
out:
	free(o);
	routing__unpend(r);
}

/* Audit the check o came to (verdict, attempt o->n, why nothing could be
 * compared), then answer it. */
static void check_audit(struct routing *r, const struct op *o, int verdict, const char *why)
{
	char detail[AUDIT_DETAIL_MAX + 1];
	struct op *next = routing__op_new(r, NULL, o->conn, o->request_id);

	if (verdict >= VERDICT_BY_CALLER_ID)
		snprintf(detail, sizeof(detail), "call=%s verified=%s before", o->call,
			 verdict_how[verdict]);
	else
		snprintf(detail, sizeof(detail), "call=%s method=%s attempt=%llu%s%s", o->call,
			 VERIFY_METHOD, (unsigned long long)o->n, why ? " " : "", why ? why : "");
	routing__copy(next->agent, sizeof(next->agent), o->agent);
	routing__copy(next->call, sizeof(next->call), o->call);
	routing__copy(next->text, sizeof(next->text), o->text);
	next->n = o->n;
	next->verdict = verdict;
	routing__audit(r, o->agent, verdict_action[verdict], o->text, detail, on_check_audited,
		       next);
}

/* Compare what the caller said with the ID number of the caller's number's
 * customer in the local replica; why says why nothing could be compared. */
static bool digits_match(struct routing *r, const struct op *o, const char **why)
{
	struct custdb_profile p;
	bool ok = false;

	*why = "reason=no-id-on-record";
	if (routing__profile_get(r, o->text, 0, &p) != 0)
		return false;
	if (p.cust && p.cust->id_no && *p.cust->id_no) {
		*why = NULL;
		ok = custview_id_digits_match(p.cust->id_no, o->secret);
	}
	custdb_profile_release(&p);
	return ok;
}

/* The check counted itself: compared while the count allows, else locked. */
static void on_counted(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	const char *why = NULL;
	int verdict;

	if (err || rep->type != REDIS_TYPE_INTEGER || rep->integer < 1) {
		routing__error(r, o->conn, o->request_id, err ? err : KF_ESTATE,
			       "routing state unavailable; retry");
		return;
	}
	o->n = (uint64_t)rep->integer;
	if (o->n > VERIFY_TRIES)
		verdict = VERDICT_LOCKED;
	else
		verdict = digits_match(r, o, &why) ? VERDICT_PASSED : VERDICT_FAILED;
	explicit_bzero(o->secret, sizeof(o->secret));
	log_info(LOG_ROUTING, "identity check call=%s agent=%s attempt=%llu result=%s", o->call,
		 o->agent, (unsigned long long)o->n, verdict_result[verdict]);
	check_audit(r, o, verdict, why);
}

/* A call verified already (caller id, an earlier check) is not counted:
 * the agent gets the full profile. Otherwise the check counts itself. */
static void on_verified_before(struct routing *r, struct op *o, int err,
			       const struct redis_reply *rep)
{
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HINCRBY", k, "verify_tries", "1"};
	struct op *next;

	if (err) {
		routing__error(r, o->conn, o->request_id, err, "routing state unavailable; retry");
		return;
	}
	if (rep->type == REDIS_TYPE_STRING && routing__verified_is_known(rep->str)) {
		check_audit(r, o,
			    strcmp(rep->str, ROUTING_VERIFIED_CALLER_ID) == 0 ? VERDICT_BY_CALLER_ID
									     : VERDICT_BY_DIGITS,
			    NULL);
		return;
	}
	next = routing__op_new(r, on_counted, o->conn, o->request_id);
	memcpy(next, o, sizeof(*next));
	next->fn = on_counted;
	hot_key(r->hot, k, sizeof(k), "call:", o->call);
	routing__command(r, 4, argv, next);
}

void routing__on_verify_identity(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const Kefu__VerifyIdentity *vi = e->verify_identity;
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HGET", k, "verified"};
	struct ragent *a;
	struct op *o;

	if (!routing__conn_get(r, p, e->request_id) ||
	    !(a = routing__agent_on(r, p, vi->call_id, e->request_id)))
		return;
	if (vi->has_passed) {
		routing__error(r, msg_peer_id(p), e->request_id, KF_EPROTO,
			       "VerifyIdentity.passed is refused: the node decides whether the caller "
			       "is verified; send method=id-digits with id_digits");
		return;
	}
	if (!vi->method || strcmp(vi->method, VERIFY_METHOD) != 0 ||
	    !custview_digits_are_valid(vi->id_digits)) {
		routing__error(r, msg_peer_id(p), e->request_id, KF_EPARSE,
			       "method is id-digits, with id_digits: the last 6 characters of the "
			       "caller's ID number (letters and digits)");
		return;
	}
	o = routing__op_new(r, on_verified_before, msg_peer_id(p), e->request_id);
	routing__copy(o->agent, sizeof(o->agent), a->id);
	routing__copy(o->call, sizeof(o->call), a->call);
	routing__copy(o->text, sizeof(o->text), a->ani);
	routing__copy(o->secret, sizeof(o->secret), vi->id_digits);
	hot_key(r->hot, k, sizeof(k), "call:", a->call);
	routing__command(r, 3, argv, o);
}
