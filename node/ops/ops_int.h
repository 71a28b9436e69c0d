/*
 * Inside the operations component (node/ops/): shared by its files only.
 *
 *   component.c  the hooks, the message rows, the tick
 *   close.c      the leader closes each interval into LMDB, exactly once
 *   report.c     Report: closed intervals from the replica, open ones from Redis
 *   wallboard.c  Wallboard: the live board with today's counts, pushed to watchers
 *   rows.c       counts by (kind, name) made from Redis hashes and LMDB rows
 */
#ifndef KEFU_NODE_OPS_INT_H
#define KEFU_NODE_OPS_INT_H

#include "cluster/redis.h"
#include "lib/loop.h"
#include "node/component.h"
#include "node/msg.h"
#include "node/ops/conf.h"
#include "proto/kefu.pb-c.h"
#include "storage/opsstat.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long after its end an interval is closed: steps a node started
 * before the end (with a clock a little behind) have landed by then. */
#define OPS_CLOSE_GRACE_MS 5000u
/* How far back a new leader looks for intervals left open (Redis keeps
 * an interval's hash two days). */
#define OPS_CATCH_UP_MS (36u * 3600 * 1000)
#define OPS_WATCHERS_MAX 256
/* Rows of one interval kept at most (tiers, skills and agents). */
#define OPS_ROWS_MAX 8192u

/* Counts by (kind, name): the rows of a report, an interval, a day. */
struct ops_row {
	char kind;
	char name[OPS_NAME_MAX];
	Kefu__OpsCounts *c;
	uint32_t intervals;      /* intervals summed into it */
	uint32_t open;           /* of them, read from Redis */
	uint64_t last_iv;        /* start of the last interval counted */
};
struct ops_rows {
	struct ops_row *v;
	size_t n, cap;
	uint32_t *slot;          /* index by (kind, name): row + 1, 0 = empty */
	size_t nslot;
};

struct ops_watcher {
	uint64_t peer;           /* msg_peer_id */
	uint64_t request_id;
};

struct ops {
	struct loop *loop;
	char self[64];
	struct repl_storage *sto;
	struct election *election;
	struct leader *leader;
	struct hot *hot;
	struct board *board;
	struct msg_hub *hub;
	struct ops_settings set;
	unsigned script0;          /* first id of node/ops/lua's steps in hot */
	bool dead;                 /* stopped: freed when inflight reaches 0 */
	unsigned inflight;         /* Redis commands and leader writes not back yet */

	/* The closer (leader only). */
	bool closing;              /* one interval at a time */
	uint64_t retry_at;         /* after a failure, not before this */
	uint64_t next_close;       /* start of the next interval to close; 0 = find it */

	/* Today's closed intervals, summed (wallboard): those of the day
	 * starting day_ms before day_upto (wallboard.c day_refresh). */
	uint64_t day_ms, day_upto;
	bool day_valid;
	struct ops_rows day;

	/* Wallboard requests waiting for a fresh board, and the supervisors
	 * watching it with the last reply pushed (without its time). */
	struct ops_watcher pending[OPS_WATCHERS_MAX];
	size_t npending;
	uint64_t pending_since;
	struct ops_watcher watch[OPS_WATCHERS_MAX];
	size_t nwatch;
	uint8_t *last;
	size_t last_len;
	uint64_t pushed_ms;
	bool board_reading;        /* an open-interval read for the wallboard is out */
};

/* ---- rows.c ---- */
/* The row (kind, name), made empty when it is not there yet. */
struct ops_row *ops__row(struct ops_rows *rs, char kind, const char *name);
/* The counts of row (kind, name), NULL when there is none. */
const Kefu__OpsCounts *ops__row_find(const struct ops_rows *rs, char kind, const char *name);
void ops__rows_free(struct ops_rows *rs);
/* Adds the HGETALL reply h of the interval at start to rs; kinds: which
 * row kinds to take ("tsa" all). Fields that are not ours are skipped. */
void ops__rows_add_hash(struct ops_rows *rs, uint64_t start, const struct redis_reply *h,
			const char *kinds, bool open);
/* The rows of kind over closed intervals [from, to) from the replica,
 * added to rs keyed by name (by_interval: keyed by the interval start).
 * Returns 0 or a storage error. */
int ops__rows_add_closed(struct ops *o, struct ops_rows *rs, char kind, uint64_t from,
			 uint64_t to, bool by_interval);
/* The arguments of iv_read for starts: the epoch key, with agents every
 * account's "agent:<id>" key, then the epoch, now and the starts, in
 * argv[0..*argc) (malloc'd strings and array; free with ops__argv_free).
 * Returns 0 or a storage error. */
int ops__iv_read_argv(struct ops *o, const uint64_t *starts, size_t nstarts, bool agents,
		      char ***argv, int *argc, int *nkeys);
void ops__argv_free(char **argv, int argc);

/* ---- component.c ---- */
uint64_t ops__now_ms(void);
uint64_t ops__epoch(struct ops *o);
void ops__release(struct ops *o);
/* Drops a reference taken for a callback; true when o is gone (stopped). */
bool ops__put(struct ops *o);
/* The start of the interval holding t. */
uint64_t ops__iv_start(const struct ops *o, uint64_t t);
/* The local midnight that began the day of t. */
uint64_t ops__day_start(uint64_t t);
/* The start of the first interval after the latest closed one (the replica's),
 * floor when that is earlier. */
uint64_t ops__first_open(struct ops *o, uint64_t floor);
/* How far back intervals are looked for: OPS_CATCH_UP_MS before now. */
uint64_t ops__catch_up_floor(const struct ops *o, uint64_t now);
/* The starts not closed yet in [from, to), most recent last, at most max:
 * those after the latest closed one, within Redis's keeping. */
size_t ops__open_starts(struct ops *o, uint64_t from, uint64_t to, uint64_t *out, size_t max);

/* ---- close.c ---- */
void ops__close_tick(struct ops *o);
void ops__on_leader_change(void *state);

/* ---- report.c ---- */
void ops__on_report(void *state, struct msg_peer *p, const Kefu__Envelope *e);

/* ---- wallboard.c ---- */
void ops__on_wallboard(void *state, struct msg_peer *p, const Kefu__Envelope *e);
void ops__wallboard_tick(struct ops *o);
void ops__on_connection_closed(void *state, struct msg_peer *p);

#endif
