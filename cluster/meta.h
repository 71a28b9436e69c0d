/*
 * The values kefu keeps in etcd (docs/cluster.md, "etcd keys"): member
 * entries, the sync key and the failover key, as JSON. Pure encoders and
 * parsers: what comes back from etcd is outside input and is checked
 * like any other (fuzzed by tests/fuzz/fuzz_meta.c).
 */
#ifndef KEFU_CLUSTER_META_H
#define KEFU_CLUSTER_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_NAME_MAX 64
#define META_ADDR_MAX 272
#define META_STANDBYS_MAX 8
#define META_VALUE_MAX 4096

/* members/<name> */
struct meta_member {
	char name[META_NAME_MAX];
	char addr[META_ADDR_MAX];
	char role[16];          /* "leader", "standby", "follower", "starting" */
	uint64_t applied;
	uint64_t applied_epoch;
	uint64_t epoch;         /* highest epoch the node has accepted */
	char version[48];       /* the node's build (lib/version.h); "" from an older build */
	uint64_t format;        /* the newest stored form it writes (KEFU_STORE_FORMAT); 1 when absent */
};

/* sync */
struct meta_sync {
	char leader[META_NAME_MAX];
	uint64_t epoch;
	unsigned nstandbys;
	char standbys[META_STANDBYS_MAX][META_NAME_MAX];
};

/* failover */
struct meta_failover {
	char to[META_NAME_MAX];
};

/*
 * meta_*_encode - JSON into out (cap bytes, NUL-terminated). Returns the
 * length, or KF_ETOOBIG. Numbers are written as JSON strings, as etcd does
 * for int64, so a value never loses precision in any JSON reader.
 */
int meta_member_encode(const struct meta_member *m, char *out, size_t cap);
int meta_sync_encode(const struct meta_sync *s, char *out, size_t cap);
int meta_failover_encode(const struct meta_failover *f, char *out, size_t cap);

/*
 * meta_*_parse - parse len bytes. Unknown keys are ignored (a newer node
 * may add some); missing or mistyped required keys, names that are empty,
 * too long or not [A-Za-z0-9_.-], and values over META_VALUE_MAX are
 * KF_EPARSE. out is zeroed first.
 */
int meta_member_parse(const char *buf, size_t len, struct meta_member *out);
int meta_sync_parse(const char *buf, size_t len, struct meta_sync *out);
int meta_failover_parse(const char *buf, size_t len, struct meta_failover *out);

/* meta_sync_has - whether name is one of s's standbys. */
bool meta_sync_has(const struct meta_sync *s, const char *name);

/* meta_name_ok - a node name: 1..63 of [A-Za-z0-9_.-]. */
bool meta_name_ok(const char *name);

#endif
