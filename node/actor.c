/* Who asks for a change. See actor.h. */
#include "node/actor.h"

#include "lib/err.h"
#include "node/leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool actor_of(struct msg_peer *p, const Kefu__Envelope *e, const char *actor, bool admin,
	      const char *what, struct actor *out)
{
	const struct tls_identity *who = msg_peer_who(p);
	char msg[160];

	switch (who->role) {
	case TLS_ROLE_NODE:
		/* A node forwards a client's change with the actor it vouches for. */
		if (!e->forwarded || !actor || !*actor) {
			snprintf(msg, sizeof(msg), "a node sends a change of %s only forwarded, "
				 "with its actor", what);
			msg_error(p, e->request_id, KF_EPROTO, msg);
			return false;
		}
		*out = (struct actor){actor, admin};
		return true;
	case TLS_ROLE_ADMIN:
		*out = (struct actor){who->cn, true};
		return true;
	case TLS_ROLE_NONE:
		if (!msg_peer_session(p)[0]) {
			msg_error(p, e->request_id, KF_ESTATE, "log in first");
			return false;
		}
		*out = (struct actor){msg_peer_session(p), false};
		return true;
	default:
		snprintf(msg, sizeof(msg), "%s are for agents and admins", what);
		msg_error(p, e->request_id, KF_EPROTO, msg);
		return false;
	}
}

bool actor_route(struct leader *l, struct msg_peer *p, const Kefu__Envelope *e, char **actor,
		 protobuf_c_boolean *admin, protobuf_c_boolean *has_admin, const char *what,
		 struct actor *out)
{
	if (!actor_of(p, e, *actor, *admin, what, out))
		return false;
	if (leader_is_local(l))
		return true;
	if (*actor != out->name) {
		char *copy = strdup(out->name);

		if (!copy)
			abort();
		free(*actor);
		*actor = copy;
	}
	*admin = out->admin;
	*has_admin = 1;
	leader_forward(l, p, e, NULL);
	return false;
}
