/*
 * Unit tests of lib/erlang.c: the published 48 Erlang example, Erlang B and
 * C against an independent log-space formula (lgamma and log-sum-exp) up to
 * 500 agents, the unstable case, the fewest agents for 80% in 20 s, and
 * Erlang A: close to Erlang C when callers wait almost forever, abandoning
 * and waiting less when they do not, and the same measures two ways.
 */
#include "lib/erlang.h"

#include "lib/err.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define assert_near(got, want, tol) \
	assert_true(fabs((double)(got) - (double)(want)) <= (tol))
#define assert_rel(got, want, rel) \
	assert_true(fabs((double)(got) - (double)(want)) <= (rel) * fabs((double)(want)))

/* log(A^k / k!) */
static double lterm(unsigned k, double a)
{
	return k * log(a) - lgamma(k + 1.0);
}

/* log(sum_{k=0..n} A^k / k!), by log-sum-exp. */
static double lsum(unsigned n, double a)
{
	double m = -INFINITY, s = 0;

	for (unsigned k = 0; k <= n; k++)
		if (lterm(k, a) > m)
			m = lterm(k, a);
	for (unsigned k = 0; k <= n; k++)
		s += exp(lterm(k, a) - m);
	return m + log(s);
}

/* Erlang B = (A^n/n!) / sum_{k<=n} A^k/k!, in log space. */
static double log_b(unsigned n, double a)
{
	return exp(lterm(n, a) - lsum(n, a));
}

/* Erlang C = X / (sum_{k<n} A^k/k! + X), X = A^n/n! * n/(n-A), in log space. */
static double log_c(unsigned n, double a)
{
	double lx = lterm(n, a) + log(n / (n - a)), ls = lsum(n - 1, a);
	double m = lx > ls ? lx : ls;

	return exp(lx - (m + log(exp(lx - m) + exp(ls - m))));
}

static void test_known_example(void **state)
{
	struct erlang_result e;

	(void)state;
	/* 720 calls an hour (48 Erlangs at 240 s), 55 agents, 15 s. */
	assert_int_equal(erlang_c_eval(55, 720.0 / 3600 * 240, 240, 15, &e), 0);
	assert_true(e.stable);
	assert_near(e.service_level, 0.846, 0.001);
	assert_near(e.asa_s, 8.2, 0.05);
	assert_near(e.occupancy, 48.0 / 55, 1e-12);
	assert_near(e.p_abandon, 0, 0);
	assert_rel(e.p_wait, log_c(55, 48), 1e-9);
}

static void test_textbook_values(void **state)
{
	(void)state;
	/* Exact by hand: B(1, A) = A/(1+A); C(2, 1) = 1/3; C(3, 2) = 4/9. */
	assert_near(erlang_b(1, 3), 0.75, 1e-15);
	assert_near(erlang_b(0, 7), 1, 0);
	assert_near(erlang_c(2, 1), 1.0 / 3, 1e-15);
	assert_near(erlang_c(3, 2), 4.0 / 9, 1e-15);
	/* Tables: B(10 lines, 5 Erlangs) = 0.01838. */
	assert_near(erlang_b(10, 5), 0.01838, 0.00001);
	/* Against the log-space formula. */
	static const struct {
		unsigned n;
		double a;
	} cases[] = {{5, 2.5}, {10, 5}, {20, 15}, {55, 48}, {100, 90.5}, {200, 180}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_rel(erlang_b(cases[i].n, cases[i].a), log_b(cases[i].n, cases[i].a), 1e-11);
		assert_rel(erlang_c(cases[i].n, cases[i].a), log_c(cases[i].n, cases[i].a), 1e-11);
	}
}

/* 500 agents at 480 Erlangs: no overflow, the log-space answer to 1e-9. */
static void test_five_hundred_agents(void **state)
{
	struct erlang_result e;
	double c = log_c(500, 480);

	(void)state;
	assert_rel(erlang_b(500, 480), log_b(500, 480), 1e-9);
	assert_int_equal(erlang_c_eval(500, 480, 180, 20, &e), 0);
	assert_rel(e.p_wait, c, 1e-9);
	assert_rel(e.service_level, 1 - c * exp(-20.0 * 20 / 180), 1e-9);
	assert_rel(e.asa_s, c * 180 / 20, 1e-9);
	/* ...and the largest size accepted. */
	assert_int_equal(erlang_c_eval(ERLANG_AGENTS_MAX, 99000, 180, 20, &e), 0);
	assert_true(e.p_wait > 0 && e.p_wait < 1 && isfinite(e.asa_s));
}

/* N <= A: documented values, not an error. Bad inputs: -EINVAL. */
static void test_unstable_and_bad_inputs(void **state)
{
	struct erlang_result e;

	(void)state;
	assert_near(erlang_c(48, 48), 1, 0);
	assert_near(erlang_c(40, 48), 1, 0);
	assert_int_equal(erlang_c_eval(48, 48, 240, 15, &e), 0);
	assert_false(e.stable);
	assert_near(e.p_wait, 1, 0);
	assert_near(e.service_level, 0, 0);
	assert_true(isinf(e.asa_s));
	assert_near(e.occupancy, 1, 0);
	assert_int_equal(erlang_c_eval(0, 48, 240, 15, &e), -EINVAL);
	assert_int_equal(erlang_c_eval(ERLANG_AGENTS_MAX + 1, 48, 240, 15, &e), -EINVAL);
	assert_int_equal(erlang_c_eval(55, 0, 240, 15, &e), -EINVAL);
	assert_int_equal(erlang_c_eval(55, 48, NAN, 15, &e), -EINVAL);
	assert_int_equal(erlang_c_eval(55, 48, 240, -1, &e), -EINVAL);
	assert_int_equal(erlang_a_eval(55, 48, 240, 0, 15, &e), -EINVAL);
	assert_int_equal(erlang_fewest_agents(1, 15, 48, 240, 0, &e), -EINVAL);
	assert_int_equal(erlang_fewest_agents(0, 15, 48, 240, 0, &e), -EINVAL);
}

static void test_fewest_agents(void **state)
{
	struct erlang_result e, below;

	(void)state;
	assert_int_equal(erlang_fewest_agents(0.80, 20, 48, 240, 0, &e), 0);
	assert_int_equal(e.agents, 54);
	assert_true(e.service_level >= 0.80);
	assert_int_equal(erlang_c_eval(53, 48, 240, 20, &below), 0);
	assert_true(below.service_level < 0.80);
	/* Erlang A: the same answer as a walk over N. */
	assert_int_equal(erlang_fewest_agents(0.80, 20, 48, 240, 60, &e), 0);
	assert_true(e.service_level >= 0.80);
	assert_int_equal(erlang_a_eval(e.agents - 1, 48, 240, 60, 20, &below), 0);
	assert_true(below.service_level < 0.80);
	/* More traffic than ERLANG_AGENTS_MAX agents can carry. */
	assert_int_equal(erlang_fewest_agents(0.80, 20, 2e5, 240, 0, &e), KF_ENOTFOUND);
}

static void test_erlang_a_long_patience_is_erlang_c(void **state)
{
	struct erlang_result a, c;

	(void)state;
	assert_int_equal(erlang_c_eval(55, 48, 240, 15, &c), 0);
	assert_int_equal(erlang_a_eval(55, 48, 240, 1e8, 15, &a), 0);
	assert_near(a.service_level, c.service_level, 1e-5);
	assert_near(a.p_wait, c.p_wait, 1e-5);
	assert_near(a.asa_s, c.asa_s, 1e-3);
	assert_true(a.p_abandon < 1e-6);
	assert_near(a.occupancy, c.occupancy, 1e-6);
}

static void test_erlang_a_short_patience(void **state)
{
	struct erlang_result a, c;

	(void)state;
	assert_int_equal(erlang_c_eval(55, 48, 240, 15, &c), 0);
	assert_int_equal(erlang_a_eval(55, 48, 240, 60, 15, &a), 0);
	assert_true(a.p_abandon > 0.005);
	assert_true(a.asa_s < c.asa_s);
	assert_true(a.p_wait < c.p_wait);
	/* Carried load: occupancy is A (1 - P(abandon)) / N. */
	assert_near(a.occupancy, 48 * (1 - a.p_abandon) / 55, 1e-9);
	/* Overload is fine with abandonment: 40 agents for 48 Erlangs. */
	assert_int_equal(erlang_a_eval(40, 48, 240, 120, 20, &a), 0);
	assert_true(a.stable && a.p_abandon > 0.1 && a.p_abandon < 1);
	assert_near(a.occupancy, 48 * (1 - a.p_abandon) / 40, 1e-9);
	assert_true(a.service_level > 0 && a.service_level < 1 && isfinite(a.asa_s));
}

/*
 * The chain computed directly for a small case (plain products, no logs):
 * P(wait), and P(abandon) as gamma E[queue] / lambda, which the library
 * computes another way (per caller, from the queue each one finds).
 */
static void test_erlang_a_small_chain(void **state)
{
	const unsigned n = 3;
	const double a = 2.5, aht = 100, pat = 50, r = aht / pat;
	double p[400], tot = 0, pw = 0, q = 0;
	struct erlang_result e;

	(void)state;
	p[0] = 1;
	for (unsigned i = 1; i < 400; i++)
		p[i] = p[i - 1] * a / (i <= n ? i : n + (i - n) * r);
	for (unsigned i = 0; i < 400; i++)
		tot += p[i];
	for (unsigned i = n; i < 400; i++) {
		pw += p[i] / tot;
		q += (i - n) * p[i] / tot;
	}
	assert_int_equal(erlang_a_eval(n, a, aht, pat, 10, &e), 0);
	assert_near(e.p_wait, pw, 1e-12);
	/* gamma E[Q] / lambda = (1/pat) E[Q] / (a/aht) */
	assert_near(e.p_abandon, q / pat / (a / aht), 1e-12);
	/* With T = 0 only the calls answered at once count. */
	assert_int_equal(erlang_a_eval(n, a, aht, pat, 0, &e), 0);
	assert_near(e.service_level, 1 - pw, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_example),
		cmocka_unit_test(test_textbook_values),
		cmocka_unit_test(test_five_hundred_agents),
		cmocka_unit_test(test_unstable_and_bad_inputs),
		cmocka_unit_test(test_fewest_agents),
		cmocka_unit_test(test_erlang_a_long_patience_is_erlang_c),
		cmocka_unit_test(test_erlang_a_short_patience),
		cmocka_unit_test(test_erlang_a_small_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
