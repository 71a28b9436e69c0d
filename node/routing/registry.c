/*
 * The routing's registry: its records of the connections that sent it
 * messages, how it sends to them, and the mirror of the agents and calls
 * this node owns. See routing_int.h.
 */
#include "node/routing/routing_int.h"

#include "cluster/rpc.h"
#include "lib/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== small helpers ==== */

void routing__num(char out[NUM_MAX], uint64_t v)
{
	snprintf(out, NUM_MAX, "%llu", (unsigned long long)v);
}

uint64_t routing__parse_u64(const char *s)
{
	uint64_t v = 0;

	for (; s && *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

void routing__copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

bool routing__id_is_valid(const char *s, size_t max, bool colon)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || (colon && c == ':')))
			return false;
	}
	return n <= max;
}

const struct routing_tier *routing__tier_of(const struct routing *r, unsigned level)
{
	return &r->set.tiers[level < NTIERS ? level : 0];
}

/* ==== connections ==== */

struct rconn *routing__conn_find(struct routing *r, uint64_t id)
{
	return id ? routing__conns_find(&r->conns, id) : NULL;
}

struct rconn *routing__conn_get(struct routing *r, struct msg_peer *p, uint64_t request_id)
{
	const struct tls_identity *who = msg_peer_who(p);
	struct rconn *c = routing__conn_find(r, msg_peer_id(p));

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			abort();
		c->id = msg_peer_id(p);
		routing__conns_insert(&r->conns, c);
	}
	if (who->role == TLS_ROLE_GATEWAY && !c->gateway[0]) {
		if (!routing__id_is_valid(who->cn, TLS_NAME_MAX, false)) {
			routing__error(r, c->id, request_id, KF_EPROTO,
				       "a gateway's certificate name must be [A-Za-z0-9_.-]");
			return NULL;
		}
		routing__copy(c->gateway, sizeof(c->gateway), who->cn);
	}
	return c;
}

void routing__conn_free(struct routing *r, struct rconn *c)
{
	routing__conns_remove(&r->conns, c);
	free(c);
}

void routing__send(struct routing *r, uint64_t conn, Kefu__Envelope *e, uint64_t request_id)
{
	struct msg_peer *p = msg_peer_find(r->hub, conn);

	if (p)
		msg_send(p, e, request_id);
}

/* Routing's refusals are about calls and sessions, not about which node
 * leads: unlike msg_error, they name no leader. */
void routing__error(struct routing *r, uint64_t conn, uint64_t request_id, int code,
		    const char *msg)
{
	Kefu__Envelope e;
	Kefu__Error er;

	env_error(&e, &er, request_id, code, msg);
	routing__send(r, conn, &e, request_id);
}

void routing__ack(struct routing *r, uint64_t conn, uint64_t request_id, bool ok,
		  const char *msg)
{
	struct msg_peer *p = msg_peer_find(r->hub, conn);

	if (p)
		msg_ack(p, request_id, ok, msg);
}

void routing__session_end(struct routing *r, uint64_t conn, const char *agent)
{
	struct msg_peer *p = msg_peer_find(r->hub, conn);

	if (p && (!agent || strcmp(msg_peer_session(p), agent) == 0))
		msg_peer_set_session(p, "");
}

/* ==== the mirror ==== */

struct ragent *routing__agent_find(struct routing *r, const char *id)
{
	return id ? routing__agents_find(&r->agents, id) : NULL;
}

struct ragent *routing__agent_add(struct routing *r, const char *id)
{
	struct ragent *a = routing__agent_find(r, id);

	if (a)
		return a;
	if (ht_count(&r->agents) >= AGENTS_MAX)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	routing__copy(a->id, sizeof(a->id), id);
	routing__agents_insert(&r->agents, a);
	return a;
}

void routing__agent_drop(struct routing *r, struct ragent *gone)
{
	routing__agents_remove(&r->agents, gone);
	free(gone);
}

struct ragent *routing__agent_of(struct routing *r, struct msg_peer *p)
{
	const char *id = msg_peer_session(p);

	return *id ? routing__agent_find(r, id) : NULL;
}

struct rcall *routing__call_find(struct routing *r, const char *key)
{
	return key ? routing__calls_find(&r->calls, key) : NULL;
}

struct rcall *routing__call_add(struct routing *r, const char *gateway, const char *ext)
{
	char key[CALL_KEY_MAX];
	struct rcall *c;

	snprintf(key, sizeof(key), "%s:%s", gateway, ext);
	c = routing__call_find(r, key);
	if (c)
		return c;
	if (ht_count(&r->calls) >= CALLS_MAX)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	routing__copy(c->key, sizeof(c->key), key);
	routing__copy(c->ext, sizeof(c->ext), ext);
	routing__copy(c->gateway, sizeof(c->gateway), gateway);
	c->tier = routing__tier_of(r, 0);
	routing__calls_insert(&r->calls, c);
	return c;
}

void routing__call_drop(struct routing *r, struct rcall *gone)
{
	routing__calls_remove(&r->calls, gone);
	free(gone);
}
