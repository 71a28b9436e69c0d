/*
 * Unit tests for the pure parts of `kefu-sim traffic`: the draws
 * (tests/sim/traffic_dist.c), the summary JSON and its percentiles
 * (traffic_stats.c), double-offer detection (traffic_offers.c) and the
 * calling numbers per tier read from BOSS files (traffic_book.c).
 */
#include "tests/sim/rng.h"
#include "tests/sim/traffic_book.h"
#include "tests/sim/traffic_dist.h"
#include "tests/sim/traffic_offers.h"
#include "tests/sim/traffic_stats.h"

#include "lib/err.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define DRAWS 200000

static const uint64_t sl[TRAFFIC_TIERS] = {60000, 30000, 20000, 15000, 10000};

/* ---- draws ---- */

static double mean_of(uint64_t (*draw)(struct rng *, double), double mean)
{
	struct rng r;
	double sum = 0;

	rng_init(&r, 42, 1, 0);
	for (int i = 0; i < DRAWS; i++)
		sum += (double)draw(&r, mean);
	return sum / DRAWS;
}

static uint64_t lognormal_06(struct rng *r, double mean)
{
	return traffic_dist_lognormal_ms(r, mean, 0.6);
}

static void test_exponential_has_its_mean(void **state)
{
	double m = mean_of(traffic_dist_exp_ms, 1000);

	(void)state;
	assert_true(m > 985 && m < 1015);
}

static void test_lognormal_has_its_mean(void **state)
{
	double m = mean_of(lognormal_06, 12000);

	(void)state;
	assert_true(m > 11800 && m < 12200);
}

static void test_lognormal_without_spread_is_the_mean(void **state)
{
	struct rng r;

	(void)state;
	rng_init(&r, 1, 2, 3);
	assert_int_equal(traffic_dist_lognormal_ms(&r, 5000, 0), 5000);
	assert_int_equal(traffic_dist_exp_ms(&r, 0), 0);
	assert_int_equal(traffic_dist_lognormal_ms(&r, -1, 0.5), 0);
}

static void test_draws_are_capped(void **state)
{
	struct rng r;

	(void)state;
	rng_init(&r, 9, 9, 9);
	for (int i = 0; i < DRAWS; i++) {
		assert_true(traffic_dist_exp_ms(&r, 10) <= 10 * 1000);
		assert_true(traffic_dist_lognormal_ms(&r, 10, 3) <= 10 * 20);
	}
}

static void test_unit_draw_is_inside_zero_one(void **state)
{
	struct rng r;

	(void)state;
	rng_init(&r, 5, 0, 0);
	for (int i = 0; i < DRAWS; i++) {
		double u = traffic_dist_unit(&r);

		assert_true(u > 0 && u < 1);
	}
}

static void test_same_stream_gives_same_draws(void **state)
{
	struct rng a, b, c;
	int differ = 0;

	(void)state;
	rng_init(&a, 7, 0xca11, 12);
	rng_init(&b, 7, 0xca11, 12);
	rng_init(&c, 8, 0xca11, 12);
	for (int i = 0; i < 100; i++) {
		uint64_t x = traffic_dist_exp_ms(&a, 45000);

		assert_int_equal(x, traffic_dist_exp_ms(&b, 45000));
		differ += x != traffic_dist_exp_ms(&c, 45000);
	}
	assert_true(differ > 90);
}

/* ---- summary ---- */

static void test_percentiles_are_nearest_rank(void **state)
{
	struct traffic_stats s;
	uint64_t v;

	(void)state;
	traffic_stats_init(&s, sl);
	for (uint64_t i = 100; i >= 1; i--)
		traffic_stats_latency(&s, i);
	assert_int_equal(traffic_stats_percentile(&s, 500, &v), 0);
	assert_int_equal(v, 50);
	assert_int_equal(traffic_stats_percentile(&s, 990, &v), 0);
	assert_int_equal(v, 99);
	assert_int_equal(traffic_stats_percentile(&s, 1000, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(traffic_stats_percentile(&s, 0, &v), 0);
	assert_int_equal(v, 1);
	traffic_stats_release(&s);
}

static void test_percentile_of_nothing_is_not_found(void **state)
{
	struct traffic_stats s;
	uint64_t v = 7;

	(void)state;
	traffic_stats_init(&s, sl);
	assert_int_equal(traffic_stats_percentile(&s, 500, &v), KF_ENOTFOUND);
	assert_int_equal(v, 7);
	traffic_stats_release(&s);
}

static void test_summary_has_the_contract_shape(void **state)
{
	static const char *const tier_keys[] = {"offered", "answered", "abandoned", "service_level",
						"asa_ms"};
	struct traffic_stats s;
	json_t *j, *tiers, *lat;
	char key[4];

	(void)state;
	traffic_stats_init(&s, sl);
	s.tier[4].offered = 4;
	traffic_stats_answered(&s, 4, 9000);  /* within diamond's 10 s */
	traffic_stats_answered(&s, 4, 11000); /* not */
	s.tier[4].abandoned = 1;
	traffic_stats_latency(&s, 30);
	traffic_stats_latency(&s, 70);
	s.lost_calls = 2;
	s.double_offers = 1;
	j = traffic_stats_json(&s);
	tiers = json_object_get(j, "tiers");
	assert_int_equal(json_object_size(tiers), TRAFFIC_TIERS);
	for (unsigned i = 0; i < TRAFFIC_TIERS; i++) {
		snprintf(key, sizeof(key), "%u", i);
		for (size_t k = 0; k < sizeof(tier_keys) / sizeof(tier_keys[0]); k++)
			assert_non_null(json_object_get(json_object_get(tiers, key), tier_keys[k]));
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tiers, "4"), "offered")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tiers, "4"), "answered")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tiers, "4"), "abandoned")), 1);
	assert_true(json_real_value(json_object_get(json_object_get(tiers, "4"), "service_level")) == 0.25);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tiers, "4"), "asa_ms")), 10000);
	lat = json_object_get(j, "route_latency_ms");
	assert_int_equal(json_integer_value(json_object_get(lat, "p50")), 30);
	assert_int_equal(json_integer_value(json_object_get(lat, "p99")), 70);
	assert_int_equal(json_integer_value(json_object_get(lat, "max")), 70);
	assert_int_equal(json_integer_value(json_object_get(j, "lost_calls")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "double_offers")), 1);
	json_decref(j);
	traffic_stats_release(&s);
}

static void test_summary_is_null_where_nothing_was_counted(void **state)
{
	struct traffic_stats s;
	json_t *j, *t0;

	(void)state;
	traffic_stats_init(&s, sl);
	j = traffic_stats_json(&s);
	t0 = json_object_get(json_object_get(j, "tiers"), "0");
	assert_true(json_is_null(json_object_get(t0, "service_level")));
	assert_true(json_is_null(json_object_get(t0, "asa_ms")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "route_latency_ms"), "p99")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "route_latency_ms"), "max")));
	json_decref(j);
	traffic_stats_release(&s);
}

static void test_answers_outside_the_threshold_miss_the_service_level(void **state)
{
	struct traffic_stats s;

	(void)state;
	traffic_stats_init(&s, sl);
	traffic_stats_answered(&s, 0, 60000);
	traffic_stats_answered(&s, 0, 60001);
	assert_int_equal(s.tier[0].answered, 2);
	assert_int_equal(s.tier[0].answered_in_sl, 1);
	assert_int_equal(s.tier[0].wait_ms, 120001);
	traffic_stats_release(&s);
}

/* ---- double offers ---- */

static void test_offer_while_another_agent_holds_one_is_double(void **state)
{
	struct traffic_holds h = {.n = 0};

	(void)state;
	assert_false(traffic_holds_offer(&h, 1, 1000, 13000));
	assert_true(traffic_holds_offer(&h, 2, 5000, 17000));
	assert_int_equal(traffic_holds_count(&h, 5000), 2);
}

static void test_offer_after_the_deadline_is_not_double(void **state)
{
	struct traffic_holds h = {.n = 0};

	(void)state;
	assert_false(traffic_holds_offer(&h, 1, 1000, 13000));
	assert_false(traffic_holds_offer(&h, 2, 13000, 25000));
	assert_int_equal(traffic_holds_count(&h, 13000), 1);
}

static void test_offer_after_a_release_is_not_double(void **state)
{
	struct traffic_holds h = {.n = 0};

	(void)state;
	assert_false(traffic_holds_offer(&h, 1, 1000, 13000));
	traffic_holds_release(&h, 1);
	assert_false(traffic_holds_offer(&h, 2, 2000, 14000));
}

static void test_same_agent_offered_again_is_not_double(void **state)
{
	struct traffic_holds h = {.n = 0};

	(void)state;
	assert_false(traffic_holds_offer(&h, 3, 1000, 13000));
	assert_false(traffic_holds_offer(&h, 3, 2000, 14000));
	assert_int_equal(h.n, 1);
	assert_int_equal(h.h[0].until_ms, 14000);
}

static void test_answered_call_is_held_until_released(void **state)
{
	struct traffic_holds h = {.n = 0};

	(void)state;
	assert_false(traffic_holds_offer(&h, 1, 1000, 13000));
	traffic_holds_keep(&h, 1);
	assert_true(traffic_holds_offer(&h, 2, 500000, 512000));
	traffic_holds_release(&h, 1);
	traffic_holds_release(&h, 2);
	assert_int_equal(traffic_holds_count(&h, 0), 0);
}

static void test_holds_stay_bounded(void **state)
{
	struct traffic_holds h = {.n = 0};

	(void)state;
	assert_false(traffic_holds_offer(&h, 0, 0, TRAFFIC_HOLD_FOREVER));
	for (uint32_t a = 1; a < 10; a++)
		assert_true(traffic_holds_offer(&h, a, a, TRAFFIC_HOLD_FOREVER));
	assert_int_equal(h.n, TRAFFIC_HOLDS_MAX);
}

/* ---- calling numbers from BOSS files ---- */

struct dir {
	char path[64];
};

static void write_file(const struct dir *d, const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int book_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/test_traffic.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	write_file(d, "SC_CUST_20261101020000_000001.dat",
		   "A|6600000001|乔秀英|P|ID|51070419711018605X|四川省绵阳市|08162085293|0||20130801071953\n"
		   "A|6600000002|张辉芳|P|ID|51011219731128290X|四川省成都市|19898092096|2|MGR0213|20080606065643\n"
		   "A|6600000003|刘敏|P|ID|511302197311052388|四川省南充市|15712351391|4|MGR0219|20080717004118\n");
	write_file(d, "SC_USER_20261101020000_000001.dat",
		   "A|8800000001|15119232750|6600000001|全球通|P0588|1|20240601202315|0|2700|0\n"
		   "A|8800000002|17285882417|6600000002|神州行|P0018|1|20260207214107|5|22923|0\n"
		   "A|8800000003|13900000003|6600000003|全球通|P0588|4|20240601202315|0|0|0\n"
		   "A|8800000004|13900000004|6600000003|全球通|P0588|3|20240601202315|0|-500|500\n"
		   "not a record\n");
	/* A day later: customer 1 becomes gold, user 2 leaves. */
	write_file(d, "SC_CUST_20261102020000_000002.dat",
		   "M|6600000001|乔秀英|P|ID|51070419711018605X|四川省绵阳市|08162085293|2|MGR0001|20130801071953\n");
	write_file(d, "SC_USER_20261102020000_000002.dat", "D|8800000002\n");
	write_file(d, "notes.txt", "not a BOSS file\n");
	*state = d;
	return 0;
}

static int book_teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
	free(d);
	return 0;
}

static void test_book_files_are_in_boss_order(void **state)
{
	struct dir *d = *state;
	char **paths;
	size_t n;

	assert_int_equal(traffic_book_files(d->path, ~0u, &paths, &n), 0);
	assert_int_equal(n, 4);
	assert_non_null(strstr(paths[0], "CUST_20261101"));
	assert_non_null(strstr(paths[1], "USER_20261101"));
	assert_non_null(strstr(paths[2], "CUST_20261102"));
	assert_non_null(strstr(paths[3], "USER_20261102"));
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

static void test_book_files_numbers_by_final_vip_level(void **state)
{
	struct dir *d = *state;
	struct traffic_book b;
	char why[256];
	struct rng r;

	assert_int_equal(traffic_book_load(&b, d->path, why, sizeof(why)), 0);
	/* User 1: customer 1 moved from 0 to gold. User 2: deleted. User 3:
	 * cancelled. User 4: diamond, stopped for arrears but still a caller. */
	assert_int_equal(b.n[0], 0);
	assert_int_equal(b.n[2], 1);
	assert_string_equal(b.num[2][0], "15119232750");
	assert_int_equal(b.n[4], 1);
	assert_string_equal(b.num[4][0], "13900000004");
	assert_int_equal(b.skipped, 1);
	rng_init(&r, 1, 1, 1);
	assert_string_equal(traffic_book_pick(&b, 4, &r), "13900000004");
	assert_null(traffic_book_pick(&b, 1, &r));
	traffic_book_release(&b);
}

static void test_book_of_an_empty_folder_is_not_found(void **state)
{
	struct traffic_book b;
	char dir[] = "/tmp/test_traffic_empty.XXXXXX", why[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(traffic_book_load(&b, dir, why, sizeof(why)), KF_ENOTFOUND);
	rmdir(dir);
	assert_true(traffic_book_load(&b, "/nonexistent/traffic", why, sizeof(why)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exponential_has_its_mean),
		cmocka_unit_test(test_lognormal_has_its_mean),
		cmocka_unit_test(test_lognormal_without_spread_is_the_mean),
		cmocka_unit_test(test_draws_are_capped),
		cmocka_unit_test(test_unit_draw_is_inside_zero_one),
		cmocka_unit_test(test_same_stream_gives_same_draws),
		cmocka_unit_test(test_percentiles_are_nearest_rank),
		cmocka_unit_test(test_percentile_of_nothing_is_not_found),
		cmocka_unit_test(test_summary_has_the_contract_shape),
		cmocka_unit_test(test_summary_is_null_where_nothing_was_counted),
		cmocka_unit_test(test_answers_outside_the_threshold_miss_the_service_level),
		cmocka_unit_test(test_offer_while_another_agent_holds_one_is_double),
		cmocka_unit_test(test_offer_after_the_deadline_is_not_double),
		cmocka_unit_test(test_offer_after_a_release_is_not_double),
		cmocka_unit_test(test_same_agent_offered_again_is_not_double),
		cmocka_unit_test(test_answered_call_is_held_until_released),
		cmocka_unit_test(test_holds_stay_bounded),
		cmocka_unit_test_setup_teardown(test_book_files_are_in_boss_order, book_setup,
						book_teardown),
		cmocka_unit_test_setup_teardown(test_book_files_numbers_by_final_vip_level,
						book_setup, book_teardown),
		cmocka_unit_test(test_book_of_an_empty_folder_is_not_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
