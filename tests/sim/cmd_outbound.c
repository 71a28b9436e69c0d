/* `kefu-sim outbound`: gateways and agents of a campaign. See cmd_outbound.h. */
#include "tests/sim/cmd_outbound.h"

#include "tests/sim/rng.h"
#include "tests/sim/simopt.h"
#include "tests/sim/traffic_dist.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "proto/kefu.pb-c.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES_MAX 9
#define AGENTS_MAX 64
#define CALLS_MAX 4096
#define RPC_MS 10000u

struct out;

struct node {
	char addr[272];
};

struct gw {
	struct out *o;
	struct rpc *rpc;
	unsigned node;                 /* the node it is connected to now */
};

struct agent {
	struct out *o;
	char id[40];
	struct rpc *rpc;
	bool ready;
	unsigned node, tries;          /* the node it logs in through, attempts */
	uint64_t talk_ms;              /* in all */
};

enum call_state { C_RINGING, C_RESULT, C_TALKING, C_DONE };

struct call {
	struct out *o;
	char id[48], msisdn[24], campaign[40];
	unsigned gw;
	enum call_state st;
	const char *result;            /* static */
	struct loop_alarm *alarm;
	int agent;                     /* talking with, -1 none */
	uint64_t talk_start;
};

struct out {
	const char *cluster, *campaign, *agents_opt, *password_file;
	const char *answer_s, *machine_s, *ring_s, *talk_s;
	uint64_t duration, seed;
	bool json;
	double answer, machine, ring, talk;
	char ca[1024], gcert[1024], gkey[1024], password[256];
	struct node nodes[NODES_MAX];
	unsigned nnodes;
	struct loop *loop;
	struct tls_ctx *gtls, *atls;
	struct gw gws[NODES_MAX];
	struct agent agents[AGENTS_MAX];
	unsigned nagents;
	struct call *calls[CALLS_MAX];
	unsigned ncalls;
	struct rng rng;
	struct loop_alarm *end;
	uint64_t start_ms;
	uint64_t placed, human, machine_n, busy, no_answer, abandoned, twice;
};

/* ---- options ---- */

#define STR(field) SIMOPT_STR(struct out, field)
STR(cluster)
STR(campaign)
STR(agents_opt)
STR(password_file)
STR(answer_s)
STR(machine_s)
STR(ring_s)
STR(talk_s)
SIMOPT_U64(struct out, duration, 1, 86400)
SIMOPT_U64(struct out, seed, 0, UINT64_MAX)

static int set_json(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)val, (void)why, (void)whylen;
	((struct out *)ctx)->json = true;
	return 0;
}

static const struct simopt opts[] = {
	{"cluster", "FILE", true, set_cluster, "cluster.json of the test harness"},
	{"campaign", "NAME", true, set_campaign, "the running campaign to play"},
	{"agents", "IDS", true, set_agents_opt, "agent accounts, comma-separated"},
	{"password-file", "FILE", true, set_password_file, "their password"},
	{"answer", "P", false, set_answer_s, "chance an Originate is answered (0.35)"},
	{"machine", "P", false, set_machine_s, "chance an answer is a machine (0.1)"},
	{"ring", "S", false, set_ring_s, "ring time in seconds, drawn 0.5 to 1.5 times (4)"},
	{"talk", "S", false, set_talk_s, "median talk time in seconds, lognormal (20)"},
	{"duration", "S", false, set_duration, "seconds to play (60)"},
	{"seed", "N", false, set_seed, "random seed (1)"},
	{"json", NULL, false, set_json, "print the result as JSON"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int fraction(const char *s, double def, double max, double *out)
{
	char *end;

	if (!s) {
		*out = def;
		return 0;
	}
	*out = strtod(s, &end);
	return end != s && !*end && *out >= 0 && *out <= max ? 0 : -1;
}

/* ---- calls ---- */

static uint64_t now_ms(void)
{
	return loop_now_ms();
}

static struct call *call_find(struct out *o, const char *id)
{
	for (unsigned i = 0; i < o->ncalls; i++)
		if (strcmp(o->calls[i]->id, id) == 0)
			return o->calls[i];
	return NULL;
}

static bool number_busy(struct out *o, const char *msisdn)
{
	for (unsigned i = 0; i < o->ncalls; i++)
		if (o->calls[i]->st != C_DONE && strcmp(o->calls[i]->msisdn, msisdn) == 0)
			return true;
	return false;
}

static void send_result(struct call *c);

static void agent_free_of(struct out *o, struct call *c)
{
	if (c->agent >= 0) {
		o->agents[c->agent].talk_ms += now_ms() - c->talk_start;
		c->agent = -1;
	}
}

/* The talk ended: the agent's disposition. */
static void talk_end(struct call *c)
{
	struct out *o = c->o;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__DialDisposition d = KEFU__DIAL_DISPOSITION__INIT;
	struct agent *a = c->agent >= 0 ? &o->agents[c->agent] : NULL;

	c->st = C_DONE;
	if (!a)
		return;
	agent_free_of(o, c);
	d.campaign = c->campaign;
	d.attempt_id = c->id;
	d.disposition = "satisfied";
	e.body_case = KEFU__ENVELOPE__BODY_DIAL_DISPOSITION;
	e.dial_disposition = &d;
	if (a->rpc)
		(void)rpc_send(a->rpc, &e);
}

static void on_alarm(void *arg)
{
	struct call *c = arg;
	struct out *o = c->o;

	if (c->st == C_RINGING) {
		if (rng_below(&o->rng, 1000000) < (uint64_t)(o->answer * 1e6))
			c->result = rng_below(&o->rng, 1000000) < (uint64_t)(o->machine * 1e6)
					    ? "machine"
					    : "human";
		else
			c->result = rng_below(&o->rng, 3) == 0 ? "busy" : "no_answer";
		c->st = C_RESULT;
		send_result(c);
	} else if (c->st == C_RESULT) {
		send_result(c); /* not answered yet: again */
	} else if (c->st == C_TALKING) {
		talk_end(c);
	}
}

static int agent_index(struct out *o, const char *id)
{
	for (unsigned i = 0; i < o->nagents; i++)
		if (strcmp(o->agents[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void on_result_reply(void *arg, int err, const Kefu__Envelope *r)
{
	struct call *c = arg;
	struct out *o = c->o;

	if (c->st != C_RESULT)
		return;
	if (err || !r || r->body_case == KEFU__ENVELOPE__BODY_ERROR) {
		loop_alarm_set(c->alarm, 500); /* its node went away: to the next */
		return;
	}
	if (strcmp(c->result, "machine") == 0)
		o->machine_n++;
	else if (strcmp(c->result, "busy") == 0)
		o->busy++;
	else if (strcmp(c->result, "no_answer") == 0)
		o->no_answer++;
	if (r->body_case == KEFU__ENVELOPE__BODY_DIAL_CONNECT && r->dial_connect->drop) {
		o->abandoned++;
		c->st = C_DONE;
	} else if (r->body_case == KEFU__ENVELOPE__BODY_DIAL_CONNECT) {
		o->human++;
		c->agent = agent_index(o, r->dial_connect->agent ? r->dial_connect->agent : "");
		c->talk_start = now_ms();
		c->st = C_TALKING;
		loop_alarm_set(c->alarm,
			       traffic_dist_lognormal_ms(&o->rng, o->talk * 1000.0 * 1.13, 0.5));
	} else {
		c->st = C_DONE;
	}
}

static void send_result(struct call *c)
{
	struct out *o = c->o;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__DialResult r = KEFU__DIAL_RESULT__INIT;
	struct gw *g = &o->gws[c->gw];

	r.attempt_id = c->id;
	r.campaign = c->campaign;
	r.result = (char *)c->result;
	e.body_case = KEFU__ENVELOPE__BODY_DIAL_RESULT;
	e.dial_result = &r;
	if (!g->rpc || rpc_call(g->rpc, &e, RPC_MS, on_result_reply, c))
		loop_alarm_set(c->alarm, 500);
}

static void originate(struct out *o, unsigned gw, const Kefu__Originate *m)
{
	struct call *c;
	double ring = o->ring * (0.5 + (double)rng_below(&o->rng, 1000) / 1000.0);

	if (!m->attempt_id || !m->msisdn)
		return;
	if (call_find(o, m->attempt_id) || number_busy(o, m->msisdn))
		o->twice++;
	o->placed++;
	if (o->ncalls == CALLS_MAX)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->o = o;
	c->gw = gw;
	c->agent = -1;
	snprintf(c->id, sizeof(c->id), "%s", m->attempt_id);
	snprintf(c->msisdn, sizeof(c->msisdn), "%s", m->msisdn);
	snprintf(c->campaign, sizeof(c->campaign), "%s", m->campaign ? m->campaign : "");
	c->alarm = loop_alarm_new(o->loop, on_alarm, c);
	o->calls[o->ncalls++] = c;
	loop_alarm_set(c->alarm, (uint64_t)(ring * 1000.0));
}

/* ---- gateways ---- */

static void gw_connect(struct gw *g);

static void gw_push(void *arg, const Kefu__Envelope *m)
{
	struct gw *g = arg;

	if (m->body_case == KEFU__ENVELOPE__BODY_ORIGINATE)
		originate(g->o, (unsigned)(g - g->o->gws), m->originate);
}

static void gw_state(void *arg, int err, const char *detail)
{
	struct gw *g = arg;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__DialGateway d = KEFU__DIAL_GATEWAY__INIT;

	(void)detail;
	if (err) {
		/* the node went away: the next one */
		rpc_free(g->rpc);
		g->rpc = NULL;
		g->node = (g->node + 1) % g->o->nnodes;
		gw_connect(g);
		return;
	}
	d.has_lines = 1;
	d.lines = 32;
	e.body_case = KEFU__ENVELOPE__BODY_DIAL_GATEWAY;
	e.dial_gateway = &d;
	(void)rpc_send(g->rpc, &e);
}

static void gw_connect(struct gw *g)
{
	struct rpc_opts ro = {.loop = g->o->loop, .addr = g->o->nodes[g->node].addr,
			      .tls = g->o->gtls, .state = gw_state, .unsolicited = gw_push,
			      .arg = g};

	if (rpc_new(&ro, &g->rpc))
		g->rpc = NULL;
}

/* ---- agents ---- */

static void agent_ready(void *arg, int err, const Kefu__Envelope *r)
{
	struct agent *a = arg;

	a->ready = !err && r && r->body_case == KEFU__ENVELOPE__BODY_ADMIN_REPLY;
	if (!a->ready)
		fprintf(stderr, "kefu-sim outbound: agent %s is not ready: %s\n", a->id,
			err ? kf_strerror(err)
			    : r && r->body_case == KEFU__ENVELOPE__BODY_ERROR ? r->error->message : "?");
}

static void agent_connect(struct out *o, struct agent *a, unsigned node);

static void agent_logged_in(void *arg, int err, const Kefu__Envelope *r)
{
	struct agent *a = arg;
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__DialAgent d = KEFU__DIAL_AGENT__INIT;

	if (err && ++a->tries < a->o->nnodes) {
		/* that node does not answer: the next one */
		rpc_free(a->rpc);
		a->rpc = NULL;
		agent_connect(a->o, a, (a->node + 1) % a->o->nnodes);
		return;
	}
	if (err || !r || r->body_case != KEFU__ENVELOPE__BODY_LOGIN_REPLY) {
		fprintf(stderr, "kefu-sim outbound: agent %s did not log in\n", a->id);
		return;
	}
	d.campaign = (char *)a->o->campaign;
	d.state = "ready";
	e.body_case = KEFU__ENVELOPE__BODY_DIAL_AGENT;
	e.dial_agent = &d;
	(void)rpc_call(a->rpc, &e, RPC_MS, agent_ready, a);
}

static void agent_push(void *arg, const Kefu__Envelope *m)
{
	(void)arg;
	(void)m; /* the screen pop: the gateway's DialConnect already named the agent */
}

static void agent_connect(struct out *o, struct agent *a, unsigned node)
{
	struct rpc_opts ro = {.loop = o->loop, .addr = o->nodes[node].addr, .tls = o->atls,
			      .unsolicited = agent_push, .arg = a};
	Kefu__Envelope e = KEFU__ENVELOPE__INIT;
	Kefu__Login l = KEFU__LOGIN__INIT;

	a->o = o;
	a->node = node;
	if (rpc_new(&ro, &a->rpc)) {
		a->rpc = NULL;
		return;
	}
	l.agent_id = a->id;
	l.password = o->password;
	e.body_case = KEFU__ENVELOPE__BODY_LOGIN;
	e.login = &l;
	(void)rpc_call(a->rpc, &e, RPC_MS, agent_logged_in, a);
}

/* ---- setup and the end ---- */

static int load(struct out *o)
{
	json_error_t jerr;
	json_t *c = json_load_file(o->cluster, 0, &jerr), *n;
	FILE *f = fopen(o->password_file, "r");
	size_t i, len;

	if (!c || !f) {
		fprintf(stderr, "kefu-sim outbound: cannot read %s\n", !c ? o->cluster
									   : o->password_file);
		json_decref(c);
		if (f)
			fclose(f);
		return -1;
	}
	len = fread(o->password, 1, sizeof(o->password) - 1, f);
	fclose(f);
	while (len && (o->password[len - 1] == '\n' || o->password[len - 1] == '\r'))
		len--;
	o->password[len] = '\0';
	json_array_foreach(json_object_get(c, "nodes"), i, n)
	{
		if (o->nnodes == NODES_MAX)
			break;
		snprintf(o->nodes[o->nnodes++].addr, sizeof(o->nodes[0].addr), "%s",
			 json_string_value(json_object_get(n, "addr")) ?: "");
	}
	snprintf(o->ca, sizeof(o->ca), "%s", json_string_value(json_object_get(c, "ca")) ?: "");
	snprintf(o->gcert, sizeof(o->gcert), "%s",
		 json_string_value(json_object_get(c, "gateway_cert")) ?: "");
	snprintf(o->gkey, sizeof(o->gkey), "%s",
		 json_string_value(json_object_get(c, "gateway_key")) ?: "");
	json_decref(c);
	return o->nnodes && o->ca[0] && o->gcert[0] ? 0 : -1;
}

static void on_end(void *arg)
{
	loop_stop(((struct out *)arg)->loop);
}

static void report(struct out *o)
{
	uint64_t elapsed = now_ms() - o->start_ms, talk = 0;
	double occ, rate = o->human + o->abandoned
				   ? (double)o->abandoned / (double)(o->human + o->abandoned)
				   : 0.0;
	json_t *j;
	char *text;

	for (unsigned i = 0; i < o->ncalls; i++)
		agent_free_of(o, o->calls[i]);
	for (unsigned i = 0; i < o->nagents; i++)
		talk += o->agents[i].talk_ms;
	occ = o->nagents && elapsed ? (double)talk / ((double)elapsed * o->nagents) : 0.0;
	if (!o->json) {
		printf("placed %llu  human %llu  machine %llu  busy %llu  no answer %llu  abandoned "
		       "%llu  abandon rate %.2f%%  occupancy %.1f%%  dialed twice %llu\n",
		       (unsigned long long)o->placed, (unsigned long long)o->human,
		       (unsigned long long)o->machine_n, (unsigned long long)o->busy,
		       (unsigned long long)o->no_answer, (unsigned long long)o->abandoned,
		       rate * 100, occ * 100, (unsigned long long)o->twice);
		return;
	}
	j = json_pack("{sIsIsIsIsIsIsfsfsI}", "placed", (json_int_t)o->placed, "human",
		      (json_int_t)o->human, "machine", (json_int_t)o->machine_n, "busy",
		      (json_int_t)o->busy, "no_answer", (json_int_t)o->no_answer, "abandoned",
		      (json_int_t)o->abandoned, "abandon_rate", rate, "agent_occupancy", occ,
		      "dialed_twice", (json_int_t)o->twice);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", text);
	free(text);
	json_decref(j);
}

int cmd_outbound_main(int argc, char **argv)
{
	static struct out o;
	struct tls_opts gt = {0}, at = {0};
	char err[256], ids[1024], *next, *id;
	int r = 1;

	o.duration = 60;
	o.seed = 1;
	switch (simopt_parse(opts, NOPTS, argc - 1, argv + 1, &o, err, sizeof(err))) {
	case SIMOPT_OK:
		break;
	case SIMOPT_HELP:
		printf("usage: kefu-sim outbound --cluster FILE --campaign NAME --agents IDS "
		       "--password-file FILE [--answer 0.35] [--machine 0.1] [--duration S] [--json]\n");
		simopt_usage(stdout, opts, NOPTS);
		return 0;
	default:
		fprintf(stderr, "kefu-sim outbound: %s\n", err);
		return 2;
	}
	if (fraction(o.answer_s, 0.35, 1, &o.answer) || fraction(o.machine_s, 0.1, 1, &o.machine) ||
	    fraction(o.ring_s, 4, 120, &o.ring) || fraction(o.talk_s, 20, 3600, &o.talk) ||
	    o.talk <= 0) {
		fprintf(stderr, "kefu-sim outbound: --answer and --machine are 0 to 1, --ring 0 to "
				"120 and --talk above 0 to 3600 seconds\n");
		return 2;
	}
	snprintf(ids, sizeof(ids), "%s", o.agents_opt);
	for (id = ids; id && *id && o.nagents < AGENTS_MAX; id = next) {
		next = strchr(id, ',');
		if (next)
			*next++ = '\0';
		if (*id && strlen(id) < sizeof(o.agents[0].id))
			memcpy(o.agents[o.nagents++].id, id, strlen(id) + 1);
	}
	if (load(&o))
		return 2;
	rng_init(&o.rng, o.seed, 0x6f7574, 0);
	gt.ca_file = at.ca_file = o.ca;
	gt.cert_file = o.gcert;
	gt.key_file = o.gkey;
	if (tls_ctx_new(&gt, &o.gtls, err, sizeof(err)) || tls_ctx_new(&at, &o.atls, err, sizeof(err))) {
		fprintf(stderr, "kefu-sim outbound: TLS: %s\n", err);
		goto out;
	}
	if (loop_new(&o.loop))
		goto out;
	for (unsigned i = 0; i < o.nnodes; i++) {
		o.gws[i].o = &o;
		o.gws[i].node = i;
		gw_connect(&o.gws[i]);
	}
	for (unsigned i = 0; i < o.nagents; i++)
		agent_connect(&o, &o.agents[i], i % o.nnodes);
	o.start_ms = now_ms();
	o.end = loop_alarm_new(o.loop, on_end, &o);
	loop_alarm_set(o.end, o.duration * 1000);
	loop_run(o.loop);
	report(&o);
	r = 0;
	for (unsigned i = 0; i < o.nnodes; i++)
		rpc_free(o.gws[i].rpc);
	for (unsigned i = 0; i < o.nagents; i++)
		rpc_free(o.agents[i].rpc);
	for (unsigned i = 0; i < o.ncalls; i++) {
		loop_alarm_free(o.calls[i]->alarm);
		free(o.calls[i]);
	}
	loop_alarm_free(o.end);
	loop_run(o.loop);
	loop_free(o.loop);
out:
	tls_ctx_free(o.gtls);
	tls_ctx_free(o.atls);
	return r;
}
