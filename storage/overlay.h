/*
 * overlay - a write transaction with a chunk of changes not yet applied on
 * top, read through one store_view. The importer's fast path:
 *
 *   overlay_begin(ov, t, b);                    b empty, ov reads t
 *   for each record of a chunk: overlay_want    the keys it will read
 *   overlay_fetch(ov);                          read them all in key order
 *   for each record, in file order:
 *       custdb_record_view(&view, rec, b, ...); checks, appends ops to b
 *       overlay_note(ov);                       later records see them
 *   overlay_flush(ov);                          sort b, apply it to t, reset
 *
 * Reads through the view see t as the applied chunks left it plus every op
 * noted since, exactly what they would see had each record been applied
 * on its own: a get answers from the noted ops first, then from what was
 * fetched, then from t. Sorting the reads and the writes of a whole chunk
 * by key is the point: random keys become a walk over neighbouring pages.
 *
 * Every change still goes through the batch b and batch_apply, at flush.
 * Between flushes nothing may write to t but the overlay: the values it
 * hands out point into t's map or into b and live until the next flush.
 * A scan through the view flushes first (ops noted or not), then scans t.
 * The overlay also flushes by itself when max_keys keys are held, so its
 * memory stays bounded whatever a chunk holds.
 */
#ifndef KEFU_STORAGE_OVERLAY_H
#define KEFU_STORAGE_OVERLAY_H

#include "storage/batch.h"
#include "storage/store.h"

#include <stddef.h>

struct overlay;

/* overlay_new - an overlay holding at most max_keys keys (reads fetched
 * and keys changed). Never NULL: allocation failure aborts. */
struct overlay *overlay_new(size_t max_keys);

/* overlay_free - NULL is fine. Does not flush. */
void overlay_free(struct overlay *ov);

/* overlay_begin - forget everything and read t, with b (which must be
 * empty) taking the ops. t and b stay the caller's. */
void overlay_begin(struct overlay *ov, struct store_txn *t, struct batch *b);

/* overlay_view - the view of t with the noted ops on top; valid as long
 * as ov. */
struct store_view overlay_view(struct overlay *ov);

/*
 * overlay_want - a key the coming records will get; key is copied. Only a
 * hint: ignored when the overlay is full. Returns 0, KF_ETOOBIG (key over
 * STORE_KEY_MAX).
 */
int overlay_want(struct overlay *ov, enum store_table table, const void *key, size_t klen);

/* overlay_fetch - read every wanted key from t, in key order.
 * Returns 0, KF_ESTORE. */
int overlay_fetch(struct overlay *ov);

/*
 * overlay_note - make the ops appended to b since the last note (or
 * flush) visible to the view. Flushes first when they would not fit.
 * Returns 0, or overlay_flush's errors.
 */
int overlay_note(struct overlay *ov);

/*
 * overlay_flush - sort b by key (batch_sort), apply it to t, hand it to
 * the sink (if any), reset b and forget every held key. Returns 0,
 * KF_EMAPFULL, KF_ESTORE, the sink's error; on error the transaction must
 * be aborted.
 */
int overlay_flush(struct overlay *ov);

/*
 * overlay_set_sink - after each flush has applied b to t, call
 * sink(arg, t, b) before b is reset: the replicated log takes its copy of
 * the ops there. NULL removes it.
 */
typedef int (*overlay_sink_fn)(void *arg, struct store_txn *t, const struct batch *b);
void overlay_set_sink(struct overlay *ov, overlay_sink_fn sink, void *arg);

#endif
