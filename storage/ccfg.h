/*
 * The cluster configuration as stored (docs/operations.md, "Settings"):
 * table "ccfg", one record per version, the key the version as 8 bytes
 * big-endian, the value a ClusterConfig: every cluster setting that is
 * not its default as "name = value" lines, who wrote it, and what changed
 * from the version before. The highest key is the configuration in force;
 * the others are its history. Versions count from 1 without gaps.
 *
 * Messages returned here are unpacked by protobuf-c: free them with
 * kefu__cluster_config__free_unpacked(m, NULL).
 */
#ifndef KEFU_STORAGE_CCFG_H
#define KEFU_STORAGE_CCFG_H

#include "proto/kefu.pb-c.h"
#include "storage/batch.h"
#include "storage/store.h"

#include <stddef.h>
#include <stdint.h>

#define CCFG_TEXT_MAX (256u << 10) /* bytes of one version's text */
#define CCFG_CHANGES_MAX 1024      /* changes recorded in one version */

/*
 * ccfg_current - the version in force into *out (NULL and 0 when none was
 * written yet). Returns 0, KF_ECORRUPT, KF_ESTORE.
 */
int ccfg_current(struct store_txn *t, Kefu__ClusterConfig **out);

/* ccfg_version - the number of the version in force, 0 when none. Returns
 * 0, KF_ECORRUPT, KF_ESTORE. */
int ccfg_version(struct store_txn *t, uint64_t *version);

/*
 * ccfg_put - version c into b: c->version must be the one after the
 * current; its text at most CCFG_TEXT_MAX bytes, its changes at most
 * CCFG_CHANGES_MAX. Returns 0, KF_EPARSE (a bad record), batch_put's error.
 */
int ccfg_put(struct batch *b, const Kefu__ClusterConfig *c);

/*
 * ccfg_history - fn(arg, c) for the versions newest first, at most limit
 * (0: all). fn returns 0 to go on, 1 to stop, or an error that ends the
 * walk. Returns 0, fn's error, KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*ccfg_fn)(void *arg, const Kefu__ClusterConfig *c);
int ccfg_history(struct store_txn *t, size_t limit, ccfg_fn fn, void *arg);

#endif
