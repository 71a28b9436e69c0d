/*
 * Supervision: a supervisor (or an admin) ends an agent's session wherever
 * it is (ForceLogout). The token dies at once, in Redis, so no node resumes
 * it; the node that holds the agent ends the session as for a disabled
 * account (routing__agent_revoke), told through its events channel when it
 * is another node. The act is audited before it is acknowledged. See
 * routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORCED_REASON "forced-logout"

/* Step 3: in the audit log; the asker hears it is done. */
static void on_force_audited(void *arg, int err, uint64_t index)
{
	struct op *o = arg;
	struct routing *r = o->r;

	(void)index;
	if (routing__audited(r, o, err, "the session was ended but the audit log could not be written"))
		routing__ack(r, o->conn, o->request_id, true, FORCED_REASON);
	free(o);
	routing__unpend(r);
}

/* The owner of agent aid ends its session: here, or told as an event. */
static void force_end(struct routing *r, const char *aid, const char *owner)
{
	struct ragent *a;
	char k[HOT_KEY_MAX], msg[128];
	const char *pub[] = {"PUBLISH", k, msg};

	if (strcmp(owner, r->self) == 0) {
		a = routing__agent_find(r, aid);
		if (a)
			routing__agent_revoke(r, a, FORCED_REASON);
		return;
	}
	hot_key(r->hot, k, sizeof(k), "events:", owner);
	snprintf(msg, sizeof(msg), "{\"type\":\"forced_logout\",\"agent\":\"%s\"}", aid);
	routing__command(r, 3, pub, NULL);
}

/* Step 2: the agent as Redis holds it {state, owner, session}. */
static void on_force_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char k[HOT_KEY_MAX], detail[96];
	const char *del[] = {"DEL", k};
	const char *state, *owner, *session;

	if (err || rep->type != REDIS_TYPE_ARRAY || rep->n != 3) {
		routing__error(r, o->conn, o->request_id, err ? err : KF_EINTERNAL,
			       "routing state unavailable; retry");
		return;
	}
	state = routing__elem_str(rep, 0);
	owner = routing__elem_str(rep, 1);
	session = routing__elem_str(rep, 2);
	if (!*state || strcmp(state, "logged_out") == 0 || !*owner) {
		routing__ack(r, o->conn, o->request_id, false, "the agent is not logged in");
		return;
	}
	if (*session) {
		hot_key(r->hot, k, sizeof(k), "session:", session);
		routing__command(r, 2, del, NULL);
	}
	force_end(r, o->agent, owner);
	log_info(LOG_ROUTING, "session ended by %s agent=%s owner=%s", o->call, o->agent, owner);
	snprintf(detail, sizeof(detail), "owner=%s state=%s", owner, state);
	routing__audit(r, o->call, "force_logout", o->agent, detail, on_force_audited,
		       routing__op_new(r, NULL, o->conn, o->request_id));
}

void routing__on_force_logout(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const char *aid = e->force_logout->agent_id;
	const char *who = *msg_peer_session(p) ? msg_peer_session(p) : msg_peer_who(p)->cn;
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HMGET", k, "state", "owner", "session"};
	struct op *o;

	if (!routing__conn_get(r, p, e->request_id))
		return;
	if (!aid || !accounts_id_is_valid(aid)) {
		routing__error(r, msg_peer_id(p), e->request_id, KF_EPARSE,
			       "ForceLogout needs agent_id ([A-Za-z0-9_.-]{1,32})");
		return;
	}
	o = routing__op_new(r, on_force_read, msg_peer_id(p), e->request_id);
	routing__copy(o->agent, sizeof(o->agent), aid);
	routing__copy(o->call, sizeof(o->call), who); /* the actor, for the log and audit */
	hot_key(r->hot, k, sizeof(k), "agent:", aid);
	routing__command(r, 5, argv, o);
}

/* The event of force_end on the agent's own node. */
void routing__ev_forced_logout(struct routing *r, const char *aid)
{
	struct ragent *a = routing__agent_find(r, aid);

	if (a)
		routing__agent_revoke(r, a, FORCED_REASON);
}
