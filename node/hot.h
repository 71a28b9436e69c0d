/*
 * The node's hot state: its handle on the Redis group (found through
 * Sentinel) that holds the calls, queues and agent states shared by every
 * node (docs/routing.md). It owns the Redis client (cluster/redis.h), runs
 * the Lua scripts its users define (hot_define: routing's steps, and those
 * of later components), builds "kefu:<cluster>:..." keys, subscribes to
 * this node's event channel "kefu:<cluster>:events:<node>" and tells its
 * user when Redis failed over, so it can write again the state it owns.
 * It knows no component: each passes its own script table.
 *
 * Everything runs on the node's event loop. Callbacks registered here are
 * called from the loop, never from inside the call that registered them;
 * the strings they get are valid during the call only.
 *
 * Logs (LOG_CLUSTER): "hot up primary=A", "hot down primary=A reason=R",
 * and on a failover "hot failover from=A to=B reassert=yes|no" (no: no
 * failover callback registered).
 */
#ifndef KEFU_NODE_HOT_H
#define KEFU_NODE_HOT_H

#include "cluster/redis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct tls_ctx;
struct hot;

/* Longest key hot_key builds, with its NUL. */
#define HOT_KEY_MAX 512

/* Scripts a hot state runs, every hot_define together. */
#define HOT_SCRIPTS_MAX 64

/* A Lua script, as a build embeds it (node/routing/embed.sh makes routing's). */
struct hot_script {
	const char *name;  /* for logs, e.g. "route_call" */
	const char *text;  /* the script, NUL-terminated */
	size_t len;        /* strlen(text) */
	const char *sha1;  /* 40 lowercase hex digits, as Redis names the script */
};

struct hot_opts {
	struct loop *loop;       /* must outlive the hot state */
	const char *sentinels;   /* "host:port,..." (redis_sentinels); copied */
	const char *master_name; /* the Sentinel name of the group; copied */
	const char *password;    /* servers and sentinels; NULL or "" = none; copied */
	struct tls_ctx *tls;     /* client context, NULL = plain TCP; must outlive the hot state */
	bool plain_loopback_only; /* plain TCP to loopback only (redis_opts) */
	uint32_t timeout_ms;     /* every command and connection attempt; 0 = 1000 */
	const char *cluster;     /* cluster_name: the key prefix "kefu:<cluster>:"; copied */
	const char *node;        /* node_name: the event channel; copied */
};

/* A message on this node's event channel: payload[0..len), NUL after it. */
typedef void (*hot_event_fn)(void *arg, const char *payload, size_t len);

/* Redis came up on another primary than before (from, to: "host:port"). */
typedef void (*hot_failover_fn)(void *arg, const char *from, const char *to);

/*
 * hot_new - the hot state on o->loop, into *out: makes the Redis client
 * (it starts finding the primary from the loop) and subscribes to the
 * node's event channel. No script is defined yet (hot_define). Returns 0,
 * or, logged and with *out NULL: KF_ECONFIG (a cluster or node name that
 * makes keys over HOT_KEY_MAX), the error of redis_new (options refused)
 * or of redis_subscribe. Free with hot_free before the loop and the TLS
 * context.
 */
int hot_new(const struct hot_opts *o, struct hot **out);

/*
 * hot_define - the scripts s[0..n) become runnable by hot_eval as ids
 * *first .. *first + n - 1, in table order. s is kept, not copied: it must
 * stay valid as long as h (a static table). Each script's SHA-1 must be
 * the one Redis computes from its text, or EVALSHA would name another
 * script. The scripts are loaded (SCRIPT LOAD) on each primary the client
 * comes up on, and at once when it is up now. Define a table once per hot
 * state: there is no undefine. Returns 0 and *first; -EINVAL (s NULL or n
 * 0), KF_ETOOBIG (more than HOT_SCRIPTS_MAX in all), the error of
 * redis_script_define (a script the client refuses: -EINVAL for an empty
 * name or text, KF_ETOOBIG for one over its size limit), KF_EINTERNAL (a
 * SHA-1 differs); then nothing is defined.
 */
int hot_define(struct hot *h, const struct hot_script *s, size_t n, unsigned *first);

/*
 * hot_free - frees the client (pending commands get KF_ECANCELED) and the
 * hot state; NULL is fine. Not from inside a callback of this module.
 */
void hot_free(struct hot *h);

/*
 * hot_eval - run script id (hot_define's *first plus the script's index in
 * its table) with EVALSHA: the first nkeys of argv[0..argc) are its KEYS,
 * the rest its ARGV, exactly as given (nothing is prefixed: build keys with
 * hot_key). argvlen as for redis_command (NULL = NUL-terminated strings).
 * The script is loaded on NOSCRIPT. cb runs once, as described in
 * cluster/redis.h "Errors"; a refusal of the script ("STALE ...", "KEYS
 * ...") is a 0 err with an ERROR reply. Returns 0 (cb will run), -EINVAL
 * (no script id, bad nkeys or argc, cb NULL), KF_ETOOBIG (over the size or
 * queue limit), KF_ESTATE.
 */
int hot_eval(struct hot *h, unsigned id, int nkeys, int argc, const char *const *argv,
	     const size_t *argvlen, redis_reply_fn cb, void *arg);

/*
 * hot_command - any other command (SET presence keys, PUBLISH...), as
 * redis_command. Returns as redis_command.
 */
int hot_command(struct hot *h, int argc, const char *const *argv, const size_t *argvlen,
		redis_reply_fn cb, void *arg);

/*
 * hot_key - "kefu:<cluster>:" followed by the parts, concatenated as they
 * are (no format), into buf[0..cap) with a NUL:
 *   hot_key(h, key, sizeof(key), "call:", call_id)  ->  "kefu:test:call:c42"
 * Every part is a const char * (a NULL part is -EINVAL). Returns 0,
 * KF_ETOOBIG (the key and its NUL do not fit cap; buf then holds "").
 */
#define hot_key(h, buf, cap, ...)                                                \
	hot_key_parts((h), (buf), (cap), (const char *const[]){__VA_ARGS__},      \
		      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* hot_key_parts - hot_key over parts[0..n). Returns as hot_key. */
int hot_key_parts(const struct hot *h, char *buf, size_t cap, const char *const *parts, size_t n);

/* hot_prefix - "kefu:<cluster>:"; valid as long as h. */
const char *hot_prefix(const struct hot *h);

/*
 * hot_on_event - messages of the node's event channel go to fn(arg, ...)
 * from now on (NULL fn: dropped, logged at debug). One callback at a time;
 * a later call replaces it.
 */
void hot_on_event(struct hot *h, hot_event_fn fn, void *arg);

/*
 * hot_on_failover - fn(arg, from, to) runs each time the client comes up
 * on another primary than before: the moment to re-assert what this node
 * owns, since the new primary may miss the last writes. Runs after the
 * client is up, so commands sent from fn go to the new primary. One
 * callback at a time; NULL fn removes it.
 */
void hot_on_failover(struct hot *h, hot_failover_fn fn, void *arg);

/*
 * hot_primary - the address of the primary the client is up on, or was
 * last up on ("" before the first time); *up says whether it is up now.
 * Valid until control returns to the loop.
 */
const char *hot_primary(const struct hot *h, bool *up);

/* hot_rtt - the Redis round trips of this node: redis_rtt (cluster/redis.h). */
void hot_rtt(struct hot *h, uint64_t *p50_us, uint64_t *p99_us, uint64_t *count);

/* hot_rtt_total - every Redis round trip of this node: redis_rtt_total. */
struct hist;
const struct hist *hot_rtt_total(const struct hot *h);

/* hot_is_up - connected to a primary that said it is master. */
bool hot_is_up(const struct hot *h);

#endif
