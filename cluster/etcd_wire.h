/*
 * The etcd gateway's JSON, as pure functions over bytes: request bodies
 * out, answers and watch-stream lines in. No sockets, no loop, no globals;
 * cluster/etcd.c does the transport. Fuzzed by tests/fuzz/fuzz_etcd.c.
 *
 * Wire facts: keys and values are base64; int64 fields are JSON strings
 * (numbers are accepted too); default values are omitted; a watch stream is
 * newline-separated JSON objects {"result": {...}} or {"error": {...}}.
 */
#ifndef KEFU_CLUSTER_ETCD_WIRE_H
#define KEFU_CLUSTER_ETCD_WIRE_H

#include "cluster/etcd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- request bodies: each returns a malloc'd NUL-terminated JSON text
 * the caller frees, or NULL on a bad argument (*err says: -EINVAL, or
 * KF_ETOOBIG for a key or value over ETCD_KEY_MAX / ETCD_VALUE_MAX). ---- */

/* etcd_wire_op - a RangeRequest, PutRequest or DeleteRangeRequest. */
char *etcd_wire_op(const struct etcd_op *op, int *err);
char *etcd_wire_txn(const struct etcd_txn *t, int *err);
char *etcd_wire_watch(const char *key, bool prefix, int64_t start_rev, int *err);
/* etcd_wire_int - {"<name>": "<v>"}: lease grant (TTL), keepalive and revoke (ID), compaction. */
char *etcd_wire_int(const char *name, int64_t v, bool physical);

/* ---- answers ---- */

enum etcd_wire_kind {
	ETCD_WIRE_PLAIN,     /* range, put, delete, txn, grant, revoke, compaction */
	ETCD_WIRE_KEEPALIVE, /* {"result": {...}}; no TTL = the lease is gone */
	ETCD_WIRE_HEALTH,    /* {"health": "true"} */
};

/*
 * etcd_wire_resp_parse - decode a 200 answer into r (zeroed first). Returns
 * 0, KF_EPARSE, KF_ENOTFOUND (keepalive without TTL), or the error an
 * {"error": ...} object carries (see etcd_wire_error). On success release
 * r with etcd_wire_resp_release; on failure nothing is held.
 */
int etcd_wire_resp_parse(enum etcd_wire_kind kind, const char *body, size_t len,
			 struct etcd_resp *r);
void etcd_wire_resp_release(struct etcd_resp *r);

/*
 * etcd_wire_error - the error of a non-200 answer: its gRPC code mapped
 * (NotFound -> KF_ENOTFOUND, OutOfRange -> KF_ECOMPACTED, Unavailable and
 * other server-side codes -> -EIO, the rest -> KF_EPROTO); a body without a
 * code maps by HTTP status (5xx -> -EIO, else KF_EPROTO). The message, if
 * any, goes to msg (always NUL-terminated, cut to cap).
 */
int etcd_wire_error(long http_status, const char *body, size_t len, char *msg, size_t cap);

/*
 * etcd_wire_watch_parse - one line of a watch stream into m (zeroed
 * first). Returns 0; KF_ECOMPACTED when the watch was cancelled for
 * compaction (m is set, m->compact_revision says where history starts);
 * KF_ECANCELED for any other cancel (m is set); KF_EPARSE; or the error of
 * an {"error": ...} line. Release m with etcd_wire_watch_release whenever
 * it was set (also harmless on a zeroed m).
 */
int etcd_wire_watch_parse(const char *line, size_t len, struct etcd_watch_msg *m);
void etcd_wire_watch_release(struct etcd_watch_msg *m);

/* ---- the stream splitter: bytes in any pieces, complete lines out ---- */

struct etcd_wire_lines {
	char *buf;
	size_t len;  /* bytes held */
	size_t off;  /* start of the first line not yet returned */
	size_t size; /* allocated */
	size_t tail; /* bytes after the last newline held */
	size_t max;  /* longest line accepted */
};

void etcd_wire_lines_init(struct etcd_wire_lines *s, size_t max_line);
void etcd_wire_lines_release(struct etcd_wire_lines *s);

/*
 * etcd_wire_lines_feed - append n bytes. Returns 0, or KF_ETOOBIG when an
 * unfinished line grows past max (the splitter is then unusable). Lines
 * returned by etcd_wire_lines_next before this call become invalid.
 */
int etcd_wire_lines_feed(struct etcd_wire_lines *s, const void *p, size_t n);

/*
 * etcd_wire_lines_next - the next complete line without its "\n" (and "\r"),
 * skipping empty ones. Returns 1 with *line and *len set (valid until the next
 * feed or release; not NUL-terminated), 0 when no complete line is held,
 * KF_ETOOBIG for a line longer than max.
 */
int etcd_wire_lines_next(struct etcd_wire_lines *s, const char **line, size_t *len);

#endif
