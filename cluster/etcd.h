/*
 * The etcd client: etcd 3.4's v3 JSON gateway over libcurl's multi
 * interface, driven by the loop (lib/loop.h). The only code that touches
 * libcurl. Nothing here blocks: every call queues an HTTP request and
 * returns; its callback runs later from the loop.
 *
 * Endpoints. The client holds a list of endpoint URLs and sends every
 * request to the current one. A request that fails in transport (timeout,
 * connection refused or reset, TLS failure) or with a 5xx answer moves the
 * current endpoint to the next in the list; the caller gets the error and
 * decides whether to retry (the retry goes to the next endpoint).
 *
 * Timeouts. Every request has a deadline (etcd_opts.timeout_ms, default
 * 1000 ms, changed with etcd_set_timeout); a watch must be confirmed by the
 * server ("created") within it and then lives until cancelled or broken.
 *
 * Callbacks. Each queued request calls its callback exactly once, always
 * from the loop and never from inside the call that queued it, unless
 * etcd_free comes first (then never). A callback may call any etcd_*
 * function, including etcd_free and etcd_watch_cancel.
 *
 * Errors (the `err` of a callback, or the return of a queuing call):
 *   0                  success; `r` is set
 *   -ETIMEDOUT         no answer within the timeout           (rotates)
 *   -ECONNREFUSED      nobody listens at the endpoint         (rotates)
 *   -ECONNRESET        the connection broke                   (rotates)
 *   -EIO               5xx, etcd unavailable, other transport (rotates)
 *   KF_ETLS            TLS handshake or certificate refused   (rotates)
 *   KF_ENOTFOUND       lease not found (a keepalive answered without TTL,
 *                      or a revoke of an unknown lease)
 *   KF_ECOMPACTED      a watch's start revision is compacted
 *   KF_ECANCELED       the server cancelled a watch for another reason
 *   KF_EPROTO          etcd refused the request (4xx) or broke the protocol
 *   KF_EPARSE          an answer that is not the JSON expected
 *   KF_ETOOBIG         an answer or a watch line over opts.max_response,
 *                      or a key or value over ETCD_KEY_MAX / ETCD_VALUE_MAX
 *   -EINVAL            a bad argument (queuing calls only)
 *
 * Keys are NUL-terminated strings; values are bytes with a length. Both are
 * base64-encoded on the wire by this module.
 */
#ifndef KEFU_CLUSTER_ETCD_H
#define KEFU_CLUSTER_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct etcd;
struct etcd_watch;

#define ETCD_ENDPOINTS_MAX 16
#define ETCD_URL_MAX 200
#define ETCD_KEY_MAX 1024
#define ETCD_VALUE_MAX (1024 * 1024)

struct etcd_opts {
	struct loop *loop;     /* drives the client; must outlive it */
	/* Comma-separated http:// or https:// URLs, e.g.
	 * "http://127.0.0.1:2379,http://127.0.0.1:22379". At most
	 * ETCD_ENDPOINTS_MAX, each at most ETCD_URL_MAX bytes. Copied. */
	const char *endpoints;
	uint32_t timeout_ms;   /* per request; 0 = 1000 */
	size_t max_response;   /* answer body or watch line cap; 0 = 4 MiB */
	/* TLS for https endpoints (PEM file paths, copied; NULL = unused):
	 * the CA that signed etcd's certificate, and a client certificate and
	 * key when etcd asks for one. The key is read once, by etcd_new, and
	 * must be a file only its owner may read (lib/secret.h); the CA, the
	 * certificate and the CRLs are read by libcurl as it connects. With
	 * crl_file (PEM, one or more CRLs), etcd's certificate and every CA
	 * above it must have a current CRL there that does not list them. */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	const char *crl_file;
};

/* One key-value pair. Key and value are NUL-terminated copies (the
 * terminator is not counted in the length). */
struct etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

enum etcd_op_type { ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE };

/*
 * An answer. Fields a request does not produce stay 0/NULL/false (etcd
 * omits default values: a failed txn has no "succeeded", an empty range no
 * "kvs").
 *
 * The response and everything it points to belong to the client and are
 * valid only during the callback; copy what you keep.
 */
struct etcd_resp {
	int64_t revision;          /* header.revision: the store's revision */
	enum etcd_op_type type;    /* which op produced it (txn results) */
	struct etcd_kv *kvs;       /* get / range op: the pairs found */
	size_t n_kvs;
	int64_t count;             /* get: how many keys matched */
	bool more;
	int64_t deleted;           /* delete: how many keys went */
	bool succeeded;            /* txn: compares held, success ops ran */
	struct etcd_resp *results; /* txn: one per op that ran, in order */
	size_t n_results;
	int64_t lease_id;          /* lease grant / keepalive */
	int64_t ttl;               /* lease grant / keepalive: seconds left */
	bool healthy;              /* health */
};

typedef void (*etcd_fn)(void *arg, int err, const struct etcd_resp *r);

/*
 * etcd_new - a client on o->loop, into *out. Nothing is sent yet. The
 * options are copied. Returns 0, or (*out NULL):
 *   -EINVAL       no loop
 *   KF_ECONFIG    bad endpoints: none, a URL that is not http(s)://, too
 *                 many or too long (logged with the list); a key_file that
 *                 group or others may read or write, or that is not a
 *                 regular file (logged, with the fix)
 *   -errno        key_file cannot be read (logged)
 *   KF_EINTERNAL  libcurl cannot start
 * Free with etcd_free.
 */
int etcd_new(const struct etcd_opts *o, struct etcd **out);

/*
 * etcd_free - cancel every request and watch and free the client; NULL is
 * fine. No callback runs after it returns. Watch handles die with it: do
 * not call etcd_watch_cancel afterwards. Call before loop_free.
 */
void etcd_free(struct etcd *e);

/* etcd_set_timeout - the timeout for requests queued from now on (0 = 1000 ms). */
void etcd_set_timeout(struct etcd *e, uint32_t timeout_ms);

/* etcd_endpoint_count / etcd_endpoint_current - the list and the index requests go to. */
size_t etcd_endpoint_count(const struct etcd *e);
size_t etcd_endpoint_current(const struct etcd *e);

/* etcd_endpoint_url - the URL of endpoint index (valid as long as e), or NULL. */
const char *etcd_endpoint_url(const struct etcd *e, size_t index);

/*
 * The queuing calls below return 0 when the request is queued (cb will run
 * once), or -EINVAL / KF_ETOOBIG without queuing (cb will not run).
 */

/* etcd_get - the key, or with prefix every key starting with it (sorted by key). */
int etcd_get(struct etcd *e, const char *key, bool prefix, etcd_fn cb, void *arg);

/* etcd_put - set key to the len bytes at val, attached to lease (0 = none). */
int etcd_put(struct etcd *e, const char *key, const void *val, size_t len, int64_t lease,
	     etcd_fn cb, void *arg);

/* etcd_delete - the key, or with prefix every key starting with it; r->deleted counts. */
int etcd_delete(struct etcd *e, const char *key, bool prefix, etcd_fn cb, void *arg);

/* ---- transactions ---- */

enum etcd_target { ETCD_TARGET_VERSION, ETCD_TARGET_CREATE, ETCD_TARGET_MOD,
		   ETCD_TARGET_VALUE, ETCD_TARGET_LEASE };
enum etcd_cmp_result { ETCD_CMP_EQUAL, ETCD_CMP_GREATER, ETCD_CMP_LESS, ETCD_CMP_NOT_EQUAL };

/* "target(key) result operand": CREATE/MOD/VERSION/LEASE compare `num`,
 * VALUE compares the value_len bytes at `value`. A missing key has
 * create_revision, mod_revision and version 0. */
struct etcd_cmp {
	const char *key;
	enum etcd_target target;
	enum etcd_cmp_result result;
	int64_t num;
	const void *value;
	size_t value_len;
};

/* One op: RANGE reads key (or the prefix), PUT writes value with lease
 * (0 = none), DELETE removes key (or the prefix). */
struct etcd_op {
	enum etcd_op_type type;
	const char *key;
	bool prefix;
	const void *value;
	size_t value_len;
	int64_t lease;
};

struct etcd_txn {
	const struct etcd_cmp *cmp;
	size_t n_cmp;
	const struct etcd_op *success;
	size_t n_success;
	const struct etcd_op *failure;
	size_t n_failure;
};

/*
 * etcd_txn - if every compare holds, run the success ops, else the failure
 * ops, atomically. r->succeeded says which; r->revision is the revision
 * after the txn (for a campaign that put the leader key: its
 * create_revision); r->results hold one answer per op run. The txn and
 * everything it points to are copied before the call returns.
 */
int etcd_txn(struct etcd *e, const struct etcd_txn *t, etcd_fn cb, void *arg);

/* ---- leases ---- */

/* etcd_lease_grant - a lease of ttl_s seconds (etcd's shortest is 2); r->lease_id, r->ttl. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, etcd_fn cb, void *arg);

/*
 * etcd_lease_keepalive - one keepalive (one POST, on a reused connection).
 * r->ttl is the renewed TTL; KF_ENOTFOUND when the lease is gone (expired
 * or revoked).
 */
int etcd_lease_keepalive(struct etcd *e, int64_t id, etcd_fn cb, void *arg);

/* etcd_lease_revoke - drop the lease and every key on it; KF_ENOTFOUND if unknown. */
int etcd_lease_revoke(struct etcd *e, int64_t id, etcd_fn cb, void *arg);

/* etcd_compact - discard history before revision rev (physically: waits for it). */
int etcd_compact(struct etcd *e, int64_t rev, etcd_fn cb, void *arg);

/* etcd_health - GET /health on endpoint `index` (no rotation): r->healthy. */
int etcd_health(struct etcd *e, size_t index, etcd_fn cb, void *arg);

/* ---- watches ---- */

enum etcd_event_type { ETCD_EVENT_PUT, ETCD_EVENT_DELETE };

/* One change. A DELETE carries the key and its mod_revision only. */
struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;
};

/*
 * One message of a watch stream: the confirmation (created, no events),
 * or a batch of events in revision order. compact_revision is set when the
 * watch was cancelled because start_rev is compacted: the oldest revision
 * still available. Valid only during the callback.
 */
struct etcd_watch_msg {
	int64_t revision;
	int64_t watch_id;
	bool created;
	bool canceled;
	int64_t compact_revision;
	struct etcd_event *events;
	size_t n_events;
};

/*
 * Watch callback: err 0 with a message, or, once, an error that ends the
 * watch. m is NULL with an error, except for the server's cancel
 * message: KF_ECOMPACTED (m->compact_revision says where history starts:
 * re-read, then watch again from the read's revision + 1) and KF_ECANCELED
 * (e.g. the member lost its leader). A stream that breaks reports its
 * transport error (and rotates, as a request does); one the server closed
 * cleanly reports -EPIPE. Nothing about the watch is retried here.
 */
typedef void (*etcd_watch_fn)(void *arg, int err, const struct etcd_watch_msg *m);

/*
 * etcd_watch - watch key (or the prefix) from revision start_rev (0 = from
 * now). Sent with Grpc-Metadata-hasleader so a member without a leader
 * cancels it. Returns 0 and the handle in *out (cb will run), or, with
 * *out NULL and cb never run: -EINVAL (a bad argument: no key or cb, a
 * negative start_rev), KF_ETOOBIG (a key over ETCD_KEY_MAX), KF_EINTERNAL
 * (libcurl refused the request). The handle stays valid after the final
 * error callback; free it with etcd_watch_cancel (also from inside its own
 * callback).
 */
int etcd_watch(struct etcd *e, const char *key, bool prefix, int64_t start_rev, etcd_watch_fn cb,
	       void *arg, struct etcd_watch **out);

/* etcd_watch_cancel - stop and free w; no callback after it returns; NULL is fine. */
void etcd_watch_cancel(struct etcd_watch *w);

#endif
