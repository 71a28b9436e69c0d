/*
 * What the files of node/dialing/ share (see dialing.h):
 *
 *   component.c   init, stop, the rows
 *   change.c      a change checked and written by the leader, with its audit entry
 *   campaigns.c   campaigns made, started, paused, resumed, stopped (checked
 *                 and written by the leader; contacts frozen), shown, listed
 *   dnc.c         the do-not-call list: changes checked and written by the
 *                 leader (forwarded by a follower), listings from the replica
 *   pace.c        the pacing engine: one node per running campaign (an etcd
 *                 key on this node's lease), its agents read from the hot
 *                 state, rules.h and pacer.h asked, attempts placed
 *   calls.c       what the leader writes for a call: an attempt before its
 *                 Originate (DialPlace), a gateway's result (DialResult,
 *                 an agent named or the drop message), an agent's
 *                 disposition; the contact's next attempt (rules.h)
 *   preview.c     preview mode: the next contact kept for the agent, then
 *                 dialled or skipped with a reason
 *   agents.c      agents on a campaign (DialAgent) and outbound gateways
 *                 (DialGateway) of this node, in the hot state
 */
#ifndef KEFU_NODE_DIALING_INT_H
#define KEFU_NODE_DIALING_INT_H

#include "lib/err.h"
#include "node/actor.h"
#include "node/component.h"
#include "storage/audit.h"
#include "storage/batch.h"
#include "storage/custdb.h"
#include "storage/custview.h"
#include "cluster/redis.h"

#include "node/dialing/pacer.h"
#include "node/dialing/rules.h"

#include <stdbool.h>

struct etcd;
struct hot;
struct loop;

#define DIAL_RUNS_MAX 64          /* running campaigns a node follows */
#define DIAL_INFLIGHT_MAX 256     /* attempts of one campaign without a result */
#define DIAL_GW_MAX 32            /* outbound gateways on one node */
#define DIAL_AGENTS_LOCAL_MAX 1024 /* agents on campaigns through one node */
#define DIAL_LEASE_TTL_S 3
#define DIAL_AGENT_STALE_MS 3000  /* an agent whose node stopped saying it is there */

/* An attempt placed and not yet answered by its result. */
struct dial_flight {
	char id[48];
	uint64_t contact, placed_ms;
	bool sent;                 /* the Originate went out (false: still being written) */
};

/* A running campaign as this node follows it. */
struct dialing;
struct dial_run {
	struct dialing *d;
	unsigned refs;             /* callbacks that will come back to it */
	bool gone;                 /* no longer followed: freed by the last */
	char name[40];
	char pacer[64];            /* who paces it ("" none known) */
	bool mine, seen, busy;     /* this node paces it; still running; a tick underway */
	bool loaded;               /* taken over: its attempts read */
	bool claiming;             /* its etcd transaction is on its way */
	uint64_t last_claim;       /* monotonic ms */
	Kefu__Campaign *c;         /* the stored campaign, refreshed each second */
	struct dial_rules rules;
	struct dial_window win;
	struct dial_handle *handle;
	uint64_t placed, human;
	uint64_t next_n;           /* attempt numbers under this lease */
	struct dial_flight fl[DIAL_INFLIGHT_MAX];
	unsigned nfl;
	/* agents as the last read saw them (handle times measured from it) */
	unsigned ready, ntalk;
	uint32_t talking_s[DIAL_PACER_MAX_AGENTS];
	char talk_ids[DIAL_PACER_MAX_AGENTS][40];
	uint64_t talk_since[DIAL_PACER_MAX_AGENTS];
};

struct dial_gw {
	uint64_t peer;
	unsigned lines;
};

struct dial_local_agent {
	uint64_t peer;
	char agent[40];
	char campaign[40];
	char notified[48];        /* the attempt last told to the agent */
};

struct dialing {
	struct repl_storage *sto;
	struct leader *leader;
	struct loop *loop;
	struct hot *hot;           /* NULL without Redis: no agents, nothing paced */
	struct etcd *etcd;         /* the election's client */
	struct msg_hub *hub;
	char self[64];
	char prefix[128];          /* "/kefu/<cluster>/dial/" */
	char clock_file[256];      /* tests: an offset in ms to the node's clock */
	int64_t clock_offset_ms;
	unsigned inflight;  /* writes on their way */
	bool dead;          /* stopped; freed by the last write's completion */
	/* the lease this node paces under */
	int64_t lease;
	bool lease_busy;
	uint64_t lease_ok_ms;      /* last keepalive answered (monotonic) */
	uint64_t last_second, last_keepalive;
	struct dial_run *runs[DIAL_RUNS_MAX];
	unsigned nruns;
	struct dial_gw gw[DIAL_GW_MAX];
	unsigned ngw, next_gw;
	struct dial_local_agent *agents;
	unsigned nagents;
	unsigned etcd_busy;        /* etcd requests on their way */
	/* The public holidays and make-up working days (YYYYMMDD, sorted) of
	 * the wo_holidays file, read at start: the province's one calendar. */
	uint32_t *holidays, *workdays;
	size_t nholidays, nworkdays;
};

void dialing__release(struct dialing *d);
/* dialing__unref - one callback of d's fewer (inflight); a stopped d goes
 * with its last. */
void dialing__unref(struct dialing *d);

/* dialing__now - the wall clock in ms, plus the test offset (clock_file). */
uint64_t dialing__now(struct dialing *d);

/* dialing__rules_of - the rules of campaign c (window, working days,
 * retries) for result (DIAL_NRESULTS: the first rule's attempts). */
void dialing__rules_of(const struct dialing *d, const Kefu__Campaign *c, int result,
		       struct dial_rules *r);

/* dialing__disposition_name - s as the static name of a disposition
 * (promise, wrong_number, satisfied, not_satisfied, callback, other), NULL
 * when it is none. */
const char *dialing__disposition_name(const char *s);

/* The screen pop of an outbound number: the subscriber and its customer
 * masked as for an unverified caller (the agent has not checked who
 * answers). user and customer point into it, NULL when the number is not
 * ours; custdb_profile_release(&prof) when done. */
struct dial_pop {
	struct custdb_profile prof;
	Kefu__Customer cu;
	char id[CUSTVIEW_MASK_MAX], addr[CUSTVIEW_MASK_MAX];
	Kefu__Subscriber *user;
	Kefu__Customer *customer;
};
void dialing__pop(struct store_txn *t, const char *msisdn, struct dial_pop *pop);

/* dialing__contact_is_due - k is pending and the rules of c allow a call
 * to it at now_ms (its due time, retries, the 72-hour rule, a callback, the
 * calling window). The do-not-call list is the caller's to read. */
bool dialing__contact_is_due(const struct dialing *d, const Kefu__Campaign *c,
			     const Kefu__CampaignContact *k, uint64_t now_ms);

/* dialing__result_of - a result's enum (DIAL_NRESULTS for human, abandoned). */
int dialing__result_of(const char *result);

/*
 * A change the leader checks and writes (change.c). The kind fills body
 * (on the writer thread: check against t, ops into c->b, the audit's
 * subject and detail; it may run more than once), done (on the loop, the
 * answer after the write) and free_rq, and sets action and subject;
 * dialing__change_run does the rest and frees c.
 */
struct dialing__change {
	struct dialing *d;
	struct msg_ref ref;
	char actor[AUDIT_AGENT_MAX + 1];
	bool admin;
	bool lead;                 /* an admin or a supervisor (set before body runs) */
	uint64_t now_ms, seq;
	struct batch *b;
	char why[200];             /* a refusal's reason */
	const char *action;        /* the audit entry's */
	char subject[64];
	char detail[AUDIT_DETAIL_MAX + 1];
	int (*body)(struct store_txn *t, struct dialing__change *c);
	void (*done)(struct dialing__change *c, uint64_t index);
	void (*free_rq)(struct dialing__change *c);
	void *rq;                  /* the kind's owned copy of the request */
};
void dialing__change_run(struct dialing *d, struct msg_peer *p, const Kefu__Envelope *e,
			 const struct actor *who, struct dialing__change *c);

/* dialing__refuse - code, with why filled for the answer's Error. */
#define dialing__refuse(c, code, ...) (kf_why((c)->why, sizeof((c)->why), __VA_ARGS__), (code))

/* campaigns.c */
void dialing__on_campaign_create(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_campaign_action(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_campaign_show(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_campaign_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* calls.c */
void dialing__on_dial_result(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dial_place(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dial_disposition(void *state, struct msg_peer *p, const Kefu__Envelope *e);
/* dialing__place - write the attempt of rq through the leader; done(arg,
 * err) on the loop. Returns 0 (done will run) or an error. */
typedef void (*dialing_placed_fn)(void *arg, int err);
int dialing__place(struct dialing *d, const Kefu__DialPlace *rq, dialing_placed_fn done,
		   void *arg);
/* dialing__result_write - the result of an attempt this node knows is lost
 * (no gateway took it): written through the leader like a gateway's. */
void dialing__result_write(struct dialing *d, const char *campaign, const char *id,
			   const char *result);

/* preview.c */
void dialing__on_dial_preview(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dial_preview_action(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* agents.c */
void dialing__on_dial_gateway(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dial_agent(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__agents_closed(struct dialing *d, struct msg_peer *p);
void dialing__agents_second(struct dialing *d);
/* dialing__agents_check - every tick: agents whose session ended on a
 * connection that stays leave their campaigns. */
void dialing__agents_check(struct dialing *d);
/* dialing__agents_read - the agents of campaign: fn(arg, err, reply) with
 * the reply an array of agent, state, since_ms, attempt (fresh only). */
int dialing__agents_read(struct dialing *d, const char *campaign, redis_reply_fn fn, void *arg);
/* dialing__agent_claim - the longest ready agent of campaign made busy with
 * attempt: fn(arg, err, reply) with the agent's name or nil. */
int dialing__agent_claim(struct dialing *d, const char *campaign, const char *attempt,
			 redis_reply_fn fn, void *arg);
/* dialing__agent_set - agent's state on campaign (ready, not_ready, or NULL:
 * gone). fn may be NULL. */
int dialing__agent_set(struct dialing *d, const char *campaign, const char *agent,
		       const char *state, redis_reply_fn fn, void *arg);

/* dialing__agent_talk - agent talking on attempt (a previewed call). */
int dialing__agent_talk(struct dialing *d, const char *campaign, const char *agent,
			const char *attempt);
/* dialing__agents_key - "kefu:<cluster>:dial:<which><campaign>". */
int dialing__agents_key(struct dialing *d, char *buf, size_t cap, const char *which,
			const char *campaign);
/* dialing__hget - HGET key field. */
int dialing__hget(struct dialing *d, const char *key, const char *field, redis_reply_fn fn,
		  void *arg);

/* pace.c */
void dialing__tick(void *state);
void dialing__pace_stop(struct dialing *d);
/* dialing__pacer_of - the node pacing campaign as this node knows it, "" none. */
const char *dialing__pacer_of(struct dialing *d, const char *campaign);
/* dialing__gateway_pick - a gateway of this node for a call, NULL none. */
struct msg_peer *dialing__gateway_pick(struct dialing *d);

/* dnc.c */
void dialing__on_dnc_change(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void dialing__on_dnc_list(void *state, struct msg_peer *p, const Kefu__Envelope *e);

#endif
