/*
 * Work orders as stored (docs/workflow.md): the records, their indexes, the
 * day's numbering, attachments, return-visit marks and escalation notices.
 * Policy (the transition table, the clocks, who may do what) lives in
 * node/workflow/; this file only keeps the tables consistent with the
 * records, so that every listing is an index range and never a scan.
 *
 * Table "wo": id -> a packed kefu.WorkOrder (without attachments).
 * Table "wo_index": keys of parts (keys.h) led by a one-letter tag:
 *
 *   "m", msisdn, newest, id           -> ""     orders of a subscriber; in stored
 *                                              form 2 (storage/format.h) the value is
 *                                              the order's client_ref: a create's retry
 *                                              finds its order there
 *   "r", client_ref                   -> id     form 1: a create's key, retries find it
 *   "s", state, newest, id            -> ""     orders in a state
 *   "g", group, newest, id            -> ""     orders of a handling group
 *   "u", due_ms, id                   -> ""     open orders by their earliest running due time
 *   "d", next_ms, id                  -> form 1: the earliest clock's (name,
 *                                              next_ms) as parts; form 2: "". Open
 *                                              orders by the earliest next escalation
 *                                              of their clocks
 *   "q", YYYYMMDD                     -> the day's last sequence number (decimal); in
 *                                              form 2 only past 999,999 (before, the
 *                                              day's highest id says it)
 *   "c", customer or msisdn           -> the last return visit scheduled (ms, decimal)
 *   "a", id, NN                       -> a packed kefu.OrderAttachment
 *   "n", at_ms, id, clock, level      -> a packed kefu.OrderEscalation (a notice)
 *   "v", id                           -> a packed kefu.VisitResult waiting for its order
 *
 * Times in keys are 20 decimal digits, so they sort as numbers; "newest" is
 * UINT64_MAX - created_ms, so a range lists the newest first. The open
 * orders have no range of their own: their listing merges the "s" ranges of
 * the states that are open, newest first.
 * Every index key of an order is a function of the record alone
 * (wo_put writes the new record's keys and deletes the old one's), and a
 * node rebuilds nothing after a failover: the leader's timers are a range
 * of "d" keys. One "d" key per order, not per clock, naming only the
 * earliest clock: a create puts one key instead of three, and a step that
 * restarts a later clock leaves it alone (the round reads the clocks from
 * the record).
 */
#ifndef KEFU_STORAGE_WORKORDER_H
#define KEFU_STORAGE_WORKORDER_H

#include "storage/batch.h"
#include "storage/store.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WO_ID_MAX 24            /* PROV(2) + YYYYMMDD + 6..10 digits */
#define WO_REF_MAX 64           /* bytes of a client_ref */
#define WO_REF_KEEP_MS (30ULL * 24 * 3600 * 1000) /* how long a create's retry finds its order (form 2) */
#define WO_TEXT_MAX 64          /* msisdn, user/cust ids, names, states, groups */
#define WO_DESC_MAX 4000        /* description, a note */
#define WO_HISTORY_MAX 512      /* steps an order keeps; a step past it is refused */
#define WO_ATTACH_MAX 4         /* attachments of an order */
#define WO_ATTACH_BYTES (48 * 1024)
#define WO_NAME_MAX 128         /* an attachment's file name */
#define WO_PACK_MAX (1024 * 1024) /* the largest record packed */
/* The longest listing cursor: tag, a state or group or msisdn, 20 digits, id. */
#define WO_CURSOR_MAX (2 + WO_TEXT_MAX + 1 + 21 + WO_ID_MAX + 1)

/*
 * wo_get - the order with id. On 0 *out is the caller's, freed with
 * kefu__work_order__free_unpacked. Returns 0, KF_ENOTFOUND, KF_ECORRUPT,
 * KF_ESTORE.
 */
int wo_get(struct store_txn *t, const char *id, Kefu__WorkOrder **out);

/* wo_get_packed - the stored bytes of order id (valid until t ends), as
 * wo_get reads them. Returns 0, KF_ENOTFOUND, KF_ESTORE. */
int wo_get_packed(struct store_txn *t, const char *id, struct store_val *out);

/*
 * wo_put - the ops that store o (a new order when old is NULL, else the
 * change from old, the stored version), its index keys moved from old's to
 * o's, appended to b, in stored form `form` (storage/format.h: what the
 * writer's transaction has recorded). Returns 0, KF_EPARSE (o has no id,
 * created_ms or state), KF_ETOOBIG (over WO_PACK_MAX, or the batch's cap).
 */
int wo_put(const Kefu__WorkOrder *old, const Kefu__WorkOrder *o, uint64_t form,
	   struct batch *b);

/*
 * A change made in place: wo_was_new takes the index entries of o as read
 * from the store (o is not kept), the caller changes o, and wo_put_was
 * writes it as wo_put(stored, o, form, b) would, without a second copy of the
 * stored order. was NULL: a new order. wo_was_new never fails (out of
 * memory aborts); wo_was_free accepts NULL. wo_put_was returns as wo_put.
 */
struct wo_was;
struct wo_was *wo_was_new(const Kefu__WorkOrder *o, uint64_t form);
void wo_was_free(struct wo_was *was);
int wo_put_was(const struct wo_was *was, const Kefu__WorkOrder *o, uint64_t form,
	       struct batch *b);

/* wo_is_open - o is neither closed nor cancelled. */
bool wo_is_open(const Kefu__WorkOrder *o);

/*
 * wo_next_id - the next id of the day `date` (YYYYMMDD, the leader's local
 * date) for province prov (2 letters): PROV + date + the sequence, 6
 * digits or more, into out. The sequence follows the higher of the day's
 * "q" key and the day's highest order id stored (records are never
 * deleted). In stored form 1 the "q" key's op is appended to b for every
 * id (old builds read only it); in form 2 only from the millionth order of
 * a day on, whose ids no longer sort by number. The count is read from t:
 * a caller numbering several orders in one transaction puts and applies
 * each order before the next. Returns 0, KF_EPARSE (prov or date
 * malformed), KF_ECORRUPT, KF_ESTORE, KF_ETOOBIG.
 */
int wo_next_id(struct store_txn *t, const char *prov, const char *date, uint64_t form,
	       struct batch *b, char out[WO_ID_MAX + 1]);

/*
 * wo_by_ref - the id of the order created for msisdn with client_ref into
 * out: a create's retry. In stored form 2, one range of the subscriber's
 * "m" keys, newest first back to WO_REF_KEEP_MS before now_ms, whose
 * values are the orders' client_refs; then (and in form 1 only) the "r"
 * key of an order made in form 1.
 * Returns 0, KF_ENOTFOUND, KF_ECORRUPT, KF_ESTORE.
 */
int wo_by_ref(struct store_txn *t, uint64_t form, const char *msisdn, const char *client_ref,
	      uint64_t now_ms, char out[WO_ID_MAX + 1]);

/* wo_attach_put - attachment n (0-based, < WO_ATTACH_MAX) of order id, appended to b.
 * Returns 0, KF_EPARSE (a bad name or n), KF_ETOOBIG. */
int wo_attach_put(const char *id, unsigned n, const Kefu__OrderAttachment *a, struct batch *b);

/* wo_attach_get - attachment n of order id; *out the caller's (free_unpacked).
 * Returns 0, KF_ENOTFOUND, KF_ECORRUPT, KF_ESTORE. */
int wo_attach_get(struct store_txn *t, const char *id, unsigned n, Kefu__OrderAttachment **out);

/* wo_attach_name_ok - a file name without a path, control characters or
 * "..", 1..WO_NAME_MAX bytes of UTF-8. */
bool wo_attach_name_ok(const char *name);

/* wo_last_visit - when the last return visit of who (a customer,
 * "cust:<cust_id>", or a number) was scheduled (ms), 0 when never.
 * Returns 0, KF_ECORRUPT, KF_ESTORE. */
int wo_last_visit(struct store_txn *t, const char *who, uint64_t *ms);

/* wo_visit_mark - the ops that record a return visit of who at ms. */
int wo_visit_mark(const char *who, uint64_t ms, struct batch *b);

/* ---- listings ---- */

enum wo_by {
	WO_BY_OPEN,     /* open orders, newest first (key is ignored): the "s" ranges merged */
	WO_BY_MSISDN,   /* key: a number */
	WO_BY_STATE,    /* key: a state */
	WO_BY_GROUP,    /* key: a group */
	WO_BY_OVERDUE,  /* open orders due before upto_ms, most overdue first */
};

struct wo_filter {
	enum wo_by by;
	const char *key;
	uint64_t upto_ms;  /* WO_BY_OVERDUE: the present */
};

/*
 * wo_list - visit the orders f selects, at most limit (0: no limit), past
 * the cursor after (alen bytes, a `next` from wo_cursor; NULL: from the
 * start). fn gets each order (valid during the call) and the cursor that
 * lists past it; it returns 0 to go on, 1 to stop, or a negative error.
 * Returns 0, fn's error, KF_EPARSE (a bad filter or cursor), KF_ECORRUPT,
 * KF_ESTORE.
 */
typedef int (*wo_list_fn)(void *arg, const Kefu__WorkOrder *o, const uint8_t *cursor,
			  size_t clen);
int wo_list(struct store_txn *t, const struct wo_filter *f, const void *after, size_t alen,
	    size_t limit, wo_list_fn fn, void *arg);

/*
 * wo_due - visit the orders with an escalation due at or before upto_ms, at
 * most limit (0: no limit): fn(arg, id, next_ms), earliest first by the
 * earliest next escalation of their clocks (which of the clocks are due is
 * the record's to say). One range of the "d" keys: the cost is the orders
 * visited, whatever the number of orders. fn returns as for wo_list.
 * Returns 0, fn's error, KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*wo_due_fn)(void *arg, const char *id, uint64_t next_ms);
int wo_due(struct store_txn *t, uint64_t upto_ms, size_t limit, wo_due_fn fn, void *arg);

/* wo_next_due - the earliest next_ms of the "d" keys, UINT64_MAX when none. */
int wo_next_due(struct store_txn *t, uint64_t *ms);

/*
 * wo_open_of - the open orders of msisdn, newest first, at most max, into
 * out[] (each the caller's: kefu__work_order__free_unpacked); *n their
 * number. For the screen pop. Returns 0, KF_ECORRUPT, KF_ESTORE.
 */
int wo_open_of(struct store_txn *t, const char *msisdn, size_t max, Kefu__WorkOrder **out,
	       size_t *n);

/* ---- escalation notices ---- */

/* wo_notice_put - the ops that keep notice e (its id, clock, level, at_ms set). */
int wo_notice_put(const Kefu__OrderEscalation *e, struct batch *b);

/*
 * wo_notices - the notices at or after since_ms, oldest first, at most
 * limit; fn gets each (valid during the call). Returns as wo_list.
 */
typedef int (*wo_notice_fn)(void *arg, const Kefu__OrderEscalation *e);
int wo_notices(struct store_txn *t, uint64_t since_ms, size_t limit, wo_notice_fn fn, void *arg);

/* wo_notices_prune - the ops that delete notices before before_ms, at most
 * limit of them; *n how many. */
int wo_notices_prune(struct store_txn *t, uint64_t before_ms, size_t limit, struct batch *b,
		     size_t *n);

/* ---- return-visit results ---- */

/*
 * A return visit made by phone (an outbound campaign of source visits) is
 * written with the agent's disposition and applied to its order by the
 * work orders' leader round, which deletes it in the same batch: whatever
 * leader applies it, it is applied once. One per order; a later one
 * replaces it.
 * wo_visit_result_put - the ops that keep v (order_id set).
 * Returns 0, KF_EPARSE (no valid id), KF_ETOOBIG.
 */
int wo_visit_result_put(const Kefu__VisitResult *v, struct batch *b);

/* wo_visit_result_get - the result waiting for order id; *out the
 * caller's (kefu__visit_result__free_unpacked). Returns 0, KF_ENOTFOUND
 * (none, or no valid id), KF_ECORRUPT, KF_ESTORE. */
int wo_visit_result_get(struct store_txn *t, const char *id, Kefu__VisitResult **out);

/* wo_visit_result_del - the ops that delete the result of order id. */
int wo_visit_result_del(const char *id, struct batch *b);

/* wo_visit_results - the waiting results, by order id, at most limit; fn
 * gets each (valid during the call). Returns as wo_list. */
typedef int (*wo_visit_result_fn)(void *arg, const Kefu__VisitResult *v);
int wo_visit_results(struct store_txn *t, size_t limit, wo_visit_result_fn fn, void *arg);

#endif
