/*
 * The node's LMDB environment: one environment per node, one named
 * database per table. Only storage/ calls mdb_*; everything above sees
 * this header and batch.h.
 *
 * Writes: every durable change is a struct batch applied with batch_apply*
 * (batch.h). store__put/store__del exist for batch.c alone.
 *
 * Map growth: LMDB fails a write with MDB_MAP_FULL when the memory map is
 * too small; that aborts the transaction. store_write() handles it: it
 * aborts, doubles the map and runs the whole transaction body again. Nothing
 * is lost and the caller never sees KF_EMAPFULL unless map_max is reached.
 */
#ifndef KEFU_STORAGE_STORE_H
#define KEFU_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * X(enum name, table id, LMDB database name). The id is stored in every
 * WriteBatch op and shipped to replicas: never renumber, only add.
 * Key layouts are in docs/storage.md; parts are joined by keys.h.
 */
#define STORE_TABLES(X)                                             \
	X(STORE_META, 1, "meta")                 /* name -> value */          \
	X(STORE_CUST, 2, "cust")                 /* cust_id -> Customer */    \
	X(STORE_CUST_BY_IDNO, 3, "cust_by_idno") /* id_type,id_no,cust_id -> "" */ \
	X(STORE_USER, 4, "user")                 /* user_id -> Subscriber */  \
	X(STORE_USER_BY_MSISDN, 5, "user_by_msisdn") /* msisdn -> user_id (not cancelled) */ \
	X(STORE_CUST_USERS, 6, "cust_users")     /* cust_id,user_id -> "" */  \
	X(STORE_PAY, 7, "pay")                   /* pay_id -> Payment */      \
	X(STORE_USER_PAY, 8, "user_pay")         /* user_id,pay_time,pay_id -> "" */ \
	X(STORE_CHG, 9, "chg")                   /* chg_id -> Change */       \
	X(STORE_USER_CHG, 10, "user_chg")        /* user_id,chg_time,chg_id -> "" */ \
	X(STORE_BILL, 11, "bill")                /* user_id,bill_month,item_code -> Bill */ \
	X(STORE_BILL_BY_MONTH, 12, "bill_by_month") /* bill_month,user_id,item_code -> "" */ \
	X(STORE_CDR, 13, "cdr")                  /* user_id,start_time,other_party -> Cdr */ \
	X(STORE_CDR_BY_TIME, 14, "cdr_by_time")  /* start_time,user_id,other_party -> "" */ \
	X(STORE_BOSS_FILE, 15, "boss_file")      /* file name -> BossFile */  \
	X(STORE_BOSS_SEQ, 16, "boss_seq")        /* prov,kind -> BossSeq */ \
	X(STORE_LOG, 17, "log")                  /* index (8 bytes BE) -> LogEntry */ \
	X(STORE_AGENT, 18, "agent")              /* agent id -> Agent */ \
	X(STORE_AUDIT, 19, "audit")              /* time_ms, seq (8 bytes BE each), node -> AuditEntry */ \
	X(STORE_CALLBACK, 20, "callback")        /* "r",id -> CallbackRequest; "p",requested_ms,id -> "" */ \
	X(STORE_WO, 21, "wo")                    /* order id -> WorkOrder */ \
	X(STORE_WO_INDEX, 22, "wo_index")        /* tagged keys: storage/workorder.h */ \
	X(STORE_OPS, 23, "ops")                  /* interval statistics: storage/opsstat.h */ \
	X(STORE_KB, 24, "kb")                    /* knowledge base articles: storage/kb.h */ \
	X(STORE_KB_TERMS, 25, "kb_terms")        /* its search index, derived: storage/kbindex.h */ \
	X(STORE_KB_DOCS, 26, "kb_docs")          /* the index's documents and totals */ \
	X(STORE_DIAL, 27, "dial")                /* outbound dialing: storage/dial.h */ \
	X(STORE_DIAL_ATT, 28, "dial_att")        /* campaign,attempt id -> DialAttempt */ \
	X(STORE_CCFG, 32, "ccfg")                /* the cluster configuration: storage/ccfg.h */

enum store_table {
#define STORE_TABLE_ENUM_(name, id, dbname) name = (id),
	STORE_TABLES(STORE_TABLE_ENUM_)
#undef STORE_TABLE_ENUM_
	STORE_TABLE_END
};

/* Highest table id + 1; arrays indexed by table id use this size. */
#define STORE_TABLE_SLOTS ((int)STORE_TABLE_END)

/* LMDB's default maximum key size. */
#define STORE_KEY_MAX 511

struct store;
struct store_txn;

/* A borrowed byte range. Who owns it and how long it lives is said where
 * it is returned. */
struct store_val {
	const void *data;
	size_t len;
};

struct store_opts {
	size_t map_size;  /* initial map size in bytes; 0 = 64 MiB */
	size_t map_max;   /* growth stops here; 0 = 1 TiB */
	bool no_sync;     /* skip fsync at commit: benchmarks of the raw engine only */
	bool map_writes;  /* MDB_WRITEMAP: a transaction's pages are written in the
			   * shared map, not on the heap (an offline bulk import;
			   * docs/storage.md "Durability and memory"); the store
			   * is then open in this process alone */
};

/*
 * store_open - open (creating if needed) the environment in directory dir.
 * opts may be NULL for defaults. On success *out owns the environment.
 * Returns 0, -errno (dir missing, permissions), -EBUSY (opened with
 * map_writes elsewhere, or elsewhere at all when asking for it), KF_ESTORE,
 * KF_ECORRUPT.
 */
int store_open(const char *dir, const struct store_opts *opts, struct store **out);

/* store_free - close the environment; NULL is fine. No transaction may be open. */
void store_free(struct store *s);

/* store_path - the directory the environment lives in; valid while s is. */
const char *store_path(struct store *s);

/* store_name - table's database name, or NULL for an unknown id. */
const char *store_table_name(int table);

/* store_table_by_name - id for a database name, or KF_ENOTFOUND. */
int store_table_by_name(const char *name);

/*
 * store_read_begin / store_write_begin - start a transaction. One write
 * transaction at a time per environment (LMDB serialises writers).
 * The transaction is owned by the caller until store_commit/store_abort.
 * Returns 0, KF_ESTORE.
 */
int store_read_begin(struct store *s, struct store_txn **out);
int store_write_begin(struct store *s, struct store_txn **out);

/*
 * store_read_beside - a read transaction begun while the caller holds the
 * write transaction w, for another thread to read through while w writes
 * (MDB_NOTLS: it may move between threads, one at a time). It sees the
 * last commit, which is w's state before w's own writes. It does not wait
 * at the remap gate: no remap can run while w is open, and one waiting for
 * w waits for this transaction too. End it (store_abort) before w ends.
 * Returns 0, KF_ESTORE.
 */
int store_read_beside(struct store_txn *w, struct store_txn **out);

/*
 * store_commit - commit and free t (it is freed whatever the result).
 * Durable on return unless the store was opened with no_sync.
 * Returns 0, KF_EMAPFULL, KF_ESTORE, -errno (I/O).
 */
int store_commit(struct store_txn *t);

/* store_abort - discard and free t; NULL is fine. */
void store_abort(struct store_txn *t);

/*
 * store_get - look key up in table. On 0, *val points into the map: valid
 * until the transaction ends or, in a write transaction, until its next
 * write. Returns 0, KF_ENOTFOUND, KF_ETOOBIG (key too long), KF_ESTORE.
 */
int store_get(struct store_txn *t, enum store_table table, const void *key, size_t klen,
	      struct store_val *val);

/*
 * store_get_decimal - the value of key as a decimal number (1 to 19
 * digits) into *out. Returns 0, KF_ENOTFOUND, KF_ECORRUPT (another value),
 * KF_ETOOBIG (key too long), KF_ESTORE.
 */
int store_get_decimal(struct store_txn *t, enum store_table table, const void *key, size_t klen,
		      uint64_t *out);

/*
 * store_last - the highest key of table. On 0, *key points into the map,
 * valid as store_get's answer is. Returns 0, KF_ENOTFOUND (empty table),
 * KF_ESTORE.
 */
int store_last(struct store_txn *t, enum store_table table, struct store_val *key);

/*
 * store_scan - visit, in key order (or reverse), every key of table that
 * starts with prefix (plen may be 0: the whole table). When start is not
 * NULL the scan begins at the first key >= start (reverse: the last key
 * <= start) instead of at the prefix's edge.
 * fn returns 0 to go on, 1 to stop early, or a negative error that ends the
 * scan and is returned. key and val are valid only during the call.
 * Returns 0 (also when stopped early), fn's error, KF_ESTORE.
 */
typedef int (*store_scan_fn)(void *arg, const struct store_val *key, const struct store_val *val);
int store_scan(struct store_txn *t, enum store_table table, const void *prefix, size_t plen,
	       const void *start, size_t slen, bool reverse, store_scan_fn fn, void *arg);

/* store_key_cmp - LMDB's key order: bytes, then the shorter first. */
int store_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

/*
 * store_key_head - table and the first 15 key bytes as two numbers: when
 * two heads differ they order as (table, key) does; equal heads need
 * store_key_cmp. Makes sorting many keys cheap.
 */
struct store_key_head {
	uint64_t hi, lo;
};
struct store_key_head store_key_head(enum store_table table, const void *key, size_t klen);

/* store_key_head_cmp - -1, 0, 1 as a's head orders before, with, after b's. */
static inline int store_key_head_cmp(const struct store_key_head *a, const struct store_key_head *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/*
 * store_view - a read-only view of the tables, for code that checks changes
 * before they are applied (custdb): store_txn_view is the transaction
 * itself; an overlay (overlay.h) is a write transaction with changes not yet
 * applied on top. get and scan behave as store_get and store_scan, and what
 * they return lives as long as the view's source says.
 */
struct store_view {
	int (*get)(void *src, enum store_table table, const void *key, size_t klen,
		   struct store_val *val);
	int (*scan)(void *src, enum store_table table, const void *prefix, size_t plen,
		    const void *start, size_t slen, bool reverse, store_scan_fn fn, void *arg);
	void *src;
};

/* store_txn_view - the view that reads t directly; valid while t is open. */
struct store_view store_txn_view(struct store_txn *t);

/*
 * store_write - run body(t, arg) in a write transaction and commit it.
 * When body or the commit fails with KF_EMAPFULL, the transaction is
 * aborted, the map is doubled (up to map_max) and body runs again from the
 * start on a fresh transaction: body must not keep state across attempts
 * except through arg, which it must reset itself (it is told the attempt
 * number through store_txn_attempt()). Any other error from body aborts
 * the transaction and is returned.
 * Returns 0, body's error, KF_EMAPFULL (map_max reached), KF_ESTORE.
 */
typedef int (*store_write_fn)(struct store_txn *t, void *arg);
int store_write(struct store *s, store_write_fn body, void *arg);

/*
 * store_write_lazy - store_write whose commit syncs the transaction's pages
 * but leaves its meta page unsynced (LMDB's MDB_NOMETASYNC): the database
 * stays whole after a crash, but the transaction is durable only once the
 * next commit that writes pages returns (its sync covers the meta page) or
 * store_sync returns. *wrote says whether this commit wrote pages (false for
 * a transaction that changed nothing, or on an error). The writer thread's
 * group commit (storage/writer.h). On a store opened with no_sync or
 * map_writes it is store_write.
 * Returns as store_write.
 */
int store_write_lazy(struct store *s, store_write_fn body, void *arg, bool *wrote);

/* store_sync - make every committed transaction durable (the meta page a
 * lazy commit left). Returns 0, KF_ESTORE, -errno (I/O). */
int store_sync(struct store *s);

/* store_txn_attempt - 0 on the first run of a store_write body, 1.. on reruns. */
unsigned store_txn_attempt(const struct store_txn *t);

/*
 * store_grow - double the map size (bounded by map_max). No transaction of
 * this process may be open. Returns 0, KF_EMAPFULL (at map_max), KF_ESTORE.
 */
int store_grow(struct store *s);

struct store_stats {
	size_t map_size;      /* bytes mapped now */
	size_t used_bytes;    /* pages in use * page size */
	size_t page_size;
	uint64_t entries[STORE_TABLE_SLOTS]; /* per table id */
};

/* store_stat - fill st. Returns 0, KF_ESTORE. */
int store_stat(struct store *s, struct store_stats *st);

/*
 * store_copy - write a consistent compacted copy of the environment into
 * the empty directory path (for snapshots and backups).
 * Returns 0, -errno, KF_ESTORE.
 */
int store_copy(struct store *s, const char *path);

/* For batch.c only: the one write path. Returns 0, KF_EMAPFULL, KF_ETOOBIG,
 * KF_ESTORE; store__del returns 0 also when the key was absent. */
int store__put(struct store_txn *t, enum store_table table, const void *key, size_t klen,
	       const void *val, size_t vlen);
int store__del(struct store_txn *t, enum store_table table, const void *key, size_t klen);
/* store__append - store__put of a key above every key of the table: LMDB
 * then fills the last page in place of a descent and a split in the middle
 * (MDB_APPEND). Returns KF_EEXISTS, writing nothing, when the key is not
 * above the table's last key; else as store__put. For batch.c only. */
int store__append(struct store_txn *t, enum store_table table, const void *key, size_t klen,
		  const void *val, size_t vlen);

#endif
