/* The simulator's pseudo-random numbers. See rng.h. */
#include "tests/sim/rng.h"

#include <assert.h>

#define RNG_GAMMA 0x9e3779b97f4a7c15ULL

uint64_t rng_mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void rng_init(struct rng *r, uint64_t seed, uint64_t tag, uint64_t index)
{
	r->s = rng_mix(rng_mix(seed + RNG_GAMMA) ^ rng_mix(tag * RNG_GAMMA + index));
}

uint64_t rng_next(struct rng *r)
{
	r->s += RNG_GAMMA;
	return rng_mix(r->s);
}

/* Lemire's multiply-shift: the bias is below 2^-40 for the ranges used here. */
uint64_t rng_below(struct rng *r, uint64_t n)
{
	assert(n > 0);
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	assert(lo <= hi);
	return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

int rng_chance(struct rng *r, unsigned permille)
{
	return rng_below(r, 1000) < permille;
}

unsigned rng_weighted(struct rng *r, const unsigned *weights, unsigned n)
{
	uint64_t total = 0, pick;

	for (unsigned i = 0; i < n; i++)
		total += weights[i];
	assert(total > 0);
	pick = rng_below(r, total);
	for (unsigned i = 0; i < n; i++) {
		if (pick < weights[i])
			return i;
		pick -= weights[i];
	}
	return n - 1;
}
