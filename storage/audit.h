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

#endif
