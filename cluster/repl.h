/*
 * Replication (docs/cluster.md, "Replication" and "Sync set and sync key").
 *
 * One repl object per node, driven by the loop. It follows the election:
 *
 *   leader   - appends clients' WriteBatches to the log through the writer
 *              thread (group commit), streams the log to every follower
 *              that says Hello, keeps the sync set and the sync key, and
 *              acknowledges an index once every standby of the sync set has
 *              it on disk and the lease deadline holds;
 *   follower - dials the leader, says Hello, applies Append frames through
 *              the writer thread (a group's chunks are spooled to a file and
 *              applied in one transaction at the group's end), answers with
 *              AppendAck, and installs a snapshot when the leader sends one.
 *              Any other message on that link (but an Error) is a protocol
 *              error: logged with its body case (rate-limited), and the link
 *              is dropped and dialled again.
 *
 * The node's server hands peer frames on accepted connections to
 * repl_on_hello / repl_on_append_ack and tells of closed connections.
 * Storage (store + writer) belongs to the node: repl reaches it through
 * struct repl_storage, and asks the node to swap it for a snapshot.
 */
#ifndef KEFU_CLUSTER_REPL_H
#define KEFU_CLUSTER_REPL_H

#include "cluster/election.h"
#include "lib/loop.h"
#include "lib/net.h"
#include "lib/tls.h"
#include "storage/store.h"
#include "storage/writer.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

struct repl;

/* The node's storage, which a snapshot install replaces. */
struct repl_storage {
	struct store *store;
	struct writer *writer;
	/*
	 * reinstall - stop the writer, close the store, install the snapshot
	 * file into the data directory, reopen both and update this struct.
	 * Returns 0 or an error (the old environment stays in place).
	 */
	int (*reinstall)(void *arg, const char *snapshot_file);
	void *arg;
};

struct repl_opts {
	const char *self;              /* this node's name; copied */
	const char *data_dir;          /* the store's directory (snapshots go beside it); copied */
	struct loop *loop;             /* must outlive the repl, as must the three below */
	struct election *election;
	struct tls_ctx *client_tls;    /* our node certificate, to dial the leader */
	struct repl_storage *storage;  /* the node's; repl reads it through this pointer */
	uint64_t sync_timeout_ms;
	uint64_t log_retain;
	size_t max_frame;
	unsigned standbys;             /* sync standbys wanted: 1 (0 for a one-node cluster) */
};

/*
 * repl_new - replication for this node, into *out; it starts as a
 * follower and reads the log's state from the store now. Every pointer of
 * o is required. Returns 0, or (*out NULL) the error of
 * loop_wake_new or of reading the log's state (store_read_begin's,
 * KF_ECORRUPT...). Free with repl_free.
 */
int repl_new(const struct repl_opts *o, struct repl **out);

/* repl_free - pending writes are failed with KF_ECANCELED; links closed. NULL is fine. */
void repl_free(struct repl *r);

/* repl_on_writer - the writer thread completed jobs or made more durable
 * (writer_durable_id): the node calls it after each writer_reap. */
void repl_on_writer(struct repl *r);

/* repl_on_election - the election changed (leader, epoch, keys, lease). */
void repl_on_election(struct repl *r);

/* Peer frames from accepted connections (role kefu-node). */
void repl_on_hello(struct repl *r, struct net_conn *c, const Kefu__Hello *h);
void repl_on_append_ack(struct repl *r, struct net_conn *c, const Kefu__AppendAck *a);
/* repl_on_conn_closed - any accepted connection ended (repl ignores those it does not know). */
void repl_on_conn_closed(struct repl *r, struct net_conn *c);

/* Completion of a write: err 0 and the log index it committed at, or an
 * error (KF_ESTATE: not leader or leadership lost — the write may or may
 * not have been applied; the client retries through the new leader). */
typedef void (*repl_done_fn)(void *arg, int err, uint64_t index);

/*
 * repl_write - the leader appends one packed WriteBatch; done runs once
 * it is acknowledged (on the standbys' disks) or fails. Returns 0 (done
 * will run), KF_ESTATE (not the serving leader: see repl_leader_hint),
 * KF_ETOOBIG (writer queue full).
 */
int repl_write(struct repl *r, const uint8_t *packed, size_t len, repl_done_fn done, void *arg);

/*
 * repl_run_logged - run a leader-side job that appends to the log itself
 * (a BOSS import: log_append_batch of its chunks, in one transaction; a
 * change checked against the stored data and written in the same step).
 * body receives the current epoch before it runs: the caller's arg is read
 * by body. With grouped, the job may share its transaction and fsync with
 * other short jobs (storage/writer.h, group commit): its body then runs
 * again from scratch when another of the group fails, and a failure of its
 * own fails it alone. A long job (an import) runs alone. When the job has
 * committed, done runs once every entry it appended is acknowledged (or
 * with an error). Returns 0, KF_ESTATE (not the serving leader), KF_ETOOBIG.
 */
typedef int (*repl_logged_body_fn)(struct store_txn *t, uint64_t epoch, void *arg);
int repl_run_logged(struct repl *r, repl_logged_body_fn body, void *arg, bool grouped,
		    repl_done_fn done, void *done_arg);

/* repl_is_serving - this node is the leader and takes writes now. */
bool repl_is_serving(const struct repl *r);

/* repl_leader_hint - the leader's name and address as far as known ("" if none). */
void repl_leader_hint(const struct repl *r, const char **name, const char **addr);

/* repl_role - "leader", "standby", "follower", "starting". */
const char *repl_role(const struct repl *r);

/* repl_applied - our applied index and its epoch. */
void repl_applied(const struct repl *r, uint64_t *index, uint64_t *epoch);

/*
 * The note of a node that holds no etcd lease and whose etcd requests all
 * fail: it can reach no etcd quorum, so it leads nothing and refuses every
 * write. The note starts with this text; the detail follows in parentheses.
 */
#define REPL_NOTE_NO_QUORUM "writes refused: no etcd quorum reachable, no lease"

/*
 * repl_fill_status - leader, epoch, members with role/applied/lag/sync,
 * the note (why no write is acknowledged now: REPL_NOTE_NO_QUORUM..., or
 * a leader's or follower's passing state; NULL when there is nothing to
 * say); strings point into r and the election (valid until the next loop
 * turn or the next repl_fill_status). The caller frees the arrays with
 * repl_status_release.
 */
void repl_fill_status(struct repl *r, Kefu__StatusReply *st);
void repl_status_release(Kefu__StatusReply *st);

/* Completion of an administrative request; msg is valid during the call. */
typedef void (*repl_admin_fn)(void *arg, bool ok, const char *msg);

/*
 * repl_switchover - planned: the leader makes `to` its only standby,
 * waits until it holds every entry, and resigns so that `to` takes over.
 * Only on the leader (KF_ESTATE otherwise). Writes arriving meanwhile are
 * refused with "leader changing".
 */
int repl_switchover(struct repl *r, const char *to, repl_admin_fn done, void *arg);

/*
 * repl_failover - operator-forced: name `to` (NULL: the live member with
 * the highest applied index) in the failover key; the leader, if it is
 * this node, resigns at once. Any node.
 */
int repl_failover(struct repl *r, const char *to, repl_admin_fn done, void *arg);

#endif
