/*
 * WriteBatch: the one path of every durable change.
 *
 * A batch is an ordered list of put/delete ops on tables (store.h). Code
 * that changes data builds ops into a batch and applies them with
 * batch_apply/batch_apply_from inside a write transaction; nothing else
 * writes to LMDB. batch_pack turns a batch into the protobuf WriteBatch that
 * the replicated log stores and ships; batch_unpack is its inverse, used by
 * replicas, which then apply it through the same batch_apply.
 *
 * A batch copies keys and values into memory of its own, up to a byte cap;
 * the importer flushes (packs, then resets) long before the cap, so memory
 * stays bounded whatever the size of a file.
 */
#ifndef KEFU_STORAGE_BATCH_H
#define KEFU_STORAGE_BATCH_H

#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum batch_op_kind { BATCH_PUT = 0, BATCH_DEL = 1 };

/* A view of one op. Pointers stay valid until the batch is reset or freed. */
struct batch_op {
	enum batch_op_kind kind;
	enum store_table table;
	const uint8_t *key;
	size_t klen;
	const uint8_t *val; /* NULL for BATCH_DEL */
	size_t vlen;
};

struct batch;

/* batch_new - empty batch holding at most cap bytes of keys and values
 * (0 = 64 MiB). Never NULL: allocation failure aborts. */
struct batch *batch_new(size_t cap);

/* batch_free - NULL is fine. */
void batch_free(struct batch *b);

/* batch_reset - drop every op, keep the memory for reuse. */
void batch_reset(struct batch *b);

/*
 * batch_put / batch_del - append one op; key and value are copied.
 * Returns 0, KF_ETOOBIG (key over STORE_KEY_MAX or cap reached), -EINVAL
 * (unknown table).
 */
int batch_put(struct batch *b, enum store_table table, const void *key, size_t klen,
	      const void *val, size_t vlen);
int batch_del(struct batch *b, enum store_table table, const void *key, size_t klen);

/* batch_put_msg - batch_put of the protobuf message m, packed. */
struct ProtobufCMessage;
int batch_put_msg(struct batch *b, enum store_table table, const void *key, size_t klen,
		  const struct ProtobufCMessage *m);

size_t batch_count(const struct batch *b);
/* bytes of keys and values held */
size_t batch_bytes(const struct batch *b);

/* batch_op - op i (0 <= i < batch_count); the view is valid until reset/free. */
struct batch_op batch_op(const struct batch *b, size_t i);

/*
 * batch_apply_from - apply ops [from, count) in order to the write
 * transaction t. A delete of an absent key is not an error (replay is
 * idempotent). Returns 0, KF_EMAPFULL, KF_ESTORE; on error the transaction
 * must be aborted (store_write does so).
 */
int batch_apply_from(struct store_txn *t, const struct batch *b, size_t from);

/* batch_apply - all ops. */
int batch_apply(struct store_txn *t, const struct batch *b);

/*
 * batch_apply_append - batch_apply, with every put whose key is above the
 * last key of its table appended (store__append) instead of inserted. The
 * result is the same; it is faster when the puts of each table come in
 * ascending key order past the table's end (a first load, sorted ops), as
 * each append fills the last page where an insert descends the tree and
 * splits pages in half. Same returns as batch_apply.
 */
int batch_apply_append(struct store_txn *t, const struct batch *b);

/*
 * batch_sort - order the ops by table, then key (LMDB's byte order),
 * keeping the order of the ops on one key. The batch then means the same
 * (ops on different keys commute), and applying it visits each table once,
 * in key order: a cursor that stays on a page finds the next key there
 * instead of descending the tree. Views from batch_op stay valid.
 */
void batch_sort(struct batch *b);

/*
 * batch_pack - encode as a protobuf kefu.WriteBatch with the given group
 * fields (see proto/kefu.proto). On 0, *out is malloc'd, the caller frees.
 */
int batch_pack(const struct batch *b, uint64_t group, bool group_end, const char *origin,
	       uint8_t **out, size_t *outlen);

/*
 * batch_unpack - decode a kefu.WriteBatch and append its ops to b.
 * group/group_end may be NULL. Returns 0, KF_EPARSE (not a WriteBatch,
 * unknown table, op without key), KF_ETOOBIG.
 */
int batch_unpack(struct batch *b, const uint8_t *buf, size_t len, uint64_t *group,
		 bool *group_end);

/*
 * How a module's durable changes run and reach the replicated log. Code
 * that writes (the importer, retention, SEQ skips) takes hooks; NULL hooks
 * (or NULL members) mean a node alone: store_write, no log.
 *   run - execute a transaction body; the cluster leader runs it on its
 *         writer thread and returns once it is acknowledged by the sync
 *         standbys. Called from a worker thread, never from the loop.
 *   log - called inside the body after each batch of ops is applied to t,
 *         last set for the final one of the transaction: the leader records
 *         them as log entries (one group per transaction).
 */
struct write_hooks {
	int (*run)(void *arg, store_write_fn body, void *body_arg);
	int (*log)(void *arg, struct store_txn *t, const struct batch *b, bool last);
	void *arg;
};

/* write_hooks_run - hooks->run, or store_write(s, body, arg) without hooks. */
int write_hooks_run(const struct write_hooks *h, struct store *s, store_write_fn body, void *arg);

/* write_hooks_log - hooks->log, or 0 without hooks. */
int write_hooks_log(const struct write_hooks *h, struct store_txn *t, const struct batch *b,
		    bool last);

#endif
