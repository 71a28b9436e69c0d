/*
 * Unit tests of node/routing/conf.c: the routing's rows of kefud's
 * configuration become the settings node/routing/ reads; every wrong value is
 * refused with the option's name; the strategies it accepts are the ones
 * the routing scripts implement.
 */
#include "lib/err.h"
#include "node/config.h"
#include "node/routing/conf.h"
#include "routing/scripts.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* config_load with only --set values (data_dir is required). */
static int load(struct config *c, const char *const *sets, size_t n, struct conf_err *err)
{
	const char *all[16] = {"data_dir=/tmp"};

	assert_true(n < 16);
	for (size_t i = 0; i < n; i++)
		all[i + 1] = sets[i];
	return config_load(c, NULL, all, n + 1, err);
}

static void test_defaults_are_the_documented_tiers(void **state)
{
	struct routing_settings rs;
	struct config c;
	struct conf_err err;
	char why[256];

	(void)state;
	assert_int_equal(load(&c, NULL, 0, &err), 0);
	assert_int_equal(routing_settings_from(&c, &rs, why, sizeof(why)), 0);
	for (unsigned i = 0; i < ROUTING_NTIERS; i++)
		assert_int_equal(rs.tiers[i].level, i);
	assert_string_equal(rs.tiers[0].name, "ordinary");
	assert_string_equal(rs.tiers[0].plan, "full-menu");
	assert_false(rs.tiers[0].greeting);
	assert_int_equal(rs.tiers[0].nladder, 2);
	assert_string_equal(rs.tiers[0].ladder[1].skill, "billing");
	assert_int_equal(rs.tiers[0].ladder[1].after_ms, 120000);
	assert_int_equal(rs.tiers[0].max_wait_ms, 900000);
	assert_string_equal(rs.tiers[0].at_max, "voicemail");
	assert_string_equal(rs.tiers[4].name, "diamond");
	assert_string_equal(rs.tiers[4].plan, "vip-direct");
	assert_true(rs.tiers[4].greeting);
	assert_int_equal(rs.tiers[4].weight_ms, 120000);
	assert_int_equal(rs.tiers[4].sl_ms, 10000);
	assert_int_equal(rs.tiers[4].nladder, 3);
	assert_string_equal(rs.tiers[4].ladder[0].skill, "vip");
	assert_string_equal(rs.tiers[4].at_max, "callback");
	assert_string_equal(rs.strategy[1], "agent-with-fewest-calls");
	assert_string_equal(rs.no_answer, "not_ready");
	assert_int_equal(rs.offer_ms, 12000);
	assert_int_equal(rs.wrap_ms, 10000);
	assert_int_equal(rs.lost_grace_ms, 30000);
	assert_int_equal(rs.lock_after, 5);
	assert_int_equal(rs.lock_ms, 300000);
	assert_int_equal(rs.busy_at, 1000);
	assert_int_equal(rs.ring_step_ms, 5000);
	/* No menu unless configured: calls are queued at once. */
	for (unsigned i = 0; i < ROUTING_NTIERS; i++)
		assert_int_equal(rs.tiers[i].nmenu, 0);
	assert_int_equal(rs.menu_ms, 8000);
}

static void test_operator_values_are_taken(void **state)
{
	const char *sets[] = {"gold_plan=gold-direct", "gold_greeting=yes", "gold_ladder=vip:0s,general:45s",
			      "gold_at_max=voicemail", "general_strategy=ring-all",
			      "no_answer_state=ready", "gateway_grace=2s", "ordinary_weight=0s",
			      "ring_progressive_step=7s", "silver_menu=1:billing,2:general,#:vip",
			      "menu_timeout=5s"};
	struct routing_settings rs;
	struct config c;
	struct conf_err err;
	char why[256];

	(void)state;
	assert_int_equal(load(&c, sets, 11, &err), 0);
	assert_int_equal(routing_settings_from(&c, &rs, why, sizeof(why)), 0);
	assert_int_equal(rs.ring_step_ms, 7000);
	assert_string_equal(rs.tiers[2].plan, "gold-direct");
	assert_true(rs.tiers[2].greeting);
	assert_int_equal(rs.tiers[2].nladder, 2);
	assert_string_equal(rs.tiers[2].ladder[0].skill, "vip");
	assert_string_equal(rs.tiers[2].ladder[1].skill, "general");
	assert_int_equal(rs.tiers[2].ladder[1].after_ms, 45000);
	assert_string_equal(rs.tiers[2].at_max, "voicemail");
	assert_string_equal(rs.strategy[2], "ring-all");
	assert_string_equal(rs.no_answer, "ready");
	assert_int_equal(rs.lost_grace_ms, 2000);
	assert_int_equal(rs.tiers[1].nmenu, 3);
	assert_int_equal(rs.tiers[1].menu[0].digit, '1');
	assert_string_equal(rs.tiers[1].menu[0].skill, "billing");
	assert_int_equal(rs.tiers[1].menu[2].digit, '#');
	assert_string_equal(rs.tiers[1].menu[2].skill, "vip");
	assert_int_equal(rs.tiers[0].nmenu, 0);
	assert_int_equal(rs.menu_ms, 5000);
}

/* Each wrong value: config_load refuses it, naming the option. */
static void test_wrong_values_are_refused_by_name(void **state)
{
	static const struct {
		const char *set, *named;
	} bad[] = {
		{"silver_plan=full menu", "silver_plan"},
		{"gold_ladder=billing:10s,general:30s", "gold_ladder"},   /* first not at 0 */
		{"gold_ladder=billing:0s,general:30s,vip:20s", "gold_ladder"}, /* not rising */
		{"gold_ladder=billing:0s,sales:30s", "gold_ladder"},      /* unknown skill */
		{"gold_ladder=billing:0s,billing:30s", "gold_ladder"},    /* twice */
		{"gold_ladder=billing:0s,general", "gold_ladder"},        /* no duration */
		{"gold_ladder=billing:0s,general:30", "gold_ladder"},     /* no unit */
		{"gold_ladder=billing:0s,general:1s,vip:2s,billing:3s,general:4s", "gold_ladder"},
		{"gold_ladder=billing:0s,general:20m", "gold_ladder"},    /* after max_wait */
		{"diamond_at_max=hangup", "diamond_at_max"},
		{"vip_strategy=fastest", "vip_strategy"},
		{"no_answer_state=logged_out", "no_answer_state"},
		{"offer_timeout=1s", "offer_timeout"},
		{"ring_progressive_step=500ms", "ring_progressive_step"},
		{"ordinary_service_level=0s", "ordinary_service_level"},
		{"gold_menu=1:billing,1:general", "gold_menu"},            /* key twice */
		{"gold_menu=1:sales", "gold_menu"},                        /* unknown skill */
		{"gold_menu=x:billing", "gold_menu"},                      /* not a key */
		{"gold_menu=1billing", "gold_menu"},                       /* no colon */
		{"gold_menu=1:billing,", "gold_menu"},                     /* empty choice */
		{"menu_timeout=100ms", "menu_timeout"},
	};
	struct config c;
	struct conf_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *sets[] = {bad[i].set};

		err.msg[0] = '\0';
		assert_int_equal(load(&c, sets, 1, &err), KF_ECONFIG);
		if (!strstr(err.msg, bad[i].named))
			fail_msg("%s: message \"%s\" does not name %s", bad[i].set, err.msg,
				 bad[i].named);
	}
}

/* The strategies accepted here are exactly the keys of the scripts'
 * STRATEGIES table, so a name the configuration takes never fails in Lua. */
static void test_strategies_match_the_scripts(void **state)
{
	const char *prelude = NULL, *p;
	size_t n = 0, in_lua = 0;

	(void)state;
	for (size_t i = 0; i < ROUTING_SCRIPT_COUNT; i++)
		if (strstr(routing_scripts[i].text, "local STRATEGIES = {"))
			prelude = routing_scripts[i].text;
	assert_non_null(prelude);
	for (n = 0; routing_strategies[n]; n++) {
		char key[64];

		snprintf(key, sizeof(key), "['%s']", routing_strategies[n]);
		if (!strstr(prelude, key))
			fail_msg("strategy %s is not in the scripts", routing_strategies[n]);
		assert_true(routing_strategy_known(routing_strategies[n]));
	}
	p = strstr(prelude, "local STRATEGIES = {");
	for (const char *end = strstr(p, "\n}"); (p = strstr(p, "\n\t['")) && p < end; p++)
		in_lua++;
	assert_int_equal(in_lua, n);
	assert_false(routing_strategy_known("fastest"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_the_documented_tiers),
		cmocka_unit_test(test_operator_values_are_taken),
		cmocka_unit_test(test_wrong_values_are_refused_by_name),
		cmocka_unit_test(test_strategies_match_the_scripts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
