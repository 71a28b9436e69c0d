/*
 * bench_wo_due - the time to find the next 100 due deadlines among many
 * open work orders, against a raw read of as many keys.
 *
 *   bench_wo_due --db DIR [--orders N] [--map-mb M] [--rounds R] [--seed S]
 *
 * DIR must not exist: a fresh store is made there, filled with N open
 * orders (default 1,000,000) through wo_put, 100,000 to a transaction (not
 * timed), and removed at the end. Each order is a minimal record: id
 * SC20261206 + 8 digits, msisdn, state new, created_ms, and the three
 * clocks first_response, update and solution, each with a due time, a
 * next escalation time and level drawn over 30 days by a fixed-seed
 * generator (so N deadline keys, one per order at the earliest next
 * escalation of its clocks, and the order's other index keys).
 *
 * Then R rounds (default 2000), each timed with CLOCK_MONOTONIC:
 *   - wo_due: a fresh read transaction, wo_due(t, upto, 100, ...) with upto
 *     drawn within the 30 days (from the second day on, so that 100
 *     deadlines are due whatever the draw: a leader's timer asks the same
 *     with upto = now), the transaction's end;
 *   - raw: a fresh read transaction, store_scan of the same table from the
 *     same start (the head of the deadline keys) stopped after 100 keys,
 *     the transaction's end: the storage layer's most direct read of the
 *     same keys, without parsing them.
 * The two alternate, so a neighbour on the machine slows both alike.
 *
 * Prints: wo_due_p50_us=X wo_due_p99_us=Y raw_scan_p50_us=X raw_scan_p99_us=Y
 *         orders=N rounds=R due_found_min=K
 * (due_found_min: the fewest deadlines a wo_due round found: 100 unless
 * the orders are so few that fewer fall due within a day).
 * Exit 0 on success, 1 when a wo_due round found nothing, 2 on bad usage
 * or a storage error.
 */
#include "lib/err.h"
#include "lib/version.h"
#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "storage/workorder.h"
#include "tests/bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ORDERS_MAX 99999999ULL          /* the ids' 8 digits */
#define CHUNK 100000                    /* orders per write transaction */
#define DUE_LIMIT 100
#define DAY_MS (86400ULL * 1000)
#define SPAN_MS (30 * DAY_MS)            /* deadlines fall within 30 days */
#define T0_MS 1796486400000ULL          /* 2026-12-06 00:00 in Shanghai */
#define BATCH_CAP ((size_t)256 << 20)
/* About 550 bytes of keys and record per order, twice that in half-full
 * pages after random inserts, and room to spare. */
#define MAP_BYTES_PER_ORDER 2048
#define MAP_BASE_MB 64

static const char *const clock_names[] = {"first_response", "update", "solution"};
#define NCLOCKS 3

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int usage(void)
{
	fputs("usage: bench_wo_due --db DIR [--orders N] [--map-mb M] [--rounds R] [--seed S]\n",
	      stderr);
	return 2;
}

/* ---- the fill ---- */

/* One order being built: the record and its three clocks, reused. */
struct order_buf {
	Kefu__WorkOrder o;
	Kefu__OrderClock c[NCLOCKS];
	Kefu__OrderClock *cp[NCLOCKS];
	char id[WO_ID_MAX + 1];
	char msisdn[24];
};

static void order_init(struct order_buf *ob)
{
	kefu__work_order__init(&ob->o);
	ob->o.id = ob->id;
	ob->o.msisdn = ob->msisdn;
	ob->o.state = "new";
	ob->o.kind = "complaint";
	ob->o.has_created_ms = 1;
	for (unsigned i = 0; i < NCLOCKS; i++) {
		kefu__order_clock__init(&ob->c[i]);
		ob->c[i].name = (char *)clock_names[i];
		ob->c[i].has_due_ms = ob->c[i].has_next_ms = ob->c[i].has_next_level = 1;
		ob->c[i].has_target_ms = 1;
		ob->cp[i] = &ob->c[i];
	}
	ob->o.n_clocks = NCLOCKS;
	ob->o.clocks = ob->cp;
}

/* Order n (0-based) with its draws from rng. */
static void order_make(struct order_buf *ob, uint64_t n, uint64_t *rng)
{
	snprintf(ob->id, sizeof(ob->id), "SC20261206%08u", (unsigned)((n + 1) % 100000000));
	snprintf(ob->msisdn, sizeof(ob->msisdn), "%llu", 13800000000ULL + n % 1000000);
	ob->o.created_ms = T0_MS - rand_next(rng) % (7 * DAY_MS);
	for (unsigned i = 0; i < NCLOCKS; i++) {
		Kefu__OrderClock *c = &ob->c[i];

		c->next_ms = T0_MS + rand_next(rng) % SPAN_MS;
		c->next_level = 80;
		c->target_ms = 2ULL * 3600 * 1000;
		c->due_ms = c->next_ms + c->target_ms / 5;
	}
}

static int apply_body(struct store_txn *t, void *arg)
{
	return batch_apply(t, arg);
}

/* Fill the store with n orders, CHUNK to a transaction. Returns 0 or 2. */
static int fill(struct store *s, uint64_t n, uint64_t seed)
{
	static struct order_buf ob;
	struct batch *b = batch_new(BATCH_CAP);
	uint64_t rng = seed;
	int r = 0;

	order_init(&ob);
	for (uint64_t i = 0; i < n && r == 0; i += CHUNK) {
		batch_reset(b);
		for (uint64_t k = i; k < n && k < i + CHUNK && r == 0; k++) {
			order_make(&ob, k, &rng);
			r = wo_put(NULL, &ob.o, KEFU_STORE_FORMAT, b);
		}
		if (r == 0) {
			batch_sort(b); /* each table once, in key order */
			r = store_write(s, apply_body, b);
		}
		if (r)
			fprintf(stderr, "bench_wo_due: writing orders %llu..: %s\n",
				(unsigned long long)i, kf_strerror(r));
	}
	batch_free(b);
	return r ? 2 : 0;
}

/* ---- the rounds ---- */

static int due_count(void *arg, const char *id, uint64_t next_ms)
{
	(void)id;
	(void)next_ms;
	++*(size_t *)arg;
	return 0;
}

static int raw_count(void *arg, const struct store_val *key, const struct store_val *val)
{
	(void)key;
	(void)val;
	return ++*(size_t *)arg == DUE_LIMIT ? 1 : 0;
}

/* One wo_due in its own read transaction; *found gets its count. */
static int due_once(struct store *s, uint64_t upto, size_t *found)
{
	struct store_txn *t;
	int r = store_read_begin(s, &t);

	*found = 0;
	if (r)
		return r;
	r = wo_due(t, upto, DUE_LIMIT, due_count, found);
	store_abort(t);
	return r;
}

/* 100 keys from the head of the deadline keys, in their own read transaction. */
static int raw_once(struct store *s, const struct key *head, size_t *found)
{
	struct store_txn *t;
	int r = store_read_begin(s, &t);

	*found = 0;
	if (r)
		return r;
	r = store_scan(t, STORE_WO_INDEX, head->b, head->len, NULL, 0, false, raw_count, found);
	store_abort(t);
	return r;
}

static int rounds_run(struct store *s, uint64_t rounds, uint64_t seed, uint64_t *due_ns,
		      uint64_t *raw_ns, size_t *found_min)
{
	uint64_t rng = seed ^ 0x5eed;
	struct key head;

	/* The deadline keys' tag, as storage/workorder.h lays them out. */
	key_init(&head);
	key_add_str(&head, "d");
	*found_min = DUE_LIMIT;
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t upto = T0_MS + DAY_MS + rand_next(&rng) % (SPAN_MS - DAY_MS), t0;
		size_t found, raw;
		int r;

		t0 = now_ns();
		r = due_once(s, upto, &found);
		due_ns[i] = now_ns() - t0;
		if (r == 0) {
			t0 = now_ns();
			r = raw_once(s, &head, &raw);
			raw_ns[i] = now_ns() - t0;
		}
		if (r) {
			fprintf(stderr, "bench_wo_due: round %llu: %s\n", (unsigned long long)i,
				kf_strerror(r));
			return 2;
		}
		if (found == 0) {
			fprintf(stderr, "bench_wo_due: round %llu: no deadline due by %llu\n",
				(unsigned long long)i, (unsigned long long)upto);
			return 1;
		}
		if (raw != DUE_LIMIT) {
			fprintf(stderr, "bench_wo_due: the raw scan found %zu keys, not %d\n", raw,
				DUE_LIMIT);
			return 2;
		}
		if (found < *found_min)
			*found_min = found;
	}
	return 0;
}

/* Remove the store's files and DIR, which this program made. */
static void store_remove(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, "bench_wo_due: %s: %s\n", path, strerror(errno));
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "bench_wo_due: %s: %s\n", dir, strerror(errno));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"orders", required_argument, NULL, 'n'},
		{"map-mb", required_argument, NULL, 'm'},
		{"rounds", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	uint64_t orders = 1000000, map_mb = 0, rounds = 2000, seed = 7;
	uint64_t *due_ns = NULL, *raw_ns = NULL;
	struct store_opts so = {0};
	struct store *s;
	size_t found_min = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'd': bad = !*optarg; db = optarg; break;
		case 'n': bad = bench_parse_num(optarg, 1, ORDERS_MAX, &orders); break;
		case 'm': bad = bench_parse_num(optarg, 1, 1u << 20, &map_mb); break;
		case 'r': bad = bench_parse_num(optarg, 1, 10000000, &rounds); break;
		case 's': bad = bench_parse_num(optarg, 0, UINT64_MAX, &seed); break;
		default: bad = 1; break;
		}
		if (bad)
			return usage();
	}
	if (optind != argc || !db)
		return usage();
	if (!map_mb)
		map_mb = orders * MAP_BYTES_PER_ORDER / (1u << 20) + MAP_BASE_MB;
	/* A fresh store, and one this program may remove at the end. */
	if (mkdir(db, 0750) != 0) {
		fprintf(stderr, "bench_wo_due: %s: %s\n", db,
			errno == EEXIST ? "exists (a fresh directory is wanted)" : strerror(errno));
		return 2;
	}
	so.map_size = (size_t)map_mb << 20;
	if ((r = store_open(db, &so, &s))) {
		fprintf(stderr, "bench_wo_due: open %s: %s\n", db, kf_strerror(r));
		store_remove(db);
		return 2;
	}
	r = fill(s, orders, seed);
	if (r == 0) {
		due_ns = malloc(rounds * sizeof(*due_ns));
		raw_ns = malloc(rounds * sizeof(*raw_ns));
		if (!due_ns || !raw_ns)
			abort();
		r = rounds_run(s, rounds, seed, due_ns, raw_ns, &found_min);
	}
	if (r == 0) {
		qsort(due_ns, rounds, sizeof(*due_ns), cmp_u64);
		qsort(raw_ns, rounds, sizeof(*raw_ns), cmp_u64);
		printf("wo_due_p50_us=%.2f wo_due_p99_us=%.2f raw_scan_p50_us=%.2f "
		       "raw_scan_p99_us=%.2f orders=%llu rounds=%llu due_found_min=%zu\n",
		       (double)due_ns[rounds / 2] / 1e3, (double)due_ns[rounds * 99 / 100] / 1e3,
		       (double)raw_ns[rounds / 2] / 1e3, (double)raw_ns[rounds * 99 / 100] / 1e3,
		       (unsigned long long)orders, (unsigned long long)rounds, found_min);
	}
	free(due_ns);
	free(raw_ns);
	store_free(s);
	store_remove(db);
	return r;
}
