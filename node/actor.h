/*
 * Who asks for a change that the leader checks and writes (work orders,
 * knowledge-base articles): the agent logged in on the connection, the
 * admin certificate's name, or, on a request a follower forwarded under
 * its node certificate, the actor that node vouches for.
 */
#ifndef KEFU_NODE_ACTOR_H
#define KEFU_NODE_ACTOR_H

#include "node/msg.h"

#include <stdbool.h>

struct actor {
	const char *name; /* valid as long as p and e */
	bool admin;
};

/*
 * actor_of - who sent e on p; what (e.g. "work orders") names the
 * requests in refusals. actor and admin are the fields the request carries
 * (trusted only from a node). false, with an Error sent, when p may not
 * ask: an agent without a session, a node without an actor, a gateway.
 */
bool actor_of(struct msg_peer *p, const Kefu__Envelope *e, const char *actor, bool admin,
	      const char *what, struct actor *out);

/*
 * actor_route - who asks (actor_of) and where the change goes. On a
 * follower, e is forwarded to the leader with *actor and *admin set to
 * the actor this node vouches for (whatever the client put there; the
 * strings of the decoded request are replaced and freed with it), and
 * false is returned. On the leader, true with *out: the change is checked
 * and written here. false also after a refusal was sent.
 */
struct leader;
bool actor_route(struct leader *l, struct msg_peer *p, const Kefu__Envelope *e, char **actor,
		 protobuf_c_boolean *admin, protobuf_c_boolean *has_admin, const char *what,
		 struct actor *out);

#endif
