/*
 * Pacing of an outbound campaign: how many new calls to place now. Pure:
 * the caller measures (agents, calls, answers, handle times, the
 * abandonment window) and asks; nothing here keeps time of its own.
 *
 * Modes:
 *   preview      none: the agent sees the contact and dials or skips.
 *   progressive  one call per ready agent: ready - ringing, never below 0.
 *   predictive   the largest n whose expected abandonment keeps the
 *                campaign's window within its cap (docs/dialing.md, "The
 *                model"): agents free within the ring time are the ready
 *                ones plus each talking agent with the chance that its call,
 *                having lasted t, ends within the ring time, read from the
 *                measured handle-time distribution; answers of the calls in
 *                flight are binomial with the measured answer rate.
 * Every mode places nothing when no agent is ready.
 *
 * Memory: struct dial_window (about 6 kB) and struct dial_handle (about
 * 86 kB) are plain structs the caller embeds, set up with their _init;
 * nothing here allocates. dial_pace uses about 20 kB of stack.
 */
#ifndef KEFU_NODE_DIALING_PACER_H
#define KEFU_NODE_DIALING_PACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIAL_WINDOW_BUCKETS 720        /* an hour each over 30 days, 2 min over 24 h */
#define DIAL_WINDOW_30D (30ull * 86400000)
#define DIAL_WINDOW_24H (86400000ull)
#define DIAL_HANDLE_MAX_S 7200         /* handle times longer count as this long */
#define DIAL_PACER_MAX_AGENTS 512      /* talking agents looked at, each */
#define DIAL_PACER_MAX_CALLS 1024      /* calls in flight a decision may reach */

/* The regulator's rolling window of one campaign: live-answered calls and
 * abandoned ones (answered with no agent free), in DIAL_WINDOW_BUCKETS
 * buckets of span/DIAL_WINDOW_BUCKETS each; the oldest bucket leaves whole,
 * so the window is exact to one bucket. */
struct dial_window {
	uint64_t span_ms, width_ms;
	uint64_t newest;               /* index (time / width) of the newest bucket */
	uint64_t answered, abandoned;  /* totals over the buckets */
	uint32_t b_answered[DIAL_WINDOW_BUCKETS], b_abandoned[DIAL_WINDOW_BUCKETS];
};

/* dial_window_init - an empty window over span_ms (DIAL_WINDOW_30D,
 * DIAL_WINDOW_24H, or any span of at least DIAL_WINDOW_BUCKETS ms). */
void dial_window_init(struct dial_window *w, uint64_t span_ms);

/* dial_window_add - count answered live calls and abandoned ones at now_ms.
 * Times must not go back by more than the window: older counts are dropped. */
void dial_window_add(struct dial_window *w, uint64_t now_ms, unsigned answered,
		     unsigned abandoned);

/* dial_window_counts - the totals over (now_ms - span, now_ms]. */
void dial_window_counts(struct dial_window *w, uint64_t now_ms, uint64_t *answered,
			uint64_t *abandoned);

/* The measured handle-time distribution, one-second buckets. */
struct dial_handle {
	uint64_t n;
	uint32_t count[DIAL_HANDLE_MAX_S + 1];
	uint64_t above[DIAL_HANDLE_MAX_S + 2]; /* samples lasting >= s; rebuilt when stale */
	bool stale;
};

void dial_handle_init(struct dial_handle *h);
/* dial_handle_add - one finished call's handle time in seconds. */
void dial_handle_add(struct dial_handle *h, uint32_t secs);
/*
 * dial_handle_ends_within - the chance that a call that has lasted t
 * seconds ends within r more: (S(t) - S(t + r)) / S(t) over the samples.
 * With fewer than DIAL_HANDLE_PRIOR samples lasting t, blends in an
 * exponential prior of mean prior_mean_s. Rebuilds the cumulative counts
 * when calls were added since (hence not const).
 */
#define DIAL_HANDLE_PRIOR 30
double dial_handle_ends_within(struct dial_handle *h, uint32_t t, uint32_t r,
			       double prior_mean_s);

enum dial_mode { DIAL_PREVIEW, DIAL_PROGRESSIVE, DIAL_PREDICTIVE };

struct dial_pace_in {
	enum dial_mode mode;
	unsigned ready;                /* agents ready now */
	unsigned ringing;              /* calls placed, not yet answered or failed */
	const uint32_t *talking_s;     /* how long each talking agent's call has lasted */
	unsigned ntalking;
	uint64_t placed, human;        /* the campaign's calls placed and answered by a person */
	double prior_answer;           /* answer rate assumed before samples, e.g. 0.3 */
	unsigned prior_weight;         /* how many placed calls the prior counts as */
	struct dial_handle *handle;    /* measured handle times; predictive only, not NULL */
	double prior_handle_s;         /* mean handle time assumed before samples */
	uint32_t ring_s;               /* how long a call rings before it is answered */
	uint64_t win_answered, win_abandoned; /* from the campaign's dial_window */
	double cap;                    /* e.g. 0.03 */
	unsigned max_lines;            /* calls in flight allowed at once */
};

/* dial_answer_rate - (human + prior * weight) / (placed + weight). */
double dial_answer_rate(uint64_t placed, uint64_t human, double prior, unsigned weight);

/* dial_pace - new calls to place now (0 with no ready agent). */
unsigned dial_pace(const struct dial_pace_in *in);

/* dial_expected_drops - expected answered calls with no agent free when
 * calls calls ring with answer rate p, ready agents are free and each of the
 * ntalk talking agents frees with chance pfree[i]. */
double dial_expected_drops(unsigned calls, double p, unsigned ready, const double *pfree,
			   unsigned ntalk);

#endif
