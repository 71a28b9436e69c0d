/*
 * Erlang B, C and A (lib/erlang.h has the formulas and their sources).
 * Erlang B and C run on the bounded recurrence; Erlang A on the birth-death
 * chain in log space, walked twice: once for the normalising sum and where
 * the tail may be cut, once for the measures.
 */
#include "lib/erlang.h"

#include "lib/err.h"

#include <errno.h>
#include <math.h>

/* States past N the Erlang A chain may need before its tail is negligible. */
#define CHAIN_TAIL_MAX 10000000u
/* The tail is cut once it is below exp(-46) (about 1e-20) of the total. */
#define CHAIN_CUT 46.0

double erlang_b(unsigned n, double a)
{
	double b = 1.0;

	for (unsigned i = 1; i <= n; i++)
		b = a * b / (i + a * b);
	return b;
}

/* C from B for n > a; 1 otherwise. */
static double c_from_b(unsigned n, double a, double b)
{
	if ((double)n <= a)
		return 1.0;
	return n * b / (n - a * (1.0 - b));
}

double erlang_c(unsigned n, double a)
{
	return c_from_b(n, a, erlang_b(n, a));
}

static bool args_ok(unsigned n, double a, double aht_s, double t_s)
{
	return n >= 1 && n <= ERLANG_AGENTS_MAX && isfinite(a) && a > 0 && isfinite(aht_s) &&
	       aht_s > 0 && isfinite(t_s) && t_s >= 0;
}

/* The Erlang C measures of n agents given B(n). */
static void c_fill(unsigned n, double a, double aht_s, double t_s, double b,
		   struct erlang_result *out)
{
	double c = c_from_b(n, a, b);

	*out = (struct erlang_result){.agents = n, .erlangs = a, .p_wait = c};
	if ((double)n <= a) {
		out->occupancy = 1.0;
		out->service_level = 0.0;
		out->asa_s = INFINITY;
		out->stable = false;
		return;
	}
	out->occupancy = a / n;
	out->service_level = 1.0 - c * exp(-(n - a) * t_s / aht_s);
	out->asa_s = c * aht_s / (n - a);
	out->stable = true;
}

int erlang_c_eval(unsigned n, double a, double aht_s, double t_s, struct erlang_result *out)
{
	if (!args_ok(n, a, aht_s, t_s))
		return -EINVAL;
	c_fill(n, a, aht_s, t_s, erlang_b(n, a), out);
	return 0;
}

/* log(pi_n / pi_{n-1}) of the Erlang A chain; r = AHT / patience. */
static double chain_step(unsigned long n, unsigned agents, double a, double r)
{
	if (n <= agents)
		return log(a / (double)n);
	return log(a / (agents + (double)(n - agents) * r));
}

int erlang_a_eval(unsigned n, double a, double aht_s, double patience_s, double t_s,
		  struct erlang_result *out)
{
	double r, x, gt, lz, l, m, s, lsum, i_k, ld, h;
	double p_now = 0, p_wait = 0, p_ab = 0, busy = 0, sl = 0, served = 0, wait = 0;
	unsigned long last, k;

	if (!args_ok(n, a, aht_s, t_s) || !isfinite(patience_s) || patience_s <= 0)
		return -EINVAL;
	r = aht_s / patience_s;
	x = n / r;

	/* Pass 1: the log of the normalising sum, and the last state kept. */
	l = 0;
	m = 0;
	s = 1;
	for (last = 1;; last++) {
		l += chain_step(last, n, a, r);
		if (l > m) {
			s = s * exp(m - l) + 1;
			m = l;
		} else {
			s += exp(l - m);
		}
		if (last > n) {
			double q = a / (n + (double)(last - n) * r);

			if (q < 1 && l + log(q / (1 - q)) < m + log(s) - CHAIN_CUT)
				break;
			if (last - n > CHAIN_TAIL_MAX)
				return KF_ETOOBIG;
		}
	}
	lsum = m + log(s);

	/* Pass 2: the measures, state by state. */
	gt = t_s / patience_s;                /* gamma T */
	lz = log(-expm1(-gt));                /* log z; -inf when T = 0 */
	i_k = -expm1(-(x + 1) * gt);          /* I_z(1, x + 1) */
	ld = lz + log(x + 1) - (x + 1) * gt;  /* log d_0 */
	h = 0;
	l = 0;
	for (unsigned long i = 0; i <= last; i++) {
		double w, ps;

		if (i > 0)
			l += chain_step(i, n, a, r);
		w = exp(l - lsum);
		if (i < n) {
			p_now += w;
			busy += (double)i * w;
			continue;
		}
		k = i - n;
		if (k > 0) {
			i_k -= exp(ld);
			ld += lz + log((double)k + x + 1) - log((double)k + 1);
		}
		h += 1 / (x + 1 + (double)k);
		ps = x / (x + (double)k + 1);
		p_wait += w;
		busy += (double)n * w;
		p_ab += w * ((double)k + 1) / (x + (double)k + 1);
		served += w * ps;
		sl += w * ps * (i_k > 0 ? i_k : 0);
		wait += w * ps * h * patience_s;
	}
	*out = (struct erlang_result){
		.agents = n,
		.erlangs = a,
		.occupancy = fmin(busy / n, 1.0),
		.p_wait = fmin(p_wait, 1.0),
		.p_abandon = fmin(p_ab, 1.0),
		.service_level = fmin(p_now + sl, 1.0),
		.asa_s = wait / (p_now + served),
		.stable = true,
	};
	return 0;
}

/* Erlang C: the first N > A whose service level reaches the target, B
 * carried along so the whole search is one pass of the recurrence. */
static int fewest_c(double target_sl, double t_s, double a, double aht_s,
		    struct erlang_result *out)
{
	unsigned n = (unsigned)floor(a) + 1;
	double b;

	if (n > ERLANG_AGENTS_MAX)
		return KF_ENOTFOUND;
	b = erlang_b(n, a);
	for (;;) {
		c_fill(n, a, aht_s, t_s, b, out);
		if (out->service_level >= target_sl)
			return 0;
		if (++n > ERLANG_AGENTS_MAX)
			return KF_ENOTFOUND;
		b = a * b / (n + a * b);
	}
}

/* Erlang A: bisection, the service level growing with N. */
static int fewest_a(double target_sl, double t_s, double a, double aht_s, double patience_s,
		    struct erlang_result *out)
{
	unsigned lo = 1, hi = ERLANG_AGENTS_MAX;
	struct erlang_result e;
	int rc;

	if ((rc = erlang_a_eval(hi, a, aht_s, patience_s, t_s, &e)))
		return rc;
	if (e.service_level < target_sl)
		return KF_ENOTFOUND;
	*out = e;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if ((rc = erlang_a_eval(mid, a, aht_s, patience_s, t_s, &e)))
			return rc;
		if (e.service_level >= target_sl) {
			hi = mid;
			*out = e;
		} else {
			lo = mid + 1;
		}
	}
	return 0;
}

int erlang_fewest_agents(double target_sl, double t_s, double a, double aht_s, double patience_s,
			 struct erlang_result *out)
{
	if (!args_ok(1, a, aht_s, t_s) || !isfinite(target_sl) || target_sl <= 0 ||
	    target_sl >= 1 || !isfinite(patience_s) || patience_s < 0)
		return -EINVAL;
	if (patience_s > 0)
		return fewest_a(target_sl, t_s, a, aht_s, patience_s, out);
	return fewest_c(target_sl, t_s, a, aht_s, out);
}
