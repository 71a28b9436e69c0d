/*
 * Unit tests of storage/opsstat.c and node/ops/conf.c: the keys of table
 * ops sort by kind, time and name and parse back; Redis field names split
 * into kind, name and counter or are refused; counters add (max_wait_ms is
 * a maximum, not-ready time goes by reason); sums merge; each indicator of
 * docs/ops.md is what its formula says and undefined with nothing to
 * divide by; a closed interval is written once with its rows and scanned
 * back by kind and range; stats_interval and the tier targets load and a
 * bad interval is refused.
 */
#include "lib/conf.h"
#include "lib/err.h"
#include "node/config.h"
#include "node/ops/conf.h"
#include "storage/batch.h"
#include "storage/opsstat.h"
#include "storage/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_keys(void **state)
{
	uint8_t a[OPS_KEY_MAX], b[OPS_KEY_MAX];
	size_t la, lb;
	char kind, name[OPS_NAME_MAX];
	uint64_t start;
	char longname[OPS_NAME_MAX + 1];

	(void)state;
	la = opsstat_key(a, OPS_KIND_TIER, 1000, "4");
	lb = opsstat_key(b, OPS_KIND_TIER, 900000, "0");
	assert_int_equal(la, 10);
	/* Time before name: the earlier interval sorts first whatever the name. */
	assert_true(store_key_cmp(a, la, b, lb) < 0);
	assert_true(opsstat_key_parse(b, lb, &kind, &start, name));
	assert_int_equal(kind, OPS_KIND_TIER);
	assert_int_equal(start, 900000);
	assert_string_equal(name, "0");
	la = opsstat_key(a, OPS_KIND_CLOSED, 5, "");
	assert_true(opsstat_key_parse(a, la, &kind, &start, name));
	assert_int_equal(kind, OPS_KIND_CLOSED);
	assert_string_equal(name, "");
	memset(longname, 'x', OPS_NAME_MAX);
	longname[OPS_NAME_MAX] = '\0';
	assert_int_equal(opsstat_key(a, OPS_KIND_AGENT, 1, longname), 0);
	/* Not ours: an unknown kind, too short. */
	a[0] = 'q';
	assert_false(opsstat_key_parse(a, la, &kind, &start, name));
	assert_false(opsstat_key_parse(a, 5, &kind, &start, name));
}

static void test_fields(void **state)
{
	char kind, name[OPS_NAME_MAX];
	const char *counter;
	size_t clen;
	const char *f = "a:sim001:nr:lunch break";

	(void)state;
	assert_true(opsstat_field(f, strlen(f), &kind, name, &counter, &clen));
	assert_int_equal(kind, OPS_KIND_AGENT);
	assert_string_equal(name, "sim001");
	assert_int_equal(clen, strlen("nr:lunch break"));
	assert_memory_equal(counter, "nr:lunch break", clen);
	f = "s:billing:offered";
	assert_true(opsstat_field(f, strlen(f), &kind, name, &counter, &clen));
	assert_string_equal(name, "billing");
	assert_false(opsstat_field("x:1:offered", 11, &kind, name, &counter, &clen));
	assert_false(opsstat_field("t::offered", 10, &kind, name, &counter, &clen));
	assert_false(opsstat_field("t:0:", 4, &kind, name, &counter, &clen));
	assert_false(opsstat_field("t:0", 3, &kind, name, &counter, &clen));
	assert_false(opsstat_field("t0offered", 9, &kind, name, &counter, &clen));
}

static int add(Kefu__OpsCounts *c, const char *counter, uint64_t v)
{
	return opsstat_add(c, counter, strlen(counter), v);
}

static void test_add_and_sum(void **state)
{
	Kefu__OpsCounts *a = opsstat_counts_new(), *b = opsstat_counts_new();

	(void)state;
	assert_int_equal(add(a, "offered", 3), 0);
	assert_int_equal(add(a, "offered", 2), 0);
	assert_int_equal(add(a, "max_wait_ms", 9000), 0);
	assert_int_equal(add(a, "max_wait_ms", 4000), 0);
	assert_int_equal(add(a, "nr:lunch", 60000), 0);
	assert_int_equal(add(a, "nr:", 1000), 0);
	assert_int_equal(add(a, "nr:lunch", 5000), 0);
	assert_int_equal(add(a, "no_such_counter", 1), KF_ENOTFOUND);
	assert_int_equal(add(a, "not_ready", 1), KF_ENOTFOUND); /* repeated, not a count */
	assert_int_equal(a->offered, 5);
	assert_true(a->has_offered);
	assert_int_equal(a->max_wait_ms, 9000);
	assert_int_equal(a->n_not_ready, 2);
	assert_string_equal(a->not_ready[0]->reason, "lunch");
	assert_int_equal(a->not_ready[0]->ms, 65000);
	assert_false(a->has_answered);

	assert_int_equal(add(b, "offered", 1), 0);
	assert_int_equal(add(b, "max_wait_ms", 12000), 0);
	assert_int_equal(add(b, "nr:lunch", 1), 0);
	assert_int_equal(add(b, "nr:training", 7), 0);
	opsstat_sum(a, b);
	assert_int_equal(a->offered, 6);
	assert_int_equal(a->max_wait_ms, 12000);
	assert_int_equal(a->n_not_ready, 3);
	assert_int_equal(a->not_ready[0]->ms, 65001);
	assert_string_equal(a->not_ready[2]->reason, "training");
	/* Built counts pack and unpack like any message, and free alike. */
	{
		size_t len = kefu__ops_counts__get_packed_size(a);
		uint8_t *buf = malloc(len);
		Kefu__OpsCounts *back;

		assert_non_null(buf);
		kefu__ops_counts__pack(a, buf);
		back = kefu__ops_counts__unpack(NULL, len, buf);
		assert_non_null(back);
		assert_int_equal(back->offered, 6);
		assert_int_equal(back->n_not_ready, 3);
		kefu__ops_counts__free_unpacked(back, NULL);
		free(buf);
	}
	kefu__ops_counts__free_unpacked(a, NULL);
	kefu__ops_counts__free_unpacked(b, NULL);
}

static void test_figures(void **state)
{
	Kefu__OpsCounts c = KEFU__OPS_COUNTS__INIT;
	struct opsstat_figures f;

	(void)state;
	opsstat_figures(&c, false, &f);
	assert_false(f.has_service_level || f.has_sl2 || f.has_answer_rate || f.has_asa ||
		     f.has_aht || f.has_occupancy);
	c.offered = 10;
	c.answered = 7;
	c.abandoned = 2;
	c.overflowed = 1;
	c.answered_in_sl = 5;
	c.abandoned_in_sl = 1;
	c.wait_ms = 70000;
	c.handled = 7;
	c.talk_ms = 700000;
	c.wrap_ms = 70000;
	opsstat_figures(&c, false, &f);
	assert_true(f.has_service_level && f.has_sl2 && f.has_answer_rate && f.has_asa && f.has_aht);
	assert_float_equal(f.service_level, 0.5, 1e-12);
	assert_float_equal(f.sl2, 6.0 / 9.0, 1e-12);
	assert_float_equal(f.answer_rate, 0.7, 1e-12);
	assert_float_equal(f.asa_ms, 10000, 1e-9);
	assert_float_equal(f.aht_ms, 110000, 1e-9);
	assert_false(f.has_occupancy);
	/* An agent: AHT per call answered, occupancy of its logged-in time. */
	memset(&c, 0, sizeof(c));
	kefu__ops_counts__init(&c);
	c.calls = 4;
	c.talk_ms = 400;
	c.wrap_ms = 100;
	c.ring_ms = 100;
	c.ready_ms = 400;
	opsstat_figures(&c, true, &f);
	assert_float_equal(f.aht_ms, 125, 1e-9);
	assert_float_equal(f.occupancy, 0.6, 1e-12);
}

struct seen {
	size_t n;
	uint64_t offered;
	char names[8][OPS_NAME_MAX];
	uint64_t starts[8];
};

static int visit(void *arg, uint64_t start, const char *name, const Kefu__OpsCounts *c)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->names[s->n], OPS_NAME_MAX, "%s", name);
		s->starts[s->n] = start;
	}
	s->n++;
	if (c)
		s->offered += c->offered;
	return 0;
}

static void test_store(void **state)
{
	char dir[] = "/tmp/kefu-test-ops-XXXXXX";
	struct store *st;
	struct store_txn *t;
	struct batch *b = batch_new(1 << 20);
	Kefu__OpsCounts c0 = KEFU__OPS_COUNTS__INIT, c1 = KEFU__OPS_COUNTS__INIT;
	Kefu__OpsCounts *counts[3] = {&c0, &c1, &c0};
	const char *names[3] = {"0", "4", "billing"};
	const char kinds[3] = {OPS_KIND_TIER, OPS_KIND_TIER, OPS_KIND_SKILL};
	struct seen s = {0};
	uint64_t last;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, NULL, &st), 0);
	c0.has_offered = c1.has_offered = 1;
	c0.offered = 3;
	c1.offered = 4;
	for (uint64_t start = 0; start < 3 * 900000; start += 900000) {
		batch_reset(b);
		assert_int_equal(opsstat_put_interval(b, start, 900000, start + 905000, "node1", kinds,
						      names, counts, 3), 0);
		assert_int_equal(store_write_begin(st, &t), 0);
		assert_int_equal(opsstat_closed(t, start), KF_ENOTFOUND);
		assert_int_equal(batch_apply(t, b), 0);
		assert_int_equal(opsstat_closed(t, start), 0);
		assert_int_equal(store_commit(t), 0);
	}
	/* A bad row is refused whole. */
	batch_reset(b);
	{
		const char bad_kinds[1] = {OPS_KIND_CLOSED};

		assert_int_equal(opsstat_put_interval(b, 1, 900000, 2, "n", bad_kinds, names, counts, 1),
				 KF_EPARSE);
	}
	assert_int_equal(store_read_begin(st, &t), 0);
	assert_int_equal(opsstat_last_closed(t, &last), 0);
	assert_int_equal(last, 2 * 900000);
	/* Tiers of the intervals starting in [900000, 2700000): the second and third. */
	assert_int_equal(opsstat_scan(t, OPS_KIND_TIER, 900000, 2700000, visit, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.offered, 14);
	assert_string_equal(s.names[0], "0");
	assert_string_equal(s.names[1], "4");
	assert_int_equal(s.starts[0], 900000);
	assert_int_equal(s.starts[3], 1800000);
	memset(&s, 0, sizeof(s));
	assert_int_equal(opsstat_scan(t, OPS_KIND_SKILL, 0, UINT64_MAX, visit, &s), 0);
	assert_int_equal(s.n, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(opsstat_scan(t, OPS_KIND_CLOSED, 0, 900001, visit, &s), 0);
	assert_int_equal(s.n, 2);
	store_abort(t);
	batch_free(b);
	store_free(st);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/data.mdb", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/lock.mdb", dir);
		unlink(p);
		rmdir(dir);
	}
}

static struct config cfg;

static int load(const char *text)
{
	struct conf_err err;

	conf_defaults(config_table, config_table_len, &cfg);
	return conf_parse(config_table, config_table_len, &cfg, text, strlen(text), &err);
}

static void test_conf(void **state)
{
	struct ops_settings s;
	char why[256];

	(void)state;
	assert_int_equal(load(""), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), 0);
	assert_int_equal(s.interval_ms, 900000);
	assert_string_equal(s.tiers[4].name, "diamond");
	assert_int_equal(s.tiers[4].sl_target, 900);
	assert_int_equal(s.tiers[4].answer_target, 980);
	assert_int_equal(s.tiers[4].sl_ms, 10000);
	assert_int_equal(load("stats_interval = 0\ngold_sl_target = 0.7\n"
			      "gold_answer_target = 95%\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), 0);
	assert_int_equal(s.interval_ms, 0);
	assert_int_equal(s.tiers[2].sl_target, 700);
	assert_int_equal(s.tiers[2].answer_target, 950);
	/* 7 minutes do not divide an hour; 90 s is no whole number of minutes;
	 * 45 s does not divide a minute, 10 s is too short, 20.5 s no whole
	 * number of seconds; 20 s is a short trial's interval. */
	assert_int_equal(load("stats_interval = 7m\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "stats_interval"));
	assert_int_equal(load("stats_interval = 90s\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), KF_ECONFIG);
	assert_int_equal(load("stats_interval = 45s\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), KF_ECONFIG);
	assert_int_equal(load("stats_interval = 10s\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), KF_ECONFIG);
	assert_int_equal(load("stats_interval = 20500ms\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), KF_ECONFIG);
	assert_int_equal(load("stats_interval = 20s\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), 0);
	assert_int_equal(s.interval_ms, 20000);
	assert_int_equal(load("stats_interval = 30m\n"), 0);
	assert_int_equal(ops_settings_from(&cfg, &s, why, sizeof(why)), 0);
	/* Above an hour, or a target above 1: refused by the table itself. */
	assert_int_not_equal(load("stats_interval = 2h\n"), 0);
	assert_int_not_equal(load("diamond_sl_target = 1.5\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_add_and_sum),
		cmocka_unit_test(test_figures),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
