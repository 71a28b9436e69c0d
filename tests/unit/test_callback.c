/*
 * Unit tests of storage/callback.c: request checks, one request per call
 * (a duplicate changes nothing, also when two raced), the pending list in
 * request order with a limit and a cursor, and status changes in and out
 * of it, on a fresh store in its own temporary directory.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/callback.h"
#include "storage/store.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PENDING KEFU__CALLBACK_REQUEST__STATUS__PENDING
#define DIALED KEFU__CALLBACK_REQUEST__STATUS__DIALED
#define DONE KEFU__CALLBACK_REQUEST__STATUS__DONE
#define CANCELLED KEFU__CALLBACK_REQUEST__STATUS__CANCELLED

static int setup(void **state)
{
	struct tmpstore *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpstore_open(f, "callback"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	tmpstore_close(*state);
	free(*state);
	return 0;
}

/* A request of gateway "gw1" for call `call` at ms. */
struct req {
	Kefu__CallbackRequest rq;
	char id[64], call[32];
};

static void req_init(struct req *r, const char *call, uint64_t ms)
{
	Kefu__CallbackRequest rq = KEFU__CALLBACK_REQUEST__INIT;

	snprintf(r->call, sizeof(r->call), "%s", call);
	snprintf(r->id, sizeof(r->id), "gw1:%s", call);
	rq.id = r->id;
	rq.call_id = r->call;
	rq.gateway = "gw1";
	rq.ani = "13900000001";
	rq.user_id = "U1";
	rq.has_vip_level = 1;
	rq.vip_level = 3;
	rq.skill = "vip";
	rq.service = "10086";
	rq.node = "node1";
	rq.has_requested_ms = 1;
	rq.requested_ms = ms;
	r->rq = rq;
}

/* Apply the batch in one transaction. */
static void apply(struct tmpstore *f)
{
	struct store_txn *t;

	assert_int_equal(store_write_begin(f->s, &t), 0);
	assert_int_equal(batch_apply(t, f->b), 0);
	assert_int_equal(store_commit(t), 0);
	batch_reset(f->b);
}

/* callback_add against the committed data; returns its verdict. */
static int add(struct tmpstore *f, const struct req *r)
{
	struct store_txn *t;
	int err;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	err = callback_add(t, &r->rq, f->b, NULL, 0);
	store_abort(t);
	return err;
}

static void add_ok(struct tmpstore *f, const char *call, uint64_t ms)
{
	struct req r;

	req_init(&r, call, ms);
	assert_int_equal(add(f, &r), 0);
	apply(f);
}

static int set_status(struct tmpstore *f, const char *id, Kefu__CallbackRequest__Status st,
		      uint64_t ms)
{
	struct store_txn *t;
	int err;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	err = callback_set_status(t, id, st, ms, f->b);
	store_abort(t);
	if (err == 0)
		apply(f);
	batch_reset(f->b);
	return err;
}

struct seen {
	char ids[16][64];
	uint8_t cursor[CALLBACK_CURSOR_MAX];
	size_t clen, n;
};

static int collect(void *arg, const Kefu__CallbackRequest *rq)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	assert_int_equal(rq->status, PENDING);
	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", rq->id);
	s->clen = callback_cursor(rq, s->cursor);
	assert_true(s->clen > 0);
	return 0;
}

/* The pending ids, oldest first, after the cursor (alen 0: from the start). */
static void pending(struct tmpstore *f, const uint8_t *after, size_t alen, size_t limit,
		    struct seen *s)
{
	struct store_txn *t;

	memset(s, 0, sizeof(*s));
	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(callback_list_pending(t, alen ? after : NULL, alen, limit, collect, s), 0);
	store_abort(t);
}

static Kefu__CallbackRequest *get(struct tmpstore *f, const char *id)
{
	Kefu__CallbackRequest *rq = NULL;
	struct store_txn *t;
	int err;

	assert_int_equal(store_read_begin(f->s, &t), 0);
	err = callback_get(t, id, &rq);
	store_abort(t);
	return err ? NULL : rq;
}

static void test_check_refuses_bad_requests(void **state)
{
	struct tmpstore *f = *state;
	char why[128];
	struct req r;

	req_init(&r, "c1", 1000);
	assert_int_equal(callback_check(&r.rq, why, sizeof(why)), 0);
	r.rq.id = "gw2:c1"; /* not its gateway's */
	assert_int_equal(callback_check(&r.rq, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "id"));
	req_init(&r, "c1", 1000);
	r.rq.ani = "";
	assert_int_equal(callback_check(&r.rq, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "ani"));
	req_init(&r, "c1", 0);
	assert_int_equal(callback_check(&r.rq, NULL, 0), KF_EPARSE);
	req_init(&r, "c1", 1000);
	r.rq.vip_level = 5;
	assert_int_equal(callback_check(&r.rq, NULL, 0), KF_EPARSE);
	req_init(&r, "c1", 1000);
	r.rq.skill = "bad\nskill";
	assert_int_equal(callback_check(&r.rq, NULL, 0), KF_EPARSE);
	req_init(&r, "c1", 1000);
	r.rq.node = NULL;
	assert_int_equal(add(f, &r), KF_EPARSE);
	assert_int_equal(batch_count(f->b), 0);
}

static void test_add_stores_a_pending_request(void **state)
{
	struct tmpstore *f = *state;
	Kefu__CallbackRequest *rq;
	struct seen s;

	add_ok(f, "c1", 1000);
	rq = get(f, "gw1:c1");
	assert_non_null(rq);
	assert_int_equal(rq->status, PENDING);
	assert_int_equal(rq->attempts, 0);
	assert_int_equal(rq->requested_ms, 1000);
	assert_int_equal(rq->updated_ms, 1000);
	assert_string_equal(rq->ani, "13900000001");
	assert_string_equal(rq->user_id, "U1");
	assert_int_equal(rq->vip_level, 3);
	kefu__callback_request__free_unpacked(rq, NULL);
	assert_null(get(f, "gw1:c2"));
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "gw1:c1");
}

/* A second request for the same call adds nothing and resets nothing. */
static void test_duplicate_request_is_idempotent(void **state)
{
	struct tmpstore *f = *state;
	Kefu__CallbackRequest *rq;
	struct store_stats st;
	struct req r;
	struct seen s;

	add_ok(f, "c1", 1000);
	req_init(&r, "c1", 5000);
	assert_int_equal(add(f, &r), KF_EEXISTS);
	assert_int_equal(batch_count(f->b), 0);
	assert_int_equal(store_stat(f->s, &st), 0);
	assert_int_equal(st.entries[STORE_CALLBACK], 2); /* the request and its pending key */

	/* Taken by the dialer: a late duplicate does not put it back. */
	assert_int_equal(set_status(f, "gw1:c1", DIALED, 6000), 0);
	assert_int_equal(add(f, &r), KF_EEXISTS);
	rq = get(f, "gw1:c1");
	assert_non_null(rq);
	assert_int_equal(rq->status, DIALED);
	assert_int_equal(rq->requested_ms, 1000);
	kefu__callback_request__free_unpacked(rq, NULL);
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 0);
}

/* Two nodes that both saw no request build their ops before either is
 * applied: the last write wins, and the list shows the call once. */
static void test_raced_duplicate_listed_once(void **state)
{
	struct tmpstore *f = *state;
	struct req a, b;
	struct seen s;

	req_init(&a, "c1", 1000);
	req_init(&b, "c1", 1200);
	b.rq.node = "node2";
	assert_int_equal(add(f, &a), 0);
	assert_int_equal(add(f, &b), 0);
	apply(f);
	add_ok(f, "c0", 1100);
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "gw1:c0");
	assert_string_equal(s.ids[1], "gw1:c1");
	/* Done: no pending key of the call is listed any more. */
	assert_int_equal(set_status(f, "gw1:c1", DONE, 2000), 0);
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "gw1:c0");
}

static void test_pending_in_request_order_with_limit_and_cursor(void **state)
{
	struct tmpstore *f = *state;
	uint8_t cur[CALLBACK_CURSOR_MAX];
	size_t clen;
	struct seen s;

	/* Times of different digit counts: the order is numeric. */
	add_ok(f, "c3", 30000);
	add_ok(f, "c1", 900);
	add_ok(f, "c4", 1700000000000ull);
	add_ok(f, "c2", 9000);
	add_ok(f, "c5", 1700000000000ull); /* same time: by id */
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < 5; i++) {
		char want[16];

		snprintf(want, sizeof(want), "gw1:c%zu", i + 1);
		assert_string_equal(s.ids[i], want);
	}
	pending(f, NULL, 0, 2, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[1], "gw1:c2");
	memcpy(cur, s.cursor, s.clen);
	clen = s.clen;
	pending(f, cur, clen, 2, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "gw1:c3");
	assert_string_equal(s.ids[1], "gw1:c4");
	memcpy(cur, s.cursor, s.clen);
	clen = s.clen;
	pending(f, cur, clen, 2, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "gw1:c5");
	memcpy(cur, s.cursor, s.clen);
	clen = s.clen;
	pending(f, cur, clen, 2, &s);
	assert_int_equal(s.n, 0);
}

static void test_status_moves_in_and_out_of_the_list(void **state)
{
	struct tmpstore *f = *state;
	Kefu__CallbackRequest *rq;
	struct seen s;

	add_ok(f, "c1", 1000);
	add_ok(f, "c2", 2000);
	assert_int_equal(set_status(f, "gw1:c1", DIALED, 3000), 0);
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "gw1:c2");
	/* Not reached: pending again, in its first place. */
	assert_int_equal(set_status(f, "gw1:c1", PENDING, 4000), 0);
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "gw1:c1");
	assert_int_equal(set_status(f, "gw1:c1", DIALED, 5000), 0);
	assert_int_equal(set_status(f, "gw1:c1", DONE, 6000), 0);
	rq = get(f, "gw1:c1");
	assert_non_null(rq);
	assert_int_equal(rq->status, DONE);
	assert_int_equal(rq->attempts, 2);
	assert_int_equal(rq->updated_ms, 6000);
	kefu__callback_request__free_unpacked(rq, NULL);
	/* Final states stay final; unknown ids and statuses are refused. */
	assert_int_equal(set_status(f, "gw1:c1", PENDING, 7000), KF_ESTATE);
	assert_int_equal(set_status(f, "gw1:c2", CANCELLED, 7000), 0);
	assert_int_equal(set_status(f, "gw1:c2", DIALED, 8000), KF_ESTATE);
	assert_int_equal(set_status(f, "gw1:c9", DONE, 8000), KF_ENOTFOUND);
	assert_int_equal(set_status(f, "gw1:c1", (Kefu__CallbackRequest__Status)7, 8000), KF_EPARSE);
	pending(f, NULL, 0, 0, &s);
	assert_int_equal(s.n, 0);
	assert_string_equal(callback_status_name(CANCELLED), "cancelled");
	assert_string_equal(callback_status_name((Kefu__CallbackRequest__Status)9), "?");
}

static void test_list_refuses_long_cursor(void **state)
{
	struct tmpstore *f = *state;
	uint8_t big[CALLBACK_CURSOR_MAX + 1] = {0};
	struct store_txn *t;
	struct seen s = {.n = 0};

	assert_int_equal(store_read_begin(f->s, &t), 0);
	assert_int_equal(callback_list_pending(t, big, sizeof(big), 0, collect, &s), KF_EPARSE);
	store_abort(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_check_refuses_bad_requests),
		T(test_add_stores_a_pending_request),
		T(test_duplicate_request_is_idempotent),
		T(test_raced_duplicate_listed_once),
		T(test_pending_in_request_order_with_limit_and_cursor),
		T(test_status_moves_in_and_out_of_the_list),
		T(test_list_refuses_long_cursor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
