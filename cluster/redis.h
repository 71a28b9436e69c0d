/*
 * The Redis client: commands, Lua scripts and pub/sub against the primary
 * of a Redis group found through Sentinel, on the event loop. The only code
 * that touches hiredis, and only for RESP: hiredis formats commands and its
 * reader parses replies; the connections are kefu's own (lib/net.h raw
 * connections, plain TCP or TLS), so TLS works although hiredis 0.14 has
 * none.
 *
 * Finding the primary. With sentinels, the client asks one sentinel at a
 * time (SENTINEL get-master-addr-by-name, rotating through the list on
 * any failure), connects to the address named, authenticates and checks
 * that ROLE says "master"; only then is it up and sends commands. It
 * resolves again after every lost connection, command timeout, READONLY
 * reply or refused ROLE; a "+switch-master" message from a sentinel (the
 * client subscribes on one sentinel) only makes it resolve at once instead
 * of on the next failure. When a round through every sentinel fails, it
 * waits retry_ms and starts again. With a fixed addr instead of sentinels
 * the same steps run without the sentinel query.
 *
 * Commands. Each command is sent to the primary in the order given
 * (pipelined), or queued while the client is down and sent in order once it
 * is up. Every command has a deadline (command_timeout_ms from the call):
 * a command still queued at its deadline fails without having been sent; a
 * sent command without a reply by then fails and the connection is dropped
 * (the reply stream can no longer be trusted), failing every command in
 * flight on it, and the primary is resolved again.
 *
 * Callbacks. Every command queued (a 0 return) calls its callback exactly
 * once, always from the loop and never inside the call that queued it. A
 * callback may call redis_command, redis_evalsha, redis_subscribe and
 * redis_unsubscribe; it must not call redis_free. The reply and everything
 * it points to belong to the client and are valid only during the
 * callback; copy what you keep.
 *
 * Errors given to a reply callback (err; reply is NULL unless err is 0):
 *   0               a reply came; it may be of type REDIS_TYPE_ERROR (the
 *                   server refused the command: "ERR ...", "NOREPLICAS ...")
 *   -ETIMEDOUT      no reply by the deadline. If it was sent it may have run.
 *   -ECONNRESET, -EPIPE, KF_ETLS, ...  the connection failed after the
 *                   command was sent; it may have run
 *   KF_ESTATE       a sentinel announced another primary (+switch-master)
 *                   and the connection was dropped; it may have run
 *   KF_ETOOBIG      the reply was over max_size (the connection is dropped)
 *   KF_EPROTO       the reply was not RESP (the connection is dropped)
 *   -EACCES, -ECONNREFUSED, -EROFS, ... the command was still queued at its
 *                   deadline and never sent; err is why the client was not
 *                   up (the last failure: -EACCES = password refused,
 *                   -EROFS = the address named is not a master), or
 *                   -ETIMEDOUT when no failure is known
 *   KF_ECANCELED    redis_free ran first; the callback must not use r
 *
 * A READONLY reply (the primary became a replica) reaches the callback
 * like any error reply; the client then drops the connection and resolves
 * the primary again. A NOSCRIPT reply to redis_evalsha never does: the
 * client loads the script (SCRIPT LOAD) and sends the EVALSHA again, once.
 *
 * Limits: every reply and every command is at most max_size bytes (as the
 * reader counts it: its strings plus a small overhead per element);
 * commands waiting or in flight at most max_queue.
 */
#ifndef KEFU_CLUSTER_REDIS_H
#define KEFU_CLUSTER_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct tls_ctx;
struct redis;
struct redis_script;
struct redis_reader;

/* ---- replies ---- */

#define REDIS_TYPES(X)                        \
	X(REDIS_TYPE_STRING, "string")        \
	X(REDIS_TYPE_ARRAY, "array")          \
	X(REDIS_TYPE_INTEGER, "integer")      \
	X(REDIS_TYPE_NIL, "nil")              \
	X(REDIS_TYPE_STATUS, "status")        \
	X(REDIS_TYPE_ERROR, "error")

enum redis_type {
#define REDIS_TYPE_ENUM_(id, name) id,
	REDIS_TYPES(REDIS_TYPE_ENUM_)
#undef REDIS_TYPE_ENUM_
};

/*
 * A reply. STRING (bulk), STATUS ("+OK") and ERROR ("-ERR ...") have
 * str[0..len) plus a NUL after it (a bulk string may hold NULs itself);
 * INTEGER has integer; ARRAY has elem[0..n); NIL has nothing.
 */
struct redis_reply {
	enum redis_type type;
	long long integer;
	const char *str;
	size_t len;
	struct redis_reply **elem;
	size_t n;
};

/* redis_type_name - "string", "array"...; "?" for an unknown value. Static. */
const char *redis_type_name(enum redis_type t);

/*
 * redis_reply_is_error - true when reply is an ERROR whose code (the first
 * word: "NOSCRIPT", "READONLY", "WRONGPASS") is code.
 */
bool redis_reply_is_error(const struct redis_reply *reply, const char *code);

/* ---- the RESP reader: bytes in, replies out; no sockets ---- */

/* Default cap on one reply (and one command). */
#define REDIS_MAX_SIZE_DEFAULT ((size_t)8 * 1024 * 1024)

/*
 * redis_reader_new - a reader for one byte stream whose replies may each be
 * at most max_size bytes (0 = REDIS_MAX_SIZE_DEFAULT): the reply's strings
 * plus 64 bytes per element, and also the bytes of a reply not yet
 * complete. Never NULL: allocation failure aborts. Free with
 * redis_reader_free.
 */
struct redis_reader *redis_reader_new(size_t max_size);

/* redis_reader_free - NULL is fine; replies already returned stay valid. */
void redis_reader_free(struct redis_reader *rd);

/*
 * redis_reader_feed - append len bytes (copied) of the stream. Returns 0,
 * or the reader's error (see redis_reader_next) once it has one.
 */
int redis_reader_feed(struct redis_reader *rd, const void *data, size_t len);

/*
 * redis_reader_next - the next complete reply. Returns 1 with *out set (the
 * reply is the caller's: redis_reply_free), 0 when more bytes are needed,
 * KF_EPROTO (not RESP, or arrays nested deeper than 7) or KF_ETOOBIG (over
 * max_size). After an error the reader is dead: every later feed and next
 * returns the same error.
 */
int redis_reader_next(struct redis_reader *rd, struct redis_reply **out);

/* redis_reader_error - a short text for the reader's error ("" if none); valid while rd is. */
const char *redis_reader_error(const struct redis_reader *rd);

/* redis_reply_free - a reply from redis_reader_next and all its elements; NULL is fine. */
void redis_reply_free(struct redis_reply *reply);

/* ---- the client ---- */

#define REDIS_SENTINELS_MAX 16
#define REDIS_ADDR_MAX 72   /* "host:port" with its NUL */
#define REDIS_SUBS_MAX 64   /* channels and patterns subscribed at once */
#define REDIS_DETAIL_MAX 160

/*
 * The reply callback; see "Errors" above. reply is valid during the call
 * only.
 */
typedef void (*redis_reply_fn)(void *arg, int err, const struct redis_reply *reply);

struct redis_opts {
	struct loop *loop; /* drives the client; must outlive it */
	/* Either sentinels, "host:port,host:port,..." (at most
	 * REDIS_SENTINELS_MAX) with master_name, or addr, the fixed address of
	 * the primary. Copied. */
	const char *sentinels;
	const char *master_name;
	const char *addr;
	/* AUTH for the Redis servers and for the sentinels; NULL = none. Copied. */
	const char *password;
	const char *sentinel_password;
	/* A client TLS context (lib/tls.h) for every connection, servers and
	 * sentinels; NULL = plain TCP. Not copied: it must outlive the client.
	 * A server's certificate must name the address dialed (IP:127.0.0.1). */
	struct tls_ctx *tls;
	/* Without tls: dial loopback addresses only (net_addr_is_loopback). A
	 * primary that the sentinels name elsewhere is never dialed: the
	 * attempt fails with KF_ECONFIG, reported through state(). */
	bool plain_loopback_only;
	uint32_t command_timeout_ms; /* 0 = 1000 */
	uint32_t connect_timeout_ms; /* TCP connect plus TLS handshake; 0 = 1000 */
	uint32_t retry_ms;           /* pause after a failed round; 0 = 200 */
	size_t max_size;             /* one reply, one command; 0 = REDIS_MAX_SIZE_DEFAULT */
	size_t max_queue;            /* commands waiting or in flight; 0 = 65536 */

	/* Each may be NULL; arg is passed to all three. Strings are valid
	 * during the call only. */
	/* The client came up on a primary (up, reason 0), went down, or while
	 * down failed again for another reason than the last one reported
	 * (reason as in "Errors", detail a short text for logs; addr the
	 * address concerned, "" if none yet). */
	void (*state)(void *arg, bool up, const char *addr, int reason, const char *detail);
	/* The client came up on another primary than the one it was up on
	 * before (a failover): from and to are addresses. Runs after state(up).
	 * Redis replicates asynchronously, so the new primary may miss the last
	 * writes: this is the moment to write again what the caller owns. */
	void (*moved)(void *arg, const char *from, const char *to);
	/* A pub/sub message: channel and, for a pattern subscription, the
	 * pattern that matched (else NULL); payload[0..len) (NUL after it). */
	void (*message)(void *arg, const char *channel, const char *pattern, const char *payload,
			size_t len);
	void *arg;
};

/*
 * redis_new - a client on o->loop, into *out; it starts finding the
 * primary from the loop. Options are copied (but loop and tls). Returns 0,
 * or (*out NULL): -EINVAL (no loop), KF_ECONFIG (the options are invalid:
 * neither or both of sentinels and addr, sentinels without master_name, too
 * many sentinels, an address over REDIS_ADDR_MAX, a server TLS context).
 * Free with redis_free before the loop and the TLS context.
 */
int redis_new(const struct redis_opts *o, struct redis **out);

/*
 * redis_free - close every connection, run every pending command's callback
 * with KF_ECANCELED, free the scripts and the client. NULL is fine. Not from
 * inside one of the client's callbacks. After it, let the loop run to
 * completion before loop_free (lib/net.h releases closed connections there).
 */
void redis_free(struct redis *r);

/*
 * redis_command - send argv[0..argc) (argvlen[i] bytes each; argvlen NULL =
 * NUL-terminated strings). Returns 0 (cb will run once), -EINVAL (argc < 1,
 * cb NULL), KF_ETOOBIG (over max_size, or max_queue commands are pending),
 * KF_ESTATE (redis_free is running). Pub/sub commands belong to
 * redis_subscribe: SUBSCRIBE and PSUBSCRIBE here are -EINVAL.
 */
int redis_command(struct redis *r, int argc, const char *const *argv, const size_t *argvlen,
		  redis_reply_fn cb, void *arg);

/* redis_is_up - connected to a primary that said it is master. */
bool redis_is_up(const struct redis *r);

/*
 * redis_primary_addr - "host:port" of the primary while up, else NULL.
 * Valid until control returns to the loop.
 */
const char *redis_primary_addr(const struct redis *r);

/*
 * redis_rtt - the round trips of the commands sent on the primary link over
 * the last one to two minutes, from the moment a command is handed to the
 * connection to its reply (the wait in Redis's queue and the script's run
 * included): p50 and p99 in µs (within 1/8, lib/hist.h), and how many.
 * All 0 with no command in that time.
 */
void redis_rtt(struct redis *r, uint64_t *p50_us, uint64_t *p99_us, uint64_t *count);

/*
 * redis_rtt_total - the same round trips, in µs, since the client was
 * made: counts that only grow (a Prometheus histogram). Valid while r is.
 */
struct hist;
const struct hist *redis_rtt_total(const struct redis *r);

/* ---- scripts ---- */

/*
 * redis_script_define - a Lua script known by name (for logs) and its
 * SHA-1 (computed here), into *out. Nothing is sent: the script is loaded
 * on the server the first time an EVALSHA meets NOSCRIPT. The script is
 * owned by r and valid until redis_free. Returns 0, or (*out NULL):
 * -EINVAL (name or source NULL or empty), KF_ETOOBIG (SCRIPT LOAD of
 * source would be over max_size).
 */
int redis_script_define(struct redis *r, const char *name, const char *source,
			struct redis_script **out);

/* redis_script_sha - the script's SHA-1, 40 hex digits; valid as long as s. */
const char *redis_script_sha(const struct redis_script *s);

/*
 * redis_evalsha - EVALSHA sha nkeys argv[0..argc): the first nkeys of argv
 * are the keys, the rest the arguments (argvlen as for redis_command).
 * NOSCRIPT is handled (see above); the retried EVALSHA runs after commands
 * sent in the meantime, within the first call's deadline. Returns as
 * redis_command, and -EINVAL for nkeys < 0 or over argc.
 */
int redis_evalsha(struct redis *r, const struct redis_script *s, int nkeys, int argc,
		  const char *const *argv, const size_t *argvlen, redis_reply_fn cb, void *arg);

/* ---- pub/sub ---- */

/*
 * redis_subscribe - receive the messages published on channel (or, with
 * pattern, on every channel matching it) through opts.message. Pub/sub runs
 * on a connection of its own to the primary, made while at least one
 * subscription exists and the client is up, and subscribed again after
 * every reconnection (messages published while it is being remade are
 * lost: pub/sub is at most once). Returns 0, -EINVAL (empty or NULL
 * channel, or no opts.message), KF_EEXISTS (already subscribed),
 * KF_ETOOBIG (REDIS_SUBS_MAX subscriptions, or a channel over 1024 bytes),
 * KF_ESTATE (redis_free is running).
 */
int redis_subscribe(struct redis *r, const char *channel, bool pattern);

/* redis_unsubscribe - stop one subscription. Returns 0, KF_ENOTFOUND. */
int redis_unsubscribe(struct redis *r, const char *channel, bool pattern);

#endif
