/* Tiered inbound routing on a node. See routing.h and docs/routing.md. */
#include "node/routing.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/password.h"
#include "node/hot.h"
#include "node/routing_conf.h"
#include "node/server.h"
#include "storage/accounts.h"
#include "storage/audit.h"
#include "storage/custdb.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== configuration: the settings (routing_conf.h) and fixed values ==== */

#define LADDER_MAX ROUTING_LADDER_MAX
#define NTIERS ROUTING_NTIERS
#define NSKILLS ROUTING_NSKILLS

/* A number stopped for arrears hears the payment menu first. */
#define ARREARS_STATUS 3
#define ARREARS_PLAN "arrears"

/* Subscriber states in which a call from the own number counts as verified
 * (1 normal, 3 stopped for arrears; not 2 suspended: maybe a lost phone). */
static const unsigned own_number_trusted[] = {1, 3};

/* What the configuration leaves fixed; the rest is r->set (routing_conf.h). */
static const struct fixed {
	const char *no_answer_reason; /* the not-ready reason after an unanswered offer */
	uint32_t keep_ms;           /* an ended call's hash stays this long */
	uint32_t presence_ms;       /* TTL of presence:<agent>, refreshed at a third */
	uint32_t session_ms;        /* TTL of session:<token>, refreshed with presence */
	uint32_t tick_ms;           /* sweep, ladders, maximum waits, wrap-ups */
	uint32_t wait_window_ms;    /* answer rate window for estimated waits */
	uint32_t sweep_limit;       /* offers taken back per sweep */
	uint32_t lost_every;        /* ticks between sweeps for the calls of gone nodes */
	uint32_t lost_limit;        /* calls looked at per queue and sweep */
} cfg = {"no-answer", 600000, 15000, 8 * 3600 * 1000u, 1000, 3600000, 100, 5, 200};

/* ==== limits ==== */

#define AGENTS_MAX 4096   /* agents owned by one node */
#define CALLS_MAX 8192    /* live calls owned by one node */
#define CALL_BUCKETS 8192 /* hash buckets of the calls by key (a power of 2) */
#define AGENT_BUCKETS 1024 /* of the agents by id, and of the connections by id and by pointer */
#define ARGV_MAX 40
#define KEYS_MAX 24
#define CALL_KEY_MAX (TLS_NAME_MAX + 1 + ROUTING_CALL_ID_MAX + 1) /* "<gateway>:<call id>" */
#define TEXT_MAX 64
#define NUM_MAX 24
#define NAME_MAX_ (ACCOUNTS_NAME_MAX + 1)

/* ==== state ==== */

/* A connection that sent routing messages: a gateway or an agent. */
struct rconn {
	struct rconn *next;
	struct rconn *by_id, *by_conn;    /* hash buckets' chains */
	struct net_conn *conn;
	uint64_t id;
	char gateway[TLS_NAME_MAX + 1];   /* a gateway's certificate name */
	char agent[ACCOUNTS_ID_MAX + 1];  /* the agent logged in on it */
};

/* An agent owned by this node: the mirror of agent:<id>. */
struct ragent {
	struct ragent *next;
	struct ragent *hnext;             /* the agent's hash bucket */
	char id[ACCOUNTS_ID_MAX + 1];
	char name[NAME_MAX_];
	char skills[ACCOUNTS_SKILLS_TEXT_MAX + 1];
	struct accounts_skills sk;
	unsigned order;
	char token[PASSWORD_TOKEN_HEX + 1];
	char state[TEXT_MAX];
	char reason[TEXT_MAX];
	char call[CALL_KEY_MAX];          /* offered or in talk */
	char ani[TEXT_MAX];               /* of that call */
	bool alert;                       /* call is alerting (ring strategies), not reserved */
	uint64_t wrap_until_ms;
	uint64_t conn;                    /* rconn id, 0 = not connected */
	uint64_t gen;                     /* the takeover count in Redis when this node took it */
};

/* A call of a gateway connected to this node: the mirror of call:<id>. */
struct rcall {
	struct rcall *next, *prev;        /* every call, for the tick and failovers */
	struct rcall *hnext;              /* the call's hash bucket */
	char key[CALL_KEY_MAX];           /* "<gateway>:<call id>", the id in Redis */
	char ext[ROUTING_CALL_ID_MAX + 1];/* the gateway's call id */
	char gateway[TLS_NAME_MAX + 1];
	char ani[TEXT_MAX], service[TEXT_MAX];
	const struct routing_tier *tier;
	size_t nskills;                   /* ladder steps joined */
	char state[TEXT_MAX];
	char agent[ACCOUNTS_ID_MAX + 1];
	uint64_t arrived_ms, deadline_ms, answered_ms;
	uint64_t conn;
	uint64_t lost_ms;                 /* when its gateway's connection closed */
	uint64_t gen;                     /* takeovers of the call we got (reassert_call) */
	bool verified;                    /* from the subscriber's own, trusted number */
};

/* A login whose password is being checked on a thread. */
struct login_job {
	struct login_job *next;
	struct routing *r;
	uint64_t conn, request_id;
	char id[ACCOUNTS_ID_MAX + 1];
	char *pw;
	size_t pwlen;
	Kefu__Agent *acct;
	bool ok;
};

struct routing {
	struct loop *loop;
	char self[META_NAME_MAX];
	struct hot *hot;
	struct election *el;
	struct repl_storage *sto;
	struct server *server;
	struct routing_settings set;
	char k_epoch[HOT_KEY_MAX];
	uint64_t epoch;                    /* the highest cluster epoch seen */
	struct rconn *conns;
	uint64_t next_conn;
	/* Every message and event names a connection, an agent or a call: hashed,
	 * as a node holds thousands. */
	struct rconn *conn_by_id[AGENT_BUCKETS], *conn_by_ptr[AGENT_BUCKETS];
	struct ragent *agents;
	struct ragent *abucket[AGENT_BUCKETS];
	size_t nagents;
	struct rcall *calls;
	size_t ncalls;
	struct rcall *bucket[CALL_BUCKETS]; /* the calls by key: every message names one */
	struct loop_timer *tick;
	unsigned ticks;
	/* logins checked on threads */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct login_job *done;
	unsigned threads;
	struct loop_wake *wake;
	/* replies still to come: the routing is freed after the last */
	unsigned pending;
	bool dead;
};

/* ==== small helpers ==== */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void num(char out[NUM_MAX], uint64_t v)
{
	snprintf(out, NUM_MAX, "%llu", (unsigned long long)v);
}

static uint64_t parse_u64(const char *s)
{
	uint64_t v = 0;

	for (; s && *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

/* src (NULL = "") into dst[0..cap), cut to fit, NUL-terminated. */
static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* Call ids: [A-Za-z0-9_.:-]{1,64}; gateway names the same without ':'. */
static bool id_ok(const char *s, size_t max, bool colon)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || (colon && c == ':')))
			return false;
	}
	return n <= max;
}

static const struct routing_tier *tier_of(const struct routing *r, unsigned level)
{
	return &r->set.tiers[level < NTIERS ? level : 0];
}

static bool trusted_status(unsigned status)
{
	for (size_t i = 0; i < sizeof(own_number_trusted) / sizeof(own_number_trusted[0]); i++)
		if (own_number_trusted[i] == status)
			return true;
	return false;
}

/* ==== connections ==== */

/* FNV-1a of an id or key; the caller masks it to its table's size. */
static size_t str_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 16777619u;
	return h;
}

static size_t ptr_bucket(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	return (size_t)((v >> 4) ^ (v >> 14)) & (AGENT_BUCKETS - 1);
}

static struct rconn *conn_find(struct routing *r, const struct net_conn *conn)
{
	struct rconn *c;

	for (c = r->conn_by_ptr[ptr_bucket(conn)]; c; c = c->by_conn)
		if (c->conn == conn)
			return c;
	return NULL;
}

static struct rconn *conn_get(struct routing *r, struct net_conn *conn)
{
	struct rconn *c = conn_find(r, conn);

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->conn = conn;
	c->id = ++r->next_conn;
	c->next = r->conns;
	r->conns = c;
	c->by_id = r->conn_by_id[c->id & (AGENT_BUCKETS - 1)];
	r->conn_by_id[c->id & (AGENT_BUCKETS - 1)] = c;
	c->by_conn = r->conn_by_ptr[ptr_bucket(conn)];
	r->conn_by_ptr[ptr_bucket(conn)] = c;
	return c;
}

static struct rconn *conn_by_id(struct routing *r, uint64_t id)
{
	for (struct rconn *c = r->conn_by_id[id & (AGENT_BUCKETS - 1)]; id && c; c = c->by_id)
		if (c->id == id)
			return c;
	return NULL;
}

/* Takes c out of the list and both hashes and frees it. */
static void conn_free(struct routing *r, struct rconn *c)
{
	CHAIN_UNLINK(&r->conn_by_id[c->id & (AGENT_BUCKETS - 1)], c, by_id);
	CHAIN_UNLINK(&r->conn_by_ptr[ptr_bucket(c->conn)], c, by_conn);
	CHAIN_UNLINK(&r->conns, c, next);
	free(c);
}

static void send_to(struct routing *r, uint64_t conn, Kefu__Envelope *e, uint64_t request_id)
{
	struct rconn *c = conn_by_id(r, conn);

	if (!c)
		return;
	e->has_request_id = request_id != 0;
	e->request_id = request_id;
	if (env_send(c->conn, e) != 0)
		log_warn(LOG_ROUTING, "message dropped to=%s", net_conn_addr(c->conn));
}

static void send_error(struct routing *r, uint64_t conn, uint64_t request_id, int code,
		       const char *msg)
{
	Kefu__Envelope e;
	Kefu__Error er;

	env_error(&e, &er, request_id, code, msg);
	send_to(r, conn, &e, request_id);
}

static void send_ack(struct routing *r, uint64_t conn, uint64_t request_id, bool ok,
		     const char *msg)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__AdminReply ar = KEFU__ADMIN_REPLY__INIT;

	ar.has_ok = 1;
	ar.ok = ok;
	ar.message = (char *)msg;
	e.body_case = KEFU__ENVELOPE__BODY_ADMIN_REPLY;
	e.admin_reply = &ar;
	send_to(r, conn, &e, request_id);
}

/* ==== the mirror ==== */

static size_t agent_bucket(const char *id)
{
	return str_hash(id) & (AGENT_BUCKETS - 1);
}

static struct ragent *agent_find(struct routing *r, const char *id)
{
	if (!id)
		return NULL;
	for (struct ragent *a = r->abucket[agent_bucket(id)]; a; a = a->hnext)
		if (strcmp(a->id, id) == 0)
			return a;
	return NULL;
}

static struct ragent *agent_add(struct routing *r, const char *id)
{
	struct ragent *a = agent_find(r, id);

	if (a)
		return a;
	if (r->nagents >= AGENTS_MAX)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	copy(a->id, sizeof(a->id), id);
	a->next = r->agents;
	r->agents = a;
	a->hnext = r->abucket[agent_bucket(a->id)];
	r->abucket[agent_bucket(a->id)] = a;
	r->nagents++;
	return a;
}

/* Takes an agent of the mirror (from agent_add) out of its list and hash. */
static void agent_drop(struct routing *r, struct ragent *gone)
{
	CHAIN_UNLINK(&r->abucket[agent_bucket(gone->id)], gone, hnext);
	CHAIN_UNLINK(&r->agents, gone, next);
	free(gone);
	r->nagents--;
}

static size_t call_bucket(const char *key)
{
	return str_hash(key) & (CALL_BUCKETS - 1);
}

static struct rcall *call_find(struct routing *r, const char *key)
{
	if (!key)
		return NULL;
	for (struct rcall *c = r->bucket[call_bucket(key)]; c; c = c->hnext)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

static struct rcall *call_add(struct routing *r, const char *gateway, const char *ext)
{
	char key[CALL_KEY_MAX];
	struct rcall *c;

	snprintf(key, sizeof(key), "%s:%s", gateway, ext);
	c = call_find(r, key);
	if (c)
		return c;
	if (r->ncalls >= CALLS_MAX)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	copy(c->key, sizeof(c->key), key);
	copy(c->ext, sizeof(c->ext), ext);
	copy(c->gateway, sizeof(c->gateway), gateway);
	c->tier = tier_of(r, 0);
	LIST_LINK(r->calls, c);
	c->hnext = r->bucket[call_bucket(key)];
	r->bucket[call_bucket(key)] = c;
	r->ncalls++;
	return c;
}

static void call_drop(struct routing *r, struct rcall *gone)
{
	CHAIN_UNLINK(&r->bucket[call_bucket(gone->key)], gone, hnext);
	LIST_UNLINK(r->calls, gone);
	free(gone);
	r->ncalls--;
}

/* ==== running steps and commands ==== */

struct op;
typedef void (*op_fn)(struct routing *r, struct op *o, int err, const struct redis_reply *rep);

/* One step or command in flight, with what its reply handler needs. */
struct op {
	struct routing *r;
	op_fn fn;
	uint64_t conn, request_id;
	char agent[ACCOUNTS_ID_MAX + 1];
	char call[CALL_KEY_MAX];
	char text[PASSWORD_TOKEN_HEX + 1];
	uint64_t n;
	Kefu__Agent *acct;       /* owned: freed with the op */
	struct login_job *job;   /* owned: freed with the op */
	struct stats_req *stats; /* shared by the commands of one RoutingStats */
};

static struct op *op_new(struct routing *r, op_fn fn, uint64_t conn, uint64_t request_id)
{
	struct op *o = calloc(1, sizeof(*o));

	if (!o)
		abort();
	o->r = r;
	o->fn = fn;
	o->conn = conn;
	o->request_id = request_id;
	return o;
}

static void routing_release(struct routing *r);
static void login_job_free(struct login_job *j);
static void stats_drop(struct stats_req *q);

static void op_reply(void *arg, int err, const struct redis_reply *rep)
{
	struct op *o = arg;
	struct routing *r = o->r;

	r->pending--;
	if (!r->dead && o->fn)
		o->fn(r, o, err, rep);
	if (o->acct)
		kefu__agent__free_unpacked(o->acct, NULL);
	if (o->job)
		login_job_free(o->job);
	if (o->stats)
		stats_drop(o->stats);
	free(o);
	if (r->dead && r->pending == 0)
		routing_release(r);
}

/* Keys built for one step. */
struct keys {
	char k[KEYS_MAX][HOT_KEY_MAX];
	const char *p[KEYS_MAX];
	int n;
};

static void keys_add(struct routing *r, struct keys *ks, const char *a, const char *b)
{
	if (ks->n >= KEYS_MAX)
		return;
	hot_key(r->hot, ks->k[ks->n], HOT_KEY_MAX, a, b);
	ks->p[ks->n] = ks->k[ks->n];
	ks->n++;
}

static uint64_t epoch_now(struct routing *r)
{
	uint64_t e = 0;

	(void)election_leader(r->el, &e);
	if (e > r->epoch)
		r->epoch = e;
	return r->epoch;
}

/*
 * Run step id with KEYS epoch + ks and ARGV epoch, now + args. o is taken
 * (its handler runs once, or on a refusal to queue, with the error now).
 */
static void step(struct routing *r, enum routing_script_id id, const struct keys *ks,
		 const char *const *args, int nargs, struct op *o)
{
	const char *argv[ARGV_MAX];
	char ep[NUM_MAX], now[NUM_MAX];
	int argc = 0, err;

	num(ep, epoch_now(r));
	num(now, wall_ms());
	argv[argc++] = r->k_epoch;
	for (int i = 0; i < ks->n; i++)
		argv[argc++] = ks->p[i];
	argv[argc++] = ep;
	argv[argc++] = now;
	for (int i = 0; i < nargs && argc < ARGV_MAX; i++)
		argv[argc++] = args[i];
	r->pending++;
	err = hot_eval(r->hot, id, ks->n + 1, argc, argv, NULL, op_reply, o);
	if (err) {
		r->pending++;
		op_reply(o, err, NULL);
		r->pending--;
	}
}

static void command(struct routing *r, int argc, const char *const *argv, struct op *o)
{
	int err;

	if (!o)
		o = op_new(r, NULL, 0, 0);
	r->pending++;
	err = hot_command(r->hot, argc, argv, NULL, op_reply, o);
	if (err) {
		r->pending++;
		op_reply(o, err, NULL);
		r->pending--;
	}
}

/* A step's failure as text for a log or an Error reply; 0 when it succeeded. */
static int step_failed(int err, const struct redis_reply *rep, char *why, size_t cap)
{
	if (err) {
		snprintf(why, cap, "routing state unavailable: %s", kf_strerror(err));
		return err;
	}
	if (rep->type == REDIS_TYPE_ERROR) {
		snprintf(why, cap, "%s", rep->str);
		return KF_ESTATE;
	}
	return 0;
}

static const char *elem_str(const struct redis_reply *rep, size_t i)
{
	if (!rep || rep->type != REDIS_TYPE_ARRAY || i >= rep->n || !rep->elem[i]->str)
		return "";
	return rep->elem[i]->str;
}

/* ==== subscriber profiles (local replica) ==== */

/* The profile of ani; false when unknown. The caller releases p on true. */
static bool profile_get(struct routing *r, const char *ani, size_t bill_months,
			struct custdb_profile *p)
{
	struct store_txn *t;
	int err;

	memset(p, 0, sizeof(*p));
	if (!ani || !*ani)
		return false;
	err = store_read_begin(r->sto->store, &t);
	if (err)
		return false;
	err = custdb_lookup_msisdn(t, ani, 0, bill_months, p);
	store_abort(t);
	if (err)
		custdb_profile_release(p);
	return err == 0;
}

static bool profile_trusted(const struct custdb_profile *p)
{
	return p->user && trusted_status(p->user->status);
}

/* ==== agents: state changes ==== */

static void agent_keys(struct routing *r, struct keys *ks, const struct ragent *a)
{
	for (size_t i = 0; i < a->sk.n; i++)
		keys_add(r, ks, "ready:", a->sk.v[i].name);
}

/* The keys of route_agent after the agent's: seq, offers and its queues. */
static void agent_route_keys(struct routing *r, struct keys *ks, const struct ragent *a)
{
	keys_add(r, ks, "seq", "");
	keys_add(r, ks, "offers", "");
	for (size_t i = 0; i < a->sk.n; i++)
		keys_add(r, ks, "q:", a->sk.v[i].name);
}

static void send_agent_status(struct routing *r, const struct ragent *a, uint64_t request_id)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__AgentStatus st = KEFU__AGENT_STATUS__INIT;

	st.state = (char *)a->state;
	st.reason = (char *)a->reason;
	st.call_id = (char *)a->call;
	e.body_case = KEFU__ENVELOPE__BODY_AGENT_STATUS;
	e.agent_status = &st;
	send_to(r, a->conn, &e, request_id);
}

static void route_agent(struct routing *r, const struct ragent *a);

/*
 * The agent is no longer ours (another node took it over, or its session
 * ended): its connection here, if any, hears it is logged out with reason,
 * and the mirror forgets it, so that nothing here writes it again.
 */
static void agent_end(struct routing *r, struct ragent *a, const char *reason)
{
	struct rconn *c = conn_by_id(r, a->conn);

	log_info(LOG_ROUTING, "agent dropped agent=%s reason=%s", a->id, reason);
	copy(a->state, sizeof(a->state), "logged_out");
	copy(a->reason, sizeof(a->reason), reason);
	send_agent_status(r, a, 0);
	if (c && strcmp(c->agent, a->id) == 0)
		c->agent[0] = '\0';
	agent_drop(r, a);
}

/* A step refused because another node owns the agent now (OWNED). */
static bool owned_elsewhere(int err, const struct redis_reply *rep)
{
	return !err && redis_reply_is_error(rep, "OWNED");
}

static void presence_set(struct routing *r, const struct ragent *a)
{
	char k[HOT_KEY_MAX], ttl[NUM_MAX];
	const char *argv[] = {"SET", k, a->id, "PX", ttl};

	num(ttl, cfg.presence_ms);
	hot_key(r->hot, k, sizeof(k), "presence:", a->id);
	command(r, 5, argv, NULL);
	if (a->token[0]) {
		const char *sv[] = {"SET", k, a->id, "PX", ttl};

		hot_key(r->hot, k, sizeof(k), "session:", a->token);
		num(ttl, cfg.session_ms);
		command(r, 5, sv, NULL);
	}
}

/* A step for an agent's request came back: answer its error to the agent's
 * connection, or give the agent (NULL when it is gone meanwhile). */
static bool agent_step_ok(struct routing *r, struct op *o, int err, const struct redis_reply *rep,
			  struct ragent **a)
{
	char why[256];

	*a = agent_find(r, o->agent);
	if (step_failed(err, rep, why, sizeof(why))) {
		send_error(r, o->conn, o->request_id, KF_ESTATE, why);
		return false;
	}
	return true;
}

static void on_agent_state(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (!agent_step_ok(r, o, err, rep, &a)) {
		if (a && owned_elsewhere(err, rep))
			agent_end(r, a, "session-moved");
		return;
	}
	if (!a)
		return;
	/* wrap_up_done with offer_ms replies {state, [route_agent's reply]}: routed already. */
	copy(a->state, sizeof(a->state), rep->type == REDIS_TYPE_ARRAY ? elem_str(rep, 0) : rep->str);
	copy(a->reason, sizeof(a->reason), strcmp(a->state, "not_ready") == 0 ? o->text : "");
	send_agent_status(r, a, o->request_id);
	if (strcmp(a->state, "ready") == 0 && rep->type != REDIS_TYPE_ARRAY)
		route_agent(r, a);
	if (strcmp(a->state, "logged_out") == 0) {
		struct rconn *c = conn_by_id(r, a->conn);

		if (c)
			c->agent[0] = '\0';
		agent_drop(r, a);
	}
}

/* agent_state: state with reason, as asked by the agent on conn. */
static void agent_set_state(struct routing *r, struct ragent *a, const char *state,
			    const char *reason, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	char order[NUM_MAX], gen[NUM_MAX];
	struct op *o = op_new(r, on_agent_state, a->conn, request_id);
	const char *args[] = {state, reason ? reason : "", r->self, a->token, a->skills, order, gen};

	num(order, a->order);
	num(gen, a->gen);
	copy(o->agent, sizeof(o->agent), a->id);
	copy(o->text, sizeof(o->text), reason);
	keys_add(r, &ks, "agent:", a->id);
	keys_add(r, &ks, "strategy", "");
	agent_keys(r, &ks, a);
	step(r, ROUTING_SCRIPT_AGENT_STATE, &ks, args, 7, o);
}

static void on_routed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[256];

	(void)r;
	if (step_failed(err, rep, why, sizeof(why)))
		log_warn(LOG_ROUTING, "routing step failed call=%s agent=%s why=\"%s\"", o->call,
			 o->agent, why);
	/* An offer or alert reaches the agent's node as an event. */
}

static void route_agent(struct routing *r, const struct ragent *a)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {offer};
	struct op *o = op_new(r, on_routed, 0, 0);

	num(offer, r->set.offer_ms);
	copy(o->agent, sizeof(o->agent), a->id);
	keys_add(r, &ks, "agent:", a->id);
	keys_add(r, &ks, "strategy", "");
	agent_route_keys(r, &ks, a);
	step(r, ROUTING_SCRIPT_ROUTE_AGENT, &ks, args, 1, o);
}

/* ==== calls ==== */

static void call_keys(struct routing *r, struct keys *ks, const char *prefix,
		      const struct rcall *c, size_t from)
{
	for (size_t i = from; i < c->nskills; i++)
		keys_add(r, ks, prefix, c->tier->ladder[i].skill);
}

static void route_call(struct routing *r, const struct rcall *c)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {offer, "1"};
	struct op *o = op_new(r, on_routed, 0, 0);

	num(offer, r->set.offer_ms);
	copy(o->call, sizeof(o->call), c->key);
	keys_add(r, &ks, "call:", c->key);
	keys_add(r, &ks, "strategy", "");
	keys_add(r, &ks, "seq", "");
	keys_add(r, &ks, "offers", "");
	call_keys(r, &ks, "ready:", c, 0);
	step(r, ROUTING_SCRIPT_ROUTE_CALL, &ks, args, 2, o);
}

/* The call is in Redis, and offered when an agent was ready (arrive). */
static void on_arrived(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = call_find(r, o->call);
	char why[256];

	if (step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "enqueue failed call=%s why=\"%s\"", o->call, why);
		/* Redis unreachable (e.g. failing over): the tick tries again. */
		if (!err)
			send_error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	if (c && !c->state[0])
		copy(c->state, sizeof(c->state), elem_str(rep, 0));
}

/*
 * arrive: the call joins its queues and is offered to the best ready agent
 * in one step, so a call costs one script call (docs/routing.md "Node
 * side"). Run again by the tick while Redis did not take it.
 */
static void arrive(struct routing *r, struct rcall *c, bool verified, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	char arrived[NUM_MAX], tier[NUM_MAX], weight[NUM_MAX], sl[NUM_MAX], offer[NUM_MAX];
	/* verified: the call comes from the subscriber's own, trusted number. */
	const char *args[] = {arrived, tier,	   weight, sl,	  r->self, c->gateway, c->ani,
			      c->service, verified ? "own-number" : "", offer, "1"};
	struct op *o = op_new(r, on_arrived, c->conn, request_id);

	num(arrived, c->arrived_ms);
	num(tier, c->tier->level);
	num(weight, c->tier->weight_ms);
	num(sl, c->tier->sl_ms);
	num(offer, r->set.offer_ms);
	copy(o->call, sizeof(o->call), c->key);
	keys_add(r, &ks, "call:", c->key);
	keys_add(r, &ks, "strategy", "");
	keys_add(r, &ks, "seq", "");
	keys_add(r, &ks, "offers", "");
	call_keys(r, &ks, "q:", c, 0);
	call_keys(r, &ks, "ready:", c, 0);
	step(r, ROUTING_SCRIPT_ARRIVE, &ks, args, 11, o);
}

static void on_call_arrived(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	const Kefu__CallArrived *ca = e->call_arrived;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__IvrPlan plan = KEFU__IVR_PLAN__INIT;
	struct custdb_profile p;
	bool known, verified;
	char greeting[NAME_MAX_ + 16];
	char *sk[LADDER_MAX];
	struct rcall *c;

	if (!id_ok(ca->call_id, ROUTING_CALL_ID_MAX, true) || !ca->ani || !*ca->ani ||
	    strlen(ca->ani) >= TEXT_MAX || !ca->service || strlen(ca->service) >= TEXT_MAX) {
		send_error(r, rc->id, e->request_id, KF_EPARSE,
			   "CallArrived needs a call_id ([A-Za-z0-9_.:-]{1,64}), ani and service");
		return;
	}
	/* Backpressure: past busy_at steps in flight, Redis replies would come
	 * later and later until the command timeout drops the connection with
	 * every step on it. A call refused here was never taken; the gateway
	 * presents it again. */
	if (r->pending >= r->set.busy_at) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 1);

		log_ratelimited(&rl, LOG_ROUTING, LOG_LVL_WARN, "busy: call refused pending=%u",
				r->pending);
		send_error(r, rc->id, e->request_id, -EBUSY,
			   "busy: too many routing steps in flight on this node; try again");
		return;
	}
	c = call_add(r, rc->gateway, ca->call_id);
	if (!c) {
		send_error(r, rc->id, e->request_id, KF_ETOOBIG, "too many live calls on this node");
		return;
	}
	known = profile_get(r, ca->ani, 0, &p);
	c->tier = tier_of(r, known && p.cust ? p.cust->vip_level : 0);
	verified = known && profile_trusted(&p);
	c->verified = verified;
	copy(c->ani, sizeof(c->ani), ca->ani);
	copy(c->service, sizeof(c->service), ca->service);
	c->conn = rc->id;
	if (!c->arrived_ms) {
		c->arrived_ms = wall_ms();
		c->nskills = 0;
		while (c->nskills < c->tier->nladder && c->tier->ladder[c->nskills].after_ms == 0)
			c->nskills++;
	}
	plan.call_id = ca->call_id;
	plan.plan = (char *)(known && p.user->status == ARREARS_STATUS ? ARREARS_PLAN : c->tier->plan);
	greeting[0] = '\0';
	if (known && c->tier->greeting && p.cust && p.cust->name)
		snprintf(greeting, sizeof(greeting), "%s您好", p.cust->name);
	plan.greeting = greeting;
	plan.has_tier = plan.has_known = 1;
	plan.tier = c->tier->level;
	plan.known = known;
	for (size_t i = 0; i < c->nskills; i++)
		sk[i] = (char *)c->tier->ladder[i].skill;
	plan.n_skills = c->nskills;
	plan.skills = sk;
	out.body_case = KEFU__ENVELOPE__BODY_IVR_PLAN;
	out.ivr_plan = &plan;
	send_to(r, rc->id, &out, e->request_id);
	if (known)
		custdb_profile_release(&p);
	log_debug(LOG_ROUTING, "call arrived call=%s tier=%s plan=%s", c->key, c->tier->name,
		  plan.plan);
	arrive(r, c, verified, 0);
}

/* ==== events from the steps (events:<self>) ==== */

/* The Offer (or alert) to agent a: the call and the caller's profile. */
static void send_offer(struct routing *r, struct ragent *a, const char *call, uint64_t deadline,
		       unsigned tier, const char *skill, bool alert)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__Offer of = KEFU__OFFER__INIT;
	struct custdb_profile p;
	bool known = profile_get(r, a->ani, 0, &p);

	of.call_id = (char *)call;
	of.has_deadline_ms = deadline != 0;
	of.deadline_ms = deadline;
	of.has_tier = 1;
	of.tier = tier;
	of.ani = a->ani;
	of.skill = (char *)skill;
	of.has_alert = 1;
	of.alert = alert;
	of.has_verified = 1;
	of.verified = known && profile_trusted(&p);
	if (known) {
		of.user = p.user;
		of.customer = p.cust;
	}
	e.body_case = KEFU__ENVELOPE__BODY_OFFER;
	e.offer = &of;
	send_to(r, a->conn, &e, 0);
	if (known)
		custdb_profile_release(&p);
}

static void send_revoked(struct routing *r, const struct ragent *a, const char *call,
			 const char *why)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__OfferRevoked rv = KEFU__OFFER_REVOKED__INIT;

	rv.call_id = (char *)call;
	rv.reason = (char *)why;
	e.body_case = KEFU__ENVELOPE__BODY_OFFER_REVOKED;
	e.offer_revoked = &rv;
	send_to(r, a->conn, &e, 0);
}

static const char *jstr(json_t *ev, const char *name)
{
	const char *s = json_string_value(json_object_get(ev, name));

	return s ? s : "";
}

static uint64_t jnum(json_t *ev, const char *name)
{
	json_t *v = json_object_get(ev, name);

	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v))
		return (uint64_t)json_real_value(v);
	return parse_u64(json_string_value(v));
}

/* The agent's state and reason again from Redis, told to the agent. */
static void on_agent_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a = agent_find(r, o->agent);

	if (err || !a || rep->type != REDIS_TYPE_ARRAY || rep->n != 3)
		return;
	copy(a->state, sizeof(a->state), elem_str(rep, 0));
	copy(a->reason, sizeof(a->reason), elem_str(rep, 1));
	copy(a->call, sizeof(a->call), elem_str(rep, 2));
	send_agent_status(r, a, 0);
	if (strcmp(a->state, "ready") == 0)
		route_agent(r, a);
}

static void agent_refresh(struct routing *r, const struct ragent *a)
{
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HMGET", k, "state", "reason", "call"};
	struct op *o = op_new(r, on_agent_read, 0, 0);

	copy(o->agent, sizeof(o->agent), a->id);
	hot_key(r->hot, k, sizeof(k), "agent:", a->id);
	command(r, 5, argv, o);
}

static void ev_offer(struct routing *r, json_t *ev, bool alert)
{
	struct ragent *a = agent_find(r, jstr(ev, "agent"));

	if (!a)
		return;
	copy(a->call, sizeof(a->call), jstr(ev, "call"));
	copy(a->ani, sizeof(a->ani), jstr(ev, "ani"));
	a->alert = alert;
	if (!alert)
		copy(a->state, sizeof(a->state), "reserved");
	send_offer(r, a, a->call, jnum(ev, "deadline_ms"), (unsigned)jnum(ev, "tier"),
		   jstr(ev, "skill"), alert);
}

static void ev_reserved(struct routing *r, json_t *ev)
{
	ev_offer(r, ev, false);
}

static void ev_alert(struct routing *r, json_t *ev)
{
	ev_offer(r, ev, true);
}

/* An offer or alert ended without this agent: timeout, rejected, abandoned, claimed. */
static void ev_offer_end(struct routing *r, json_t *ev)
{
	struct ragent *a = agent_find(r, jstr(ev, "agent"));
	const char *why = json_object_get(ev, "why") ? jstr(ev, "why") : "claimed";

	if (!a)
		return;
	send_revoked(r, a, jstr(ev, "call"), why);
	if (strcmp(a->call, jstr(ev, "call")) == 0) {
		a->call[0] = '\0';
		a->alert = false;
	}
	agent_refresh(r, a);
}

/* A call of ours is back in its queues (its offer ended): route it again. */
static void ev_requeued(struct routing *r, json_t *ev)
{
	struct rcall *c = call_find(r, jstr(ev, "call"));

	if (!c)
		return;
	copy(c->state, sizeof(c->state), "queued");
	c->agent[0] = '\0';
	route_call(r, c);
}

static void send_connect(struct routing *r, const struct rcall *c)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__ConnectCall cc = KEFU__CONNECT_CALL__INIT;

	cc.call_id = (char *)c->ext;
	cc.agent_id = (char *)c->agent;
	e.body_case = KEFU__ENVELOPE__BODY_CONNECT_CALL;
	e.connect_call = &cc;
	send_to(r, c->conn, &e, 0);
}

/* A call of ours was answered: the gateway bridges it to the agent. */
static void ev_answered(struct routing *r, json_t *ev)
{
	struct rcall *c = call_find(r, jstr(ev, "call"));

	if (!c)
		return;
	copy(c->state, sizeof(c->state), "answered");
	copy(c->agent, sizeof(c->agent), jstr(ev, "agent"));
	c->answered_ms = wall_ms();
	send_connect(r, c);
	log_info(LOG_ROUTING, "call connected call=%s agent=%s", c->key, c->agent);
}

static void ev_wrap_up(struct routing *r, json_t *ev)
{
	struct ragent *a = agent_find(r, jstr(ev, "agent"));

	if (!a)
		return;
	copy(a->state, sizeof(a->state), "wrap_up");
	a->wrap_until_ms = jnum(ev, "wrap_until_ms");
	send_agent_status(r, a, 0);
}

/* The agent ended a call of ours: tell the gateway. (Published by a node.) */
static void ev_ended(struct routing *r, json_t *ev)
{
	struct rcall *c = call_find(r, jstr(ev, "call"));
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallEnded ce = KEFU__CALL_ENDED__INIT;

	if (!c)
		return;
	ce.call_id = c->ext;
	ce.reason = (char *)"agent";
	e.body_case = KEFU__ENVELOPE__BODY_CALL_ENDED;
	e.call_ended = &ce;
	send_to(r, c->conn, &e, 0);
	call_drop(r, c);
}

/* The agent logged in again through another node: this session is over. */
static void ev_session_ended(struct routing *r, json_t *ev)
{
	struct ragent *a = agent_find(r, jstr(ev, "agent"));

	if (a && strcmp(a->token, jstr(ev, "session")) == 0)
		agent_end(r, a, "session-ended");
}

/* Another node took the agent or the call over (a resume there): drop our
 * entry, unless we took it back since (a newer generation than the event's). */
static void ev_owner_moved(struct routing *r, json_t *ev)
{
	struct ragent *a = agent_find(r, jstr(ev, "agent"));
	struct rcall *c = call_find(r, jstr(ev, "call"));
	bool other = strcmp(jstr(ev, "owner"), r->self) != 0;

	if (a && other && a->gen < jnum(ev, "gen"))
		agent_end(r, a, "session-moved");
	if (c && other && c->gen < jnum(ev, "gen")) {
		log_info(LOG_ROUTING, "call moved call=%s owner=%s", c->key, jstr(ev, "owner"));
		call_drop(r, c);
	}
}

static const struct event_kind {
	const char *type;
	void (*fn)(struct routing *r, json_t *ev);
} event_kinds[] = {
	{"offer", ev_reserved},
	{"alert", ev_alert},
	{"alert_end", ev_offer_end},
	{"offer_end", ev_offer_end},
	{"requeued", ev_requeued},
	{"answered", ev_answered},
	{"wrap_up", ev_wrap_up},
	{"ended", ev_ended},
	{"session_ended", ev_session_ended},
	{"owner_moved", ev_owner_moved},
};

static void on_event(void *arg, const char *payload, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
	struct routing *r = arg;
	json_t *ev = json_loadb(payload, len, 0, NULL);
	const char *type = jstr(ev, "type");

	for (size_t i = 0; ev && i < sizeof(event_kinds) / sizeof(event_kinds[0]); i++) {
		if (strcmp(event_kinds[i].type, type) == 0) {
			log_debug(LOG_ROUTING, "event type=%s call=%s agent=%s", type, jstr(ev, "call"),
				  jstr(ev, "agent"));
			event_kinds[i].fn(r, ev);
			json_decref(ev);
			return;
		}
	}
	log_ratelimited(&rl, LOG_ROUTING, LOG_LVL_WARN, "unknown event len=%zu", len);
	json_decref(ev);
}

/* ==== agents: login and resume ==== */

static void send_login_reply(struct routing *r, const struct ragent *a, uint64_t request_id)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__LoginReply lr = KEFU__LOGIN_REPLY__INIT;

	lr.token = (char *)a->token;
	lr.agent_id = (char *)a->id;
	lr.name = (char *)a->name;
	lr.skills = (char *)a->skills;
	lr.state = (char *)a->state;
	lr.call_id = (char *)a->call;
	e.body_case = KEFU__ENVELOPE__BODY_LOGIN_REPLY;
	e.login_reply = &lr;
	send_to(r, a->conn, &e, request_id);
}

/* The agent a of account acct is ours from now on, on connection conn. */
static struct ragent *agent_take(struct routing *r, const Kefu__Agent *acct, const char *token,
				 uint64_t conn)
{
	struct ragent *a = agent_add(r, acct->id);
	struct rconn *c = conn_by_id(r, conn);

	if (!a)
		return NULL;
	copy(a->name, sizeof(a->name), acct->name);
	copy(a->skills, sizeof(a->skills), acct->skills);
	if (accounts_skills_parse(a->skills, strlen(a->skills), &a->sk, NULL, 0) != 0)
		a->sk.n = 0;
	a->order = acct->has_order ? acct->order : 0;
	copy(a->token, sizeof(a->token), token);
	if (a->conn && a->conn != conn) {
		/* A new session on another connection here ends the old one. */
		struct rconn *old = conn_by_id(r, a->conn);

		if (old && strcmp(old->agent, a->id) == 0) {
			copy(a->state, sizeof(a->state), "logged_out");
			copy(a->reason, sizeof(a->reason), "session-ended");
			send_agent_status(r, a, 0);
			old->agent[0] = '\0';
		}
	}
	a->conn = conn;
	if (c)
		copy(c->agent, sizeof(c->agent), a->id);
	return a;
}

static void on_resume_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep);

/* The agent fields a login or resume reads before taking the agent over. */
#define AGENT_READ_FIELDS "state", "reason", "call", "wrap_until_ms", "ani", "session", "owner"
#define AGENT_READ_N 7

static void agent_read(struct routing *r, struct op *o, const char *id)
{
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HMGET", k, AGENT_READ_FIELDS};

	hot_key(r->hot, k, sizeof(k), "agent:", id);
	command(r, 2 + AGENT_READ_N, argv, o);
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
	command(r, 2, del, NULL);
	o = op_new(r, on_resume_read, j->conn, j->request_id);
	if (password_token(o->text) != 0) {
		free(o);
		send_error(r, j->conn, j->request_id, KF_EINTERNAL, "cannot make a session");
		return;
	}
	o->acct = j->acct;
	j->acct = NULL;
	o->n = 1; /* a login, not a resume */
	copy(o->agent, sizeof(o->agent), o->acct->id);
	agent_read(r, o, o->acct->id);
}

static void on_fail_counted(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char msg[160];

	if (!err && rep->type == REDIS_TYPE_INTEGER && rep->integer >= (long long)r->set.lock_after)
		snprintf(msg, sizeof(msg), "account locked after %llu failed logins; try again in %llu s",
			 (unsigned long long)r->set.lock_after, (unsigned long long)r->set.lock_ms / 1000);
	else
		snprintf(msg, sizeof(msg), "wrong agent id or password");
	send_error(r, o->conn, o->request_id, KF_ESTATE, msg);
}

static void login_refuse(struct routing *r, struct login_job *j)
{
	static struct log_ratelimit login_rl = LOG_RATELIMIT_INIT(10000, 10);
	char k[HOT_KEY_MAX], ttl[NUM_MAX];
	const char *incr[] = {"INCR", k};
	const char *px[] = {"PEXPIRE", k, ttl};
	struct op *o = op_new(r, on_fail_counted, j->conn, j->request_id);

	num(ttl, r->set.lock_ms);
	hot_key(r->hot, k, sizeof(k), "loginfail:", j->id);
	command(r, 2, incr, o);
	command(r, 3, px, NULL);
	log_ratelimited(&login_rl, LOG_ROUTING, LOG_LVL_INFO, "login refused agent=%s", j->id);
}

static void *login_main(void *arg)
{
	struct login_job *j = arg;
	struct routing *r = j->r;

	j->ok = j->acct && j->acct->has_enabled && j->acct->enabled && j->acct->password_hash &&
		password_matches(j->pw, j->pwlen, j->acct->password_hash);
	pthread_mutex_lock(&r->mu);
	j->next = r->done;
	r->done = j;
	r->threads--;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	loop_wake(r->wake);
	return NULL;
}

static void login_job_free(struct login_job *j)
{
	if (j->pw) {
		memset(j->pw, 0, j->pwlen);
		free(j->pw);
	}
	if (j->acct)
		kefu__agent__free_unpacked(j->acct, NULL);
	free(j);
}

static void on_login_checked(void *arg)
{
	struct routing *r = arg;
	struct login_job *j;

	pthread_mutex_lock(&r->mu);
	j = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->mu);
	while (j) {
		struct login_job *next = j->next;

		if (!r->dead) {
			if (j->ok)
				login_accept(r, j);
			else
				login_refuse(r, j);
		}
		login_job_free(j);
		j = next;
	}
}

/* The failure count said whether the account is locked; if not, check the
 * password on a thread (hashing is slow on purpose). */
static void on_fail_count(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct login_job *j = o->job;
	pthread_t th;
	char msg[160];

	if (err) {
		send_error(r, o->conn, o->request_id, err, "routing state unavailable; retry");
		return;
	}
	if (rep->type == REDIS_TYPE_STRING && parse_u64(rep->str) >= r->set.lock_after) {
		snprintf(msg, sizeof(msg), "account locked after %llu failed logins; try again later",
			 (unsigned long long)r->set.lock_after);
		send_error(r, o->conn, o->request_id, KF_ESTATE, msg);
		return;
	}
	o->job = NULL;
	pthread_mutex_lock(&r->mu);
	r->threads++;
	pthread_mutex_unlock(&r->mu);
	if (pthread_create(&th, NULL, login_main, j) != 0) {
		pthread_mutex_lock(&r->mu);
		r->threads--;
		pthread_mutex_unlock(&r->mu);
		send_error(r, o->conn, o->request_id, KF_EINTERNAL, "cannot check the password now");
		login_job_free(j);
		return;
	}
	pthread_detach(th);
}

static void on_login(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	const Kefu__Login *lg = e->login;
	char k[HOT_KEY_MAX];
	const char *argv[] = {"GET", k};
	struct login_job *j;
	struct store_txn *t;
	struct op *o;

	if (!lg->agent_id || !accounts_id_is_valid(lg->agent_id) || !lg->password ||
	    strlen(lg->password) > PASSWORD_LEN_MAX) {
		send_error(r, rc->id, e->request_id, KF_EPARSE, "Login needs agent_id and password");
		return;
	}
	if (rc->agent[0]) {
		send_error(r, rc->id, e->request_id, KF_ESTATE, "already logged in on this connection");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->r = r;
	j->conn = rc->id;
	j->request_id = e->request_id;
	copy(j->id, sizeof(j->id), lg->agent_id);
	j->pwlen = strlen(lg->password);
	j->pw = strdup(lg->password);
	if (!j->pw)
		abort();
	if (store_read_begin(r->sto->store, &t) == 0) {
		if (accounts_get(t, j->id, &j->acct) != 0)
			j->acct = NULL;
		store_abort(t);
	}
	o = op_new(r, on_fail_count, rc->id, e->request_id);
	o->job = j;
	hot_key(r->hot, k, sizeof(k), "loginfail:", j->id);
	command(r, 2, argv, o);
}

/* Resume, step 3: the agent is ours again. */
static void on_resumed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (!agent_step_ok(r, o, err, rep, &a))
		return;
	if (!a)
		return;
	copy(a->state, sizeof(a->state), elem_str(rep, 0));
	a->gen = parse_u64(elem_str(rep, 1));
	presence_set(r, a);
	send_login_reply(r, a, o->request_id);
	log_info(LOG_ROUTING, "agent resumed agent=%s state=%s", a->id, a->state);
	if (strcmp(a->state, "ready") == 0)
		route_agent(r, a);
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
	command(r, 2, del, NULL);
	if (!*owner || strcmp(owner, r->self) == 0)
		return; /* ours: agent_take ended it */
	hot_key(r->hot, k, sizeof(k), "events:", owner);
	snprintf(msg, sizeof(msg), "{\"type\":\"session_ended\",\"agent\":\"%s\",\"session\":\"%s\"}",
		 agent, old);
	command(r, 3, pub, NULL);
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
	char order[NUM_MAX];
	const char *old = elem_str(rep, 5);
	bool login = o->n != 0;
	struct ragent *a;
	struct op *next;

	if (err || rep->type != REDIS_TYPE_ARRAY || rep->n != AGENT_READ_N) {
		send_error(r, o->conn, o->request_id, err ? err : KF_EINTERNAL,
			   "routing state unavailable; retry");
		return;
	}
	a = agent_take(r, o->acct, o->text, o->conn);
	if (!a) {
		send_error(r, o->conn, o->request_id, KF_ETOOBIG, "too many agents on this node");
		return;
	}
	if (login && *old && strcmp(old, o->text) != 0)
		session_end(r, a->id, old, elem_str(rep, 6));
	if (login && !state_outlives_session(elem_str(rep, 0))) {
		copy(a->state, sizeof(a->state), "not_ready");
		copy(a->reason, sizeof(a->reason), "login");
		a->call[0] = '\0';
		a->wrap_until_ms = 0;
	} else {
		copy(a->state, sizeof(a->state), *elem_str(rep, 0) ? elem_str(rep, 0) : "not_ready");
		copy(a->reason, sizeof(a->reason), elem_str(rep, 1));
		copy(a->call, sizeof(a->call), elem_str(rep, 2));
		a->wrap_until_ms = parse_u64(elem_str(rep, 3));
	}
	copy(a->ani, sizeof(a->ani), elem_str(rep, 4));
	{
		char wrap[NUM_MAX];
		const char *args[] = {a->state, a->reason, r->self, a->token, a->skills, order,
				      a->call, wrap, "take", ""};

		num(order, a->order);
		num(wrap, a->wrap_until_ms);
		next = op_new(r, on_resumed, o->conn, o->request_id);
		copy(next->agent, sizeof(next->agent), a->id);
		keys_add(r, &ks, "agent:", a->id);
		keys_add(r, &ks, "strategy", "");
		agent_keys(r, &ks, a);
		step(r, ROUTING_SCRIPT_REASSERT_AGENT, &ks, args, 10, next);
	}
}

/* Resume, step 1: whose session the token is. */
static void on_session(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct store_txn *t;
	struct op *next;
	Kefu__Agent *acct = NULL;

	if (err || rep->type != REDIS_TYPE_STRING || !accounts_id_is_valid(rep->str)) {
		send_error(r, o->conn, o->request_id, err ? err : KF_ENOTFOUND,
			   err ? "routing state unavailable; retry" : "no such session; log in");
		return;
	}
	if (store_read_begin(r->sto->store, &t) == 0) {
		if (accounts_get(t, rep->str, &acct) != 0)
			acct = NULL;
		store_abort(t);
	}
	if (!acct || !acct->has_enabled || !acct->enabled) {
		if (acct)
			kefu__agent__free_unpacked(acct, NULL);
		send_error(r, o->conn, o->request_id, KF_ESTATE, "the account is disabled or gone");
		return;
	}
	next = op_new(r, on_resume_read, o->conn, o->request_id);
	next->acct = acct;
	copy(next->agent, sizeof(next->agent), acct->id);
	copy(next->text, sizeof(next->text), o->text);
	agent_read(r, next, acct->id);
}

static void on_session_resume(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	const char *token = e->session_resume->token;
	char k[HOT_KEY_MAX];
	const char *argv[] = {"GET", k};
	struct op *o;

	if (!token || strlen(token) != PASSWORD_TOKEN_HEX || rc->agent[0]) {
		send_error(r, rc->id, e->request_id, KF_EPARSE,
			   "SessionResume needs a session token, on a connection not logged in");
		return;
	}
	o = op_new(r, on_session, rc->id, e->request_id);
	copy(o->text, sizeof(o->text), token);
	hot_key(r->hot, k, sizeof(k), "session:", token);
	command(r, 2, argv, o);
}

/* ==== agents: calls ==== */

static struct ragent *agent_of(struct routing *r, struct rconn *rc)
{
	return agent_find(r, rc->agent);
}

static void on_set_state(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	static const char *const allowed[] = {"ready", "not_ready", "logged_out"};
	const Kefu__SetAgentState *ss = e->set_agent_state;
	struct ragent *a = agent_of(r, rc);

	for (size_t i = 0; a && ss->state && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(ss->state, allowed[i]) != 0)
			continue;
		if (ss->reason && strlen(ss->reason) >= TEXT_MAX)
			break;
		if (strcmp(ss->state, "logged_out") == 0 && a->token[0]) {
			char k[HOT_KEY_MAX];
			const char *argv[] = {"DEL", k};

			hot_key(r->hot, k, sizeof(k), "session:", a->token);
			command(r, 2, argv, NULL);
		}
		agent_set_state(r, a, ss->state, ss->reason, e->request_id);
		return;
	}
	send_error(r, rc->id, e->request_id, KF_EPARSE,
		   "state is ready, not_ready (with a short reason) or logged_out");
}

/* The agent's call must be call_id; on_call or reserved as asked. */
static struct ragent *agent_on(struct routing *r, struct rconn *rc, const char *call_id,
			       uint64_t request_id)
{
	struct ragent *a = agent_of(r, rc);

	if (a && call_id && a->call[0] && strcmp(a->call, call_id) == 0)
		return a;
	send_error(r, rc->id, request_id, KF_ESTATE, "that call is not yours");
	return NULL;
}

static void on_answered(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (!agent_step_ok(r, o, err, rep, &a))
		return;
	if (!a)
		return;
	copy(a->state, sizeof(a->state), "on_call");
	a->alert = false;
	send_agent_status(r, a, o->request_id);
}

static void answer(struct routing *r, const struct ragent *a, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	struct op *o = op_new(r, on_answered, a->conn, request_id);

	copy(o->agent, sizeof(o->agent), a->id);
	keys_add(r, &ks, "call:", a->call);
	keys_add(r, &ks, "agent:", a->id);
	keys_add(r, &ks, "offers", "");
	step(r, ROUTING_SCRIPT_ANSWER, &ks, NULL, 0, o);
}

/* A ringing call claimed: the winner answers at once. */
static void on_claimed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a = agent_find(r, o->agent);
	char why[256];

	if (step_failed(err, rep, why, sizeof(why)) || rep->type == REDIS_TYPE_NIL) {
		send_error(r, o->conn, o->request_id, KF_ESTATE,
			   rep && rep->type == REDIS_TYPE_NIL ? "the call was taken" : why);
		return;
	}
	if (a)
		answer(r, a, o->request_id);
}

static void on_answer_call(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct ragent *a = agent_on(r, rc, e->answer_call->call_id, e->request_id);
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {offer};
	struct op *o;

	if (!a)
		return;
	if (!a->alert) {
		answer(r, a, e->request_id);
		return;
	}
	num(offer, r->set.offer_ms);
	o = op_new(r, on_claimed, rc->id, e->request_id);
	copy(o->agent, sizeof(o->agent), a->id);
	keys_add(r, &ks, "call:", a->call);
	keys_add(r, &ks, "agent:", a->id);
	keys_add(r, &ks, "strategy", "");
	keys_add(r, &ks, "seq", "");
	keys_add(r, &ks, "offers", "");
	step(r, ROUTING_SCRIPT_CLAIM, &ks, args, 1, o);
}

static void on_rejected(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct ragent *a;

	if (!agent_step_ok(r, o, err, rep, &a))
		return;
	if (a) {
		a->call[0] = '\0';
		agent_refresh(r, a);
	}
}

static void on_reject_call(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct ragent *a = agent_on(r, rc, e->reject_call->call_id, e->request_id);
	struct keys ks = {.n = 0};
	const char *args[] = {"not_ready", "rejected"};
	struct op *o;

	if (!a)
		return;
	o = op_new(r, on_rejected, rc->id, e->request_id);
	copy(o->agent, sizeof(o->agent), a->id);
	keys_add(r, &ks, "call:", a->call);
	keys_add(r, &ks, "agent:", a->id);
	keys_add(r, &ks, "strategy", "");
	keys_add(r, &ks, "offers", "");
	step(r, ROUTING_SCRIPT_REJECT, &ks, args, 2, o);
}

/* After an agent's hangup: the call's owner tells its gateway. */
static void on_call_owner(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char k[HOT_KEY_MAX], msg[CALL_KEY_MAX + 64];
	const char *argv[] = {"PUBLISH", k, msg};

	if (err || rep->type != REDIS_TYPE_STRING || !*rep->str)
		return;
	hot_key(r->hot, k, sizeof(k), "events:", rep->str);
	snprintf(msg, sizeof(msg), "{\"type\":\"ended\",\"call\":\"%s\"}", o->call);
	command(r, 3, argv, NULL);
}

static void on_hung_up(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[256], k[HOT_KEY_MAX];
	const char *argv[] = {"HGET", k, "owner"};
	struct op *next;

	if (step_failed(err, rep, why, sizeof(why))) {
		send_error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	next = op_new(r, on_call_owner, 0, 0);
	copy(next->call, sizeof(next->call), o->call);
	hot_key(r->hot, k, sizeof(k), "call:", o->call);
	command(r, 3, argv, next);
}

static void hangup(struct routing *r, const char *call, const char *agent, uint64_t conn,
		   uint64_t request_id, bool tell_gateway)
{
	struct keys ks = {.n = 0};
	char wrap[NUM_MAX], keep[NUM_MAX];
	const char *args[] = {wrap, keep};
	struct op *o = op_new(r, tell_gateway ? on_hung_up : on_routed, conn, request_id);

	num(wrap, r->set.wrap_ms);
	num(keep, cfg.keep_ms);
	copy(o->call, sizeof(o->call), call);
	copy(o->agent, sizeof(o->agent), agent);
	keys_add(r, &ks, "call:", call);
	keys_add(r, &ks, "agent:", agent);
	step(r, ROUTING_SCRIPT_HANGUP, &ks, args, 2, o);
}

static void on_hangup_call(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct ragent *a = agent_on(r, rc, e->hangup_call->call_id, e->request_id);

	if (a)
		hangup(r, a->call, a->id, rc->id, e->request_id, true);
}

/*
 * wrap_up_done, with route_agent's work in the same step (offer_ms and the
 * agent's queues): an agent ready again is offered the best waiting call
 * without a second round trip.
 */
static void wrap_up_done(struct routing *r, struct ragent *a, bool ready, uint64_t request_id)
{
	struct keys ks = {.n = 0};
	char offer[NUM_MAX];
	const char *args[] = {ready ? "ready" : "not_ready", ready ? "" : "wrap-up", offer};
	struct op *o = op_new(r, on_agent_state, a->conn, request_id);

	num(offer, r->set.offer_ms);
	copy(o->agent, sizeof(o->agent), a->id);
	copy(o->text, sizeof(o->text), args[1]);
	a->call[0] = '\0';
	a->wrap_until_ms = 0;
	keys_add(r, &ks, "agent:", a->id);
	keys_add(r, &ks, "strategy", "");
	agent_keys(r, &ks, a);
	agent_route_keys(r, &ks, a);
	step(r, ROUTING_SCRIPT_WRAP_UP_DONE, &ks, args, 3, o);
}

static void on_wrap_up_done(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct ragent *a = agent_of(r, rc);

	if (a)
		wrap_up_done(r, a, !e->wrap_up_done->has_ready || e->wrap_up_done->ready,
			     e->request_id);
}

/* ==== identity and bills ==== */

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
static void on_bills_audited(void *arg, int err)
{
	struct op *o = arg;
	struct routing *r = o->r;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__BillsReply br = KEFU__BILLS_REPLY__INIT;
	struct custdb_profile p;
	struct custdb_cdrs cd;

	r->pending--;
	if (r->dead)
		goto out;
	if (err) {
		send_error(r, o->conn, o->request_id, err,
			   "the access could not be written to the audit log; no bills shown");
		goto out;
	}
	if (!profile_get(r, o->text, o->n, &p)) {
		send_error(r, o->conn, o->request_id, KF_ENOTFOUND, "no such subscriber");
		goto out;
	}
	cdrs_get(r, p.user->user_id, o->n, &cd);
	br.n_bills = p.nbill;
	br.bills = p.bill;
	br.n_cdrs = cd.n;
	br.cdrs = cd.cdr;
	e.body_case = KEFU__ENVELOPE__BODY_BILLS_REPLY;
	e.bills_reply = &br;
	send_to(r, o->conn, &e, o->request_id);
	custdb_profile_release(&p);
	custdb_cdrs_release(&cd);
out:
	free(o);
	if (r->dead && r->pending == 0)
		routing_release(r);
}

/* Bills, step 2: how the call was verified, if it was. */
static void on_verified_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char detail[AUDIT_DETAIL_MAX + 1];
	struct op *next;
	int e;

	if (err) {
		send_error(r, o->conn, o->request_id, err, "routing state unavailable; retry");
		return;
	}
	if (rep->type != REDIS_TYPE_STRING || !*rep->str) {
		send_error(r, o->conn, o->request_id, KF_ESTATE,
			   "identity not verified: bills and CDRs need a verified caller");
		return;
	}
	snprintf(detail, sizeof(detail), "call=%s months=%llu verified=%s", o->call,
		 (unsigned long long)o->n, rep->str);
	next = op_new(r, NULL, o->conn, o->request_id);
	copy(next->text, sizeof(next->text), o->text);
	next->n = o->n;
	r->pending++;
	e = server_audit(r->server, o->agent, "view_bills", o->text, detail, on_bills_audited, next);
	if (e) {
		r->pending--;
		free(next);
		send_error(r, o->conn, o->request_id, e, "the audit log cannot be written now");
	}
}

static void on_bills_request(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	const Kefu__BillsRequest *br = e->bills_request;
	struct ragent *a = agent_on(r, rc, br->call_id, e->request_id);
	char k[HOT_KEY_MAX];
	const char *argv[] = {"HGET", k, "verified"};
	struct op *o;

	if (!a)
		return;
	o = op_new(r, on_verified_read, rc->id, e->request_id);
	copy(o->agent, sizeof(o->agent), a->id);
	copy(o->call, sizeof(o->call), a->call);
	copy(o->text, sizeof(o->text), a->ani);
	o->n = br->has_months && br->months ? (br->months > 24 ? 24 : br->months) : 3;
	hot_key(r->hot, k, sizeof(k), "call:", a->call);
	command(r, 3, argv, o);
}

static void on_verify_audited(void *arg, int err)
{
	struct op *o = arg;
	struct routing *r = o->r;

	r->pending--;
	if (!r->dead)
		send_ack(r, o->conn, o->request_id, err == 0,
			 err ? "the check could not be written to the audit log" : "recorded");
	free(o);
	if (r->dead && r->pending == 0)
		routing_release(r);
}

/* The agent's identity check: recorded on the call (a pass) and audited. */
static void on_verify_identity(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	static const char *const methods[] = {"password", "data"};
	const Kefu__VerifyIdentity *vi = e->verify_identity;
	struct ragent *a = agent_on(r, rc, vi->call_id, e->request_id);
	bool passed = vi->has_passed && vi->passed;
	char detail[AUDIT_DETAIL_MAX + 1], k[HOT_KEY_MAX];
	const char *argv[] = {"HSET", k, "verified", vi->method};
	struct op *o;
	size_t i;
	int err;

	if (!a)
		return;
	for (i = 0; vi->method && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(vi->method, methods[i]) == 0)
			break;
	if (!vi->method || i == sizeof(methods) / sizeof(methods[0])) {
		send_error(r, rc->id, e->request_id, KF_EPARSE, "method is password or data");
		return;
	}
	if (passed) {
		hot_key(r->hot, k, sizeof(k), "call:", a->call);
		command(r, 4, argv, NULL);
	}
	snprintf(detail, sizeof(detail), "call=%s method=%s passed=%s", a->call, vi->method,
		 passed ? "yes" : "no");
	o = op_new(r, NULL, rc->id, e->request_id);
	r->pending++;
	err = server_audit(r->server, a->id, "verify_identity", a->ani, detail, on_verify_audited, o);
	if (err) {
		r->pending--;
		free(o);
		send_error(r, rc->id, e->request_id, err, "the audit log cannot be written now");
	}
}

/* ==== gateways ==== */

static struct rcall *gateway_call(struct routing *r, struct rconn *rc, const char *ext,
				  uint64_t request_id)
{
	char key[CALL_KEY_MAX];
	struct rcall *c = NULL;

	if (id_ok(ext, ROUTING_CALL_ID_MAX, true)) {
		snprintf(key, sizeof(key), "%s:%s", rc->gateway, ext);
		c = call_find(r, key);
	}
	if (!c)
		send_error(r, rc->id, request_id, KF_ENOTFOUND, "no such live call of this gateway here");
	return c;
}

/* abandon: the call ends unanswered (outcome); with owner, only while it is
 * still owner's (its gateway did not resume on another node). */
static void abandon(struct routing *r, const struct rcall *c, const char *owner,
		    const char *outcome)
{
	struct keys ks = {.n = 0};
	char keep[NUM_MAX];
	const char *args[] = {keep, owner ? owner : "", outcome};
	struct op *o = op_new(r, on_routed, 0, 0);

	num(keep, cfg.keep_ms);
	copy(o->call, sizeof(o->call), c->key);
	keys_add(r, &ks, "call:", c->key);
	keys_add(r, &ks, "strategy", "");
	keys_add(r, &ks, "offers", "");
	step(r, ROUTING_SCRIPT_ABANDON, &ks, args, 3, o);
}

static void on_call_ended(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct rcall *c = gateway_call(r, rc, e->call_ended->call_id, e->request_id);

	if (!c)
		return;
	if (strcmp(c->state, "answered") == 0) {
		hangup(r, c->key, c->agent, 0, 0, false);
	} else {
		abandon(r, c, NULL, "caller");
	}
	log_debug(LOG_ROUTING, "call ended by the caller call=%s state=%s", c->key, c->state);
	call_drop(r, c);
}

static void on_waited(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__WaitReply wr = KEFU__WAIT_REPLY__INIT;
	const char *ext = strchr(o->call, ':');
	char why[256];
	long long secs;

	if (step_failed(err, rep, why, sizeof(why))) {
		send_error(r, o->conn, o->request_id, KF_ESTATE, why);
		return;
	}
	secs = strtoll(elem_str(rep, 0), NULL, 10);
	wr.call_id = (char *)(ext ? ext + 1 : o->call);
	wr.has_position = 1;
	wr.position = (uint32_t)parse_u64(elem_str(rep, 1)) + 1;
	wr.has_seconds = secs >= 0;
	wr.seconds = secs >= 0 ? (uint32_t)secs : 0;
	e.body_case = KEFU__ENVELOPE__BODY_WAIT_REPLY;
	e.wait_reply = &wr;
	send_to(r, o->conn, &e, o->request_id);
}

static void on_wait_request(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct rcall *c = gateway_call(r, rc, e->wait_request->call_id, e->request_id);
	struct keys ks = {.n = 0};
	char window[NUM_MAX];
	const char *args[] = {window};
	struct op *o;

	if (!c)
		return;
	num(window, cfg.wait_window_ms);
	o = op_new(r, on_waited, rc->id, e->request_id);
	copy(o->call, sizeof(o->call), c->key);
	keys_add(r, &ks, "call:", c->key);
	call_keys(r, &ks, "q:", c, 0);
	step(r, ROUTING_SCRIPT_ESTIMATED_WAIT, &ks, args, 1, o);
}

static void on_call_reasserted(struct routing *r, struct op *o, int err,
			       const struct redis_reply *rep);

/*
 * reassert_call: write a call we own as we know it (idempotent). mode
 * "take" (GatewayResume) makes us the owner with the next generation;
 * "keep" (after a Redis failover) is refused (OWNED) when another node
 * took the call since (node/routing/README.md "Ownership").
 */
static void call_reassert(struct routing *r, const struct rcall *c, const char *mode)
{
	struct keys ks = {.n = 0};
	char arrived[NUM_MAX], tier[NUM_MAX], weight[NUM_MAX], sl[NUM_MAX], deadline[NUM_MAX],
		answered[NUM_MAX], gen[NUM_MAX];
	const char *args[] = {c->state,	  arrived,    tier,	  weight,   sl,	       r->self,
			      c->gateway, c->ani,     c->service, c->agent, deadline, answered,
			      mode,	  gen};
	struct op *o = op_new(r, on_call_reasserted, c->conn, 0);

	num(gen, c->gen);
	num(arrived, c->arrived_ms);
	num(tier, c->tier->level);
	num(weight, c->tier->weight_ms);
	num(sl, c->tier->sl_ms);
	num(deadline, c->deadline_ms);
	num(answered, c->answered_ms);
	copy(o->call, sizeof(o->call), c->key);
	keys_add(r, &ks, "call:", c->key);
	keys_add(r, &ks, "offers", "");
	call_keys(r, &ks, "q:", c, 0);
	step(r, ROUTING_SCRIPT_REASSERT_CALL, &ks, args, 14, o);
}

static void on_call_reasserted(struct routing *r, struct op *o, int err,
			       const struct redis_reply *rep)
{
	struct rcall *c = call_find(r, o->call);
	char why[256];

	if (c && owned_elsewhere(err, rep)) {
		/* The gateway resumed on another node since: the call is not ours. */
		log_info(LOG_ROUTING, "call moved call=%s why=\"%s\"", o->call, rep->str);
		call_drop(r, c);
		return;
	}
	if (step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "reassert failed call=%s why=\"%s\"", o->call, why);
		return;
	}
	if (!c)
		return;
	copy(c->state, sizeof(c->state), elem_str(rep, 0));
	c->gen = parse_u64(elem_str(rep, 1));
	if (strcmp(c->state, "queued") == 0)
		route_call(r, c);
	else if (strcmp(c->state, "answered") == 0)
		send_connect(r, c);
}

/* GatewayResume, per call: the call as Redis holds it becomes ours. */
static void on_call_read(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	static const char *const live[] = {"queued", "offered", "answered"};
	const char *state = elem_str(rep, 0), *sep = strchr(o->call, ':');
	struct rcall *c;
	size_t i;

	if (err || !sep)
		return;
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strcmp(state, live[i]) == 0)
			break;
	if (i == sizeof(live) / sizeof(live[0])) {
		Kefu__Envelope e = KEFU__ENVELOPE__INIT;
		Kefu__CallEnded ce = KEFU__CALL_ENDED__INIT;

		ce.call_id = (char *)sep + 1;
		ce.reason = (char *)(*state ? state : "unknown");
		e.body_case = KEFU__ENVELOPE__BODY_CALL_ENDED;
		e.call_ended = &ce;
		send_to(r, o->conn, &e, 0);
		return;
	}
	{
		char gw[TLS_NAME_MAX + 1];

		snprintf(gw, sizeof(gw), "%.*s", (int)(sep - o->call), o->call);
		c = call_add(r, gw, sep + 1);
	}
	if (!c)
		return;
	copy(c->state, sizeof(c->state), state);
	c->tier = tier_of(r, (unsigned)parse_u64(elem_str(rep, 1)));
	copy(c->ani, sizeof(c->ani), elem_str(rep, 2));
	copy(c->service, sizeof(c->service), elem_str(rep, 3));
	c->arrived_ms = parse_u64(elem_str(rep, 4));
	copy(c->agent, sizeof(c->agent), elem_str(rep, 5));
	c->deadline_ms = parse_u64(elem_str(rep, 6));
	c->answered_ms = parse_u64(elem_str(rep, 7));
	c->conn = o->conn;
	c->lost_ms = 0;
	c->nskills = 1;
	{
		const char *sk = elem_str(rep, 8);

		for (const char *p = sk; *p; p++)
			c->nskills += *p == ',';
		if (c->nskills > c->tier->nladder)
			c->nskills = c->tier->nladder;
	}
	call_reassert(r, c, "take");
}

static void on_gateway_resume(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	const Kefu__GatewayResume *gr = e->gateway_resume;
	char msg[64];

	if (gr->n_call_ids > CALLS_MAX) {
		send_error(r, rc->id, e->request_id, KF_ETOOBIG, "too many calls");
		return;
	}
	for (size_t i = 0; i < gr->n_call_ids; i++) {
		char k[HOT_KEY_MAX];
		const char *argv[] = {"HMGET", k, "state", "tier", "ani", "service", "arrived_ms",
				      "agent", "offer_deadline_ms", "answered_ms", "skills"};
		struct op *o;

		if (!id_ok(gr->call_ids[i], ROUTING_CALL_ID_MAX, true))
			continue;
		o = op_new(r, on_call_read, rc->id, 0);
		snprintf(o->call, sizeof(o->call), "%s:%s", rc->gateway, gr->call_ids[i]);
		hot_key(r->hot, k, sizeof(k), "call:", o->call);
		command(r, 11, argv, o);
	}
	snprintf(msg, sizeof(msg), "resuming %zu calls", gr->n_call_ids);
	send_ack(r, rc->id, e->request_id, true, msg);
}

/* ==== real-time counters ==== */

#define NCOUNTERS (NTIERS + NSKILLS)

struct stats_req {
	uint64_t conn, request_id;
	unsigned pending;
	Kefu__TierCounters tc[NCOUNTERS];
	Kefu__TierCounters *tcp[NCOUNTERS];
	char key[NCOUNTERS][48];
};

static void stats_send(struct routing *r, struct stats_req *q)
{
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__RoutingStatsReply rep = KEFU__ROUTING_STATS_REPLY__INIT;

	rep.n_counters = NCOUNTERS;
	rep.counters = q->tcp;
	e.body_case = KEFU__ENVELOPE__BODY_ROUTING_STATS_REPLY;
	e.routing_stats_reply = &rep;
	send_to(r, q->conn, &e, q->request_id);
	free(q);
}

/* A RoutingStats whose command will not be answered (the routing is going). */
static void stats_drop(struct stats_req *q)
{
	if (--q->pending == 0)
		free(q);
}

/* One HMGET of counters (n < NCOUNTERS) or one ZCARD of a queue (n >= NCOUNTERS). */
static void on_counters(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct stats_req *q = o->stats;

	if (!err && o->n < NCOUNTERS && rep->type == REDIS_TYPE_ARRAY && rep->n == 5) {
		Kefu__TierCounters *t = &q->tc[o->n];

		t->offered = parse_u64(elem_str(rep, 0));
		t->answered = parse_u64(elem_str(rep, 1));
		t->answered_in_sl = parse_u64(elem_str(rep, 2));
		t->abandoned = parse_u64(elem_str(rep, 3));
		t->wait_ms = parse_u64(elem_str(rep, 4));
		t->has_offered = t->has_answered = t->has_answered_in_sl = t->has_abandoned =
			t->has_wait_ms = 1;
	} else if (!err && o->n >= NCOUNTERS && rep->type == REDIS_TYPE_INTEGER) {
		q->tc[o->n - NSKILLS].has_waiting = 1;
		q->tc[o->n - NSKILLS].waiting = (uint64_t)rep->integer;
	}
	o->stats = NULL;
	if (--q->pending == 0)
		stats_send(r, q);
}

static void on_routing_stats(struct routing *r, struct rconn *rc, const Kefu__Envelope *e)
{
	struct stats_req *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	q->conn = rc->id;
	q->request_id = e->request_id;
	q->pending = 1;
	for (size_t i = 0; i < NCOUNTERS + NSKILLS; i++) {
		char k[HOT_KEY_MAX], lvl[NUM_MAX];
		const char *hm[] = {"HMGET", k, "offered", "answered", "answered_in_sl", "abandoned",
				    "wait_ms"};
		const char *zc[] = {"ZCARD", k};
		struct op *o = op_new(r, on_counters, 0, 0);

		o->stats = q;
		o->n = i;
		if (i < NTIERS) {
			kefu__tier_counters__init(&q->tc[i]);
			num(lvl, r->set.tiers[i].level);
			snprintf(q->key[i], sizeof(q->key[i]), "tier:%s", lvl);
			hot_key(r->hot, k, sizeof(k), "rt:", lvl);
		} else if (i < NCOUNTERS) {
			kefu__tier_counters__init(&q->tc[i]);
			snprintf(q->key[i], sizeof(q->key[i]), "skill:%s", routing_skill_names[i - NTIERS]);
			hot_key(r->hot, k, sizeof(k), "rt:skill:", routing_skill_names[i - NTIERS]);
		} else {
			hot_key(r->hot, k, sizeof(k), "q:", routing_skill_names[i - NCOUNTERS]);
		}
		if (i < NCOUNTERS) {
			q->tc[i].key = q->key[i];
			q->tcp[i] = &q->tc[i];
		}
		q->pending++;
		command(r, i < NCOUNTERS ? 7 : 2, i < NCOUNTERS ? hm : zc, o);
	}
	if (--q->pending == 0)
		stats_send(r, q);
}

/* ==== timers: offers, presence, ladders, maximum waits, wrap-ups ==== */

static void on_overflowed(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = call_find(r, o->call);
	char why[256];

	if (step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "overflow failed call=%s why=\"%s\"", o->call, why);
		return;
	}
	if (c && strcmp(c->state, "queued") == 0)
		route_call(r, c);
}

static void on_callback_recorded(void *arg, int err)
{
	struct op *o = arg;
	struct routing *r = o->r;

	r->pending--;
	if (err)
		log_warn(LOG_ROUTING, "callback request not recorded call=%s error=\"%s\"", o->call,
			 kf_strerror(err));
	free(o);
	if (r->dead && r->pending == 0)
		routing_release(r);
}

static void on_max_waited(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	struct rcall *c = call_find(r, o->call);
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__CallbackOffered cb = KEFU__CALLBACK_OFFERED__INIT;
	char why[256];

	if (step_failed(err, rep, why, sizeof(why)) || !c)
		return; /* offered meanwhile, or gone: nothing to offer */
	copy(c->state, sizeof(c->state), "overflowed");
	cb.call_id = c->ext;
	cb.kind = (char *)c->tier->at_max;
	e.body_case = KEFU__ENVELOPE__BODY_CALLBACK_OFFERED;
	e.callback_offered = &cb;
	send_to(r, c->conn, &e, 0);
	if (strcmp(c->tier->at_max, "callback") == 0) {
		/* The dialer's work list (storage/callback.h): one request per call. */
		struct op *rec = op_new(r, NULL, 0, 0);
		struct server_callback cbr = {
			.gateway = c->gateway,
			.call_id = c->ext,
			.ani = c->ani,
			.user_id = NULL, /* the node looks the number up */
			.vip_level = c->tier->level,
			.skill = c->nskills ? c->tier->ladder[c->nskills - 1].skill : NULL,
			.service = c->service,
		};
		int e2;

		copy(rec->call, sizeof(rec->call), c->key);
		r->pending++;
		e2 = server_callback_request(r->server, &cbr, on_callback_recorded, rec);
		if (e2) {
			r->pending--;
			free(rec);
			if (e2 != KF_EEXISTS)
				log_warn(LOG_ROUTING, "callback request not recorded call=%s error=\"%s\"",
					 c->key, kf_strerror(e2));
		}
	}
}

static void call_tick(struct routing *r, struct rcall *c, uint64_t now)
{
	uint64_t waited = now > c->arrived_ms ? now - c->arrived_ms : 0;
	struct keys ks = {.n = 0};
	struct op *o;

	/* A call whose gateway is not connected here is managed by the node it
	 * resumed on, if any. */
	if (c->conn && !c->state[0]) {
		arrive(r, c, c->verified, 0); /* not in Redis yet: it was unreachable */
		return;
	}
	if (!c->conn || (strcmp(c->state, "queued") != 0 && strcmp(c->state, "offered") != 0))
		return;
	if (c->nskills < c->tier->nladder &&
	    waited >= c->tier->ladder[c->nskills].after_ms) {
		o = op_new(r, on_overflowed, 0, 0);
		copy(o->call, sizeof(o->call), c->key);
		keys_add(r, &ks, "call:", c->key);
		keys_add(r, &ks, "q:", c->tier->ladder[c->nskills].skill);
		c->nskills++;
		step(r, ROUTING_SCRIPT_OVERFLOW, &ks, NULL, 0, o);
	} else if (strcmp(c->state, "queued") == 0 &&
		   waited >= c->tier->max_wait_ms) {
		char keep[NUM_MAX];
		const char *args[] = {c->tier->at_max, keep};

		num(keep, cfg.keep_ms);
		o = op_new(r, on_max_waited, 0, 0);
		copy(o->call, sizeof(o->call), c->key);
		keys_add(r, &ks, "call:", c->key);
		copy(c->state, sizeof(c->state), "max_wait");
		step(r, ROUTING_SCRIPT_MAX_WAIT, &ks, args, 2, o);
	}
}

static void on_lost_calls(struct routing *r, struct op *o, int err, const struct redis_reply *rep)
{
	char why[256];

	(void)r;
	(void)o;
	if (step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "lost calls sweep failed why=\"%s\"", why);
		return;
	}
	for (size_t i = 0; rep->type == REDIS_TYPE_ARRAY && i < rep->n; i++)
		log_info(LOG_ROUTING, "call ended, its node and gateway lost call=%s", elem_str(rep, i));
}

/* Any node ends the queued calls of a node gone for the grace period. */
static void lost_calls(struct routing *r)
{
	struct keys ks = {.n = 0};
	char grace[NUM_MAX], keep[NUM_MAX], limit[NUM_MAX];
	const char *args[] = {r->self, grace, keep, limit};

	num(grace, r->set.lost_grace_ms);
	num(keep, cfg.keep_ms);
	num(limit, cfg.lost_limit);
	keys_add(r, &ks, "strategy", "");
	keys_add(r, &ks, "offers", "");
	keys_add(r, &ks, "nodes", "");
	for (size_t i = 0; i < NSKILLS; i++)
		keys_add(r, &ks, "q:", routing_skill_names[i]);
	step(r, ROUTING_SCRIPT_LOST_CALLS, &ks, args, 4, op_new(r, on_lost_calls, 0, 0));
}

static void on_tick(void *arg)
{
	struct routing *r = arg;
	uint64_t now = wall_ms();
	struct keys ks = {.n = 0};
	char limit[NUM_MAX];
	const char *args[] = {r->set.no_answer, cfg.no_answer_reason, limit};

	/* Every node sweeps the offers: whichever node died, no agent stays reserved. */
	num(limit, cfg.sweep_limit);
	keys_add(r, &ks, "offers", "");
	keys_add(r, &ks, "strategy", "");
	step(r, ROUTING_SCRIPT_OFFER_TIMEOUT, &ks, args, 3, op_new(r, on_routed, 0, 0));
	r->ticks++;
	for (struct ragent *a = r->agents; a; a = a->next) {
		if (a->conn && r->ticks % (cfg.presence_ms / 3 / cfg.tick_ms) == 0)
			presence_set(r, a);
		if (a->conn && strcmp(a->state, "wrap_up") == 0 && a->wrap_until_ms &&
		    now >= a->wrap_until_ms)
			wrap_up_done(r, a, true, 0);
	}
	for (struct rcall *c = r->calls, *next; c; c = next) {
		next = c->next;
		if (!c->conn && c->lost_ms && now - c->lost_ms >= r->set.lost_grace_ms) {
			/* Its gateway did not come back here within the grace period. */
			if (strcmp(c->state, "answered") != 0) {
				log_info(LOG_ROUTING, "call ended, gateway lost call=%s", c->key);
				abandon(r, c, r->self, "gateway-lost");
			}
			call_drop(r, c);
			continue;
		}
		call_tick(r, c, now);
	}
	if (r->ticks % cfg.lost_every == 0)
		lost_calls(r);
}

/* ==== after a Redis failover: write again what we own ==== */

static void on_agent_reasserted(struct routing *r, struct op *o, int err,
				const struct redis_reply *rep)
{
	struct ragent *a = agent_find(r, o->agent);
	char why[256];

	if (a && owned_elsewhere(err, rep)) {
		agent_end(r, a, "session-moved");
		return;
	}
	if (step_failed(err, rep, why, sizeof(why))) {
		log_warn(LOG_ROUTING, "reassert failed agent=%s why=\"%s\"", o->agent, why);
		return;
	}
	if (a && strcmp(a->state, elem_str(rep, 0)) != 0) {
		copy(a->state, sizeof(a->state), elem_str(rep, 0));
		send_agent_status(r, a, 0);
	}
	if (a && strcmp(a->state, "ready") == 0)
		route_agent(r, a);
}

static void on_failover(void *arg, const char *from, const char *to)
{
	struct routing *r = arg;

	log_info(LOG_ROUTING, "reasserting after a Redis failover from=%s to=%s agents=%zu calls=%zu",
		 from, to, r->nagents, r->ncalls);
	/* What is connected here is ours; the rest may have resumed elsewhere. */
	for (struct ragent *a = r->agents; a; a = a->next) {
		struct keys ks = {.n = 0};
		char order[NUM_MAX], wrap[NUM_MAX], gen[NUM_MAX];
		const char *args[] = {a->state, a->reason, r->self, a->token, a->skills, order,
				      a->call, wrap, "keep", gen};
		struct op *o;

		if (!a->conn)
			continue;
		o = op_new(r, on_agent_reasserted, a->conn, 0);
		num(order, a->order);
		num(wrap, a->wrap_until_ms);
		num(gen, a->gen);
		copy(o->agent, sizeof(o->agent), a->id);
		keys_add(r, &ks, "agent:", a->id);
		keys_add(r, &ks, "strategy", "");
		agent_keys(r, &ks, a);
		step(r, ROUTING_SCRIPT_REASSERT_AGENT, &ks, args, 10, o);
		presence_set(r, a);
	}
	for (struct rcall *c = r->calls; c; c = c->next)
		if (c->conn && (strcmp(c->state, "queued") == 0 || strcmp(c->state, "offered") == 0 ||
				strcmp(c->state, "answered") == 0))
			call_reassert(r, c, "keep");
}

/* ==== the component ==== */

static void strategies_write(struct routing *r)
{
	for (size_t i = 0; i < NSKILLS; i++) {
		char k[HOT_KEY_MAX];
		const char *argv[] = {"HSET", k, routing_skill_names[i], r->set.strategy[i]};

		hot_key(r->hot, k, sizeof(k), "strategy");
		command(r, 4, argv, NULL);
	}
}

struct routing *routing_new(const struct routing_opts *o)
{
	struct routing *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	r->loop = o->loop;
	copy(r->self, sizeof(r->self), o->self);
	r->hot = o->hot;
	r->el = o->election;
	r->sto = o->storage;
	r->server = o->server;
	r->set = *o->settings;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->wake = loop_wake_new(r->loop, on_login_checked, r);
	hot_key(r->hot, r->k_epoch, sizeof(r->k_epoch), "epoch");
	hot_on_event(r->hot, on_event, r);
	hot_on_failover(r->hot, on_failover, r);
	strategies_write(r);
	r->tick = loop_timer_new(r->loop, cfg.tick_ms, on_tick, r);
	return r;
}

static void routing_release(struct routing *r)
{
	while (r->conns)
		conn_free(r, r->conns);
	while (r->agents)
		agent_drop(r, r->agents);
	while (r->calls)
		call_drop(r, r->calls);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

void routing_free(struct routing *r)
{
	if (!r)
		return;
	hot_on_event(r->hot, NULL, NULL);
	hot_on_failover(r->hot, NULL, NULL);
	loop_timer_free(r->tick);
	/* Password checks still running finish first; their results are dropped. */
	pthread_mutex_lock(&r->mu);
	while (r->threads)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	r->dead = true;
	on_login_checked(r);
	loop_wake_free(r->wake);
	if (r->pending == 0)
		routing_release(r);
}

void routing_conn_closed(struct routing *r, struct net_conn *conn)
{
	struct rconn *c = r ? conn_find(r, conn) : NULL;

	if (!c)
		return;
	for (struct ragent *a = r->agents; a; a = a->next) {
		char k[HOT_KEY_MAX];
		const char *argv[] = {"DEL", k};

		if (a->conn != c->id)
			continue;
		/* Not offered calls while away; a resume sets it again. */
		a->conn = 0;
		hot_key(r->hot, k, sizeof(k), "presence:", a->id);
		command(r, 2, argv, NULL);
	}
	for (struct rcall *k = r->calls; k; k = k->next) {
		if (k->conn == c->id) {
			k->conn = 0;
			k->lost_ms = wall_ms();
		}
	}
	conn_free(r, c);
}

/* ==== messages ==== */

typedef void (*msg_fn)(struct routing *r, struct rconn *rc, const Kefu__Envelope *e);

static const struct msg {
	Kefu__Envelope__BodyCase body;
	msg_fn fn;
	bool agent;     /* needs an agent logged in on the connection */
	bool gateway;   /* needs a gateway certificate */
} msgs[] = {
	{KEFU__ENVELOPE__BODY_CALL_ARRIVED, on_call_arrived, false, true},
	{KEFU__ENVELOPE__BODY_CALL_ENDED, on_call_ended, false, true},
	{KEFU__ENVELOPE__BODY_WAIT_REQUEST, on_wait_request, false, true},
	{KEFU__ENVELOPE__BODY_GATEWAY_RESUME, on_gateway_resume, false, true},
	{KEFU__ENVELOPE__BODY_LOGIN, on_login, false, false},
	{KEFU__ENVELOPE__BODY_SESSION_RESUME, on_session_resume, false, false},
	{KEFU__ENVELOPE__BODY_SET_AGENT_STATE, on_set_state, true, false},
	{KEFU__ENVELOPE__BODY_ANSWER_CALL, on_answer_call, true, false},
	{KEFU__ENVELOPE__BODY_REJECT_CALL, on_reject_call, true, false},
	{KEFU__ENVELOPE__BODY_HANGUP_CALL, on_hangup_call, true, false},
	{KEFU__ENVELOPE__BODY_WRAP_UP_DONE, on_wrap_up_done, true, false},
	{KEFU__ENVELOPE__BODY_VERIFY_IDENTITY, on_verify_identity, true, false},
	{KEFU__ENVELOPE__BODY_BILLS_REQUEST, on_bills_request, true, false},
	{KEFU__ENVELOPE__BODY_ROUTING_STATS, on_routing_stats, false, false},
};

void routing_on_message(struct routing *r, struct net_conn *conn, const struct tls_identity *who,
			const Kefu__Envelope *e)
{
	struct rconn *rc = conn_get(r, conn);

	if (who->role == TLS_ROLE_GATEWAY && !rc->gateway[0]) {
		if (!id_ok(who->cn, TLS_NAME_MAX, false)) {
			send_error(r, rc->id, e->request_id, KF_EPROTO,
				   "a gateway's certificate name must be [A-Za-z0-9_.-]");
			return;
		}
		copy(rc->gateway, sizeof(rc->gateway), who->cn);
	}
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		if (msgs[i].body != e->body_case)
			continue;
		if ((msgs[i].agent && !rc->agent[0]) || (msgs[i].gateway && !rc->gateway[0])) {
			send_error(r, rc->id, e->request_id, KF_ESTATE,
				   msgs[i].agent ? "log in first" : "for gateways only");
			return;
		}
		msgs[i].fn(r, rc, e);
		return;
	}
	send_error(r, rc->id, e->request_id, KF_EPROTO, "not a routing request");
}
