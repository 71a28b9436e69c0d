/*
 * kefuctl report and wallboard (ctl.h): operations statistics from a
 * running node (docs/ops.md). Every indicator is computed by
 * opsstat_figures (storage/opsstat.h), the one definition the node and
 * these outputs share.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "storage/opsstat.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPS_TIMEOUT_MS 30000

/* ---- report ---- */

struct report_args {
	uint64_t from, to;
	const char *by;
	bool json, csv;
};

static int report_args(int argc, char **argv, struct report_args *a)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
		{"by", required_argument, NULL, 'b'},   {"json", no_argument, NULL, 'j'},
		{"csv", no_argument, NULL, 'c'},        {NULL, 0, NULL, 0},
	};
	bool from = false, to = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->by = "tier";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (ctl_local_time_arg("from", optarg, &a->from))
				return EXIT_USAGE;
			from = true;
			break;
		case 't':
			if (ctl_local_time_arg("to", optarg, &a->to))
				return EXIT_USAGE;
			to = true;
			break;
		case 'b':
			a->by = optarg;
			if (strcmp(a->by, "tier") && strcmp(a->by, "skill") && strcmp(a->by, "agent") &&
			    strcmp(a->by, "interval"))
				return ctl_usage_error("--by is tier, skill, agent or interval");
			break;
		case 'j':
			a->json = true;
			break;
		case 'c':
			a->csv = true;
			break;
		default:
			return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument: %s", argv[optind]);
	if (!from || !to)
		return ctl_usage_error("--from and --to are needed");
	if (a->from >= a->to)
		return ctl_usage_error("--from must be before --to");
	if (a->json && a->csv)
		return ctl_usage_error("--json or --csv, not both");
	return 0;
}

void ctl_local_stamp(uint64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y%m%d%H%M%S", &tm))
		snprintf(buf, cap, "%" PRIu64, ms);
}

static const char *row_key(const struct report_args *a, const Kefu__ReportRow *r, char *buf,
			   size_t cap)
{
	const char *k = r->key ? r->key : "";

	if (strcmp(a->by, "interval") == 0) {
		ctl_local_stamp(strtoull(k, NULL, 10), buf, cap);
		return buf;
	}
	return k;
}

/* The columns of a report, in order: name, then how to get the value. */
enum col_kind { C_COUNT, C_FIG, C_TARGET, C_MS };
struct col {
	const char *name;
	enum col_kind kind;
	size_t off;     /* C_COUNT, C_MS: field of OpsCounts; C_FIG: of opsstat_figures */
	size_t has;     /* C_FIG: its has_ flag */
	bool agent;     /* only in agent rows */
	bool calls;     /* only in tier, skill and interval rows */
};

#define CNT(f, ag, ca) {#f, C_COUNT, offsetof(Kefu__OpsCounts, f), 0, ag, ca}
#define FIG(n, f, h, ag, ca) {n, C_FIG, offsetof(struct opsstat_figures, f), \
			      offsetof(struct opsstat_figures, h), ag, ca}
static const struct col cols[] = {
	CNT(offered, false, true),
	CNT(answered, false, true),
	CNT(abandoned, false, true),
	CNT(abandoned_short, false, true),
	CNT(answered_in_sl, false, true),
	CNT(abandoned_in_sl, false, true),
	CNT(overflowed, false, true),
	FIG("service_level", service_level, has_service_level, false, true),
	FIG("sl2", sl2, has_sl2, false, true),
	FIG("answer_rate", answer_rate, has_answer_rate, false, true),
	FIG("asa_ms", asa_ms, has_asa, false, true),
	FIG("aht_ms", aht_ms, has_aht, true, true),
	CNT(max_wait_ms, false, true),
	CNT(handled, false, true),
	CNT(wait_ms, false, true),
	CNT(talk_ms, true, true),
	CNT(hold_ms, true, true),
	CNT(wrap_ms, true, true),
	CNT(calls, true, false),
	CNT(ready_ms, true, false),
	CNT(ring_ms, true, false),
	CNT(not_ready_ms, true, false),
	FIG("occupancy", occupancy, has_occupancy, true, false),
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static bool col_in(const struct col *c, bool agent)
{
	return agent ? c->agent : c->calls;
}

static uint64_t count_of(const Kefu__OpsCounts *c, const struct col *k)
{
	return *(const uint64_t *)((const char *)c + k->off);
}

/* A figure, or false when it is not defined (nothing to divide by). */
static bool fig_of(const struct opsstat_figures *f, const struct col *k, double *v)
{
	if (!*(const bool *)((const char *)f + k->has))
		return false;
	*v = *(const double *)((const char *)f + k->off);
	return true;
}

static void report_json(const struct report_args *a, const Kefu__ReportReply *rep)
{
	bool agent = strcmp(a->by, "agent") == 0;
	json_t *rows = json_array(), *top;
	char from[20], to[20], kbuf[24];

	for (size_t i = 0; i < rep->n_rows; i++) {
		const Kefu__ReportRow *r = rep->rows[i];
		json_t *o;
		struct opsstat_figures f;
		double v;

		if (!r->counts || !r->key)
			continue;
		o = json_object();
		opsstat_figures(r->counts, agent, &f);
		json_object_set_new(o, a->by, json_string(row_key(a, r, kbuf, sizeof(kbuf))));
		if (strcmp(a->by, "interval") == 0)
			json_object_set_new(o, "start_ms",
					    json_integer((json_int_t)strtoull(r->key, NULL, 10)));
		for (size_t k = 0; k < NCOLS; k++) {
			if (!col_in(&cols[k], agent))
				continue;
			if (cols[k].kind == C_FIG)
				json_object_set_new(o, cols[k].name,
						    fig_of(&f, &cols[k], &v) ? json_real(v)
									     : json_null());
			else
				json_object_set_new(o, cols[k].name,
						    json_integer((json_int_t)count_of(r->counts,
										      &cols[k])));
		}
		if (agent) {
			json_t *nr = json_object();

			for (size_t k = 0; k < r->counts->n_not_ready; k++)
				json_object_set_new(nr, r->counts->not_ready[k]->reason
							    ? r->counts->not_ready[k]->reason : "",
						    json_integer((json_int_t)r->counts
								 ->not_ready[k]->ms));
			json_object_set_new(o, "not_ready", nr);
		}
		if (r->has_sl_target) {
			json_object_set_new(o, "sl_target", json_real(r->sl_target / 1000.0));
			json_object_set_new(o, "answer_target", json_real(r->answer_target / 1000.0));
			json_object_set_new(o, "sl_threshold_ms",
					    json_integer((json_int_t)r->sl_threshold_ms));
		}
		json_object_set_new(o, "intervals", json_integer(r->intervals));
		json_object_set_new(o, "open_intervals", json_integer(r->open_intervals));
		json_array_append_new(rows, o);
	}
	ctl_local_stamp(rep->from_ms, from, sizeof(from));
	ctl_local_stamp(rep->to_ms, to, sizeof(to));
	top = json_pack("{s:s, s:s, s:s, s:I, s:o}", "from", from, "to", to, "by", a->by,
			"interval_ms", (json_int_t)rep->interval_ms, "rows", rows);
	json_dumpf(top, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(top);
}

static void report_csv(const struct report_args *a, const Kefu__ReportReply *rep)
{
	bool agent = strcmp(a->by, "agent") == 0;
	char kbuf[24];

	printf("%s", a->by);
	for (size_t k = 0; k < NCOLS; k++)
		if (col_in(&cols[k], agent))
			printf(",%s", cols[k].name);
	printf("%s\n", agent ? "" : ",sl_target,answer_target");
	for (size_t i = 0; i < rep->n_rows; i++) {
		const Kefu__ReportRow *r = rep->rows[i];
		struct opsstat_figures f;
		double v;

		opsstat_figures(r->counts, agent, &f);
		printf("%s", row_key(a, r, kbuf, sizeof(kbuf)));
		for (size_t k = 0; k < NCOLS; k++) {
			if (!col_in(&cols[k], agent))
				continue;
			if (cols[k].kind == C_FIG) {
				if (fig_of(&f, &cols[k], &v))
					printf(",%.6g", v);
				else
					printf(",");
			} else {
				printf(",%" PRIu64, count_of(r->counts, &cols[k]));
			}
		}
		if (!agent && r->has_sl_target)
			printf(",%.3f,%.3f", r->sl_target / 1000.0, r->answer_target / 1000.0);
		else if (!agent)
			printf(",,");
		printf("\n");
	}
}

/* "82.3%" or "-" */
/* ms as seconds with one decimal, or "-" when undefined. */
static void seconds(char *buf, size_t cap, bool has, double ms)
{
	if (has)
		snprintf(buf, cap, "%.1f", ms / 1e3);
	else
		snprintf(buf, cap, "-");
}

static void pct(char *buf, size_t cap, bool has, double v)
{
	if (has)
		snprintf(buf, cap, "%.1f%%", 100 * v);
	else
		snprintf(buf, cap, "-");
}

static void report_text(const struct report_args *a, const Kefu__ReportReply *rep)
{
	bool agent = strcmp(a->by, "agent") == 0;
	char from[20], to[20], kbuf[24];

	ctl_local_stamp(rep->from_ms, from, sizeof(from));
	ctl_local_stamp(rep->to_ms, to, sizeof(to));
	if (rep->interval_ms % 60000)
		printf("report by %s, %s to %s, intervals of %" PRIu64 " s\n", a->by, from, to,
		       rep->interval_ms / 1000);
	else
		printf("report by %s, %s to %s, intervals of %" PRIu64 " min\n", a->by, from,
		       to, rep->interval_ms / 60000);
	if (agent)
		printf("%-16s %6s %9s %9s %9s %9s %6s\n", "agent", "calls", "talk s", "wrap s",
		       "ready s", "not rdy s", "occ");
	else
		printf("%-14s %7s %7s %7s %7s %-16s %-16s %7s %7s\n", a->by, "offered", "answer",
		       "aband", "short", "SL (target)", "answered (tgt)", "ASA s", "AHT s");
	for (size_t i = 0; i < rep->n_rows; i++) {
		const Kefu__ReportRow *r = rep->rows[i];
		const Kefu__OpsCounts *c = r->counts;
		struct opsstat_figures f;
		char sl[40], ar[40], t1[12], t2[12];

		opsstat_figures(c, agent, &f);
		if (agent) {
			pct(t1, sizeof(t1), f.has_occupancy, f.occupancy);
			printf("%-16s %6" PRIu64 " %9.0f %9.0f %9.0f %9.0f %6s\n", r->key, c->calls,
			       c->talk_ms / 1e3, c->wrap_ms / 1e3, c->ready_ms / 1e3,
			       c->not_ready_ms / 1e3, t1);
			continue;
		}
		pct(t1, sizeof(t1), f.has_service_level, f.service_level);
		pct(t2, sizeof(t2), f.has_answer_rate, f.answer_rate);
		if (r->has_sl_target) {
			snprintf(sl, sizeof(sl), "%s (%.0f%%)", t1, r->sl_target / 10.0);
			snprintf(ar, sizeof(ar), "%s (%.0f%%)", t2, r->answer_target / 10.0);
		} else {
			snprintf(sl, sizeof(sl), "%s", t1);
			snprintf(ar, sizeof(ar), "%s", t2);
		}
		/* An undefined ASA or AHT (nothing answered or handled) shows as "-". */
		seconds(t1, sizeof(t1), f.has_asa, f.asa_ms);
		seconds(t2, sizeof(t2), f.has_aht, f.aht_ms);
		printf("%-14s %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %-16s %-16s "
		       "%7s %7s\n",
		       row_key(a, r, kbuf, sizeof(kbuf)), c->offered, c->answered, c->abandoned,
		       c->abandoned_short, sl, ar, t1, t2);
	}
}

int ctl_report_request(uint64_t from, uint64_t to, const char *by, Kefu__Envelope **rep)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__Report m = KEFU__REPORT__INIT;

	m.has_from_ms = m.has_to_ms = 1;
	m.from_ms = from;
	m.to_ms = to;
	m.by = (char *)by;
	req.body_case = KEFU__ENVELOPE__BODY_REPORT;
	req.report = &m;
	return ctl_request(&req, KEFU__ENVELOPE__BODY_REPORT_REPLY, OPS_TIMEOUT_MS, rep);
}

int ctl_report(int argc, char **argv)
{
	struct report_args a;
	Kefu__Envelope *rep;
	int r = report_args(argc, argv, &a);

	if (r)
		return r;
	if ((r = ctl_report_request(a.from, a.to, a.by, &rep)))
		return r;
	if (a.json)
		report_json(&a, rep->report_reply);
	else if (a.csv)
		report_csv(&a, rep->report_reply);
	else
		report_text(&a, rep->report_reply);
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

/* ---- wallboard ---- */

static json_t *counts_json(const Kefu__OpsCounts *c, const Kefu__WallboardQueue *q)
{
	struct opsstat_figures f;
	json_t *o;

	opsstat_figures(c, false, &f);
	o = json_pack("{s:I, s:I, s:I, s:I}", "offered", (json_int_t)c->offered, "answered",
		      (json_int_t)c->answered, "abandoned", (json_int_t)c->abandoned,
		      "answered_in_sl", (json_int_t)c->answered_in_sl);
	json_object_set_new(o, "service_level",
			    f.has_service_level ? json_real(f.service_level) : json_null());
	json_object_set_new(o, "answer_rate",
			    f.has_answer_rate ? json_real(f.answer_rate) : json_null());
	json_object_set_new(o, "asa_ms", f.has_asa ? json_real(f.asa_ms) : json_null());
	if (q->has_sl_target) {
		json_object_set_new(o, "sl_target", json_real(q->sl_target / 1000.0));
		json_object_set_new(o, "answer_target", json_real(q->answer_target / 1000.0));
	}
	return o;
}

static json_t *queues_json(Kefu__WallboardQueue *const *qs, size_t n, bool agents)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const Kefu__WallboardQueue *q = qs[i];
		json_t *o = json_pack("{s:s, s:I, s:I}", "name", q->name ? q->name : "", "waiting",
				      (json_int_t)q->waiting, "longest_wait_ms",
				      (json_int_t)q->longest_wait_ms);

		if (agents) {
			json_object_set_new(o, "ready", json_integer(q->ready));
			json_object_set_new(o, "ringing", json_integer(q->ringing));
			json_object_set_new(o, "talking", json_integer(q->talking));
			json_object_set_new(o, "wrap_up", json_integer(q->wrap_up));
			json_object_set_new(o, "not_ready", json_integer(q->not_ready));
		}
		if (q->today)
			json_object_set_new(o, "today", counts_json(q->today, q));
		json_array_append_new(a, o);
	}
	return a;
}

static void wallboard_json(const Kefu__WallboardReply *w)
{
	json_t *agents = json_array(), *nr = json_object(), *top;

	for (size_t i = 0; i < w->n_agents; i++) {
		const Kefu__WallboardAgent *a = w->agents[i];

		json_array_append_new(agents,
				      json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", a->id ? a->id : "",
						"state", a->state ? a->state : "", "reason",
						a->reason ? a->reason : "", "state_ms",
						(json_int_t)a->state_ms, "calls_today",
						(json_int_t)a->calls_today));
	}
	for (size_t i = 0; i < w->n_not_ready; i++)
		json_object_set_new(nr, w->not_ready[i]->reason ? w->not_ready[i]->reason : "",
				    json_integer(w->not_ready[i]->agents));
	top = json_pack("{s:I, s:o, s:o, s:o, s:o}", "at_ms", (json_int_t)w->at_ms, "tiers",
			queues_json(w->tiers, w->n_tiers, false), "skills",
			queues_json(w->skills, w->n_skills, true), "agents", agents, "not_ready",
			nr);
	json_dumpf(top, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	fflush(stdout);
	json_decref(top);
}

static const char *const tier_names[] = {"ordinary", "silver", "gold", "platinum", "diamond"};

static const char *tier_name(const char *level)
{
	char *end;
	unsigned long l = strtoul(level ? level : "", &end, 10);

	return level && *level && !*end && l < 5 ? tier_names[l] : level ? level : "";
}

/* One screen of at most 24 lines of 80 columns. */
static void wallboard_text(const Kefu__WallboardReply *w, bool clear)
{
	uint64_t now = (uint64_t)time(NULL) * 1000;
	char when[32], t1[12], t2[12];
	size_t lines = 0, shown = 0;

	ctl_time_text(w->at_ms, when, sizeof(when));
	if (clear)
		fputs("\033[H\033[2J", stdout);
	printf("kefu wallboard                                        read %.19s\n", when);
	printf("%-9s %4s %6s %6s %6s %5s %-13s %-13s\n", "tier", "wait", "longst", "offerd",
	       "answd", "aband", "SL (target)", "answd (tgt)");
	lines = 2;
	for (size_t i = 0; i < w->n_tiers; i++) {
		const Kefu__WallboardQueue *q = w->tiers[i];
		const Kefu__OpsCounts *c = q->today;
		struct opsstat_figures f;
		char sl[20], ar[20];

		opsstat_figures(c, false, &f);
		pct(t1, sizeof(t1), f.has_service_level, f.service_level);
		pct(t2, sizeof(t2), f.has_answer_rate, f.answer_rate);
		snprintf(sl, sizeof(sl), "%s (%.0f%%)", t1, q->sl_target / 10.0);
		snprintf(ar, sizeof(ar), "%s (%.0f%%)", t2, q->answer_target / 10.0);
		printf("%-9s %4u %5" PRIu64 "s %6" PRIu64 " %6" PRIu64 " %5" PRIu64 " %-13s %-13s\n",
		       tier_name(q->name), q->waiting, q->longest_wait_ms / 1000, c ? c->offered : 0,
		       c ? c->answered : 0, c ? c->abandoned : 0, sl, ar);
		lines++;
	}
	printf("%-9s %4s %6s %5s %5s %5s %5s %5s %6s\n", "skill", "wait", "longst", "ready", "ring",
	       "talk", "wrap", "n/rdy", "answd");
	lines++;
	for (size_t i = 0; i < w->n_skills; i++) {
		const Kefu__WallboardQueue *q = w->skills[i];

		printf("%-9.9s %4u %5" PRIu64 "s %5u %5u %5u %5u %5u %6" PRIu64 "\n", q->name,
		       q->waiting, q->longest_wait_ms / 1000, q->ready, q->ringing, q->talking,
		       q->wrap_up, q->not_ready, q->today ? q->today->answered : 0);
		lines++;
	}
	printf("not ready:");
	for (size_t i = 0; i < w->n_not_ready; i++)
		printf(" %.16s %u", w->not_ready[i]->reason && *w->not_ready[i]->reason
					    ? w->not_ready[i]->reason : "(none)",
		       w->not_ready[i]->agents);
	printf("\n%-14s %-10s %-12s %6s %6s\n", "agent", "state", "reason", "for", "calls");
	lines += 2;
	for (size_t i = 0; i < w->n_agents && lines < 23; i++, lines++, shown++) {
		const Kefu__WallboardAgent *a = w->agents[i];
		uint64_t for_s = a->state_ms && a->state_ms < now ? (now - a->state_ms) / 1000 : 0;

		printf("%-14.14s %-10.10s %-12.12s %3" PRIu64 ":%02" PRIu64 " %6" PRIu64 "\n", a->id,
		       a->state, a->reason ? a->reason : "", for_s / 60, for_s % 60,
		       a->calls_today);
	}
	if (shown < w->n_agents)
		printf("... %zu more agents (kefuctl wallboard --json lists all)\n",
		       w->n_agents - shown);
	fflush(stdout);
}

struct watch {
	bool json;
};

static void on_board(void *arg, const Kefu__Envelope *e)
{
	struct watch *w = arg;

	if (e->body_case != KEFU__ENVELOPE__BODY_WALLBOARD_REPLY)
		return;
	if (w->json)
		wallboard_json(e->wallboard_reply);
	else
		wallboard_text(e->wallboard_reply, true);
}

int ctl_wallboard(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"watch", no_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__Wallboard m = KEFU__WALLBOARD__INIT;
	struct watch w = {false};
	bool watch = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			w.json = true;
		else if (c == 'w')
			watch = true;
		else
			return ctl_usage_error("unknown option");
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument: %s", argv[optind]);
	req.body_case = KEFU__ENVELOPE__BODY_WALLBOARD;
	req.wallboard = &m;
	if (watch) {
		m.has_watch = m.watch = 1;
		return ctl_watch(&req, KEFU__ENVELOPE__BODY_WALLBOARD_REPLY, OPS_TIMEOUT_MS,
				 on_board, &w);
	}
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_WALLBOARD_REPLY, OPS_TIMEOUT_MS, &rep)))
		return r;
	if (w.json)
		wallboard_json(rep->wallboard_reply);
	else
		wallboard_text(rep->wallboard_reply, false);
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}
