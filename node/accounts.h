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
#include "node/leader.h"

extern const struct component accounts_service;

/*
 * accounts_upgrade_hash - after a good login: the password of agent id,
 * whose stored hash was old_hash, hashed again as new_hash (more
 * iterations). The leader checks that old_hash is still the current hash
 * and writes new_hash in the same step; a follower asks it with an
 * AccountRehash (a password change meanwhile wins on either). self names
 * the batch's origin. done as for leader_submit; returns as leader_run or
 * leader_ask.
 */
int accounts_upgrade_hash(struct leader *l, const char *self, const char *id,
			  const char *old_hash, const char *new_hash, leader_done_fn done,
			  void *arg);

#endif
