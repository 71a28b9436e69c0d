/* `kefu-sim traffic`: options, the cluster file and the summary. See cmd_traffic.h. */
#include "tests/sim/cmd_traffic.h"

#include "tests/sim/simopt.h"
#include "tests/sim/traffic.h"

#include "lib/err.h"
#include "lib/log.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PROFILES "general:7;general:5,billing:8;billing:7,general:6;vip:9,billing:6,general:6"

/* Service-level thresholds per tier, ms (docs/routing.md, "Tiers"). */
static const uint64_t tier_sl_ms[TRAFFIC_TIERS] = {60000, 30000, 20000, 15000, 10000};

static int set_str(const char **dst, const char *val)
{
	*dst = val;
	return 0;
}

#define STR_SETTER(field)                                                           \
	static int set_##field(void *ctx, const char *val, char *why, size_t whylen) \
	{                                                                           \
		(void)why;                                                          \
		(void)whylen;                                                       \
		return set_str(&((struct traffic *)ctx)->o.field, val);            \
	}
STR_SETTER(cluster)
STR_SETTER(boss)
STR_SETTER(prefix)
STR_SETTER(service)

#define U64_SETTER(field, lo, hi)                                                   \
	static int set_##field(void *ctx, const char *val, char *why, size_t whylen) \
	{                                                                           \
		return simopt_u64(val, lo, hi, &((struct traffic *)ctx)->o.field, why, whylen); \
	}
U64_SETTER(agents, 1, TRAFFIC_AGENTS_MAX)
U64_SETTER(duration_s, 1, 86400)
U64_SETTER(seed, 0, UINT64_MAX)
U64_SETTER(gateways, 1, TRAFFIC_GATEWAYS_MAX)
U64_SETTER(handle_ms, 1, 3600000)
U64_SETTER(wrap_ms, 0, 600000)
U64_SETTER(patience_ms, 1, 3600000)
U64_SETTER(ring_ms, 1, 120000)
U64_SETTER(no_answer, 0, 1000)
U64_SETTER(unknown, 0, 1000)

static int set_json(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)val;
	(void)why;
	(void)whylen;
	((struct traffic *)ctx)->o.json = true;
	return 0;
}

static int set_calls(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	((struct traffic *)ctx)->o.calls_path = val;
	return 0;
}

static int set_no_import(void *ctx, const char *val, char *why, size_t whylen)
{
	(void)val;
	(void)why;
	(void)whylen;
	((struct traffic *)ctx)->o.no_import = true;
	return 0;
}

static int set_rate(void *ctx, const char *val, char *why, size_t whylen)
{
	char *end;
	double v = strtod(val, &end);

	if (end == val || *end || !isfinite(v) || v <= 0 || v > TRAFFIC_RATE_MAX) {
		snprintf(why, whylen, "'%s' is not a number of calls per second in (0, %d]", val,
			 TRAFFIC_RATE_MAX);
		return KF_EPARSE;
	}
	((struct traffic *)ctx)->o.rate = v;
	return 0;
}

/* --mix W0,W1,W2,W3,W4: one weight per tier, not all 0. */
static int set_mix(void *ctx, const char *val, char *why, size_t whylen)
{
	struct traffic *t = ctx;
	const char *p = val;
	unsigned sum = 0;

	for (unsigned i = 0; i < TRAFFIC_TIERS; i++) {
		char num[16];
		size_t n = strcspn(p, ",");
		uint64_t w;

		if (n == 0 || n >= sizeof(num) || (i + 1 < TRAFFIC_TIERS) != (p[n] == ',')) {
			snprintf(why, whylen, "'%s' is not 5 weights W0,W1,W2,W3,W4", val);
			return KF_EPARSE;
		}
		memcpy(num, p, n);
		num[n] = '\0';
		if (simopt_u64(num, 0, 1000, &w, why, whylen))
			return KF_EPARSE;
		t->o.mix[i] = (unsigned)w;
		sum += (unsigned)w;
		p += n + (p[n] == ',');
	}
	if (!sum) {
		snprintf(why, whylen, "the weights are all 0");
		return KF_EPARSE;
	}
	return 0;
}

/* --skills P1;P2;...: profiles "skill:level,..." that the agents take in turn. */
static int set_profiles(void *ctx, const char *val, char *why, size_t whylen)
{
	struct traffic *t = ctx;
	const char *p = val;

	t->nprofiles = 0;
	for (;;) {
		size_t n = strcspn(p, ";");
		char w[ACCOUNTS_WHY_MAX];

		if (t->nprofiles == TRAFFIC_PROFILES_MAX) {
			snprintf(why, whylen, "more than %d profiles", TRAFFIC_PROFILES_MAX);
			return KF_EPARSE;
		}
		if (accounts_skills_parse(p, n, &t->profile[t->nprofiles], w, sizeof(w))) {
			snprintf(why, whylen, "profile %zu: %s", t->nprofiles + 1, w);
			return KF_EPARSE;
		}
		t->nprofiles++;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static const struct simopt opts[] = {
	{"cluster", "FILE", true, set_cluster, "cluster.json of the test harness"},
	{"agents", "N", false, set_agents, "agents (default 20), spread over the nodes"},
	{"rate", "CALLS_PER_S", false, set_rate, "calls per second over all tiers, e.g. 2.5 (default 1)"},
	{"duration", "S", false, set_duration_s, "seconds of arrivals (default 60)"},
	{"seed", "N", false, set_seed, "seed of every draw (default 1)"},
	{"json", NULL, false, set_json, "print only the JSON summary on stdout"},
	{"boss", "DIR", false, set_boss, "BOSS files (kefu-sim boss): imported, then calling numbers per tier"},
	{"no-import", NULL, false, set_no_import, "with --boss: the files are imported already"},
	{"unknown", "PERMILLE", false, set_unknown, "calls from numbers not in the BOSS data (default 100)"},
	{"mix", "W0,..,W4", false, set_mix, "weights of the tiers among known callers (default 55,20,12,8,5)"},
	{"skills", "PROFILES", false, set_profiles, "agent skill profiles 'skill:level,...' separated by ';', taken in turn"},
	{"handle", "MS", false, set_handle_ms, "mean talk time, log-normal (default 12000)"},
	{"wrap", "MS", false, set_wrap_ms, "wrap-up time (default 2000)"},
	{"patience", "MS", false, set_patience_ms, "mean patience of a caller, exponential (default 45000)"},
	{"ring", "MS", false, set_ring_ms, "an agent answers after 300..MS of ringing; below 300, after MS (default 2000)"},
	{"no-answer", "PERMILLE", false, set_no_answer, "offers left to ring out, for offer timeouts (default 30)"},
	{"gateways", "N", false, set_gateways, "gateway connections (default one per node)"},
	{"prefix", "ID", false, set_prefix, "agent ids PREFIX001... (default sim)"},
	{"service", "NUMBER", false, set_service, "the number dialled (default 10010)"},
	{"calls", "FILE", false, set_calls, "write every call's record, one JSON object a line: call, tier, "
	 "outcome (answered, abandoned, overflowed, queued, dropped, waiting), wait_ms, talk_ms, wrap_ms"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void copy_field(json_t *c, const char *key, char *out, size_t cap)
{
	snprintf(out, cap, "%s", json_string_value(json_object_get(c, key)) ?: "");
}

static int load_cluster(struct traffic *t)
{
	json_error_t jerr;
	json_t *c = json_load_file(t->o.cluster, 0, &jerr), *n;
	size_t i;

	if (!c) {
		fprintf(stderr, "kefu-sim traffic: %s: %s\n", t->o.cluster, jerr.text);
		return -1;
	}
	json_array_foreach(json_object_get(c, "nodes"), i, n)
	{
		const char *a = json_string_value(json_object_get(n, "addr"));

		if (a && t->nnodes < TRAFFIC_NODES_MAX)
			snprintf(t->nodes[t->nnodes++], sizeof(t->nodes[0]), "%s", a);
	}
	copy_field(c, "ca", t->ca, sizeof(t->ca));
	copy_field(c, "admin_cert", t->admin_cert, sizeof(t->admin_cert));
	copy_field(c, "admin_key", t->admin_key, sizeof(t->admin_key));
	copy_field(c, "gateway_cert", t->gw_cert, sizeof(t->gw_cert));
	copy_field(c, "gateway_key", t->gw_key, sizeof(t->gw_key));
	json_decref(c);
	if (!t->nnodes || !t->ca[0] || !t->admin_cert[0] || !t->gw_cert[0]) {
		fprintf(stderr, "kefu-sim traffic: %s needs nodes, ca, admin_cert/key and "
				"gateway_cert/key\n", t->o.cluster);
		return -1;
	}
	return 0;
}

static struct tls_ctx *client_ctx(struct traffic *t, const char *cert, const char *key)
{
	struct tls_opts to = {t->ca, cert, key, false, 0, NULL};
	char why[TLS_WHY_MAX];
	struct tls_ctx *c;

	if (tls_ctx_new(&to, &c, why, sizeof(why)) != 0)
		fprintf(stderr, "kefu-sim traffic: TLS: %s\n", why);
	return c;
}

/* The readable table that comes before the JSON without --json. */
static void print_table(json_t *j)
{
	static const char *const names[TRAFFIC_TIERS] = {"ordinary", "silver", "gold", "platinum",
							 "diamond"};
	json_t *lat = json_object_get(j, "route_latency_ms");
	char key[4];

	printf("%-4s %-9s %8s %8s %9s %8s %8s %8s\n", "tier", "", "offered", "answered", "abandoned",
	       "SL", "ASA ms", "queued");
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++) {
		json_t *tj;

		snprintf(key, sizeof(key), "%u", i);
		tj = json_object_get(json_object_get(j, "tiers"), key);
		printf("%-4u %-9s %8lld %8lld %9lld ", i, names[i],
		       json_integer_value(json_object_get(tj, "offered")),
		       json_integer_value(json_object_get(tj, "answered")),
		       json_integer_value(json_object_get(tj, "abandoned")));
		if (json_is_real(json_object_get(tj, "service_level")))
			printf("%7.1f%% ", 100 * json_real_value(json_object_get(tj, "service_level")));
		else
			printf("%8s ", "-");
		if (json_is_integer(json_object_get(tj, "asa_ms")))
			printf("%8lld ", json_integer_value(json_object_get(tj, "asa_ms")));
		else
			printf("%8s ", "-");
		printf("%8lld\n", json_integer_value(json_object_get(tj, "queued")));
	}
	printf("route latency ms: p50 %lld p99 %lld max %lld (%lld calls); lost calls %lld; "
	       "double offers %lld\n",
	       json_integer_value(json_object_get(lat, "p50")),
	       json_integer_value(json_object_get(lat, "p99")),
	       json_integer_value(json_object_get(lat, "max")),
	       json_integer_value(json_object_get(lat, "samples")),
	       json_integer_value(json_object_get(j, "lost_calls")),
	       json_integer_value(json_object_get(j, "double_offers")));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kefu-sim [traffic] --cluster FILE [--agents N] [--rate CALLS_PER_S] "
		   "[--duration S] [--seed N] [--json] [options]\n");
	simopt_usage(f, opts, NOPTS);
}

int cmd_traffic_main(int argc, char **argv)
{
	struct traffic *t = calloc(1, sizeof(*t));
	char err[256];
	json_t *j;
	int rc = 1;

	if (!t)
		abort();
	t->o = (struct traffic_opts){.agents = 20, .rate = 1, .duration_s = 60, .seed = 1,
				     .handle_ms = 12000, .wrap_ms = 2000, .patience_ms = 45000,
				     .ring_ms = 2000, .no_answer = 30, .unknown = 100,
				     .mix = {55, 20, 12, 8, 5}, .prefix = "sim", .service = "10010"};
	set_profiles(t, DEFAULT_PROFILES, err, sizeof(err));
	switch (simopt_parse(opts, NOPTS, argc - 1, argv + 1, t, err, sizeof(err))) {
	case SIMOPT_HELP:
		usage(stdout);
		free(t);
		return 0;
	case SIMOPT_BAD:
		fprintf(stderr, "kefu-sim traffic: %s\n", err);
		usage(stderr);
		free(t);
		return 2;
	case SIMOPT_OK:
		break;
	}
	if (strlen(t->o.prefix) + 6 > ACCOUNTS_ID_MAX || !accounts_id_is_valid(t->o.prefix)) {
		fprintf(stderr, "kefu-sim traffic: --prefix: 1..%d of A-Z a-z 0-9 _ . -\n",
			ACCOUNTS_ID_MAX - 6);
		free(t);
		return 2;
	}
	if (load_cluster(t)) {
		free(t);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_set_level(-1, LOG_LVL_ERR);
	traffic_stats_init(&t->stats, tier_sl_ms);
	if (loop_new(&t->loop) != 0)
		fprintf(stderr, "kefu-sim traffic: cannot make the event loop\n");
	t->tls_admin = client_ctx(t, t->admin_cert, t->admin_key);
	t->tls_gw = client_ctx(t, t->gw_cert, t->gw_key);
	t->tls_agent = client_ctx(t, NULL, NULL);
	if (!t->loop || !t->tls_admin || !t->tls_gw || !t->tls_agent)
		goto out;
	if (t->o.boss) {
		if (!t->o.no_import && traffic_setup_import(t))
			goto out;
		if (traffic_book_load(&t->book, t->o.boss, err, sizeof(err))) {
			fprintf(stderr, "kefu-sim traffic: %s\n", err);
			goto out;
		}
		t->have_book = true;
	}
	if (traffic_setup_accounts(t) || traffic_run(t))
		goto out;
	j = traffic_stats_json(&t->stats);
	if (!t->o.json)
		print_table(j);
	json_dumpf(j, stdout, t->o.json ? JSON_COMPACT : JSON_INDENT(2));
	putchar('\n');
	fflush(stdout);
	json_decref(j);
	rc = 0;
out:
	traffic_stats_release(&t->stats);
	traffic_book_release(&t->book);
	tls_ctx_free(t->tls_admin);
	tls_ctx_free(t->tls_gw);
	tls_ctx_free(t->tls_agent);
	loop_free(t->loop);
	free(t);
	return rc;
}
