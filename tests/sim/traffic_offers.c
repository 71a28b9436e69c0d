/* Double-offer detection. See traffic_offers.h. */
#include "tests/sim/traffic_offers.h"

#include <string.h>

static void drop(struct traffic_holds *h, unsigned i)
{
	memmove(&h->h[i], &h->h[i + 1], (h->n - i - 1) * sizeof(h->h[0]));
	h->n--;
}

static int find(const struct traffic_holds *h, uint32_t agent)
{
	for (unsigned i = 0; i < h->n; i++)
		if (h->h[i].agent == agent)
			return (int)i;
	return -1;
}

bool traffic_holds_offer(struct traffic_holds *h, uint32_t agent, uint64_t now_ms,
			 uint64_t until_ms)
{
	bool twice = false;
	int i;

	for (unsigned k = h->n; k-- > 0;)
		if (h->h[k].until_ms <= now_ms)
			drop(h, k);
	for (unsigned k = 0; k < h->n; k++)
		twice |= h->h[k].agent != agent;
	if ((i = find(h, agent)) >= 0) {
		h->h[i].until_ms = until_ms;
		return twice;
	}
	if (h->n == TRAFFIC_HOLDS_MAX)
		drop(h, 0);
	h->h[h->n++] = (struct traffic_hold){agent, until_ms};
	return twice;
}

void traffic_holds_keep(struct traffic_holds *h, uint32_t agent)
{
	int i = find(h, agent);

	if (i >= 0)
		h->h[i].until_ms = TRAFFIC_HOLD_FOREVER;
}

void traffic_holds_release(struct traffic_holds *h, uint32_t agent)
{
	int i = find(h, agent);

	if (i >= 0)
		drop(h, (unsigned)i);
}

unsigned traffic_holds_count(const struct traffic_holds *h, uint64_t now_ms)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->n; i++)
		n += h->h[i].until_ms > now_ms;
	return n;
}
