/*
 * extsort - sort more key/value pairs than fit in memory, in LMDB's key
 * order (store_key_cmp), for the bulk load of BOSS files (bulk.h).
 *
 *   x = extsort_new(dir, run_bytes);
 *   extsort_add(x, key, klen, val, vlen);    ... as many as come
 *   extsort_finish(x);
 *   while ((r = extsort_next(x, &k, &v)) == 1) ...   ascending keys
 *   extsort_free(x);
 *
 * Pairs are gathered in a run of at most run_bytes (copies and their
 * index); a full run is sorted and written to a temporary file in dir, and
 * extsort_next merges the runs. The file is unlinked from the start (or
 * never has a name), so a killed process leaves nothing behind. Memory is
 * the run plus, while merging, a read buffer per run written: bounded
 * whatever the number of pairs. A run that arrives already in order is not
 * sorted again. Equal keys come out next to each other, in no set order.
 */
#ifndef KEFU_STORAGE_EXTSORT_H
#define KEFU_STORAGE_EXTSORT_H

#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct extsort;

/* Most value bytes of one pair. */
#define EXTSORT_VAL_MAX 65535

/* extsort_new - an empty sorter spilling into dir (which must exist; it
 * is opened only when a run fills), runs of run_bytes (at least 64 KiB is
 * used). Never NULL: allocation failure aborts. */
struct extsort *extsort_new(const char *dir, size_t run_bytes);

/* extsort_free - NULL is fine; closes the temporary file. */
void extsort_free(struct extsort *x);

/*
 * extsort_add - copy one pair in. Not after extsort_finish.
 * Returns 0, KF_ETOOBIG (key over STORE_KEY_MAX, value over
 * EXTSORT_VAL_MAX), -errno (the temporary file).
 */
int extsort_add(struct extsort *x, const void *key, size_t klen, const void *val, size_t vlen);

/* extsort_finish - no more pairs: sort what is held and start the merge.
 * Returns 0, -errno. */
int extsort_finish(struct extsort *x);

/*
 * extsort_next - the next pair in key order. Returns 1 with key and val
 * set (valid until the next call), 0 at the end, -errno, KF_ECORRUPT (the
 * temporary file read back short).
 */
int extsort_next(struct extsort *x, struct store_val *key, struct store_val *val);

/* extsort_is_sorted - every pair so far came in ascending order and all
 * are still in memory: extsort_finish then sorts nothing and reads no
 * file. */
bool extsort_is_sorted(const struct extsort *x);

/* extsort_count - pairs added; extsort_runs - runs written to the file. */
uint64_t extsort_count(const struct extsort *x);
unsigned extsort_runs(const struct extsort *x);

#endif
