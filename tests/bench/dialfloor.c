/* The simulated outbound floor. See dialfloor.h. */
#include "tests/bench/dialfloor.h"

#include "node/dialing/pacer.h"
#include "tests/bench/bench_util.h"

#include <math.h>
#include <string.h>

#define MAX_RING 2048
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

const char *const dial_floor_names[DIAL_FLOOR_PACERS] = {
	"kefu predictive", "progressive", "VICIdial-style ADAPT_TAPERED"};

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
		double frac = (double)sec_in_shift / DIAL_FLOOR_SHIFT_S;
		double allowed = DIAL_FLOOR_CAP * (2.0 - frac);
		double drop = t->day_live ? (double)t->day_drop / (double)t->day_live : 0;

		if (drop > allowed)
			t->level -= 0.1 * (1 + (drop - allowed) / DIAL_FLOOR_CAP);
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

struct dial_floor_run dial_floor_simulate(enum dial_floor_pacer kind, unsigned nagents,
					  unsigned days, uint64_t seed)
{
	static struct call ring[MAX_RING];
	static struct agent ag[DIAL_FLOOR_AGENTS_MAX];
	static struct dial_window win;
	static struct dial_handle ht;
	uint32_t elapsed[DIAL_FLOOR_AGENTS_MAX];
	struct tapered tp = {.level = 1.5};
	struct dial_floor_run r = {0};
	unsigned nring = 0;
	uint64_t next = 0, now_ms;

	dial_window_init(&win, DIAL_WINDOW_30D);
	dial_handle_init(&ht);
	memset(ag, 0, sizeof(ag));
	for (unsigned day = 0; day < days; day++) {
		tp.day_live = tp.day_drop = 0;
		for (unsigned s = 0; s < DIAL_FLOOR_SHIFT_S; s++) {
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
			if (kind == DIAL_FLOOR_TAPERED) {
				n = tapered_pace(&tp, ready, nbusy, nring, s);
			} else {
				struct dial_pace_in in = {
					.mode = kind == DIAL_FLOOR_KEFU ? DIAL_PREDICTIVE : DIAL_PROGRESSIVE,
					.ready = ready, .ringing = nring, .talking_s = elapsed,
					.ntalking = nbusy, .placed = r.placed, .human = r.human,
					.prior_answer = 0.3, .prior_weight = 200, .handle = &ht,
					.prior_handle_s = 180, .ring_s = 14, .cap = DIAL_FLOOR_CAP,
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


double dial_floor_occupancy(const struct dial_floor_run *r)
{
	return r->logged_s ? (double)r->talk_s / (double)r->logged_s : 0;
}

double dial_floor_abandon(const struct dial_floor_run *r)
{
	return r->answered_live ? (double)r->dropped / (double)r->answered_live : 0;
}
