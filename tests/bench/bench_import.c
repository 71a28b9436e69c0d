/*
 * bench_import - the import rate of one BOSS USER file, in process.
 *
 *   bench_import --db DIR --cust CUST.dat --user USER.dat [--map-mb M]
 *
 * Opens a fresh store in DIR, imports the CUST file (not timed: the users
 * refer to its customers), then times import_files() on the USER file: the
 * .chk verification (count, bytes, SHA-256), parsing, the custdb rules and
 * the one commit with its fsync. Process start-up and store_open are not
 * counted. Afterwards it measures the average key and value length of the
 * user table, which bench_lmdb uses for a baseline of the same shape.
 *
 * Prints one line of key=value fields on stdout:
 *   import_records=N import_s=X import_rate=R user_key_len=K user_val_len=V
 * Exit 0 on success, 1 when a file is not applied, 2 on bad usage or a
 * storage error.
 */
#include "lib/err.h"
#include "storage/import.h"
#include "storage/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Import one file; anything but "applied" is a failed benchmark step. */
static int import_one(struct store *s, const char *path, uint64_t *records)
{
	struct import_opts io = {.origin = "bench"};
	struct import_summary sum;
	const char *paths[1] = {path};
	int r = import_files(s, &io, paths, 1, NULL, NULL, &sum);

	if (r) {
		fprintf(stderr, "bench_import: %s: %s\n", path, kf_strerror(r));
		return 2;
	}
	if (sum.files[IMPORT_APPLIED] != 1) {
		fprintf(stderr, "bench_import: %s was not applied (rejected %llu, held %llu)\n", path,
			(unsigned long long)sum.files[IMPORT_REJECTED],
			(unsigned long long)sum.files[IMPORT_HELD]);
		return 1;
	}
	*records = sum.records_applied;
	return 0;
}

struct sizes {
	uint64_t n, klen, vlen;
};

static int add_size(void *arg, const struct store_val *k, const struct store_val *v)
{
	struct sizes *sz = arg;

	sz->n++;
	sz->klen += k->len;
	sz->vlen += v->len;
	return 0;
}

static int parse_mb(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < 1 || v > (1ull << 20))
		return KF_EPARSE;
	*out = (size_t)v << 20;
	return 0;
}

static int usage(void)
{
	fputs("usage: bench_import --db DIR --cust CUST.dat --user USER.dat [--map-mb M]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"cust", required_argument, NULL, 'c'},
		{"user", required_argument, NULL, 'u'},
		{"map-mb", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	struct store_opts so = {0};
	const char *db = NULL, *cust = NULL, *user = NULL;
	struct sizes sz = {0};
	struct store_txn *t;
	struct store *s;
	uint64_t ncust, nuser;
	double t0, secs;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': cust = optarg; break;
		case 'u': user = optarg; break;
		case 'm':
			if (parse_mb(optarg, &so.map_size))
				return usage();
			break;
		default: return usage();
		}
	}
	if (optind != argc || !db || !cust || !user)
		return usage();
	if (mkdir(db, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench_import: %s: %s\n", db, strerror(errno));
		return 2;
	}
	if ((r = store_open(db, &so, &s))) {
		fprintf(stderr, "bench_import: open %s: %s\n", db, kf_strerror(r));
		return 2;
	}
	if ((r = import_one(s, cust, &ncust)))
		goto out;
	t0 = now_s();
	if ((r = import_one(s, user, &nuser)))
		goto out;
	secs = now_s() - t0;

	if ((r = store_read_begin(s, &t)) == 0) {
		r = store_scan(t, STORE_USER, NULL, 0, NULL, 0, false, add_size, &sz);
		store_abort(t);
	}
	if (r || sz.n == 0) {
		fprintf(stderr, "bench_import: user table scan: %s\n", r ? kf_strerror(r) : "empty");
		r = 2;
		goto out;
	}
	printf("import_records=%llu import_s=%.3f import_rate=%.0f user_key_len=%llu "
	       "user_val_len=%llu\n",
	       (unsigned long long)nuser, secs, (double)nuser / secs,
	       (unsigned long long)((sz.klen + sz.n / 2) / sz.n),
	       (unsigned long long)((sz.vlen + sz.n / 2) / sz.n));
out:
	store_free(s);
	return r;
}
