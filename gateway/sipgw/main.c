/*
 * kefu-sipgw: the SIP gateway between a softswitch (through the SIP edge,
 * Kamailio) and a kefu cluster. See docs/sipgw.md.
 *
 * Two threads: this one runs the kefu link's libevent loop (gw.c: calls,
 * the link to a node, rtpengine); sipua.c runs libre's loop on its own
 * thread. They hand each other messages through sipua's two queues only.
 */
#include "gateway/sipgw/gw.h"

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/tls.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opts {
	char name[32], nodes[GW_NODES_MAX * GW_ADDR_MAX], ca[GW_PATH_MAX], cert[GW_PATH_MAX],
		key[GW_PATH_MAX], sip[GW_ADDR_MAX], edge[GW_ADDR_MAX], rtpengine[GW_ADDR_MAX],
		dtmf[GW_ADDR_MAX], prompts[GW_PATH_MAX], ring[16], retry[16], log_level[16],
		trunk[GW_ADDR_MAX], lines[16];
};

/* One row per option: parsing and --help read the same table. */
static const struct opt_row {
	const char *name;
	size_t off, size;
	bool required;
	const char *help;
} opt_rows[] = {
#define O(f) offsetof(struct opts, f), sizeof(((struct opts *)0)->f)
	{"name", O(name), true, "this gateway's name, the prefix of its call ids"},
	{"nodes", O(nodes), true, "HOST:PORT,... of the kefu nodes, its own first"},
	{"ca", O(ca), true, "the cluster CA (PEM)"},
	{"cert", O(cert), true, "the gateway certificate (OU kefu-gateway)"},
	{"key", O(key), true, "its key"},
	{"sip", O(sip), true, "IP:PORT this gateway takes SIP on (UDP)"},
	{"edge", O(edge), true, "IP:PORT of the SIP edge where agents' phones register"},
	{"rtpengine", O(rtpengine), true, "IP:PORT of rtpengine's NG control port"},
	{"dtmf", O(dtmf), false, "IP:PORT to receive rtpengine's DTMF events on (--dtmf-log-dest)"},
	{"prompts", O(prompts), true, "folder of greeting.wav, moh.wav and <plan>.wav"},
	{"ring-timeout", O(ring), false, "seconds an agent's phone may ring (default 20)"},
	{"retry-after", O(retry), false, "Retry-After of a 503 while no node is reachable (default 5)"},
	{"log-level", O(log_level), false, "debug, info, warn or err (default info)"},
	{"trunk", O(trunk), false, "IP:PORT of the softswitch trunk: this gateway places outbound calls"},
	{"lines", O(lines), false, "outbound calls at once (default 32; 0: no limit of its own)"},
#undef O
};

#define NOPTS (sizeof(opt_rows) / sizeof(opt_rows[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kefu-sipgw --OPTION VALUE ...\n");
	for (size_t i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-13s %s%s\n", opt_rows[i].name, opt_rows[i].help,
			opt_rows[i].required ? " (required)" : "");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		size_t k;

		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		for (k = 0; k < NOPTS; k++)
			if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, opt_rows[k].name) == 0)
				break;
		if (k == NOPTS || i + 1 >= argc) {
			fprintf(stderr, "kefu-sipgw: %s: %s\n", argv[i],
				k == NOPTS ? "unknown option" : "needs a value");
			return -1;
		}
		if ((size_t)snprintf((char *)o + opt_rows[k].off, opt_rows[k].size, "%s", argv[++i]) >=
		    opt_rows[k].size) {
			fprintf(stderr, "kefu-sipgw: --%s: too long\n", opt_rows[k].name);
			return -1;
		}
	}
	for (size_t k = 0; k < NOPTS; k++)
		if (opt_rows[k].required && !((char *)o + opt_rows[k].off)[0]) {
			fprintf(stderr, "kefu-sipgw: --%s is required\n", opt_rows[k].name);
			return -1;
		}
	return 0;
}

static long number(const char *s, long dflt, long lo, long hi, const char *name, bool *bad)
{
	char *end;
	long v;

	if (!*s)
		return dflt;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi) {
		fprintf(stderr, "kefu-sipgw: --%s: a number from %ld to %ld\n", name, lo, hi);
		*bad = true;
	}
	return v;
}

static void on_signal(void *arg)
{
	loop_stop(arg);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct gw_opts go = {0};
	struct tls_opts to = {0};
	struct loop *loop = NULL;
	struct tls_ctx *tls = NULL;
	struct loop_signal *sterm = NULL, *sint = NULL;
	struct gw *g = NULL;
	char why[TLS_WHY_MAX], *save = NULL, *tok;
	enum log_level lvl = LOG_LVL_INFO;
	bool bad = false;
	int err, rc = 1;

	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	go.ring_ms = (uint32_t)number(o.ring, 20, 1, 600, "ring-timeout", &bad) * 1000;
	go.retry_after = (int)number(o.retry, 5, 1, 3600, "retry-after", &bad);
	go.lines = (uint32_t)number(o.lines, 32, 0, 10000, "lines", &bad);
	if (o.log_level[0] && log_parse_level(o.log_level, &lvl) != 0) {
		fprintf(stderr, "kefu-sipgw: --log-level: debug, info, warn or err\n");
		bad = true;
	}
	for (tok = strtok_r(o.nodes, ",", &save); tok && go.nnodes < GW_NODES_MAX;
	     tok = strtok_r(NULL, ",", &save))
		go.nodes[go.nnodes++] = tok;
	if (bad || go.nnodes == 0)
		return 2;
	log_set_level(-1, lvl);
	signal(SIGPIPE, SIG_IGN);
	to.ca_file = o.ca;
	to.cert_file = o.cert;
	to.key_file = o.key;
	if ((err = tls_ctx_new(&to, &tls, why, sizeof(why))) != 0) {
		fprintf(stderr, "kefu-sipgw: TLS: %s\n", why);
		return 2;
	}
	if ((err = loop_new(&loop)) != 0)
		goto out;
	if ((err = loop_signal_new(loop, SIGTERM, on_signal, loop, &sterm)) != 0 ||
	    (err = loop_signal_new(loop, SIGINT, on_signal, loop, &sint)) != 0)
		goto out;
	go.name = o.name;
	go.tls = tls;
	go.sip_listen = o.sip;
	go.edge = o.edge;
	go.rtpengine = o.rtpengine;
	go.dtmf_listen = o.dtmf[0] ? o.dtmf : NULL;
	go.prompts = o.prompts;
	go.trunk = o.trunk[0] ? o.trunk : NULL;
	go.loop = loop;
	if ((err = gw_new(&go, &g)) != 0) {
		log_err(LOG_SIPGW, "start failed error=\"%s\"", kf_strerror(err));
		goto out;
	}
	log_info(LOG_SIPGW, "kefu-sipgw up name=%s sip=%s edge=%s rtpengine=%s", o.name, o.sip,
		 o.edge, o.rtpengine);
	rc = loop_run(loop) == 0 ? 0 : 1;
	log_info(LOG_SIPGW, "kefu-sipgw stopping");
out:
	gw_free(g);
	loop_signal_free(sterm);
	loop_signal_free(sint);
	loop_free(loop);
	tls_ctx_free(tls);
	return rc;
}
