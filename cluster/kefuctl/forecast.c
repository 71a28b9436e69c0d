/*
 * kefuctl forecast: staffing for one skill and interval from its arrival
 * rate and handling time (lib/erlang.h), offline: no node, no database.
 * Erlang C, or Erlang A when --patience gives the callers' mean patience.
 * With --agents N it tells what N agents achieve; with --target SL the
 * fewest agents that reach the service level (exit status 1 when no
 * number up to ERLANG_AGENTS_MAX does).
 *
 * With --from and --to instead of the rate and the handling time, they
 * are measured: a node's report (docs/ops.md) by skill, interval or tier
 * gives each row's arrival rate (offered calls over its intervals) and AHT,
 * and where callers abandoned, their mean patience (Erlang A).
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
	uint64_t from, to;       /* measured: both set */
	const char *by;          /* skill (default), interval, tier */
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
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 'T'},
		{"by", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	bool pct = false, from = false, to = false;
	int c;

	*f = (struct forecast_args){-1, -1, -1, 0, 0, 0, false, 0, 0, "skill"};
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
		case 'f':
			if (ctl_local_time_arg("from", optarg, &f->from))
				return EXIT_USAGE;
			from = true;
			break;
		case 'T':
			if (ctl_local_time_arg("to", optarg, &f->to))
				return EXIT_USAGE;
			to = true;
			break;
		case 'b':
			f->by = optarg;
			if (strcmp(f->by, "skill") && strcmp(f->by, "interval") && strcmp(f->by, "tier"))
				return ctl_usage_error("--by is skill, interval or tier");
			break;
		case ':': return ctl_usage_error("%s needs a value", argv[optind - 1]);
		default: return ctl_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (from != to)
		return ctl_usage_error("--from and --to go together");
	if (from) {
		if (f->from >= f->to)
			return ctl_usage_error("--from must be before --to");
		if (f->calls_per_hour >= 0 || f->aht_s >= 0 || f->patience_s > 0)
			return ctl_usage_error("with --from and --to the rate, the AHT and the "
					       "patience are measured: leave out --calls-per-hour, "
					       "--aht and --patience");
		f->calls_per_hour = f->aht_s = 1; /* measured per row */
	}
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

/* Erlang A with a patience, else Erlang C; for f's agents or target. */
static int evaluate(const struct forecast_args *f, double a, double aht_s, double patience_s,
		    struct erlang_result *e)
{
	if (f->agents)
		return patience_s > 0 ? erlang_a_eval((unsigned)f->agents, a, aht_s, patience_s,
						      f->threshold_s, e)
				      : erlang_c_eval((unsigned)f->agents, a, aht_s, f->threshold_s, e);
	return erlang_fewest_agents(f->target, f->threshold_s, a, aht_s, patience_s, e);
}

/* A refusal of evaluate, printed; its exit status. */
static int eval_error(const struct forecast_args *f, int r, double a, double patience_s)
{
	if (r == KF_ENOTFOUND) {
		fprintf(stderr, "kefuctl: no number of agents up to %u reaches %g%% at %.2f Erlangs\n",
			ERLANG_AGENTS_MAX, 100 * f->target, a);
		return EXIT_NEGATIVE;
	}
	if (r == KF_ETOOBIG) {
		fprintf(stderr, "kefuctl: --patience %g s is too long for %.2f Erlangs on this few "
			"agents: the queue takes too long to settle (use more agents or Erlang C)\n",
			patience_s, a);
		return EXIT_USAGE;
	}
	fprintf(stderr, "kefuctl: forecast at %.2f Erlangs: %s\n", a, kf_strerror(r));
	return EXIT_USAGE;
}

/*
 * Each row of a report over [from, to): its rate (offered calls over the
 * intervals it had calls in), its AHT, and when callers abandoned their
 * mean patience, estimated as for exponential patience: the time all
 * callers waited (answered or not) over the number who gave up.
 */
static int forecast_measured(const struct forecast_args *f)
{
	Kefu__Envelope *rep;
	const Kefu__ReportReply *rr;
	json_t *rows;
	int r, worst = 0;

	if ((r = ctl_report_request(f->from, f->to, f->by, &rep)))
		return r;
	rows = json_array();
	rr = rep->report_reply;
	if (!f->json)
		printf("%-14s %9s %7s %9s %-8s %6s %7s %7s %7s\n", f->by, "calls/h", "AHT s",
		       "patience", "model", "agents", "SL", "ASA s", "P(wait)");
	for (size_t i = 0; i < rr->n_rows; i++) {
		const Kefu__ReportRow *row = rr->rows[i];
		const Kefu__OpsCounts *c = row->counts;
		double hours = (double)row->intervals * (double)rr->interval_ms / 3600000.0;
		double cph, aht_s, patience_s = 0, a;
		struct erlang_result e;
		char key[24];
		const char *k;

		if (!c || !row->key || c->offered == 0 || c->handled == 0 || hours <= 0)
			continue;
		cph = (double)c->offered / hours;
		aht_s = (double)(c->talk_ms + c->hold_ms + c->wrap_ms) / (double)c->handled / 1000.0;
		if (c->abandoned)
			patience_s = (double)(c->wait_ms + c->abandon_wait_ms) / (double)c->abandoned /
				     1000.0;
		if (aht_s <= 0)
			continue;
		a = cph / 3600 * aht_s;
		k = row->key;
		if (strcmp(f->by, "interval") == 0) {
			ctl_local_stamp(strtoull(row->key, NULL, 10), key, sizeof(key));
			k = key;
		}
		if ((r = evaluate(f, a, aht_s, patience_s, &e))) {
			r = eval_error(f, r, a, patience_s);
			worst = r > worst ? r : worst;
			continue;
		}
		if (f->json) {
			json_t *o = json_pack("{s:s, s:f, s:f, s:s, s:I, s:f, s:f, s:f, s:f, s:b}",
					      f->by, k, "calls_per_hour", cph, "aht_s", aht_s,
					      "model", patience_s > 0 ? "erlang-a" : "erlang-c",
					      "agents", (json_int_t)e.agents, "erlangs", e.erlangs,
					      "occupancy", e.occupancy, "p_wait", e.p_wait,
					      "service_level", e.service_level, "stable", e.stable);

			json_object_set_new(o, "patience_s",
					    patience_s > 0 ? json_real(patience_s) : json_null());
			json_object_set_new(o, "asa_s",
					    isfinite(e.asa_s) ? json_real(e.asa_s) : json_null());
			json_array_append_new(rows, o);
		} else {
			printf("%-14.14s %9.1f %7.1f %9.1f %-8s %6u %6.1f%% %7.1f %6.1f%%\n", k,
			       cph, aht_s, patience_s, patience_s > 0 ? "Erlang A" : "Erlang C",
			       e.agents, 100 * e.service_level, isfinite(e.asa_s) ? e.asa_s : -1,
			       100 * e.p_wait);
		}
	}
	if (f->json) {
		json_t *top = json_pack("{s:s, s:f, s:o}", "by", f->by, "threshold_s", f->threshold_s,
					"rows", rows);

		json_dumpf(top, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(top);
	} else {
		json_decref(rows);
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return worst;
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
	if (f.from)
		return forecast_measured(&f);
	erlang_a = f.patience_s > 0;
	a = f.calls_per_hour / 3600 * f.aht_s;
	if ((r = evaluate(&f, a, f.aht_s, f.patience_s, &e)))
		return eval_error(&f, r, a, f.patience_s);
	if (f.json)
		print_json(&e, erlang_a);
	else
		print_text(&f, &e, erlang_a);
	return 0;
}
