/*
 * bench_ops_report - the time a node takes to sum a report over many
 * closed intervals (docs/ops.md "Reports"), against a raw read of the same
 * keys.
 *
 *   bench_ops_report --db DIR [--days D] [--interval-min M] [--tiers T]
 *                    [--skills S] [--agents A] [--rounds R] [--seed N]
 *
 * DIR must not exist: a fresh store is made there and filled with D days
 * (default 30) of closed intervals of M minutes (default 15), each with T
 * tier rows (5), S skill rows (20) and A agent rows (500) of counts drawn
 * by a fixed-seed generator, written as the leader writes them
 * (opsstat_put_interval), one day to a transaction (not timed); the store
 * is removed at the end.
 *
 * Then R rounds (default 5), each timed with CLOCK_MONOTONIC, each of:
 *   - report by tier, by skill and by agent over the whole range: what the
 *     node does for `kefuctl report` (a fresh read transaction, every row
 *     of the kind unpacked and summed by name: ops__rows_add_closed);
 *   - raw: a fresh read transaction and a scan of the same keys, counting
 *     them without unpacking: the storage layer's most direct read.
 * They alternate, so a neighbour on the machine slows both alike.
 *
 * Prints: report_tier_ms=X report_skill_ms=X report_agent_ms=X
 *         raw_tier_ms=X raw_agent_ms=X intervals=N rows=N (best of R each)
 * Exit 0 on success, 1 when a report's sums are wrong, 2 on bad usage or a
 * storage error.
 */
#include "cluster/repl.h"
#include "lib/err.h"
#include "node/ops/ops_int.h"
#include "storage/batch.h"
#include "storage/opsstat.h"
#include "storage/store.h"
#include "tests/bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0_MS 1796486400000ULL          /* 2026-12-06 00:00 in Shanghai */
#define DAY_MS (86400ULL * 1000)

struct args {
	const char *db;
	uint64_t days, minutes, tiers, skills, agents, rounds, seed;
};

static int usage(void)
{
	fprintf(stderr, "usage: bench_ops_report --db DIR [--days D] [--interval-min M] "
			"[--tiers T] [--skills S] [--agents A] [--rounds R] [--seed N]\n");
	return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},     {"days", required_argument, NULL, 'D'},
		{"interval-min", required_argument, NULL, 'm'},
		{"tiers", required_argument, NULL, 't'},  {"skills", required_argument, NULL, 's'},
		{"agents", required_argument, NULL, 'a'}, {"rounds", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 'S'},   {NULL, 0, NULL, 0},
	};
	int c, bad = 0;

	*a = (struct args){NULL, 30, 15, 5, 20, 500, 5, 7};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a->db = optarg; break;
		case 'D': bad |= bench_parse_num(optarg, 1, 400, &a->days); break;
		case 'm': bad |= bench_parse_num(optarg, 1, 60, &a->minutes); break;
		case 't': bad |= bench_parse_num(optarg, 1, 100, &a->tiers); break;
		case 's': bad |= bench_parse_num(optarg, 0, 1000, &a->skills); break;
		case 'a': bad |= bench_parse_num(optarg, 0, 100000, &a->agents); break;
		case 'r': bad |= bench_parse_num(optarg, 1, 1000, &a->rounds); break;
		case 'S': bad |= bench_parse_num(optarg, 0, UINT64_MAX, &a->seed); break;
		default: return usage();
		}
	}
	if (bad || !a->db || optind < argc || 60 % a->minutes)
		return usage();
	return 0;
}

/* Counts of one row: small numbers, as a real interval has. */
static void draw(Kefu__OpsCounts *c, uint64_t *rng, bool agent)
{
	kefu__ops_counts__init(c);
	if (agent) {
		c->has_calls = c->has_talk_ms = c->has_wrap_ms = c->has_ready_ms = 1;
		c->calls = rand_next(rng) % 8;
		c->talk_ms = c->calls * 180000;
		c->wrap_ms = c->calls * 20000;
		c->ready_ms = rand_next(rng) % 300000;
		return;
	}
	c->has_offered = c->has_answered = c->has_abandoned = c->has_answered_in_sl = 1;
	c->has_wait_ms = c->has_handled = c->has_talk_ms = c->has_max_wait_ms = 1;
	c->answered = rand_next(rng) % 200;
	c->abandoned = rand_next(rng) % 20;
	c->offered = c->answered + c->abandoned;
	c->answered_in_sl = c->answered * 4 / 5;
	c->wait_ms = c->answered * 9000;
	c->handled = c->answered;
	c->talk_ms = c->answered * 180000;
	c->max_wait_ms = rand_next(rng) % 120000;
}

struct fill {
	const struct args *a;
	uint64_t day, rng;
	uint64_t offered;      /* of every tier row written */
};

static int fill_day(struct store_txn *t, void *arg)
{
	struct fill *f = arg;
	const struct args *a = f->a;
	size_t n = a->tiers + a->skills + a->agents;
	Kefu__OpsCounts *rows = calloc(n, sizeof(*rows));
	Kefu__OpsCounts **rp = calloc(n, sizeof(*rp));
	char *kinds = calloc(n, 1);
	char (*names)[OPS_NAME_MAX] = calloc(n, OPS_NAME_MAX);
	const char **np = calloc(n, sizeof(*np));
	struct batch *b = batch_new((size_t)64 << 20);
	uint64_t iv = a->minutes * 60000, rng = f->rng;
	int err = 0;

	if (!rows || !rp || !kinds || !names || !np)
		abort();
	for (size_t i = 0; i < n; i++) {
		kinds[i] = i < a->tiers ? OPS_KIND_TIER
			   : i < a->tiers + a->skills ? OPS_KIND_SKILL : OPS_KIND_AGENT;
		if (kinds[i] == OPS_KIND_TIER)
			snprintf(names[i], OPS_NAME_MAX, "%zu", i);
		else if (kinds[i] == OPS_KIND_SKILL)
			snprintf(names[i], OPS_NAME_MAX, "skill%02zu", i - a->tiers);
		else
			snprintf(names[i], OPS_NAME_MAX, "agent%04zu", i - a->tiers - a->skills);
		np[i] = names[i];
		rp[i] = &rows[i];
	}
	f->offered = 0;
	for (uint64_t s = T0_MS + f->day * DAY_MS; !err && s < T0_MS + (f->day + 1) * DAY_MS;
	     s += iv) {
		for (size_t i = 0; i < n; i++) {
			draw(&rows[i], &rng, kinds[i] == OPS_KIND_AGENT);
			if (kinds[i] == OPS_KIND_TIER)
				f->offered += rows[i].offered;
		}
		batch_reset(b);
		err = opsstat_put_interval(b, s, iv, s + iv + 5000, "bench", kinds, np, rp, n);
		if (!err)
			err = batch_apply(t, b);
	}
	batch_free(b);
	free(rows), free(rp), free(kinds), free(names), free(np);
	return err;
}

static int count_visit(void *arg, const struct store_val *key, const struct store_val *val)
{
	(void)key;
	(void)val;
	++*(uint64_t *)arg;
	return 0;
}

/* A raw scan of every key of kind; its count into *n. */
static int raw_scan(struct store *st, char kind, uint64_t *n)
{
	struct store_txn *t;
	uint8_t p = (uint8_t)kind;
	int err = store_read_begin(st, &t);

	*n = 0;
	if (err)
		return err;
	err = store_scan(t, STORE_OPS, &p, 1, NULL, 0, false, count_visit, n);
	store_abort(t);
	return err;
}

static double ms_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

static void keep_best(double *best, double v)
{
	if (*best == 0 || v < *best)
		*best = v;
}

int main(int argc, char **argv)
{
	struct args a;
	struct store *st = NULL;
	struct store_opts so = {0};
	struct repl_storage rs = {0};
	struct ops o;
	uint64_t offered = 0, intervals, rows;
	double best[5] = {0};
	static const char kinds[3] = {OPS_KIND_TIER, OPS_KIND_SKILL, OPS_KIND_AGENT};
	int err, rc = 2;

	if (parse(argc, argv, &a))
		return 2;
	if (mkdir(a.db, 0700) != 0) {
		fprintf(stderr, "bench_ops_report: %s: %s (it must not exist)\n", a.db, strerror(errno));
		return 2;
	}
	intervals = a.days * 1440 / a.minutes;
	rows = intervals * (a.tiers + a.skills + a.agents);
	so.map_size = (size_t)(rows * 200 + ((uint64_t)64 << 20));
	so.no_sync = true;
	if ((err = store_open(a.db, &so, &st))) {
		fprintf(stderr, "bench_ops_report: store: %s\n", kf_strerror(err));
		goto out;
	}
	for (uint64_t d = 0; d < a.days; d++) {
		struct fill f = {&a, d, a.seed * 1000003 + d, 0};

		if ((err = store_write(st, fill_day, &f))) {
			fprintf(stderr, "bench_ops_report: fill: %s\n", kf_strerror(err));
			goto out;
		}
		offered += f.offered;
	}
	memset(&o, 0, sizeof(o));
	rs.store = st;
	o.sto = &rs;
	rc = 0;
	for (uint64_t r = 0; r < a.rounds && rc == 0; r++) {
		for (size_t k = 0; k < 3 && rc == 0; k++) {
			struct ops_rows out = {0};
			uint64_t t0 = now_ns(), got = 0, n;

			err = ops__rows_add_closed(&o, &out, kinds[k], T0_MS, T0_MS + a.days * DAY_MS,
						   false);
			keep_best(&best[k], ms_since(t0));
			for (size_t i = 0; kinds[k] == OPS_KIND_TIER && i < out.n; i++)
				got += out.v[i].c->offered;
			if (err || (kinds[k] == OPS_KIND_TIER && got != offered) ||
			    out.n != (k == 0 ? a.tiers : k == 1 ? a.skills : a.agents)) {
				fprintf(stderr, "bench_ops_report: report by %c: %s, %zu rows, "
					"offered %" PRIu64 " of %" PRIu64 "\n", kinds[k],
					err ? kf_strerror(err) : "ok", out.n, got, offered);
				rc = 1;
			}
			ops__rows_free(&out);
			if (k == 1)
				continue;
			t0 = now_ns();
			if ((err = raw_scan(st, kinds[k], &n))) {
				rc = 2;
				break;
			}
			keep_best(&best[k == 0 ? 3 : 4], ms_since(t0));
		}
	}
	if (rc == 0)
		printf("report_tier_ms=%.2f report_skill_ms=%.2f report_agent_ms=%.2f "
		       "raw_tier_ms=%.2f raw_agent_ms=%.2f intervals=%" PRIu64 " rows=%" PRIu64 "\n",
		       best[0], best[1], best[2], best[3], best[4], intervals, rows);
out:
	store_free(st);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/data.mdb", a.db);
		unlink(path);
		snprintf(path, sizeof(path), "%s/lock.mdb", a.db);
		unlink(path);
		rmdir(a.db);
	}
	return rc;
}
