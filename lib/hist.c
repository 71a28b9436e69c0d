#include "lib/hist.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* 3..63 */
	return HIST_SUB + (e - 3) * HIST_SUB + (unsigned)((v >> (e - 3)) - HIST_SUB);
}

/* The largest value bucket b holds. */
static uint64_t bucket_top(unsigned b)
{
	unsigned e, sub;

	if (b < HIST_SUB)
		return b;
	e = (b - HIST_SUB) / HIST_SUB + 3;
	sub = (b - HIST_SUB) % HIST_SUB;
	return (((uint64_t)HIST_SUB + sub) << (e - 3)) + ((UINT64_C(1) << (e - 3)) - 1);
}

void hist_add(struct hist *h, uint64_t v)
{
	h->n[bucket_of(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		into->n[b] += from->n[b];
	into->count += from->count;
	into->sum += from->sum;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t hist_quantile(const struct hist *h, unsigned permille)
{
	/* The rank of the value asked for, 1-based: ceil(count * permille / 1000). */
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (permille > 1000)
		permille = 1000;
	rank = (h->count * permille + 999) / 1000;
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += h->n[b];
		if (seen >= rank)
			return bucket_top(b) < h->max ? bucket_top(b) : h->max;
	}
	return h->max;
}

uint64_t hist_count_below(const struct hist *h, uint64_t v)
{
	uint64_t n = 0;

	/* Every value of a bucket whose top is below v is below v. */
	for (unsigned b = 0; b < HIST_BUCKETS && bucket_top(b) < v; b++)
		n += h->n[b];
	return n;
}
