/*
 * Pacing (pacer.h): the rolling abandonment window, the handle-time
 * distribution and the decision.
 */
#include "node/dialing/pacer.h"

#include <math.h>
#include <string.h>

void dial_window_init(struct dial_window *w, uint64_t span_ms)
{
	memset(w, 0, sizeof(*w));
	if (span_ms < DIAL_WINDOW_BUCKETS)
		span_ms = DIAL_WINDOW_BUCKETS;
	w->width_ms = span_ms / DIAL_WINDOW_BUCKETS;
	w->span_ms = w->width_ms * DIAL_WINDOW_BUCKETS;
}

/* advance - make idx the newest bucket, emptying the ones that leave. */
static void advance(struct dial_window *w, uint64_t idx)
{
	uint64_t steps = idx - w->newest;

	if (idx <= w->newest)
		return;
	if (steps >= DIAL_WINDOW_BUCKETS) {
		memset(w->b_answered, 0, sizeof(w->b_answered));
		memset(w->b_abandoned, 0, sizeof(w->b_abandoned));
		w->answered = w->abandoned = 0;
	} else {
		for (uint64_t i = w->newest + 1; i <= idx; i++) {
			size_t b = (size_t)(i % DIAL_WINDOW_BUCKETS);

			w->answered -= w->b_answered[b];
			w->abandoned -= w->b_abandoned[b];
			w->b_answered[b] = w->b_abandoned[b] = 0;
		}
	}
	w->newest = idx;
}

void dial_window_add(struct dial_window *w, uint64_t now_ms, unsigned answered,
		     unsigned abandoned)
{
	uint64_t idx = now_ms / w->width_ms;
	size_t b = (size_t)(idx % DIAL_WINDOW_BUCKETS);

	advance(w, idx);
	if (idx + DIAL_WINDOW_BUCKETS <= w->newest)
		return; /* older than the window */
	w->b_answered[b] += answered;
	w->b_abandoned[b] += abandoned;
	w->answered += answered;
	w->abandoned += abandoned;
}

void dial_window_counts(struct dial_window *w, uint64_t now_ms, uint64_t *answered,
			uint64_t *abandoned)
{
	advance(w, now_ms / w->width_ms);
	*answered = w->answered;
	*abandoned = w->abandoned;
}

void dial_handle_init(struct dial_handle *h)
{
	memset(h, 0, sizeof(*h));
}

void dial_handle_add(struct dial_handle *h, uint32_t secs)
{
	h->count[secs > DIAL_HANDLE_MAX_S ? DIAL_HANDLE_MAX_S : secs]++;
	h->n++;
	h->stale = true;
}

static uint64_t lasting(struct dial_handle *h, uint64_t s)
{
	if (h->stale) {
		h->above[DIAL_HANDLE_MAX_S + 1] = 0;
		for (size_t i = DIAL_HANDLE_MAX_S + 1; i-- > 0;)
			h->above[i] = h->above[i + 1] + h->count[i];
		h->stale = false;
	}
	return h->above[s > DIAL_HANDLE_MAX_S + 1 ? DIAL_HANDLE_MAX_S + 1 : s];
}

double dial_handle_ends_within(struct dial_handle *h, uint32_t t, uint32_t r,
			       double prior_mean_s)
{
	/* a call still going at t lasts at least t + 1 seconds in whole buckets */
	uint64_t alive = lasting(h, (uint64_t)t + 1);
	uint64_t still = lasting(h, (uint64_t)t + r + 1);
	double prior = prior_mean_s > 0 ? 1.0 - exp(-(double)r / prior_mean_s) : 1.0;
	double measured = alive ? (double)(alive - still) / (double)alive : prior;
	double wgt = alive >= DIAL_HANDLE_PRIOR ? 1.0 : (double)alive / DIAL_HANDLE_PRIOR;

	return wgt * measured + (1.0 - wgt) * prior;
}

double dial_answer_rate(uint64_t placed, uint64_t human, double prior, unsigned weight)
{
	if (placed + weight == 0)
		return prior;
	return ((double)human + prior * weight) / ((double)placed + weight);
}

/*
 * The free agents within the ring time: ready + the number of talking
 * agents that free up, a Poisson-binomial over pfree. short_by[x] is then
 * E[max(0, x - free)], the expected answered calls with no agent when x
 * calls are answered; short_by[x + 1] = short_by[x] + P(free <= x).
 */
static void short_by(unsigned ready, const double *pfree, unsigned ntalk, double *out,
		     unsigned maxx)
{
	double pf[DIAL_PACER_MAX_AGENTS + 1];
	double cdf = 0;

	if (ntalk > DIAL_PACER_MAX_AGENTS)
		ntalk = DIAL_PACER_MAX_AGENTS;
	memset(pf, 0, sizeof(pf));
	pf[0] = 1.0;
	for (unsigned i = 0; i < ntalk; i++) {
		double q = pfree[i] < 0 ? 0 : pfree[i] > 1 ? 1 : pfree[i];

		for (unsigned k = i + 1; k > 0; k--)
			pf[k] = pf[k] * (1 - q) + pf[k - 1] * q;
		pf[0] *= 1 - q;
	}
	out[0] = 0;
	for (unsigned x = 0; x < maxx; x++) {
		/* P(free <= x) = P(freed talking <= x - ready) */
		if (x >= ready && x - ready <= ntalk)
			cdf += pf[x - ready];
		out[x + 1] = out[x] + cdf;
	}
}

/* binomial pmf of k answers out of m at rate p, in log space */
static double binom(unsigned m, unsigned k, double p)
{
	if (p <= 0)
		return k == 0;
	if (p >= 1)
		return k == m;
	return exp(lgamma(m + 1.0) - lgamma(k + 1.0) - lgamma(m - k + 1.0) + k * log(p) +
		   (m - k) * log1p(-p));
}

static double drops_of(unsigned m, double p, const double *sb)
{
	double d = 0;

	for (unsigned x = 1; x <= m; x++)
		if (sb[x] > 0)
			d += binom(m, x, p) * sb[x];
	return d;
}

double dial_expected_drops(unsigned calls, double p, unsigned ready, const double *pfree,
			   unsigned ntalk)
{
	double sb[DIAL_PACER_MAX_CALLS + 1];

	if (calls > DIAL_PACER_MAX_CALLS)
		calls = DIAL_PACER_MAX_CALLS;
	short_by(ready, pfree, ntalk, sb, calls);
	return drops_of(calls, p, sb);
}

/*
 * Predictive: the largest m = ringing + n calls in flight whose expected
 * drops D and expected answers A keep the window within the cap with a
 * reserve, abandoned + D + 1 + 3 sd <= cap * (answered + A), and this batch
 * within twice the cap (a window with room left spends it over many
 * decisions, not one). sd is the standard deviation of the drops of the m
 * calls: without the reserve the window would sit at the cap and every
 * call answered above the expected pushed it over; with it, it stays at or
 * under (tests/unit/test_dial_floor.c).
 */
static unsigned predictive(const struct dial_pace_in *in)
{
	double pfree[DIAL_PACER_MAX_AGENTS];
	double sb[DIAL_PACER_MAX_CALLS + 1];
	double pmf[DIAL_PACER_MAX_CALLS + 1];
	unsigned ntalk = in->ntalking > DIAL_PACER_MAX_AGENTS ? DIAL_PACER_MAX_AGENTS : in->ntalking;
	unsigned maxm = in->max_lines > DIAL_PACER_MAX_CALLS ? DIAL_PACER_MAX_CALLS : in->max_lines;
	double p = dial_answer_rate(in->placed, in->human, in->prior_answer, in->prior_weight);
	unsigned best = in->ringing;

	for (unsigned i = 0; i < ntalk; i++)
		pfree[i] = dial_handle_ends_within(in->handle, in->talking_s[i], in->ring_s,
						   in->prior_handle_s);
	short_by(in->ready, pfree, ntalk, sb, maxm);
	/* pmf is the binomial of m calls, raised one call at a time */
	pmf[0] = 1.0;
	for (unsigned m = 1; m <= maxm; m++) {
		double d = 0, d2 = 0, a = m * p, sd;

		pmf[m] = pmf[m - 1] * p;
		for (unsigned x = m - 1; x > 0; x--)
			pmf[x] = pmf[x] * (1 - p) + pmf[x - 1] * p;
		pmf[0] *= 1 - p;
		if (m <= in->ringing)
			continue;
		for (unsigned x = 1; x <= m; x++) {
			d += pmf[x] * sb[x];
			d2 += pmf[x] * sb[x] * sb[x];
		}
		sd = d2 > d * d ? sqrt(d2 - d * d) : 0;
		if (d > 1e-12 &&
		    ((double)in->win_abandoned + d + 1.0 + 3 * sd >
			     in->cap * ((double)in->win_answered + a) ||
		     d > 2 * in->cap * a))
			break;
		best = m;
	}
	return best - in->ringing;
}

unsigned dial_pace(const struct dial_pace_in *in)
{
	if (in->ready == 0)
		return 0;
	switch (in->mode) {
	case DIAL_PREVIEW:
		return 0;
	case DIAL_PROGRESSIVE:
		return in->ready > in->ringing ? in->ready - in->ringing : 0;
	case DIAL_PREDICTIVE:
		if (in->ringing >= in->max_lines)
			return 0;
		return predictive(in);
	}
	return 0;
}
