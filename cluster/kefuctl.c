/*
 * kefuctl - the operator's command line.
 *
 * Offline commands work on a node's LMDB directory (--db DIR) without a
 * running node: import, lookup, skip, prune, stat, dump. The cluster
 * commands (status, members, switchover, failover, and import/lookup
 * through --node) join when the cluster layer does.
 *
 * Exit codes: 0 success; 1 the command ran but the answer is negative
 * (a file rejected, a number not found); 2 bad usage or a system error.
 */
#include "lib/err.h"
#include "lib/log.h"
#include "storage/boss.h"
#include "storage/custdb.h"
#include "storage/import.h"
#include "storage/keys.h"
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

#define EXIT_NEGATIVE 1
#define EXIT_USAGE 2

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

static const struct cmd *cmd_current;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kefuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd_current)
		fprintf(stderr, "usage: kefuctl %s %s\n", cmd_current->name, cmd_current->usage);
	return EXIT_USAGE;
}

/* Parse a whole decimal number in [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return KF_EPARSE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return KF_EPARSE;
	*out = v;
	return 0;
}

/* Open the node database at dir; with must_exist, a missing one is an error
 * instead of being created. */
static int open_db(const char *dir, bool must_exist, struct store **s)
{
	char path[4096];
	struct stat st;
	int r;

	if (!dir)
		return usage_error("--db DIR is required");
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (must_exist && stat(path, &st) != 0) {
		fprintf(stderr, "kefuctl: no database in %s\n", dir);
		return EXIT_USAGE;
	}
	if (!must_exist && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "kefuctl: cannot create %s: %s\n", dir, strerror(errno));
		return EXIT_USAGE;
	}
	r = store_open(dir, NULL, s);
	if (r) {
		fprintf(stderr, "kefuctl: cannot open database %s: %s\n", dir, kf_strerror(r));
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- import ---- */

static void print_result(void *arg, const struct import_result *r)
{
	char line[1024];

	(void)arg;
	puts(import_format(r, line, sizeof(line)));
	fflush(stdout);
}

static int cmd_import(int argc, char **argv)
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
		default: return usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return usage_error("no files given");
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n < 4 || strcmp(argv[i] + n - 4, ".dat") != 0)
			return usage_error("%s: give the .dat data files (the .chk is found beside each)",
					   argv[i]);
	}
	if ((r = open_db(db, false, &s)))
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

static const char *const status_names[] = {"?", "normal", "suspended", "stopped for arrears",
					   "cancelled"};
static const char *const tier_names[] = {"ordinary", "silver", "gold", "platinum", "diamond"};

static const char *status_name(const Kefu__Subscriber *u)
{
	return u->has_status && u->status < 5 ? status_names[u->status] : "?";
}

static const char *tier_name(uint32_t vip)
{
	return vip < 5 ? tier_names[vip] : "?";
}

/* An id number shown on an agent's screen keeps only its first 4 and last 4
 * characters: enough to confirm, not enough to copy. */
static void mask_id(const char *id, char *out, size_t cap)
{
	size_t n = id ? strlen(id) : 0;

	if (n <= 8) {
		snprintf(out, cap, "%s", n ? "********" : "");
		return;
	}
	snprintf(out, cap, "%.4s%.*s%s", id, (int)(n - 8 < cap ? n - 8 : 0),
		 "************************************************", id + n - 4);
}

static void yuan(int64_t fen, char *out, size_t cap)
{
	uint64_t a = fen < 0 ? (uint64_t)(-(fen + 1)) + 1 : (uint64_t)fen;

	snprintf(out, cap, "%s%" PRIu64 ".%02" PRIu64, fen < 0 ? "-" : "", a / 100, a % 100);
}

#define S(x) ((x) ? (x) : "")

static json_t *profile_json(const struct custdb_profile *p)
{
	const Kefu__Subscriber *u = p->user;
	const Kefu__Customer *cu = p->cust;
	json_t *o = json_object(), *pays = json_array(), *bills = json_array();
	uint32_t vip = cu && cu->has_vip_level ? cu->vip_level : 0;
	char masked[64];

	json_object_set_new(o, "msisdn", json_string(S(u->msisdn)));
	json_object_set_new(o, "user_id", json_string(S(u->user_id)));
	json_object_set_new(o, "cust_id", json_string(S(u->cust_id)));
	json_object_set_new(o, "name", json_string(cu ? S(cu->name) : ""));
	json_object_set_new(o, "vip_level", json_integer(vip));
	json_object_set_new(o, "tier", json_string(tier_name(vip)));
	json_object_set_new(o, "balance", json_integer(u->has_balance ? u->balance : 0));
	json_object_set_new(o, "arrears", json_integer(u->has_arrears ? u->arrears : 0));
	json_object_set_new(o, "status", json_integer(u->has_status ? u->status : 0));
	json_object_set_new(o, "status_text", json_string(status_name(u)));
	json_object_set_new(o, "brand", json_string(S(u->brand)));
	json_object_set_new(o, "plan_id", json_string(S(u->plan_id)));
	json_object_set_new(o, "open_time", json_string(S(u->open_time)));
	json_object_set_new(o, "credit_level", json_integer(u->has_credit_level ? u->credit_level : 0));
	if (cu) {
		mask_id(cu->id_no, masked, sizeof(masked));
		json_object_set_new(o, "cust_type", json_string(S(cu->cust_type)));
		json_object_set_new(o, "id_type", json_string(S(cu->id_type)));
		json_object_set_new(o, "id_no_masked", json_string(masked));
		json_object_set_new(o, "address", json_string(S(cu->address)));
		json_object_set_new(o, "contact_phone", json_string(S(cu->contact_phone)));
		json_object_set_new(o, "manager_id", json_string(S(cu->manager_id)));
	}
	for (size_t i = 0; i < p->npay; i++) {
		const Kefu__Payment *y = p->pay[i];
		json_t *j = json_object();

		json_object_set_new(j, "pay_id", json_string(S(y->pay_id)));
		json_object_set_new(j, "amount", json_integer(y->has_amount ? y->amount : 0));
		json_object_set_new(j, "pay_time", json_string(S(y->pay_time)));
		json_object_set_new(j, "channel", json_string(S(y->channel)));
		json_array_append_new(pays, j);
	}
	for (size_t i = 0; i < p->nbill; i++) {
		const Kefu__Bill *b = p->bill[i];
		json_t *j = json_object();

		json_object_set_new(j, "bill_month", json_string(S(b->bill_month)));
		json_object_set_new(j, "item_code", json_string(S(b->item_code)));
		json_object_set_new(j, "item_name", json_string(S(b->item_name)));
		json_object_set_new(j, "amount", json_integer(b->has_amount ? b->amount : 0));
		json_array_append_new(bills, j);
	}
	json_object_set_new(o, "payments", pays);
	json_object_set_new(o, "bills", bills);
	return o;
}

static void profile_print(const struct custdb_profile *p)
{
	const Kefu__Subscriber *u = p->user;
	const Kefu__Customer *cu = p->cust;
	uint32_t vip = cu && cu->has_vip_level ? cu->vip_level : 0;
	char a[32], b[32], masked[64];

	printf("号码 msisdn     %s   (user %s, %s)\n", S(u->msisdn), S(u->user_id), status_name(u));
	if (cu) {
		mask_id(cu->id_no, masked, sizeof(masked));
		printf("客户 customer   %s   (cust %s, %s)\n", S(cu->name), S(cu->cust_id),
		       cu->cust_type && !strcmp(cu->cust_type, "E") ? "enterprise" : "person");
		printf("证件 id         %s %s\n", S(cu->id_type), masked);
		printf("地址 address    %s\n", S(cu->address));
		printf("联系 contact    %s\n", S(cu->contact_phone));
	} else {
		printf("客户 customer   (missing: cust %s)\n", S(u->cust_id));
	}
	printf("等级 tier       %u %s%s%s\n", vip, tier_name(vip),
	       cu && cu->manager_id ? ", manager " : "", cu ? S(cu->manager_id) : "");
	printf("品牌 brand      %s   plan %s   opened %s   credit %u\n", S(u->brand), S(u->plan_id),
	       S(u->open_time), u->has_credit_level ? u->credit_level : 0);
	yuan(u->has_balance ? u->balance : 0, a, sizeof(a));
	yuan(u->has_arrears ? u->arrears : 0, b, sizeof(b));
	printf("余额 balance    %s yuan   欠费 arrears %s yuan\n", a, b);
	printf("缴费 payments   %zu recent\n", p->npay);
	for (size_t i = 0; i < p->npay; i++) {
		yuan(p->pay[i]->has_amount ? p->pay[i]->amount : 0, a, sizeof(a));
		printf("  %s  %10s  %-4s  pay %s\n", S(p->pay[i]->pay_time), a, S(p->pay[i]->channel),
		       S(p->pay[i]->pay_id));
	}
	printf("账单 bills      %zu items\n", p->nbill);
	for (size_t i = 0; i < p->nbill; i++) {
		yuan(p->bill[i]->has_amount ? p->bill[i]->amount : 0, a, sizeof(a));
		printf("  %s  %10s  %s (%s)\n", S(p->bill[i]->bill_month), a, S(p->bill[i]->item_name),
		       S(p->bill[i]->item_code));
	}
}

static int cmd_lookup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"msisdn", required_argument, NULL, 'm'},
		{"user-id", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{"months", required_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *msisdn = NULL, *uid = NULL;
	struct custdb_profile p;
	struct store_txn *t;
	struct store *s;
	uint64_t months = 3;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'm': msisdn = optarg; break;
		case 'u': uid = optarg; break;
		case 'j': json = true; break;
		case 'M':
			if (parse_u64(optarg, 0, 24, &months))
				return usage_error("--months takes 0..24");
			break;
		default: return usage_error("unknown option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument %s", argv[optind]);
	if (!msisdn == !uid)
		return usage_error("give one of --msisdn N or --user-id ID");
	if ((r = open_db(db, true, &s)))
		return r;
	if ((r = store_read_begin(s, &t)) == 0) {
		r = msisdn ? custdb_lookup_msisdn(t, msisdn, 10, months, &p)
			   : custdb_lookup_user(t, uid, 10, months, &p);
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
	if (json) {
		json_t *o = profile_json(&p);

		json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
		putchar('\n');
		json_decref(o);
	} else {
		profile_print(&p);
	}
	custdb_profile_release(&p);
	return 0;
}

/* ---- skip ---- */

static int cmd_skip(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"prov", required_argument, NULL, 'p'},
		{"kind", required_argument, NULL, 'k'},
		{"seq", required_argument, NULL, 's'},
		{"reason", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *prov = NULL, *kind = NULL, *reason = NULL;
	enum boss_kind k;
	uint64_t seq = 0;
	char why[256];
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'p': prov = optarg; break;
		case 'k': kind = optarg; break;
		case 's':
			if (parse_u64(optarg, 1, 999999, &seq))
				return usage_error("--seq takes 1..999999");
			break;
		case 'r': reason = optarg; break;
		default: return usage_error("unknown option");
		}
	}
	if (!prov || !kind || !seq || !reason)
		return usage_error("--prov, --kind, --seq and --reason are required");
	if (boss_kind_parse(kind, strlen(kind), &k))
		return usage_error("--kind is one of CUST USER PAY CHG BILL CDR");
	if ((r = open_db(db, true, &s)))
		return r;
	r = import_skip(s, prov, k, (uint32_t)seq, reason, why, sizeof(why));
	store_free(s);
	if (r) {
		fprintf(stderr, "kefuctl: skip refused: %s\n", why[0] ? why : kf_strerror(r));
		return r == KF_ESTATE ? EXIT_NEGATIVE : EXIT_USAGE;
	}
	printf("skipped %s %s SEQ %06" PRIu64 "\n", prov, kind, seq);
	return 0;
}

/* ---- prune ---- */

static int cmd_prune(int argc, char **argv)
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
		default: return usage_error("unknown option");
		}
	}
	if (!today) {
		time_t tt = time(NULL);
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(now, sizeof(now), "%Y%m%d", &tm);
		today = now;
	}
	if ((r = open_db(db, true, &s)))
		return r;
	r = custdb_prune(s, today, &st);
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

static int cmd_stat(int argc, char **argv)
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
			return usage_error("unknown option");
		db = optarg;
	}
	if ((r = open_db(db, true, &s)))
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

static int cmd_dump(int argc, char **argv)
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
				return usage_error("no table named %s", optarg);
			want[r] = any = true;
			break;
		default: return usage_error("unknown option");
		}
	}
	if ((r = open_db(db, true, &s)))
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

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{"import", cmd_import, "--db DIR [--rejected DIR] [--archive DIR] [--progress] FILE.dat...",
	 "import BOSS batch files; one line per file: applied|skipped|held|rejected NAME RECORDS [reason]"},
	{"lookup", cmd_lookup, "--db DIR (--msisdn N | --user-id ID) [--months M] [--json]",
	 "show a subscriber: customer, tier, balance, arrears, status, payments, bills"},
	{"skip", cmd_skip, "--db DIR --prov P --kind K --seq N --reason TEXT",
	 "release files held behind a SEQ that will never arrive"},
	{"prune", cmd_prune, "--db DIR [--today YYYYMMDD]",
	 "delete CDRs older than 6 months and bills older than 24 months"},
	{"stat", cmd_stat, "--db DIR", "map size and entries per table"},
	{"dump", cmd_dump, "--db DIR [--table NAME]...", "every entry of the tables, one per line"},
	{"help", cmd_help, "", "this list"},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	puts("usage: kefuctl COMMAND [options]\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %-7s %s\n          %s\n", cmds[i].name, cmds[i].usage, cmds[i].summary);
	puts("\nexit status: 0 ok, 1 negative answer (rejected file, not found), 2 usage or system error");
	return 0;
}

int main(int argc, char **argv)
{
	enum log_level lvl = LOG_LVL_ERR;
	const char *env = getenv("KEFU_LOG");

	if (env && log_parse_level(env, &lvl) != 0)
		fprintf(stderr, "kefuctl: KEFU_LOG=%s is not a level; using error\n", env);
	log_set_level(-1, lvl);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return argc < 2 ? (cmd_help(0, NULL), EXIT_USAGE) : cmd_help(0, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			cmd_current = &cmds[i];
			return cmds[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "kefuctl: unknown command %s (kefuctl help lists them)\n", argv[1]);
	return EXIT_USAGE;
}
