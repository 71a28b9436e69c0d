/*
 * Listings from a cursor: the one walk behind every paged listing of a
 * table (accounts_list, audit_list, callback_list_pending). A listing
 * visits, in key order, the keys of one table under a prefix, from a
 * starting key on, strictly past a cursor (the key of the last record a
 * client saw), and stops after a limit of records taken.
 *
 * Where it starts: at the later of `from` and `after`. A cursor before
 * `from` (or before the prefix) is no cursor; one past every key under the
 * prefix lists nothing.
 *
 * The visitor decides per key: it takes the record (0, counted toward the
 * limit), passes over it (LISTING_SKIP: not counted), stops the listing
 * (LISTING_STOP) or ends it with a negative error.
 */
#ifndef KEFU_STORAGE_LISTING_H
#define KEFU_STORAGE_LISTING_H

#include "storage/store.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* What a visitor returns besides 0 (taken) and a negative error. */
#define LISTING_STOP 1 /* stop here: the listing returns 0 */
#define LISTING_SKIP 2 /* passed over: not counted toward the limit */

/*
 * What to list. Every pointer is borrowed for the call only; any of them
 * may be NULL with its length 0.
 */
struct listing {
	enum store_table table;
	const void *prefix;  /* only keys that start with it */
	size_t plen;
	const void *from;    /* start at the first key >= from (NULL: the prefix's first) */
	size_t flen;
	const void *after;   /* the cursor: only keys > after */
	size_t alen;
	size_t limit;        /* records taken at most; 0: no limit */
};

/*
 * listing_scan - visit l's keys as the header says. key and val are valid
 * during the call only. Returns 0 (also when stopped, or at the limit),
 * fn's error, KF_ESTORE.
 */
typedef int (*listing_fn)(void *arg, const struct store_val *key, const struct store_val *val);
int listing_scan(struct store_txn *t, const struct listing *l, listing_fn fn, void *arg);

/*
 * listing_scan_msgs - listing_scan of a table whose values are messages of
 * type desc: fn gets each value unpacked (valid during the call only), and
 * returns as a listing_fn does. Returns 0, fn's error, KF_ECORRUPT (a value
 * that is not a desc), KF_ESTORE.
 */
typedef int (*listing_msg_fn)(void *arg, const ProtobufCMessage *m);
int listing_scan_msgs(struct store_txn *t, const struct listing *l,
		      const ProtobufCMessageDescriptor *desc, listing_msg_fn fn, void *arg);

#endif
