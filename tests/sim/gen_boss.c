/*
 * The BOSS batch-file generator. See gen_boss.h for what is written.
 *
 * Every entity is a pure function of (seed, tag, index): cust_make(),
 * user_make() and user_mod() rebuild a customer, a user or a user's
 * round-2 change from scratch, so each file is one streaming pass over the
 * indexes and nothing is kept between files. Each family of decisions has
 * its own stream tag, so a draw added to one never shifts another.
 */
#include "tests/sim/gen_boss.h"

#include "tests/sim/gen_boss_data.h"
#include "tests/sim/rng.h"
#include "tests/sim/stamp.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "storage/bossrec.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum gb_tag {
	TAG_SETUP = 1,
	TAG_CUST,
	TAG_CUST_TIME,
	TAG_CUST_MOD,
	TAG_USER,
	TAG_USER_MOD,
	TAG_PAY,
	TAG_PAY_DEL,
	TAG_PAY_DAY,
	TAG_CHG,
	TAG_BILL,
	TAG_BILL_MOD,
	TAG_CDR,
	TAG_CDR_DAY,
};

#define GB_DAY STAMP_DAY
#define GB_MONTH (30 * GB_DAY)
#define GB_CDR_MONTHS 6            /* CDRs are kept for 6 months */
#define GB_CUST_BASE 6600000000ULL /* cust_id = base + index + 1 */
#define GB_USER_BASE 8800000000ULL /* user_id = base + index + 1 */
#define GB_MSISDN_SUFFIXES 100000000ULL /* 8 digits after the prefix */
#define GB_OUT_CAP (1u << 20)
#define GB_FIELD_MAX 512           /* longest value written, bytes */
#define GB_MONTH_SLOTS 32          /* > GEN_BOSS_MONTHS_MAX: bill streams per user */

/* Shared, read-only state of one run. */
struct gb {
	const struct gen_boss_config *cfg;
	const struct gb_province *prov;
	uint64_t n, m;                 /* round-1 users and customers */
	uint64_t new_users, new_custs; /* added in round 2 */
	uint64_t cperm_a, cperm_b;     /* user -> customer permutation of [0, m) */
	uint64_t mspace;               /* prefixes * 10^8 numbers */
	uint64_t mperm_a, mperm_b;     /* user -> number permutation of [0, mspace) */
	int64_t epoch;                 /* earliest customer creation */
	int64_t t1, t2;                /* the stamps of rounds 1 and 2 */
	uint64_t pays1, chgs1;         /* round-1 totals; round-2 ids continue after them */
	int64_t month1;                /* stamp_month_index(t1) */
	char bill_month[GEN_BOSS_MONTHS_MAX + 1][7]; /* YYYYMM, [back] months before t1's */
};

/* ---- small string building: every buffer is sized for the longest value ---- */

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_init(struct sb *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	p[0] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	size_t n = strlen(s);

	assert(b->len + n < b->cap); /* buffers are sized for the longest value */
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* sb_num - v in decimal, zero-padded to width digits (0 = as needed). */
static void sb_num(struct sb *b, uint64_t v, unsigned width)
{
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	while (n < width && n < sizeof(tmp))
		tmp[n++] = '0';
	assert(b->len + n < b->cap);
	while (n)
		b->p[b->len++] = tmp[--n];
	b->p[b->len] = '\0';
}

/* sb_digits - count random digits, count <= 18. */
static void sb_digits(struct sb *b, struct rng *r, unsigned count)
{
	uint64_t space = 1;

	assert(count <= 18);
	for (unsigned i = 0; i < count; i++)
		space *= 10;
	sb_num(b, rng_below(r, space), count);
}

static const char *pick(struct rng *r, const struct gb_words *ws)
{
	uint64_t total = 0, x;

	for (unsigned i = 0; i < ws->n; i++)
		total += ws->w[i].weight;
	x = rng_below(r, total);
	for (unsigned i = 0; i < ws->n; i++) {
		if (x < ws->w[i].weight)
			return ws->w[i].text;
		x -= ws->w[i].weight;
	}
	return ws->w[ws->n - 1].text;
}

#define WEIGHTED(r, ...)                                                  \
	rng_weighted((r), (const unsigned[]){__VA_ARGS__},                \
		     (unsigned)(sizeof((const unsigned[]){__VA_ARGS__}) / sizeof(unsigned)))

/* ---- the record writer ---- */

struct gb_out {
	int fd;
	int err;          /* first write error, -errno */
	size_t len;
	uint64_t bytes, records;
	struct digest *dg;
	char buf[GB_OUT_CAP];
};

static void out_flush(struct gb_out *o)
{
	size_t off = 0;

	digest_update(o->dg, o->buf, o->len);
	while (off < o->len && !o->err) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);

		if (w < 0 && errno != EINTR)
			o->err = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	o->bytes += o->len;
	o->len = 0;
}

static void out_room(struct gb_out *o, size_t need)
{
	if (o->len + need > GB_OUT_CAP)
		out_flush(o);
}

static void out_op(struct gb_out *o, char op)
{
	out_room(o, 1);
	o->buf[o->len++] = op;
}

/* out_field - '|' and the value escaped by the parser's own rules. */
static void out_field(struct gb_out *o, const char *s, size_t len)
{
	assert(len <= GB_FIELD_MAX);
	out_room(o, 2 * len + 1);
	o->buf[o->len++] = '|';
	o->len += bossrec_escape(s, len, o->buf + o->len, GB_OUT_CAP - o->len);
}

static void out_str(struct gb_out *o, const char *s)
{
	out_field(o, s, strlen(s));
}

static void out_int(struct gb_out *o, int64_t v)
{
	char tmp[24];
	struct sb b;

	sb_init(&b, tmp, sizeof(tmp));
	if (v < 0)
		sb_add(&b, "-");
	sb_num(&b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 0);
	out_field(o, b.p, b.len);
}

static void out_time(struct gb_out *o, int64_t t)
{
	char s[STAMP_LEN + 1];

	stamp_format(t, s);
	out_field(o, s, STAMP_LEN);
}

static void out_end(struct gb_out *o)
{
	out_room(o, 1);
	o->buf[o->len++] = '\n';
	o->records++;
}

/* ---- identities ---- */

static void fmt_id(char *out, size_t cap, const char *prefix, uint64_t v, unsigned width)
{
	struct sb b;

	sb_init(&b, out, cap);
	sb_add(&b, prefix);
	sb_num(&b, v, width);
}

/* The check digit of a resident id number (ISO 7064 MOD 11-2). */
static char resident_check(const char *d17)
{
	static const unsigned w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	unsigned sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (unsigned)(d17[i] - '0') * w[i];
	return "10X98765432"[sum % 11];
}

/* area code, birth date 1950..2005, sequence, check digit */
static void resident_id(struct rng *r, const char *area, struct sb *b)
{
	char day[STAMP_LEN + 1], check[2] = "";
	int64_t lo = stamp_from_civil(1950, 1, 1, 0, 0, 0), hi = stamp_from_civil(2005, 12, 31, 0, 0, 0);

	stamp_format(rng_range(r, lo / GB_DAY, hi / GB_DAY) * GB_DAY, day);
	day[8] = '\0';
	sb_add(b, area);
	sb_add(b, day);
	sb_num(b, (uint64_t)rng_range(r, 1, 999), 3);
	check[0] = resident_check(b->p + b->len - 17);
	sb_add(b, check);
}

/* An enterprise's unified social credit code: 18 characters, the last a check. */
static void credit_code(struct rng *r, const char *area, struct sb *b)
{
	static const char set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const unsigned w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
	unsigned sum = 0, c;

	sb_add(b, "91");
	sb_add(b, area);
	for (int i = 0; i < 9; i++) {
		b->p[b->len++] = set[rng_below(r, 31)];
		b->p[b->len] = '\0';
	}
	for (int i = 0; i < 17; i++)
		sum += (unsigned)(strchr(set, b->p[b->len - 17 + i]) - set) * w[i];
	c = (31 - sum % 31) % 31;
	b->p[b->len++] = set[c];
	b->p[b->len] = '\0';
}

static void mobile_number(struct rng *r, struct sb *b)
{
	sb_add(b, gen_boss__msisdn_prefixes[rng_below(r, gen_boss__nmsisdn_prefixes)]);
	sb_digits(b, r, 8);
}

/* A landline: the area code and a local number, 11 or 12 digits in all. */
static void landline_number(struct rng *r, const struct gb_place *p, struct sb *b)
{
	sb_add(b, p->tel);
	sb_num(b, (uint64_t)rng_range(r, 2, 8), 1);
	sb_digits(b, r, strlen(p->tel) == 3 ? 7 : 6);
}

static const struct gb_place *random_place(const struct gb *g, struct rng *r)
{
	return &g->prov->places[rng_below(r, g->prov->nplaces)];
}

/* ---- customers ---- */

struct gb_cust {
	char id[24];
	char name[96];
	const char *type;
	const char *id_type;
	char id_no[24];
	char addr[256];
	char phone[24];
	unsigned vip;
	char manager[16];
	int64_t create;
};

static int64_t cust_create(const struct gb *g, uint64_t c)
{
	struct rng r;

	rng_init(&r, g->cfg->seed, TAG_CUST_TIME, c);
	if (c < g->m)
		return rng_range(&r, g->epoch, g->t1 - 60 * GB_DAY);
	return rng_range(&r, g->t1 + 60, g->t1 + GB_DAY / 2);
}

/* province, city, district, road, section, number; some with a building
 * after a '|' or a backslash, which the writer must escape */
static void address(const struct gb *g, struct rng *r, const struct gb_place *p, struct sb *b)
{
	unsigned extra = (unsigned)rng_below(r, 1000);

	sb_add(b, g->prov->name);
	sb_add(b, p->city);
	sb_add(b, p->district);
	sb_add(b, pick(r, &gen_boss__roads));
	if (rng_chance(r, 300)) {
		sb_num(b, (uint64_t)rng_range(r, 1, 4), 0);
		sb_add(b, "段");
	}
	sb_num(b, (uint64_t)rng_range(r, 1, 388), 0);
	sb_add(b, "号");
	if (extra < 250) {
		if (extra < 30)
			sb_add(b, "|");
		else if (extra < 40)
			sb_add(b, "\\");
		sb_add(b, pick(r, &gen_boss__buildings));
	}
}

static void cust_make(const struct gb *g, uint64_t c, struct gb_cust *o)
{
	const struct gb_place *p;
	struct rng r;
	struct sb b;

	rng_init(&r, g->cfg->seed, TAG_CUST, c);
	p = random_place(g, &r);
	fmt_id(o->id, sizeof(o->id), "", GB_CUST_BASE + c + 1, 0);
	sb_init(&b, o->name, sizeof(o->name));
	if (rng_chance(&r, 50)) {
		o->type = "E";
		o->id_type = "BL";
		sb_add(&b, p->city_short);
		sb_add(&b, pick(&r, &gen_boss__firm_words));
		sb_add(&b, pick(&r, &gen_boss__trades));
		sb_add(&b, "有限公司");
		sb_init(&b, o->id_no, sizeof(o->id_no));
		credit_code(&r, p->area_code, &b);
		o->vip = WEIGHTED(&r, 300, 250, 250, 120, 80);
	} else {
		o->type = "P";
		o->id_type = "ID";
		sb_add(&b, pick(&r, &gen_boss__surnames));
		sb_add(&b, pick(&r, &gen_boss__given));
		if (rng_chance(&r, 650))
			sb_add(&b, pick(&r, &gen_boss__given));
		sb_init(&b, o->id_no, sizeof(o->id_no));
		resident_id(&r, p->area_code, &b);
		o->vip = WEIGHTED(&r, 700, 150, 90, 40, 20);
	}
	sb_init(&b, o->addr, sizeof(o->addr));
	address(g, &r, p, &b);
	sb_init(&b, o->phone, sizeof(o->phone));
	if (rng_chance(&r, 850))
		mobile_number(&r, &b);
	else
		landline_number(&r, p, &b);
	o->manager[0] = '\0';
	if (o->vip > 0)
		fmt_id(o->manager, sizeof(o->manager), "MGR", (uint64_t)rng_range(&r, 1, 300), 4);
	o->create = cust_create(g, c);
}

static void cust_write(struct gb_out *o, char op, const struct gb_cust *c)
{
	out_op(o, op);
	out_str(o, c->id);
	out_str(o, c->name);
	out_str(o, c->type);
	out_str(o, c->id_type);
	out_str(o, c->id_no);
	out_str(o, c->addr);
	out_str(o, c->phone);
	out_int(o, c->vip);
	out_str(o, c->manager);
	out_time(o, c->create);
	out_end(o);
}

static void cust_round1(const struct gb *g, struct gb_out *o)
{
	struct gb_cust c;

	for (uint64_t i = 0; i < g->m; i++) {
		cust_make(g, i, &c);
		cust_write(o, 'A', &c);
	}
}

/* Round 2: a moved address, a new phone or a new card level for ~2% of
 * customers, then the customers of the day's new users. */
static void cust_round2(const struct gb *g, struct gb_out *o)
{
	struct gb_cust c;
	struct rng r;
	struct sb b;

	for (uint64_t i = 0; i < g->m; i++) {
		rng_init(&r, g->cfg->seed, TAG_CUST_MOD, i);
		if (!rng_chance(&r, 20))
			continue;
		cust_make(g, i, &c);
		switch (WEIGHTED(&r, 40, 30, 30)) {
		case 0:
			sb_init(&b, c.addr, sizeof(c.addr));
			address(g, &r, random_place(g, &r), &b);
			break;
		case 1:
			sb_init(&b, c.phone, sizeof(c.phone));
			mobile_number(&r, &b);
			break;
		default:
			c.vip = c.vip < 4 ? c.vip + 1 : 3;
			fmt_id(c.manager, sizeof(c.manager), "MGR", (uint64_t)rng_range(&r, 1, 300), 4);
			break;
		}
		cust_write(o, 'M', &c);
	}
	for (uint64_t i = g->m; i < g->m + g->new_custs; i++) {
		cust_make(g, i, &c);
		cust_write(o, 'A', &c);
	}
}

/* ---- users ---- */

struct gb_user {
	uint64_t idx;
	char id[24];
	char msisdn[16];
	char cust_id[24];
	const struct gb_plan *plan;
	unsigned status, credit;
	int64_t open, balance, arrears;
	int64_t open_month;    /* stamp_month_index(open) */
};

static void user_id(uint64_t u, char *out, size_t cap)
{
	fmt_id(out, cap, "", GB_USER_BASE + u + 1, 0);
}

/* Distinct for every index: a permutation of all prefix-suffix pairs. */
static void user_msisdn(const struct gb *g, uint64_t u, char *out, size_t cap)
{
	uint64_t x = (g->mperm_a * u + g->mperm_b) % g->mspace;
	struct sb b;

	sb_init(&b, out, cap);
	sb_add(&b, gen_boss__msisdn_prefixes[x / GB_MSISDN_SUFFIXES]);
	sb_num(&b, x % GB_MSISDN_SUFFIXES, 8);
}

static const struct gb_plan *pick_plan(struct rng *r)
{
	uint64_t total = 0, x;

	for (unsigned i = 0; i < gen_boss__nplans; i++)
		total += gen_boss__plans[i].weight;
	x = rng_below(r, total);
	for (unsigned i = 0; i < gen_boss__nplans; i++) {
		if (x < gen_boss__plans[i].weight)
			return &gen_boss__plans[i];
		x -= gen_boss__plans[i].weight;
	}
	return &gen_boss__plans[gen_boss__nplans - 1];
}

/* Users below min(n, m) get distinct customers, so every customer of
 * round 1 holds a user when there are enough; the rest share. A round-2
 * user belongs to a new customer or to an existing one. */
static void user_make(const struct gb *g, uint64_t u, struct gb_user *o)
{
	uint64_t cust;
	int64_t cc;
	struct rng r;

	rng_init(&r, g->cfg->seed, TAG_USER, u);
	if (u < g->n)
		cust = u < g->m ? (g->cperm_a * u + g->cperm_b) % g->m : rng_below(&r, g->m);
	else if (u - g->n < g->new_custs)
		cust = g->m + (u - g->n);
	else
		cust = rng_below(&r, g->m);
	o->idx = u;
	user_id(u, o->id, sizeof(o->id));
	user_msisdn(g, u, o->msisdn, sizeof(o->msisdn));
	fmt_id(o->cust_id, sizeof(o->cust_id), "", GB_CUST_BASE + cust + 1, 0);
	o->plan = pick_plan(&r);
	o->credit = WEIGHTED(&r, 5, 10, 25, 30, 20, 10);
	cc = cust_create(g, cust);
	if (u >= g->n) {
		o->open = rng_range(&r, (cc > g->t1 ? cc : g->t1) + 60, g->t2 - 600);
		o->status = 1;
		o->balance = rng_range(&r, 0, 100) * 100;
		o->arrears = 0;
		o->open_month = stamp_month_index(o->open);
		return;
	}
	o->open = rng_range(&r, cc + 3600, g->t1 - 2 * GB_DAY);
	o->open_month = stamp_month_index(o->open);
	o->status = 1 + WEIGHTED(&r, 880, 50, 50, 20);
	o->arrears = 0;
	if (o->status == 3) {
		o->arrears = rng_range(&r, 500, 30000);
		o->balance = -o->arrears;
	} else if (o->status == 4) {
		o->balance = 0;
	} else {
		o->balance = rng_range(&r, -2000, 30000);
	}
}

static void user_write(struct gb_out *o, char op, const struct gb_user *u)
{
	out_op(o, op);
	out_str(o, u->id);
	out_str(o, u->msisdn);
	out_str(o, u->cust_id);
	out_str(o, u->plan->brand);
	out_str(o, u->plan->plan_id);
	out_int(o, u->status);
	out_time(o, u->open);
	out_int(o, u->credit);
	out_int(o, u->balance);
	out_int(o, u->arrears);
	out_end(o);
}

enum gb_mod { MOD_NONE, MOD_PLAN, MOD_STATUS, MOD_BALANCE };

/* A user's change of round 2 and the payment behind it, if any. */
struct gb_umod {
	enum gb_mod kind;
	struct gb_user after;
	int64_t time;
	int64_t pay;           /* fen paid 30 s before time; 0 = none */
	unsigned channel;
};

static const char *const gb_channels[] = {"HALL", "WEB", "APP", "BANK", "CARD"};
static const unsigned gb_channel_weights[] = {20, 15, 40, 15, 10};

static unsigned pick_channel(struct rng *r)
{
	return rng_weighted(r, gb_channel_weights, GB_COUNT(gb_channel_weights));
}

static const int64_t gb_pay_amounts[] = {1000, 2000, 3000, 5000, 10000, 20000, 30000, 50000};
static const unsigned gb_pay_weights[] = {5, 10, 10, 25, 25, 15, 6, 4};

static int64_t pick_amount(struct rng *r)
{
	return gb_pay_amounts[rng_weighted(r, gb_pay_weights, GB_COUNT(gb_pay_weights))];
}

/* Settle arrears: back to normal with the arrears paid and something over. */
static void mod_settle(struct rng *r, const struct gb_user *b, struct gb_umod *m)
{
	m->kind = MOD_STATUS;
	m->pay = b->arrears + rng_range(r, 0, 50) * 100;
	m->after.status = 1;
	m->after.balance = b->balance + m->pay;
	m->after.arrears = 0;
}

static void user_mod(const struct gb *g, const struct gb_user *b, struct gb_umod *m)
{
	struct rng r;

	rng_init(&r, g->cfg->seed, TAG_USER_MOD, b->idx);
	m->kind = MOD_NONE;
	m->after = *b;
	m->pay = 0;
	if (b->idx >= g->n || b->status == 4 || !rng_chance(&r, 50))
		return;
	m->time = rng_range(&r, g->t1 + 120, g->t2 - 600);
	m->channel = pick_channel(&r);
	switch (WEIGHTED(&r, 45, 30, 25)) {
	case 0: {
		unsigned cur = (unsigned)(b->plan - gen_boss__plans);

		m->kind = MOD_PLAN;
		m->after.plan = &gen_boss__plans[(cur + 1 + rng_below(&r, gen_boss__nplans - 1)) %
						 gen_boss__nplans];
		break;
	}
	case 1:
		if (b->status == 3) {
			mod_settle(&r, b, m);
			break;
		}
		m->kind = MOD_STATUS;
		m->after.status = b->status == 2 ? 1 : 2 + WEIGHTED(&r, 50, 35, 15);
		if (m->after.status == 3) {
			m->after.arrears = rng_range(&r, 500, 30000);
			m->after.balance = -m->after.arrears;
		} else if (m->after.status == 4) {
			m->after.balance = 0;
		}
		break;
	default:
		if (b->status == 3) {
			mod_settle(&r, b, m);
		} else if (rng_chance(&r, 500)) {
			m->kind = MOD_BALANCE;
			m->pay = pick_amount(&r);
			m->after.balance = b->balance + m->pay;
		} else {
			m->kind = MOD_BALANCE;
			m->after.balance = b->balance - rng_range(&r, 100, 3000);
		}
		break;
	}
}

static void user_round1(const struct gb *g, struct gb_out *o)
{
	struct gb_user u;

	for (uint64_t i = 0; i < g->n; i++) {
		user_make(g, i, &u);
		user_write(o, 'A', &u);
	}
}

static void user_round2(const struct gb *g, struct gb_out *o)
{
	struct gb_user u;
	struct gb_umod m;

	for (uint64_t i = 0; i < g->n; i++) {
		user_make(g, i, &u);
		user_mod(g, &u, &m);
		if (m.kind != MOD_NONE)
			user_write(o, 'M', &m.after);
	}
	for (uint64_t i = g->n; i < g->n + g->new_users; i++) {
		user_make(g, i, &u);
		user_write(o, 'A', &u);
	}
}

/* ---- payments ---- */

static unsigned pay_count(const struct gb *g, uint64_t u, struct rng *r)
{
	rng_init(r, g->cfg->seed, TAG_PAY, u);
	return WEIGHTED(r, 25, 35, 25, 15);
}

static void pay_write(struct gb_out *o, uint64_t seq, const char *user, int64_t amount,
		      int64_t t, unsigned channel)
{
	char id[24];

	fmt_id(id, sizeof(id), "PY", seq, 10);
	out_op(o, 'A');
	out_str(o, id);
	out_str(o, user);
	out_int(o, amount);
	out_time(o, t);
	out_str(o, gb_channels[channel]);
	out_end(o);
}

static int64_t window_lo(const struct gb *g, int64_t open, unsigned months)
{
	int64_t lo = g->t1 - (int64_t)months * GB_MONTH;

	return open > lo ? open : lo;
}

static void pay_round1(const struct gb *g, struct gb_out *o)
{
	uint64_t seq = 1;
	struct gb_user u;
	struct rng r;

	for (uint64_t i = 0; i < g->n; i++) {
		unsigned k = pay_count(g, i, &r);
		int64_t lo;

		if (!k)
			continue;
		user_make(g, i, &u);
		lo = window_lo(g, u.open, g->cfg->months);
		while (k--) {
			int64_t t = rng_range(&r, lo, g->t1 - 3600);
			int64_t amount = pick_amount(&r);

			pay_write(o, seq++, u.id, amount, t, pick_channel(&r));
		}
	}
}

/* Round 2: reversals (D) of ~0.5% of earlier payments, the payments behind
 * the USER changes, ~2% other payments of the day, and deposits of most
 * new users. Round-1 ids are recounted, not remembered. */
static void pay_round2(const struct gb *g, struct gb_out *o)
{
	uint64_t old = 1, seq = g->pays1 + 1;
	struct gb_user u;
	struct gb_umod m;
	struct rng r;
	char id[24];

	for (uint64_t i = 0; i < g->n; i++) {
		unsigned k = pay_count(g, i, &r);

		rng_init(&r, g->cfg->seed, TAG_PAY_DEL, i);
		for (unsigned j = 0; j < k; j++, old++) {
			if (!rng_chance(&r, 5))
				continue;
			fmt_id(id, sizeof(id), "PY", old, 10);
			out_op(o, 'D');
			out_str(o, id);
			out_end(o);
		}
		user_make(g, i, &u);
		user_mod(g, &u, &m);
		if (m.pay)
			pay_write(o, seq++, u.id, m.pay, m.time - 30, m.channel);
		rng_init(&r, g->cfg->seed, TAG_PAY_DAY, i);
		if (u.status != 4 && m.after.status != 4 && rng_chance(&r, 20)) {
			int64_t t = rng_range(&r, g->t1 + 60, g->t2 - 600);
			int64_t amount = pick_amount(&r);

			pay_write(o, seq++, u.id, amount, t, pick_channel(&r));
		}
	}
	for (uint64_t i = g->n; i < g->n + g->new_users; i++) {
		rng_init(&r, g->cfg->seed, TAG_PAY_DAY, i);
		if (!rng_chance(&r, 700))
			continue;
		user_make(g, i, &u);
		pay_write(o, seq++, u.id, pick_amount(&r), u.open + rng_range(&r, 30, 300),
			  pick_channel(&r));
	}
}

/* ---- changes ---- */

static void detail_plan(struct rng *r, const struct gb_user *u, struct sb *b)
{
	sb_add(b, "套餐变更:");
	sb_add(b, gen_boss__plans[rng_below(r, gen_boss__nplans)].plan_id);
	sb_add(b, "->");
	sb_add(b, u->plan->plan_id);
}

static void detail_status(struct rng *r, const struct gb_user *u, struct sb *b)
{
	static const char *const flips[] = {"1->2", "2->1", "1->3", "3->1"};

	(void)u;
	sb_add(b, "状态变更:");
	sb_add(b, flips[rng_below(r, GB_COUNT(flips))]);
}

static void detail_owner(struct rng *r, const struct gb_user *u, struct sb *b)
{
	(void)u;
	sb_add(b, "过户:原客户");
	sb_num(b, GB_CUST_BASE + 1 + rng_below(r, 1000000), 0);
}

static void detail_number(struct rng *r, const struct gb_user *u, struct sb *b)
{
	(void)u;
	sb_add(b, "改号:原号码");
	mobile_number(r, b);
}

static void detail_service(struct rng *r, const struct gb_user *u, struct sb *b)
{
	(void)u;
	sb_add(b, rng_chance(r, 700) ? "开通:" : "取消:");
	sb_add(b, pick(r, &gen_boss__services));
}

static const struct {
	const char *type;
	unsigned weight;
	void (*detail)(struct rng *r, const struct gb_user *u, struct sb *b);
} gb_chg_types[] = {
	{"PLAN", 40, detail_plan},     {"STATUS", 20, detail_status},
	{"OWNER", 5, detail_owner},    {"NUMBER", 5, detail_number},
	{"SERVICE", 30, detail_service},
};

static unsigned chg_count(const struct gb *g, uint64_t u, struct rng *r)
{
	rng_init(r, g->cfg->seed, TAG_CHG, u);
	return WEIGHTED(r, 60, 30, 10);
}

static void chg_write(struct gb_out *o, uint64_t seq, const char *user, const char *type,
		      int64_t t, const char *detail)
{
	char id[24];

	fmt_id(id, sizeof(id), "CH", seq, 10);
	out_op(o, 'A');
	out_str(o, id);
	out_str(o, user);
	out_str(o, type);
	out_time(o, t);
	out_str(o, detail);
	out_end(o);
}

static void chg_round1(const struct gb *g, struct gb_out *o)
{
	unsigned weights[GB_COUNT(gb_chg_types)];
	uint64_t seq = 1;
	struct gb_user u;
	struct rng r;
	char detail[128];
	struct sb b;

	for (unsigned i = 0; i < GB_COUNT(gb_chg_types); i++)
		weights[i] = gb_chg_types[i].weight;
	for (uint64_t i = 0; i < g->n; i++) {
		unsigned k = chg_count(g, i, &r);

		if (!k)
			continue;
		user_make(g, i, &u);
		while (k--) {
			unsigned t = rng_weighted(&r, weights, GB_COUNT(weights));
			int64_t when = rng_range(&r, u.open + 60, g->t1 - 3600);

			sb_init(&b, detail, sizeof(detail));
			gb_chg_types[t].detail(&r, &u, &b);
			chg_write(o, seq++, u.id, gb_chg_types[t].type, when, detail);
		}
	}
}

/* Round 2: one change record for each plan or status change of USER_000002. */
static void chg_round2(const struct gb *g, struct gb_out *o)
{
	uint64_t seq = g->chgs1 + 1;
	struct gb_user u;
	struct gb_umod m;
	char detail[128];
	struct sb b;

	for (uint64_t i = 0; i < g->n; i++) {
		user_make(g, i, &u);
		user_mod(g, &u, &m);
		if (m.kind != MOD_PLAN && m.kind != MOD_STATUS)
			continue;
		sb_init(&b, detail, sizeof(detail));
		if (m.kind == MOD_PLAN) {
			sb_add(&b, "套餐变更:");
			sb_add(&b, u.plan->plan_id);
			sb_add(&b, "->");
			sb_add(&b, m.after.plan->plan_id);
		} else {
			sb_add(&b, "状态变更:");
			sb_num(&b, u.status, 0);
			sb_add(&b, "->");
			sb_num(&b, m.after.status, 0);
		}
		chg_write(o, seq++, u.id, m.kind == MOD_PLAN ? "PLAN" : "STATUS", m.time, detail);
	}
}

/* ---- bills ---- */

/* The items of user u's bill `back` months before the round-1 month:
 * amount[i] for gen_boss__bill_items[i], present[i] whether it is billed.
 * Returns false when the user was not open yet in that month. */
static bool bill_items(const struct gb *g, const struct gb_user *u, unsigned back,
		       int64_t *amount, bool *present)
{
	struct rng r;

	if (u->open_month > g->month1 - back)
		return false;
	rng_init(&r, g->cfg->seed, TAG_BILL, u->idx * GB_MONTH_SLOTS + back);
	for (unsigned i = 0; i < gen_boss__nbill_items; i++) {
		const struct gb_bill_item *it = &gen_boss__bill_items[i];

		present[i] = rng_chance(&r, it->permille);
		amount[i] = it->min == it->max ? u->plan->fee : rng_range(&r, it->min, it->max);
	}
	return true;
}

static void bill_write(struct gb_out *o, char op, const struct gb *g, const struct gb_user *u,
		       unsigned back, unsigned item, int64_t amount)
{
	out_op(o, op);
	out_str(o, u->id);
	out_field(o, g->bill_month[back], 6);
	out_str(o, gen_boss__bill_items[item].code);
	out_str(o, gen_boss__bill_items[item].name);
	out_int(o, amount);
	out_end(o);
}

static void bill_round1(const struct gb *g, struct gb_out *o)
{
	int64_t amount[16];
	bool present[16];
	struct gb_user u;

	assert(gen_boss__nbill_items <= 16);
	for (uint64_t i = 0; i < g->n; i++) {
		user_make(g, i, &u);
		for (unsigned back = g->cfg->months; back >= 1; back--) {
			if (!bill_items(g, &u, back, amount, present))
				continue;
			for (unsigned k = 0; k < gen_boss__nbill_items; k++)
				if (present[k])
					bill_write(o, 'A', g, &u, back, k, amount[k]);
		}
	}
}

/* Round 2: ~1% of users get one item of last month's bill re-rated down. */
static void bill_round2(const struct gb *g, struct gb_out *o)
{
	int64_t amount[16];
	bool present[16];
	struct gb_user u;
	struct rng r;

	for (uint64_t i = 0; i < g->n; i++) {
		unsigned k;

		rng_init(&r, g->cfg->seed, TAG_BILL_MOD, i);
		if (!rng_chance(&r, 10))
			continue;
		user_make(g, i, &u);
		if (!bill_items(g, &u, 1, amount, present))
			continue;
		k = (unsigned)rng_below(&r, gen_boss__nbill_items);
		while (!present[k])
			k = (k + 1) % gen_boss__nbill_items; /* RENT is always there */
		bill_write(o, 'M', g, &u, 1, k, amount[k] * rng_range(&r, 50, 90) / 100);
	}
}

/* ---- call detail records ---- */

enum gb_call { CALL_MO, CALL_MT, CALL_SMS, CALL_DATA };

static void cdr_write(const struct gb *g, struct gb_out *o, struct rng *r, const struct gb_user *u,
		      int64_t t)
{
	static const char *const types[] = {"MO", "MT", "SMS", "DATA"};
	static const char *const services[] = {"10086", "10010", "95588", "12345", "114"};
	unsigned type = WEIGHTED(r, 35, 30, 20, 15);
	bool roaming = rng_chance(r, 100);
	char other[40], loc[64];
	int64_t dur, fee;
	struct sb b;

	sb_init(&b, other, sizeof(other));
	if (type == CALL_DATA) {
		sb_add(&b, rng_chance(r, 950) ? "CMNET" : "CMWAP");
		dur = rng_range(r, 60, 7200);
		fee = rng_range(r, 0, 300);
	} else if (type == CALL_SMS) {
		if (rng_chance(r, 800)) {
			mobile_number(r, &b);
		} else {
			sb_add(&b, "106575");
			sb_digits(&b, r, 6);
		}
		dur = 0;
		fee = 10;
	} else {
		unsigned who = WEIGHTED(r, 70, 20, 10);

		if (who == 0)
			mobile_number(r, &b);
		else if (who == 1)
			landline_number(r, random_place(g, r), &b);
		else
			sb_add(&b, services[rng_below(r, GB_COUNT(services))]);
		dur = WEIGHTED(r, 60, 30, 10) == 0 ? rng_range(r, 5, 180) : rng_range(r, 180, 3600);
		fee = (dur + 59) / 60 * (type == CALL_MO ? (roaming ? 60 : 15) : (roaming ? 40 : 0));
	}
	sb_init(&b, loc, sizeof(loc));
	if (roaming) {
		sb_add(&b, pick(r, &gen_boss__roaming));
	} else {
		const struct gb_place *p = random_place(g, r);

		sb_add(&b, p->city);
		sb_add(&b, p->district);
	}
	out_op(o, 'A');
	out_str(o, u->id);
	out_time(o, t);
	out_int(o, dur);
	out_str(o, other);
	out_str(o, types[type]);
	out_str(o, loc);
	out_int(o, fee);
	out_end(o);
}

/* count calls in [lo, hi), one per equal slot, so start times are distinct
 * and the key (user, start_time, other_party) is unique */
static void cdr_spread(const struct gb *g, struct gb_out *o, struct rng *r, const struct gb_user *u,
		       int64_t lo, int64_t hi, unsigned count)
{
	int64_t slot = (hi - lo) / count;

	assert(slot >= 1);
	for (unsigned k = 0; k < count; k++)
		cdr_write(g, o, r, u, lo + k * slot + rng_range(r, 0, slot - 1));
}

static void cdr_round1(const struct gb *g, struct gb_out *o)
{
	unsigned months = g->cfg->months < GB_CDR_MONTHS ? g->cfg->months : GB_CDR_MONTHS;
	unsigned count = g->cfg->cdrs_per_user;
	struct gb_user u;
	struct rng r;

	if (!count)
		return;
	for (uint64_t i = 0; i < g->n; i++) {
		user_make(g, i, &u);
		rng_init(&r, g->cfg->seed, TAG_CDR, i);
		cdr_spread(g, o, &r, &u, window_lo(g, u.open + 60, months), g->t1 - 60, count);
	}
}

/* Round 2: the day's calls of ~30% of the users still in service and of
 * most new users, all after the round-1 stamp. */
static void cdr_round2(const struct gb *g, struct gb_out *o)
{
	struct gb_user u;
	struct gb_umod m;
	struct rng r;

	for (uint64_t i = 0; i < g->n + g->new_users; i++) {
		rng_init(&r, g->cfg->seed, TAG_CDR_DAY, i);
		if (!rng_chance(&r, i < g->n ? 300 : 600))
			continue;
		user_make(g, i, &u);
		user_mod(g, &u, &m);
		if (u.status == 4 || m.after.status == 4)
			continue;
		cdr_spread(g, o, &r, &u, (u.open > g->t1 ? u.open : g->t1) + 60, g->t2 - 60,
			   (unsigned)rng_range(&r, 1, 3));
	}
}

/* ---- files ---- */

static const struct {
	void (*round[2])(const struct gb *g, struct gb_out *o);
} gb_kinds[BOSS_KIND_COUNT] = {
	[BOSS_CUST] = {{cust_round1, cust_round2}}, [BOSS_USER] = {{user_round1, user_round2}},
	[BOSS_PAY] = {{pay_round1, pay_round2}},    [BOSS_CHG] = {{chg_round1, chg_round2}},
	[BOSS_BILL] = {{bill_round1, bill_round2}}, [BOSS_CDR] = {{cdr_round1, cdr_round2}},
};

static int fail(char *why, size_t whylen, int rc, const char *what, const char *path)
{
	if (why && whylen)
		snprintf(why, whylen, "%s %s: %s", what, path, kf_strerror(rc));
	return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno != EINTR)
			return -errno;
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		}
	}
	return 0;
}

/* The .chk goes in under a temporary name and is renamed into place, so a
 * reader never sees half of it. */
static int chk_write(const char *dir, const char *name, const struct gb_out *o, const char *sha,
		     char *why, size_t whylen)
{
	char line[BOSS_NAME_MAX + 128], tmp[PATH_MAX], path[PATH_MAX];
	int n, fd, rc;

	n = snprintf(line, sizeof(line), "%s|%llu|%llu|%s\n", name, (unsigned long long)o->records,
		     (unsigned long long)o->bytes, sha);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%.*s.chk.tmp", dir, (int)(strlen(name) - 4), name) >=
		    (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%.*s.chk", dir, (int)(strlen(name) - 4), name) >=
		    (int)sizeof(path))
		return fail(why, whylen, -ENAMETOOLONG, "write", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(why, whylen, -errno, "create", tmp);
	rc = write_all(fd, line, (size_t)n);
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return fail(why, whylen, rc, "write", path);
	}
	return 0;
}

static int file_write(const struct gb *g, struct gb_out *o, enum boss_kind kind, unsigned round,
		      gen_boss_wrote_fn wrote, void *arg, char *why, size_t whylen)
{
	const char *dir = g->cfg->out_dir;
	char stamp[STAMP_LEN + 1], name[BOSS_NAME_MAX + 1], path[PATH_MAX], sha[DIGEST_SHA256_HEX + 1];
	int rc;

	stamp_format(round == 1 ? g->t1 : g->t2, stamp);
	snprintf(name, sizeof(name), "%s_%s_%s_%06u.dat", g->cfg->prov, boss_kind_name(kind), stamp,
		 round);
	if (snprintf(path, sizeof(path), "%s/%.*s.chk", dir, (int)(strlen(name) - 4), name) >=
	    (int)sizeof(path))
		return fail(why, whylen, -ENAMETOOLONG, "write", dir);
	if (unlink(path) != 0 && errno != ENOENT)
		return fail(why, whylen, -errno, "remove", path);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return fail(why, whylen, -errno, "create", path);
	o->err = 0;
	o->len = 0;
	o->bytes = o->records = 0;
	gb_kinds[kind].round[round - 1](g, o);
	out_flush(o);
	digest_final_hex(o->dg, sha);
	if (close(o->fd) != 0 && !o->err)
		o->err = -errno;
	if (o->err)
		return fail(why, whylen, o->err, "write", path);
	rc = chk_write(dir, name, o, sha, why, whylen);
	if (rc)
		return rc;
	if (wrote)
		wrote(arg, name, o->records);
	return 0;
}

/* mkdir -p: every missing folder of dir. */
static int dir_make(const char *dir, char *why, size_t whylen)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	struct stat st;

	if (len == 0 || len >= sizeof(path))
		return fail(why, whylen, -ENAMETOOLONG, "create", dir);
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return fail(why, whylen, -errno, "create", path);
		path[i] = dir[i];
	}
	if (stat(dir, &st) != 0)
		return fail(why, whylen, -errno, "create", dir);
	if (!S_ISDIR(st.st_mode))
		return fail(why, whylen, -ENOTDIR, "create", dir);
	return 0;
}

void gen_boss_config_init(struct gen_boss_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->prov, "SC", 3);
	cfg->seed = 1;
	cfg->months = 3;
	cfg->cdrs_per_user = 5;
	stamp_parse(GEN_BOSS_START_DEFAULT, &cfg->start);
	cfg->kinds = GEN_BOSS_ALL_KINDS;
	cfg->changes = true;
}

static bool prov_ok(const char *p)
{
	size_t n = strnlen(p, BOSS_PROV_MAX + 1);

	if (n < 2 || n > BOSS_PROV_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
			return false;
	return true;
}

static int config_check(const struct gen_boss_config *c, char *why, size_t whylen)
{
	const char *bad = NULL;
	int64_t lo, hi;

	stamp_parse(GEN_BOSS_START_MIN, &lo);
	stamp_parse("99991230000000", &hi);
	if (!c->out_dir || !c->out_dir[0])
		bad = "an output folder is needed";
	else if (!prov_ok(c->prov))
		bad = "the province code must be 2 to 8 of A-Z and 0-9";
	else if (c->users < 1 || c->users > GEN_BOSS_USERS_MAX)
		bad = "users must be in 1..50000000";
	else if (c->custs > GEN_BOSS_CUSTS_MAX)
		bad = "custs must be in 1..50000000";
	else if (c->months < 1 || c->months > GEN_BOSS_MONTHS_MAX)
		bad = "months must be in 1..24";
	else if (c->cdrs_per_user > GEN_BOSS_CDRS_MAX)
		bad = "cdrs per user must be in 0..1000";
	else if (c->start < lo || c->start > hi)
		bad = "start must be from 20050101000000 to 99991229235959";
	else if (!c->kinds || (c->kinds & ~GEN_BOSS_ALL_KINDS))
		bad = "no valid kind selected";
	if (!bad)
		return 0;
	if (why && whylen)
		snprintf(why, whylen, "%s", bad);
	return KF_ECONFIG;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void gb_setup(struct gb *g, const struct gen_boss_config *cfg)
{
	struct rng r;

	memset(g, 0, sizeof(*g));
	g->cfg = cfg;
	g->prov = gen_boss__province(cfg->prov);
	g->n = cfg->users;
	g->m = cfg->custs ? cfg->custs : (cfg->users * 4 + 4) / 5;
	g->new_users = g->n / 200 ? g->n / 200 : 1;
	g->new_custs = (g->new_users + 1) / 2;
	g->t1 = cfg->start;
	g->t2 = cfg->start + GB_DAY;
	g->epoch = stamp_from_civil(2003, 1, 1, 0, 0, 0);
	g->month1 = stamp_month_index(g->t1);
	for (unsigned back = 0; back <= GEN_BOSS_MONTHS_MAX; back++)
		stamp_month(stamp_month_start(g->month1 - back), g->bill_month[back]);
	rng_init(&r, cfg->seed, TAG_SETUP, 0);
	g->cperm_a = 1 + rng_below(&r, g->m);
	while (gcd(g->cperm_a, g->m) != 1)
		g->cperm_a = g->cperm_a % g->m + 1;
	g->cperm_b = rng_below(&r, g->m);
	g->mspace = gen_boss__nmsisdn_prefixes * GB_MSISDN_SUFFIXES;
	g->mperm_a = 1 + rng_below(&r, g->mspace - 1);
	while (gcd(g->mperm_a, g->mspace) != 1)
		g->mperm_a = g->mperm_a % (g->mspace - 1) + 1;
	g->mperm_b = rng_below(&r, g->mspace);
}

/* The round-1 totals of payments and changes, for the ids of round 2. */
static void gb_count(struct gb *g)
{
	struct rng r;

	for (uint64_t i = 0; i < g->n; i++) {
		g->pays1 += pay_count(g, i, &r);
		g->chgs1 += chg_count(g, i, &r);
	}
}

int gen_boss_run(const struct gen_boss_config *cfg, gen_boss_wrote_fn wrote, void *arg,
		 char *why, size_t whylen)
{
	struct gb g;
	struct gb_out *o;
	int rc;

	rc = config_check(cfg, why, whylen);
	if (rc)
		return rc;
	rc = dir_make(cfg->out_dir, why, whylen);
	if (rc)
		return rc;
	gb_setup(&g, cfg);
	if (cfg->changes && (cfg->kinds & ((1u << BOSS_PAY) | (1u << BOSS_CHG))))
		gb_count(&g);
	o = malloc(sizeof(*o));
	if (!o)
		abort();
	o->dg = digest_sha256_new();
	for (unsigned round = 1; round <= (cfg->changes ? 2u : 1u) && !rc; round++)
		for (unsigned k = 0; k < BOSS_KIND_COUNT && !rc; k++)
			if (cfg->kinds & (1u << k))
				rc = file_write(&g, o, (enum boss_kind)k, round, wrote, arg, why,
						whylen);
	digest_free(o->dg);
	free(o);
	return rc;
}
