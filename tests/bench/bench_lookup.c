/*
 * bench_lookup - latency of the agent's lookup by msisdn.
 *
 *   bench_lookup --db DIR --user USER.dat [--count N] [--warmup W] [--seed S]
 *
 * Takes the msisdns of the users USER.dat leaves active (A and M records
 * whose status is not 4, cancelled), then runs N lookups (default 100000)
 * of msisdns drawn at random: each is a request of its own, a read
 * transaction, custdb_lookup_msisdn (subscriber, customer, 10 payments,
 * 3 months of bills: what `kefuctl lookup` asks), the profile's release and
 * the transaction's end, timed with CLOCK_MONOTONIC. W untimed lookups
 * (default 0) run first.
 *
 * Prints: lookups=N lookup_p50_us=X lookup_p99_us=Y lookup_max_us=Z
 * Exit 0 on success, 1 when a number is not found, 2 on bad usage or a
 * storage error.
 */
#include "lib/err.h"
#include "storage/bossrec.h"
#include "storage/custdb.h"
#include "storage/store.h"
#include "tests/bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSISDN_SLOT 24 /* the schema allows 20 bytes */
#define LOOKUP_PAY 10
#define LOOKUP_MONTHS 3
#define COUNT_MAX 10000000ULL

/* The msisdns to draw from, each NUL-terminated in a fixed slot. */
struct numbers {
	char (*v)[MSISDN_SLOT];
	size_t n, cap;
};

static void numbers_add(struct numbers *ns, const char *m, size_t len)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 65536;
		ns->v = realloc(ns->v, ns->cap * sizeof(*ns->v));
		if (!ns->v)
			abort();
	}
	memcpy(ns->v[ns->n], m, len);
	ns->v[ns->n][len] = '\0';
	ns->n++;
}

/* Collect the msisdns of the active users in path. Returns 0 or 2. */
static int numbers_load(const char *path, struct numbers *ns)
{
	static struct bossrec rec;
	struct bossrec_error err;
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long long lineno = 0;
	int fm = bossrec_field_index(BOSS_USER, "msisdn");
	int fs = bossrec_field_index(BOSS_USER, "status");
	int r = 0;

	if (!f) {
		fprintf(stderr, "bench_lookup: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] == '\n')
			len--;
		if (bossrec_parse(BOSS_USER, line, (size_t)len, &rec, &err)) {
			fprintf(stderr, "bench_lookup: %s line %llu: %s\n", path, lineno, err.reason);
			r = 2;
		} else if (rec.op != 'D' && rec.num[fs] != 4 && rec.len[fm] < MSISDN_SLOT) {
			numbers_add(ns, rec.val[fm], rec.len[fm]);
		}
	}
	free(line);
	fclose(f);
	if (r == 0 && ns->n == 0) {
		fprintf(stderr, "bench_lookup: %s holds no active user\n", path);
		r = 2;
	}
	return r;
}

/* One request: its own read transaction around the full lookup. */
static int lookup_one(struct store *s, const char *msisdn)
{
	struct custdb_profile p;
	struct store_txn *t;
	int r = store_read_begin(s, &t);

	if (r)
		return r;
	r = custdb_lookup_msisdn(t, msisdn, LOOKUP_PAY, LOOKUP_MONTHS, &p);
	if (r == 0)
		custdb_profile_release(&p);
	store_abort(t);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int usage(void)
{
	fputs("usage: bench_lookup --db DIR --user USER.dat [--count N] [--warmup W] [--seed S]\n",
	      stderr);
	return 2;
}

/* Run count timed lookups after warmup untimed ones; ns gets each time. */
static int run(struct store *s, const struct numbers *nums, uint64_t warmup, uint64_t count,
	       uint64_t seed, uint64_t *ns)
{
	for (uint64_t i = 0; i < warmup + count; i++) {
		const char *m = nums->v[rand_next(&seed) % nums->n];
		uint64_t t0 = now_ns();
		int r = lookup_one(s, m);

		if (i >= warmup)
			ns[i - warmup] = now_ns() - t0;
		if (r) {
			fprintf(stderr, "bench_lookup: msisdn %s: %s\n", m, kf_strerror(r));
			return r == KF_ENOTFOUND ? 1 : 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"user", required_argument, NULL, 'u'},
		{"count", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'w'},
		{"seed", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *user = NULL;
	uint64_t count = 100000, warmup = 0, seed = 1, *ns;
	struct numbers nums = {0};
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'd': db = optarg; break;
		case 'u': user = optarg; break;
		case 'n': bad = bench_parse_num(optarg, 0, COUNT_MAX, &count) || count == 0; break;
		case 'w': bad = bench_parse_num(optarg, 0, COUNT_MAX, &warmup); break;
		case 's': bad = bench_parse_num(optarg, 0, UINT64_MAX, &seed); break;
		default: bad = 1; break;
		}
		if (bad)
			return usage();
	}
	if (optind != argc || !db || !user)
		return usage();
	if ((r = numbers_load(user, &nums)))
		goto out_nums;
	if ((r = store_open(db, NULL, &s))) {
		fprintf(stderr, "bench_lookup: open %s: %s\n", db, kf_strerror(r));
		r = 2;
		goto out_nums;
	}
	ns = malloc(count * sizeof(*ns));
	if (!ns)
		abort();
	r = run(s, &nums, warmup, count, seed, ns);
	if (r == 0) {
		qsort(ns, count, sizeof(*ns), cmp_u64);
		printf("lookups=%llu lookup_p50_us=%.1f lookup_p99_us=%.1f lookup_max_us=%.1f\n",
		       (unsigned long long)count, (double)ns[count / 2] / 1e3,
		       (double)ns[count * 99 / 100] / 1e3, (double)ns[count - 1] / 1e3);
	}
	free(ns);
	store_free(s);
out_nums:
	free(nums.v);
	return r;
}
