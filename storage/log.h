/*
 * The replicated log, inside the node's LMDB environment.
 *
 * Table STORE_LOG holds kefu.LogEntry {index, epoch, batch} under the index
 * as 8 bytes big-endian; batch is a packed kefu.WriteBatch. Appending an
 * entry and applying its batch happen in the same write transaction, with
 * the log's state in STORE_META, so the log and the data never disagree:
 *
 *   log.applied_index  last entry applied (0: none yet)
 *   log.applied_epoch  epoch of that entry
 *   log.epoch_seen     highest leader epoch accepted (the fence)
 *   log.log_start      first index still in the log
 *   log.open_group     group id while a group's chunks are being applied
 *
 * Values are 8-byte big-endian integers; an absent key reads as 0 (log_start:
 * 1). Every write, of data, entries and state alike, goes through a struct
 * batch and batch_apply (kb_apply, which also derives the knowledge base's
 * index: storage/kb.h). The meta prefix "log." and table STORE_LOG belong to
 * this module, and the derived tables STORE_KB_TERMS and STORE_KB_DOCS to
 * storage/kbindex.c: a replicated batch that writes to any of them is refused.
 *
 * Every function works inside the caller's transaction (store.h) and never
 * commits; a write failure leaves the transaction to be aborted (store_write
 * does so, and reruns the body after KF_EMAPFULL).
 *
 * Epochs. Every entry keeps the epoch of the leader that appended it, so the
 * log's epochs never decrease. A leader appends with its own epoch; a
 * follower applies what a leader sends under that leader's epoch (the
 * Append frame's), which may be above the entries' own epochs when the
 * leader resends an older leader's entries. Both refuse a leader epoch below
 * epoch_seen and raise epoch_seen to it.
 *
 * Groups. A WriteBatch with group != 0 is one chunk of a group that ends at
 * the chunk with group_end. A group's chunks are consecutive entries and are
 * made durable together: the leader appends them all in one transaction, and
 * a follower applies them with log_apply_entry in one transaction that it
 * commits only once log_state().open_group is 0 again. An entry that
 * interleaves with an open group is refused.
 */
#ifndef KEFU_STORAGE_LOG_H
#define KEFU_STORAGE_LOG_H

#include "proto/kefu.pb-c.h"
#include "storage/batch.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Entries log_truncate deletes per call, so one transaction stays small. */
#define LOG_TRUNCATE_MAX 4096

/* The meta keys of this module start with this prefix. */
#define LOG_META_PREFIX "log."

struct log_state {
	uint64_t applied_index; /* last entry applied; 0 before the first */
	uint64_t applied_epoch; /* that entry's epoch */
	uint64_t epoch_seen;    /* highest leader epoch accepted */
	uint64_t log_start;     /* first retained index; applied_index + 1 when empty */
	uint64_t open_group;    /* group whose end has not been applied yet; 0: none */
};

/*
 * log_state - read the log's state as seen by t (read or write
 * transaction). Returns 0, KF_ECORRUPT (a state value of the wrong size),
 * KF_ESTORE.
 */
int log_state(struct store_txn *t, struct log_state *st);

/*
 * log_append - the leader's write: index = applied_index + 1; unpack the
 * packed WriteBatch, apply it, store the entry and update the state, all in
 * t. epoch is the leader's epoch. On 0, *index (may be NULL) is the entry's
 * index. packed is only read during the call.
 * Returns 0, KF_ESTATE (epoch below epoch_seen; the batch interleaves with
 * an open group), KF_EPARSE (not a WriteBatch), KF_EPROTO (the batch writes
 * STORE_LOG or a "log." meta key), KF_ETOOBIG, KF_EMAPFULL, KF_ESTORE,
 * KF_ECORRUPT, -EINVAL (epoch 0). The checks come before any write: after
 * KF_ESTATE, KF_EPARSE or KF_EPROTO the transaction is untouched.
 */
int log_append(struct store_txn *t, uint64_t epoch, const uint8_t *packed, size_t len,
	       uint64_t *index);

/*
 * log_append_batch - log_append for a batch built locally (an import): b is
 * packed with group, group_end and origin (batch_pack) and applied as is.
 * Same results as log_append but KF_EPARSE.
 */
int log_append_batch(struct store_txn *t, uint64_t epoch, const struct batch *b, uint64_t group,
		     bool group_end, const char *origin, uint64_t *index);

/*
 * log_record_batch - log_append_batch for ops that are already applied in
 * t (the importer applies a chunk as it checks it): only the entry and the
 * state are written. Same results as log_append_batch. Not for batches that
 * change knowledge-base articles: their index is derived as they apply.
 */
int log_record_batch(struct store_txn *t, uint64_t epoch, const struct batch *b, uint64_t group,
		     bool group_end, const char *origin, uint64_t *index);

/*
 * log_apply_entry - a follower's write: apply e, received from the leader of
 * epoch leader_epoch (the Append frame's epoch), append it and update the
 * state, in t. e is only read during the call.
 * Returns 0;
 *   KF_ESTATE: e->index is not applied_index + 1, or leader_epoch is below
 *              epoch_seen (a deposed leader), or e interleaves with an open
 *              group: nothing was written, t stays usable;
 *   KF_EPROTO: e lacks index or epoch, its epoch is below applied_epoch or
 *              above leader_epoch, or its batch writes this module's keys;
 *   KF_EPARSE, KF_ETOOBIG (the batch), KF_EMAPFULL, KF_ESTORE, KF_ECORRUPT.
 */
int log_apply_entry(struct store_txn *t, uint64_t leader_epoch, const Kefu__LogEntry *e);

/*
 * log_entry_is_group_end - true when a transaction may commit right after
 * e: its batch stands alone (group 0) or is the last chunk of its group.
 * false for a chunk that more chunks of its group must follow. A batch that
 * does not parse counts as standing alone (applying it fails anyway).
 */
bool log_entry_is_group_end(const Kefu__LogEntry *e);

/*
 * log_set_epoch_seen - raise epoch_seen to epoch (fencing: from then on, no
 * lower leader epoch is accepted). Never lowers it. Returns 0, KF_EMAPFULL,
 * KF_ESTORE, KF_ECORRUPT.
 */
int log_set_epoch_seen(struct store_txn *t, uint64_t epoch);

/*
 * log_restart - make t's environment the first of a new cluster (a backup
 * restored with `kefuctl restore --new-cluster`): the data and the applied
 * index stay; every entry goes; applied_epoch and epoch_seen become 0, so
 * the new cluster's first leader, whatever its epoch, appends after them.
 * Returns 0, KF_ESTATE (a group is open: the copy is not at a whole
 * write), KF_ECORRUPT, KF_EMAPFULL, KF_ESTORE.
 */
int log_restart(struct store_txn *t);

/*
 * log_read - call fn for each entry from from_index on, in order, while
 * their packed sizes add up to at most max_bytes (the first entry is always
 * given, whatever its size). e and packed (the stored LogEntry bytes) are
 * valid only during the call. fn returns 0 to go on, 1 to stop, or a
 * negative error that ends the read and is returned.
 * Returns 0 (also when nothing is there yet), KF_ENOTFOUND (from_index is
 * below log_start: truncated, send a snapshot), KF_ECORRUPT (a gap or an
 * entry that does not parse), fn's error, KF_ESTORE.
 */
typedef int (*log_read_fn)(void *arg, const Kefu__LogEntry *e, const uint8_t *packed,
			   size_t len);
int log_read(struct store_txn *t, uint64_t from_index, size_t max_bytes, log_read_fn fn,
	     void *arg);

/*
 * log_entry_epoch - the epoch of entry index, for the divergence check.
 * Index 0 has epoch 0; applied_index has applied_epoch even once truncated.
 * Returns 0, KF_ENOTFOUND (not in the log), KF_ECORRUPT, KF_ESTORE.
 */
int log_entry_epoch(struct store_txn *t, uint64_t index, uint64_t *epoch);

/*
 * log_truncate - delete entries below upto (never beyond applied_index,
 * whose epoch stays in the state), at most LOG_TRUNCATE_MAX of them, and
 * move log_start. *more (may be NULL) is set when entries below upto
 * remain: commit and call again. Returns 0, KF_EMAPFULL, KF_ESTORE,
 * KF_ECORRUPT.
 */
int log_truncate(struct store_txn *t, uint64_t upto, bool *more);

#endif
