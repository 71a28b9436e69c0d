/*
 * traffic_dist - the random draws of `kefu-sim traffic`: arrival gaps,
 * patience, handle times and ring delays, as pure functions of an rng
 * stream (tests/sim/rng.h). The same stream gives the same draws on every
 * run, so a seed fixes the whole plan of calls; only the cluster's answers
 * differ. Nothing to free.
 */
#ifndef KEFU_SIM_TRAFFIC_DIST_H
#define KEFU_SIM_TRAFFIC_DIST_H

#include "tests/sim/rng.h"

#include <stdint.h>

/* traffic_dist_unit - uniform in the open interval (0, 1), 53 bits. */
double traffic_dist_unit(struct rng *r);

/*
 * traffic_dist_exp - exponential with the given mean, unrounded (the gap
 * between Poisson arrivals, in ms, kept exact so that gaps below 1 ms add
 * up right). A mean of 0 or less gives 0. Capped at 1000 times the mean.
 */
double traffic_dist_exp(struct rng *r, double mean);

/*
 * traffic_dist_exp_ms - exponential with the given mean (ms), rounded to
 * whole ms: the gap between Poisson arrivals, a caller's patience. A mean
 * of 0 or less gives 0. Capped at 1000 times the mean.
 */
uint64_t traffic_dist_exp_ms(struct rng *r, double mean_ms);

/*
 * traffic_dist_lognormal_ms - log-normal with the given mean (ms) and
 * shape sigma (the standard deviation of its logarithm; 0 gives the mean
 * itself): talk times, long-tailed like real ones. Capped at 20 times the
 * mean; at least 1 ms for a positive mean.
 */
uint64_t traffic_dist_lognormal_ms(struct rng *r, double mean_ms, double sigma);

#endif
