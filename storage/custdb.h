/*
 * custdb - the local customer database (客服系统本地用户资料库).
 *
 * How BOSS records become table entries (the A/M/D rules, reference checks,
 * secondary indexes) and the lookups an agent's screen needs. Values are
 * the protobuf messages of proto/kefu.proto, one per kind; the mapping from
 * a record's fields to a message's fields is by name, so the schema in
 * bossrec.c and the .proto are the only two places that list fields.
 * Key layouts: docs/storage.md.
 */
#ifndef KEFU_STORAGE_CUSTDB_H
#define KEFU_STORAGE_CUSTDB_H

#include "storage/batch.h"
#include "storage/bossrec.h"
#include "storage/store.h"

#include "proto/kefu.pb-c.h"

#include <stddef.h>

/* Why a record was refused: the schema index of the field (-1 for the
 * record as a whole) and a reason an operator can act on, e.g.
 * "USER M: user_id 8800012 does not exist". */
struct custdb_reject {
	int field;
	char reason[256];
};

/*
 * custdb_record - check rec against the data visible in t and append the
 * ops that carry it out to b (they are not applied: the caller applies
 * them with batch_apply_from before the next record, so that later records
 * see this one). Rules: an A of an existing key, an M or D of a missing
 * key, a reference to a missing customer or user, an msisdn that another
 * non-cancelled user holds, and the D of a customer that still has users
 * are refused. The D of a user also deletes the user's payments, changes,
 * bills and CDRs.
 * Returns 0; KF_EEXISTS, KF_ENOTFOUND, KF_EREF, KF_ESTATE with rj filled;
 * KF_ETOOBIG (batch cap), KF_ESTORE, KF_ECORRUPT.
 */
int custdb_record(struct store_txn *t, const struct bossrec *rec, struct batch *b,
		  struct custdb_reject *rj);

/*
 * custdb_record_view - custdb_record reading through the view vw instead
 * of a transaction: the importer's overlay (overlay.h) shows the records of
 * the current chunk that are checked but not yet applied. Same rules, same
 * results, same ops. A view whose scan applies pending ops first is fine:
 * the records that scan (D of a CUST or a USER) read nothing afterwards that
 * their own earlier ops touched.
 */
int custdb_record_view(const struct store_view *vw, const struct bossrec *rec, struct batch *b,
		       struct custdb_reject *rj);

/*
 * custdb_record_reads - name to fn each key that custdb_record_view(rec)
 * may look up with get (its primary key; for A and M the records it refers
 * to and its unique index keys), so a caller can fetch many records' keys
 * ahead in key order. key is valid during the call only. A record that
 * custdb will refuse may name fewer or more keys than it reads; fn is a
 * hint, never needed for correctness. Returns 0 or the first error of fn.
 */
typedef int (*custdb_read_fn)(void *arg, enum store_table table, const void *key, size_t klen);
int custdb_record_reads(const struct bossrec *rec, custdb_read_fn fn, void *arg);

/*
 * custdb_record_add - an A record taken apart for a load that checks whole
 * files at once (storage/bulk.h): put hears every op custdb_record would
 * append for it (index entries, then the record; the same keys and values),
 * ref every key that must exist for it to be accepted (its references).
 * Nothing is read: the caller owns the rules that custdb_record checks by
 * reading. When every ref's key exists and no put's key exists, neither in
 * the store nor put by another record of the load, custdb_record accepts
 * the record with exactly these ops (an index that is not unique never
 * holds a key of another record: each includes the primary key). The
 * converse need not hold (a unique index entry naming the record itself),
 * so a load that finds a key taken hands the file to custdb_record. Keys
 * and values are valid during the call only.
 * Returns 0, KF_EPARSE (rec is not an A), KF_ETOOBIG, the first error of
 * put or ref.
 */
typedef int (*custdb_put_fn)(void *arg, enum store_table table, const void *key, size_t klen,
			     const void *val, size_t vlen);
int custdb_record_add(const struct bossrec *rec, custdb_put_fn put, custdb_read_fn ref,
		      void *arg);

/* What an agent sees for one number. Every message is owned by the
 * profile and freed by custdb_profile_release. */
#define CUSTDB_MAX_PAYMENTS 20
#define CUSTDB_MAX_BILLS 64

struct custdb_profile {
	Kefu__Subscriber *user;
	Kefu__Customer *cust;      /* NULL only if the data is inconsistent */
	size_t npay;
	Kefu__Payment *pay[CUSTDB_MAX_PAYMENTS];  /* newest first */
	size_t nbill;
	Kefu__Bill *bill[CUSTDB_MAX_BILLS];       /* newest month first */
};

/*
 * custdb_lookup_msisdn - the profile of the non-cancelled user holding
 * msisdn: subscriber, customer, up to max_pay recent payments and the bill
 * items of up to bill_months most recent months (bounded by the arrays).
 * On 0 the caller releases p. Returns 0, KF_ENOTFOUND, KF_ECORRUPT, KF_ESTORE.
 */
int custdb_lookup_msisdn(struct store_txn *t, const char *msisdn, size_t max_pay,
			 size_t bill_months, struct custdb_profile *p);

/* custdb_lookup_user - the same by user_id (also for cancelled users). */
int custdb_lookup_user(struct store_txn *t, const char *user_id, size_t max_pay,
		       size_t bill_months, struct custdb_profile *p);

/*
 * custdb_each_user - fn(arg, user, cust) for every subscriber in user_id
 * order with its customer (NULL when the data is inconsistent); both are
 * freed after the call. fn returns 0 to go on, 1 to stop, < 0 to fail.
 * Returns 0, fn's error, KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*custdb_user_fn)(void *arg, const Kefu__Subscriber *user,
			      const Kefu__Customer *cust);
int custdb_each_user(struct store_txn *t, custdb_user_fn fn, void *arg);

/* custdb_profile_release - free what the profile holds; safe on a zeroed one. */
void custdb_profile_release(struct custdb_profile *p);

/*
 * A user's call details (STORE_CDR, key user_id, start_time, other_party),
 * for the bill view. Every message is owned by the list and freed by
 * custdb_cdrs_release.
 */
#define CUSTDB_MAX_CDRS 200
#define CUSTDB_LOOKUP_CDRS 20 /* the recent calls a lookup (kefuctl lookup) shows */

struct custdb_cdrs {
	size_t n;
	Kefu__Cdr *cdr[CUSTDB_MAX_CDRS]; /* newest first */
};

/*
 * custdb_list_cdrs - user_id's CDRs that started at or after from and
 * before to, newest first, at most limit of them (and CUSTDB_MAX_CDRS).
 * from and to compare byte by byte with start_time ("YYYYMMDDHHMMSS"), so
 * a prefix works as a bound: from "202403" is from 1 March on, to "202404"
 * before 1 April. Either may be NULL or "": no bound on that side. A user
 * without CDRs, or an unknown user, gives an empty list. On 0 the caller
 * releases out; on an error out is empty.
 * Returns 0, KF_ECORRUPT (a value that is not a Cdr), KF_ESTORE.
 */
int custdb_list_cdrs(struct store_txn *t, const char *user_id, const char *from, const char *to,
		     size_t limit, struct custdb_cdrs *out);

/* custdb_cdrs_release - free what the list holds; safe on a zeroed one. */
void custdb_cdrs_release(struct custdb_cdrs *c);

struct custdb_prune_stats {
	uint64_t cdrs;
	uint64_t bills;
};

/* Retention (boss-files.md): CDRs for 6 months, monthly bills for 24. */
#define CUSTDB_CDR_KEEP_MONTHS 6
#define CUSTDB_BILL_KEEP_MONTHS 24

/*
 * custdb_prune - delete CDRs that started before `today` minus 6 months and
 * bills of months before today's month minus 23 (24 months kept, the
 * current one included). today is "YYYYMMDD". Works in transactions of a
 * bounded number of deletes, each through a batch, so it can run beside
 * imports. hooks (NULL: alone) run each transaction and log its batch
 * (batch.h). Returns 0, KF_EPARSE (bad date), KF_ESTORE.
 */
int custdb_prune(struct store *s, const struct write_hooks *hooks, const char *today,
		 struct custdb_prune_stats *st);

/* custdb_months_back - "YYYYMM" minus n months into out[7]. Returns 0 or KF_EPARSE. */
int custdb_months_back(const char *yyyymm, unsigned n, char out[7]);

/*
 * custdb_city - the city of a customer's address ("四川省成都市锦江区…" ->
 * "成都市"): after the province, up to the first 市, 州, 盟 or 地区; ""
 * when there is none or it does not fit cap. Work orders' dispatch, the
 * contact query's city and kefuctl lookup read it so.
 */
void custdb_city(const char *address, char *out, size_t cap);

#endif
