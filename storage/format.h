/*
 * The stored form the cluster writes (lib/version.h KEFU_STORE_FORMAT):
 * one decimal number in table meta under STORE_FORMAT_META, raised by the
 * leader through the log once every member's build reads the higher form,
 * and never lowered. A writer whose ops depend on the form reads it in its
 * own transaction, so every write keeps to the form recorded when it was
 * made (docs/storage.md, "Changing what is stored").
 */
#ifndef KEFU_STORAGE_FORMAT_H
#define KEFU_STORAGE_FORMAT_H

#include "storage/batch.h"
#include "storage/store.h"

#include <stdint.h>

#define STORE_FORMAT_META "store.format"

/* store_format_get - the recorded form into *out: 1 when none is recorded.
 * Returns 0, KF_ECORRUPT (not a decimal number of 1 or more), KF_ESTORE. */
int store_format_get(struct store_txn *t, uint64_t *out);

/* store_format_read - store_format_get in a read transaction of its own
 * on s. Returns as store_format_get does, or store_read_begin's error (*out
 * is 1 then). */
int store_format_read(struct store *s, uint64_t *out);

/* store_format_put - append the op that records form f (>= 1) to b.
 * Returns 0, KF_EPARSE (f is 0), KF_ETOOBIG (batch cap). */
int store_format_put(struct batch *b, uint64_t f);

#endif
