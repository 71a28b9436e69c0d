/*
 * bench_lmdb - the raw LMDB baseline for the import benchmark.
 *
 *   bench_lmdb --dir DIR --records N --key-len K --val-len V [--map-mb M]
 *
 * In a fresh environment in DIR: one write transaction, N mdb_put calls
 * (flags 0, not MDB_APPEND) into one database with keys in ascending order,
 * one commit with its fsync. Keys are K bytes (a zero-padded decimal
 * counter and a 0x00 terminator, the shape of a one-part kefu key), values
 * V bytes. Timed from mdb_txn_begin to the end of mdb_txn_commit; opening
 * the environment is not counted.
 *
 * A benchmark of the raw engine is the one place outside storage/ that
 * calls mdb_* directly: measuring the engine without kefu is its point.
 *
 * Prints: lmdb_records=N lmdb_s=X lmdb_put_rate=R
 * Exit 0 on success, 2 on bad usage or an LMDB error.
 */
#include "tests/bench/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define KEY_MAX 511
#define VAL_MAX 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t dec_pow(uint64_t e)
{
	uint64_t p = 1;

	while (e--)
		p *= 10;
	return p;
}

static int usage(void)
{
	fputs("usage: bench_lmdb --dir DIR --records N --key-len K --val-len V [--map-mb M]\n",
	      stderr);
	return 2;
}

static int fail(const char *op, int rc)
{
	fprintf(stderr, "bench_lmdb: %s: %s\n", op, mdb_strerror(rc));
	return 2;
}

/* Put n records with ascending keys in one transaction and commit it. */
static int put_all(MDB_env *env, uint64_t n, unsigned klen, unsigned vlen)
{
	char key[KEY_MAX + 1];
	unsigned char val[VAL_MAX];
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	for (unsigned i = 0; i < vlen; i++)
		val[i] = (unsigned char)(i * 31 + 7);
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)))
		return fail("mdb_txn_begin", rc);
	if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi))) {
		mdb_txn_abort(txn);
		return fail("mdb_dbi_open", rc);
	}
	for (uint64_t i = 0; i < n; i++) {
		MDB_val k = {klen, key}, v = {vlen, val};

		/* klen - 1 digits, then the terminator that ends every key part. */
		snprintf(key, sizeof(key), "%0*llu", (int)(klen - 1), (unsigned long long)i);
		memcpy(val, &i, vlen < sizeof(i) ? vlen : sizeof(i));
		if ((rc = mdb_put(txn, dbi, &k, &v, 0))) {
			mdb_txn_abort(txn);
			return fail("mdb_put", rc);
		}
	}
	if ((rc = mdb_txn_commit(txn)))
		return fail("mdb_txn_commit", rc);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"records", required_argument, NULL, 'n'},
		{"key-len", required_argument, NULL, 'k'},
		{"val-len", required_argument, NULL, 'v'},
		{"map-mb", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	uint64_t n = 0, klen = 0, vlen = 0, map_mb = 4096;
	MDB_env *env;
	double t0, secs;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': bad = bench_parse_num(optarg, 1, UINT32_MAX, &n); break;
		case 'k': bad = bench_parse_num(optarg, 8, KEY_MAX, &klen); break;
		case 'v': bad = bench_parse_num(optarg, 1, VAL_MAX, &vlen); break;
		case 'm': bad = bench_parse_num(optarg, 1, 1u << 20, &map_mb); break;
		default: bad = 1; break;
		}
		if (bad)
			return usage();
	}
	if (optind != argc || !dir || !n || !klen || !vlen)
		return usage();
	if (klen - 1 < 20 && n > dec_pow(klen - 1)) {
		fprintf(stderr, "bench_lmdb: %llu records do not fit keys of %llu bytes\n",
			(unsigned long long)n, (unsigned long long)klen);
		return 2;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench_lmdb: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	if ((rc = mdb_env_create(&env)))
		return fail("mdb_env_create", rc);
	rc = mdb_env_set_mapsize(env, (size_t)map_mb << 20);
	if (rc == 0)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (rc) {
		mdb_env_close(env);
		return fail("mdb_env_open", rc);
	}
	t0 = now_s();
	rc = put_all(env, n, (unsigned)klen, (unsigned)vlen);
	secs = now_s() - t0;
	mdb_env_close(env);
	if (rc)
		return rc;
	printf("lmdb_records=%llu lmdb_s=%.3f lmdb_put_rate=%.0f\n", (unsigned long long)n, secs,
	       (double)n / secs);
	return 0;
}
