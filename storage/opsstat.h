/*
 * Interval statistics as stored (docs/ops.md, docs/storage.md): the
 * closed intervals of the operations component (node/ops/) and the sums
 * and figures a report or a wallboard makes of them.
 *
 * Table "ops", keys of raw bytes (a start is 8 bytes big-endian, so keys
 * sort by kind, then time, then name):
 *
 *   'c', start                 -> OpsInterval    the interval is closed
 *   't', start, tier level     -> OpsCounts      of the calls of that tier
 *   's', start, skill          -> OpsCounts      of the calls served by that skill
 *   'a', start, agent id       -> OpsCounts      of that agent
 *
 * The rows of an interval and its 'c' key are written in one batch by the
 * leader, which writes nothing when 'c' is there already: an interval is
 * counted once whatever leader closes it (its start is its key).
 *
 * In Redis the open intervals are hashes whose fields are named
 * "<kind>:<name>:<counter>" (node/routing/lua/prelude.lua, "interval
 * statistics"); a counter is the name of a uint64 field of OpsCounts, or
 * "nr:<reason>" for an agent's not-ready time under a reason.
 *
 * Counts built here are malloc'd field by field as protobuf-c's default
 * allocator does: free them with kefu__ops_counts__free_unpacked(c, NULL),
 * whether unpacked or built.
 */
#ifndef KEFU_STORAGE_OPSSTAT_H
#define KEFU_STORAGE_OPSSTAT_H

#include "proto/kefu.pb-c.h"
#include "storage/batch.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPS_KIND_CLOSED 'c'
#define OPS_KIND_TIER 't'
#define OPS_KIND_SKILL 's'
#define OPS_KIND_AGENT 'a'
#define OPS_NAME_MAX 64          /* bytes of a row's name, NUL included */
#define OPS_KEY_MAX (1 + 8 + OPS_NAME_MAX)

/* opsstat_kind_is_row - kind is 't', 's' or 'a'. */
bool opsstat_kind_is_row(char kind);

/*
 * opsstat_key - the key of (kind, start, name) into k (OPS_KEY_MAX bytes);
 * name "" for 'c'. Returns its length, or 0 when name is too long.
 */
size_t opsstat_key(uint8_t *k, char kind, uint64_t start_ms, const char *name);

/* opsstat_key_parse - the parts of a key of the table; false when it is not one. */
bool opsstat_key_parse(const void *key, size_t len, char *kind, uint64_t *start_ms,
		       char name[OPS_NAME_MAX]);

/*
 * opsstat_field - split a Redis field "<kind>:<name>:<counter>": kind a
 * row kind, name 1..OPS_NAME_MAX-1 bytes without ':', counter the rest
 * (it may hold ':'). Returns false for anything else.
 */
bool opsstat_field(const char *field, size_t len, char *kind, char name[OPS_NAME_MAX],
		   const char **counter, size_t *clen);

/*
 * opsstat_add - add v to the counter named counter[0..clen) of c: a uint64
 * field of OpsCounts by its name (max_wait_ms is raised to v instead), or
 * "nr:<reason>" to the not-ready time of that reason. Returns 0, or
 * KF_ENOTFOUND for a name that is neither (nothing changes).
 */
int opsstat_add(Kefu__OpsCounts *c, const char *counter, size_t clen, uint64_t v);

/* opsstat_sum - add every count of from to into (max_wait_ms: the larger;
 * not-ready time merged by reason). */
void opsstat_sum(Kefu__OpsCounts *into, const Kefu__OpsCounts *from);

/* opsstat_counts_new - an empty OpsCounts (aborts when out of memory). */
Kefu__OpsCounts *opsstat_counts_new(void);

/*
 * The indicators of docs/ops.md, each defined once here. A figure whose
 * denominator is 0 is not defined (its has_ flag false).
 */
struct opsstat_figures {
	bool has_service_level, has_sl2, has_answer_rate, has_asa, has_aht, has_occupancy;
	double service_level;    /* answered_in_sl / offered */
	double sl2;              /* (answered_in_sl + abandoned_in_sl) / (answered + abandoned) */
	double answer_rate;      /* answered / offered (接通率) */
	double asa_ms;           /* wait_ms / answered */
	double aht_ms;           /* (talk_ms + hold_ms + wrap_ms) / handled; agents: per call */
	double occupancy;        /* agents: (talk + ring + wrap) / (talk + ring + wrap + ready) */
};
void opsstat_figures(const Kefu__OpsCounts *c, bool agent, struct opsstat_figures *f);

/*
 * opsstat_put_interval - the batch that closes the interval at start_ms:
 * its 'c' key (closed_ms, closed_by, length) and one row per
 * (kinds[i], names[i], counts[i]). Returns 0, KF_EPARSE (a name too
 * long), or batch_put's error.
 */
int opsstat_put_interval(struct batch *b, uint64_t start_ms, uint64_t length_ms,
			 uint64_t closed_ms, const char *closed_by, const char *kinds,
			 const char *const *names, Kefu__OpsCounts *const *counts, size_t n);

/* opsstat_closed - whether the interval at start_ms is closed: 0 (yes),
 * KF_ENOTFOUND (no), KF_ESTORE. */
int opsstat_closed(struct store_txn *t, uint64_t start_ms);

/* opsstat_last_closed - the start of the latest closed interval: 0,
 * KF_ENOTFOUND (none), KF_ESTORE. */
int opsstat_last_closed(struct store_txn *t, uint64_t *start_ms);

/*
 * opsstat_scan - every row of kind whose interval starts in [from_ms,
 * to_ms), in time order: fn(arg, start, name, counts) (counts live during
 * the call only: copy what is kept, e.g. with opsstat_sum; 1 stops, a
 * negative code ends the scan with it). 'c'
 * rows give the OpsInterval's start with a NULL counts. Returns 0,
 * KF_ECORRUPT (a row that does not unpack), fn's error, KF_ESTORE.
 */
typedef int (*opsstat_row_fn)(void *arg, uint64_t start_ms, const char *name,
			      const Kefu__OpsCounts *counts);
int opsstat_scan(struct store_txn *t, char kind, uint64_t from_ms, uint64_t to_ms,
		 opsstat_row_fn fn, void *arg);

#endif
