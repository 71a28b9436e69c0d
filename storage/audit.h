/*
 * The audit log: who looked at or changed what, and when (docs/routing.md,
 * "Identity verification and audit"). Append-only table "audit"; entries
 * travel through the replicated log like every other write, so every node
 * holds the same log.
 *
 * Key: time_ms (8 bytes big-endian), seq (8 bytes big-endian), node name.
 * Keys sort by time, so a listing from a moment on is one range scan. seq
 * is the writing node's counter (struct audit_seq): two entries of one node
 * in one millisecond differ by it, and entries of two nodes by the name.
 * Value: a packed kefu.AuditEntry, which carries the key's parts too.
 *
 * The hash chain (storage/README.md, "The audit chain"): in key order, each
 * entry carries prev_hash, the hash of the entry before it (32 zero bytes
 * for the first), and hash = SHA-256(prev_hash || the entry packed without
 * prev_hash and hash). Entries are written without them; the leader seals
 * them (audit_seal) inside the transaction that appends to the replicated
 * log, so every node stores the same hashes. The chain's head (the last
 * sealed entry's key and hash, and how many are sealed) is in table meta
 * under AUDIT_CHAIN_META, written in the same batch.
 */
#ifndef KEFU_STORAGE_AUDIT_H
#define KEFU_STORAGE_AUDIT_H

#include "storage/batch.h"
#include "storage/store.h"

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_NODE_MAX 64     /* bytes of node, 1.. */
#define AUDIT_AGENT_MAX 64    /* bytes of agent, 1.. */
#define AUDIT_ACTION_MAX 32   /* [a-z0-9_], 1.. */
#define AUDIT_SUBJECT_MAX 128 /* bytes, may be empty */
#define AUDIT_DETAIL_MAX 512  /* bytes, may be empty */
#define AUDIT_KEY_MAX (16 + AUDIT_NODE_MAX)

/*
 * audit_text_is_valid - s is UTF-8 of at most max bytes without control
 * characters: text that is safe on a screen, in a log line and in JSON.
 * NULL is valid (an absent field). Also used for agent names.
 */
bool audit_text_is_valid(const char *s, size_t max);

/* audit_bytes_are_text - s[0..n) (not NUL-ended) is UTF-8 in shortest
 * form without control characters (C0, DEL, C1) or surrogates: the rule
 * of audit_text_is_valid, for text cut out of a larger buffer. */
bool audit_bytes_are_text(const char *s, size_t n);

/*
 * audit_check - e has time_ms, a node, an agent, an action and text fields
 * within their limits. why (may be NULL) says which field is wrong.
 * Returns 0 or KF_EPARSE.
 */
int audit_check(const Kefu__AuditEntry *e, char *why, size_t cap);

/* audit_key - e's key into out (AUDIT_KEY_MAX bytes); returns its length.
 * e must pass audit_check. */
size_t audit_key(const Kefu__AuditEntry *e, uint8_t out[AUDIT_KEY_MAX]);

/*
 * audit_append - check e and append the op that stores it to b (not
 * applied). An entry is never overwritten on purpose: its key is unique
 * when the node numbers its entries with struct audit_seq.
 * Returns 0, KF_EPARSE (why filled), KF_ETOOBIG (batch cap).
 */
int audit_append(struct batch *b, const Kefu__AuditEntry *e, char *why, size_t cap);

/*
 * A node's numbering of its entries: audit_seq_next gives a value that
 * never repeats while the process runs, so with the node's name and the
 * time it makes keys unique. One per node; not thread-safe (use it on one
 * thread, e.g. the loop's). Zero-initialise it.
 */
struct audit_seq {
	uint64_t next;
};

static inline uint64_t audit_seq_next(struct audit_seq *s)
{
	return s->next++;
}

/*
 * audit_list - visit the entries from since_ms (unix ms) on, oldest first.
 * When after is not NULL (alen bytes: the audit_key of an entry seen
 * before, as a cursor), the scan starts past that key instead. fn gets each
 * entry, valid during the call only; it returns 0 to go on, 1 to stop, or
 * a negative error that ends the scan.
 * Returns 0 (also when stopped), fn's error, KF_ECORRUPT (a value that is
 * not an AuditEntry), KF_EPARSE (alen over AUDIT_KEY_MAX), KF_ESTORE.
 */
typedef int (*audit_list_fn)(void *arg, const Kefu__AuditEntry *e);
int audit_list(struct store_txn *t, uint64_t since_ms, const void *after, size_t alen,
	       audit_list_fn fn, void *arg);

/* ---- the hash chain ---- */

#define AUDIT_HASH_LEN 32
#define AUDIT_CHAIN_META "audit.chain"

/* audit_hash - SHA-256(prev || e packed without prev_hash and hash). */
void audit_hash(const Kefu__AuditEntry *e, const uint8_t prev[AUDIT_HASH_LEN],
		uint8_t out[AUDIT_HASH_LEN]);

/* audit_is_sealed - e carries a prev_hash and a hash of the right length. */
bool audit_is_sealed(const Kefu__AuditEntry *e);

/* The chain's head as recorded in meta: klen 0 when nothing is sealed yet. */
struct audit_head {
	uint8_t key[AUDIT_KEY_MAX];
	size_t klen;
	uint8_t hash[AUDIT_HASH_LEN];
	uint64_t count; /* entries sealed */
};

/* audit_head_get - the recorded head into h (zeroed when none).
 * Returns 0, KF_ECORRUPT (a malformed record), KF_ESTORE. */
int audit_head_get(struct store_txn *t, struct audit_head *h);

/*
 * audit_seal - on the leader, in the transaction that logs b: give every
 * entry after the head a prev_hash and a hash, in key order, at most
 * o->max of them; and when an entry without them sorts before the head
 * (written late: another node's clock, a forwarded write) and is at most
 * o->window_ms older than the head, link it in and re-link the sealed
 * entries after it. o->unsealed is how many entries the caller counts
 * without a hash (the table's entries less the head's count; its guess may
 * be stale, or AUDIT_UNSEALED_UNKNOWN): when the entries past the head are
 * as many, there is no late one to look back for, and the window is not
 * read. The sealed links it passes over are checked first: it never seals
 * over a broken one. Adds the rewritten entries and the new head to b (not
 * applied); *n is how many entries it put (0: nothing to do).
 * Returns 0, KF_ECORRUPT (a broken link or a malformed value in the way:
 * why says where), KF_ETOOBIG (batch cap), KF_ESTORE.
 */
#define AUDIT_UNSEALED_UNKNOWN UINT64_MAX

struct audit_seal_opts {
	uint64_t window_ms;
	size_t max;
	uint64_t unsealed;
};

int audit_seal(struct store_txn *t, struct batch *b, const struct audit_seal_opts *o, size_t *n,
	       char *why, size_t cap);

/*
 * Walking the chain on one node, in bounded chunks (each its own read
 * transaction): zero-initialise a struct audit_walk, set now_ms and
 * grace_ms, then call audit_walk_step until it sets done. An entry without
 * a hash is pending (not broken) when no sealed entry follows it, or when
 * it is younger than grace_ms (a late entry the leader links in shortly).
 * The end is checked against the recorded head in the last chunk's
 * transaction. When the walked part changed between two chunks (the leader
 * re-linked it), restart is set: zero the walk again and start over (with
 * final set after a few restarts).
 */
#define AUDIT_WHY_MAX 160

struct audit_walk {
	uint64_t now_ms, grace_ms;
	/* results */
	uint64_t entries, sealed, pending;
	uint8_t head_hash[AUDIT_HASH_LEN]; /* of the last sealed entry */
	bool done, broken, restart;
	uint8_t broken_key[AUDIT_KEY_MAX];
	size_t broken_klen;
	uint64_t broken_time_ms, broken_seq;
	char broken_node[AUDIT_NODE_MAX + 1];
	char broken_why[AUDIT_WHY_MAX];
	/* between chunks */
	uint8_t cursor[AUDIT_KEY_MAX]; /* the last entry checked */
	size_t clen;
	uint8_t cursor_val_hash[AUDIT_HASH_LEN]; /* SHA-256 of its stored value */
	uint8_t last_sealed_key[AUDIT_KEY_MAX];
	size_t last_sealed_klen;
	bool old_unsealed;             /* an unsealed entry past grace since the last sealed one */
	uint8_t old_key[AUDIT_KEY_MAX];
	size_t old_klen;
	unsigned steps;
	bool final; /* set it after restarts: a head that differs is then reported */
};

/* audit_walk_step - check up to max entries past the cursor. Returns 0
 * (see done, broken, restart), KF_ESTORE. */
int audit_walk_step(struct store_txn *t, struct audit_walk *w, size_t max);

/* audit_walk_reply - the walk's results into rep (KEFU__AUDIT_VERIFY_REPLY__INIT
 * first; node left alone); rep points into w. */
void audit_walk_reply(const struct audit_walk *w, Kefu__AuditVerifyReply *rep);

/* audit_key_parts - time, seq and node (NUL-ended, node AUDIT_NODE_MAX + 1
 * bytes) of a key; false when it is too short to be one. */
bool audit_key_parts(const uint8_t *key, size_t klen, uint64_t *time_ms, uint64_t *seq,
		     char *node);

#endif
