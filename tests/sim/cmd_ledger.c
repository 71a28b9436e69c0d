/* `kefu-sim ledger`: numbered writes and a ledger of their fate. See cmd_ledger.h. */
#include "tests/sim/cmd_ledger.h"

#include "tests/sim/simopt.h"

#include "cluster/rpc.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/tls.h"
#include "storage/batch.h"
#include "storage/store.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEDGER_NODES_MAX 16
#define WRITE_TIMEOUT_MS 10000
#define FAIL_PAUSE_MS 10        /* rate 0: no new write this long after a failure */

struct ledger {
	const char *cluster;
	const char *out_path;
	const char *client;
	const char *only;       /* --node: write to this node alone */
	uint64_t rate;          /* writes per second; 0: keep max_inflight in flight */
	uint64_t max_inflight;
	uint64_t duration_s;
	bool stamps;            /* --stamps: " t=<epoch ms>" at the end of each line */

	char nodes[LEDGER_NODES_MAX][272];
	size_t nnodes, cur;
	char ca[1024], cert[1024], key[1024];

	struct loop *loop;
	struct tls_ctx *tls;
	struct rpc *rpc;
	struct loop_timer *tick;
	struct loop_alarm *stop;
	FILE *out;
	uint64_t seq, inflight, sent, acked, failed;
	uint64_t reconnect_ms;
	uint64_t pause_until_ms; /* rate 0: the window refills from then on */
	bool stopping;
};

static int set_cluster(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	((struct ledger *)ctx)->cluster = val;
	return 0;
}

static int set_out(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	((struct ledger *)ctx)->out_path = val;
	return 0;
}

static int set_client(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	((struct ledger *)ctx)->client = val;
	return 0;
}

static int set_node(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	((struct ledger *)ctx)->only = val;
	return 0;
}

static int set_inflight(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 1, 4096, &((struct ledger *)ctx)->max_inflight, why, whylen);
}

static int set_rate(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 0, 100000, &((struct ledger *)ctx)->rate, why, whylen);
}

static int set_duration(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 1, 86400, &((struct ledger *)ctx)->duration_s, why, whylen);
}

static int set_stamps(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)val;
	(void)why;
	(void)whylen;
	((struct ledger *)ctx)->stamps = true;
	return 0;
}

static const struct simopt opts[] = {
	{"cluster", "FILE", true, set_cluster, "cluster.json of the test harness"},
	{"out", "FILE", true, set_out, "the ledger: sent/ack/fail lines"},
	{"client", "NAME", false, set_client, "name in the keys (default c1)"},
	{"node", "HOST:PORT", false, set_node, "send every write to this node (default: any, moving on failure)"},
	{"rate", "N", false, set_rate, "writes per second (default 200); 0: as fast as acknowledged"},
	{"inflight", "N", false, set_inflight, "writes awaiting acknowledgment at most (default 32)"},
	{"duration", "S", false, set_duration, "seconds to run (default 10)"},
	{"stamps", NULL, false, set_stamps, "end each line with t=<unix epoch ms> (CLOCK_REALTIME)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int load_cluster(struct ledger *g)
{
	json_error_t jerr;
	json_t *c = json_load_file(g->cluster, 0, &jerr), *n;
	size_t i;

	if (!c) {
		fprintf(stderr, "kefu-sim ledger: %s: %s\n", g->cluster, jerr.text);
		return -1;
	}
	json_array_foreach(json_object_get(c, "nodes"), i, n)
	{
		const char *a = json_string_value(json_object_get(n, "addr"));

		if (a && g->nnodes < LEDGER_NODES_MAX)
			snprintf(g->nodes[g->nnodes++], sizeof(g->nodes[0]), "%s", a);
	}
	snprintf(g->ca, sizeof(g->ca), "%s", json_string_value(json_object_get(c, "ca")) ?: "");
	/* A raw Write is for nodes only: the ledger writes with the first node's
	 * certificate, which lies beside the CA's (certs/NAME.crt). */
	{
		const char *first = json_string_value(
			json_object_get(json_array_get(json_object_get(c, "nodes"), 0), "name"));
		const char *slash = strrchr(g->ca, '/');
		int dl = slash ? (int)(slash - g->ca) : 0;

		snprintf(g->cert, sizeof(g->cert), "%.*s/%s.crt", dl, g->ca, first ? first : "");
		snprintf(g->key, sizeof(g->key), "%.*s/%s.key", dl, g->ca, first ? first : "");
	}
	json_decref(c);
	if (g->only) {
		snprintf(g->nodes[0], sizeof(g->nodes[0]), "%s", g->only);
		g->nnodes = 1;
	}
	if (!g->nnodes || !g->ca[0]) {
		fprintf(stderr, "kefu-sim ledger: %s lists no nodes or no ca\n", g->cluster);
		return -1;
	}
	return 0;
}

static void on_state(void *arg, int err, const char *detail)
{
	struct ledger *g = arg;

	(void)detail;
	if (err) {
		/* Pending writes get their own failure callbacks; dial another node soon. */
		g->cur = (g->cur + 1) % g->nnodes;
		g->reconnect_ms = loop_now_ms() + 100;
	}
}

static void dial(struct ledger *g)
{
	struct rpc_opts ro = {.loop = g->loop, .addr = g->nodes[g->cur], .tls = g->tls,
			      .state = on_state, .arg = g};

	if (g->rpc && !rpc_failed(g->rpc))
		return;
	if (loop_now_ms() < g->reconnect_ms)
		return;
	rpc_free(g->rpc);
	if (rpc_new(&ro, &g->rpc) != 0) {
		g->cur = (g->cur + 1) % g->nnodes;
		g->reconnect_ms = loop_now_ms() + 100;
	}
}

/*
 * Write one ledger line (fmt without its newline) and flush it, so that a
 * crash or a kill leaves every line already written. With --stamps the line
 * ends with the wall-clock time in epoch milliseconds: a script relates the
 * lines to events it timed itself, such as the kill of a node.
 */
__attribute__((format(printf, 2, 3)))
static void ledger_line(struct ledger *g, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(g->out, fmt, ap);
	va_end(ap);
	if (g->stamps) {
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(g->out, " t=%lld",
			(long long)ts.tv_sec * 1000 + (long long)(ts.tv_nsec / 1000000));
	}
	fputc('\n', g->out);
	fflush(g->out);
}

struct ticket {
	struct ledger *g;
	uint64_t seq;
};

static int send_one(struct ledger *g);

/*
 * fill - at rate 0, top the window up to max_inflight writes. A failed
 * write pauses the refill for FAIL_PAUSE_MS, as a real client backs off:
 * without it a node that refuses at once (no leader yet) is asked again
 * in a tight loop that takes the CPU the cluster needs to recover.
 */
static void fill(struct ledger *g)
{
	while (g->rate == 0 && !g->stopping && g->rpc && rpc_is_up(g->rpc) &&
	       g->inflight < g->max_inflight && loop_now_ms() >= g->pause_until_ms)
		if (send_one(g) != 0)
			break;
}

static void finish_if_done(struct ledger *g)
{
	if (g->stopping && g->inflight == 0)
		loop_stop(g->loop);
}

static void on_reply(void *arg, int err, const Kefu__Envelope *e)
{
	struct ticket *t = arg;
	struct ledger *g = t->g;

	g->inflight--;
	if (!err && e->body_case == KEFU__ENVELOPE__BODY_WRITE_REPLY) {
		ledger_line(g, "ack %llu %llu", (unsigned long long)t->seq,
			    (unsigned long long)e->write_reply->index);
		g->acked++;
	} else {
		const char *why = err ? kf_strerror(err)
			: e->body_case == KEFU__ENVELOPE__BODY_ERROR && e->error->message
				? e->error->message : "unexpected reply";

		ledger_line(g, "fail %llu %s", (unsigned long long)t->seq, why);
		g->failed++;
		g->pause_until_ms = loop_now_ms() + FAIL_PAUSE_MS;
	}
	free(t);
	fill(g);
	finish_if_done(g);
}

/* send_one - send the next numbered write. Returns 0, or rpc_call's error. */
static int send_one(struct ledger *g)
{
	Kefu__Envelope env = KEFU__ENVELOPE__INIT;
	Kefu__WriteRequest wr = KEFU__WRITE_REQUEST__INIT;
	Kefu__WriteBatch *wb;
	struct batch *b = batch_new(0);
	char key[96], val[32];
	struct ticket *t;
	uint8_t *packed;
	size_t len;
	int err;

	snprintf(key, sizeof(key), "ledger.%s.%08llu", g->client, (unsigned long long)g->seq);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)g->seq);
	batch_put(b, STORE_META, key, strlen(key), val, strlen(val));
	if (batch_pack(b, 0, false, g->client, &packed, &len) != 0)
		abort();
	batch_free(b);
	wb = kefu__write_batch__unpack(NULL, len, packed);
	free(packed);
	if (!wb)
		abort();
	wr.batch = wb;
	env.body_case = KEFU__ENVELOPE__BODY_WRITE;
	env.write = &wr;
	t = malloc(sizeof(*t));
	if (!t)
		abort();
	*t = (struct ticket){g, g->seq};
	err = rpc_call(g->rpc, &env, WRITE_TIMEOUT_MS, on_reply, t);
	if (err == 0) {
		ledger_line(g, "sent %llu %s", (unsigned long long)g->seq, key);
		g->seq++;
		g->sent++;
		g->inflight++;
	} else {
		free(t);
	}
	kefu__write_batch__free_unpacked(wb, NULL);
	return err;
}

static void on_tick(void *arg)
{
	struct ledger *g = arg;

	if (g->stopping)
		return;
	dial(g);
	if (g->rate == 0)
		fill(g);
	else if (g->rpc && rpc_is_up(g->rpc) && g->inflight < g->max_inflight)
		send_one(g);
}

static void on_stop(void *arg)
{
	struct ledger *g = arg;

	g->stopping = true;
	finish_if_done(g);
}

int cmd_ledger_main(int argc, char **argv)
{
	struct ledger g = {.client = "c1", .rate = 200, .duration_s = 10, .max_inflight = 32};
	struct tls_opts to = {0};
	char err[256], why[256];
	int r;

	switch (simopt_parse(opts, NOPTS, argc - 1, argv + 1, &g, err, sizeof(err))) {
	case SIMOPT_HELP:
		printf("usage: kefu-sim ledger --cluster FILE --out FILE [options]\n");
		simopt_usage(stdout, opts, NOPTS);
		return 0;
	case SIMOPT_BAD:
		fprintf(stderr, "kefu-sim ledger: %s\n", err);
		return 2;
	case SIMOPT_OK:
		break;
	}
	if (load_cluster(&g))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(-1, LOG_LVL_ERR);
	to = (struct tls_opts){g.ca, g.cert, g.key, false, 0, NULL};
	if (tls_ctx_new(&to, &g.tls, why, sizeof(why)) != 0) {
		fprintf(stderr, "kefu-sim ledger: cannot start: %s\n", why);
		return 2;
	}
	g.out = fopen(g.out_path, "w");
	if (!g.out) {
		fprintf(stderr, "kefu-sim ledger: cannot start: %s\n", g.out_path);
		return 2;
	}
	if ((r = loop_new(&g.loop)) != 0) {
		fprintf(stderr, "kefu-sim ledger: cannot start: %s\n", kf_strerror(r));
		return 2;
	}
	g.tick = loop_timer_new(g.loop, g.rate && 1000 / g.rate ? 1000 / g.rate : 1, on_tick, &g);
	g.stop = loop_alarm_new(g.loop, on_stop, &g);
	loop_alarm_set(g.stop, g.duration_s * 1000);
	r = loop_run(g.loop);
	printf("sent %llu acked %llu failed %llu\n", (unsigned long long)g.sent,
	       (unsigned long long)g.acked, (unsigned long long)g.failed);
	rpc_free(g.rpc);
	loop_timer_free(g.tick);
	loop_alarm_free(g.stop);
	loop_run(g.loop); /* let closed connections go */
	loop_free(g.loop);
	tls_ctx_free(g.tls);
	fclose(g.out);
	return r ? 1 : 0;
}
