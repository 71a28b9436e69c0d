/* Sync set and sync key logic. See syncset.h. */
#include "cluster/syncset.h"

#include <stdio.h>
#include <string.h>

void syncset_init(struct syncset *s, unsigned want)
{
	memset(s, 0, sizeof(*s));
	s->want = want;
}

void syncset_local_committed(struct syncset *s, uint64_t job, uint64_t index)
{
	if (s->local_n < SYNCSET_LOCAL_MAX)
		s->local_n++;
	/* the newest slot: a new one, or with the ring full the last one taken over */
	s->local[(s->local_head + s->local_n - 1) % SYNCSET_LOCAL_MAX] =
		(struct syncset_local){job, index};
}

bool syncset_local_durable(struct syncset *s, uint64_t job)
{
	bool moved = false;

	while (s->local_n && s->local[s->local_head].job <= job) {
		if (s->local[s->local_head].index > s->local_durable) {
			s->local_durable = s->local[s->local_head].index;
			moved = true;
		}
		s->local_head = (s->local_head + 1) % SYNCSET_LOCAL_MAX;
		s->local_n--;
	}
	return moved;
}

struct syncset_member *syncset_find(struct syncset *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->m[i].name, name) == 0)
			return &s->m[i];
	return NULL;
}

struct syncset_member *syncset_member(struct syncset *s, const char *name)
{
	struct syncset_member *m = syncset_find(s, name);

	if (m || s->n == SYNCSET_MAX)
		return m;
	m = &s->m[s->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	return m;
}

void syncset_ack(struct syncset *s, const char *name, uint64_t durable, uint64_t now_ms)
{
	struct syncset_member *m = syncset_member(s, name);

	if (m && durable > m->durable) {
		m->durable = durable;
		m->progress_ms = now_ms;
	}
}

void syncset_link(struct syncset *s, const char *name, bool connected, uint64_t now_ms)
{
	struct syncset_member *m = syncset_member(s, name);

	if (!m)
		return;
	m->connected = connected;
	m->progress_ms = now_ms;
}

uint64_t syncset_commit_index(const struct syncset *s)
{
	uint64_t c = s->local_durable;
	bool any = false;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->m[i].in_set)
			continue;
		any = true;
		if (s->m[i].durable < c)
			c = s->m[i].durable;
	}
	if (s->want > 0 && !any)
		c = s->acked;
	return c > s->acked ? c : s->acked;
}

/*
 * Healthy: connected, and either holding all it may be sent or moving. A
 * member of S is sent everything the leader has; any other follower only
 * what is acknowledged (repl.c), so for it "all" is the acknowledged index.
 */
static bool healthy(const struct syncset *s, const struct syncset_member *m, uint64_t now_ms,
		    uint64_t timeout_ms)
{
	if (!m->connected)
		return false;
	if (m->durable >= (m->in_set ? s->local_durable : s->acked))
		return true;
	return now_ms - m->progress_ms < timeout_ms;
}

static struct syncset_step step(enum syncset_step_kind kind, const struct syncset_member *m)
{
	struct syncset_step st = {kind, ""};

	if (m)
		snprintf(st.name, sizeof(st.name), "%s", m->name);
	return st;
}

struct syncset_step syncset_plan(const struct syncset *s, uint64_t now_ms, uint64_t timeout_ms)
{
	unsigned healthy_in_key = 0;
	bool candidate = false;
	const struct syncset_member *best = NULL;

	for (size_t i = 0; i < s->n; i++) {
		const struct syncset_member *m = &s->m[i];

		if (m->in_set && !m->in_key && healthy(s, m, now_ms, timeout_ms) &&
		    m->durable >= s->acked)
			return step(SYNCSET_ADD_TO_KEY, m);
		if (m->in_key && healthy(s, m, now_ms, timeout_ms))
			healthy_in_key++;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct syncset_member *m = &s->m[i];

		if (m->in_key && !healthy(s, m, now_ms, timeout_ms) && healthy_in_key >= s->want)
			return step(SYNCSET_REMOVE_FROM_KEY, m);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct syncset_member *m = &s->m[i];

		if (!m->in_set || m->in_key)
			continue;
		if (!healthy(s, m, now_ms, timeout_ms) || healthy_in_key >= s->want)
			return step(SYNCSET_REMOVE_FROM_SET, m);
		candidate = true;
	}
	if (healthy_in_key >= s->want || candidate)
		return step(SYNCSET_NONE, NULL);
	for (size_t i = 0; i < s->n; i++) {
		const struct syncset_member *m = &s->m[i];

		if (!m->in_set && healthy(s, m, now_ms, timeout_ms) &&
		    (!best || m->durable > best->durable))
			best = m;
	}
	return step(best ? SYNCSET_ADD_TO_SET : SYNCSET_NONE, best);
}

void syncset_apply(struct syncset *s, const struct syncset_step *st)
{
	struct syncset_member *m = syncset_find(s, st->name);

	if (!m)
		return;
	switch (st->kind) {
	case SYNCSET_ADD_TO_SET:
		m->in_set = true;
		break;
	case SYNCSET_ADD_TO_KEY:
		m->in_key = true;
		break;
	case SYNCSET_REMOVE_FROM_KEY:
		m->in_key = false;
		break;
	case SYNCSET_REMOVE_FROM_SET:
		m->in_set = false;
		break;
	case SYNCSET_NONE:
		break;
	}
}

void syncset_key_names(const struct syncset *s, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n && n < cap; i++) {
		int r;

		if (!s->m[i].in_key)
			continue;
		r = snprintf(out + n, cap - n, "%s%s", n ? "," : "", s->m[i].name);
		if (r < 0)
			break;
		n += (size_t)r;
	}
}
