/*
 * Unit tests of storage/custdb.c: the A/M/D rules of each kind, reference
 * and uniqueness checks, secondary indexes, a user's cascading deletion,
 * lookups, retention pruning and month arithmetic. Each test works on a
 * fresh store in its own temporary directory.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/bossrec.h"
#include "storage/custdb.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/unit/support/bossfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fixture {
	char dir[64];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bossfile_tmpdir("custdb", f->dir, sizeof(f->dir)), 0);
	assert_int_equal(store_open(f->dir, NULL, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	bossfile_rmtree(f->dir);
	free(f);
	return 0;
}

/* ---- applying records ---- */

/* Newline-separated records of one kind, applied one after the other in a
 * single transaction, the way the importer does it. */
struct lines_job {
	enum boss_kind kind;
	const char *text;
	struct bossrec *rec;
	struct batch *b;
	struct custdb_reject rj;
};

static int body_lines(struct store_txn *t, void *arg)
{
	struct lines_job *j = arg;
	const char *p = j->text;
	int r = 0;

	batch_reset(j->b);
	while (r == 0 && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t from = batch_count(j->b);
		struct bossrec_error perr;

		r = bossrec_parse(j->kind, p, len, j->rec, &perr);
		if (r) {
			print_error("test data does not parse: %.*s: %s\n", (int)len, p,
				    perr.reason);
			return KF_EINTERNAL;
		}
		r = custdb_record(t, j->rec, j->b, &j->rj);
		if (r == 0)
			r = batch_apply_from(t, j->b, from);
		p += len + (nl != NULL);
	}
	return r;
}

/* Apply text; returns custdb's verdict, rj (may be NULL) gets the reason. */
static int apply(struct fixture *f, enum boss_kind kind, const char *text, struct custdb_reject *rj)
{
	struct lines_job j = {kind, text, malloc(sizeof(struct bossrec)), batch_new(0), {0, ""}};
	int r;

	assert_non_null(j.rec);
	r = store_write(f->s, body_lines, &j);
	if (rj)
		*rj = j.rj;
	free(j.rec);
	batch_free(j.b);
	return r;
}

static void apply_ok(struct fixture *f, enum boss_kind kind, const char *text)
{
	struct custdb_reject rj;
	int r = apply(f, kind, text, &rj);

	if (r)
		print_error("refused: %s (%s)\n", rj.reason, kf_errname(r));
	assert_int_equal(r, 0);
}

/* Expect the refusal code, reason text and field of one record. */
static void apply_refused(struct fixture *f, enum boss_kind kind, const char *line, int code,
			  const char *reason, const char *field)
{
	struct custdb_reject rj;

	assert_int_equal(apply(f, kind, line, &rj), code);
	if (reason)
		assert_string_equal(rj.reason, reason);
	if (field) {
		assert_true(rj.field >= 0);
		assert_int_equal(rj.field, bossrec_field_index(kind, field));
	}
}

/* ---- reading back ---- */

static const struct {
	enum store_table table;
	const ProtobufCMessageDescriptor *desc;
} kinds[BOSS_KIND_COUNT] = {
	[BOSS_CUST] = {STORE_CUST, &kefu__customer__descriptor},
	[BOSS_USER] = {STORE_USER, &kefu__subscriber__descriptor},
	[BOSS_PAY] = {STORE_PAY, &kefu__payment__descriptor},
	[BOSS_CHG] = {STORE_CHG, &kefu__change__descriptor},
	[BOSS_BILL] = {STORE_BILL, &kefu__bill__descriptor},
	[BOSS_CDR] = {STORE_CDR, &kefu__cdr__descriptor},
};

static void key_of(struct key *k, const char *const parts[3])
{
	key_init(k);
	for (int i = 0; i < 3 && parts[i]; i++)
		assert_int_equal(key_add_str(k, parts[i]), 0);
}

/* Whether table holds the key made of parts (NULL-terminated, up to 3). */
static bool has_key(struct fixture *f, enum store_table table, const char *p0, const char *p1,
		    const char *p2)
{
	const char *const parts[3] = {p0, p1, p2};
	struct store_txn *t;
	struct store_val v;
	struct key k;
	int r;

	key_of(&k, parts);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	r = store_get(t, table, k.b, k.len, &v);
	store_abort(t);
	assert_true(r == 0 || r == KF_ENOTFOUND);
	return r == 0;
}

/* The stored record of kind with key parts, unpacked; NULL when absent. */
static ProtobufCMessage *record_get(struct fixture *f, enum boss_kind kind,
				    const char *const parts[3])
{
	ProtobufCMessage *m = NULL;
	struct store_txn *t;
	struct store_val v;
	struct key k;
	int r;

	key_of(&k, parts);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	r = store_get(t, kinds[kind].table, k.b, k.len, &v);
	if (r == 0) {
		m = protobuf_c_message_unpack(kinds[kind].desc, NULL, v.len, v.data);
		assert_non_null(m);
	}
	store_abort(t);
	assert_true(r == 0 || r == KF_ENOTFOUND);
	return m;
}

static const char *msg_string(const ProtobufCMessage *m, const char *field)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, field);

	assert_non_null(fd);
	assert_int_equal(fd->type, PROTOBUF_C_TYPE_STRING);
	return *(const char *const *)((const char *)m + fd->offset);
}

static uint64_t entries(struct fixture *f, enum store_table table)
{
	struct store_stats st;

	assert_int_equal(store_stat(f->s, &st), 0);
	return st.entries[table];
}

/* ---- test data ---- */

#define CUST_C1 "A|C1|Zhang San|P|ID|110101199001011234|Chengdu|13800000000|2|M1|20200101120000"
#define CUST_C2 "A|C2|Wang Wu|E|BL|91510100MA6CXXXX|Mianyang||0||20210101120000"
/* user_id, msisdn, cust_id, status */
#define USER_LINE(op, uid, msisdn, cust, status) \
	op "|" uid "|" msisdn "|" cust "|GoTone|PL1|" status "|20200101120000|3|1000|0"
#define USER_U1 USER_LINE("A", "U1", "13900000001", "C1", "1")
#define USER_U2 USER_LINE("A", "U2", "13900000002", "C1", "1")

/* A customer C1 and, for the kinds that refer to users, a user U1. */
static void seed(struct fixture *f, enum boss_kind upto)
{
	if (upto >= BOSS_USER)
		apply_ok(f, BOSS_CUST, CUST_C1);
	if (upto >= BOSS_PAY)
		apply_ok(f, BOSS_USER, USER_U1);
}

/* ---- A/M/D of each kind ---- */

struct amd_case {
	enum boss_kind kind;
	const char *add, *mod, *del;
	const char *key[3];
	const char *field, *before, *after;  /* a string field A sets and M changes */
	enum store_table index[2];           /* secondary indexes kept for it */
};

static const struct amd_case amd_cases[BOSS_KIND_COUNT] = {
	[BOSS_CUST] = {BOSS_CUST, CUST_C1,
		       "M|C1|Li Si|P|ID|110101199001011234|Chengdu|13800000000|3|M1|20200101120000",
		       "D|C1", {"C1"}, "name", "Zhang San", "Li Si", {STORE_CUST_BY_IDNO}},
	[BOSS_USER] = {BOSS_USER, USER_U1,
		       "M|U1|13900000001|C1|GoTone|PL2|1|20200101120000|3|1000|0", "D|U1", {"U1"},
		       "plan_id", "PL1", "PL2", {STORE_USER_BY_MSISDN, STORE_CUST_USERS}},
	[BOSS_PAY] = {BOSS_PAY, "A|P1|U1|5000|20240101120000|HALL",
		      "M|P1|U1|5000|20240101120000|WEB", "D|P1", {"P1"}, "channel", "HALL", "WEB",
		      {STORE_USER_PAY}},
	[BOSS_CHG] = {BOSS_CHG, "A|G1|U1|PLAN|20240101120000|old plan",
		      "M|G1|U1|STATUS|20240101120000|suspended", "D|G1", {"G1"}, "chg_type", "PLAN",
		      "STATUS", {STORE_USER_CHG}},
	[BOSS_BILL] = {BOSS_BILL, "A|U1|202401|IT1|Monthly fee|5800",
		       "M|U1|202401|IT1|Data package|5800", "D|U1|202401|IT1",
		       {"U1", "202401", "IT1"}, "item_name", "Monthly fee", "Data package",
		       {STORE_BILL_BY_MONTH}},
	[BOSS_CDR] = {BOSS_CDR, "A|U1|20240101120000|60|13700000000|MO|Chengdu|10",
		      "M|U1|20240101120000|60|13700000000|MO|Mianyang|10",
		      "D|U1|20240101120000||13700000000", {"U1", "20240101120000", "13700000000"},
		      "location", "Chengdu", "Mianyang", {STORE_CDR_BY_TIME}},
};

static void expect_field(struct fixture *f, const struct amd_case *c, const char *want)
{
	ProtobufCMessage *m = record_get(f, c->kind, c->key);

	assert_non_null(m);
	assert_string_equal(msg_string(m, c->field), want);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void expect_counts(struct fixture *f, const struct amd_case *c, uint64_t n)
{
	assert_int_equal(entries(f, kinds[c->kind].table), n);
	for (int i = 0; i < 2 && c->index[i]; i++)
		assert_int_equal(entries(f, c->index[i]), n);
}

static void amd_run(void **state, enum boss_kind kind)
{
	struct fixture *f = *state;
	const struct amd_case *c = &amd_cases[kind];

	seed(f, kind);
	apply_ok(f, kind, c->add);
	expect_field(f, c, c->before);
	expect_counts(f, c, 1);
	apply_ok(f, kind, c->mod);
	expect_field(f, c, c->after);
	expect_counts(f, c, 1);
	apply_ok(f, kind, c->del);
	assert_null(record_get(f, kind, c->key));
	expect_counts(f, c, 0);
}

static void test_cust_add_modify_delete(void **state) { amd_run(state, BOSS_CUST); }
static void test_user_add_modify_delete(void **state) { amd_run(state, BOSS_USER); }
static void test_pay_add_modify_delete(void **state) { amd_run(state, BOSS_PAY); }
static void test_chg_add_modify_delete(void **state) { amd_run(state, BOSS_CHG); }
static void test_bill_add_modify_delete(void **state) { amd_run(state, BOSS_BILL); }
static void test_cdr_add_modify_delete(void **state) { amd_run(state, BOSS_CDR); }

static void test_cust_id_document_change_moves_index(void **state)
{
	struct fixture *f = *state;

	seed(f, BOSS_USER);
	apply_ok(f, BOSS_CUST,
		 "M|C1|Zhang San|P|PP|E12345678|Chengdu|13800000000|2|M1|20200101120000");
	assert_false(has_key(f, STORE_CUST_BY_IDNO, "ID", "110101199001011234", "C1"));
	assert_true(has_key(f, STORE_CUST_BY_IDNO, "PP", "E12345678", "C1"));
	/* without a document the customer is not indexed at all */
	apply_ok(f, BOSS_CUST, "M|C1|Zhang San|P|||Chengdu|13800000000|2|M1|20200101120000");
	assert_int_equal(entries(f, STORE_CUST_BY_IDNO), 0);
	assert_int_equal(entries(f, STORE_CUST), 1);
}

/* ---- key existence ---- */

static void test_add_of_existing_key_refused(void **state)
{
	struct fixture *f = *state;

	seed(f, BOSS_CDR);
	for (int k = 0; k < BOSS_KIND_COUNT; k++) {
		if (k >= BOSS_PAY)
			apply_ok(f, (enum boss_kind)k, amd_cases[k].add);
		apply_refused(f, (enum boss_kind)k, amd_cases[k].add, KF_EEXISTS, NULL, NULL);
	}
	apply_refused(f, BOSS_CUST, CUST_C1, KF_EEXISTS, "CUST A: cust_id C1 already exists",
		      "cust_id");
	apply_refused(f, BOSS_BILL, amd_cases[BOSS_BILL].add, KF_EEXISTS,
		      "BILL A: user_id U1, bill_month 202401, item_code IT1 already exists",
		      "user_id");
	/* the refused adds left the first versions alone */
	expect_field(f, &amd_cases[BOSS_CDR], "Chengdu");
	assert_int_equal(entries(f, STORE_CDR), 1);
}

static void test_modify_or_delete_of_missing_key_refused(void **state)
{
	struct fixture *f = *state;

	seed(f, BOSS_CDR);
	for (int k = BOSS_PAY; k < BOSS_KIND_COUNT; k++) {
		apply_refused(f, (enum boss_kind)k, amd_cases[k].mod, KF_ENOTFOUND, NULL, NULL);
		apply_refused(f, (enum boss_kind)k, amd_cases[k].del, KF_ENOTFOUND, NULL, NULL);
	}
	apply_refused(f, BOSS_CUST, "D|C9", KF_ENOTFOUND, "CUST D: cust_id C9 does not exist",
		      "cust_id");
	apply_refused(f, BOSS_USER, USER_LINE("M", "8800012", "13900000009", "C1", "1"),
		      KF_ENOTFOUND, "USER M: user_id 8800012 does not exist", "user_id");
	apply_refused(f, BOSS_CDR, "D|U1|20240101120000||13700000000", KF_ENOTFOUND,
		      "CDR D: user_id U1, start_time 20240101120000, other_party 13700000000 "
		      "does not exist",
		      "user_id");
	assert_int_equal(entries(f, STORE_PAY) + entries(f, STORE_CHG) + entries(f, STORE_BILL) +
				 entries(f, STORE_CDR),
			 0);
}

/* ---- references ---- */

static void test_user_with_missing_customer_refused(void **state)
{
	struct fixture *f = *state;

	seed(f, BOSS_USER);
	apply_refused(f, BOSS_USER, USER_LINE("A", "U1", "13900000001", "C9", "1"), KF_EREF,
		      "USER A: cust_id C9 does not exist", "cust_id");
	assert_int_equal(entries(f, STORE_USER), 0);
	assert_int_equal(entries(f, STORE_USER_BY_MSISDN), 0);
	/* an M may not point an existing user at a missing customer either */
	apply_ok(f, BOSS_USER, USER_U1);
	apply_refused(f, BOSS_USER, USER_LINE("M", "U1", "13900000001", "C9", "1"), KF_EREF,
		      "USER M: cust_id C9 does not exist", "cust_id");
	assert_true(has_key(f, STORE_CUST_USERS, "C1", "U1", NULL));
}

static void test_records_of_missing_user_refused(void **state)
{
	static const struct {
		enum boss_kind kind;
		const char *line, *reason;
	} cases[] = {
		{BOSS_PAY, "A|P1|U9|5000|20240101120000|HALL", "PAY A: user_id U9 does not exist"},
		{BOSS_CHG, "A|G1|U9|PLAN|20240101120000|", "CHG A: user_id U9 does not exist"},
		{BOSS_BILL, "A|U9|202401|IT1|Fee|100", "BILL A: user_id U9 does not exist"},
		{BOSS_CDR, "A|U9|20240101120000|1|10086|SMS||0",
		 "CDR A: user_id U9 does not exist"},
		{BOSS_PAY, NULL, "PAY M: user_id U9 does not exist"},
	};
	struct fixture *f = *state;

	seed(f, BOSS_PAY);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) - 1; i++)
		apply_refused(f, cases[i].kind, cases[i].line, KF_EREF, cases[i].reason, "user_id");
	/* moving an existing payment to a missing user is refused as well */
	apply_ok(f, BOSS_PAY, "A|P1|U1|5000|20240101120000|HALL");
	apply_refused(f, BOSS_PAY, "M|P1|U9|5000|20240101120000|HALL", KF_EREF,
		      cases[4].reason, "user_id");
	assert_int_equal(entries(f, STORE_PAY), 1);
	assert_int_equal(entries(f, STORE_CHG) + entries(f, STORE_BILL) + entries(f, STORE_CDR), 0);
}

/* ---- msisdn uniqueness and its index ---- */

static void test_msisdn_of_active_user_refused(void **state)
{
	struct fixture *f = *state;

	seed(f, BOSS_PAY);
	apply_refused(f, BOSS_USER, USER_LINE("A", "U2", "13900000001", "C1", "1"), KF_EEXISTS,
		      "USER A: msisdn 13900000001 already belongs to user U1", "msisdn");
	/* a suspended user (status 2) still holds the number */
	apply_ok(f, BOSS_USER, USER_LINE("M", "U1", "13900000001", "C1", "2"));
	apply_refused(f, BOSS_USER, USER_LINE("A", "U2", "13900000001", "C1", "1"), KF_EEXISTS,
		      NULL, "msisdn");
	/* nor may an M take the number over */
	apply_ok(f, BOSS_USER, USER_U2);
	apply_refused(f, BOSS_USER, USER_LINE("M", "U2", "13900000001", "C1", "1"), KF_EEXISTS,
		      "USER M: msisdn 13900000001 already belongs to user U1", "msisdn");
	assert_true(has_key(f, STORE_USER_BY_MSISDN, "13900000002", NULL, NULL));
}

static void test_msisdn_of_cancelled_user_reusable(void **state)
{
	struct fixture *f = *state;
	struct custdb_profile p;
	struct store_txn *t;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_LINE("M", "U1", "13900000001", "C1", "4"));
	apply_ok(f, BOSS_USER, USER_LINE("A", "U2", "13900000001", "C1", "1"));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(custdb_lookup_msisdn(t, "13900000001", 5, 1, &p), 0);
	assert_string_equal(p.user->user_id, "U2");
	custdb_profile_release(&p);
	store_abort(t);
	/* the cancelled user cannot come back while U2 holds the number */
	apply_refused(f, BOSS_USER, USER_LINE("M", "U1", "13900000001", "C1", "1"), KF_EEXISTS,
		      "USER M: msisdn 13900000001 already belongs to user U2", "msisdn");
	/* deleting the cancelled user leaves U2's index entry alone */
	apply_ok(f, BOSS_USER, "D|U1");
	assert_true(has_key(f, STORE_USER_BY_MSISDN, "13900000001", NULL, NULL));
	assert_int_equal(entries(f, STORE_USER_BY_MSISDN), 1);
}

static void test_msisdn_change_moves_index(void **state)
{
	struct fixture *f = *state;
	struct custdb_profile p;
	struct store_txn *t;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_LINE("M", "U1", "13900000077", "C1", "1"));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(custdb_lookup_msisdn(t, "13900000001", 5, 1, &p), KF_ENOTFOUND);
	assert_int_equal(custdb_lookup_msisdn(t, "13900000077", 5, 1, &p), 0);
	assert_string_equal(p.user->user_id, "U1");
	assert_string_equal(p.user->msisdn, "13900000077");
	custdb_profile_release(&p);
	store_abort(t);
	assert_int_equal(entries(f, STORE_USER_BY_MSISDN), 1);
	/* the old number is free for another user now */
	apply_ok(f, BOSS_USER, USER_LINE("A", "U2", "13900000001", "C1", "1"));
}

static void test_cancel_removes_number_from_lookup(void **state)
{
	struct fixture *f = *state;
	struct custdb_profile p;
	struct store_txn *t;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_LINE("M", "U1", "13900000001", "C1", "4"));
	assert_int_equal(entries(f, STORE_USER_BY_MSISDN), 0);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(custdb_lookup_msisdn(t, "13900000001", 5, 1, &p), KF_ENOTFOUND);
	/* still there by user_id */
	assert_int_equal(custdb_lookup_user(t, "U1", 5, 1, &p), 0);
	assert_true(p.user->has_status);
	assert_int_equal(p.user->status, 4);
	custdb_profile_release(&p);
	store_abort(t);
	/* and back again when reinstated */
	apply_ok(f, BOSS_USER, USER_LINE("M", "U1", "13900000001", "C1", "1"));
	assert_true(has_key(f, STORE_USER_BY_MSISDN, "13900000001", NULL, NULL));
}

/* ---- deletions ---- */

static void test_customer_with_users_not_deletable(void **state)
{
	struct fixture *f = *state;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_U2);
	apply_refused(f, BOSS_CUST, "D|C1", KF_ESTATE,
		      "CUST D: cust_id C1 still has users (first: U1)", "cust_id");
	apply_ok(f, BOSS_USER, "D|U1");
	apply_refused(f, BOSS_CUST, "D|C1", KF_ESTATE,
		      "CUST D: cust_id C1 still has users (first: U2)", NULL);
	/* moving the last user to another customer frees C1 as well */
	apply_ok(f, BOSS_CUST, CUST_C2);
	apply_ok(f, BOSS_USER, USER_LINE("M", "U2", "13900000002", "C2", "1"));
	apply_ok(f, BOSS_CUST, "D|C1");
	assert_int_equal(entries(f, STORE_CUST), 1);
	assert_int_equal(entries(f, STORE_CUST_BY_IDNO), 1);
	assert_true(has_key(f, STORE_CUST_USERS, "C2", "U2", NULL));
	apply_refused(f, BOSS_CUST, "D|C2", KF_ESTATE, NULL, NULL);
}

/* U1 and U2 each get payments, changes, bills and CDRs; deleting U1 must
 * take all of U1's along with every index entry and leave U2's. */
static const char user_children[] =
	"A|P1|U1|100|20240101120000|HALL\n"
	"A|P2|U1|200|20240201120000|APP\n"
	"A|P3|U2|300|20240301120000|WEB\n";
static const char user_changes[] =
	"A|G1|U1|PLAN|20240101120000|a\n"
	"A|G2|U1|STATUS|20240102120000|b\n"
	"A|G3|U2|PLAN|20240103120000|c\n";
static const char user_bills[] =
	"A|U1|202401|IT1|Fee|100\n"
	"A|U1|202402|IT1|Fee|100\n"
	"A|U2|202401|IT1|Fee|100\n";
static const char user_cdrs[] =
	"A|U1|20240101120000|60|10086|MO||1\n"
	"A|U1|20240101130000|60|10010|MT||0\n"
	"A|U2|20240101120000|60|10086|MO||1\n";

static void test_user_delete_takes_its_records_along(void **state)
{
	static const enum store_table tables[] = {
		STORE_PAY, STORE_USER_PAY, STORE_CHG, STORE_USER_CHG, STORE_BILL,
		STORE_BILL_BY_MONTH, STORE_CDR, STORE_CDR_BY_TIME, STORE_USER,
		STORE_USER_BY_MSISDN, STORE_CUST_USERS,
	};
	struct fixture *f = *state;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_U2);
	apply_ok(f, BOSS_PAY, user_children);
	apply_ok(f, BOSS_CHG, user_changes);
	apply_ok(f, BOSS_BILL, user_bills);
	apply_ok(f, BOSS_CDR, user_cdrs);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		assert_true(entries(f, tables[i]) >= 2);
	apply_ok(f, BOSS_USER, "D|U1");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (entries(f, tables[i]) != 1)
			print_error("table %s\n", store_table_name(tables[i]));
		assert_int_equal(entries(f, tables[i]), 1);
	}
	assert_true(has_key(f, STORE_PAY, "P3", NULL, NULL));
	assert_true(has_key(f, STORE_CHG, "G3", NULL, NULL));
	assert_true(has_key(f, STORE_BILL_BY_MONTH, "202401", "U2", "IT1"));
	assert_true(has_key(f, STORE_CDR_BY_TIME, "20240101120000", "U2", "10086"));
	assert_false(has_key(f, STORE_USER_PAY, "U1", "20240101120000", "P1"));
	/* the same keys can be added again for a new U1 */
	apply_ok(f, BOSS_USER, USER_U1);
	apply_ok(f, BOSS_PAY, "A|P1|U1|100|20240101120000|HALL");
	apply_ok(f, BOSS_CDR, "A|U1|20240101120000|60|10086|MO||1");
}

/* ---- lookups ---- */

static void test_lookup_orders_payments_and_bills(void **state)
{
	struct fixture *f = *state;
	struct custdb_profile p;
	struct store_txn *t;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_U2);
	apply_ok(f, BOSS_PAY,
		 "A|P2|U1|200|20240201120000|APP\n"
		 "A|P4|U1|400|20240401120000|WEB\n"
		 "A|P1|U1|100|20240101120000|HALL\n"
		 "A|P3|U1|300|20240301120000|BANK\n"
		 "A|P9|U2|900|20240501120000|CARD\n");
	apply_ok(f, BOSS_BILL,
		 "A|U1|202402|IT1|Fee|21\n"
		 "A|U1|202312|IT1|Fee|1\n"
		 "A|U1|202403|IT2|Data|32\n"
		 "A|U1|202401|IT1|Fee|11\n"
		 "A|U1|202403|IT1|Fee|31\n"
		 "A|U1|202402|IT2|Data|22\n"
		 "A|U2|202404|IT1|Fee|99\n");
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(custdb_lookup_msisdn(t, "13900000001", 3, 2, &p), 0);
	assert_string_equal(p.user->user_id, "U1");
	assert_non_null(p.cust);
	assert_string_equal(p.cust->name, "Zhang San");
	assert_int_equal(p.npay, 3);
	assert_string_equal(p.pay[0]->pay_id, "P4");
	assert_string_equal(p.pay[1]->pay_id, "P3");
	assert_string_equal(p.pay[2]->pay_id, "P2");
	assert_int_equal(p.nbill, 4);
	assert_string_equal(p.bill[0]->bill_month, "202403");
	assert_string_equal(p.bill[1]->bill_month, "202403");
	assert_string_equal(p.bill[2]->bill_month, "202402");
	assert_string_equal(p.bill[3]->bill_month, "202402");
	custdb_profile_release(&p);

	assert_int_equal(custdb_lookup_user(t, "U1", 20, 12, &p), 0);
	assert_int_equal(p.npay, 4);
	assert_string_equal(p.pay[3]->pay_id, "P1");
	assert_int_equal(p.nbill, 6);
	assert_string_equal(p.bill[5]->bill_month, "202312");
	custdb_profile_release(&p);

	assert_int_equal(custdb_lookup_msisdn(t, "13900000009", 3, 2, &p), KF_ENOTFOUND);
	assert_int_equal(custdb_lookup_user(t, "U9", 3, 2, &p), KF_ENOTFOUND);
	store_abort(t);
}

/* A user's CDRs: newest first, within [from, to), capped by the limit,
 * never another user's (U1 is a prefix of U10). */
static void test_list_cdrs_newest_first_in_range(void **state)
{
	struct fixture *f = *state;
	struct custdb_cdrs c;
	struct store_txn *t;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_LINE("A", "U10", "13900000010", "C1", "1"));
	apply_ok(f, BOSS_CDR,
		 "A|U1|20240315080000|30|10010|MT||0\n"
		 "A|U1|20240201120000|60|10086|MO||1\n"
		 "A|U1|20240331235959|5|13800000001|MO||2\n"
		 "A|U1|20240315080000|40|10086|MO||3\n"
		 "A|U1|20240401000000|50|10086|MO||4\n"
		 "A|U10|20240320000000|1|10086|MO||9\n");
	assert_int_equal(store_read_begin(f->s, &t), 0);

	assert_int_equal(custdb_list_cdrs(t, "U1", NULL, NULL, 100, &c), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.cdr[0]->start_time, "20240401000000");
	assert_string_equal(c.cdr[1]->start_time, "20240331235959");
	/* one start time, two other parties: key order reversed */
	assert_string_equal(c.cdr[2]->other_party, "10086");
	assert_string_equal(c.cdr[3]->other_party, "10010");
	assert_string_equal(c.cdr[4]->start_time, "20240201120000");
	for (size_t i = 0; i < c.n; i++)
		assert_string_equal(c.cdr[i]->user_id, "U1");
	custdb_cdrs_release(&c);
	assert_int_equal(c.n, 0);

	/* March only: from is inclusive, to exclusive, prefixes are bounds */
	assert_int_equal(custdb_list_cdrs(t, "U1", "202403", "202404", 100, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.cdr[0]->start_time, "20240331235959");
	assert_string_equal(c.cdr[2]->start_time, "20240315080000");
	custdb_cdrs_release(&c);
	assert_int_equal(custdb_list_cdrs(t, "U1", "20240315080000", "20240401000000", 100, &c), 0);
	assert_int_equal(c.n, 3);
	custdb_cdrs_release(&c);
	assert_int_equal(custdb_list_cdrs(t, "U1", "20240201120001", "", 100, &c), 0);
	assert_int_equal(c.n, 4);
	custdb_cdrs_release(&c);

	/* the limit keeps the newest */
	assert_int_equal(custdb_list_cdrs(t, "U1", NULL, NULL, 2, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.cdr[1]->start_time, "20240331235959");
	custdb_cdrs_release(&c);
	assert_int_equal(custdb_list_cdrs(t, "U1", NULL, NULL, 0, &c), 0);
	assert_int_equal(c.n, 0);

	assert_int_equal(custdb_list_cdrs(t, "U10", NULL, NULL, 100, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.cdr[0]->fee, 9);
	custdb_cdrs_release(&c);
	assert_int_equal(custdb_list_cdrs(t, "U9", NULL, NULL, 100, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(custdb_list_cdrs(t, "U1", "202405", NULL, 100, &c), 0);
	assert_int_equal(c.n, 0);
	store_abort(t);
}

/* More CDRs than the list holds: it stops at CUSTDB_MAX_CDRS. */
static void test_list_cdrs_capped(void **state)
{
	struct fixture *f = *state;
	struct custdb_cdrs c;
	struct store_txn *t;
	size_t cap = (CUSTDB_MAX_CDRS + 10) * 40, n = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	seed(f, BOSS_PAY);
	for (unsigned i = 0; i < CUSTDB_MAX_CDRS + 10; i++)
		n += (size_t)snprintf(text + n, cap - n, "A|U1|202403011%u%02u%02u|1|10086|MO||%u\n",
				      i / 3600, i / 60 % 60, i % 60, i);
	apply_ok(f, BOSS_CDR, text);
	free(text);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(custdb_list_cdrs(t, "U1", NULL, NULL, 100000, &c), 0);
	assert_int_equal(c.n, CUSTDB_MAX_CDRS);
	assert_int_equal(c.cdr[0]->fee, CUSTDB_MAX_CDRS + 9);
	custdb_cdrs_release(&c);
	store_abort(t);
}

/* ---- retention ---- */

static void test_prune_keeps_cdrs_from_the_cutoff_day(void **state)
{
	struct fixture *f = *state;
	struct custdb_prune_stats st;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_CDR,
		 "A|U1|20240114235959|1|10086|MO||0\n"   /* a second before the cutoff */
		 "A|U1|20231201000000|1|10086|MO||0\n"
		 "A|U1|20240115000000|1|10086|MO||0\n"   /* the cutoff itself */
		 "A|U1|20240115180000|1|10010|MT||0\n"
		 "A|U1|20240714000000|1|10010|MT||0\n");
	assert_int_equal(custdb_prune(f->s, NULL, "20240715", &st), 0);
	assert_int_equal(st.cdrs, 2);
	assert_int_equal(st.bills, 0);
	assert_int_equal(entries(f, STORE_CDR), 3);
	assert_int_equal(entries(f, STORE_CDR_BY_TIME), 3);
	assert_false(has_key(f, STORE_CDR, "U1", "20240114235959", "10086"));
	assert_false(has_key(f, STORE_CDR_BY_TIME, "20240114235959", "U1", "10086"));
	assert_false(has_key(f, STORE_CDR_BY_TIME, "20231201000000", "U1", "10086"));
	assert_true(has_key(f, STORE_CDR, "U1", "20240115000000", "10086"));
	assert_true(has_key(f, STORE_CDR_BY_TIME, "20240115000000", "U1", "10086"));
	/* a second run finds nothing more */
	assert_int_equal(custdb_prune(f->s, NULL, "20240715", &st), 0);
	assert_int_equal(st.cdrs, 0);
}

static void test_prune_cutoff_day_clamped_to_month_end(void **state)
{
	struct fixture *f = *state;
	struct custdb_prune_stats st;

	seed(f, BOSS_PAY);
	/* 2024-08-31 minus 6 months: 2024-02-29 (leap year) */
	apply_ok(f, BOSS_CDR,
		 "A|U1|20240228235959|1|10086|MO||0\n"
		 "A|U1|20240229000000|1|10086|MO||0\n");
	assert_int_equal(custdb_prune(f->s, NULL, "20240831", &st), 0);
	assert_int_equal(st.cdrs, 1);
	assert_true(has_key(f, STORE_CDR, "U1", "20240229000000", "10086"));
}

static void test_prune_keeps_24_months_of_bills(void **state)
{
	struct fixture *f = *state;
	struct custdb_prune_stats st;

	seed(f, BOSS_PAY);
	apply_ok(f, BOSS_USER, USER_U2);
	/* today 2024-07: the 24 kept months are 2022-08 .. 2024-07 */
	apply_ok(f, BOSS_BILL,
		 "A|U1|202207|IT1|Fee|1\n"
		 "A|U1|202207|IT2|Data|1\n"
		 "A|U2|202112|IT1|Fee|1\n"
		 "A|U1|202208|IT1|Fee|1\n"
		 "A|U2|202407|IT1|Fee|1\n");
	assert_int_equal(custdb_prune(f->s, NULL, "20240701", &st), 0);
	assert_int_equal(st.bills, 3);
	assert_int_equal(st.cdrs, 0);
	assert_int_equal(entries(f, STORE_BILL), 2);
	assert_int_equal(entries(f, STORE_BILL_BY_MONTH), 2);
	assert_true(has_key(f, STORE_BILL, "U1", "202208", "IT1"));
	assert_false(has_key(f, STORE_BILL, "U1", "202207", "IT2"));
	assert_false(has_key(f, STORE_BILL_BY_MONTH, "202207", "U1", "IT1"));
	assert_false(has_key(f, STORE_BILL_BY_MONTH, "202112", "U2", "IT1"));
}

/* More than one prune transaction's worth of old CDRs. */
static void test_prune_runs_past_one_chunk(void **state)
{
	enum { OLD = 5003 };
	struct fixture *f = *state;
	struct custdb_prune_stats st;
	size_t cap = (size_t)OLD * 48 + 64, n = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	seed(f, BOSS_PAY);
	for (int i = 0; i < OLD; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "A|U1|2023%02d%02d%02d%02d%02d|1|%d|MO||0\n", 1 + i % 12,
				      1 + i % 28, i % 24, i / 60 % 60, i % 60, i);
	snprintf(text + n, cap - n, "A|U1|20240601000000|1|10086|MO||0\n");
	apply_ok(f, BOSS_CDR, text);
	free(text);
	assert_int_equal(entries(f, STORE_CDR), OLD + 1);
	assert_int_equal(custdb_prune(f->s, NULL, "20240715", &st), 0);
	assert_int_equal(st.cdrs, OLD);
	assert_int_equal(entries(f, STORE_CDR), 1);
	assert_int_equal(entries(f, STORE_CDR_BY_TIME), 1);
}

static void test_prune_refuses_bad_dates(void **state)
{
	static const char *const bad[] = {"2024071", "202407150", "2024-7-1", "20240700",
					  "20241301", "20240732", "20240230", "20230229", ""};
	struct fixture *f = *state;
	struct custdb_prune_stats st;
	unsigned accepted = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (custdb_prune(f->s, NULL, bad[i], &st) != KF_EPARSE) {
			print_error("accepted \"%s\"\n", bad[i]);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);
	assert_int_equal(custdb_prune(f->s, NULL, "20240229", &st), 0);
}

static void test_months_back(void **state)
{
	static const struct {
		const char *from;
		unsigned n;
		const char *want;
	} cases[] = {
		{"202407", 0, "202407"}, {"202407", 6, "202401"}, {"202401", 1, "202312"},
		{"202401", 12, "202301"}, {"202401", 13, "202212"}, {"202412", 11, "202401"},
		{"202412", 12, "202312"}, {"202407", 23, "202208"}, {"200001", 1, "199912"},
		{"000101", 12, "000001"}, {"000001", 0, "000001"},
	};
	static const char *const bad[] = {"", "2024", "20241", "202400", "202413", "2024a1",
					  "x02401", "-20241"};
	char out[7];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(custdb_months_back(cases[i].from, cases[i].n, out), 0);
		assert_string_equal(out, cases[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(custdb_months_back(bad[i], 1, out), KF_EPARSE);
	/* before year 0 */
	assert_int_equal(custdb_months_back("000001", 1, out), KF_EPARSE);
	assert_int_equal(custdb_months_back("000112", 24, out), KF_EPARSE);
	assert_int_equal(custdb_months_back("202401", 4000000000u, out), KF_EPARSE);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_cust_add_modify_delete),
		T(test_user_add_modify_delete),
		T(test_pay_add_modify_delete),
		T(test_chg_add_modify_delete),
		T(test_bill_add_modify_delete),
		T(test_cdr_add_modify_delete),
		T(test_cust_id_document_change_moves_index),
		T(test_add_of_existing_key_refused),
		T(test_modify_or_delete_of_missing_key_refused),
		T(test_user_with_missing_customer_refused),
		T(test_records_of_missing_user_refused),
		T(test_msisdn_of_active_user_refused),
		T(test_msisdn_of_cancelled_user_reusable),
		T(test_msisdn_change_moves_index),
		T(test_cancel_removes_number_from_lookup),
		T(test_customer_with_users_not_deletable),
		T(test_user_delete_takes_its_records_along),
		T(test_lookup_orders_payments_and_bills),
		T(test_list_cdrs_newest_first_in_range),
		T(test_list_cdrs_capped),
		T(test_prune_keeps_cdrs_from_the_cutoff_day),
		T(test_prune_cutoff_day_clamped_to_month_end),
		T(test_prune_keeps_24_months_of_bills),
		T(test_prune_runs_past_one_chunk),
		T(test_prune_refuses_bad_dates),
		T(test_months_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
