/*
 * rng - the simulator's own pseudo-random numbers (splitmix64).
 *
 * Deterministic on every platform: the same seed gives the same sequence,
 * so generated files are byte-identical from run to run. Streams are cheap
 * to create: rng_init() derives an independent stream from (seed, tag, index),
 * which lets a generator rebuild the data of entity `index` at any time
 * without remembering it. A struct rng is a plain value; nothing to free.
 */
#ifndef KEFU_SIM_RNG_H
#define KEFU_SIM_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

/* rng_mix - the splitmix64 finaliser: a bijective 64-bit hash. */
uint64_t rng_mix(uint64_t x);

/* rng_init - the stream for entity index of family tag under seed. */
void rng_init(struct rng *r, uint64_t seed, uint64_t tag, uint64_t index);

/* rng_next - the next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* rng_below - uniform in [0, n); n must be > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

/* rng_range - uniform in [lo, hi], lo <= hi. */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi);

/* rng_chance - true with probability permille / 1000. */
int rng_chance(struct rng *r, unsigned permille);

/*
 * rng_weighted - an index into weights[0..n-1], chosen with probability
 * proportional to its weight; the weights must not all be 0.
 */
unsigned rng_weighted(struct rng *r, const unsigned *weights, unsigned n);

#endif
