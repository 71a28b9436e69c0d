/*
 * Callback requests: the outbound dialer's work list (docs/routing.md,
 * "Callback requests"). A caller who waited the tier's maximum and chose a
 * callback becomes one request; the dialer lists the pending ones oldest
 * first, takes one by id and moves it on (dialed, done, cancelled). Writes
 * travel through the replicated log like every other change, so every node
 * holds the same list.
 *
 * Table "callback" holds two kinds of keys (keys.h parts):
 *   "r", id                        -> a packed kefu.CallbackRequest
 *   "p", requested_ms (20 decimal digits), id -> ""  (only while pending)
 * id is "<gateway>:<call id>", so a call has at most one request: a second
 * request for the same call changes nothing. The "p" keys sort by request
 * time, so the pending list is one range scan.
 */
#ifndef KEFU_STORAGE_CALLBACK_H
#define KEFU_STORAGE_CALLBACK_H

#include "storage/batch.h"
#include "storage/store.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALLBACK_ID_MAX 160     /* bytes of id, 3.. ("<gateway>:<call id>") */
#define CALLBACK_TEXT_MAX 64    /* bytes of ani, user_id, skill, node, service */
#define CALLBACK_VIP_MAX 4
/* The longest pending key: tag, 20 digits, id, with their terminators. */
#define CALLBACK_CURSOR_MAX (2 + 21 + CALLBACK_ID_MAX + 1)

/*
 * callback_check - rq is a request that may be stored: an id "<gateway>:
 * <call id>" made of its gateway and call_id, an ani, a node, requested_ms,
 * a known status and text fields within their limits. why (may be NULL)
 * says which field is wrong. Returns 0 or KF_EPARSE.
 */
int callback_check(const Kefu__CallbackRequest *rq, char *why, size_t cap);

/*
 * callback_add - the ops that record rq as a new pending request, appended
 * to b (not applied). status and attempts are set here (pending, 0);
 * updated_ms is requested_ms. When t already holds a request with rq's id,
 * nothing is appended and KF_EEXISTS returned: a duplicate request for a
 * call is not an error to the caller, and it never resets a request the
 * dialer has taken.
 * Returns 0, KF_EEXISTS, KF_EPARSE (why filled), KF_ETOOBIG (batch cap),
 * KF_ECORRUPT, KF_ESTORE.
 */
int callback_add(struct store_txn *t, const Kefu__CallbackRequest *rq, struct batch *b, char *why,
		 size_t cap);

/*
 * callback_get - the request with id. On 0 *out is the caller's, freed
 * with kefu__callback_request__free_unpacked.
 * Returns 0, KF_ENOTFOUND, KF_ECORRUPT, KF_ESTORE.
 */
int callback_get(struct store_txn *t, const char *id, Kefu__CallbackRequest **out);

/*
 * callback_set_status - the ops that move request id to status at now_ms,
 * appended to b (not applied). DIALED counts one more attempt. A request
 * leaves the pending list when it stops being pending and joins it again
 * (at its first request time) when set back to pending, e.g. after a try
 * that did not reach the caller. DONE and CANCELLED are final.
 * Returns 0, KF_ENOTFOUND, KF_ESTATE (the request is final already),
 * KF_EPARSE (unknown status), KF_ETOOBIG, KF_ECORRUPT, KF_ESTORE.
 */
int callback_set_status(struct store_txn *t, const char *id, Kefu__CallbackRequest__Status status,
			uint64_t now_ms, struct batch *b);

/* callback_cursor - rq's key in the pending list into out; its length, or
 * 0 when rq does not pass callback_check. For listings in pages. */
size_t callback_cursor(const Kefu__CallbackRequest *rq, uint8_t out[CALLBACK_CURSOR_MAX]);

/*
 * callback_list_pending - visit the pending requests oldest first, at most
 * limit of them (0: no limit). When after is not NULL (alen bytes: a
 * callback_cursor of a request seen before) the listing starts past it.
 * fn gets each request, valid during the call only; it returns 0 to go on,
 * 1 to stop, or a negative error that ends the listing. A pending key whose
 * request has moved on (a leftover of two requests for one call racing on
 * two nodes) is passed over.
 * Returns 0 (also when stopped), fn's error, KF_EPARSE (alen over
 * CALLBACK_CURSOR_MAX), KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*callback_list_fn)(void *arg, const Kefu__CallbackRequest *rq);
int callback_list_pending(struct store_txn *t, const void *after, size_t alen, size_t limit,
			  callback_list_fn fn, void *arg);

/* callback_status_name - "pending", "dialed", "done", "cancelled", or "?". */
const char *callback_status_name(Kefu__CallbackRequest__Status status);

#endif
