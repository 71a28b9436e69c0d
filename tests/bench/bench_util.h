/*
 * What the C benches share: the monotonic clock in nanoseconds and a small
 * deterministic generator (splitmix64), so that a run picks the same
 * numbers for the same seed.
 */
#ifndef KEFU_TESTS_BENCH_UTIL_H
#define KEFU_TESTS_BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: the next number of the stream whose state is *state. */
static inline uint64_t rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* bench_parse_num - s is a whole decimal number in [min, max]: 0 and *out,
 * or -1 (nothing else, no sign, no overflow). */
static inline int bench_parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || *s == '-' || !*s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

#endif
