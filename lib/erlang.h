/*
 * Staffing arithmetic for a queue of calls: Erlang B, Erlang C (M/M/N, no
 * abandonment) and Erlang A (M/M/N+M, callers who hang up when their
 * patience runs out). Pure functions over numbers; no allocation.
 *
 * Inputs. Calls arrive as a Poisson stream of rate lambda (calls per
 * second = calls per hour / 3600); handling times are exponential with mean
 * AHT (mu = 1/AHT); the offered traffic is A = lambda * AHT Erlangs. N
 * agents serve one queue first come first served. In Erlang A each caller
 * also has an exponential patience of mean theta seconds (abandonment rate
 * gamma = 1/theta) and leaves the queue when it runs out.
 *
 * Erlang B (the blocking probability of N servers and no queue) by the
 * recurrence B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)): every step stays
 * in [0, 1], so no power or factorial overflows for any N.
 *
 * Erlang C, from B, for N > A:
 *   P(wait)  C   = N B / (N - A (1 - B))
 *   service level SL(T) = P(wait <= T) = 1 - C exp(-(N - A) T / AHT)
 *   ASA (mean wait over all calls) = C AHT / (N - A)
 *   occupancy = A / N
 * For N <= A the queue grows without end: the functions report it as
 * unstable with C = 1, SL = 0, ASA = +infinity and occupancy 1 (defined
 * values, not an error).
 *
 * Erlang A. The number of calls in the system is a birth-death chain:
 * births at lambda, deaths at min(n, N) mu + max(n - N, 0) gamma. Its
 * stationary law pi_n is computed in log space, n = 0 .. M, with M far
 * enough that the rest of the tail (bounded by a geometric series once the
 * ratio lambda / death rate is below 1) is below 1e-20 of the total.
 * By PASTA an arrival sees pi. A caller who finds k >= 0 others queued
 * waits through stages of rates N mu + j gamma (j = k .. 0: the head is
 * served or one of those ahead hangs up) while its own patience runs; with
 * x = N mu / gamma and z = 1 - exp(-gamma T), the pure-death chain gives
 *   P(served | k)              = x / (x + k + 1)
 *   P(served within T | k)     = x / (x + k + 1) * I_z(k + 1, x + 1)
 *   E[wait; served | k]        = x / (x + k + 1) * sum_{j=0..k} 1/(x+1+j) / gamma
 * (I_z the regularised incomplete beta function, computed with the
 * recurrence I_z(a+1, b) = I_z(a, b) - z^a (1-z)^b / (a B(a, b)) from
 * I_z(1, b) = 1 - (1-z)^b). From these:
 *   P(wait)    = sum_{n >= N} pi_n
 *   P(abandon) = sum_k pi_{N+k} (k + 1) / (x + k + 1)   (= gamma E[queue] / lambda)
 *   SL(T)      = calls answered within T seconds / calls offered: those
 *                answered at once plus those answered after a wait of at
 *                most T; calls that abandon count against it, however soon
 *   ASA        = mean wait of the calls answered (abandoned calls excluded)
 *   occupancy  = A (1 - P(abandon)) / N (the load carried)
 * Erlang A is stable for every N >= 1.
 *
 * Sources of the definitions: A. K. Erlang (1917) for B and C; the
 * M/M/N+M ("Palm", "Erlang A") model as in Garnett, Mandelbaum and Reiman,
 * "Designing a call center with impatient customers", M&SOM 4(3), 2002,
 * and Mandelbaum and Zeltyn, "The Palm/Erlang-A queue, with applications
 * to call centers" (2005); the closed forms above are derived here from
 * the chain.
 */
#ifndef KEFU_LIB_ERLANG_H
#define KEFU_LIB_ERLANG_H

#include <stdbool.h>

/* The largest number of agents any function here accepts. */
#define ERLANG_AGENTS_MAX 100000u

/* The answer for N agents. */
struct erlang_result {
	unsigned agents;
	double erlangs;       /* offered traffic A */
	double occupancy;     /* fraction of the agents' time busy, 0..1 */
	double p_wait;        /* probability that a call waits at all */
	double p_abandon;     /* probability that a call hangs up (0 in Erlang C) */
	double service_level; /* fraction of offered calls answered within T */
	double asa_s;         /* mean wait of answered calls; +INFINITY when unstable */
	bool stable;          /* false: Erlang C with N <= A */
};

/* erlang_b - the Erlang B blocking probability of n servers at a Erlangs
 * (1 for n == 0); a >= 0. */
double erlang_b(unsigned n, double a);

/* erlang_c - the Erlang C probability of waiting, n servers at a Erlangs:
 * 1 when n <= a. */
double erlang_c(unsigned n, double a);

/*
 * erlang_c_eval - Erlang C for n agents: traffic a Erlangs (> 0), mean
 * handling time aht_s (> 0), service-level threshold t_s (>= 0). Fills
 * *out (the unstable values above when n <= a). Returns 0, or -EINVAL for
 * n outside 1..ERLANG_AGENTS_MAX or a value out of range or not finite.
 */
int erlang_c_eval(unsigned n, double a, double aht_s, double t_s, struct erlang_result *out);

/*
 * erlang_a_eval - Erlang A for n agents, as erlang_c_eval with the mean
 * patience patience_s (> 0). Returns 0, -EINVAL as above, or KF_ETOOBIG
 * when the chain needs more than 10^7 states past N to converge (a
 * patience so long against an overload that no answer is meaningful).
 */
int erlang_a_eval(unsigned n, double a, double aht_s, double patience_s, double t_s,
		  struct erlang_result *out);

/*
 * erlang_fewest_agents - the smallest N with service level >= target_sl
 * (0 < target_sl < 1) for threshold t_s: Erlang A when patience_s > 0,
 * Erlang C (N > A, searched from floor(A) + 1 upward) when patience_s is 0.
 * Fills *out with that N's answer. Returns 0, -EINVAL for inputs out of
 * range, KF_ENOTFOUND when no N up to ERLANG_AGENTS_MAX reaches the
 * target, or erlang_a_eval's error.
 */
int erlang_fewest_agents(double target_sl, double t_s, double a, double aht_s, double patience_s,
			 struct erlang_result *out);

#endif
