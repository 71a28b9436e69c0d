/*
 * Unit tests for the simulator's BOSS generator (tests/sim/gen_boss.c) and
 * its helpers: every record parses with the real parser, check files match
 * their data, runs are reproducible, and the files obey the interface's
 * rules when applied in (stamp, kind) order.
 */
#include "tests/sim/gen_boss.h"
#include "tests/sim/rng.h"
#include "tests/sim/simopt.h"
#include "tests/sim/stamp.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "storage/boss.h"
#include "storage/bossrec.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_FILES 16
#define USERS 2000

/* The files of one run, in the order they were written. */
struct run {
	char dir[64];
	unsigned n;
	char name[MAX_FILES][BOSS_NAME_MAX + 1];
	uint64_t records[MAX_FILES];
};

static void on_wrote(void *arg, const char *name, uint64_t records)
{
	struct run *r = arg;

	assert_true(r->n < MAX_FILES);
	snprintf(r->name[r->n], sizeof(r->name[r->n]), "%s", name);
	r->records[r->n++] = records;
}

static void config_for(struct gen_boss_config *c, const char *dir, uint64_t users, uint64_t seed)
{
	gen_boss_config_init(c);
	c->out_dir = dir;
	c->users = users;
	c->seed = seed;
}

/* run_with - generate c (out_dir is replaced by a fresh temporary folder). */
static struct run *run_with(struct gen_boss_config *c)
{
	struct run *r = calloc(1, sizeof(*r));
	char why[256] = "";

	assert_non_null(r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_gen_boss.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	c->out_dir = r->dir;
	if (gen_boss_run(c, on_wrote, r, why, sizeof(why)) != 0)
		fail_msg("gen_boss_run: %s", why);
	return r;
}

static struct run *run_new(uint64_t users, uint64_t seed, unsigned kinds, bool changes)
{
	struct gen_boss_config c;

	config_for(&c, NULL, users, seed);
	c.kinds = kinds;
	c.changes = changes;
	return run_with(&c);
}

static void run_free(struct run *r)
{
	DIR *d = opendir(r->dir);
	struct dirent *e;
	char path[512];

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(r->dir);
	free(r);
}

/* slurp - the whole file; *len its size. The caller frees. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void chk_name(const char *dat, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s.chk", (int)(strlen(dat) - 4), dat);
}

static struct boss_name name_of(const char *dat)
{
	struct boss_name n;

	assert_int_equal(boss_parse_name(dat, strlen(dat), &n, NULL, 0), 0);
	return n;
}

/*
 * for_each_record - call fn for every line of a data file, parsed with the
 * real parser; every line must parse. Returns the number of lines.
 */
static uint64_t for_each_record(const struct run *r, unsigned file,
				void (*fn)(const struct bossrec *rec, const char *line, size_t len,
					   void *arg),
				void *arg)
{
	static struct bossrec rec;
	struct boss_name nm = name_of(r->name[file]);
	struct bossrec_error err;
	uint64_t lines = 0;
	size_t len;
	char *buf = slurp(r->dir, r->name[file], &len);

	for (char *p = buf; p < buf + len;) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));

		assert_non_null(nl); /* every record ends in a newline */
		if (bossrec_parse(nm.kind, p, (size_t)(nl - p), &rec, &err) != 0)
			fail_msg("%s line %llu: %s", r->name[file], (unsigned long long)lines + 1,
				 err.reason);
		if (fn)
			fn(&rec, p, (size_t)(nl - p), arg);
		lines++;
		p = nl + 1;
	}
	free(buf);
	return lines;
}

/* ---- a shared run for the read-only tests ---- */

static int group_setup(void **state)
{
	*state = run_new(USERS, 11, GEN_BOSS_ALL_KINDS, true);
	return 0;
}

static int group_teardown(void **state)
{
	run_free(*state);
	return 0;
}

static void test_writes_two_rounds_of_every_kind(void **state)
{
	const struct run *r = *state;

	assert_int_equal(r->n, 2 * BOSS_KIND_COUNT);
	for (unsigned i = 0; i < r->n; i++) {
		struct boss_name n = name_of(r->name[i]);

		assert_string_equal(n.prov, "SC");
		assert_int_equal(n.kind, i % BOSS_KIND_COUNT);
		assert_int_equal(n.seq, i / BOSS_KIND_COUNT + 1);
		assert_string_equal(n.stamp, i < BOSS_KIND_COUNT ? "20261101020000" : "20261102020000");
		assert_true(r->records[i] > 0);
	}
	assert_int_equal(r->records[BOSS_USER], USERS);
	assert_int_equal(r->records[BOSS_CUST], (USERS * 4 + 4) / 5);
	assert_int_equal(r->records[BOSS_CDR], USERS * 5);
}

struct op_count {
	uint64_t ops[BOSS_KIND_COUNT][3]; /* A, M, D */
	enum boss_kind kind;
};

static void count_op(const struct bossrec *rec, const char *line, size_t len, void *arg)
{
	struct op_count *c = arg;

	(void)line;
	(void)len;
	c->ops[rec->kind][rec->op == 'A' ? 0 : rec->op == 'M' ? 1 : 2]++;
}

static void test_every_record_parses(void **state)
{
	const struct run *r = *state;
	struct op_count first = {0}, second = {0};

	for (unsigned i = 0; i < r->n; i++)
		assert_int_equal(for_each_record(r, i, count_op, i < BOSS_KIND_COUNT ? &first : &second),
				 r->records[i]);
	for (unsigned k = 0; k < BOSS_KIND_COUNT; k++) {
		assert_int_equal(first.ops[k][0], r->records[k]); /* round 1 is all A */
		assert_int_equal(first.ops[k][1] + first.ops[k][2], 0);
	}
	assert_true(second.ops[BOSS_CUST][0] > 0 && second.ops[BOSS_CUST][1] > 0);
	assert_true(second.ops[BOSS_USER][0] > 0 && second.ops[BOSS_USER][1] > 0);
	assert_true(second.ops[BOSS_PAY][0] > 0 && second.ops[BOSS_PAY][2] > 0);
	assert_true(second.ops[BOSS_CHG][0] > 0);
	assert_true(second.ops[BOSS_BILL][1] > 0);
	assert_true(second.ops[BOSS_CDR][0] > 0);
	/* ~5% of the users change */
	assert_in_range(second.ops[BOSS_USER][1], USERS / 40, USERS / 10);
}

static void test_chk_matches_its_data_file(void **state)
{
	const struct run *r = *state;

	for (unsigned i = 0; i < r->n; i++) {
		char cname[BOSS_NAME_MAX + 8], sha[DIGEST_SHA256_HEX + 1], why[128] = "";
		size_t dlen, clen;
		char *data = slurp(r->dir, r->name[i], &dlen);
		char *chk;
		struct boss_chk c;
		uint64_t lines = 0;

		chk_name(r->name[i], cname, sizeof(cname));
		chk = slurp(r->dir, cname, &clen);
		assert_int_equal(boss_parse_chk(chk, clen, &c, why, sizeof(why)), 0);
		digest_sha256_hex(data, dlen, sha);
		for (size_t j = 0; j < dlen; j++)
			lines += data[j] == '\n';
		assert_string_equal(c.name, r->name[i]);
		assert_int_equal(c.records, lines);
		assert_int_equal(c.records, r->records[i]);
		assert_int_equal(c.bytes, dlen);
		assert_string_equal(c.sha256, sha);
		free(data);
		free(chk);
	}
}

/* ---- the rules of boss-files.md, replayed with key sets ---- */

#define SET_CAP (1u << 17)

/* An open-addressing map from a key to a short value; no removal marks,
 * a removed key keeps its slot with present = false. */
struct set {
	struct {
		char *key;
		char val[40];
		bool present;
	} slot[SET_CAP];
	unsigned used;
};

static unsigned set_find(struct set *s, const char *key)
{
	struct rng r;
	unsigned i;
	uint64_t h = 0;

	for (const char *p = key; *p; p++)
		h = h * 131 + (unsigned char)*p;
	rng_init(&r, h, 0, 0);
	for (i = (unsigned)(rng_next(&r) % SET_CAP); s->slot[i].key; i = (i + 1) % SET_CAP)
		if (strcmp(s->slot[i].key, key) == 0)
			break;
	return i;
}

static bool set_has(struct set *s, const char *key)
{
	unsigned i = set_find(s, key);

	return s->slot[i].key && s->slot[i].present;
}

static void set_put(struct set *s, const char *key, const char *val)
{
	unsigned i = set_find(s, key);

	if (!s->slot[i].key) {
		assert_true(++s->used < SET_CAP / 2);
		s->slot[i].key = strdup(key);
		assert_non_null(s->slot[i].key);
	}
	s->slot[i].present = true;
	snprintf(s->slot[i].val, sizeof(s->slot[i].val), "%s", val ? val : "");
}

static const char *set_get(struct set *s, const char *key)
{
	unsigned i = set_find(s, key);

	return s->slot[i].key && s->slot[i].present ? s->slot[i].val : NULL;
}

static void set_del(struct set *s, const char *key)
{
	s->slot[set_find(s, key)].present = false;
}

static void set_release(struct set *s)
{
	for (unsigned i = 0; i < SET_CAP; i++)
		free(s->slot[i].key);
}

struct world {
	struct set keys;     /* "<KIND>\x1f<key fields>" -> "" */
	struct set owner;    /* msisdn of a non-cancelled user -> user_id */
	struct set msisdn;   /* user_id -> its msisdn and status, "<msisdn>:<status>" */
	const char *file;
	uint64_t line;
};

static void key_of(const struct bossrec *rec, char *out, size_t cap)
{
	const struct bossrec_field *f;
	unsigned n;
	size_t len;

	f = bossrec_schema(rec->kind, &n);
	len = (size_t)snprintf(out, cap, "%s", boss_kind_name(rec->kind));
	for (unsigned i = 0; i < n; i++)
		if (f[i].key)
			len += (size_t)snprintf(out + len, cap - len, "\x1f%s", rec->val[i]);
	assert_true(len < cap);
}

static const char *field(const struct bossrec *rec, const char *name)
{
	int i = bossrec_field_index(rec->kind, name);

	assert_true(i >= 0);
	return rec->val[i];
}

static void require_ref(struct world *w, enum boss_kind kind, const char *id)
{
	char key[128];

	snprintf(key, sizeof(key), "%s\x1f%s", boss_kind_name(kind), id);
	if (!set_has(&w->keys, key))
		fail_msg("%s line %llu: %s %s does not exist", w->file, (unsigned long long)w->line,
			 boss_kind_name(kind), id);
}

/* A USER A or M: the msisdn of a user that is not cancelled is held by it alone. */
static void user_apply(struct world *w, const struct bossrec *rec)
{
	const char *id = field(rec, "user_id"), *num = field(rec, "msisdn");
	const char *prev = set_get(&w->msisdn, id), *holder;
	bool cancelled = strcmp(field(rec, "status"), "4") == 0;
	char val[40];

	if (prev) {
		snprintf(val, sizeof(val), "%.*s", (int)(strchr(prev, ':') - prev), prev);
		set_del(&w->owner, val);
	}
	holder = set_get(&w->owner, num);
	if (!cancelled && holder)
		fail_msg("%s line %llu: msisdn %s of user %s is held by user %s", w->file,
			 (unsigned long long)w->line, num, id, holder);
	if (!cancelled)
		set_put(&w->owner, num, id);
	snprintf(val, sizeof(val), "%s:%s", num, field(rec, "status"));
	set_put(&w->msisdn, id, val);
}

static void apply(const struct bossrec *rec, const char *line, size_t len, void *arg)
{
	struct world *w = arg;
	char key[256];
	bool exists;

	(void)line;
	(void)len;
	w->line++;
	key_of(rec, key, sizeof(key));
	exists = set_has(&w->keys, key);
	if (rec->op == 'A' && exists)
		fail_msg("%s line %llu: A of existing %s", w->file, (unsigned long long)w->line, key);
	if (rec->op != 'A' && !exists)
		fail_msg("%s line %llu: %c of missing %s", w->file, (unsigned long long)w->line,
			 rec->op, key);
	if (rec->op == 'D') {
		assert_int_not_equal(rec->kind, BOSS_CUST); /* customers are never deleted */
		assert_int_not_equal(rec->kind, BOSS_USER);
		set_del(&w->keys, key);
		return;
	}
	if (rec->kind == BOSS_USER) {
		require_ref(w, BOSS_CUST, field(rec, "cust_id"));
		user_apply(w, rec);
	} else if (rec->kind != BOSS_CUST) {
		require_ref(w, BOSS_USER, field(rec, "user_id"));
	}
	set_put(&w->keys, key, NULL);
}

static int by_stamp_then_kind(const void *a, const void *b)
{
	struct boss_name x = name_of(a), y = name_of(b);
	int c = strcmp(x.stamp, y.stamp);

	return c ? c : (int)x.kind - (int)y.kind;
}

/* check_rules - replay r's files in (stamp, kind) order against key sets. */
static void check_rules(const struct run *r)
{
	struct world *w = calloc(1, sizeof(*w));
	char order[MAX_FILES][BOSS_NAME_MAX + 1];

	assert_non_null(w);
	memcpy(order, r->name, sizeof(order));
	qsort(order, r->n, sizeof(order[0]), by_stamp_then_kind);
	for (unsigned i = 0; i < r->n; i++) {
		unsigned f = 0;

		while (strcmp(r->name[f], order[i]) != 0)
			f++;
		w->file = r->name[f];
		w->line = 0;
		for_each_record(r, f, apply, w);
	}
	set_release(&w->keys);
	set_release(&w->owner);
	set_release(&w->msisdn);
	free(w);
}

static void test_files_obey_the_rules_in_stamp_kind_order(void **state)
{
	check_rules(*state);
}

/* Shapes away from the defaults: more customers than users, one customer
 * for all, a single user, two years of bills, many CDRs, no CDRs. */
static void test_rules_hold_for_odd_shapes(void **state)
{
	static const struct {
		uint64_t users, custs;
		unsigned months, cdrs;
	} shapes[] = {{300, 900, 3, 5}, {200, 1, 1, 0}, {1, 0, 24, 40}, {40, 0, 24, 1000}};

	(void)state;
	for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct gen_boss_config c;
		struct run *r;

		config_for(&c, NULL, shapes[i].users, 100 + i);
		c.custs = shapes[i].custs;
		c.months = shapes[i].months;
		c.cdrs_per_user = shapes[i].cdrs;
		r = run_with(&c);
		assert_int_equal(r->n, 2 * BOSS_KIND_COUNT);
		assert_int_equal(r->records[BOSS_CDR], shapes[i].users * shapes[i].cdrs);
		check_rules(r);
		run_free(r);
	}
}

/* ---- content ---- */

struct cust_stats {
	uint64_t persons, firms, vip[5], bar, backslash, bad_ids, managers_missing;
};

static bool resident_id_valid(const char *id)
{
	static const unsigned w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	unsigned sum = 0;
	char date[STAMP_LEN + 1];
	int64_t t;

	/* born 1950..2005; stamp_parse knows only 1970 on, so a 19xx birth date
	 * is checked as 29xx, which has the same leap years */
	if (strlen(id) != 18)
		return false;
	for (int i = 0; i < 17; i++) {
		if (id[i] < '0' || id[i] > '9')
			return false;
		sum += (unsigned)(id[i] - '0') * w[i];
	}
	if (memcmp(id + 6, "1950", 4) < 0 || memcmp(id + 6, "2005", 4) > 0)
		return false;
	snprintf(date, sizeof(date), "%.8s000000", id + 6);
	if (id[6] == '1')
		date[0] = '2';
	return stamp_parse(date, &t) == 0 && id[17] == "10X98765432"[sum % 11];
}

static void cust_stat(const struct bossrec *rec, const char *line, size_t len, void *arg)
{
	struct cust_stats *s = arg;
	const char *addr = field(rec, "address");
	unsigned vip = (unsigned)rec->num[bossrec_field_index(BOSS_CUST, "vip_level")];

	if (strcmp(field(rec, "cust_type"), "P") == 0) {
		s->persons++;
		s->bad_ids += !resident_id_valid(field(rec, "id_no"));
	} else {
		s->firms++;
		s->bad_ids += strstr(field(rec, "name"), "有限公司") == NULL;
	}
	s->vip[vip]++;
	s->managers_missing += vip > 0 && field(rec, "manager_id")[0] == '\0';
	/* the raw line carries the escape, the parsed value the character */
	if (strchr(addr, '|')) {
		s->bar++;
		assert_non_null(memmem(line, len, "\\|", 2));
	}
	if (strchr(addr, '\\')) {
		s->backslash++;
		assert_non_null(memmem(line, len, "\\\\", 2));
	}
}

static void test_customers_look_real(void **state)
{
	const struct run *r = *state;
	struct cust_stats s = {0};
	uint64_t n = for_each_record(r, BOSS_CUST, cust_stat, &s);

	assert_int_equal(s.bad_ids, 0);
	assert_int_equal(s.managers_missing, 0);
	assert_true(s.firms > 0 && s.firms < n / 10);
	assert_in_range(s.vip[0] * 100 / n, 60, 80); /* ~70% ordinary */
	assert_true(s.vip[4] > 0);
	assert_true(s.bar > 0);       /* escaping is exercised */
	assert_true(s.backslash > 0);
}

struct user_stats {
	uint64_t status[5], bad_arrears, bad_msisdn;
};

static void user_stat(const struct bossrec *rec, const char *line, size_t len, void *arg)
{
	struct user_stats *s = arg;
	const char *num = field(rec, "msisdn");
	int64_t status = rec->num[bossrec_field_index(BOSS_USER, "status")];
	int64_t arrears = rec->num[bossrec_field_index(BOSS_USER, "arrears")];

	(void)line;
	(void)len;
	s->status[status]++;
	s->bad_arrears += status == 3 && arrears <= 0;
	s->bad_msisdn += strlen(num) != 11 || num[0] != '1' || !strchr("3456789", num[1]);
}

static void test_users_look_real(void **state)
{
	const struct run *r = *state;
	struct user_stats s = {0};

	for_each_record(r, BOSS_USER, user_stat, &s);
	assert_int_equal(s.bad_arrears, 0);
	assert_int_equal(s.bad_msisdn, 0);
	assert_true(s.status[1] > USERS * 8 / 10);
	assert_true(s.status[2] > 0 && s.status[3] > 0 && s.status[4] > 0);
}

/* ---- runs of their own ---- */

static void read_chks(const struct run *r, char out[MAX_FILES][512])
{
	for (unsigned i = 0; i < r->n; i++) {
		char cname[BOSS_NAME_MAX + 8];
		size_t len;
		char *c;

		chk_name(r->name[i], cname, sizeof(cname));
		c = slurp(r->dir, cname, &len);
		snprintf(out[i], 512, "%s", c);
		free(c);
	}
}

static void test_same_seed_gives_identical_files(void **state)
{
	struct run *a = run_new(500, 42, GEN_BOSS_ALL_KINDS, true);
	struct run *b = run_new(500, 42, GEN_BOSS_ALL_KINDS, true);
	static char ca[MAX_FILES][512], cb[MAX_FILES][512];

	(void)state;
	assert_int_equal(a->n, b->n);
	read_chks(a, ca);
	read_chks(b, cb);
	for (unsigned i = 0; i < a->n; i++)
		assert_string_equal(ca[i], cb[i]);
	run_free(a);
	run_free(b);
}

static void test_other_seed_gives_other_files(void **state)
{
	struct run *a = run_new(500, 42, GEN_BOSS_ALL_KINDS, true);
	struct run *b = run_new(500, 43, GEN_BOSS_ALL_KINDS, true);
	static char ca[MAX_FILES][512], cb[MAX_FILES][512];

	(void)state;
	assert_int_equal(a->n, b->n);
	read_chks(a, ca);
	read_chks(b, cb);
	for (unsigned i = 0; i < a->n; i++) /* the sha256 at the end differs */
		assert_string_not_equal(strrchr(ca[i], '|'), strrchr(cb[i], '|'));
	run_free(a);
	run_free(b);
}

static void test_kinds_and_no_changes_limit_the_files(void **state)
{
	struct run *r = run_new(50, 1, (1u << BOSS_CUST) | (1u << BOSS_CDR), false);

	(void)state;
	assert_int_equal(r->n, 2);
	assert_int_equal(name_of(r->name[0]).kind, BOSS_CUST);
	assert_int_equal(name_of(r->name[1]).kind, BOSS_CDR);
	run_free(r);
}

static void test_selected_kinds_match_the_full_run(void **state)
{
	struct run *all = run_new(300, 5, GEN_BOSS_ALL_KINDS, true);
	struct run *pay = run_new(300, 5, 1u << BOSS_PAY, true);
	static char ca[MAX_FILES][512], cp[MAX_FILES][512];

	(void)state;
	read_chks(all, ca);
	read_chks(pay, cp);
	assert_int_equal(pay->n, 2);
	assert_string_equal(cp[0], ca[BOSS_PAY]);
	assert_string_equal(cp[1], ca[BOSS_KIND_COUNT + BOSS_PAY]);
	run_free(all);
	run_free(pay);
}

static void test_bad_config_is_refused(void **state)
{
	struct gen_boss_config c;
	char why[128] = "";

	(void)state;
	config_for(&c, "/tmp/test_gen_boss.unused", 0, 1);
	assert_int_equal(gen_boss_run(&c, NULL, NULL, why, sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "users"));
	config_for(&c, "/tmp/test_gen_boss.unused", 10, 1);
	memcpy(c.prov, "sc", 3);
	assert_int_equal(gen_boss_run(&c, NULL, NULL, why, sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "province"));
	config_for(&c, "/tmp/test_gen_boss.unused", 10, 1);
	c.months = 25;
	assert_int_equal(gen_boss_run(&c, NULL, NULL, why, sizeof(why)), KF_ECONFIG);
	config_for(&c, "/tmp/test_gen_boss.unused", 10, 1);
	c.kinds = 0;
	assert_int_equal(gen_boss_run(&c, NULL, NULL, why, sizeof(why)), KF_ECONFIG);
}

static void test_unwritable_folder_is_an_error(void **state)
{
	struct gen_boss_config c;
	char why[256] = "";

	(void)state;
	config_for(&c, "/proc/test_gen_boss/x", 10, 1);
	assert_true(gen_boss_run(&c, NULL, NULL, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "/proc/test_gen_boss"));
}

/* ---- helpers ---- */

static void test_stamp_round_trips_and_refuses_bad_dates(void **state)
{
	static const char *const good[] = {"20261101020000", "20240229235959", "20051231000000",
					   "20000101000000"};
	static const char *const bad[] = {"20250229000000", "20261301000000", "20261100000000",
					  "20261101240000", "2026110102000", "202611010200000",
					  "2026110102000x"};
	char back[STAMP_LEN + 1];
	int64_t t;

	(void)state;
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(stamp_parse(good[i], &t), 0);
		stamp_format(t, back);
		assert_string_equal(back, good[i]);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(stamp_parse(bad[i], &t), KF_EPARSE);
	assert_int_equal(stamp_parse("20261231230000", &t), 0);
	stamp_format(t + 3600, back);
	assert_string_equal(back, "20270101000000");
	stamp_month(stamp_month_start(stamp_month_index(t) - 12), back);
	assert_string_equal(back, "202512");
}

static void test_rng_streams_are_reproducible_and_distinct(void **state)
{
	struct rng a, b, c;

	(void)state;
	rng_init(&a, 9, 1, 100);
	rng_init(&b, 9, 1, 100);
	rng_init(&c, 9, 1, 101);
	for (int i = 0; i < 100; i++) {
		uint64_t x = rng_next(&a);

		assert_int_equal(x, rng_next(&b));
		assert_int_not_equal(x, rng_next(&c));
	}
	for (int i = 0; i < 1000; i++) {
		int64_t v = rng_range(&a, -3, 3);

		assert_true(v >= -3 && v <= 3);
	}
}

static void test_simopt_u64_checks_digits_and_bounds(void **state)
{
	uint64_t v = 0;
	char why[128] = "";

	(void)state;
	assert_int_equal(simopt_u64("1000000", 1, 50000000, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 1000000);
	assert_int_equal(simopt_u64("18446744073709551615", 0, UINT64_MAX, &v, why, sizeof(why)), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(simopt_u64("18446744073709551616", 0, UINT64_MAX, &v, why, sizeof(why)),
			 KF_EPARSE);
	assert_int_equal(simopt_u64("0", 1, 9, &v, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "1..9"));
	assert_int_equal(simopt_u64("", 0, 9, &v, why, sizeof(why)), KF_EPARSE);
	assert_int_equal(simopt_u64("-1", 0, 9, &v, why, sizeof(why)), KF_EPARSE);
	assert_int_equal(simopt_u64("5x", 0, 9, &v, why, sizeof(why)), KF_EPARSE);
}

static int set_n(void *ctx, const char *val, char *why, size_t whylen)
{
	return simopt_u64(val, 1, 10, ctx, why, whylen);
}

static void test_simopt_parse_reports_what_is_wrong(void **state)
{
	static const struct simopt t[] = {{"n", "N", true, set_n, "a number"}};
	char *ok[] = {"--n=7"}, *unknown[] = {"--m", "1"}, *twice[] = {"--n", "1", "--n", "2"},
	     *missing[] = {"--n"}, *range[] = {"--n", "11"}, *help[] = {"--help"};
	uint64_t v = 0;
	char err[256];

	(void)state;
	assert_int_equal(simopt_parse(t, 1, 1, ok, &v, err, sizeof(err)), SIMOPT_OK);
	assert_int_equal(v, 7);
	assert_int_equal(simopt_parse(t, 1, 2, unknown, &v, err, sizeof(err)), SIMOPT_BAD);
	assert_non_null(strstr(err, "unknown option '--m'"));
	assert_int_equal(simopt_parse(t, 1, 4, twice, &v, err, sizeof(err)), SIMOPT_BAD);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(simopt_parse(t, 1, 1, missing, &v, err, sizeof(err)), SIMOPT_BAD);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(simopt_parse(t, 1, 2, range, &v, err, sizeof(err)), SIMOPT_BAD);
	assert_non_null(strstr(err, "--n: '11'"));
	assert_int_equal(simopt_parse(t, 1, 0, NULL, &v, err, sizeof(err)), SIMOPT_BAD);
	assert_non_null(strstr(err, "--n is required"));
	assert_int_equal(simopt_parse(t, 1, 1, help, &v, err, sizeof(err)), SIMOPT_HELP);
}

int main(void)
{
	const struct CMUnitTest shared[] = {
		cmocka_unit_test(test_writes_two_rounds_of_every_kind),
		cmocka_unit_test(test_every_record_parses),
		cmocka_unit_test(test_chk_matches_its_data_file),
		cmocka_unit_test(test_files_obey_the_rules_in_stamp_kind_order),
		cmocka_unit_test(test_customers_look_real),
		cmocka_unit_test(test_users_look_real),
	};
	const struct CMUnitTest own[] = {
		cmocka_unit_test(test_same_seed_gives_identical_files),
		cmocka_unit_test(test_other_seed_gives_other_files),
		cmocka_unit_test(test_kinds_and_no_changes_limit_the_files),
		cmocka_unit_test(test_selected_kinds_match_the_full_run),
		cmocka_unit_test(test_rules_hold_for_odd_shapes),
		cmocka_unit_test(test_bad_config_is_refused),
		cmocka_unit_test(test_unwritable_folder_is_an_error),
		cmocka_unit_test(test_stamp_round_trips_and_refuses_bad_dates),
		cmocka_unit_test(test_rng_streams_are_reproducible_and_distinct),
		cmocka_unit_test(test_simopt_u64_checks_digits_and_bounds),
		cmocka_unit_test(test_simopt_parse_reports_what_is_wrong),
	};
	int failed = cmocka_run_group_tests_name("gen_boss files", shared, group_setup, group_teardown);

	return failed + cmocka_run_group_tests_name("gen_boss", own, NULL, NULL);
}
