/*
 * traffic_stats - what `kefu-sim traffic` counts, and its JSON summary.
 *
 * Per tier (vip_level 0..4 of the calling number): calls offered to the
 * cluster, answered (and within the tier's service-level threshold),
 * abandoned, overflowed (callback or voicemail offered), still queued at
 * the end, and the total wait of answered calls. Across tiers: the route
 * latency of each call (kept up to TRAFFIC_LATENCY_MAX samples, the
 * maximum always), lost calls, double offers and a few diagnostics.
 *
 * The struct owns its sample array: traffic_stats_release frees it.
 */
#ifndef KEFU_SIM_TRAFFIC_STATS_H
#define KEFU_SIM_TRAFFIC_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAFFIC_TIERS 5
/* Route latency samples kept; later ones count only towards max. */
#define TRAFFIC_LATENCY_MAX (1u << 22)

struct traffic_tier_stats {
	uint64_t offered;        /* CallArrived sent */
	uint64_t answered;
	uint64_t answered_in_sl; /* answered within the tier's threshold */
	uint64_t abandoned;      /* the caller hung up while waiting */
	uint64_t overflowed;     /* the cluster offered a callback or voicemail */
	uint64_t queued;         /* still waiting at the end, as the cluster confirmed */
	uint64_t wait_ms;        /* total wait of answered calls */
};

struct traffic_stats {
	uint64_t sl_ms[TRAFFIC_TIERS];  /* service-level threshold per tier */
	struct traffic_tier_stats tier[TRAFFIC_TIERS];
	uint64_t *lat;                   /* route latency samples, us */
	size_t nlat, caplat;
	uint64_t lat_max;                /* us */
	uint64_t lat_at_once;            /* samples of calls that found a ready agent at once */
	uint64_t lost_calls;             /* neither answered, abandoned, overflowed nor queued at the end */
	uint64_t double_offers;          /* an Offer while another agent held one for the call */
	uint64_t offers;                 /* Offers (and alerts) that reached an agent */
	uint64_t no_answers;             /* offers the agents let ring out on purpose */
	uint64_t busy_offers;            /* an Offer to an agent already busy with another call */
	uint64_t tier_mismatches;        /* IvrPlan's tier differs from the BOSS data's */
	uint64_t errors;                 /* Error replies from the cluster */
	uint64_t reconnects;             /* agent or gateway connections moved to another node */
	uint64_t busy;                   /* CallArrived refused as busy (sent again later) */
};

/* traffic_stats_init - zero counters, thresholds from sl_ms (copied). */
void traffic_stats_init(struct traffic_stats *s, const uint64_t sl_ms[TRAFFIC_TIERS]);

/* traffic_stats_release - free the samples; s may be used again after init. */
void traffic_stats_release(struct traffic_stats *s);

/* traffic_stats_answered - a call of tier waited wait_ms and was answered. */
void traffic_stats_answered(struct traffic_stats *s, unsigned tier, uint64_t wait_ms);

/* traffic_stats_latency - one call's route latency, in whole ms. */
void traffic_stats_latency(struct traffic_stats *s, uint64_t ms);

/*
 * traffic_stats_latency_us - one call's route latency in us; at_once: the
 * call found a ready agent when it arrived (else it waited for one).
 */
void traffic_stats_latency_us(struct traffic_stats *s, uint64_t us, bool at_once);

/*
 * traffic_stats_percentile_us - the nearest-rank percentile (permille of
 * the samples at or below it: 500 = p50, 990 = p99) of the latencies kept,
 * in us. Sorts the samples in place. Returns 0 and *out, or KF_ENOTFOUND
 * when there are no samples.
 */
int traffic_stats_percentile_us(struct traffic_stats *s, unsigned permille, uint64_t *out);

/* traffic_stats_percentile - the same in ms, rounded to the nearest. */
int traffic_stats_percentile(struct traffic_stats *s, unsigned permille, uint64_t *out);

/*
 * traffic_stats_json - the summary: {"tiers": {"0": {offered, answered,
 * abandoned, service_level, asa_ms, overflowed, queued}, ... "4"},
 * "route_latency_ms": {p50, p99, max, samples}, "lost_calls",
 * "double_offers", then the diagnostics, among them "route_latency_us":
 * {p50, p90, p99, max, samples, at_once}}. service_level is answered within
 * the threshold / offered, asa_ms the average wait of answered calls;
 * both, and the latencies, are null when nothing was counted. A new
 * reference; the caller decrefs it. Sorts the samples.
 */
json_t *traffic_stats_json(struct traffic_stats *s);

#endif
