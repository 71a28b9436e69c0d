/*
 * kefuctl's offline commands: they work on a node's LMDB directory (--db
 * DIR) without a running node. Exit codes: 0 success; 1 the answer is
 * negative (a file rejected, a number not found); 2 usage or system error.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "lib/log.h"
#include "storage/boss.h"
#include "storage/custdb.h"
#include "storage/import.h"
#include "storage/keys.h"
#include "storage/log.h"
#include "storage/store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int refuse_member_db(struct store *s, const char *what);

/* Open the node database at dir; with must_exist, a missing one is an error
 * instead of being created. bulk (an import): the transaction's pages go to
 * the shared map, so a file larger than memory needs no more heap than a
 * small one (docs/storage.md "Durability and memory"), and the store is
 * this process's alone. When another process has it, a shared open beside
 * it says whether that is a member's node (refused as such). Otherwise the
 * import's open is the only one: with an ordinary open and close before it,
 * the import ran out of boss_memory.sh's 64 MiB data limit. */
static int open_db(const char *dir, bool must_exist, bool bulk, struct store **s)
{
	struct store_opts o = {.map_writes = bulk};
	struct store *seen;
	char path[4096];
	struct stat st;
	int r;

	if (!dir)
		return ctl_usage_error("--db DIR is required");
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (must_exist && stat(path, &st) != 0) {
		fprintf(stderr, "kefuctl: no database in %s\n", dir);
		return EXIT_USAGE;
	}
	if (!must_exist && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "kefuctl: cannot create %s: %s\n", dir, strerror(errno));
		return EXIT_USAGE;
	}
	r = store_open(dir, &o, s);
	if (r == -EBUSY && bulk && store_open(dir, NULL, &seen) == 0) {
		if (refuse_member_db(seen, "import"))
			return EXIT_USAGE;
		store_free(seen);
	}
	if (r) {
		fprintf(stderr, "kefuctl: cannot open database %s: %s\n", dir, kf_strerror(r));
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Offline writes are for a node alone. A cluster member's database gets
 * its changes from the replicated log only: a change made beside it would
 * differ from the other replicas forever. Returns EXIT_USAGE (and closes
 * s) for a member's database, 0 otherwise.
 */
static int refuse_member_db(struct store *s, const char *what)
{
	struct log_state st = {0};
	struct store_txn *t;
	int r = store_read_begin(s, &t);

	if (r == 0) {
		r = log_state(t, &st);
		store_abort(t);
	}
	if (r == 0 && st.applied_index == 0 && st.epoch_seen == 0)
		return 0;
	fprintf(stderr,
		"kefuctl: this database belongs to a cluster member; %s through a node instead:\n"
		"  kefuctl --node HOST:PORT %s ...\n",
		what, what);
	store_free(s);
	return EXIT_USAGE;
}

/* ---- import ---- */

static void print_result(void *arg, const struct import_result *r)
{
	char line[1024];

	(void)arg;
	puts(import_format(r, line, sizeof(line)));
	fflush(stdout);
}

int ctl_offline_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"rejected", required_argument, NULL, 'r'},
		{"archive", required_argument, NULL, 'a'},
		{"progress", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	struct import_opts io = {.origin = "kefuctl"};
	struct import_summary sum;
	const char *db = NULL;
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'r': io.rejected_dir = optarg; break;
		case 'a': io.archive_dir = optarg; break;
		case 'p': io.progress = true; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return ctl_usage_error("no files given");
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n < 4 || strcmp(argv[i] + n - 4, ".dat") != 0)
			return ctl_usage_error("%s: give the .dat data files (the .chk is found beside each)",
					   argv[i]);
	}
	if ((r = open_db(db, false, true, &s)))
		return r;
	if ((r = refuse_member_db(s, "import")))
		return r;
	r = import_files(s, &io, (const char *const *)(argv + optind), (size_t)(argc - optind),
			 print_result, NULL, &sum);
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: import stopped: %s\n", kf_strerror(r));
		return EXIT_USAGE;
	}
	return sum.files[IMPORT_REJECTED] ? EXIT_NEGATIVE : 0;
}

/* ---- lookup ---- */

int ctl_offline_lookup(int argc, char **argv)
{
	struct ctl_lookup_args la;
	struct custdb_profile p;
	struct custdb_cdrs cd;
	struct store_txn *t;
	struct store *s;
	int r = ctl_lookup_args(argc, argv, &la);
	const char *db = la.db, *msisdn = la.msisdn, *uid = la.user_id;
	uint64_t months = la.months;
	bool json = la.json;

	if (r)
		return r;
	if ((r = open_db(db, true, false, &s)))
		return r;
	if ((r = store_read_begin(s, &t)) == 0) {
		r = msisdn ? custdb_lookup_msisdn(t, msisdn, 10, months, &p)
			   : custdb_lookup_user(t, uid, 10, months, &p);
		if (r == 0 && (r = custdb_list_cdrs(t, p.user->user_id, NULL, NULL,
						    CUSTDB_LOOKUP_CDRS, &cd)))
			custdb_profile_release(&p);
		store_abort(t);
	}
	store_free(s);
	if (r == KF_ENOTFOUND) {
		fprintf(stderr, "kefuctl: no subscriber with %s %s\n", msisdn ? "msisdn" : "user_id",
			msisdn ? msisdn : uid);
		return EXIT_NEGATIVE;
	}
	if (r) {
		fprintf(stderr, "kefuctl: lookup failed: %s\n", kf_strerror(r));
		return EXIT_USAGE;
	}
	{
		struct ctl_profile cp = {p.user, p.cust, p.npay, p.pay, p.nbill, p.bill, cd.n, cd.cdr};

		ctl_profile_print(&cp, json);
	}
	custdb_profile_release(&p);
	custdb_cdrs_release(&cd);
	return 0;
}

/* ---- skip ---- */

int ctl_skip(int argc, char **argv)
{
	struct ctl_skip_args sa;
	enum boss_kind k;
	char why[256];
	struct store *s;
	int r = ctl_skip_args(argc, argv, &sa);
	const char *db = sa.db, *prov = sa.prov, *kind = sa.kind, *reason = sa.reason;
	uint64_t seq = sa.seq;

	if (r)
		return r;
	if (boss_kind_parse(kind, strlen(kind), &k))
		return ctl_usage_error("--kind is one of CUST USER PAY CHG BILL CDR");
	if ((r = open_db(db, true, false, &s)))
		return r;
	if ((r = refuse_member_db(s, "skip")))
		return r;
	r = import_skip(s, NULL, prov, k, (uint32_t)seq, reason, why, sizeof(why));
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: skip refused: %s\n", why[0] ? why : kf_strerror(r));
		return r == KF_ESTATE ? EXIT_NEGATIVE : EXIT_USAGE;
	}
	printf("skipped %s %s SEQ %06" PRIu64 "\n", prov, kind, seq);
	return 0;
}

/* ---- prune ---- */

int ctl_prune(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"today", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *today = NULL;
	struct custdb_prune_stats st;
	char now[16];
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 't': today = optarg; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (!today) {
		time_t tt = time(NULL);
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(now, sizeof(now), "%Y%m%d", &tm);
		today = now;
	}
	if ((r = open_db(db, true, false, &s)))
		return r;
	if ((r = refuse_member_db(s, "prune")))
		return r;
	r = custdb_prune(s, NULL, today, &st);
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: prune failed: %s%s\n", kf_strerror(r),
			r == KF_EPARSE ? " (--today is YYYYMMDD)" : "");
		return EXIT_USAGE;
	}
	printf("pruned cdrs=%" PRIu64 " bills=%" PRIu64 "\n", st.cdrs, st.bills);
	return 0;
}

/* ---- stat and dump ---- */

int ctl_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	struct store_stats st;
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return ctl_usage_error("unknown option");
		db = optarg;
	}
	if ((r = open_db(db, true, false, &s)))
		return r;
	r = store_stat(s, &st);
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: stat failed: %s\n", kf_strerror(r));
		return EXIT_USAGE;
	}
	printf("map_size %zu\nused_bytes %zu\n", st.map_size, st.used_bytes);
	for (int i = 1; i < STORE_TABLE_SLOTS; i++)
		if (store_table_name(i))
			printf("%-16s %" PRIu64 "\n", store_table_name(i), st.entries[i]);
	return 0;
}

static void put_escaped(const uint8_t *p, size_t n, bool key)
{
	for (size_t i = 0; i < n; i++) {
		if (key && p[i] == 0)
			putchar(i + 1 == n ? ' ' : '|');
		else if (p[i] < 0x20 || p[i] == '\\' || p[i] >= 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
}

static int dump_visit(void *arg, const struct store_val *k, const struct store_val *v)
{
	printf("%s\t", (const char *)arg);
	put_escaped(k->data, k->len, true);
	putchar('\t');
	put_escaped(v->data, v->len, false);
	putchar('\n');
	return 0;
}

int ctl_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"table", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	bool want[STORE_TABLE_SLOTS] = {false};
	bool any = false;
	struct store_txn *t;
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 't':
			if ((r = store_table_by_name(optarg)) < 0)
				return ctl_usage_error("no table named %s", optarg);
			want[r] = any = true;
			break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if ((r = open_db(db, true, false, &s)))
		return r;
	if ((r = store_read_begin(s, &t)) == 0) {
		for (int i = 1; i < STORE_TABLE_SLOTS && r == 0; i++)
			if (store_table_name(i) && (!any || want[i]))
				r = store_scan(t, (enum store_table)i, NULL, 0, NULL, 0, false,
					       dump_visit, (void *)store_table_name(i));
		store_abort(t);
	}
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: dump failed: %s\n", kf_strerror(r));
		return EXIT_USAGE;
	}
	return 0;
}

