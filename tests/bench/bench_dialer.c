/*
 * bench_dialer: an outbound floor simulated second by second, the same
 * traffic for each pacer, the same 3% cap: kefu's predictive pacing
 * (node/dialing/pacer.h), progressive, and a pacer in the manner of
 * VICIdial's ADAPT_TAPERED dial level (tests/bench/README.md). Prints agent
 * occupancy (talk time over logged-in time), the abandon rate over live
 * answers and the calls placed for each, then kefu's against the baseline.
 *
 * Traffic: call k of a run is drawn from the seed and k alone, so every
 * pacer dials the same contacts in the same order: a person answers with
 * probability 0.35 after 4-24 s of ringing, a machine with 0.10 after
 * 3-10 s, the rest ring out at 25 s; talk time is lognormal (median 150 s,
 * sigma 0.9, at most two hours), wrap-up 10-30 s.
 * Usage: bench_dialer [--agents N] [--days D] [--seed S]
 */
#include "node/dialing/pacer.h"
#include "tests/bench/bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIFT_S (8 * 3600)
#define MAX_AGENTS 200
#define MAX_RING 2048
#define CAP 0.03
#define RING_OUT_S 25

enum outcome { HUMAN, MACHINE, NOANSWER };

struct call {
	unsigned left;  /* seconds of ringing left */
	enum outcome out;
	unsigned talk, wrap;
};

struct agent {
	unsigned busy;   /* seconds of talk + wrap left; 0 when ready */
	unsigned talked; /* seconds since the call was answered */
	unsigned handle; /* the whole handle time of the current call */
};

enum kind { KEFU, PROGRESSIVE, TAPERED };
static const char *const kind_names[] = {"kefu predictive", "progressive",
					 "VICIdial-style ADAPT_TAPERED"};

struct run {
	uint64_t placed, human, answered_live, dropped, talk_s, logged_s;
};

static double unit(uint64_t *st)
{
	return (double)(rand_next(st) >> 11) / 9007199254740992.0;
}

/* call_draw - call k of the traffic, from the seed and k alone. */
static struct call call_draw(uint64_t seed, uint64_t k)
{
	uint64_t st = seed * 0x9e3779b97f4a7c15ULL ^ (k + 1) * 0xd1b54a32d192ed03ULL;
	double u = unit(&st), z;
	struct call c = {0};

	if (u < 0.35) {
		c.out = HUMAN;
		c.left = 4 + (unsigned)(unit(&st) * 21);
	} else if (u < 0.45) {
		c.out = MACHINE;
		c.left = 3 + (unsigned)(unit(&st) * 8);
	} else {
		c.out = NOANSWER;
		c.left = RING_OUT_S;
	}
	/* Box-Muller for the lognormal talk time */
	z = sqrt(-2 * log(1 - unit(&st))) * cos(2 * M_PI * unit(&st));
	c.talk = (unsigned)(150 * exp(0.9 * z));
	if (c.talk < 5)
		c.talk = 5;
	if (c.talk > 7200)
		c.talk = 7200;
	c.wrap = 10 + (unsigned)(unit(&st) * 21);
	return c;
}

/* The baseline: a dial level raised while agents wait and lowered when the
 * day's drop rate runs over the allowed one, which tapers from twice the
 * target at the start of the shift to the target at its end. */
struct tapered {
	double level;
	uint64_t day_live, day_drop;
	unsigned wait_seen, tick;
};

static unsigned tapered_pace(struct tapered *t, unsigned ready, unsigned busy, unsigned ringing,
			     unsigned sec_in_shift)
{
	if (++t->tick % 15 == 0) {
		double frac = (double)sec_in_shift / SHIFT_S;
		double allowed = CAP * (2.0 - frac);
		double drop = t->day_live ? (double)t->day_drop / (double)t->day_live : 0;

		if (drop > allowed)
			t->level -= 0.1 * (1 + (drop - allowed) / CAP);
		else if (t->wait_seen > 7)
			t->level += 0.1;
		if (t->level < 1.0)
			t->level = 1.0;
		if (t->level > 4.0)
			t->level = 4.0;
		t->wait_seen = 0;
	}
	t->wait_seen += ready > 0;
	{
		double want = t->level * (double)(ready + busy) - (double)(busy + ringing);

		return want > 0 ? (unsigned)want : 0;
	}
}

static struct run simulate(enum kind kind, unsigned nagents, unsigned days, uint64_t seed)
{
	static struct call ring[MAX_RING];
	static struct agent ag[MAX_AGENTS];
	static struct dial_window win;
	static struct dial_handle ht;
	uint32_t elapsed[MAX_AGENTS];
	struct tapered tp = {.level = 1.5};
	struct run r = {0};
	unsigned nring = 0;
	uint64_t next = 0, now_ms;

	dial_window_init(&win, DIAL_WINDOW_30D);
	dial_handle_init(&ht);
	memset(ag, 0, sizeof(ag));
	for (unsigned day = 0; day < days; day++) {
		tp.day_live = tp.day_drop = 0;
		for (unsigned s = 0; s < SHIFT_S; s++) {
			unsigned ready = 0, nbusy = 0, n;

			now_ms = ((uint64_t)day * 86400 + s) * 1000;
			/* ringing calls come to their end */
			for (unsigned i = 0; i < nring;) {
				struct call *c = &ring[i];

				if (--c->left > 0) {
					i++;
					continue;
				}
				if (c->out == HUMAN) {
					unsigned a;

					r.human++;
					r.answered_live++;
					tp.day_live++;
					for (a = 0; a < nagents && ag[a].busy; a++)
						;
					if (a < nagents) {
						ag[a].busy = c->talk + c->wrap;
						ag[a].handle = c->talk + c->wrap;
						ag[a].talked = 0;
						r.talk_s += c->talk;
						dial_window_add(&win, now_ms, 1, 0);
					} else {
						r.dropped++;
						tp.day_drop++;
						dial_window_add(&win, now_ms, 1, 1);
					}
				}
				*c = ring[--nring];
			}
			for (unsigned a = 0; a < nagents; a++) {
				if (ag[a].busy && --ag[a].busy == 0)
					dial_handle_add(&ht, ag[a].handle);
				if (ag[a].busy) {
					ag[a].talked++;
					elapsed[nbusy++] = ag[a].talked;
				} else {
					ready++;
				}
			}
			r.logged_s += nagents;
			if (kind == TAPERED) {
				n = tapered_pace(&tp, ready, nbusy, nring, s);
			} else {
				struct dial_pace_in in = {
					.mode = kind == KEFU ? DIAL_PREDICTIVE : DIAL_PROGRESSIVE,
					.ready = ready, .ringing = nring, .talking_s = elapsed,
					.ntalking = nbusy, .placed = r.placed, .human = r.human,
					.prior_answer = 0.3, .prior_weight = 200, .handle = &ht,
					.prior_handle_s = 180, .ring_s = 14, .cap = CAP,
					.max_lines = 4 * nagents};

				dial_window_counts(&win, now_ms, &in.win_answered, &in.win_abandoned);
				n = dial_pace(&in);
			}
			for (; n > 0 && nring < MAX_RING; n--) {
				ring[nring++] = call_draw(seed, next++);
				r.placed++;
			}
		}
		/* the shift ends: calls in flight and agents are let go */
		nring = 0;
		for (unsigned a = 0; a < nagents; a++)
			ag[a].busy = 0;
	}
	return r;
}

int main(int argc, char **argv)
{
	unsigned nagents = 50, days = 5;
	uint64_t seed = 7;
	struct run res[3];
	double occ[3], ab[3];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--agents"))
			nagents = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--days"))
			days = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
	}
	if (nagents == 0 || nagents > MAX_AGENTS || days == 0) {
		fprintf(stderr, "bench_dialer: --agents 1..%d, --days >= 1\n", MAX_AGENTS);
		return 2;
	}
	printf("dialer: %u agents, %u shifts of 8 h, cap %.0f%%, seed %llu\n", nagents, days,
	       CAP * 100, (unsigned long long)seed);
	for (int k = 0; k < 3; k++) {
		res[k] = simulate((enum kind)k, nagents, days, seed);
		occ[k] = (double)res[k].talk_s / (double)res[k].logged_s;
		ab[k] = res[k].answered_live ? (double)res[k].dropped / (double)res[k].answered_live
					     : 0;
		printf("  %-30s occupancy %5.1f%%  abandon %5.2f%%  placed %llu  live %llu\n",
		       kind_names[k], occ[k] * 100, ab[k] * 100,
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
