/*
 * bench_dialer: the simulated outbound floor of dialfloor.h for each pacer
 * (kefu's predictive, progressive, the ADAPT_TAPERED-style baseline).
 * Prints agent occupancy (talk time over logged-in time), the abandon rate
 * over live answers and the calls placed for each, then kefu's against the
 * baseline.
 * Usage: bench_dialer [--agents N] [--days D] [--seed S]
 */
#include "tests/bench/dialfloor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	unsigned nagents = 50, days = 5;
	uint64_t seed = 7;
	struct dial_floor_run res[DIAL_FLOOR_PACERS];
	double occ[3], ab[3];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--agents"))
			nagents = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--days"))
			days = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
	}
	if (nagents == 0 || nagents > DIAL_FLOOR_AGENTS_MAX || days == 0) {
		fprintf(stderr, "bench_dialer: --agents 1..%d, --days >= 1\n", DIAL_FLOOR_AGENTS_MAX);
		return 2;
	}
	printf("dialer: %u agents, %u shifts of 8 h, cap %.0f%%, seed %llu\n", nagents, days,
	       DIAL_FLOOR_CAP * 100, (unsigned long long)seed);
	for (int k = 0; k < DIAL_FLOOR_PACERS; k++) {
		res[k] = dial_floor_simulate((enum dial_floor_pacer)k, nagents, days, seed);
		occ[k] = dial_floor_occupancy(&res[k]);
		ab[k] = dial_floor_abandon(&res[k]);
		printf("  %-30s occupancy %5.1f%%  abandon %5.2f%%  placed %llu  live %llu\n",
		       dial_floor_names[k], occ[k] * 100, ab[k] * 100,
		       (unsigned long long)res[k].placed, (unsigned long long)res[k].answered_live);
	}
	printf("  kefu/baseline: occupancy %.3f, abandon rate %.3f; goal (occupancy above the "
	       "baseline's at no more abandonment): %s\n",
	       occ[0] / occ[2], ab[2] > 0 ? ab[0] / ab[2] : 0.0,
	       occ[0] > occ[2] && ab[0] <= ab[2] ? "met" : "not met");
	printf("kefu_occupancy=%.4f kefu_abandon=%.5f prog_occupancy=%.4f prog_abandon=%.5f "
	       "base_occupancy=%.4f base_abandon=%.5f\n",
	       occ[0], ab[0], occ[1], ab[1], occ[2], ab[2]);
	return 0;
}
