/*
 * traffic_offers - double-offer detection for `kefu-sim traffic`.
 *
 * Each call keeps the offers agents hold for it: an agent holds an Offer
 * from the moment it arrives until it is revoked, refused, its deadline
 * passes, or (once answered) the call ends. An Offer that reaches an agent
 * while another agent still holds one for the same call is a double offer:
 * the atomic reserve step of docs/routing.md promises it never happens.
 * Alerts (ring strategies) are not offers; a claim that wins is.
 *
 * A struct traffic_holds is a plain value inside the call; nothing to free.
 * Times are the simulator's monotonic ms.
 */
#ifndef KEFU_SIM_TRAFFIC_OFFERS_H
#define KEFU_SIM_TRAFFIC_OFFERS_H

#include <stdbool.h>
#include <stdint.h>

/* Offers held for one call at the same time, at most: more is itself a
 * double offer, and the oldest hold is forgotten to make room. */
#define TRAFFIC_HOLDS_MAX 4
/* until_ms of a hold that lasts until released (an answered call). */
#define TRAFFIC_HOLD_FOREVER UINT64_MAX

struct traffic_hold {
	uint32_t agent;
	uint64_t until_ms;
};

struct traffic_holds {
	struct traffic_hold h[TRAFFIC_HOLDS_MAX];
	uint8_t n;
};

/*
 * traffic_holds_offer - agent received an Offer for the call at now_ms,
 * valid until until_ms. Holds whose time has passed are dropped first; the
 * same agent offered again just renews its hold. Returns true when another
 * agent holds an offer for this call at now_ms: a double offer.
 */
bool traffic_holds_offer(struct traffic_holds *h, uint32_t agent, uint64_t now_ms,
			 uint64_t until_ms);

/* traffic_holds_keep - agent answered: its hold lasts until released. No-op if it holds none. */
void traffic_holds_keep(struct traffic_holds *h, uint32_t agent);

/* traffic_holds_release - agent's hold ends (revoked, refused, call ended). */
void traffic_holds_release(struct traffic_holds *h, uint32_t agent);

/* traffic_holds_count - holds still valid at now_ms. */
unsigned traffic_holds_count(const struct traffic_holds *h, uint64_t now_ms);

#endif
