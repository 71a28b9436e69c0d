/*
 * Unit tests of storage/workorder.c on a fresh store: records and their
 * index keys kept in step through changes (state, group, clocks), the
 * listings (by subscriber newest first, by state, by group, the open ones,
 * the overdue ones up to a time) with a limit and a cursor, the deadline
 * index in time order, the day's numbering, client references,
 * attachments, return-visit marks, and notices with their pruning.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "storage/workorder.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
	struct tmpstore *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpstore_open(f, "workorder"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	tmpstore_close(*state);
	free(*state);
	return 0;
}

static void apply(struct tmpstore *f)
{
	struct store_txn *t;

	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(store_commit(t), 0);
	batch_reset(f->b);
}

/* An order as the tests build it: three clocks, strings borrowed. */
struct ord {
	Kefu__WorkOrder o;
	Kefu__OrderClock c[3], *cp[3];
	char id[WO_ID_MAX + 1];
};

static void ord_init(struct ord *x, const char *id, const char *msisdn, const char *state,
		     const char *group, uint64_t created, uint64_t due)
{
	static const char *const names[3] = {"first_response", "update", "solution"};
	Kefu__WorkOrder o = KEFU__WORK_ORDER__INIT;

	snprintf(x->id, sizeof(x->id), "%s", id);
	o.id = x->id;
	o.msisdn = (char *)msisdn;
	o.state = (char *)state;
	o.group = (char *)group;
	o.has_created_ms = 1;
	o.created_ms = created;
	for (int i = 0; i < 3; i++) {
		Kefu__OrderClock c = KEFU__ORDER_CLOCK__INIT;

		c.name = (char *)names[i];
		c.has_due_ms = c.has_next_ms = c.has_next_level = 1;
		c.due_ms = due ? due + (uint64_t)i * 1000 : 0;
		c.next_ms = due ? due - 500 + (uint64_t)i * 1000 : 0;
		c.next_level = due ? 80 : 0;
		x->c[i] = c;
		x->cp[i] = &x->c[i];
	}
	o.n_clocks = 3;
	o.clocks = x->cp;
	x->o = o;
}

static void put(struct tmpstore *f, const struct ord *old, const struct ord *x)
{
	assert_int_equal(wo_put(old ? &old->o : NULL, &x->o, 2, f->b), 0);
	apply(f);
}

struct seen {
	char ids[32][WO_ID_MAX + 1];
	size_t n;
	uint8_t cur[WO_CURSOR_MAX];
	size_t clen;
};

static int collect(void *arg, const Kefu__WorkOrder *o, const uint8_t *cursor, size_t clen)
{
	struct seen *s = arg;

	assert_true(s->n < 32);
	snprintf(s->ids[s->n++], WO_ID_MAX + 1, "%s", o->id);
	assert_true(clen <= sizeof(s->cur));
	memcpy(s->cur, cursor, clen);
	s->clen = clen;
	return 0;
}

static void list(struct tmpstore *f, enum wo_by by, const char *key, uint64_t upto,
		 const struct seen *after, size_t limit, struct seen *out)
{
	struct wo_filter flt = {by, key, upto};
	struct store_txn *t;

	memset(out, 0, sizeof(*out));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_list(t, &flt, after ? after->cur : NULL, after ? after->clen : 0,
				 limit, collect, out),
			 0);
	store_abort(t);
}

static void test_put_get_and_state_index(void **state)
{
	struct tmpstore *f = *state;
	struct ord a, a2;
	struct seen s;
	struct store_txn *t;
	Kefu__WorkOrder *got;

	ord_init(&a, "SC20261206000001", "13900000001", "new", "", 1000, 50000);
	put(f, NULL, &a);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_get(t, a.id, &got), 0);
	assert_string_equal(got->state, "new");
	assert_int_equal(got->n_clocks, 3);
	kefu__work_order__free_unpacked(got, NULL);
	assert_int_equal(wo_get(t, "SC20261206000099", &got), KF_ENOTFOUND);
	assert_int_equal(wo_get(t, "bad id", &got), KF_ENOTFOUND);
	store_abort(t);

	list(f, WO_BY_STATE, "new", 0, NULL, 0, &s);
	assert_int_equal(s.n, 1);
	/* dispatched to a group: the old state's key goes, the group's comes */
	ord_init(&a2, a.id, "13900000001", "dispatched", "cd-billing", 1000, 50000);
	put(f, &a, &a2);
	list(f, WO_BY_STATE, "new", 0, NULL, 0, &s);
	assert_int_equal(s.n, 0);
	list(f, WO_BY_STATE, "dispatched", 0, NULL, 0, &s);
	assert_int_equal(s.n, 1);
	list(f, WO_BY_GROUP, "cd-billing", 0, NULL, 0, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], a.id);
	/* a missing state or id is refused */
	a2.o.state = NULL;
	assert_int_equal(wo_put(NULL, &a2.o, 2, f->b), KF_EPARSE);
}

static void test_newest_first_with_cursor(void **state)
{
	struct tmpstore *f = *state;
	struct ord x[5];
	struct seen s, s2;
	char id[32];

	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "SC2026120600000%d", i + 1);
		ord_init(&x[i], id, "13900000002", "new", "", 1000 + (uint64_t)i * 10, 0);
		put(f, NULL, &x[i]);
	}
	list(f, WO_BY_MSISDN, "13900000002", 0, NULL, 2, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "SC20261206000005");
	assert_string_equal(s.ids[1], "SC20261206000004");
	list(f, WO_BY_MSISDN, "13900000002", 0, &s, 0, &s2);
	assert_int_equal(s2.n, 3);
	assert_string_equal(s2.ids[0], "SC20261206000003");
	assert_string_equal(s2.ids[2], "SC20261206000001");
	/* another subscriber's number is not a prefix match */
	list(f, WO_BY_MSISDN, "1390000000", 0, NULL, 0, &s);
	assert_int_equal(s.n, 0);
}

static void test_open_and_overdue(void **state)
{
	struct tmpstore *f = *state;
	struct ord a, b, c, c2;
	struct seen s;

	ord_init(&a, "SC20261206000001", "13900000003", "processing", "g1", 1000, 9000);
	ord_init(&b, "SC20261206000002", "13900000003", "accepted", "g1", 2000, 5000);
	ord_init(&c, "SC20261206000003", "13900000003", "replied", "g1", 3000, 20000);
	put(f, NULL, &a);
	put(f, NULL, &b);
	put(f, NULL, &c);
	list(f, WO_BY_OPEN, NULL, 0, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	/* overdue at 10000: b (due 5000) then a (due 9000); c is not due yet */
	list(f, WO_BY_OVERDUE, NULL, 10000, NULL, 0, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], b.id);
	assert_string_equal(s.ids[1], a.id);
	/* closed: out of the open and overdue lists, still by state */
	ord_init(&c2, c.id, "13900000003", "closed", "g1", 3000, 0);
	put(f, &c, &c2);
	list(f, WO_BY_OPEN, NULL, 0, NULL, 0, &s);
	assert_int_equal(s.n, 2);
	list(f, WO_BY_OVERDUE, NULL, 100000, NULL, 0, &s);
	assert_int_equal(s.n, 2);
	list(f, WO_BY_STATE, "closed", 0, NULL, 0, &s);
	assert_int_equal(s.n, 1);
	/* a paused clock is not due */
	{
		struct ord b2;

		ord_init(&b2, b.id, "13900000003", "waiting", "g1", 2000, 5000);
		for (int i = 0; i < 3; i++)
			b2.c[i].paused = 1;
		put(f, &b, &b2);
		list(f, WO_BY_OVERDUE, NULL, 100000, NULL, 0, &s);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.ids[0], a.id);
	}
}

/* The open listing merges the open states' ranges newest first, pages
 * with its cursor across states, and leaves closed orders out. */
static void test_open_merges_states(void **state)
{
	static const char *const states[6] = {"new", "processing", "closed", "dispatched",
					      "new", "waiting"};
	struct tmpstore *f = *state;
	struct ord x[6];
	struct seen s, s2;
	char id[32];

	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "SC2026120600001%d", i);
		ord_init(&x[i], id, "13900000004", states[i], "", 1000 + (uint64_t)i * 10, 0);
		put(f, NULL, &x[i]);
	}
	list(f, WO_BY_OPEN, NULL, 0, NULL, 0, &s);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.ids[0], "SC20261206000015");
	assert_string_equal(s.ids[1], "SC20261206000014");
	assert_string_equal(s.ids[2], "SC20261206000013");
	assert_string_equal(s.ids[3], "SC20261206000011");
	assert_string_equal(s.ids[4], "SC20261206000010");
	list(f, WO_BY_OPEN, NULL, 0, NULL, 2, &s);
	assert_int_equal(s.n, 2);
	list(f, WO_BY_OPEN, NULL, 0, &s, 2, &s2);
	assert_int_equal(s2.n, 2);
	assert_string_equal(s2.ids[0], "SC20261206000013");
	assert_string_equal(s2.ids[1], "SC20261206000011");
	list(f, WO_BY_OPEN, NULL, 0, &s2, 0, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "SC20261206000010");
	list(f, WO_BY_OPEN, NULL, 0, &s, 0, &s2);
	assert_int_equal(s2.n, 0);
}

struct due_seen {
	char what[16][64];
	size_t n;
};

static int due_collect(void *arg, const char *id, uint64_t ms)
{
	struct due_seen *d = arg;

	assert_true(d->n < 16);
	snprintf(d->what[d->n++], 64, "%s %llu", id + 14, (unsigned long long)ms);
	return 0;
}

static void test_deadline_index(void **state)
{
	struct tmpstore *f = *state;
	struct ord a, b, a2, a3;
	struct due_seen d = {0};
	struct store_txn *t;
	uint64_t next;

	ord_init(&a, "SC20261206000001", "1", "new", "", 1000, 10000);
	ord_init(&b, "SC20261206000002", "2", "new", "", 1000, 5000);
	put(f, NULL, &a);
	put(f, NULL, &b);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_next_due(t, &next), 0);
	assert_int_equal(next, 4500);
	/* due by 9600: b (its first clock at 4500) and a (9500), once each */
	assert_int_equal(wo_due(t, 9600, 0, due_collect, &d), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.what[0], "02 4500");
	assert_string_equal(d.what[1], "01 9500");
	memset(&d, 0, sizeof(d));
	assert_int_equal(wo_due(t, 9400, 0, due_collect, &d), 0);
	assert_int_equal(d.n, 1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(wo_due(t, 100000, 1, due_collect, &d), 0);
	assert_int_equal(d.n, 1);
	store_abort(t);
	/* a later clock restarted: the key stays, nothing of the index is written */
	ord_init(&a3, a.id, "1", "new", "", 1000, 10000);
	a3.c[1].next_ms = 30000;
	assert_int_equal(wo_put(&a.o, &a3.o, 2, f->b), 0);
	assert_int_equal(batch_count(f->b), 1);
	apply(f);
	/* the earliest clock met: the key moves to the next one */
	ord_init(&a2, a.id, "1", "new", "", 1000, 10000);
	a2.c[0].next_level = 0;
	put(f, &a3, &a2);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_due(t, 100000, 0, due_collect, &d), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.what[0], "02 4500");
	assert_string_equal(d.what[1], "01 10500");
	store_abort(t);
}

/* An index key (tag, part) with value, as a store written before holds it. */
static void index_put(struct tmpstore *f, const char *tag, const char *part, const char *value)
{
	struct key k;

	key_init(&k);
	key_add_str(&k, tag);
	key_add_str(&k, part);
	assert_int_equal(batch_put(f->b, STORE_WO_INDEX, k.b, k.len, value, strlen(value)), 0);
	apply(f);
}

/* The next id of SC's 2026-12-06 into id, with ops sequence ops, and an
 * order put under it. */
static void number_and_put(struct tmpstore *f, char id[WO_ID_MAX + 1], size_t ops)
{
	struct store_txn *t;
	struct ord o;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_next_id(t, "SC", "20261206", 2, f->b, id), 0);
	store_abort(t);
	assert_int_equal(batch_count(f->b), ops);
	ord_init(&o, id, "139", "new", "", 1000, 0);
	put(f, NULL, &o);
}

static void test_ids_refs_attachments_visits(void **state)
{
	struct tmpstore *f = *state;
	char id[WO_ID_MAX + 1], got[WO_ID_MAX + 1];
	struct store_txn *t;
	struct ord a, a2;
	Kefu__OrderAttachment at = KEFU__ORDER_ATTACHMENT__INIT, *back;
	uint64_t ms;

	/* the day's sequence follows its highest order, and writes nothing */
	for (int i = 1; i <= 3; i++)
		number_and_put(f, id, 0);
	assert_string_equal(id, "SC20261206000003");
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_next_id(t, "SC", "20261207", 2, f->b, id), 0);
	assert_string_equal(id, "SC20261207000001");
	assert_int_equal(wo_next_id(t, "SC", "20261205", 2, f->b, id), 0);
	assert_string_equal(id, "SC20261205000001");
	assert_int_equal(wo_next_id(t, "sc", "20261207", 2, f->b, id), KF_EPARSE);
	assert_int_equal(wo_next_id(t, "SC", "2026127", 2, f->b, id), KF_EPARSE);
	store_abort(t);
	batch_reset(f->b);
	/* a day's "q" count (a store written before, or past 999,999) wins
	 * when higher, and past 999,999 it is kept */
	index_put(f, "q", "20261206", "2");
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_next_id(t, "SC", "20261206", 2, f->b, id), 0);
	assert_string_equal(id, "SC20261206000004");
	store_abort(t);
	batch_reset(f->b);
	index_put(f, "q", "20261206", "999999");
	for (int i = 0; i < 2; i++)
		number_and_put(f, id, 1);
	assert_string_equal(id, "SC202612061000001");

	ord_init(&a, "SC20261208000001", "139", "new", "", 1000, 0);
	a.o.client_ref = "ref-1";
	put(f, NULL, &a);
	at.name = "bill.png";
	at.has_data = 1;
	at.data.data = (uint8_t *)"PNGDATA";
	at.data.len = 7;
	assert_int_equal(wo_attach_put(a.id, 0, &at, f->b), 0);
	at.name = "../etc/passwd";
	assert_int_equal(wo_attach_put(a.id, 1, &at, f->b), KF_EPARSE);
	assert_int_equal(wo_attach_put(a.id, WO_ATTACH_MAX, &at, f->b), KF_EPARSE);
	assert_int_equal(wo_visit_mark("139", 777, f->b), 0);
	apply(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_by_ref(t, 2, "139", "ref-1", 2000, got), 0);
	assert_string_equal(got, a.id);
	assert_int_equal(wo_by_ref(t, 2, "139", "ref-2", 2000, got), KF_ENOTFOUND);
	/* another subscriber's, or past the time a retry finds its order */
	assert_int_equal(wo_by_ref(t, 2, "138", "ref-1", 2000, got), KF_ENOTFOUND);
	assert_int_equal(wo_by_ref(t, 2, "139", "ref-1", 1001 + WO_REF_KEEP_MS, got), KF_ENOTFOUND);
	assert_int_equal(wo_by_ref(t, 2, "139", "ref-1", 1000 + WO_REF_KEEP_MS, got), 0);
	assert_int_equal(wo_by_ref(t, 2, "139", "", 2000, got), KF_ENOTFOUND);
	assert_int_equal(wo_attach_get(t, a.id, 0, &back), 0);
	assert_string_equal(back->name, "bill.png");
	assert_int_equal(back->data.len, 7);
	kefu__order_attachment__free_unpacked(back, NULL);
	assert_int_equal(wo_attach_get(t, a.id, 1, &back), KF_ENOTFOUND);
	assert_int_equal(wo_last_visit(t, "139", &ms), 0);
	assert_int_equal(ms, 777);
	assert_int_equal(wo_last_visit(t, "138", &ms), 0);
	assert_int_equal(ms, 0);
	store_abort(t);
	assert_false(wo_attach_name_ok(""));
	assert_false(wo_attach_name_ok(".."));
	assert_false(wo_attach_name_ok("a\\b"));
	assert_true(wo_attach_name_ok("回执.pdf"));

	/* a step of the order keeps its client_ref findable */
	a2 = a;
	a2.o.state = "dispatched";
	put(f, &a, &a2);
	/* an order of a store written before: its "r" key */
	index_put(f, "r", "old-ref", "SC20261201000007");
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_by_ref(t, 2, "139", "ref-1", 5000, got), 0);
	assert_string_equal(got, a.id);
	assert_int_equal(wo_by_ref(t, 2, "139", "old-ref", 5000, got), 0);
	assert_string_equal(got, "SC20261201000007");
	store_abort(t);
}

struct notice_seen {
	uint64_t at[8];
	size_t n;
};

static int notice_collect(void *arg, const Kefu__OrderEscalation *e)
{
	struct notice_seen *s = arg;

	assert_true(s->n < 8);
	s->at[s->n++] = e->at_ms;
	return 0;
}

/* Stored form 1, the form old builds read: the day's "q" key for every id,
 * an "r" key for a create's reference, no reference in the "m" value; the
 * form-2 reader still finds such an order's reference. */
static void test_form_1(void **state)
{
	struct tmpstore *f = *state;
	char id[WO_ID_MAX + 1], got[WO_ID_MAX + 1];
	struct store_txn *t;
	struct ord a, d;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_read_begin(f->s, &t), 0);
		assert_int_equal(wo_next_id(t, "SC", "20261206", 1, f->b, id), 0);
		store_abort(t);
		assert_int_equal(batch_count(f->b), 1); /* the "q" key */
		apply(f);
	}
	assert_string_equal(id, "SC20261206000003");
	ord_init(&a, id, "139", "new", "", 1000, 0);
	a.o.client_ref = "ref-1";
	assert_int_equal(wo_put(NULL, &a.o, 1, f->b), 0);
	assert_int_equal(batch_count(f->b), 4); /* the record, "m", "s" and "r" */
	batch_reset(f->b);
	assert_int_equal(wo_put(NULL, &a.o, 2, f->b), 0);
	assert_int_equal(batch_count(f->b), 3); /* the record, "m" with the reference, "s" */
	batch_reset(f->b);
	/* a deadline key's value: the earliest clock in form 1, nothing in form 2 */
	ord_init(&d, "SC20261206000099", "139", "new", "", 1000, 10000);
	for (uint64_t form = 1; form <= 2; form++) {
		struct batch_op op = {0};

		assert_int_equal(wo_put(NULL, &d.o, form, f->b), 0);
		for (size_t i = 0; i < batch_count(f->b); i++) {
			struct batch_op x = batch_op(f->b, i);

			if (x.table == STORE_WO_INDEX && x.klen && x.key[0] == 'd')
				op = x;
		}
		assert_non_null(op.key);
		assert_int_equal(op.vlen, form == 1 ? 36 : 0);
		if (form == 1)
			assert_memory_equal(op.val, "first_response\0" "00000000000000009500\0", 36);
		batch_reset(f->b);
	}
	assert_int_equal(wo_put(NULL, &a.o, 1, f->b), 0);
	apply(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_by_ref(t, 1, "139", "ref-1", 2000, got), 0);
	assert_string_equal(got, a.id);
	assert_int_equal(wo_by_ref(t, 2, "139", "ref-1", 2000, got), 0);
	assert_string_equal(got, a.id);
	assert_int_equal(wo_by_ref(t, 1, "139", "ref-2", 2000, got), KF_ENOTFOUND);
	/* the next id follows the "q" key and the records alike */
	assert_int_equal(wo_next_id(t, "SC", "20261206", 2, f->b, id), 0);
	assert_string_equal(id, "SC20261206000004");
	store_abort(t);
	batch_reset(f->b);
}

static void test_notices(void **state)
{
	struct tmpstore *f = *state;
	Kefu__OrderEscalation e = KEFU__ORDER_ESCALATION__INIT;
	struct notice_seen s = {0};
	struct store_txn *t;
	size_t n;

	e.id = "SC20261206000001";
	e.clock = "solution";
	e.has_level = e.has_at_ms = 1;
	e.action = "lead";
	for (uint64_t at = 1000; at <= 5000; at += 1000) {
		e.at_ms = at;
		e.level = (uint32_t)(at / 100);
		assert_int_equal(wo_notice_put(&e, f->b), 0);
	}
	apply(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_notices(t, 2500, 0, notice_collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.at[0], 3000);
	assert_int_equal(wo_notices_prune(t, 3000, 0, f->b, &n), 0);
	assert_int_equal(n, 2);
	store_abort(t);
	apply(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_notices(t, 0, 0, notice_collect, &s), 0);
	assert_int_equal(s.n, 3);
	store_abort(t);
	e.id = NULL;
	assert_int_equal(wo_notice_put(&e, f->b), KF_EPARSE);
}

struct results_seen {
	char ids[4][WO_ID_MAX + 1];
	bool satisfied[4];
	size_t n;
};

static int result_collect(void *arg, const Kefu__VisitResult *v)
{
	struct results_seen *s = arg;

	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", v->order_id);
	s->satisfied[s->n++] = v->satisfied;
	return 0;
}

/* Return-visit results: one per order (a later one replaces it), listed by
 * id, deleted one by one; a bad id refused. */
static void test_visit_results(void **state)
{
	struct tmpstore *f = *state;
	Kefu__VisitResult v = KEFU__VISIT_RESULT__INIT;
	Kefu__VisitResult *got = NULL;
	struct results_seen s = {0};
	struct store_txn *t;

	v.has_satisfied = v.has_at_ms = 1;
	v.agent = "a01";
	v.at_ms = 1000;
	v.order_id = "SC20261206000002";
	v.satisfied = true;
	assert_int_equal(wo_visit_result_put(&v, f->b), 0);
	v.order_id = "SC20261206000001";
	v.satisfied = true;
	assert_int_equal(wo_visit_result_put(&v, f->b), 0);
	apply(f);
	v.satisfied = false; /* the customer changed their mind: replaces it */
	assert_int_equal(wo_visit_result_put(&v, f->b), 0);
	apply(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_visit_results(t, 0, result_collect, &s), 0);
	store_abort(t);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "SC20261206000001");
	assert_false(s.satisfied[0]);
	assert_string_equal(s.ids[1], "SC20261206000002");
	assert_true(s.satisfied[1]);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_visit_result_get(t, "SC20261206000001", &got), 0);
	assert_false(got->satisfied);
	assert_string_equal(got->agent, "a01");
	kefu__visit_result__free_unpacked(got, NULL);
	store_abort(t);
	assert_int_equal(wo_visit_result_del("SC20261206000001", f->b), 0);
	apply(f);
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_visit_result_get(t, "SC20261206000001", &got), KF_ENOTFOUND);
	assert_null(got);
	assert_int_equal(wo_visit_result_get(t, "not an id", &got), KF_ENOTFOUND);
	store_abort(t);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(wo_visit_results(t, 0, result_collect, &s), 0);
	store_abort(t);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "SC20261206000002");
	v.order_id = "not an id";
	assert_int_equal(wo_visit_result_put(&v, f->b), KF_EPARSE);
	v.order_id = NULL;
	assert_int_equal(wo_visit_result_put(&v, f->b), KF_EPARSE);
	assert_int_equal(wo_visit_result_del("x/y", f->b), KF_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_and_state_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newest_first_with_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_and_overdue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_merges_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_refs_attachments_visits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_form_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_visit_results, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
