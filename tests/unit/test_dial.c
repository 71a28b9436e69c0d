/*
 * Unit tests of storage/dial.c: numbers and entries are checked; the
 * do-not-call list blocks a listed number (and a number it cannot read
 * counts as blocked); entries list in number order, page by page from a
 * cursor; removing takes a number off.
 */
#include "lib/err.h"
#include "storage/batch.h"
#include "storage/dial.h"
#include "storage/store.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_check(void **state)
{
	Kefu__DncEntry e = KEFU__DNC_ENTRY__INIT;
	char why[64];

	(void)state;
	assert_true(dial_msisdn_is_valid("13800000001"));
	assert_false(dial_msisdn_is_valid("1380"));
	assert_false(dial_msisdn_is_valid("1380000000a"));
	assert_false(dial_msisdn_is_valid("123456789012345678901"));
	assert_false(dial_msisdn_is_valid(NULL));
	e.msisdn = "13800000001";
	e.source = "company";
	assert_int_equal(dial_dnc_check(&e, why, sizeof(why)), 0);
	e.source = "friend";
	assert_int_equal(dial_dnc_check(&e, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "company or customer"));
	e.source = "customer";
	e.reason = "a\x01";
	assert_int_equal(dial_dnc_check(&e, why, sizeof(why)), KF_EPARSE);
}

static int collect(void *arg, const Kefu__DncEntry *e)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s ", e->msisdn);
	return 0;
}

static void test_list(void **state)
{
	struct tmpstore ts;
	struct store_txn *t;
	const char *nums[] = {"13800000003", "13800000001", "13800000002", "02812345678"};
	char got[256] = "";
	uint8_t cur[DIAL_CURSOR_MAX];
	size_t clen;
	bool blocked;

	(void)state;
	assert_int_equal(tmpstore_open(&ts, "dial"), 0);
	for (size_t i = 0; i < 4; i++) {
		Kefu__DncEntry e = KEFU__DNC_ENTRY__INIT;

		e.msisdn = (char *)nums[i];
		e.source = "company";
		assert_int_equal(dial_dnc_put(ts.b, &e), 0);
	}
	assert_int_equal(store_write_begin(ts.s, &t), 0);
	assert_int_equal(batch_apply(t, ts.b), 0);
	assert_int_equal(store_commit(t), 0);
	batch_reset(ts.b);

	assert_int_equal(store_read_begin(ts.s, &t), 0);
	assert_int_equal(dial_dnc_blocks(t, "13800000002", &blocked), 0);
	assert_true(blocked);
	assert_int_equal(dial_dnc_blocks(t, "13800000009", &blocked), 0);
	assert_false(blocked);
	/* A prefix of a listed number is another number. */
	assert_int_equal(dial_dnc_blocks(t, "1380000000", &blocked), 0);
	assert_false(blocked);
	assert_int_equal(dial_dnc_blocks(t, "x", &blocked), KF_EPARSE);
	assert_true(blocked);
	assert_int_equal(dial_dnc_list(t, NULL, 0, 2, collect, got), 0);
	assert_string_equal(got, "02812345678 13800000001 ");
	{
		Kefu__DncEntry last = KEFU__DNC_ENTRY__INIT;

		last.msisdn = "13800000001";
		clen = dial_dnc_cursor(&last, cur);
	}
	got[0] = '\0';
	assert_int_equal(dial_dnc_list(t, cur, clen, 0, collect, got), 0);
	assert_string_equal(got, "13800000002 13800000003 ");
	store_abort(t);

	assert_int_equal(dial_dnc_del(ts.b, "13800000002"), 0);
	assert_int_equal(store_write_begin(ts.s, &t), 0);
	assert_int_equal(batch_apply(t, ts.b), 0);
	assert_int_equal(store_commit(t), 0);
	assert_int_equal(store_read_begin(ts.s, &t), 0);
	assert_int_equal(dial_dnc_blocks(t, "13800000002", &blocked), 0);
	assert_false(blocked);
	store_abort(t);
	tmpstore_close(&ts);
}

static void test_campaign(void **state)
{
	Kefu__Campaign *c = calloc(1, sizeof(*c));
	unsigned from, to;
	char why[128];

	(void)state;
	kefu__campaign__init(c);
	assert_int_equal(dial_window_parse("08:00-21:00", &from, &to), 0);
	assert_int_equal(from, 480);
	assert_int_equal(to, 1260);
	assert_int_equal(dial_window_parse("00:00-24:00", &from, &to), 0);
	assert_int_equal(to, 1440);
	assert_int_equal(dial_window_parse("21:00-08:00", &from, &to), KF_EPARSE);
	assert_int_equal(dial_window_parse("8:00-21:00", &from, &to), KF_EPARSE);
	assert_int_equal(dial_window_parse("08:60-21:00", &from, &to), KF_EPARSE);
	assert_int_equal(dial_window_parse("08:00-24:01", &from, &to), KF_EPARSE);
	c->name = strdup("mk-1");
	c->kind = strdup("marketing");
	c->mode = strdup("predictive");
	c->source = strdup("callbacks");
	dial_campaign_defaults(c);
	assert_string_equal(c->window, "08:00-21:00");
	assert_true(c->weekdays_only);
	assert_int_equal(c->abandon_cap, 30);
	assert_int_equal(c->abandon_window_ms, 30ull * 86400000);
	assert_int_equal(c->n_retries, 4);
	assert_int_equal(dial_campaign_check(c, why, sizeof(why)), 0);
	free(c->mode);
	c->mode = strdup("auto");
	assert_int_equal(dial_campaign_check(c, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "preview, progressive or predictive"));
	free(c->mode);
	c->mode = strdup("preview");
	free(c->source);
	c->source = strdup("query");
	assert_int_equal(dial_campaign_check(c, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "query"));
	c->abandon_window_ms = 7 * 86400000ull;
	free(c->source);
	c->source = strdup("file");
	assert_int_equal(dial_campaign_check(c, why, sizeof(why)), KF_EPARSE);
	assert_non_null(strstr(why, "24h or 30d"));
	free(c->name);
	c->name = strdup("Bad Name");
	assert_int_equal(dial_campaign_check(c, why, sizeof(why)), KF_EPARSE);
	kefu__campaign__free_unpacked(c, NULL);
}

static int collect_attempt(void *arg, const Kefu__DialAttempt *a)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s%s:%s", n ? " " : "", a->id, a->result ? a->result : "");
	return 0;
}

/* Attempts are kept per campaign in id order; a campaign's prefix takes
 * none of another's whose name starts the same; contacts are read back. */
static void test_attempts(void **state)
{
	struct tmpstore ts;
	struct store_txn *t;
	static const char *const rows[][3] = {
		{"c1", "a-2", "busy"}, {"c1", "a-1", "human"}, {"c10", "a-1", ""}, {"c1", "a-3", ""},
	};
	Kefu__CampaignContact k = KEFU__CAMPAIGN_CONTACT__INIT, *got = NULL;
	Kefu__DialAttempt *a = NULL, bad = KEFU__DIAL_ATTEMPT__INIT;
	char list[256] = "";

	(void)state;
	assert_int_equal(tmpstore_open(&ts, "dialatt"), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		Kefu__DialAttempt x = KEFU__DIAL_ATTEMPT__INIT;

		x.campaign = (char *)rows[i][0];
		x.id = (char *)rows[i][1];
		x.result = (char *)rows[i][2];
		assert_int_equal(dial_attempt_put(ts.b, &x), 0);
	}
	bad.campaign = "c1";
	assert_int_equal(dial_attempt_put(ts.b, &bad), KF_EPARSE);
	k.campaign = "c1";
	k.has_seq = 1;
	k.seq = 7;
	k.msisdn = "13900000007";
	k.state = "dialing";
	k.has_dropped_ms = 1;
	k.dropped_ms = 123;
	assert_int_equal(dial_contact_put(ts.b, &k), 0);
	assert_int_equal(store_write_begin(ts.s, &t), 0);
	assert_int_equal(batch_apply(t, ts.b), 0);
	assert_int_equal(store_commit(t), 0);

	assert_int_equal(store_read_begin(ts.s, &t), 0);
	assert_int_equal(dial_attempts_each(t, "c1", collect_attempt, list), 0);
	assert_string_equal(list, "a-1:human a-2:busy a-3:");
	assert_int_equal(dial_attempt_get(t, "c10", "a-1", &a), 0);
	assert_string_equal(a->campaign, "c10");
	kefu__dial_attempt__free_unpacked(a, NULL);
	assert_int_equal(dial_attempt_get(t, "c2", "a-1", &a), KF_ENOTFOUND);
	assert_null(a);
	assert_int_equal(dial_contact_get(t, "c1", 7, &got), 0);
	assert_string_equal(got->state, "dialing");
	assert_int_equal(got->dropped_ms, 123);
	kefu__campaign_contact__free_unpacked(got, NULL);
	assert_int_equal(dial_contact_get(t, "c1", 8, &got), KF_ENOTFOUND);
	store_abort(t);
	tmpstore_close(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_campaign),
		cmocka_unit_test(test_attempts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
