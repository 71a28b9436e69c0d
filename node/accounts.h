/*
 * Agent accounts and the audit log, as rows of the one message table:
 * account changes (add, update, password, disable) and the listings of
 * agents and audit entries, in pages from the local replica.
 *
 * A change runs on the leader inside the transaction that appends it to
 * the log (leader_run): the check against the stored account and the
 * write are one step, and the same batch carries the change's audit
 * entry. A follower forwards the request, naming the admin (its
 * certificate's CN) as the actor.
 */
#ifndef KEFU_NODE_ACCOUNTS_H
#define KEFU_NODE_ACCOUNTS_H

#include "node/component.h"

extern const struct component accounts_service;

#endif
