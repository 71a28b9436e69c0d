/*
 * traffic - the shared state of `kefu-sim traffic` (cmd_traffic.c: options
 * and main; traffic_setup.c: BOSS import and agent accounts; traffic_run.c:
 * gateways, agents and calls on the event loop). Internal to those files.
 *
 * Ownership: struct traffic owns everything it points to and the caller
 * frees it (TLS contexts, loop, book, stats); traffic_run keeps its calls,
 * agents and gateways to itself and frees them before it returns.
 */
#ifndef KEFU_SIM_TRAFFIC_H
#define KEFU_SIM_TRAFFIC_H

#include "tests/sim/traffic_book.h"
#include "tests/sim/traffic_stats.h"

#include "lib/loop.h"
#include "lib/tls.h"
#include "storage/accounts.h"

#include <stdbool.h>
#include <stdint.h>

#define TRAFFIC_NODES_MAX 16
#define TRAFFIC_ADDR_MAX 272
#define TRAFFIC_PATH_MAX 1024
#define TRAFFIC_AGENTS_MAX 5000
#define TRAFFIC_GATEWAYS_MAX 64
#define TRAFFIC_PROFILES_MAX 16
#define TRAFFIC_SKILLS_MAX ACCOUNTS_SKILLS_TEXT_MAX /* "skill:level,..." of one agent */
#define TRAFFIC_RATE_MAX 100000   /* calls per second, all tiers */
#define TRAFFIC_AGENT_PASSWORD "Kefu-sim-agent-1" /* every simulated agent's password */

struct traffic_opts {
	const char *cluster;      /* cluster.json */
	const char *boss;         /* --boss DIR, or NULL: unknown numbers only */
	bool no_import;           /* the BOSS files are in the cluster already */
	bool json;
	uint64_t agents;
	double rate;              /* calls per second, all tiers */
	uint64_t duration_s;
	uint64_t seed;
	uint64_t gateways;        /* 0: one per node */
	uint64_t handle_ms;       /* mean talk time */
	uint64_t wrap_ms;
	uint64_t patience_ms;     /* mean patience */
	uint64_t ring_ms;         /* longest ring before an agent answers */
	uint64_t no_answer;       /* permille of offers left to ring out */
	uint64_t unknown;         /* permille of calls from numbers not in the book */
	unsigned mix[TRAFFIC_TIERS]; /* shares of known calls per tier */
	const char *profiles;     /* agent skill profiles, ';'-separated */
	const char *prefix;       /* agent ids: PREFIX001 ... */
	const char *service;      /* the number dialled */
	const char *calls_path;   /* --calls FILE: every call's record, or NULL */
};

struct traffic {
	struct traffic_opts o;
	char nodes[TRAFFIC_NODES_MAX][TRAFFIC_ADDR_MAX];
	size_t nnodes;
	char ca[TRAFFIC_PATH_MAX], admin_cert[TRAFFIC_PATH_MAX], admin_key[TRAFFIC_PATH_MAX];
	char gw_cert[TRAFFIC_PATH_MAX], gw_key[TRAFFIC_PATH_MAX];
	struct accounts_skills profile[TRAFFIC_PROFILES_MAX];
	size_t nprofiles;

	struct loop *loop;
	struct tls_ctx *tls_admin, *tls_gw, *tls_agent;
	struct traffic_book book;
	bool have_book;
	struct traffic_stats stats;
};

/* traffic_agent_id - agent i's id (PREFIX + 3 digits) into out. */
void traffic_agent_id(const struct traffic *t, size_t i, char *out, size_t cap);

/* traffic_agent_skills - agent i's skills: its profile with levels moved by
 * -1..+1 (a draw of the agent's own stream), each in 1..10. */
void traffic_agent_skills(const struct traffic *t, size_t i, char *out, size_t cap);

/*
 * traffic_setup_import - run `kefuctl --cluster FILE import` over the
 * BOSS files of o.boss (its output goes to stderr). Returns 0, or -1 with
 * the reason on stderr.
 */
int traffic_setup_import(struct traffic *t);

/*
 * traffic_setup_accounts - create (or reset) the accounts of the agents
 * through AgentWriteRequest with the admin certificate: ADD, and for an id
 * that exists already PASSWD and UPDATE. Runs the loop until every agent
 * is done or 60 s passed. Returns 0, or -1 with the reason on stderr.
 */
int traffic_setup_accounts(struct traffic *t);

/*
 * traffic_run - connect the gateways and agents, log the agents in, play
 * the calls for o.duration_s, then settle: calls still waiting are asked
 * about (WaitRequest) and hung up, agents log out. Fills t->stats.
 * Returns 0, or -1 when the loop failed.
 */
int traffic_run(struct traffic *t);

#endif
