#ifndef KEFU_LIB_HIST_H
#define KEFU_LIB_HIST_H

#include <stdint.h>

/*
 * A histogram of latencies (any unit; kefu counts µs) in fixed memory:
 * values below 8 each have a bucket, larger ones share a bucket with those
 * of the same power of two and the same next three bits, so a quantile is
 * off by at most 1/8 of its value. Zero-initialised is empty.
 */
#define HIST_SUB 8
#define HIST_BUCKETS (HIST_SUB + 61 * HIST_SUB)

struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count; /* values added */
	uint64_t max;   /* the largest value added */
	uint64_t sum;   /* of the values added (wraps past 2^64, as a counter may) */
};

void hist_add(struct hist *h, uint64_t v);

/* Adds every value of from to into. */
void hist_merge(struct hist *into, const struct hist *from);

/*
 * The value below which permille/1000 of the values lie: the top of the
 * bucket that holds it, never above the largest value added. 0 when empty.
 */
uint64_t hist_quantile(const struct hist *h, unsigned permille);

/*
 * How many values added are below v: exact when v is a power of two (or
 * 0); otherwise the bucket holding v is left out, so up to 1/8 of v below
 * v is missed. For a Prometheus histogram of durations counted in whole
 * µs (truncated), the count below 2^k µs is exactly that of durations
 * under 2^k µs.
 */
uint64_t hist_count_below(const struct hist *h, uint64_t v);

#endif
