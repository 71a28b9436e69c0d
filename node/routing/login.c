/*
 * Agents' logins and session resumes: the failed-login lock, the password
 * checked on the jobs pool (node/jobs.h: hashing is slow on purpose, the
 * loop must not wait for it), and the agent taken over as this node's with
 * the account's current skills (reassert_agent). See routing_int.h.
 *
 * The lock holds by construction: a login first counts itself as a
 * failure (INCR loginfail:<agent>), and only the first login_lock_after of
 * a series get their password checked at all; a good one resets the count.
 * Parallel wrong logins from any number of connections and nodes cannot
 * get more checks than that. An unknown or disabled agent is checked
 * against a dummy hash of the current cost, so its answer takes as long.
 *
 * Sessions: the token goes to the agent only; Redis and the mirror know
 * its SHA-256 (session:<hash> = "<agent> <login_ms>"). A resume takes the
 * key (GETDEL: a token serves once) and answers with a new token; the
 * login time stays, so a session ends session_max_age after its login
 * however often it is resumed. A hash of fewer iterations than the node's
 * is upgraded after a good login, through the leader.
 */
#include "node/routing/routing_int.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "lib/log.h"
#include "node/accounts.h"
#include "node/jobs.h"
#include "node/leader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A login whose password is being checked on a pool thread. */
struct login_job {
	struct routing *r;
	uint64_t conn, request_id;
	char id[ACCOUNTS_ID_MAX + 1];
	char *pw;
	size_t pwlen;
	Kefu__Agent *acct;
	const char *dummy;       /* the routing's dummy hash (read-only) */
	uint64_t fails;          /* this login's place in the failure count */
	bool ok;                 /* written by the pool thread, read after its done */
	unsigned cost;           /* iterations of the hash it was checked against (same) */
	char upgrade[PASSWORD_ENCODED_MAX]; /* a good password hashed again at today's cost */
};

/* The agent fields a login or resume reads before taking the agent over. */
#define AGENT_READ_FIELDS "state", "reason", "call", "wrap_until_ms", "ani", "session", "owner"
#define AGENT_READ_N 7

void routing__token_hash(const char *token, char out[PASSWORD_TOKEN_HEX + 1])
{
	digest_sha256_hex(token, strlen(token), out);
}

static void send_login_reply(struct routing *r, const struct ragent *a, const char *token,
			     uint64_t request_id)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__LoginReply lr = KEFU__LOGIN_REPLY__INIT;

	lr.token = (char *)token;
	lr.has_expires_ms = 1;
	lr.expires_ms = a->login_ms + r->set.session_max_ms;
	lr.agent_id = (char *)a->id;
	lr.name = (char *)a->name;
	lr.skills = (char *)a->skills;
	lr.state = (char *)a->state;
	lr.call_id = (char *)a->call;
	e.body_case = KEFU__ENVELOPE__BODY_LOGIN_REPLY;
	e.login_reply = &lr;
	routing__send(r, a->conn, &e, request_id);
}

/* The agent a of account acct is ours from now on, on connection conn: its
 * session there (token in clear, begun at since_ms). */
static struct ragent *agent_take(struct routing *r, const Kefu__Agent *acct, const char *token,
				 uint64_t since_ms, uint64_t conn)
{
	struct ragent *a = routing__agent_add(r, acct->id);
	struct msg_peer *p = msg_peer_find(r->hub, conn);

	if (!a)
		return NULL;
	routing__copy(a->name, sizeof(a->name), acct->name);
	routing__copy(a->skills, sizeof(a->skills), acct->skills);
	if (accounts_skills_parse(a->skills, strlen(a->skills), &a->sk, NULL, 0) != 0)
		a->sk.n = 0;
	a->order = acct->has_order ? acct->order : 0;
	routing__token_hash(token, a->token);
	a->login_ms = since_ms;
	if (a->conn && a->conn != conn) {
		/* A new session on another connection here ends the old one. */
		struct msg_peer *old = msg_peer_find(r->hub, a->conn);

		if (old && strcmp(msg_peer_session(old), a->id) == 0) {
			routing__copy(a->state, sizeof(a->state), "logged_out");
			routing__copy(a->reason, sizeof(a->reason), "session-ended");
			routing__send_agent_status(r, a, 0);
			msg_peer_set_session(old, "");
		}
	}
	a->conn = conn;
	if (p) {
		msg_peer_set_session(p, a->id);
		msg_peer_set_supervisor(p, accounts_is_supervisor(acct));
	}
	return a;
}

static void on_resume_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep);

static void agent_read(struct routing *r, struct op *o, const char *id)
{
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HMGET", k, AGENT_READ_FIELDS};

	hot_key(r->hot, k, sizeof(k), "agent:", id);
	routing__command(r, 2 + AGENT_READ_N, argv, o);
}

/* An account's hash upgraded to today's cost, on its way through the leader. */
struct upgrade {
	struct routing *r;
	char id[ACCOUNTS_ID_MAX + 1];
};

static void on_upgraded(void *arg, int err, uint64_t index)
{
	struct upgrade *u = arg;
	struct routing *r = u->r;

	(void)index;
	r->pending--;
	if (err)
		log_warn(LOG_ROUTING, "password hash not upgraded agent=%s error=\"%s\"", u->id,
			 kf_strerror(err));
	else
		log_info(LOG_ROUTING, "password hash upgraded agent=%s", u->id);
	free(u);
	routing__unpend(r);
}

/* The password of agent id, which matched old, hashed again as hash
 * (node/accounts.h: checked and written by the leader in one step). */
static void hash_upgrade(struct routing *r, const char *id, const char *old, const char *hash)
{
	struct upgrade *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		abort();
	u->r = r;
	routing__copy(u->id, sizeof(u->id), id);
	r->pending++;
	err = accounts_upgrade_hash(r->leader, r->self, id, old, hash, on_upgraded, u);
	if (err) {
		r->pending--;
		log_warn(LOG_ROUTING, "password hash not upgraded agent=%s error=\"%s\"", id,
			 kf_strerror(err));
		free(u);
	}
}

/*
 * A right password: the agent is ours with a fresh session, whatever Redis
 * still holds from an earlier session (a crashed client, another node):
 * that session ends and the agent is written again with the account's
 * current skills (reassert_agent, as for a resume).
 */
static void login_accept(struct routing *r, struct login_job *j)
{
	char k[HOT_KEY_MAX];
	const char *del[] = {"DEL", k};
	struct op *o;

	hot_key(r->hot, k, sizeof(k), "loginfail:", j->id);
	routing__command(r, 2, del, NULL);
	if (j->upgrade[0])
		hash_upgrade(r, j->id, j->acct->password_hash, j->upgrade);
	o = routing__op_new(r, on_resume_read, j->conn, j->request_id);
	if (password_token(o->text) != 0) {
		free(o);
		routing__error(r, j->conn, j->request_id, KF_EINTERNAL, "cannot make a session");
		return;
	}
	o->acct = j->acct;
	j->acct = NULL;
	o->n = 1; /* a login, not a resume */
	/* Never before the password it used was set, whatever the clocks of the
	 * leader and this node say: the session check would end it at once. */
	o->since_ms = loop_wall_ms();
	if (o->acct->password_changed_ms > o->since_ms)
		o->since_ms = o->acct->password_changed_ms;
	routing__copy(o->agent, sizeof(o->agent), o->acct->id);
	agent_read(r, o, o->acct->id);
}

/* The answer to a login refused: the count says whether it was the one
 * that locks the account. */
static void login_refuse(struct routing *r, struct login_job *j)
{
	static struct log_ratelimit login_rl = LOG_RATELIMIT_INIT(10000, 10);
	char msg[160];

	if (j->fails >= r->set.lock_after)
		snprintf(msg, sizeof(msg), "account locked after %llu failed logins; try again in %llu s",
			 (unsigned long long)r->set.lock_after, (unsigned long long)r->set.lock_ms / 1000);
	else
		snprintf(msg, sizeof(msg), "wrong agent id or password");
	routing__error(r, j->conn, j->request_id, KF_ESTATE, msg);
	/* The cost shows that an unknown or disabled id was checked as dearly. */
	log_ratelimited(&login_rl, LOG_ROUTING, LOG_LVL_INFO, "login refused agent=%s checked=%u",
			j->id, j->cost);
}

/* On a pool thread: j is this thread's alone until login_checked. */
static void login_check(void *arg)
{
	struct login_job *j = arg;
	bool usable = j->acct && j->acct->has_enabled && j->acct->enabled &&
		      password_encoded_is_valid(j->acct->password_hash);
	const char *hash = usable ? j->acct->password_hash : j->dummy;

	/* Whoever it names, a login costs one hash at today's cost at least. */
	j->ok = password_matches(j->pw, j->pwlen, hash) && usable;
	j->cost = password_iterations(hash);
	if (j->ok && password_iterations(hash) < password_default_iterations() &&
	    password_hash(j->pw, j->pwlen, 0, j->upgrade, sizeof(j->upgrade)) != 0)
		j->upgrade[0] = '\0';
}

void routing__login_job_free(struct login_job *j)
{
	if (j->pw) {
		password_forget(j->pw, j->pwlen);
		free(j->pw);
	}
	if (j->acct)
		kefu__agent__free_unpacked(j->acct, NULL);
	free(j);
}

/* On the loop: the check is done; a stopped routing drops the result. */
static void login_checked(void *arg)
{
	struct login_job *j = arg;
	struct routing *r = j->r;

	r->checks--;
	if (!r->dead) {
		if (j->ok)
			login_accept(r, j);
		else
			login_refuse(r, j);
	}
	routing__login_job_free(j);
	routing__unpend(r);
}

/* A login counted but not checked (busy, no Redis): it is no failure. */
static void fail_uncount(struct routing *r, const char *id)
{
	char k[HOT_KEY_MAX];
	const char *argv[] = {"DECR", k};

	hot_key(r->hot, k, sizeof(k), "loginfail:", id);
	routing__command(r, 2, argv, NULL);
}

/* The login counted itself as a failure: past the lock's count it is
 * refused unchecked; else the password is checked on the jobs pool
 * (hashing is slow on purpose). A full pool is a busy answer: the agent
 * logs in again a little later. */
static void on_fail_count(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct login_job *j = o->job;
	char msg[160];

	if (err || rep->type != REDIS_TYPE_INTEGER) {
		routing__error(r, o->conn, o->request_id, err ? err : KF_EINTERNAL,
			       "routing state unavailable; retry");
		return;
	}
	j->fails = rep->integer > 0 ? (uint64_t)rep->integer : 0;
	if (j->fails > r->set.lock_after) {
		snprintf(msg, sizeof(msg), "account locked after %llu failed logins; try again later",
			 (unsigned long long)r->set.lock_after);
		routing__error(r, o->conn, o->request_id, KF_ESTATE, msg);
		return;
	}
	r->checks++;
	err = jobs_submit(r->jobs, login_check, login_checked, j);
	if (err) {
		r->checks--;
		fail_uncount(r, j->id);
		if (err == -EBUSY)
			routing__error(r, o->conn, o->request_id, -EBUSY,
				       "busy: too many logins being checked on this node; try again");
		else
			routing__error(r, o->conn, o->request_id, KF_EINTERNAL,
				       "cannot check the password now");
		return; /* the op frees j */
	}
	o->job = NULL;
}

void routing__on_login(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const Kefu__Login *lg = e->login;
	char k[HOT_KEY_MAX], ttl[NUM_MAX];
	const char *incr[] = {"INCR", k};
	const char *px[] = {"PEXPIRE", k, ttl};
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct login_job *j;
	struct store_txn *t;
	struct op *o;

	if (!rc)
		return;
	if (!lg->agent_id || !accounts_id_is_valid(lg->agent_id) || !lg->password ||
	    strlen(lg->password) > PASSWORD_LEN_MAX) {
		routing__error(r, rc->id, e->request_id, KF_EPARSE,
			       "Login needs agent_id and password");
		return;
	}
	if (*msg_peer_session(p)) {
		routing__error(r, rc->id, e->request_id, KF_ESTATE,
			       "already logged in on this connection");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->r = r;
	j->dummy = r->dummy_hash;
	j->conn = rc->id;
	j->request_id = e->request_id;
	routing__copy(j->id, sizeof(j->id), lg->agent_id);
	j->pwlen = strlen(lg->password);
	j->pw = strdup(lg->password);
	if (!j->pw)
		abort();
	if (store_read_begin(r->sto->store, &t) == 0) {
		if (accounts_get(t, j->id, &j->acct) != 0)
			j->acct = NULL;
		store_abort(t);
	}
	/* Counted as a failure first, the count kept lock_ms after the last. */
	o = routing__op_new(r, on_fail_count, rc->id, e->request_id);
	o->job = j;
	routing__num(ttl, r->set.lock_ms);
	hot_key(r->hot, k, sizeof(k), "loginfail:", j->id);
	routing__command(r, 2, incr, o);
	routing__command(r, 3, px, NULL);
}

/* Resume, step 3: the agent is ours again. */
static void on_resumed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (routing__agent_step(r, o, err, rep, &a) || !a)
		return;
	routing__copy(a->state, sizeof(a->state), routing__elem_str(rep, 0));
	a->gen = routing__parse_u64(routing__elem_str(rep, 1));
	routing__presence_set(r, a);
	send_login_reply(r, a, o->text, o->request_id);
	log_info(LOG_ROUTING, "agent resumed agent=%s state=%s", a->id, a->state);
	if (strcmp(a->state, "ready") == 0)
		routing__route_agent(r, a);
}

/* States a login keeps from an earlier session: its call or wrap-up goes on. */
static bool state_outlives_session(const char *state)
{
	static const char *const keep[] = {"reserved", "on_call", "wrap_up"};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strcmp(state, keep[i]) == 0)
			return true;
	return false;
}

/* An earlier session of the agent (old token, on node owner) is over. */
static void session_end(struct routing *r, const char *agent, const char *old, const char *owner)
{
	char k[HOT_KEY_MAX], msg[ACCOUNTS_ID_MAX + PASSWORD_TOKEN_HEX + 64];
	const char *del[] = {"DEL", k};
	const char *pub[] = {"PUBLISH", k, msg};

	hot_key(r->hot, k, sizeof(k), "session:", old);
	routing__command(r, 2, del, NULL);
	if (!*owner || strcmp(owner, r->self) == 0)
		return; /* ours: agent_take ended it */
	hot_key(r->hot, k, sizeof(k), "events:", owner);
	snprintf(msg, sizeof(msg), "{\"type\":\"session_ended\",\"agent\":\"%s\",\"session\":\"%s\"}",
		 agent, old);
	routing__command(r, 3, pub, NULL);
}

/*
 * Login or resume, step 2 (o->n: a login): the agent as Redis holds it,
 * written again as ours with the account's current skills. A login starts
 * not_ready (reason login) unless a call or wrap-up of the old session goes
 * on, and ends the old session.
 */
static void on_resume_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct keys ks = {.n = 0};
	char order[NUM_MAX], wrap[NUM_MAX], iv[NUM_MAX];
	const char *old = routing__elem_str(rep, 5);
	bool login = o->n != 0;
	struct ragent *a;
	struct op *next;

	if (err || rep->type != REDIS_TYPE_ARRAY || rep->n != AGENT_READ_N) {
		routing__error(r, o->conn, o->request_id, err ? err : KF_EINTERNAL,
			       "routing state unavailable; retry");
		return;
	}
	a = agent_take(r, o->acct, o->text, o->since_ms, o->conn);
	if (!a) {
		routing__error(r, o->conn, o->request_id, KF_ETOOBIG, "too many agents on this node");
		return;
	}
	if (login && *old && strcmp(old, a->token) != 0)
		session_end(r, a->id, old, routing__elem_str(rep, 6));
	if (login && !state_outlives_session(routing__elem_str(rep, 0))) {
		routing__copy(a->state, sizeof(a->state), "not_ready");
		routing__copy(a->reason, sizeof(a->reason), "login");
		a->call[0] = '\0';
		a->wrap_until_ms = 0;
	} else {
		const char *st = routing__elem_str(rep, 0);

		routing__copy(a->state, sizeof(a->state), *st ? st : "not_ready");
		routing__copy(a->reason, sizeof(a->reason), routing__elem_str(rep, 1));
		routing__copy(a->call, sizeof(a->call), routing__elem_str(rep, 2));
		a->wrap_until_ms = routing__parse_u64(routing__elem_str(rep, 3));
	}
	routing__copy(a->ani, sizeof(a->ani), routing__elem_str(rep, 4));
	{
		const char *args[] = {a->state, a->reason, r->self, a->token, a->skills, order,
				      a->call, wrap, "take", "",   iv};

		routing__num(order, a->order);
		routing__num(iv, r->set.stats_iv_ms);
		routing__num(wrap, a->wrap_until_ms);
		next = routing__op_new(r, on_resumed, o->conn, o->request_id);
		routing__copy(next->agent, sizeof(next->agent), a->id);
		routing__copy(next->text, sizeof(next->text), o->text); /* the token, for the reply */
		routing__agent_keys(r, &ks, a);
		routing__step(r, ROUTING_SCRIPT_REASSERT_AGENT, &ks, args, 11, next);
	}
}

/*
 * Why a session of account acct begun at since_ms may not go on at now:
 * the account is gone or disabled, its password changed since, or the
 * session is past its absolute lifetime. NULL when it may; the reason is
 * an AgentStatus reason (reason) and the text of an Error (*text).
 */
static const char *session_refusal(const struct routing *r, const Kefu__Agent *acct,
				   uint64_t since_ms, uint64_t now, const char **text)
{
	if (!acct || !acct->has_enabled || !acct->enabled) {
		*text = "the account is disabled or gone";
		return "account-disabled";
	}
	if (acct->has_password_changed_ms && acct->password_changed_ms > since_ms) {
		*text = "the password changed since this session began; log in";
		return "password-changed";
	}
	if (now >= since_ms + r->set.session_max_ms) {
		*text = "the session is over (session_max_age); log in";
		return "session-expired";
	}
	return NULL;
}

static Kefu__Agent *account_read(struct store_txn *t, const char *id)
{
	Kefu__Agent *acct = NULL;

	if (accounts_get(t, id, &acct) != 0)
		acct = NULL;
	return acct;
}

void routing__sessions_check(struct routing *r, uint64_t now)
{
	struct store_txn *t;
	const char *text;

	if (store_read_begin(r->sto->store, &t) != 0)
		return;
	for (struct ragent *a = routing__agents_first(&r->agents), *next; a; a = next) {
		Kefu__Agent *acct = account_read(t, a->id);
		const char *why = session_refusal(r, acct, a->login_ms, now, &text);

		next = routing__agents_next(&r->agents, a);
		if (why) {
			routing__agent_revoke(r, a, why);
		} else {
			/* A role changed meanwhile counts from the next message. */
			struct msg_peer *p = msg_peer_find(r->hub, a->conn);

			if (p)
				msg_peer_set_supervisor(p, accounts_is_supervisor(acct));
		}
		if (acct)
			kefu__agent__free_unpacked(acct, NULL);
	}
	store_abort(t);
}

/* Resume, step 1: whose session the token was (GETDEL: a token serves
 * once), and whether it may go on; it goes on under a new token. */
static void on_session(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct store_txn *t;
	struct op *next;
	Kefu__Agent *acct = NULL;
	char id[ACCOUNTS_ID_MAX + 1] = "";
	const char *sp, *text;
	uint64_t since = 0;

	sp = !err && rep->type == REDIS_TYPE_STRING ? strchr(rep->str, ' ') : NULL;
	if (sp && (size_t)(sp - rep->str) < sizeof(id)) {
		memcpy(id, rep->str, (size_t)(sp - rep->str));
		id[sp - rep->str] = '\0';
		since = routing__parse_u64(sp + 1);
	}
	if (!sp || !accounts_id_is_valid(id) || !since) {
		routing__error(r, o->conn, o->request_id, err ? err : KF_ENOTFOUND,
			       err ? "routing state unavailable; retry" : "no such session; log in");
		return;
	}
	if (store_read_begin(r->sto->store, &t) == 0) {
		acct = account_read(t, id);
		store_abort(t);
	}
	if (session_refusal(r, acct, since, loop_wall_ms(), &text)) {
		if (acct)
			kefu__agent__free_unpacked(acct, NULL);
		routing__error(r, o->conn, o->request_id, KF_ESTATE, text);
		return;
	}
	next = routing__op_new(r, on_resume_read, o->conn, o->request_id);
	next->acct = acct;
	next->since_ms = since;
	routing__copy(next->agent, sizeof(next->agent), acct->id);
	if (password_token(next->text) != 0) {
		routing__error(r, o->conn, o->request_id, KF_EINTERNAL, "cannot make a session");
		kefu__agent__free_unpacked(acct, NULL);
		free(next);
		return;
	}
	agent_read(r, next, acct->id);
}

void routing__on_session_resume(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct routing *r = state;
	const char *token = e->session_resume->token;
	char k[HOT_KEY_MAX], h[PASSWORD_TOKEN_HEX + 1];
	const char *argv[] = {"GETDEL", k};
	struct rconn *rc = routing__conn_get(r, p, e->request_id);
	struct op *o;

	if (!rc)
		return;
	if (!token || strlen(token) != PASSWORD_TOKEN_HEX || *msg_peer_session(p)) {
		routing__error(r, rc->id, e->request_id, KF_EPARSE,
			       "SessionResume needs a session token, on a connection not logged in");
		return;
	}
	o = routing__op_new(r, on_session, rc->id, e->request_id);
	routing__token_hash(token, h);
	hot_key(r->hot, k, sizeof(k), "session:", h);
	routing__command(r, 2, argv, o);
}
