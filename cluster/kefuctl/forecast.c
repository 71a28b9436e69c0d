/*
 * kefuctl forecast: staffing for one skill and interval from its arrival
 * rate and handling time (lib/erlang.h), offline: no node, no database.
 * Erlang C, or Erlang A when --patience gives the callers' mean patience.
 * With --agents N it tells what N agents achieve; with --target SL the
 * fewest agents that reach the service level (exit status 1 when no
 * number up to ERLANG_AGENTS_MAX does).
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/erlang.h"
#include "lib/err.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct forecast_args {
	double calls_per_hour, aht_s, threshold_s, patience_s, target;
	uint64_t agents;
	bool json;
};

/* A finite positive decimal number, the whole of s; -1 when it is not one
 * (and *pct set when it ends in '%', if pct is given). */
static double parse_positive(const char *s, bool *pct)
{
	char *end;
	double v;

	if (!s || !*s || *s == '+' || *s == '-' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return -1;
	if (pct && end[0] == '%' && end[1] == 0)
		*pct = true;
	else if (*end)
		return -1;
	if (!isfinite(v) || v <= 0)
		return -1;
	return v;
}

static int forecast_args(int argc, char **argv, struct forecast_args *f)
{
	static const struct option opts[] = {
		{"calls-per-hour", required_argument, NULL, 'r'},
		{"aht", required_argument, NULL, 'a'},
		{"threshold", required_argument, NULL, 't'},
		{"agents", required_argument, NULL, 'n'},
		{"target", required_argument, NULL, 'g'},
		{"patience", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool pct = false;
	int c;

	*f = (struct forecast_args){-1, -1, -1, 0, 0, 0, false};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if ((f->calls_per_hour = parse_positive(optarg, NULL)) < 0)
				return ctl_usage_error("--calls-per-hour takes a number above 0, not %s",
						       optarg);
			break;
		case 'a':
			if ((f->aht_s = parse_positive(optarg, NULL)) < 0)
				return ctl_usage_error("--aht takes seconds above 0, not %s", optarg);
			break;
		case 't':
			if ((f->threshold_s = parse_positive(optarg, NULL)) < 0)
				return ctl_usage_error("--threshold takes seconds above 0, not %s",
						       optarg);
			break;
		case 'p':
			if ((f->patience_s = parse_positive(optarg, NULL)) < 0)
				return ctl_usage_error("--patience takes seconds above 0, not %s",
						       optarg);
			break;
		case 'n':
			if (ctl_parse_u64(optarg, 1, ERLANG_AGENTS_MAX, &f->agents))
				return ctl_usage_error("--agents takes a whole number 1..%u, not %s",
						       ERLANG_AGENTS_MAX, optarg);
			break;
		case 'g':
			pct = false;
			f->target = parse_positive(optarg, &pct);
			if (pct && f->target > 0)
				f->target /= 100;
			if (!(f->target > 0 && f->target < 1))
				return ctl_usage_error("--target takes a fraction between 0 and 1 "
						       "or a percentage (0.8 or 80%%), not %s",
						       optarg);
			break;
		case 'j': f->json = true; break;
		case ':': return ctl_usage_error("%s needs a value", argv[optind - 1]);
		default: return ctl_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (f->calls_per_hour < 0)
		return ctl_usage_error("--calls-per-hour R is required");
	if (f->aht_s < 0)
		return ctl_usage_error("--aht S is required");
	if (f->threshold_s < 0)
		return ctl_usage_error("--threshold S is required");
	if (f->agents && f->target > 0)
		return ctl_usage_error("give --agents N or --target SL, not both");
	if (!f->agents && !(f->target > 0))
		return ctl_usage_error("give one of --agents N or --target SL");
	return 0;
}

static void print_json(const struct erlang_result *e, bool erlang_a)
{
	json_t *j = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:b}", "model",
			      erlang_a ? "erlang-a" : "erlang-c", "agents", (json_int_t)e->agents,
			      "erlangs", e->erlangs, "occupancy", e->occupancy, "p_wait", e->p_wait,
			      "service_level", e->service_level, "stable", e->stable);

	if (!j)
		return;
	/* JSON has no infinity: an unbounded ASA is null. */
	json_object_set_new(j, "asa_s", isfinite(e->asa_s) ? json_real(e->asa_s) : json_null());
	if (erlang_a)
		json_object_set_new(j, "abandon", json_real(e->p_abandon));
	json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}

static void print_text(const struct forecast_args *f, const struct erlang_result *e,
		       bool erlang_a)
{
	printf("model           %s\n", erlang_a ? "Erlang A (callers abandon)" : "Erlang C");
	printf("agents          %u\n", e->agents);
	printf("traffic         %.2f Erlangs\n", e->erlangs);
	printf("occupancy       %.1f%%\n", 100 * e->occupancy);
	printf("P(wait)         %.1f%%\n", 100 * e->p_wait);
	printf("service level   %.1f%% answered within %g s\n", 100 * e->service_level,
	       f->threshold_s);
	if (isfinite(e->asa_s))
		printf("ASA             %.1f s\n", e->asa_s);
	else
		printf("ASA             unbounded (agents <= traffic: the queue grows without end)\n");
	if (erlang_a)
		printf("abandoned       %.1f%% (mean patience %g s)\n", 100 * e->p_abandon,
		       f->patience_s);
}

int ctl_forecast(int argc, char **argv)
{
	struct forecast_args f;
	struct erlang_result e;
	bool erlang_a;
	double a;
	int r = forecast_args(argc, argv, &f);

	if (r)
		return r;
	erlang_a = f.patience_s > 0;
	a = f.calls_per_hour / 3600 * f.aht_s;
	if (f.agents)
		r = erlang_a ? erlang_a_eval((unsigned)f.agents, a, f.aht_s, f.patience_s,
					     f.threshold_s, &e)
			     : erlang_c_eval((unsigned)f.agents, a, f.aht_s, f.threshold_s, &e);
	else
		r = erlang_fewest_agents(f.target, f.threshold_s, a, f.aht_s, f.patience_s, &e);
	if (r == KF_ENOTFOUND) {
		fprintf(stderr, "kefuctl: no number of agents up to %u reaches %g%% at %.2f Erlangs\n",
			ERLANG_AGENTS_MAX, 100 * f.target, a);
		return EXIT_NEGATIVE;
	}
	if (r == KF_ETOOBIG) {
		fprintf(stderr, "kefuctl: --patience %g s is too long for %.2f Erlangs on this few "
			"agents: the queue takes too long to settle (use more agents or Erlang C)\n",
			f.patience_s, a);
		return EXIT_USAGE;
	}
	if (r) {
		fprintf(stderr, "kefuctl: forecast at %.2f Erlangs: %s\n", a, kf_strerror(r));
		return EXIT_USAGE;
	}
	if (f.json)
		print_json(&e, erlang_a);
	else
		print_text(&f, &e, erlang_a);
	return 0;
}
