/* Draws for the traffic simulator. See traffic_dist.h. */
#include "tests/sim/traffic_dist.h"

#include <math.h>

double traffic_dist_unit(struct rng *r)
{
	/* 53 random bits, shifted half a step off 0: never 0, never 1. */
	return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Round a positive draw to ms, at most cap. */
static uint64_t to_ms(double v, double cap)
{
	if (!(v > 0))
		return 0;
	if (v > cap)
		v = cap;
	return (uint64_t)llround(v);
}

double traffic_dist_exp(struct rng *r, double mean)
{
	double v;

	if (!(mean > 0))
		return 0;
	v = -mean * log(traffic_dist_unit(r));
	return v < mean * 1000 ? v : mean * 1000;
}

uint64_t traffic_dist_exp_ms(struct rng *r, double mean_ms)
{
	return to_ms(traffic_dist_exp(r, mean_ms), mean_ms * 1000);
}

uint64_t traffic_dist_lognormal_ms(struct rng *r, double mean_ms, double sigma)
{
	double u1, u2, z, v;

	if (!(mean_ms > 0))
		return 0;
	if (!(sigma > 0))
		return to_ms(mean_ms, mean_ms);
	/* Box-Muller for a standard normal; mu chosen so the mean is mean_ms. */
	u1 = traffic_dist_unit(r);
	u2 = traffic_dist_unit(r);
	z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
	v = exp(log(mean_ms) - sigma * sigma / 2.0 + sigma * z);
	return v < 1 ? 1 : to_ms(v, mean_ms * 20);
}
