/*
 * Outbound dialing as stored (docs/dialing.md): table "dial", keys of
 * parts (storage/keys.h), a tag first:
 *
 *   "n", msisdn   -> DncEntry   the do-not-call list: the company's and
 *                               customers' opt-outs, checked at dial time
 *
 * Messages returned here are unpacked by protobuf-c: free them with their
 * kefu__*__free_unpacked(m, NULL).
 */
#ifndef KEFU_STORAGE_DIAL_H
#define KEFU_STORAGE_DIAL_H

#include "proto/kefu.pb-c.h"
#include "storage/batch.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>

#define DIAL_MSISDN_MAX 20        /* digits of a number */
#define DIAL_REASON_MAX 256       /* bytes */
#define DIAL_CURSOR_MAX 32        /* a listing's cursor */

/* dial_msisdn_is_valid - 5 to 20 digits. */
bool dial_msisdn_is_valid(const char *msisdn);

/*
 * dial_dnc_check - e is a valid entry: its number, source "company" or
 * "customer", a reason of text (may be empty). why (may be NULL) says what
 * is wrong. Returns 0 or KF_EPARSE.
 */
int dial_dnc_check(const Kefu__DncEntry *e, char *why, size_t cap);

/* dial_dnc_get - the entry of msisdn. Returns 0, KF_ENOTFOUND, KF_ECORRUPT,
 * KF_ESTORE, KF_EPARSE (not a number). */
int dial_dnc_get(struct store_txn *t, const char *msisdn, Kefu__DncEntry **out);

/* dial_dnc_blocks - *blocked: msisdn is on the list. On an error *blocked
 * is true too (a number is dialed only when known not to be listed).
 * Returns 0, KF_ECORRUPT, KF_ESTORE, KF_EPARSE. */
int dial_dnc_blocks(struct store_txn *t, const char *msisdn, bool *blocked);

/* dial_dnc_put / dial_dnc_del - the op into b (e must pass dial_dnc_check).
 * Returns 0 or batch_put's error. */
int dial_dnc_put(struct batch *b, const Kefu__DncEntry *e);
int dial_dnc_del(struct batch *b, const char *msisdn);

/*
 * dial_dnc_list - fn(arg, e) for the entries in number order past the
 * cursor after (alen bytes: a cursor from dial_dnc_cursor; NULL from the
 * start), at most limit (0: all). fn returns as a listing_msg_fn does
 * (storage/listing.h). Returns 0, fn's error, KF_EPARSE (a cursor too
 * long), KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*dial_dnc_fn)(void *arg, const Kefu__DncEntry *e);
int dial_dnc_list(struct store_txn *t, const void *after, size_t alen, size_t limit,
		  dial_dnc_fn fn, void *arg);

/* dial_dnc_cursor - the cursor that lists past e into out; its length. */
size_t dial_dnc_cursor(const Kefu__DncEntry *e, uint8_t out[DIAL_CURSOR_MAX]);

#endif
