/*
 * Leadership and membership through etcd (docs/cluster.md, "Leadership").
 *
 * An election object holds the node's lease (granted, kept alive every
 * ttl/4, re-granted when lost), its member key, and a watch on the
 * cluster's prefix that mirrors the leader, sync and failover keys and the
 * members. When the leader key is absent and this node is eligible (named
 * in the sync key, or no sync key exists yet, or named by the failover
 * key) and its owner allows it, it campaigns with a txn: create_revision
 * of the leader key == 0 -> put it with our lease. The epoch of a
 * leadership is the leader key's create_revision.
 *
 * Lease deadline: the time the last successful keepalive was SENT plus the
 * TTL minus a margin. etcd cannot expire the lease before it, so a leader
 * that stops acknowledging writes at the deadline never overlaps with its
 * successor. When the deadline passes, or etcd says the lease is gone, the
 * node stops being leader at once, revokes the lease if it can and starts
 * over with a new one.
 *
 * Everything runs on the loop; the owner hears of every change through
 * changed() and reads the state with the accessors.
 */
#ifndef KEFU_CLUSTER_ELECTION_H
#define KEFU_CLUSTER_ELECTION_H

#include "cluster/etcd.h"
#include "cluster/meta.h"
#include "lib/loop.h"

#include <stdbool.h>
#include <stdint.h>

#define ELECTION_MEMBERS_MAX 32

struct election;

/* The owner is told after any change of leader, epoch, keys, members,
 * lease validity or our own role. */
typedef void (*election_changed_fn)(void *arg);
/* Completion of an owner's request (sync key write, resign, failover). */
typedef void (*election_done_fn)(void *arg, int err);

struct election_opts {
	struct loop *loop;       /* must outlive the election */
	struct etcd *etcd;       /* its client; must outlive the election */
	const char *cluster;     /* keys live under /kefu/<cluster>/; copied */
	const char *self;        /* this node's name; copied */
	const char *addr;        /* this node's advertised HOST:PORT; copied */
	uint64_t lease_ttl_ms;   /* >= 2000, a whole number of seconds */
	uint64_t margin_ms;      /* deadline safety margin; 0 = 300 */
	election_changed_fn changed; /* the owner's callback, from the loop */
	void *arg;
};

/*
 * election_new - start (lease, member key, watch) into *out. Returns 0, or
 * -EINVAL (an option missing: loop, etcd, cluster, self, addr or changed;
 * *out is NULL). Free with election_free.
 */
int election_new(const struct election_opts *o, struct election **out);

/* election_free - free e AFTER etcd_free of its client (which cancels the
 * callbacks that point to e). The lease is left to expire; a clean
 * shutdown calls election_resign first. NULL is fine. */
void election_free(struct election *e);

/* The leader as etcd says ("" when none) and its epoch (0 when none). */
const char *election_leader(const struct election *e, uint64_t *epoch);

/* election_is_leader - we hold the leader key and our lease deadline holds. */
bool election_is_leader(const struct election *e);

/* election_lease_valid - our lease is known alive until a deadline in the future. */
bool election_lease_valid(const struct election *e);

/* election_lease_deadline - monotonic ms until which the lease is sure to hold. */
uint64_t election_lease_deadline(const struct election *e);

/* election_sync - the sync key, or NULL when there is none. */
const struct meta_sync *election_sync(const struct election *e);

/* election_failover_to - the name in the failover key, or NULL. */
const char *election_failover_to(const struct election *e);

/* election_members - the members registered now (valid until the next change). */
size_t election_members(const struct election *e, const struct meta_member **out);

/* election_etcd_ok - the last etcd request succeeded. */
bool election_etcd_ok(const struct election *e);

/* election_note - why this node cannot lead or acknowledge now, or "". */
const char *election_note(const struct election *e);

/*
 * election_allow_campaign - the owner's veto (e.g. while catching up or
 * installing a snapshot). Default: allowed.
 */
void election_allow_campaign(struct election *e, bool allow);

/* election_set_member - what our member key says; written when it changes
 * (at most every 200 ms). */
void election_set_member(struct election *e, const char *role, uint64_t applied,
			 uint64_t applied_epoch, uint64_t epoch_seen);

/*
 * election_write_sync - the leader writes the sync key, in a txn that holds
 * only while the leader key is still ours at our epoch. err 0: written;
 * KF_ESTATE: we are no longer leader.
 */
int election_write_sync(struct election *e, const struct meta_sync *s, election_done_fn done,
			void *arg);

/*
 * election_resign - give up leadership: delete the leader key (txn on our
 * epoch). Until the key is gone we are still leader for etcd but
 * election_is_leader() is false at once.
 */
int election_resign(struct election *e, election_done_fn done, void *arg);

/* election_request_failover - write the failover key naming `to`. */
int election_request_failover(struct election *e, const char *to, election_done_fn done,
			      void *arg);

/* election_clear_failover - the new leader deletes the failover key. */
int election_clear_failover(struct election *e);

/* election_etcd - the client, for status queries. */
struct etcd *election_etcd(struct election *e);

#endif
