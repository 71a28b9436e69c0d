/* `kefu-sim orders`: work-order changes through one node. See cmd_orders.h. */
#include "tests/sim/cmd_orders.h"

#include "tests/sim/simopt.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/tls.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 5000
#define TICK_MS 5
#define FAIL_PAUSE_MS 10        /* no new order this long after a failure */
#define ERRORS_SHOWN 5
#define ORDER_ID_MAX 32         /* longer than any id a node makes */
#define MSISDN_BASE 13800000000ULL

#define KIND "complaint"
#define CATEGORY "话费/计费争议"
#define DESCRIPTION "客户称本月话费多扣20元，要求核实并退还"
#define NOTE_TEXT "已联系客户，正在核实计费记录"

struct orders {
	const char *cluster;
	const char *node;        /* --node HOST:PORT; NULL: the first node */
	const char *owner;
	uint64_t max_inflight, duration_s, msisdns, notes;
	bool json;

	char addr[272], ca[1024], cert[1024], key[1024];
	char run[40];            /* this run's part of every client_ref */

	struct loop *loop;
	struct tls_ctx *tls;
	struct rpc *rpc;
	struct loop_timer *tick;
	struct loop_alarm *stop;
	bool up, lost, stopping;
	uint64_t pause_until_ms;
	uint64_t first_us, last_us;   /* first request sent, last reply */
	uint64_t next_order, inflight, created, transitions, errors;
};

/* One order's chain: the request in flight is its step'th (0: the create). */
struct chain {
	struct orders *g;
	uint64_t n;
	uint64_t step;
	char id[ORDER_ID_MAX + 1];
};

#define SETTER(field) SIMOPT_STR(struct orders, field)
SETTER(cluster)
SETTER(node)
SETTER(owner)

static int set_inflight(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 1, 4096, &((struct orders *)ctx)->max_inflight, why, whylen);
}

static int set_duration(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 1, 86400, &((struct orders *)ctx)->duration_s, why, whylen);
}

static int set_msisdns(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 1, 100000000, &((struct orders *)ctx)->msisdns, why, whylen);
}

static int set_transitions(void *ctx, const char *val, char *why, size_t whylen)
{
	/* an order keeps 512 steps: create, dispatch and the notes fit */
	return simopt_u64(val, 0, 500, &((struct orders *)ctx)->notes, why, whylen);
}

static int set_json(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)val;
	(void)why;
	(void)whylen;
	((struct orders *)ctx)->json = true;
	return 0;
}

static const struct simopt opts[] = {
	{"cluster", "FILE", true, set_cluster, "cluster.json of the test harness"},
	{"owner", "AGENT", true, set_owner, "the agent who owns every order (its account must exist)"},
	{"node", "HOST:PORT", false, set_node, "the node to send to, the leader (default: the first node)"},
	{"inflight", "N", false, set_inflight, "requests awaiting their reply at most (default 64)"},
	{"duration", "S", false, set_duration, "seconds to begin orders (default 10)"},
	{"msisdns", "N", false, set_msisdns, "numbers 13800000000.. the orders cycle over (default 1000)"},
	{"transitions", "K", false, set_transitions, "notes after each dispatch (default 0)"},
	{"json", NULL, false, set_json, "print the figures as one JSON object"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The node's address, the CA and the admin certificate from cluster.json. */
static int load_cluster(struct orders *g)
{
	json_error_t jerr;
	json_t *c = json_load_file(g->cluster, 0, &jerr);
	const char *first;

	if (!c) {
		fprintf(stderr, "kefu-sim orders: %s: %s\n", g->cluster, jerr.text);
		return -1;
	}
	first = json_string_value(
		json_object_get(json_array_get(json_object_get(c, "nodes"), 0), "addr"));
	snprintf(g->addr, sizeof(g->addr), "%s", g->node ? g->node : first ? first : "");
	snprintf(g->ca, sizeof(g->ca), "%s", json_string_value(json_object_get(c, "ca")) ?: "");
	snprintf(g->cert, sizeof(g->cert), "%s",
		 json_string_value(json_object_get(c, "admin_cert")) ?: "");
	snprintf(g->key, sizeof(g->key), "%s",
		 json_string_value(json_object_get(c, "admin_key")) ?: "");
	json_decref(c);
	if (!g->addr[0] || !g->ca[0] || !g->cert[0] || !g->key[0]) {
		fprintf(stderr, "kefu-sim orders: %s lists no node, or no ca, admin_cert or "
			"admin_key\n", g->cluster);
		return -1;
	}
	return 0;
}

static void finish_if_done(struct orders *g)
{
	if (g->stopping && g->inflight == 0)
		loop_stop(g->loop);
}

__attribute__((format(printf, 2, 3)))
static void count_error(struct orders *g, const char *fmt, ...)
{
	va_list ap;

	if (g->errors++ >= ERRORS_SHOWN)
		return;
	fputs("kefu-sim orders: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void fill(struct orders *g);
static int send_step(struct chain *c);

/*
 * on_reply - the answer to a chain's request: an OrderReply is a write
 * and moves the chain on (while the run lasts); anything else is an
 * error and ends it, and new orders wait FAIL_PAUSE_MS, as a real client
 * backs off from a node that refuses.
 */
static void on_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct chain *c = arg;
	struct orders *g = c->g;
	bool more = false;

	g->inflight--;
	g->last_us = loop_now_us();
	if (!err && e->body_case == KEFU__ENVELOPE__BODY_ORDER_REPLY && e->order_reply->order &&
	    e->order_reply->order->id && strlen(e->order_reply->order->id) <= ORDER_ID_MAX) {
		if (c->step == 0) {
			g->created++;
			snprintf(c->id, sizeof(c->id), "%s", e->order_reply->order->id);
		} else {
			g->transitions++;
		}
		c->step++;
		more = c->step <= 1 + g->notes && !g->stopping;
	} else {
		const char *what = c->step == 0 ? "create" : c->step == 1 ? "dispatch" : "note";

		if (err)
			count_error(g, "order %llu %s: %s", (unsigned long long)c->n, what,
				    kf_strerror(err));
		else if (e->body_case == KEFU__ENVELOPE__BODY_ERROR)
			count_error(g, "order %llu %s: %s (%s)", (unsigned long long)c->n, what,
				    e->error->message ? e->error->message : "", kf_strerror(e->error->code));
		else
			count_error(g, "order %llu %s: unexpected reply (body %d)",
				    (unsigned long long)c->n, what, (int)e->body_case);
		g->pause_until_ms = loop_now_ms() + FAIL_PAUSE_MS;
	}
	if (more && send_step(c) != 0) {
		count_error(g, "order %llu: the next step could not be sent",
			    (unsigned long long)c->n);
		more = false;
	}
	if (!more)
		free(c);
	fill(g);
	finish_if_done(g);
}

/* send_step - the chain's next request. Returns 0, or rpc_call's error. */
static int send_step(struct chain *c)
{
	struct orders *g = c->g;
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__OrderCreate oc = KEFU__ORDER_CREATE__INIT;
	Kefu__OrderTransition ot = KEFU__ORDER_TRANSITION__INIT;
	char ref[80], msisdn[24];
	int err;

	if (c->step == 0) {
		snprintf(ref, sizeof(ref), "%s-%llu", g->run, (unsigned long long)c->n);
		snprintf(msisdn, sizeof(msisdn), "%llu",
			 (unsigned long long)(MSISDN_BASE + c->n % g->msisdns));
		oc.client_ref = ref;
		oc.msisdn = msisdn;
		oc.kind = KIND;
		oc.category = CATEGORY;
		oc.channel = "phone";
		oc.owner = (char *)g->owner;
		oc.description = DESCRIPTION;
		env.body_case = KEFU__ENVELOPE__BODY_ORDER_CREATE;
		env.order_create = &oc;
	} else {
		ot.id = c->id;
		ot.action = c->step == 1 ? "dispatch" : "note";
		ot.note = c->step == 1 ? NULL : NOTE_TEXT;
		env.body_case = KEFU__ENVELOPE__BODY_ORDER_TRANSITION;
		env.order_transition = &ot;
	}
	err = rpc_call(g->rpc, &env, REQUEST_TIMEOUT_MS, on_reply, c);
	if (err == 0) {
		if (!g->first_us)
			g->first_us = loop_now_us();
		g->inflight++;
	}
	return err;
}

/* fill - begin new orders until the window is full. */
static void fill(struct orders *g)
{
	while (!g->stopping && g->up && g->inflight < g->max_inflight &&
	       loop_now_ms() >= g->pause_until_ms) {
		struct chain *c = calloc(1, sizeof(*c));

		if (!c)
			abort();
		*c = (struct chain){.g = g, .n = g->next_order};
		if (send_step(c) != 0) {
			free(c);
			break;
		}
		g->next_order++;
	}
}

static void on_state(void *arg, int err, const char *detail)
{
	struct orders *g = arg;

	if (err == 0) {
		g->up = true;
		loop_alarm_set(g->stop, g->duration_s * 1000);
		fill(g);
		return;
	}
	/* Requests in flight get their own failure callbacks. */
	fprintf(stderr, "kefu-sim orders: %s %s: %s\n",
		g->up ? "lost the connection to" : "cannot connect to", g->addr,
		detail && *detail ? detail : kf_strerror(err));
	g->lost = true;
	g->up = false;
	g->stopping = true;
	finish_if_done(g);
}

static void on_tick(void *arg)
{
	fill(arg);
}

/* The run's time is up, or the node was not reached in time. */
static void on_stop(void *arg)
{
	struct orders *g = arg;

	if (!g->up && !g->lost) {
		fprintf(stderr, "kefu-sim orders: %s: no connection after %d ms\n", g->addr,
			CONNECT_TIMEOUT_MS);
		g->lost = true;
	}
	g->stopping = true;
	finish_if_done(g);
}

static void print_figures(const struct orders *g)
{
	uint64_t writes = g->created + g->transitions;
	double secs = g->last_us > g->first_us ? (double)(g->last_us - g->first_us) / 1e6 : 0;
	double rate = secs > 0 ? (double)writes / secs : 0;

	if (g->json) {
		json_t *j = json_pack("{sIsIsIsfsIsI}", "orders_created", (json_int_t)g->created,
				      "transitions", (json_int_t)g->transitions, "writes",
				      (json_int_t)writes, "seconds", secs, "writes_per_s",
				      (json_int_t)(rate + 0.5), "errors", (json_int_t)g->errors);

		json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
		putchar('\n');
		json_decref(j);
		return;
	}
	printf("orders_created=%llu transitions=%llu writes=%llu seconds=%.3f writes_per_s=%.0f "
	       "errors=%llu\n",
	       (unsigned long long)g->created, (unsigned long long)g->transitions,
	       (unsigned long long)writes, secs, rate, (unsigned long long)g->errors);
}

int cmd_orders_main(int argc, char **argv)
{
	struct orders g = {.max_inflight = 64, .duration_s = 10, .msisdns = 1000};
	struct rpc_opts ro = {.state = on_state, .arg = &g};
	struct tls_opts to = {0};
	char err[256];
	int r;

	switch (simopt_parse(opts, NOPTS, argc - 1, argv + 1, &g, err, sizeof(err))) {
	case SIMOPT_HELP:
		printf("usage: kefu-sim orders --cluster FILE --owner AGENT [options]\n");
		simopt_usage(stdout, opts, NOPTS);
		return 0;
	case SIMOPT_BAD:
		fprintf(stderr, "kefu-sim orders: %s\n", err);
		return 2;
	case SIMOPT_OK:
		break;
	}
	if (!*g.owner || (g.node && !*g.node)) {
		fprintf(stderr, "kefu-sim orders: --owner and --node must not be empty\n");
		return 2;
	}
	if (load_cluster(&g))
		return 2;
	/* Unique per run: client_refs of an earlier run are never answered. */
	snprintf(g.run, sizeof(g.run), "bench-%llx-%lx", (unsigned long long)loop_wall_ms(),
		 (unsigned long)getpid());
	signal(SIGPIPE, SIG_IGN);
	log_set_level(-1, LOG_LVL_ERR);
	to = (struct tls_opts){g.ca, g.cert, g.key, false, 0, NULL};
	if (tls_ctx_new(&to, &g.tls, err, sizeof(err)) != 0) {
		fprintf(stderr, "kefu-sim orders: TLS: %s\n", err);
		return 2;
	}
	if ((r = loop_new(&g.loop)) != 0) {
		fprintf(stderr, "kefu-sim orders: event loop: %s\n", kf_strerror(r));
		tls_ctx_free(g.tls);
		return 1;
	}
	g.tick = loop_timer_new(g.loop, TICK_MS, on_tick, &g);
	g.stop = loop_alarm_new(g.loop, on_stop, &g);
	loop_alarm_set(g.stop, CONNECT_TIMEOUT_MS);
	ro.loop = g.loop;
	ro.addr = g.addr;
	ro.tls = g.tls;
	if ((r = rpc_new(&ro, &g.rpc)) != 0) {
		fprintf(stderr, "kefu-sim orders: cannot dial %s: %s\n", g.addr, kf_strerror(r));
		g.lost = true;
	} else {
		loop_run(g.loop);
	}
	if (!g.lost || g.first_us)
		print_figures(&g); /* after a lost connection: what was done before */
	rpc_free(g.rpc);
	loop_timer_free(g.tick);
	loop_alarm_free(g.stop);
	loop_run(g.loop); /* let the closed connection go */
	loop_free(g.loop);
	tls_ctx_free(g.tls);
	return g.lost ? 1 : 0;
}
