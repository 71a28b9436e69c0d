/*
 * The sync set and the sync key, as pure logic (docs/cluster.md, "Sync set
 * and sync key").
 *
 * The leader knows, per follower, the highest index it has on disk. The
 * sync set S holds the standbys whose acknowledgment a write needs; the
 * sync key K (in etcd) names the standbys that may be promoted. Invariant:
 * K is a subset of S, and a node enters K only once it holds every
 * acknowledged write. syncset_commit_index() says how far writes may be
 * acknowledged; syncset_plan() says the next step towards the wanted
 * number of healthy standbys. The caller carries a step out (a change of S
 * is local; a change of K is an etcd txn) and reports it done with
 * syncset_apply(). No clocks, sockets or etcd here: the tests drive it.
 */
#ifndef KEFU_CLUSTER_SYNCSET_H
#define KEFU_CLUSTER_SYNCSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNCSET_MAX 16
#define SYNCSET_NAME_MAX 64

struct syncset_member {
	char name[SYNCSET_NAME_MAX];
	bool connected;       /* a live replication link to the leader */
	uint64_t durable;     /* highest index acknowledged on disk */
	uint64_t progress_ms; /* when durable last moved, or the link came up */
	bool in_set;          /* in S: writes wait for it */
	bool in_key;          /* in K: may be promoted */
};

/* The leader's own writes committed but not yet known durable, oldest
 * first: the writer's job id and the log index it wrote. */
#define SYNCSET_LOCAL_MAX 1024
struct syncset_local {
	uint64_t job;
	uint64_t index;
};

struct syncset {
	struct syncset_member m[SYNCSET_MAX];
	size_t n;
	unsigned want;           /* standbys wanted (0: acknowledge on the leader's disk alone) */
	uint64_t local_durable;  /* the leader's own durable index */
	uint64_t acked;          /* highest index acknowledged to clients so far */
	struct syncset_local local[SYNCSET_LOCAL_MAX]; /* a ring */
	size_t local_head, local_n;
};

enum syncset_step_kind {
	SYNCSET_NONE,
	SYNCSET_ADD_TO_SET,
	SYNCSET_ADD_TO_KEY,
	SYNCSET_REMOVE_FROM_KEY,
	SYNCSET_REMOVE_FROM_SET,
};

struct syncset_step {
	enum syncset_step_kind kind;
	char name[SYNCSET_NAME_MAX];
};

/* syncset_init - empty, wanting `want` standbys. */
void syncset_init(struct syncset *s, unsigned want);

/*
 * syncset_member - the member called name, added (disconnected, outside S
 * and K) if new. Returns NULL when SYNCSET_MAX members exist already.
 */
struct syncset_member *syncset_member(struct syncset *s, const char *name);

/* syncset_find - the member called name or NULL. */
struct syncset_member *syncset_find(struct syncset *s, const char *name);

/* syncset_ack - member name has everything up to durable on disk. */
void syncset_ack(struct syncset *s, const char *name, uint64_t durable, uint64_t now_ms);

/* syncset_link - member name's link came up (connected) or went down. */
void syncset_link(struct syncset *s, const char *name, bool connected, uint64_t now_ms);

/*
 * syncset_local_committed - the leader's writer job `job` committed the log
 * up to index, durable later (storage/writer.h, WRITER_LAZY). Jobs and
 * indexes only grow. With the ring full, the newest entry takes the new
 * one's place: the index it held counts as durable only with the new one,
 * later but never too early.
 */
void syncset_local_committed(struct syncset *s, uint64_t job, uint64_t index);

/* syncset_local_durable - every job up to `job` is durable: local_durable
 * moves over their indexes. Returns whether it moved. */
bool syncset_local_durable(struct syncset *s, uint64_t job);

/*
 * syncset_commit_index - the highest index that may be acknowledged now:
 * the leader's durable index bounded by every member of S; with want > 0
 * and S empty, nothing new (acked). Never below acked.
 */
uint64_t syncset_commit_index(const struct syncset *s);

/*
 * syncset_plan - the next step, or SYNCSET_NONE. A member of K is
 * unhealthy when its link is down, or when it is behind the leader and has
 * not progressed for timeout_ms. Steps, in priority order:
 *   - a member of S outside K that holds every acknowledged write joins K;
 *   - an unhealthy member of K leaves K once K keeps `want` healthy members
 *     without it (so its replacement is named first);
 *   - a member of S outside K that is unhealthy leaves S (a candidate that
 *     failed); a member of S outside K leaves S once K is full again;
 *   - while K has fewer than `want` healthy members and no candidate is
 *     catching up in S, the connected follower with the highest durable
 *     index outside S joins S.
 */
struct syncset_step syncset_plan(const struct syncset *s, uint64_t now_ms, uint64_t timeout_ms);

/* syncset_apply - record that step was carried out. */
void syncset_apply(struct syncset *s, const struct syncset_step *step);

/* syncset_key_names - the names in K, comma-separated into out (for logs). */
void syncset_key_names(const struct syncset *s, char *out, size_t cap);

#endif
