/*
 * An outbound floor simulated second by second (tests/bench/README.md): the
 * same traffic for each pacer and the same 3% cap; kefu's predictive pacing
 * (node/dialing/pacer.h), progressive, and a dial level in the manner of
 * VICIdial's ADAPT_TAPERED as the baseline. bench_dialer prints the
 * figures; tests/unit/test_dial_floor.c checks that kefu's pacing keeps the
 * cap over long runs.
 *
 * Traffic: call k of a run is drawn from the seed and k alone, so every
 * pacer dials the same contacts in the same order: a person answers with
 * probability 0.35 after 4-24 s of ringing, a machine with 0.10 after
 * 3-10 s, the rest ring out at 25 s; talk time is lognormal (median 150 s,
 * sigma 0.9, at most two hours), wrap-up 10-30 s.
 */
#ifndef KEFU_TESTS_BENCH_DIALFLOOR_H
#define KEFU_TESTS_BENCH_DIALFLOOR_H

#include <stdint.h>

#define DIAL_FLOOR_SHIFT_S (8 * 3600)
#define DIAL_FLOOR_AGENTS_MAX 200
#define DIAL_FLOOR_CAP 0.03

enum dial_floor_pacer { DIAL_FLOOR_KEFU, DIAL_FLOOR_PROGRESSIVE, DIAL_FLOOR_TAPERED,
			DIAL_FLOOR_PACERS };

extern const char *const dial_floor_names[DIAL_FLOOR_PACERS];

/* What a run counted: calls placed, answered by a person (live), dropped
 * (a person with no agent free), agents' talk and logged-in seconds. */
struct dial_floor_run {
	uint64_t placed, human, answered_live, dropped, talk_s, logged_s;
};

/* dial_floor_simulate - days shifts of nagents (1..DIAL_FLOOR_AGENTS_MAX)
 * under pacer kind, traffic drawn from seed. Not reentrant (static floor). */
struct dial_floor_run dial_floor_simulate(enum dial_floor_pacer kind, unsigned nagents,
					  unsigned days, uint64_t seed);

/* dial_floor_occupancy, dial_floor_abandon - talk over logged-in time;
 * drops over live answers (0 without any). */
double dial_floor_occupancy(const struct dial_floor_run *r);
double dial_floor_abandon(const struct dial_floor_run *r);

#endif
