/*
 * Inside the routing component (the .c files of node/routing/): the state
 * they share, the mirror of what this node owns, and the helpers one file
 * offers the others (routing__ names). Nothing outside node/routing/
 * includes this header.
 *
 * What the node owns and mirrors in memory: the live calls of the gateways
 * connected to it (call owner) and the agents logged in through it (agent
 * owner). The mirror is what it writes again after a Redis failover
 * (reassert_call, reassert_agent) and what it refreshes (presence, session
 * TTLs). Everything else lives in Redis, so a gateway or an agent that
 * loses its node resumes on any other (GatewayResume, SessionResume) and
 * that node becomes the owner.
 *
 * Connections are peers of the node's message table (node/msg.h), known by
 * their msg_peer_id: a record of the routing keeps each id only, and finds
 * the peer again (msg_peer_find) to send. The agent logged in on a peer is
 * the peer's session (msg_peer_session), which the dispatcher checks for
 * the rows that need one.
 *
 * Lifetime: the routing is freed after the last reply it waits for (Redis
 * steps, leader writes, password checks); stop only marks it dead. Every
 * function here runs on the node's loop.
 */
#ifndef KEFU_NODE_ROUTING_INT_H
#define KEFU_NODE_ROUTING_INT_H

#include "cluster/election.h"
#include "cluster/meta.h"
#include "cluster/redis.h"
#include "cluster/repl.h"
#include "lib/hist.h"
#include "lib/ht.h"
#include "lib/loop.h"
#include "lib/password.h"
#include "lib/tls.h"
#include "node/board.h"
#include "node/component.h"
#include "node/hot.h"
#include "node/metrics.h"
#include "node/msg.h"
#include "node/routing/conf.h"
#include "routing/scripts.h"
#include "storage/accounts.h"
#include "storage/custdb.h"
#include "storage/kb.h"
#include "storage/custview.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== configuration: the settings (conf.h) and fixed values ==== */

#define LADDER_MAX ROUTING_LADDER_MAX
#define NTIERS ROUTING_NTIERS
#define NSKILLS ROUTING_NSKILLS

/* The period of the routing's tick (timers.c). */
#define ROUTING_TICK_MS 1000
/* The widest a ring-progressively call rings (its width counts up from 1). */
#define ROUTING_RING_MAX 1000

/* What the configuration leaves fixed; the rest is r->set (conf.h). */
struct routing__fixed {
	const char *no_answer_reason; /* the not-ready reason after an unanswered offer */
	uint32_t keep_ms;           /* an ended call's hash stays this long */
	uint32_t presence_ms;       /* TTL of presence:<agent>, refreshed at a third */
	uint32_t session_ms;        /* TTL of session:<token hash>, refreshed with presence */
	uint32_t tick_ms;           /* sweep, ladders, maximum waits, wrap-ups */
	uint32_t wait_window_ms;    /* answer rate window for estimated waits */
	uint32_t sweep_limit;       /* offers taken back per sweep */
	uint32_t lost_every;        /* ticks between sweeps for the calls of gone nodes */
	uint32_t lost_limit;        /* calls looked at per queue and sweep */
};
extern const struct routing__fixed routing__cfg;

/* ==== limits ==== */

/* Longest call id of a gateway; [A-Za-z0-9_.:-]. */
#define ROUTING_CALL_ID_MAX 64

#define AGENTS_MAX 4096   /* agents owned by one node */
#define CALLS_MAX 8192    /* live calls owned by one node */
#define CALL_BUCKETS 8192 /* hash buckets of the calls by key */
#define AGENT_BUCKETS 1024 /* of the agents by id, and of the connections by peer id */
#define ARGV_MAX 40
#define KEYS_MAX 24
#define CALL_KEY_MAX (TLS_NAME_MAX + 1 + ROUTING_CALL_ID_MAX + 1) /* "<gateway>:<call id>" */
#define TEXT_MAX 64
#define NUM_MAX 24
#define NAME_MAX_ (ACCOUNTS_NAME_MAX + 1)
#define WHY_MAX 256       /* a step's failure as text */

/* ==== state ==== */

/* A connection that sent routing messages: a gateway, an agent or an admin. */
struct rconn {
	struct ht_node hn;                /* routing.conns, by id */
	uint64_t id;                      /* msg_peer_id */
	char gateway[TLS_NAME_MAX + 1];   /* a gateway's certificate name, once checked */
};

/* An agent owned by this node: the mirror of agent:<id>. */
struct ragent {
	struct ht_node hn;                /* routing.agents, by id */
	char id[ACCOUNTS_ID_MAX + 1];
	char name[NAME_MAX_];
	char skills[ACCOUNTS_SKILLS_TEXT_MAX + 1];
	struct accounts_skills sk;
	unsigned order;
	char token[PASSWORD_TOKEN_HEX + 1];  /* the session: SHA-256 (hex) of its token */
	uint64_t login_ms;                /* when the session began (its login): absolute lifetime */
	char state[TEXT_MAX];
	char reason[TEXT_MAX];
	char call[CALL_KEY_MAX];          /* offered or in talk */
	char ani[TEXT_MAX];               /* of that call */
	bool alert;                       /* call is alerting (ring strategies), not reserved */
	uint64_t wrap_until_ms;
	uint64_t conn;                    /* peer id, 0 = not connected */
	uint64_t gen;                     /* the takeover count in Redis when this node took it */
	uint64_t ready_us;                /* monotonic µs it last asked to be ready here; 0 = used */
};

/* A call of a gateway connected to this node: the mirror of call:<id>. */
struct rcall {
	struct ht_node hn;                /* routing.calls, by key */
	char key[CALL_KEY_MAX];           /* "<gateway>:<call id>", the id in Redis */
	char ext[ROUTING_CALL_ID_MAX + 1];/* the gateway's call id */
	char gateway[TLS_NAME_MAX + 1];
	char ani[TEXT_MAX], service[TEXT_MAX];
	const struct routing_tier *tier;
	const char *skills[LADDER_MAX];   /* its queues as in Redis (routing_skill_names) */
	size_t nskills;
	size_t step;                      /* ladder steps passed (overflow from there) */
	bool menu_open;                   /* held for the caller's menu choice (menu.lua) */
	char choice;                      /* the key chosen, to queue it by; 0 = none yet */
	char state[TEXT_MAX];
	char agent[ACCOUNTS_ID_MAX + 1];
	uint64_t arrived_ms, deadline_ms, answered_ms;
	uint64_t arrived_us;              /* monotonic µs of its CallArrived here; 0 = taken over */
	uint64_t conn;                    /* peer id of its gateway, 0 = not connected */
	uint64_t lost_ms;                 /* when its gateway's connection closed */
	uint64_t gen;                     /* takeovers of the call we got (reassert_call) */
	bool verified;                    /* from the subscriber's own, trusted number */
	unsigned ring_n;                  /* ring-progressively: agents asked to ring so far */
};

/* The routing steps that decide about an offer, counted by what they decided. */
enum routing_decider {
	DECIDE_NONE,                      /* the op is no decision */
	DECIDE_ARRIVE,
	DECIDE_ROUTE_CALL,
	DECIDE_ROUTE_AGENT,
	DECIDE_WRAP_UP_DONE,
	DECIDE_CLAIM,
	DECIDE_COUNT
};

/* What a deciding step did: reserved a call for an agent, alerted agents, nothing. */
enum routing_decision { DECISION_OFFER, DECISION_ALERT, DECISION_NONE, DECISION_COUNT };

/* This node's routing figures for /metrics (counters.c). */
struct routing_counts {
	uint64_t decided[DECIDE_COUNT][DECISION_COUNT];
	uint64_t offers_sent, alerts_sent; /* Offers to agents connected here */
	struct hist latency_us;            /* CallArrived or ready request -> offer decided */
};

struct routing {
	struct loop *loop;
	char self[META_NAME_MAX];
	struct hot *hot;
	unsigned script0;                  /* hot_eval id of routing_scripts[0] */
	struct election *el;
	struct repl_storage *sto;
	struct leader *leader;
	struct jobs *jobs;
	struct msg_hub *hub;
	struct board *board;               /* the live board this node fills; NULL: not here */
	bool board_reading;                /* a board step in flight */
	struct metrics *metrics;           /* the node's /metrics; NULL when off */
	struct routing_counts counts;
	struct routing_settings set;
	char k_epoch[HOT_KEY_MAX];
	uint64_t epoch;                    /* the highest cluster epoch seen */
	/* Every message and event names a connection, an agent or a call: hashed,
	 * as a node holds thousands. */
	struct ht conns;                   /* struct rconn by peer id */
	struct ht agents;                  /* struct ragent by id */
	struct ht calls;                   /* struct rcall by key */
	unsigned ticks;
	unsigned pending;                  /* Redis replies and leader writes still to come */
	unsigned checks;                   /* password checks on the jobs pool */
	/* Checked against for an unknown or disabled agent, so that a login costs
	 * the same hash time whoever it names (made at init, read-only after). */
	char dummy_hash[PASSWORD_ENCODED_MAX];
	bool dead;                         /* stopped: freed after the last of those */
};

HT_DEFINE_U64(routing__conns, struct rconn, hn, id)
HT_DEFINE_STR(routing__agents, struct ragent, hn, id)
HT_DEFINE_STR(routing__calls, struct rcall, hn, key)

/* ==== small helpers (registry.c) ==== */

void routing__num(char out[NUM_MAX], uint64_t v);
uint64_t routing__parse_u64(const char *s);
/* src (NULL = "") into dst[0..cap), cut to fit, NUL-terminated. */
void routing__copy(char *dst, size_t cap, const char *src);
/* Call ids: [A-Za-z0-9_.:-]{1,max}; gateway names the same without ':'. */
bool routing__id_is_valid(const char *s, size_t max, bool colon);
const struct routing_tier *routing__tier_of(const struct routing *r, unsigned level);

/* ==== connections (registry.c) ==== */

/*
 * routing__conn_get - the record of peer p, made on its first routing
 * message. A gateway's certificate name is checked then (it becomes part
 * of every call id): a bad one is answered with an Error to request_id and
 * NULL returned.
 */
struct rconn *routing__conn_get(struct routing *r, struct msg_peer *p, uint64_t request_id);
struct rconn *routing__conn_find(struct routing *r, uint64_t id);
void routing__conn_free(struct routing *r, struct rconn *c);

/* Sends to the peer with id conn, if it is still connected (0: nobody). */
void routing__send(struct routing *r, uint64_t conn, Kefu__Envelope *e, uint64_t request_id);
void routing__error(struct routing *r, uint64_t conn, uint64_t request_id, int code,
		    const char *msg);
void routing__ack(struct routing *r, uint64_t conn, uint64_t request_id, bool ok,
		  const char *msg);

/* routing__session_end - the peer conn, if agent is logged in on it (any
 * agent: agent NULL), has no session from now on. */
void routing__session_end(struct routing *r, uint64_t conn, const char *agent);

/* ==== the mirror (registry.c) ==== */

struct ragent *routing__agent_find(struct routing *r, const char *id);
/* The agent id, made when new; NULL at AGENTS_MAX. */
struct ragent *routing__agent_add(struct routing *r, const char *id);
void routing__agent_drop(struct routing *r, struct ragent *gone);
/* The agent logged in on p, NULL when none. */
struct ragent *routing__agent_of(struct routing *r, struct msg_peer *p);

struct rcall *routing__call_find(struct routing *r, const char *key);
/* The call "<gateway>:<ext>", made when new (tier 0); NULL at CALLS_MAX. */
struct rcall *routing__call_add(struct routing *r, const char *gateway, const char *ext);
void routing__call_drop(struct routing *r, struct rcall *gone);

/* ==== running steps and commands (step.c) ==== */

struct op;
struct login_job;
struct stats_req;
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
	uint64_t since_ms;       /* a session's login time */
	int verdict;             /* an identity check's outcome (verify.c) */
	/* What a caller said for an identity check, until it is compared;
	 * wiped when the op is freed. */
	char secret[CUSTVIEW_DIGITS_MAX + 1];
	Kefu__Agent *acct;       /* owned: freed with the op */
	struct login_job *job;   /* owned: freed with the op */
	struct stats_req *stats; /* shared by the commands of one RoutingStats */
	enum routing_decider decide; /* a step that decides about an offer: counted */
	uint64_t t0_us;          /* monotonic µs its decision is timed from; 0 = not timed */
};

/* Keys built for one step. */
struct keys {
	char k[KEYS_MAX][HOT_KEY_MAX];
	const char *p[KEYS_MAX];
	int n;
};

/* routing__op_new - an op for routing__step or routing__command, which free
 * it after its reply handler ran. Never NULL: allocation failure aborts. */
struct op *routing__op_new(struct routing *r, op_fn fn, uint64_t conn, uint64_t request_id);

/* routing__unpend - one reply the routing waited for has come (pending or
 * checks already counted down by the caller): a stopped routing is freed
 * after its last one. r is not to be used after. */
void routing__unpend(struct routing *r);

void routing__keys_add(struct routing *r, struct keys *ks, const char *a, const char *b);

/*
 * routing__step - run step id with KEYS epoch + ks and ARGV epoch, now +
 * args. o is taken (its handler runs once, or on a refusal to queue, with
 * the error now).
 */
void routing__step(struct routing *r, enum routing_script_id id, const struct keys *ks,
		   const char *const *args, int nargs, struct op *o);

/*
 * routing__step_n - routing__step with the keys after the epoch as an
 * array keys[0..nkeys) (any number; routing__step holds KEYS_MAX).
 */
void routing__step_n(struct routing *r, enum routing_script_id id, int nkeys,
		     const char *const *keys, const char *const *args, int nargs, struct op *o);

/* routing__command - any other command; o NULL: the reply is not wanted. */
void routing__command(struct routing *r, int argc, const char *const *argv, struct op *o);

/* A step's failure as text for a log or an Error reply; 0 when it succeeded. */
int routing__step_failed(int err, const struct redis_reply *rep, char *why, size_t cap);

/* Element i of an array reply as a string, "" when absent. */
const char *routing__elem_str(const struct redis_reply *rep, size_t i);

/* A step refused because another node owns the agent or call now (OWNED). */
bool routing__is_owned_elsewhere(int err, const struct redis_reply *rep);

/* ==== subscriber profiles, local replica (step.c) ==== */

/* The open work orders a screen pop carries, newest first. */
#define ROUTING_POP_ORDERS 5

/* routing__open_orders - the open work orders of ani from the replica
 * (storage/workorder.h), at most max, into out (each freed with
 * kefu__work_order__free_unpacked); their number (0 on any error, logged). */
size_t routing__open_orders(struct routing *r, const char *ani, Kefu__WorkOrder **out, size_t max);

/* The knowledge-base articles a screen pop suggests. */
#define ROUTING_POP_ARTICLES 3

/* routing__articles - the live articles for the situation of subscriber u
 * (storage/kb.h kb_situation) that apply to tier, at most max, into out
 * (release with kb_hits_release); their number (0 when nothing fits). */
size_t routing__articles(struct routing *r, const Kefu__Subscriber *u, unsigned tier,
			 struct kb_hit *out, size_t max);

/* routing__profile_get - the profile of ani into p: 0 (release p), or
 * KF_ENOTFOUND (unknown, or no ani) or a storage error (p is empty). */
int routing__profile_get(struct routing *r, const char *ani, size_t bill_months,
			 struct custdb_profile *p);
bool routing__profile_is_trusted(const struct custdb_profile *p);

/* ==== agents (agents.c) ==== */

/* The keys of the agent's state steps: agent:<id>, strategy, its ready sets. */
void routing__agent_keys(struct routing *r, struct keys *ks, const struct ragent *a);
void routing__send_agent_status(struct routing *r, const struct ragent *a, uint64_t request_id);
/*
 * routing__agent_end - the agent is no longer ours (another node took it
 * over, or its session ended): its connection here, if any, hears it is
 * logged out with reason, and the mirror forgets it (a is freed), so that
 * nothing here writes it again.
 */
void routing__agent_end(struct routing *r, struct ragent *a, const char *reason);
/* Presence, and the session key session:<hash> with the agent and its login
 * time, its TTL never past the session's absolute end. */
void routing__presence_set(struct routing *r, const struct ragent *a);
/*
 * routing__agent_revoke - the agent's session ends now (its account was
 * disabled, its password changed, its lifetime is over): the session key
 * and presence are deleted, the agent logged out in Redis, its connection
 * told (AgentStatus logged_out with reason) and closed; a is freed.
 */
void routing__agent_revoke(struct routing *r, struct ragent *a, const char *reason);
/* routing__sessions_check - every agent of this node against its account in
 * the local replica and the session lifetime (the tick). */
void routing__sessions_check(struct routing *r, uint64_t now);
/* routing__token_hash - how a session token is known in Redis and in the
 * mirror: the SHA-256 of its text, in hex. */
void routing__token_hash(const char *token, char out[PASSWORD_TOKEN_HEX + 1]);
/*
 * routing__agent_step - a step for an agent's request came back: 0 and *a
 * (NULL when the agent is gone meanwhile), or the failure (answered to the
 * agent's connection; *a still set for the caller's cleanup).
 */
int routing__agent_step(struct routing *r, struct op *o, int err, const struct redis_reply *rep,
			struct ragent **a);
/* route_agent for a ready agent; timed from its ready request (ready_us, then used up). */
void routing__route_agent(struct routing *r, struct ragent *a);
/* The agent's state and reason again from Redis, told to the agent. */
void routing__agent_refresh(struct routing *r, const struct ragent *a);
void routing__wrap_up_done(struct routing *r, struct ragent *a, bool ready,
			   uint64_t request_id);
/* routing__agent_on - the agent of p, whose call must be call_id; else the
 * Error "that call is not yours" and NULL. */
struct ragent *routing__agent_on(struct routing *r, struct msg_peer *p, const char *call_id,
				 uint64_t request_id);
void routing__hangup(struct routing *r, const char *call, const char *agent, uint64_t conn,
		     uint64_t request_id, bool tell_gateway);
/* An op handler that only logs a failed step (offers reach agents as events). */
void routing__on_routed(struct routing *r, struct op *o, int err, const struct redis_reply *rep);

/* ==== calls (calls.c, gateway.c) ==== */

void routing__call_keys(struct routing *r, struct keys *ks, const char *prefix,
			const struct rcall *c, size_t from);
void routing__route_call(struct routing *r, struct rcall *c);
/* routing__ring_wider - whether c waits in a ring-progressively queue and is
 * due to ring one more agent (routing__route_call then rings them). A call in
 * no such queue has its width noted, so the tick asks again only when it grows. */
bool routing__ring_wider(const struct routing *r, struct rcall *c, uint64_t now);
void routing__arrive(struct routing *r, struct rcall *c, bool verified, uint64_t request_id);
/* routing__menu - queue the call held for its menu (menu.lua): where
 * c->choice says, else in its ladder's first queues. */
void routing__menu(struct routing *r, struct rcall *c);
/* c's queues from their text in Redis ("a,b"; unknown names skipped). */
void routing__call_skills_set(struct rcall *c, const char *text);
bool routing__call_has_skill(const struct rcall *c, const char *skill);
void routing__abandon(struct routing *r, const struct rcall *c, const char *owner,
		      const char *outcome);
void routing__call_reassert(struct routing *r, const struct rcall *c, const char *mode);
void routing__send_connect(struct routing *r, const struct rcall *c);

/* ==== identity checks and customer data (identity.c, verify.c) ==== */

/* The ways a call is verified, as the call hash's `verified` field holds
 * them (node/routing/README.md): the caller's own number, an ID check. */
#define ROUTING_VERIFIED_CALLER_ID "caller-id"
#define ROUTING_VERIFIED_ID_DIGITS "id-digits"
/* routing__verified_is_known - how is one of them (anything else, such as
 * an empty field or a value of an older release, is not verified). */
bool routing__verified_is_known(const char *how);

/*
 * routing__audit - an audit entry through the leader (who, action,
 * subject, detail: storage/audit.h); done(o, ...) runs once when it is
 * written or failed, and o is its until then. When the leader refuses it
 * now, the Error goes to o's request instead and o is freed here.
 */
void routing__audit(struct routing *r, const char *who, const char *action, const char *subject,
		    const char *detail, void (*done)(void *arg, int err, uint64_t index),
		    struct op *o);

/*
 * routing__audited - the start of a routing__audit completion: the write
 * has come (pending counted down). false when there is nothing more to do:
 * the routing is stopped, or the write failed (answered with msg). The
 * caller frees o and calls routing__unpend either way.
 */
bool routing__audited(struct routing *r, const struct op *o, int err, const char *msg);

/* ==== the live board (board.c) and the figures for /metrics (counters.c) ==== */

/* routing__board_tick - read the board again when a reader wants it and no
 * reading is in flight (the tick: about every second). */
void routing__board_tick(struct routing *r, uint64_t now);

/* routing__decided - a deciding step (o->decide) came back: counted by what
 * it decided, and its latency taken when it offered or alerted and is timed. */
void routing__decided(struct routing *r, const struct op *o, int err,
		      const struct redis_reply *rep);

/* routing__offer_sent - an Offer (alert: an alert) went to an agent connected here. */
void routing__offer_sent(struct routing *r, bool alert);

/* The routing's source of /metrics (metrics_fn of node/metrics.h); arg is r. */
void routing__metrics(void *arg, struct metrics_out *o);

/* ==== the rest of the component ==== */

void routing__on_event(void *arg, const char *payload, size_t len);             /* events.c */
void routing__login_job_free(struct login_job *j);                             /* login.c */
void routing__stats_drop(struct stats_req *q);                                 /* stats.c */
void routing__tick(void *state);                                               /* timers.c */
void routing__on_failover(void *arg, const char *from, const char *to);       /* timers.c */
/* routing__callback_record - the callback request of call c at its maximum
 * wait, through the leader (callbacks.c). */
void routing__callback_record(struct routing *r, const struct rcall *c);
void routing__release(struct routing *r);                                     /* component.c */

/* The message handlers, rows of component.c. */
void routing__on_call_arrived(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_call_ended(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_wait_request(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_connect_failed(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_call_connected(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_gateway_resume(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_login(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_session_resume(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_set_state(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_answer_call(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_reject_call(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_hangup_call(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_wrap_up_done(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_verify_identity(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_bills_request(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void routing__on_routing_stats(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* ==== supervision (supervise.c) ==== */

void routing__on_force_logout(void *state, struct msg_peer *p, const Kefu__Envelope *e);
/* The forced_logout event: the agent's session here ends. */
void routing__ev_forced_logout(struct routing *r, const char *aid);
void routing__on_callback_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);

#endif
