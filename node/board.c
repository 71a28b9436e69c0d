/*
 * The live board (node/board.h).
 */
#include "node/board.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct board *board_new(void)
{
	struct board *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	return b;
}

void board_free(struct board *b)
{
	if (!b)
		return;
	free(b->agents);
	free(b);
}

void board_want(struct board *b, uint64_t now_ms)
{
	if (now_ms + BOARD_WANT_MS > b->wanted_until_ms)
		b->wanted_until_ms = now_ms + BOARD_WANT_MS;
}

static bool same(const struct board *a, const struct board *b)
{
	return a->ntiers == b->ntiers && a->nskills == b->nskills && a->nagents == b->nagents &&
	       memcmp(a->tiers, b->tiers, a->ntiers * sizeof(a->tiers[0])) == 0 &&
	       memcmp(a->skills, b->skills, a->nskills * sizeof(a->skills[0])) == 0 &&
	       (a->nagents == 0 ||
		memcmp(a->agents, b->agents, a->nagents * sizeof(a->agents[0])) == 0);
}

void board_set(struct board *b, const struct board *next, uint64_t now_ms)
{
	struct board_agent *agents = NULL;
	bool changed = !same(b, next);

	if (next->nagents) {
		agents = malloc(next->nagents * sizeof(*agents));
		if (!agents)
			abort();
		memcpy(agents, next->agents, next->nagents * sizeof(*agents));
	}
	free(b->agents);
	b->agents = agents;
	b->nagents = next->nagents;
	b->ntiers = next->ntiers < BOARD_QUEUES_MAX ? next->ntiers : BOARD_QUEUES_MAX;
	b->nskills = next->nskills < BOARD_QUEUES_MAX ? next->nskills : BOARD_QUEUES_MAX;
	memcpy(b->tiers, next->tiers, b->ntiers * sizeof(b->tiers[0]));
	memcpy(b->skills, next->skills, b->nskills * sizeof(b->skills[0]));
	b->at_ms = now_ms;
	if (changed)
		b->version++;
}
